/**
 * The plan's lifecycle on the Firestore and Pub/Sub emulators, for the paths that used to strand a
 * plan: a retried plan that fails again, a start that died, retry and rollback of finished plans
 * beside other plans on the same environment, a redrive that died midway, a redrive after a failed
 * rollback, and a plan document whose trigger never ran. Every plan ends, or waits explicitly.
 */
import { ENGINE_TIMING } from "../../functions/src/config";
import { applyCommand } from "../../functions/src/runtime/commands";
import { MAX_START_ATTEMPTS, startPlan } from "../../functions/src/runtime/start-plan";
import { applyPlanEffects } from "../../functions/src/runtime/plan-effects";
import { LOCKS_NO_LONGER_HELD, type PlanTransition } from "../../functions/src/engine/plan";
import { initialTask } from "../../functions/src/engine/task";
import { settleFinishedTask } from "../../functions/src/runtime/settle";
import { sweepStalledTasks } from "../../functions/src/runtime/sweep";
import type { TaskDoc } from "../../functions/src/schema/task";
import { acquireLocks, maintainLocks, releaseLocks } from "../../functions/src/store/locks";
import { acquireStartLease, applyPlanInput, holdsStartLease, markStallChecked } from "../../functions/src/store/plans";
import { claimTask, completeTask, enterWaiting, writeStartTasks } from "../../functions/src/store/tasks";
import { uniqueId, waitFor } from "../support/emulators";
import { db, deliverPlanCreated } from "../support/functions";
import { operator, RULES } from "../support/principals";
import { engineHarness } from "../support/engine-harness";

const harness = engineHarness();

const plans = db.collection("plans");
const planDoc = async (id: string) => (await plans.doc(id).get()).data()!;
const task = async (planId: string, id: string) => (await plans.doc(planId).collection("tasks").doc(id).get()).data()!;
const history = async (planId: string) => (await plans.doc(planId).collection("events").orderBy("at").get()).docs.map((d) => ({ id: d.id, ...d.data() }) as { id: string; type: string; data?: { from?: string; to?: string } });
const command = (planId: string, cmd: "retry" | "rollback" | "cancel") => applyCommand(db, { planId, command: cmd, by: "ops@example.com", commandId: uniqueId(cmd) }, operator(), RULES);
const lockOf = async (env: string) => (await db.collection("locks").doc(env).get()).data();
/** A unique environment (Firebase project id) for a test's locks. */
const envName = (prefix: string) => uniqueId(prefix).toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20).padEnd(6, "x");
/** What a worker's post-claim stop check completes an attempt with (runtime/run-task.ts finishStopped). */
const NOT_STARTED = { ok: false as const, error: { message: "not started: the plan is cancelled", code: "cancelled", retryable: false } };
const completion = (extra: { stopped?: boolean; planCancelled?: boolean } = {}) => ({ now: Date.now(), timing: ENGINE_TIMING, random: Math.random, ...extra });
/** A task that touches an environment (so its plan takes the lock) and needs no Google API: verifying nothing. */
const firebaseTask = (id: string, projectId: string, extra: Record<string, unknown> = {}) => ({
  id,
  run: "firebase",
  params: { integration: "environment", action: "verify", environment: "dev", projectId, region: "us-central1", settings: { integrations: [] } },
  ...extra,
});

async function start(spec: Record<string, unknown>): Promise<string> {
  const planId = uniqueId("life");
  await plans.doc(planId).set(spec);
  await deliverPlanCreated(planId);
  return planId;
}

/** The plan's recorded transitions form one path: each starts where the previous ended, and none repeats an id. */
function expectOnePath(events: Array<{ id: string; type: string; data?: { from?: string; to?: string } }>): void {
  // In the order of the plan's transition count (the sweeps here run on clocks moved ahead).
  const seq = (id: string) => Number(id.split(".")[1]);
  const transitions = events.filter((e) => /^plan\.\d+\./.test(e.id) && e.data?.to !== undefined).sort((a, b) => seq(a.id) - seq(b.id));
  expect(transitions.map((t) => seq(t.id))).toEqual(transitions.map((_, i) => i + 1));
  for (let i = 1; i < transitions.length; i++) expect(transitions[i]!.data!.from).toBe(transitions[i - 1]!.data!.to);
  expect(new Set(transitions.map((t) => t.id)).size).toBe(transitions.length);
}

describe("retry", () => {
  it("a plan whose only task fails, is retried and fails again ends failed each time (it used to stay running)", async () => {
    const planId = await start({ tasks: [{ id: "boom", run: "http", params: { url: harness.web.url(`reject/${uniqueId("b")}`) } }] });
    for (let run = 1; run <= 3; run++) {
      expect(await harness.pump.run(db, planId)).toBe("failed");
      expect(await planDoc(planId)).toMatchObject({ status: "failed", failedTask: "boom", generation: run });
      if (run < 3) expect(await command(planId, "retry")).toMatchObject({ applied: true });
    }
    expect(await task(planId, "boom")).toMatchObject({ status: "failed", attempt: 3 });
    const events = await history(planId);
    expectOnePath(events);
    expect(events.filter((e) => e.type === "plan.failed")).toHaveLength(3);
  });

  it("takes the environment's lock again, waiting while another plan holds it, then redrives", async () => {
    const env = uniqueId("lockenv").toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20).padEnd(6, "x");
    const first = await start({ tasks: [firebaseTask("provision", env), { id: "boom", run: "http", params: { url: harness.web.url(`flaky/${uniqueId("f")}/1`) }, needs: ["provision"] }] });
    expect(await harness.pump.run(db, first)).toBe("failed");
    expect(await lockOf(env)).toBeUndefined();
    // A second plan takes the environment and waits at a gate, holding the lock.
    const second = await start({ tasks: [{ id: "gate", run: "approval" }, firebaseTask("provision", env, { needs: ["gate"] })] });
    expect((await lockOf(env))?.owner).toBe(second);
    expect(await command(first, "retry")).toMatchObject({ applied: true, message: expect.stringContaining("waits") });
    expect(await planDoc(first)).toMatchObject({ status: "waiting", resume: "redrive", waitingFor: { lock: env, plan: second } });
    // It did not run beside the other plan: nothing was reset.
    expect(await task(first, "boom")).toMatchObject({ status: "failed", attempt: 1 });
    expect(await command(second, "cancel")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, first)).toBe("succeeded");
    expect(await task(first, "boom")).toMatchObject({ status: "succeeded", attempt: 2 });
    expect(await lockOf(env)).toBeUndefined();
    expectOnePath(await history(first));
  });

  it("a redrive that dies after its transition is finished by the sweeper, and the plan never succeeds before the resets land", async () => {
    const name = uniqueId("die");
    const planId = await start({ tasks: [{ id: "a", run: "noop" }, { id: "b", run: "http", params: { url: harness.web.url(`flaky/${name}/1`) }, needs: ["a"] }, { id: "c", run: "noop", needs: ["b"] }] });
    expect(await harness.pump.run(db, planId)).toBe("failed");
    // The retry's transition commits, then its worker dies: no task was reset.
    expect(await applyPlanInput(db, planId, { kind: "command", command: "retry", locks: { granted: true }, by: "ops" }, Date.now(), { actor: "ops" })).toMatchObject({ to: "redriving" });
    expect(await planDoc(planId)).toMatchObject({ status: "redriving", effectsPending: true });
    // A sweep within the grace period leaves it (the worker might still be at it); the stall check cannot finish it.
    await sweepStalledTasks(db, () => Date.now());
    expect((await planDoc(planId)).status).toBe("redriving");
    await sweepStalledTasks(db, () => Date.now() + ENGINE_TIMING.redispatchAfterMs + 1_000);
    expect(await planDoc(planId)).toMatchObject({ status: "running", effectsPending: false, generation: 2 });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
  });

  it("redrives a plan whose rollback failed: what was compensated runs again and the compensation error is cleared", async () => {
    const name = uniqueId("rb");
    const planId = await start({
      failurePolicy: "rollback",
      tasks: [
        { id: "a", run: "noop", compensate: { run: "http", params: { url: harness.web.url(`flaky/${name}-undo-a/1`) } } },
        { id: "b", run: "noop", needs: ["a"], compensate: { run: "noop" } },
        { id: "c", run: "http", params: { url: harness.web.url(`flaky/${name}-c/1`) }, needs: ["b"] },
      ],
    });
    expect(await harness.pump.run(db, planId)).toBe("rollback_failed");
    expect(await task(planId, "a")).toMatchObject({ status: "failed", compensationError: { code: "http_503" } });
    expect(await task(planId, "b")).toMatchObject({ status: "compensated" });
    expect(await command(planId, "retry")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    for (const id of ["a", "b", "c"]) expect(await task(planId, id)).toMatchObject({ status: "succeeded", compensationError: null });
    expectOnePath(await history(planId));
  });

  it("rolls back a succeeded plan only with its environment's lock", async () => {
    const env = uniqueId("rbenv").toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20).padEnd(6, "x");
    const first = await start({ tasks: [{ id: "a", run: "noop", compensate: { run: "noop" } }, firebaseTask("provision", env, { needs: ["a"] })] });
    expect(await harness.pump.run(db, first)).toBe("succeeded");
    const other = await start({ tasks: [{ id: "gate", run: "approval" }, firebaseTask("provision", env, { needs: ["gate"] })] });
    expect(await command(first, "rollback")).toMatchObject({ applied: true });
    expect(await planDoc(first)).toMatchObject({ status: "waiting", resume: "rollback" });
    expect(await command(other, "cancel")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, first)).toBe("rolled_back");
  });
});

describe("a start that fails", () => {
  it("that died after taking the start lease and the locks is started again by the sweeper, and its lock is not kept alive meanwhile", async () => {
    const env = uniqueId("deadstart").toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20).padEnd(6, "x");
    const planId = uniqueId("dead");
    await plans.doc(planId).set({ tasks: [firebaseTask("provision", env)] });
    const t0 = Date.now();
    // What a start that threw midway leaves: planning, its lease, its lock.
    expect(await acquireStartLease(db, planId, "start:evt-1", t0, 120_000)).toMatchObject({ kind: "acquired" });
    expect(await acquireLocks(db, planId, [env], t0)).toEqual({ kind: "acquired" });
    // Its redelivery (the same event, so the same owner) resumes instead of answering "in progress".
    await deliverPlanCreated(planId, "evt-1");
    expect((await planDoc(planId)).status).toBe("running");
    expect(await harness.pump.run(db, planId)).toBe("succeeded");

    const stuck = uniqueId("dead2");
    await plans.doc(stuck).set({ tasks: [firebaseTask("provision", env)] });
    await acquireStartLease(db, stuck, "start:evt-2", t0, 120_000);
    await acquireLocks(db, stuck, [env], t0);
    // Once its lease ran out, lock maintenance no longer renews its lock...
    const later = t0 + 121_000 + 10 * 60_000;
    await maintainLocks(db, later);
    expect(await lockOf(env)).toBeUndefined();
    // ...and the sweeper starts it again.
    await sweepStalledTasks(db, () => t0 + 121_000);
    expect((await planDoc(stuck)).status).toBe("running");
    expect(await harness.pump.run(db, stuck)).toBe("succeeded");
    expectOnePath(await history(stuck));
  });

  it("does not begin a run whose locks lock maintenance freed after its lease ran out; the sweeper starts it again", async () => {
    const env = envName("slowstart");
    const planId = uniqueId("slow");
    await plans.doc(planId).set({ tasks: [firebaseTask("provision", env)] });
    const t0 = Date.now();
    expect(await acquireStartLease(db, planId, "start:slow", t0, 120_000)).toMatchObject({ kind: "acquired" });
    expect(await acquireLocks(db, planId, [env], t0, holdsStartLease("start:slow"))).toEqual({ kind: "acquired" });
    // The start stalls past its lease; lock maintenance frees the lock of a start that looks dead.
    await maintainLocks(db, t0 + 121_000 + 10 * 60_000);
    expect(await lockOf(env)).toBeUndefined();
    // Waking up, it still holds the lease (nobody took over), but not its lock: it does not begin.
    const begin = await applyPlanInput(db, planId, { kind: "begin", locks: { granted: true }, taskCount: 1 }, t0 + 130_000, { actor: "orchestrator", guard: holdsStartLease("start:slow"), locks: [env] });
    expect(begin).toEqual({ kind: "skip", reason: LOCKS_NO_LONGER_HELD });
    expect((await planDoc(planId)).status).toBe("planning");
    await sweepStalledTasks(db, () => t0 + 121_000);
    expect((await planDoc(planId)).status).toBe("running");
    expect((await lockOf(env))?.owner).toBe(planId);
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect(await lockOf(env)).toBeUndefined();
  });

  it("never overwrites a task a previous start wrote and that moved on since", async () => {
    const planId = uniqueId("fenced");
    await plans.doc(planId).set({ tasks: [{ id: "a", run: "noop" }, { id: "b", run: "noop", needs: ["a"] }] });
    await deliverPlanCreated(planId);
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    const before = await task(planId, "a");
    // A stalled starter wakes up and starts again (its lease long gone): it changes nothing.
    expect(await startPlan(db, planId, await planDoc(planId), "start:stalled")).toBe("skipped");
    expect(await task(planId, "a")).toEqual(before);
  });

  it("ends failed after too many attempts instead of trying forever", async () => {
    const env = uniqueId("badlock").toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20).padEnd(6, "x");
    // A lock document no version of the engine wrote: every start of a plan on it throws.
    await db.collection("locks").doc(env).set({ garbage: true });
    const planId = uniqueId("hopeless");
    await plans.doc(planId).set({ tasks: [firebaseTask("provision", env)] });
    const t0 = Date.now();
    for (let i = 1; i < MAX_START_ATTEMPTS; i++) {
      await expect(startPlan(db, planId, await planDoc(planId), `start:${i}`, () => t0 + i * 200_000)).rejects.toThrow();
      expect(await planDoc(planId)).toMatchObject({ status: "planning", startAttempts: i });
    }
    expect(await startPlan(db, planId, await planDoc(planId), "start:last", () => t0 + MAX_START_ATTEMPTS * 200_000)).toBe("failed");
    expect(await planDoc(planId)).toMatchObject({ status: "failed", startAttempts: MAX_START_ATTEMPTS, effectsPending: false });
    expect((await history(planId)).at(-1)).toMatchObject({ type: "plan.start_failed" });
    await db.collection("locks").doc(env).delete();
  });
});

describe("a plan whose trigger never ran", () => {
  it("is found and started by the sweeper", async () => {
    const planId = uniqueId("orphan");
    await plans.doc(planId).set({ tasks: [{ id: "a", run: "noop" }] });
    await waitFor("the sweeper to start it", async () => {
      await sweepStalledTasks(db, () => Date.now() + ENGINE_TIMING.redispatchAfterMs + 1_000);
      return (await planDoc(planId)).status !== undefined ? true : undefined;
    }, 60_000, 10);
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
  });
});

describe("a cancel between a claim and its work", () => {
  it("cancels a gate claimed just before the plan was cancelled, instead of letting it start waiting", async () => {
    const planId = await start({ tasks: [{ id: "gate", run: "approval" }, { id: "after", run: "noop", needs: ["gate"] }] });
    const ids = { planId, taskId: "gate", attempt: 1 };
    expect(await claimTask(db, ids, "run", "run:w1", Date.now(), ENGINE_TIMING)).toMatchObject({ kind: "claimed" });
    expect(await command(planId, "cancel")).toMatchObject({ applied: true });
    // The claimed gate is running, which a cancel leaves to its worker; the worker now gets here.
    expect(await enterWaiting(db, ids, "run:w1", "waiting_approval", { hash: null, heartbeatSeconds: null }, Date.now(), ENGINE_TIMING)).toMatchObject({ kind: "skip" });
    expect(await task(planId, "gate")).toMatchObject({ status: "cancelled", lease: null });
    expect((await planDoc(planId)).status).toBe("cancelled");
  });
});

describe("retries the model-based test asked for", () => {
  it("retries a plan cancelled before it started by starting it", async () => {
    const planId = uniqueId("never");
    await plans.doc(planId).set({ tasks: [{ id: "a", run: "noop" }, { id: "b", run: "noop", needs: ["a"] }] });
    expect(await command(planId, "cancel")).toMatchObject({ applied: true });
    expect(await command(planId, "retry")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect((await history(planId)).map((e) => e.type)).toContain("plan.retry_start");
  });

  it("ends a retried plan that has nothing left to run", async () => {
    const planId = await start({ tasks: [{ id: "a", run: "noop" }] });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    // Nothing is compensable: the rollback undoes nothing, and the retry resets nothing.
    expect(await command(planId, "rollback")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("rolled_back");
    expect(await command(planId, "retry")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
  });

  it("ends a retried plan with nothing left to run whose worker died once the run began (redrive-with-nothing-to-run)", async () => {
    const planId = await start({ tasks: [{ id: "a", run: "noop" }] });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect(await command(planId, "rollback")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("rolled_back");
    // The quiet repair had covered the last finish already.
    await markStallChecked(db, planId, (await task(planId, "a")).finishedAt as number);
    // The retry's transition, its reset (nothing to reset) and the run's beginning commit; its
    // worker dies before the check that ends a run with nothing to run.
    expect(await applyPlanInput(db, planId, { kind: "command", command: "retry", locks: { granted: true }, by: "ops" }, Date.now(), { actor: "ops" })).toMatchObject({ to: "redriving" });
    expect(await applyPlanInput(db, planId, { kind: "redriven", ready: 0 }, Date.now(), { actor: "orchestrator" })).toMatchObject({ to: "running" });
    expect(await planDoc(planId)).toMatchObject({ status: "running", effectsPending: true });
    // The sweeper applies the running plan's owed effects, that check included: the plan ends.
    await sweepStalledTasks(db, () => Date.now() + ENGINE_TIMING.redispatchAfterMs + 1_000);
    expect(await planDoc(planId)).toMatchObject({ status: "succeeded", effectsPending: false });
    expectOnePath(await history(planId));
  });

  it("keeps a stale transition's effects off the run a retry started since", async () => {
    const env = uniqueId("fence").toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20).padEnd(6, "x");
    const planId = await start({ tasks: [{ id: "gate", run: "approval" }, firebaseTask("after", env, { needs: ["gate"] })] });
    await harness.pump.run(db, planId, { until: () => false, maxRounds: 20 }).catch(() => undefined);
    // The cancel commits; its worker dies before its effects (cancel what is open, free the lock).
    const cancelled = await applyPlanInput(db, planId, { kind: "cancel", by: "ops" }, Date.now(), { actor: "ops" });
    expect(cancelled).toMatchObject({ to: "cancelled" });
    expect(await command(planId, "retry")).toMatchObject({ applied: true });
    expect(await planDoc(planId)).toMatchObject({ status: "running", generation: 2 });
    // The sweep that read the cancel's pending effects goes on with them: they no longer apply.
    await applyPlanEffects(db, planId, cancelled as PlanTransition, () => Date.now());
    expect((await lockOf(env))?.owner).toBe(planId);
    expect((await task(planId, "after")).status).toBe("blocked");
    expect(await command(planId, "cancel")).toMatchObject({ applied: true });
  });
});

describe("fences the model-based test asked for (lock answers, lost starts, stop checks)", () => {
  it("keeps the lock a retry took back while the cancel's release was still owed (stale-lock-answer)", async () => {
    const env = envName("owed");
    const planId = await start({ tasks: [{ id: "gate", run: "approval" }, firebaseTask("after", env, { needs: ["gate"] })] });
    expect((await lockOf(env))?.owner).toBe(planId);
    // The cancel commits; its worker dies before its effects (cancel what is open, free the lock).
    const cancelled = await applyPlanInput(db, planId, { kind: "cancel", by: "ops" }, Date.now(), { actor: "ops" });
    expect(cancelled).toMatchObject({ to: "cancelled" });
    // A retry takes the plan's lock back (its own still) ...
    expect(await acquireLocks(db, planId, [env], Date.now())).toEqual({ kind: "acquired" });
    // ... and the sweeper applies the cancel's owed effects before the retry's transition commits:
    // the release is the cancel's, and leaves the lock the retry took since.
    await applyPlanEffects(db, planId, cancelled as PlanTransition, () => Date.now());
    expect(await planDoc(planId)).toMatchObject({ status: "cancelled", effectsPending: false });
    expect(await task(planId, "gate")).toMatchObject({ status: "cancelled" });
    expect((await lockOf(env))?.owner).toBe(planId);
    const redriving = await applyPlanInput(db, planId, { kind: "command", command: "retry", locks: { granted: true }, by: "ops" }, Date.now(), { actor: "ops", locks: [env] });
    expect(redriving).toMatchObject({ to: "redriving" });
    // The lock is confirmed by the transition that relies on it, in the same commit.
    expect(await lockOf(env)).toMatchObject({ owner: planId, seq: (redriving as PlanTransition).seq });
    await applyPlanEffects(db, planId, redriving as PlanTransition, () => Date.now());
    expect(await planDoc(planId)).toMatchObject({ status: "running", generation: 2 });
    expect(await command(planId, "cancel")).toMatchObject({ applied: true });
    expect(await lockOf(env)).toBeUndefined();
    expectOnePath(await history(planId));
  });

  it("refuses a retry whose lock was freed before its transition committed, and the command takes it again (stale-lock-answer)", async () => {
    const env = envName("freed");
    const planId = await start({ tasks: [{ id: "gate", run: "approval" }, firebaseTask("after", env, { needs: ["gate"] })] });
    expect(await command(planId, "cancel")).toMatchObject({ applied: true });
    expect(await lockOf(env)).toBeUndefined();
    // The retry's lock answer: granted ...
    expect(await acquireLocks(db, planId, [env], Date.now())).toEqual({ kind: "acquired" });
    // ... then the lock goes before its compare-and-set (a give-back of another caller: the plan is cancelled, nothing keeps it).
    await releaseLocks(db, planId);
    expect(await lockOf(env)).toBeUndefined();
    expect(await applyPlanInput(db, planId, { kind: "command", command: "retry", locks: { granted: true }, by: "ops" }, Date.now(), { actor: "ops", locks: [env] })).toEqual({ kind: "skip", reason: LOCKS_NO_LONGER_HELD });
    expect((await planDoc(planId)).status).toBe("cancelled");
    // The command asks for them again and redrives with them.
    expect(await command(planId, "retry")).toMatchObject({ applied: true });
    expect(await planDoc(planId)).toMatchObject({ status: "running", generation: 2 });
    expect((await lockOf(env))?.owner).toBe(planId);
    expect(await command(planId, "cancel")).toMatchObject({ applied: true });
    expect(await lockOf(env)).toBeUndefined();
  });

  it("runs a plan cancelled after its start wrote its tasks, then retried, on fresh tasks (restart-reuses-lost-start-tasks)", async () => {
    const planId = uniqueId("lost");
    await plans.doc(planId).set({ tasks: [{ id: "a", run: "noop" }, { id: "b", run: "noop", needs: ["a"] }] });
    const t0 = Date.now();
    const spec = (id: string, needs: string[]) => ({ id, run: "noop", params: {}, needs, timeoutSeconds: 60, triggerRule: "all_success" as const });
    const written: TaskDoc[] = [
      initialTask({ planId, spec: spec("a", []), dependents: ["b"], level: 0, now: t0, timing: ENGINE_TIMING }),
      initialTask({ planId, spec: spec("b", ["a"]), dependents: [], level: 1, now: t0, timing: ENGINE_TIMING }),
    ];
    // A start takes the lease and writes the tasks ...
    expect(await acquireStartLease(db, planId, "start:lost", t0, 120_000)).toMatchObject({ kind: "acquired" });
    expect(await writeStartTasks(db, planId, written, holdsStartLease("start:lost"))).toBe(true);
    // ... then a cancel takes the plan from it: its effects cancel what the start wrote.
    expect(await command(planId, "cancel")).toMatchObject({ applied: true });
    expect(await task(planId, "a")).toMatchObject({ status: "cancelled" });
    expect(await task(planId, "b")).toMatchObject({ status: "cancelled" });
    // The start, still going, writes nothing more.
    expect(await writeStartTasks(db, planId, written, holdsStartLease("start:lost"))).toBe(false);
    expect(await task(planId, "a")).toMatchObject({ status: "cancelled" });
    // The plan never ran: a retry starts it afresh, and the new start writes every task again.
    expect(await command(planId, "retry")).toMatchObject({ applied: true });
    expect(await task(planId, "a")).toMatchObject({ status: "ready", attempt: 1 });
    expect(await task(planId, "b")).toMatchObject({ status: "blocked", attempt: 1 });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect(await task(planId, "a")).toMatchObject({ status: "succeeded" });
    expect(await task(planId, "b")).toMatchObject({ status: "succeeded" });
    expect((await history(planId)).map((e) => e.type)).toContain("plan.retry_start");
  });

  it("runs an attempt whose stop was decided before a retry and applied after its reset (stop-check-cancels-redriven-task)", async () => {
    const planId = await start({ tasks: [{ id: "a", run: "noop" }, { id: "b", run: "noop", needs: ["a"] }] });
    const ids = { planId, taskId: "a", attempt: 1 };
    expect(await claimTask(db, ids, "run", "run:w1", Date.now(), ENGINE_TIMING)).toMatchObject({ kind: "claimed" });
    expect(await command(planId, "cancel")).toMatchObject({ applied: true });
    // The worker's stop check reads the plan: cancelled. Before its completion commits, a retry
    // redrives the plan: b is reset, a (running) is left to go on, and touched.
    const before = (await task(planId, "a")).casWrite as unknown;
    expect(await command(planId, "retry")).toMatchObject({ applied: true });
    expect(await planDoc(planId)).toMatchObject({ status: "running", generation: 2 });
    expect(await task(planId, "a")).toMatchObject({ status: "running", attempt: 1, lease: { owner: "run:w1" } });
    expect((await task(planId, "a")).casWrite).not.toEqual(before);
    // The completion that would cancel the attempt reads the plan again with the task: it does not apply.
    expect(await completeTask(db, ids, "run:w1", NOT_STARTED, completion({ stopped: true }))).toMatchObject({ kind: "skip", runsAgain: true });
    expect(await task(planId, "a")).toMatchObject({ status: "running", lease: { owner: "run:w1" } });
    // The attempt runs after all, as part of the new run.
    const done = await completeTask(db, ids, "run:w1", { ok: true }, completion());
    expect(done).toMatchObject({ kind: "completed", status: "succeeded" });
    await settleFinishedTask(db, (done as { task: TaskDoc }).task, () => Date.now());
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect(await task(planId, "b")).toMatchObject({ status: "succeeded", attempt: 2 });
  });

  it("keeps the outcome of an attempt its worker saw cancelled, when a retry redrove the plan since (stop-check-cancels-redriven-task)", async () => {
    const planId = await start({ tasks: [{ id: "a", run: "noop" }, { id: "b", run: "noop", needs: ["a"] }] });
    const ids = { planId, taskId: "a", attempt: 1 };
    expect(await claimTask(db, ids, "run", "run:w1", Date.now(), ENGINE_TIMING)).toMatchObject({ kind: "claimed" });
    expect(await command(planId, "cancel")).toMatchObject({ applied: true }); // the worker's watcher aborts the attempt
    expect(await command(planId, "retry")).toMatchObject({ applied: true });
    // The plan is not cancelled any more when the attempt completes: its outcome stands.
    const done = await completeTask(db, ids, "run:w1", { ok: true }, completion({ planCancelled: true }));
    expect(done).toMatchObject({ kind: "completed", status: "succeeded" });
    await settleFinishedTask(db, (done as { task: TaskDoc }).task, () => Date.now());
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
  });

  it("gives back the claim of an attempt whose plan waits for a retry's locks, and the redriven plan runs it (stop-check-cancels-redriven-task)", async () => {
    const env = envName("waitstop");
    const planId = await start({ tasks: [firebaseTask("provision", env), { id: "a", run: "noop" }] });
    const ids = { planId, taskId: "a", attempt: 1 };
    expect(await claimTask(db, ids, "run", "run:w1", Date.now(), ENGINE_TIMING)).toMatchObject({ kind: "claimed" });
    expect(await command(planId, "cancel")).toMatchObject({ applied: true });
    // Another plan takes the environment; the retry waits for it.
    const other = await start({ tasks: [{ id: "gate", run: "approval" }, firebaseTask("provision", env, { needs: ["gate"] })] });
    expect((await lockOf(env))?.owner).toBe(other);
    expect(await command(planId, "retry")).toMatchObject({ applied: true, message: expect.stringContaining("waits") });
    expect(await planDoc(planId)).toMatchObject({ status: "waiting", resume: "redrive" });
    // The worker's stop: a plan that waits for its locks runs nothing, so the claim is given back unrun ...
    expect(await completeTask(db, ids, "run:w1", NOT_STARTED, completion({ stopped: true }))).toMatchObject({ kind: "skip", reason: "given back unrun: the plan is waiting" });
    expect(await task(planId, "a")).toMatchObject({ status: "ready", attempt: 1, lease: null });
    // ... and once the lock frees, the redriven plan runs it with the rest.
    expect(await command(other, "cancel")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect(await task(planId, "a")).toMatchObject({ status: "succeeded" });
    expect(await lockOf(env)).toBeUndefined();
  });

  it("lets a gate claimed in the old run wait as part of the redrive instead of cancelling it (stop-check-cancels-redriven-task)", async () => {
    const planId = await start({ tasks: [{ id: "gate", run: "approval" }, { id: "after", run: "noop", needs: ["gate"] }] });
    const ids = { planId, taskId: "gate", attempt: 1 };
    expect(await claimTask(db, ids, "run", "run:w1", Date.now(), ENGINE_TIMING)).toMatchObject({ kind: "claimed" });
    expect(await command(planId, "cancel")).toMatchObject({ applied: true });
    // The retry's transition commits; its resets are still to come.
    const redriving = await applyPlanInput(db, planId, { kind: "command", command: "retry", locks: { granted: true }, by: "ops" }, Date.now(), { actor: "ops" });
    expect(redriving).toMatchObject({ to: "redriving" });
    // The gate's worker gets to its wait now: the plan is being redriven, so the gate waits in the new run.
    expect(await enterWaiting(db, ids, "run:w1", "waiting_approval", { hash: null, heartbeatSeconds: null }, Date.now(), ENGINE_TIMING)).toMatchObject({ kind: "waiting" });
    await applyPlanEffects(db, planId, redriving as PlanTransition, () => Date.now());
    expect(await planDoc(planId)).toMatchObject({ status: "running", generation: 2 });
    expect(await task(planId, "gate")).toMatchObject({ status: "waiting_approval" });
    expect(await applyCommand(db, { planId, command: "approve", taskId: "gate", by: "ops@example.com", commandId: uniqueId("approve") }, operator(), RULES)).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
  });
});
