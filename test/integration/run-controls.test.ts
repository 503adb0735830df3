/**
 * A plan's `priority` and `deadlineSeconds` on the engine (Firestore and Pub/Sub emulators): the
 * plans waiting for one environment's lock take it highest priority first, and a run that outlasts
 * its deadline ends by its failure policy (a rollback undoes what ran), after which a retry runs
 * with a deadline of its own.
 */
import { applyCommand } from "../../functions/src/runtime/commands";
import { sweepPlans } from "../../functions/src/runtime/sweep-plans";
import { uniqueId, waitFor } from "../support/emulators";
import { db, deliverPlanCreated } from "../support/functions";
import { engineHarness } from "../support/engine-harness";
import { operator, RULES } from "../support/principals";

const harness = engineHarness();
const plans = db.collection("plans");
const planDoc = async (id: string) => (await plans.doc(id).get()).data()!;
const events = async (id: string) => (await plans.doc(id).collection("events").orderBy("at").get()).docs.map((d) => d.data() as { type: string; message?: string });
const command = (planId: string, cmd: "retry" | "cancel") => applyCommand(db, { planId, command: cmd, by: "ops@example.com", commandId: uniqueId(cmd) }, operator(), RULES);
const envName = (prefix: string) => uniqueId(prefix).toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20).padEnd(6, "x");

async function start(spec: Record<string, unknown>, prefix = "ctl"): Promise<string> {
  const planId = uniqueId(prefix);
  await plans.doc(planId).set(spec);
  await deliverPlanCreated(planId);
  return planId;
}

/** A plan that takes `env`'s lock and keeps it: a gate waits before the environment's verify. */
const holding = (env: string, extra: Record<string, unknown> = {}) => ({
  ...extra,
  tasks: [
    { id: "gate", run: "approval" },
    { id: "verify", run: "firebase", params: { integration: "environment", action: "verify", environment: "dev", projectId: env, region: "us-central1", settings: { integrations: [] } }, needs: ["gate"] },
  ],
});

describe("priority for a lock", () => {
  it("plans waiting for one environment take it highest priority first, then in the order they came", async () => {
    const env = envName("prio");
    const holder = await start(holding(env));
    expect((await db.collection("locks").doc(env).get()).get("owner")).toBe(holder);
    const first = await start(holding(env), "first");
    const second = await start(holding(env), "second");
    const urgent = await start(holding(env, { priority: 40 }), "urgent");
    for (const id of [first, second, urgent]) expect(await planDoc(id)).toMatchObject({ status: "waiting", waitingFor: { lock: env, plan: holder } });
    expect(await command(holder, "cancel")).toMatchObject({ applied: true });
    await waitFor("the urgent plan to take the lock", async () => ((await db.collection("locks").doc(env).get()).get("owner") === urgent ? true : undefined));
    expect((await planDoc(urgent)).status).toBe("running");
    for (const id of [first, second]) expect(await planDoc(id)).toMatchObject({ status: "waiting", waitingFor: { lock: env, plan: urgent } });
    // Then the one that came first.
    expect(await command(urgent, "cancel")).toMatchObject({ applied: true });
    await waitFor("the first plan to take the lock", async () => ((await db.collection("locks").doc(env).get()).get("owner") === first ? true : undefined));
    expect(await planDoc(second)).toMatchObject({ status: "waiting", waitingFor: { plan: first } });
    for (const id of [first, second]) await command(id, "cancel");
  });
});

describe("a plan's deadline", () => {
  it("ends a run that outlasts it, cancelling what is open, and a retry runs with a fresh deadline", async () => {
    const planId = await start({ deadlineSeconds: 60, tasks: [{ id: "root", run: "noop" }, { id: "gate", run: "approval", needs: ["root"] }, { id: "after", run: "noop", needs: ["gate"] }] });
    const begun = await planDoc(planId);
    expect(begun.runDeadline).toEqual({ seconds: 60, at: expect.any(Number) });
    expect(begun.runDeadline.at - begun.startedAt).toBeLessThanOrEqual(60_000);
    // Before it passes, the sweeper leaves the plan alone.
    await sweepPlans(db, () => Date.now() + 30_000);
    expect((await planDoc(planId)).status).toBe("running");
    // The pump's idle sweeps move the clock minutes ahead: the deadline passes.
    expect(await harness.pump.run(db, planId)).toBe("failed");
    const ended = await planDoc(planId);
    expect(ended).toMatchObject({ failure: "deadline_exceeded", runDeadline: { seconds: 60, at: null } });
    expect((await events(planId)).find((e) => e.type === "plan.deadline_exceeded")?.message).toContain("may last 60 s");
    const gate = (await plans.doc(planId).collection("tasks").doc("gate").get()).data()!;
    expect(gate.status).toBe("cancelled");
    // A retry is a run of its own: a deadline from now, and the cause cleared.
    const before = Date.now();
    expect(await command(planId, "retry")).toMatchObject({ applied: true });
    await waitFor("the retry to run", async () => ((await planDoc(planId)).status === "running" ? true : undefined));
    const retried = await planDoc(planId);
    expect(retried.failure).toBeNull();
    expect(retried.runDeadline.at).toBeGreaterThanOrEqual(before + 60_000);
    await command(planId, "cancel");
  });

  it("under failurePolicy rollback, a run past its deadline is rolled back: what ran is undone, once", async () => {
    const tag = uniqueId("dl");
    const planId = await start({
      deadlineSeconds: 60,
      failurePolicy: "rollback",
      tasks: [
        { id: "change", run: "http", params: { url: harness.web.url(`ok/${tag}-do`), method: "POST" }, compensate: { run: "http", params: { url: harness.web.url(`ok/${tag}-undo`), method: "POST" } } },
        { id: "gate", run: "approval", needs: ["change"] },
      ],
    });
    expect(await harness.pump.run(db, planId)).toBe("rolled_back");
    expect((await events(planId)).map((e) => e.type)).toContain("plan.deadline_exceeded");
    expect(harness.web.effectsOf(`${tag}-do`)).toHaveLength(1);
    expect(harness.web.effectsOf(`${tag}-undo`)).toHaveLength(1);
    expect((await planDoc(planId)).failure).toBe("deadline_exceeded");
  });
});
