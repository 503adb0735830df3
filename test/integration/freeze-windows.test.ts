/**
 * Freeze windows on the engine (Firestore and Pub/Sub emulators): a plan that would change a frozen
 * environment waits, naming the window, holding no lock and writing no task; the sweeper's passes
 * write nothing while the window is on; it starts when the window goes, or when a verified operator
 * overrides it with a reason; a retry meets the freeze too (the override covers one redrive); a
 * rollback never waits for one; a window that cannot be read freezes (fails closed).
 */
import { applyCommand } from "../../functions/src/runtime/commands";
import { resumeWaitingPlan } from "../../functions/src/runtime/locks";
import { sweepPlans } from "../../functions/src/runtime/sweep-plans";
import { uniqueId } from "../support/emulators";
import { db, deliverPlanCreated } from "../support/functions";
import { engineHarness } from "../support/engine-harness";
import { operator, RULES, verified } from "../support/principals";

const harness = engineHarness();
const plans = db.collection("plans");
const windows = db.collection("windows");
const planDoc = async (id: string) => (await plans.doc(id).get()).data()!;
const taskCount = async (id: string) => (await plans.doc(id).collection("tasks").count().get()).data().count;
const events = async (id: string) => (await plans.doc(id).collection("events").orderBy("at").get()).docs.map((d) => d.data() as { type: string; message?: string; actor?: string });
const envName = (prefix: string) => uniqueId(prefix).toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20).padEnd(6, "x");
const firebaseTask = (id: string, projectId: string, extra: Record<string, unknown> = {}) => ({
  id,
  run: "firebase",
  params: { integration: "environment", action: "verify", environment: "dev", projectId, region: "us-central1", settings: { integrations: [] } },
  ...extra,
});
const command = (planId: string, cmd: "retry" | "rollback" | "cancel" | "override", reason?: string, sender = operator()) =>
  applyCommand(db, { planId, command: cmd, by: "ops@example.com", commandId: uniqueId(cmd), ...(reason === undefined ? {} : { reason }) }, sender, RULES);

/** A freeze of `env` from an hour ago to an hour from now. */
async function freeze(env: string, name = "holidays"): Promise<string> {
  const id = uniqueId("freeze");
  await windows.doc(id).set({ kind: "freeze", name, environments: [env], oneTime: [{ start: Date.now() - 3_600_000, end: Date.now() + 3_600_000 }], weekly: [], updatedAt: Date.now(), updatedBy: "test" });
  return id;
}

async function start(spec: Record<string, unknown>): Promise<string> {
  const planId = uniqueId("frz");
  await plans.doc(planId).set(spec);
  await deliverPlanCreated(planId);
  return planId;
}

describe("freeze windows", () => {
  it("hold a plan's start in waiting, naming the window, until it is deleted; passes meanwhile write nothing", async () => {
    const env = envName("frz");
    const windowId = await freeze(env);
    const planId = await start({ tasks: [firebaseTask("verify", env)] });
    const waiting = await planDoc(planId);
    // Named as its task names the environment (params.environment).
    expect(waiting).toMatchObject({ status: "waiting", resume: "start", waitingFor: { freeze: windowId, name: "holidays", environment: "dev" } });
    expect(await taskCount(planId)).toBe(0);
    expect((await db.collection("locks").doc(env).get()).exists).toBe(false);
    expect((await events(planId)).map((e) => e.type)).toContain("plan.frozen");
    // Woken while the window is on (the sweeper does it every pass): nothing is written.
    await resumeWaitingPlan(db, planId);
    await sweepPlans(db, Date.now);
    expect((await planDoc(planId)).seq).toBe(waiting.seq);
    await windows.doc(windowId).delete();
    await resumeWaitingPlan(db, planId);
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
  });

  it("let a verified operator override with a reason, recorded; others and reasonless overrides are refused", async () => {
    const env = envName("frz");
    await freeze(env);
    const planId = await start({ tasks: [firebaseTask("verify", env)] });
    expect((await planDoc(planId)).status).toBe("waiting");
    expect(await command(planId, "override", "hotfix", verified("dev@example.com", { role: "viewer" }))).toMatchObject({ applied: false, reason: expect.stringContaining("only a verified operator") });
    expect(await command(planId, "override", "   ")).toMatchObject({ applied: false, reason: expect.stringContaining("needs a reason") });
    expect(await command(planId, "override", "hotfix for INC-12")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    const overridden = (await events(planId)).find((e) => e.type === "plan.freeze_overridden")!;
    expect(overridden).toMatchObject({ actor: "ops@example.com", message: "freeze window overridden by ops@example.com: hotfix for INC-12" });
    // Nothing to override on a plan that is not frozen.
    expect(await command(planId, "override", "again")).toMatchObject({ applied: false });
  });

  it("hold a retry; an override covers that one redrive, and a rollback never waits", async () => {
    const env = envName("frz");
    const planId = await start({ tasks: [firebaseTask("verify", env), { id: "boom", run: "http", params: { url: harness.web.url(`reject/${uniqueId("b")}`) }, needs: ["verify"] }] });
    expect(await harness.pump.run(db, planId)).toBe("failed");
    const windowId = await freeze(env);
    expect(await command(planId, "retry")).toMatchObject({ applied: true, message: expect.stringContaining("waits") });
    expect(await planDoc(planId)).toMatchObject({ status: "waiting", resume: "redrive", waitingFor: { freeze: windowId } });
    expect(await command(planId, "override", "the fix must ship")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("failed");
    expect((await planDoc(planId)).generation).toBe(2);
    // The next retry is another entry: the freeze holds it again.
    expect(await command(planId, "retry")).toMatchObject({ applied: true });
    expect((await planDoc(planId)).status).toBe("waiting");
    // A rollback puts back what was there before: the freeze does not hold it.
    expect(await command(planId, "cancel")).toMatchObject({ applied: true });
    expect(await command(planId, "rollback")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("rolled_back");
    expect((await db.collection("windows").doc(windowId).get()).exists).toBe(true);
  });

  it("fail closed: a window document that cannot be read holds every plan that touches an environment", async () => {
    const env = envName("frz");
    const broken = uniqueId("broken");
    await windows.doc(broken).set({ kind: "freeze", name: "typo", environments: "production", oneTime: [] });
    try {
      const planId = await start({ tasks: [firebaseTask("verify", env)] });
      expect(await planDoc(planId)).toMatchObject({ status: "waiting", waitingFor: { freeze: broken, name: expect.stringContaining("unreadable") } });
      // A plan that touches no environment is not held.
      const other = await start({ tasks: [{ id: "a", run: "noop" }] });
      expect(await harness.pump.run(db, other)).toBe("succeeded");
    } finally {
      await windows.doc(broken).delete();
    }
  });
});
