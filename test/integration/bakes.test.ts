/**
 * Bakes on the engine (Firestore and Pub/Sub emulators): an environment's bake waits after its
 * verify while the health runs record its availability; a page-tier burn fails it with the numbers
 * and the plan's failure policy rolls the plan back; the minutes passing without one pass it and
 * the plan goes on; minutes with no observation at all fail it. Judged as each health run does.
 */
import { judgeBakes } from "../../functions/src/runtime/bakes";
import { emptySeries, recordSlice } from "../../functions/src/health/slo";
import { impliedAvailabilitySlo } from "../../functions/src/planner/expand";
import { sloSeriesRef } from "../../functions/src/store/slo";
import { uniqueId } from "../support/emulators";
import { db, deliverPlanCreated } from "../support/functions";
import { engineHarness } from "../support/engine-harness";

const harness = engineHarness();
const plans = db.collection("plans");
const MIN = 60_000;

/** A plan that verifies `env`, bakes it for 30 minutes, then goes on; rollback on failure. */
async function bakingPlan(env: string): Promise<string> {
  const planId = uniqueId("bake");
  await plans.doc(planId).set({
    failurePolicy: "rollback",
    tasks: [
      { id: "verify", run: "firebase", params: { integration: "environment", action: "verify", environment: "production", projectId: env, region: "us-central1", settings: { integrations: [] } } },
      { id: "bake", run: "external", needs: ["verify"], timeoutSeconds: 45 * 60, params: { description: "bake", bake: { projectId: env, environment: "production", minutes: 30, slo: impliedAvailabilitySlo(99.9) } } },
      { id: "next", run: "noop", needs: ["bake"] },
    ],
  });
  await deliverPlanCreated(planId);
  // Deliver until the bake waits for its verdict.
  const bakeWaits = async () => ((await plans.doc(planId).collection("tasks").doc("bake").get()).get("status") === "waiting_external" ? "baking" : "running");
  expect(await harness.pump.run(db, planId, { readStatus: bakeWaits, until: (s) => s === "baking" })).toBe("baking");
  return planId;
}

/** What the health runs recorded: one slice a minute from `from` to `to`, good unless `down(t)`. */
async function recordAvailability(env: string, from: number, to: number, down: (t: number) => boolean = () => false): Promise<void> {
  let series = emptySeries();
  for (let t = from; t < to; t += MIN) series = recordSlice(series, t, down(t) ? 0 : 1, 1);
  await sloSeriesRef(db, env, "availability").set({ series, updatedAt: to });
}

const envName = () => uniqueId("bk").toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20).padEnd(6, "x");
const bakeTask = async (planId: string) => (await plans.doc(planId).collection("tasks").doc("bake").get()).data()!;

describe("bakes", () => {
  it("pass once their minutes go by with observations and no page, and the next tier runs", async () => {
    const env = envName();
    const planId = await bakingPlan(env);
    const started = Number((await bakeTask(planId)).startedAt);
    await recordAvailability(env, started - 60 * MIN, started + 20 * MIN);
    expect(await judgeBakes(db, "run-1", () => started + 20 * MIN)).toContainEqual(expect.objectContaining({ planId, outcome: "watching" }));
    await recordAvailability(env, started - 60 * MIN, started + 31 * MIN);
    expect(await judgeBakes(db, "run-2", () => started + 31 * MIN)).toContainEqual(expect.objectContaining({ planId, outcome: "succeeded" }));
    // Judged again (a redelivered run): nothing changes.
    expect((await judgeBakes(db, "run-3", () => started + 32 * MIN)).filter((j) => j.planId === planId)).toEqual([]);
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    // The numbers are the bake's output (kept apart from the task: operators only).
    expect((await plans.doc(planId).collection("outputs").doc("bake").get()).get("output")).toMatchObject({ environment: "production", minutes: 30, observed: { total: expect.any(Number) }, sliPercent: 100 });
  });

  it("fail on a page-tier burn, with the numbers, and the failure policy rolls the plan back", async () => {
    const env = envName();
    const planId = await bakingPlan(env);
    const started = Number((await bakeTask(planId)).startedAt);
    // Ten minutes into the bake, the environment goes down.
    await recordAvailability(env, started - 60 * MIN, started + 15 * MIN, (t) => t >= started + 10 * MIN);
    const [verdict] = (await judgeBakes(db, "run-1", () => started + 15 * MIN)).filter((j) => j.planId === planId);
    expect(verdict).toMatchObject({ outcome: "failed", message: expect.stringMatching(/^bake of production failed after 15 min: its availability burns the error budget at [\d.]+× over 60 min and 1000× over 5 min, at or above the page-1h tier \(14.4×\)/) });
    expect(await harness.pump.run(db, planId)).toBe("rolled_back");
    expect((await bakeTask(planId)).error).toMatchObject({ message: expect.stringContaining("page-1h") });
  });

  it("fail when no health run observed them: no evidence is not a pass", async () => {
    const env = envName();
    const planId = await bakingPlan(env);
    const started = Number((await bakeTask(planId)).startedAt);
    expect((await judgeBakes(db, "run-1", () => started + 31 * MIN)).filter((j) => j.planId === planId)).toEqual([expect.objectContaining({ outcome: "failed", message: expect.stringContaining("no health run observed it") })]);
    expect(await harness.pump.run(db, planId)).toBe("rolled_back");
  });
});
