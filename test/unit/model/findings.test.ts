/**
 * Defects the model-based test (plan-lifecycle.model.test.ts) found in the engine and in how the
 * runtime composes it, each as the smallest sequence that shows it, replayed on the model world
 * (test/support/model/world.ts: the engine's pure decisions composed as the runtime composes them).
 *
 * Open defects are `it.failing`: once one is fixed, its test fails here; make it an `it` (it
 * stays as a regression test) and remove its id from KNOWN_DEFECTS (test/support/model/invariants.ts).
 * The regression tests are defects found earlier and fixed since.
 */
import { decideReset, initialTask } from "../../../functions/src/engine/lifecycle";
import { effectsOf, FINAL_PLAN_STATUSES } from "../../../functions/src/engine/plan";
import type { TaskStatus } from "../../../functions/src/schema/task";
import { command, created, deliver, FAIL, passMinutes, plan, scriptedWorld, settleAll, step, SUCCEED, task, taskMessage, UNNOTICED } from "../../support/model/script";
import { TIMING, type PlanRecord, type World } from "../../support/model/world";
import { runSeed } from "../../support/model/run";

const OPEN: ReadonlySet<TaskStatus> = new Set(["blocked", "ready", "running", "waiting_approval", "waiting_external", "compensating"]);
const openTasks = (tasks: Iterable<{ id: string; status: TaskStatus }>) => [...tasks].filter((t) => OPEN.has(t.status)).map((t) => `${t.id}:${t.status}`);

/** Starts the plan to `running` (its start runs to its end). */
function started(world: World, p: PlanRecord): void {
  step(world, deliver(world, created(p.id))!, SUCCEED, 10);
  expect(p.state.status).toBe("running");
}

describe("open defects (each fails while the defect is there)", () => {
  // runtime/commands.ts enterWithLocks reads the plan, decides "held" when it is active, then
  // applies the command in a later compare-and-set; engine/plan.ts withLocks takes "held" at its
  // word. A rollback read while the plan ran, applied after a cancel released the locks, enters
  // rolling_back with no lock: another plan may hold the environment while compensations run.
  it("a rollback read as running and applied after a cancel does not roll back without its locks (stale-lock-answer)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "firebase"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    started(world, p);
    step(world, deliver(world, taskMessage("a"))!, SUCCEED, 10); // a succeeded: the rollback has to undo it
    const rollback = world.spawn("rollback", world.command(p, "rollback"));
    step(world, rollback); // read: running, so its locks are "held"
    command(world, p, "cancel"); // cancelled; its effects free env-a
    expect(world.locks.has("env-a")).toBe(false);
    step(world, rollback, SUCCEED, 10); // the compare-and-set, on the cancelled plan, with "held"
    expect(p.state.status).toBe("rolling_back"); // a's compensation is queued
    expect(world.locks.get("env-a")?.owner).toBe("p");
  });

  // The same gap the other way: a retry takes the plan's own lock back while its previous
  // transition still owes release_locks (its worker died); the sweeper applies that release (the
  // transition is still the plan's current one), freeing the lock the retry just took; the retry
  // then enters redriving without it.
  it.failing("a retry's lock is not freed by the release its plan still owed (stale-lock-answer)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "firebase"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    started(world, p);
    command(world, p, "cancel", 2); // the cancel commits; its worker dies before the effects
    expect(p.effectsPending).toBe(true);
    const retry = world.spawn("retry", world.command(p, "retry"));
    step(world, retry, SUCCEED, 2); // probe, then its locks: env-a is its own already
    world.advance(61_000, () => undefined);
    world.sweep(); // applies the cancel's pending effects: release_locks frees env-a
    step(world, retry, SUCCEED, 10); // redriving
    expect(p.state.status === "redriving" || p.state.status === "running" ? world.locks.get("env-a")?.owner : "p").toBe("p");
  });

  // engine/plan.ts counts a plan as started once it has `startedAt` (it began running); a start
  // that lost its lease to a cancel still wrote the tasks, and undoLostStart cancelled them. The
  // retry of such a plan "never started" restarts it from pending, and runtime/start-plan.ts
  // createTasks never overwrites: the new run begins on the cancelled tasks. None of them runs; the
  // plan ends `succeeded` by the quiet repair (or, when some are still blocked, never ends).
  it.failing("a plan cancelled while its start wrote its tasks, then retried, runs its tasks (restart-reuses-lost-start-tasks)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "noop"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    const starter = deliver(world, created("p"))!; // planning, with the start lease
    command(world, p, "cancel");
    step(world, starter, SUCCEED, 10); // writes the tasks anyway, then undoes: both cancelled
    expect(openTasks(p.tasks.values())).toEqual([]);
    command(world, p, "retry"); // never started: back to pending, started afresh
    passMinutes(world, 30);
    expect(p.state.status).toBe("succeeded");
    expect([p.tasks.get("a")!.status, p.tasks.get("b")!.status]).toEqual(["succeeded", "succeeded"]);
  });

  // runtime/plan-effects.ts reads `seq` once, then applies the effects; reset_tasks
  // (store/tasks.ts resetUnsucceededTasks) is not fenced. A cancel that commits during a redrive
  // (CANCELLABLE_FROM has redriving) cancels what is open then; the resets that follow reopen
  // tasks of the cancelled plan, and one left blocked is never settled.
  it("a redrive cancelled midway reopens no task (effects-unfenced)", () => {
    const world = scriptedWorld([plan("p", "continue", [task("a", "noop"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    started(world, p);
    step(world, deliver(world, taskMessage("a"))!, FAIL, 10); // a fails, b is skipped: the plan fails
    expect(p.state.status).toBe("failed");
    const retry = world.spawn("retry", world.command(p, "retry"));
    step(world, retry, SUCCEED, 3); // redriving, its effects' seq read, about to reset
    expect(p.state.status).toBe("redriving");
    command(world, p, "cancel"); // nothing is open to cancel yet
    step(world, retry, SUCCEED, 10); // the resets go on: a ready, b blocked, in a cancelled plan
    passMinutes(world, 30);
    expect(p.state.status).toBe("cancelled");
    expect(openTasks(p.tasks.values())).toEqual([]);
  });

  // runtime/run-task.ts checks the plan's status after the claim and ends the attempt cancelled,
  // unrun, unless the plan is `running`. A plan `redriving` has not stopped (PLAN_MAY_RUN_TASKS):
  // when a retry's reset has already passed the task (it was running, so not reset), the task is
  // cancelled after the reset, nothing resets it again, and its dependents never run: the plan
  // stays running for ever.
  it("a task claimed before a cancel and checked during the retry's redrive is not cancelled for good (stop-check-cancels-redriven-task)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "noop"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    started(world, p);
    const worker = deliver(world, taskMessage("a"))!; // a claimed: running
    command(world, p, "cancel"); // b cancelled; a runs on
    const retry = world.spawn("retry", world.command(p, "retry"));
    step(world, retry, SUCCEED, 4); // redriving, and its reset done: b blocked again, a (running) left alone
    expect(p.state.status).toBe("redriving");
    step(world, worker); // the worker's check: the plan is not running, so a ends cancelled
    step(world, retry, SUCCEED, 10); // redriven: running
    passMinutes(world, 30);
    expect(p.state.status).toBe("succeeded");
  });

  // A start that lost its lease and dies before undoLostStart leaves what it wrote: the plan's
  // cancel_open_tasks ran before the tasks existed, so a blocked one stays open for ever.
  it.failing("a start that lost its lease and died midway leaves no open task (start-writes-unfenced)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "noop"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    const starter = deliver(world, created("p"))!;
    command(world, p, "cancel");
    step(world, starter, SUCCEED, 2); // locks (none needed), then the tasks
    expect(p.tasks.size).toBe(2);
    world.kill(starter); // dies before its begin, so before undoLostStart
    passMinutes(world, 30);
    expect(openTasks(p.tasks.values())).toEqual([]);
  });
});

describe("fixed defects (regression tests)", () => {
  // engine/lifecycle.ts decideReset once made every task whose needs all succeeded ready, so a
  // `one_failed` task cancelled by a stopped plan ran on the retry.
  it("decideReset: a redriven one_failed task whose needs all succeeded is skipped, not run (trigger-rule-on-redrive)", () => {
    const alert = initialTask({
      planId: "p",
      spec: { id: "alert", run: "noop", params: {}, needs: ["a"], timeoutSeconds: 60, triggerRule: "one_failed" },
      dependents: [],
      level: 1,
      now: 0,
      timing: TIMING,
    });
    const decision = decideReset({ ...alert, status: "cancelled", finishedAt: 1 }, new Map<string, TaskStatus>([["a", "succeeded"]]), "redrive", 2, TIMING);
    expect(decision.kind).toBe("reset");
    expect(decision.kind === "reset" && decision.update.status).toBe("skipped");
  });

  // A retry of a plan cancelled before its start wrote a task redrove nothing and stayed running.
  it("a plan cancelled before it started, then retried, ends (redrive-with-nothing-to-run)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "noop"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    command(world, p, "cancel");
    command(world, p, "retry");
    passMinutes(world, 60);
    expect(FINAL_PLAN_STATUSES.has(p.state.status)).toBe(true);
  });

  // A retry that reset nothing (every task stood) stayed running: the quiet repair had covered the last finish.
  it("a rolled-back plan whose tasks all stand, retried, ends (redrive-with-nothing-to-run)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "noop")])]);
    const p = world.plan("p");
    started(world, p);
    const worker = deliver(world, taskMessage("a"))!;
    step(world, worker, SUCCEED, 2); // executed, completed: succeeded
    world.kill(worker); // dies before settling: the quiet repair finishes the plan
    passMinutes(world, 3);
    expect(p.state.status).toBe("succeeded");
    command(world, p, "rollback");
    expect(p.state.status).toBe("rolled_back");
    command(world, p, "retry");
    passMinutes(world, 60);
    expect(FINAL_PLAN_STATUSES.has(p.state.status)).toBe(true);
  });

  // A start that lost its lease to a cancel kept the locks and left its tasks open (now undone by undoLostStart).
  it("a start that lost its lease to a cancel leaves no lock and no open task (start-writes-unfenced)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "firebase"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    const starter = deliver(world, created("p"))!;
    command(world, p, "cancel");
    step(world, starter, SUCCEED, 10);
    expect(p.state.status).toBe("cancelled");
    expect([...world.locks.keys()]).toEqual([]);
    passMinutes(world, 30);
    expect(openTasks(p.tasks.values())).toEqual([]);
  });

  // Under rollback, all_finished ended the plan failed when the failure's own settle came after the last finish.
  it("under policy rollback, a failure settled after the last finish still rolls back (rollback-policy-bypassed)", () => {
    const world = scriptedWorld([plan("p", "rollback", [task("undoable", "noop", [], { compensate: { run: "noop", params: {} } }), task("fails", "noop")])]);
    const p = world.plan("p");
    started(world, p);
    const failing = deliver(world, taskMessage("fails"))!;
    step(world, failing, FAIL, 2); // executed and completed: failed; its settle has not run yet
    step(world, deliver(world, taskMessage("undoable"))!, SUCCEED, 10); // succeeds, settles, finds every task finished
    step(world, failing, SUCCEED, 10); // the failure's own settle
    settleAll(world);
    expect(p.state.status).toBe("rolled_back");
    expect(p.tasks.get("undoable")!.status).toBe("compensated");
  });

  // finishPlanIfDone read its premise in separate round trips; a redrive in between let it end the new run.
  it("a finish check read before a redrive does not end the new run (stale-finish-check)", () => {
    const world = scriptedWorld([plan("p", "continue", [task("a", "noop"), task("b", "noop")])]);
    const p = world.plan("p");
    started(world, p);
    const worker = deliver(world, taskMessage("a"))!; // claimed
    step(world, worker); // executed
    command(world, p, "cancel"); // b cancelled
    step(world, worker, UNNOTICED); // completed: succeeded (the watcher had not noticed the cancel)
    step(world, worker, SUCCEED, 2); // settled (no dependents), finish check under way
    command(world, p, "retry"); // run 2: b reset to ready
    expect(p.state.status).toBe("running");
    step(world, worker, SUCCEED, 5); // the stale check
    expect(p.state.status).toBe("running");
    settleAll(world);
    expect(p.state.status).toBe("succeeded");
    expect(p.tasks.get("b")!.status).toBe("succeeded");
  });

  // The sweeper applied a cancel's pending effects from the page it read after a retry: the new run's tasks were cancelled and its lock freed.
  it("effects left pending by a cancel do not hit the run a retry started since (effects-unfenced)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "firebase"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    started(world, p);
    command(world, p, "cancel", 2); // the transition commits; its worker dies before the effects
    expect(p.effectsPending).toBe(true);
    world.advance(61_000, () => undefined);
    const snapshot = { to: p.state.status, seq: p.state.seq, effects: effectsOf(p.state.status) }; // the sweep's page read
    command(world, p, "retry"); // run 2, holding env-a again
    expect(p.state.status).toBe("running");
    world.runToEnd(world.applyPlanEffects(p, snapshot)); // the sweep goes on with what it read
    expect(world.locks.get("env-a")?.owner).toBe("p");
    expect(openTasks(p.tasks.values()).length).toBeGreaterThan(0);
  });

  // effectsOf("rolled_back") did not owe cancel_open_tasks: a cut-short cancel of the rollback was never applied again.
  it("a rollback whose cancel was cut short leaves no task open once rolled back (rolled-back-leaves-tasks-open)", () => {
    const world = scriptedWorld([plan("p", "rollback", [task("gate", "approval"), task("fails", "noop"), task("after", "noop", ["gate"])])]);
    const p = world.plan("p");
    started(world, p);
    step(world, deliver(world, taskMessage("gate"))!, SUCCEED, 3); // waiting for approval
    const failing = deliver(world, taskMessage("fails"))!;
    step(world, failing, FAIL, 2); // failed
    step(world, failing, SUCCEED, 3, 2); // settle: task_failed → rolling_back commits; dies in cancel_open_tasks
    expect(p.state.status).toBe("rolling_back");
    world.approve(p, "gate", "reject", 0); // the gate fails: its settle finishes the rollback
    passMinutes(world, 30);
    expect(p.state.status).toBe("rolled_back");
    expect(openTasks(p.tasks.values())).toEqual([]);
  });

  // Seen at 20,000 sequences: the post-claim stop check (runtime/run-task.ts) cancels a task claimed
  // in the old run while its plan waits for the locks of a retry, and the resumed redrive does not
  // run it again. Replays the seed that shows it.
  it.failing("a task cancelled by the stop check while a retry waits for its locks still runs in the redrive (stop-check-cancels-redriven-task)", () => {
    const result = runSeed(5051);
    expect(result.violation?.error.message).toBeUndefined();
    expect(result.stats.known.get("stop-check-cancels-redriven-task") ?? 0).toBe(0);
  });
});
