/**
 * Defects the model-based test (plan-lifecycle.model.test.ts) found in the engine and in how the
 * runtime composes it, each as the smallest sequence that shows it, replayed on the model world
 * (test/support/model/world.ts: the engine's pure decisions composed as the runtime composes them).
 *
 * Open defects are `it.failing`: once one is fixed, its test fails here; make it an `it` (it
 * stays as a regression test) and remove its id from KNOWN_DEFECTS (test/support/model/invariants.ts).
 * None is open now: every test here is a regression test of a defect found and fixed since.
 */
import { decideReset, initialTask } from "../../../functions/src/engine/task";
import { effectsOf, FINAL_PLAN_STATUSES } from "../../../functions/src/engine/plan";
import type { TaskStatus } from "../../../functions/src/schema/task";
import { command, created, deliver, FAIL, passMinutes, plan, scriptedWorld, settleAll, step, SUCCEED, task, taskMessage, UNNOTICED } from "../../support/model/script";
import { TIMING, type Message, type PlanRecord, type World } from "../../support/model/world";
import { runSeed } from "../../support/model/run";

const OPEN: ReadonlySet<TaskStatus> = new Set(["blocked", "ready", "running", "waiting_approval", "waiting_external", "compensating"]);
const openTasks = (tasks: Iterable<{ id: string; status: TaskStatus }>) => [...tasks].filter((t) => OPEN.has(t.status)).map((t) => `${t.id}:${t.status}`);

/** Starts the plan to `running` (its start runs to its end). */
function started(world: World, p: PlanRecord): void {
  step(world, deliver(world, created(p.id))!, SUCCEED, 10);
  expect(p.state.status).toBe("running");
}

/** A two-task chain under policy continue whose first task failed: b is skipped, the plan failed. */
function failedChain(): { world: World; p: PlanRecord } {
  const world = scriptedWorld([plan("p", "continue", [task("a", "noop"), task("b", "noop", ["a"])])]);
  const p = world.plan("p");
  started(world, p);
  step(world, deliver(world, taskMessage("a"))!, FAIL, 10);
  expect(p.state.status).toBe("failed");
  return { world, p };
}

describe("defects in lock answers, lost starts and stop checks (fixed; regression tests)", () => {
  // runtime/commands.ts enterWithLocks reads the plan, decides "held" when it is active, then
  // applies the command in a later compare-and-set; engine/plan.ts withLocks took "held" at its
  // word. A rollback read while the plan ran, applied after a cancel released the locks, entered
  // rolling_back with no lock. Fixed: the machine refuses "held" on a plan no longer active
  // (LOCKS_NO_LONGER_HELD) and the command takes the locks again.
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

  // The same gap the other way: a retry took the plan's own lock back while its previous transition
  // still owed release_locks (its worker died); the sweeper applied that release (the transition
  // was still the plan's current one), freeing the lock the retry had just taken, and the retry
  // entered redriving without it. Fixed: a lock is stamped with the plan's `seq` when taken, and a
  // release owed by transition N frees only locks taken before it (store/locks.ts releaseLocks).
  it("a retry's lock is not freed by the release its plan still owed (stale-lock-answer)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "firebase"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    started(world, p);
    command(world, p, "cancel", 2); // the cancel commits; its worker dies before the effects
    expect(p.effectsPending).toBe(true);
    const retry = world.spawn("retry", world.command(p, "retry"));
    step(world, retry, SUCCEED, 2); // probe, then its locks: env-a is its own already
    world.advance(61_000, () => undefined);
    world.sweep(); // applies the cancel's pending effects: its release leaves the lock the retry took
    expect(world.locks.get("env-a")?.owner).toBe("p");
    expect(p.effectsPending).toBe(false);
    step(world, retry, SUCCEED, 10); // redriving
    expect(["redriving", "running"]).toContain(p.state.status);
    expect(world.locks.get("env-a")?.owner).toBe("p");
  });

  // ... and whatever frees a lock between a command's lock answer and its commit (another caller's
  // give-back), the commit checks the locks it was granted (store/plans.ts TransitionCause `locks`):
  // the command takes them again instead of entering its active status without them.
  it("a retry whose lock was freed before its commit takes it again (stale-lock-answer)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "firebase"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    started(world, p);
    command(world, p, "cancel");
    expect(world.locks.has("env-a")).toBe(false);
    const retry = world.spawn("retry", world.command(p, "retry"));
    step(world, retry, SUCCEED, 2); // probe, then its locks
    expect(world.locks.get("env-a")?.owner).toBe("p");
    world.releaseLocks("p"); // freed before the retry's compare-and-set (the plan is cancelled: not live)
    expect(world.locks.has("env-a")).toBe(false);
    step(world, retry, SUCCEED, 20);
    expect(["redriving", "running"]).toContain(p.state.status);
    expect(world.locks.get("env-a")?.owner).toBe("p");
    passMinutes(world, 30);
    expect(p.state.status).toBe("succeeded");
  });

  // engine/plan.ts counts a plan as started once it has `startedAt` (it began running); a start
  // that lost its lease to a cancel still wrote the tasks, and they were cancelled. The retry of
  // such a plan "never started" restarts it from pending, and runtime/start-plan.ts created tasks
  // without overwriting: the new run began on the cancelled tasks, and none of them ran. Fixed:
  // every write of a start is fenced by its lease in the same transaction (a start that lost it
  // writes nothing more), and a start writes each task whole, over what an earlier start left.
  it("a plan cancelled while its start wrote its tasks, then retried, runs its tasks (restart-reuses-lost-start-tasks)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "noop"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    const starter = deliver(world, created("p"))!; // planning, with the start lease
    command(world, p, "cancel");
    step(world, starter, SUCCEED, 10); // its lease is gone: it writes nothing
    expect(p.tasks.size).toBe(0);
    command(world, p, "retry"); // never started: back to pending, started afresh
    passMinutes(world, 30);
    expect(p.state.status).toBe("succeeded");
    expect([p.tasks.get("a")!.status, p.tasks.get("b")!.status]).toEqual(["succeeded", "succeeded"]);
  });

  it("a plan cancelled after its start wrote its tasks, then retried, runs them afresh (restart-reuses-lost-start-tasks)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "noop"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    const starter = deliver(world, created("p"))!;
    step(world, starter, SUCCEED, 2); // its locks (none needed), then its tasks, under its lease
    expect(p.tasks.size).toBe(2);
    command(world, p, "cancel"); // the cancel's effects cancel what the start wrote
    expect([p.tasks.get("a")!.status, p.tasks.get("b")!.status]).toEqual(["cancelled", "cancelled"]);
    step(world, starter, SUCCEED, 10); // its begin: the lease is gone
    expect(p.state.status).toBe("cancelled");
    command(world, p, "retry"); // never started (no startedAt): pending, started afresh on new tasks
    passMinutes(world, 30);
    expect(p.state.status).toBe("succeeded");
    expect([p.tasks.get("a")!.status, p.tasks.get("b")!.status]).toEqual(["succeeded", "succeeded"]);
  });

  // A start that lost its lease and died before undoing what it wrote left it: the plan's
  // cancel_open_tasks had run before the tasks existed, so a blocked one stayed open for ever.
  // Fixed: its writes are fenced by the lease (nothing is written once it is lost), and what it
  // wrote while it held the lease is there for the cancel's effects.
  it("a start that lost its lease and died midway leaves no open task and no lock (start-writes-unfenced)", () => {
    for (const cancelFirst of [true, false]) {
      const world = scriptedWorld([plan("p", "stop", [task("a", "firebase"), task("b", "noop", ["a"])])]);
      const p = world.plan("p");
      const starter = deliver(world, created("p"))!;
      if (cancelFirst) command(world, p, "cancel");
      step(world, starter, SUCCEED, 2); // its locks, then its tasks: only while it holds the lease
      expect(p.tasks.size).toBe(cancelFirst ? 0 : 2);
      if (!cancelFirst) command(world, p, "cancel");
      world.kill(starter); // dies before its begin
      passMinutes(world, 30);
      expect(p.state.status).toBe("cancelled");
      expect(openTasks(p.tasks.values())).toEqual([]);
      expect([...world.locks.keys()]).toEqual([]);
    }
  });

  // runtime/plan-effects.ts reads `seq` once, then applies the effects; reset_tasks
  // (store/tasks.ts resetUnsucceededTasks) was not fenced. A cancel that commits during a redrive
  // (CANCELLABLE_FROM has redriving) cancels what is open then; the resets that followed reopened
  // tasks of the cancelled plan, and one left blocked was never settled.
  it("a redrive cancelled midway reopens no task (effects-unfenced)", () => {
    const { world, p } = failedChain();
    const retry = world.spawn("retry", world.command(p, "retry"));
    step(world, retry, SUCCEED, 3); // redriving, its effects' seq read, about to reset
    expect(p.state.status).toBe("redriving");
    command(world, p, "cancel"); // nothing is open to cancel yet
    step(world, retry, SUCCEED, 10); // the resets go on: a ready, b blocked, in a cancelled plan
    passMinutes(world, 30);
    expect(p.state.status).toBe("cancelled");
    expect(openTasks(p.tasks.values())).toEqual([]);
  });

  // Found with the fixes above: reset_tasks fenced its resets by the redrive's `seq`, but not the
  // `redriven` transition after them. A redrive cancelled midway, then retried again, had the first
  // redrive's `redriven` commit on the second one's `redriving`, before the second reset anything:
  // its resets then stopped (the plan had moved on) and the new run began on the old run's tasks.
  it("a redrive superseded by a cancel and another retry does not begin the new run before its resets (effects-unfenced)", () => {
    const { world, p } = failedChain();
    const first = world.spawn("retry 1", world.command(p, "retry"));
    step(world, first, SUCCEED, 3); // redriving, about to reset
    command(world, p, "cancel");
    const second = world.spawn("retry 2", world.command(p, "retry"));
    step(world, second, SUCCEED, 3); // redriving again, about to reset
    expect(p.state.status).toBe("redriving");
    step(world, first, SUCCEED, 10); // the first redrive's resets stop; its `redriven` is not the plan's
    expect(p.state.status).toBe("redriving");
    step(world, second, SUCCEED, 10); // the second resets a and b, then runs
    passMinutes(world, 30);
    expect(p.state.status).toBe("succeeded");
    expect([p.tasks.get("a")!.status, p.tasks.get("b")!.status]).toEqual(["succeeded", "succeeded"]);
  });

  // Found with the fixes above (seed 3017425 at 50,000 sequences): a redrive that reset nothing
  // ended its plan by a finish check after its `redriven`, outside the effects it owed: a worker
  // that died in between left the plan running with every task finished, and the quiet repair had
  // covered the last finish already. The running plan's owed effects now include that check.
  it("a redrive with nothing to run whose worker dies after it began the run still ends (redrive-with-nothing-to-run)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "noop")])]);
    const p = world.plan("p");
    started(world, p);
    const worker = deliver(world, taskMessage("a"))!;
    step(world, worker, SUCCEED, 2); // executed, completed: succeeded
    world.kill(worker); // dies before settling it
    world.advance(61_000, () => undefined);
    const sweep = world.spawn("sweep", world.sweeper());
    step(world, sweep, SUCCEED, 3); // the due tasks' plans read (none due), then its page of running plans: p, quiet since a finished
    command(world, p, "cancel");
    step(world, sweep, SUCCEED, 10); // the quiet repair finds p cancelled, and marks a's finish checked
    expect(p.stallCheckedUpTo).toBe(p.tasks.get("a")!.finishedAt);
    const retry = world.spawn("retry", world.command(p, "retry"));
    step(world, retry, SUCCEED, 5); // redriving, nothing reset, redriven: running
    expect(p.state.status).toBe("running");
    world.kill(retry); // dies before the finish check
    passMinutes(world, 30);
    expect(p.state.status).toBe("succeeded");
  });

  // Found with the fixes above (seed 7002625): a rollback step that read "finished" applied its
  // `rollback_finished` in a later round trip, unfenced: the rollback it read had ended since (by
  // another step), the plan had been retried and was rolling back again, and the stale step ended
  // that second rollback while its compensation was still queued. It is fenced by the seq it read.
  it("a rollback step read in an earlier rollback does not end a later one (stale-rollback-step)", () => {
    const world = scriptedWorld([plan("p", "rollback", [task("a", "noop", [], { compensate: { run: "noop", params: {} } }), task("f", "noop")])]);
    const p = world.plan("p");
    const run = (taskId: string, attempt: number, phase: "run" | "compensate" = "run") => (m: Message) => m.kind === "task" && m.taskId === taskId && m.attempt === attempt && m.phase === phase;
    started(world, p);
    step(world, deliver(world, run("a", 1))!, SUCCEED, 10);
    step(world, deliver(world, run("f", 1))!, FAIL, 10); // f fails: rolling back, a's compensation queued
    expect(p.state.status).toBe("rolling_back");
    const compensating = deliver(world, run("a", 1, "compensate"))!;
    step(world, compensating, SUCCEED, 3); // compensated; its rollback step reads "finished", not yet applied
    world.sweep(); // another step ends the rollback
    expect(p.state.status).toBe("rolled_back");
    command(world, p, "retry"); // run 2
    step(world, deliver(world, run("a", 2))!, SUCCEED, 10);
    step(world, deliver(world, run("f", 2))!, FAIL, 10); // rolling back again, a's compensation queued
    expect([p.state.status, p.tasks.get("a")!.status]).toEqual(["rolling_back", "compensating"]);
    step(world, compensating, SUCCEED, 10); // the stale step: its rollback is over
    expect(p.state.status).toBe("rolling_back");
    passMinutes(world, 30);
    expect([p.state.status, p.tasks.get("a")!.status]).toEqual(["rolled_back", "compensated"]);
  });

  // runtime/run-task.ts checks the plan's status after the claim and ends the attempt cancelled,
  // unrun, unless the plan runs attempts. A plan `redriving` has not stopped: when a retry's reset
  // has already passed the task (it was running, so not reset), a task cancelled after the reset is
  // never reset again, and its dependents never run: the plan stays running for ever.
  it("a task claimed before a cancel and checked during the retry's redrive is not cancelled for good (stop-check-cancels-redriven-task)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "noop"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    started(world, p);
    const worker = deliver(world, taskMessage("a"))!; // a claimed: running
    command(world, p, "cancel"); // b cancelled; a runs on
    const retry = world.spawn("retry", world.command(p, "retry"));
    step(world, retry, SUCCEED, 4); // redriving, and its reset done: b blocked again, a (running) left alone
    expect(p.state.status).toBe("redriving");
    step(world, worker); // the worker's check: the plan runs attempts (redriving), a goes on
    step(world, retry, SUCCEED, 10); // redriven: running
    passMinutes(world, 30);
    expect(p.state.status).toBe("succeeded");
  });

  // The check reads the plan (cancelled), then the completion that cancels the attempt commits in a
  // later round trip: a retry that redrove the plan in between (its reset passing the running task)
  // was too late for it. Fixed: the completion reads the plan again with the task, in one snapshot
  // (store/tasks.ts completeTask `stopped`), and the reset touches a running task so a completion
  // read before it fails its precondition: on a plan that runs attempts again, the attempt goes on.
  it("a stop decided before a retry and committed after its reset does not cancel the task (stop-check-cancels-redriven-task)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "noop"), task("b", "noop", ["a"])])]);
    const p = world.plan("p");
    started(world, p);
    const worker = deliver(world, taskMessage("a"))!; // a claimed: running
    command(world, p, "cancel");
    step(world, worker); // the check reads the plan: cancelled
    command(world, p, "retry"); // redriving, b reset (a, running, left to go on), running
    expect(p.state.status).toBe("running");
    step(world, worker); // the completion reads the plan again: running, so a runs after all
    expect(p.tasks.get("a")!.status).not.toBe("cancelled");
    passMinutes(world, 30);
    expect(p.state.status).toBe("succeeded");
    expect([p.tasks.get("a")!.status, p.tasks.get("b")!.status]).toEqual(["succeeded", "succeeded"]);
  });

  // A plan waiting for a retry's locks runs nothing (it does not hold them): a task its stop check
  // cancels then is reset by the redrive once the locks are free, and runs in the new run.
  it("a task cancelled by the stop check while a retry waits for its locks runs in the redrive (stop-check-cancels-redriven-task)", () => {
    const world = scriptedWorld([plan("p", "stop", [task("a", "firebase"), task("b", "noop", ["a"])]), plan("q", "stop", [task("gate", "approval"), task("c", "firebase", ["gate"])])]);
    const p = world.plan("p");
    const q = world.plan("q");
    started(world, p);
    step(world, deliver(world, created("q"))!, SUCCEED, 10); // q waits for env-a
    expect(q.state.status).toBe("waiting");
    const worker = deliver(world, taskMessage("a"))!; // a claimed: running
    command(world, p, "cancel"); // env-a freed: q starts and holds it
    expect(q.state.status).toBe("running");
    step(world, worker); // the check reads the plan: cancelled
    command(world, p, "retry"); // env-a is q's: p waits to be redriven
    expect(p.state).toMatchObject({ status: "waiting", resume: "redrive" });
    step(world, worker, SUCCEED, 10); // the completion: p runs nothing while it waits, so a's claim is given back unrun
    expect(p.tasks.get("a")!).toMatchObject({ status: "ready", attempt: 1, lease: null });
    step(world, deliver(world, taskMessage("gate"))!, SUCCEED, 10); // q's gate waits
    world.approve(q, "gate", "approve", 0); // q finishes, env-a frees, p is redriven
    passMinutes(world, 30);
    expect(q.state.status).toBe("succeeded");
    expect(p.state.status).toBe("succeeded");
    expect([p.tasks.get("a")!.status, p.tasks.get("b")!.status]).toEqual(["succeeded", "succeeded"]);
  });
});

describe("fixed defects (regression tests)", () => {
  // engine/task.ts decideReset once made every task whose needs all succeeded ready, so a
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

  // A start that lost its lease to a cancel kept the locks and left its tasks open (now its writes are fenced by the lease).
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

  // Seen at 20,000 sequences: the post-claim stop check (runtime/run-task.ts) cancelled a task
  // claimed in the old run while its plan waited for its locks (to roll back, in this seed), which
  // the invariant took for a redrive left without it. Replays the seed (its sequence has changed
  // since the stop check reads the plan twice; it stays as a sequence that waits on locks).
  it("seed 5051: a task the stop check cancels while its plan waits for locks breaks no invariant (stop-check-cancels-redriven-task)", () => {
    const result = runSeed(5051);
    expect(result.violation?.error.message).toBeUndefined();
    expect(result.stats.known.get("stop-check-cancels-redriven-task") ?? 0).toBe(0);
  });
});
