/**
 * The demo's environment plan end to end on the local stack: the planner compiles lang-trak, the
 * `firebase` executor provisions its three environments through the official Google clients
 * against the local control plane, approval gates are passed by Pub/Sub commands from an approver,
 * and the control plane ends holding exactly what the plan asked for.
 */
import { publishJson } from "../../functions/src/bus/publish";
import { TOPICS } from "../../functions/src/config";
import { demoEnvironmentPlan } from "../../local/demo-plan";
import { followPlan } from "../../local/progress";
import { testFirestore, uniqueId, waitFor } from "../support/emulators";

const db = testFirestore();
const controlPlane = process.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT;

interface State {
  schedulerJobs: Record<string, unknown>;
  uptimeCheckConfigs: Record<string, unknown>;
  alertPolicies: Record<string, unknown>;
  rulesReleases: Record<string, unknown>;
  hostingSites: Record<string, unknown>;
}

async function state(): Promise<State> {
  return (await (await fetch(`${controlPlane}/__control/state`)).json()) as State;
}

describe("the lang-trak environment plan on the local stack", () => {
  it("provisions dev, staging and production through the Google APIs, passing each gate on an approver's command", async () => {
    expect(controlPlane).toBeDefined();
    const planId = uniqueId("lang-trak");
    const plan = demoEnvironmentPlan();
    const approver = (plan.approvers as string[])[0]!;
    await db.collection("plans").doc(planId).set(plan);

    const approve = async (taskId: string) => {
      await waitFor(`${taskId} to wait for approval`, async () => {
        const status = (await db.collection("plans").doc(planId).collection("tasks").doc(taskId).get()).get("status");
        return status === "waiting_approval" ? status : undefined;
      }, 90_000);
      // A command from someone who is not an approver is refused and changes nothing.
      await publishJson(TOPICS.planCommands, [{ planId, command: "approve", taskId, by: "intruder@example.com" }]);
      await publishJson(TOPICS.planCommands, [{ planId, command: "approve", taskId, by: approver, reason: "e2e" }]);
    };
    const outcome = followPlan(db, planId, { print: false, timeoutMs: 180_000 });
    await approve("staging.approval");
    await approve("production.approval");
    expect(await outcome).toMatchObject({ status: "succeeded" });

    const tasks = await db.collection("plans").doc(planId).collection("tasks").get();
    expect(tasks.docs.every((d) => d.get("status") === "succeeded")).toBe(true);
    const events = (await db.collection("plans").doc(planId).collection("events").get()).docs.map((d) => d.data());
    expect(events.filter((e) => e.type === "command.refused").map((e) => e.actor)).toEqual(["intruder@example.com", "intruder@example.com"]);

    const s = await state();
    for (const project of ["lang-trak-dev", "lang-trak-staging", "lang-trak-prod"]) {
      expect(Object.keys(s.hostingSites).some((k) => k.includes(project))).toBe(true);
      expect(Object.keys(s.rulesReleases).some((k) => k.includes(project))).toBe(true);
    }
    expect(Object.keys(s.schedulerJobs).filter((k) => k.includes("lang-trak-prod")).some((k) => k.includes("backup"))).toBe(true);
    expect(Object.keys(s.uptimeCheckConfigs).some((k) => k.includes("lang-trak-staging"))).toBe(true);
    expect(Object.keys(s.uptimeCheckConfigs).some((k) => k.includes("lang-trak-dev"))).toBe(false);

    const env = (await db.collection("environments").doc("lang-trak-prod").get()).data();
    expect(env).toBeDefined();
  });
});
