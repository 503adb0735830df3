/**
 * What follows a finished task, by its status and the plan's failure policy:
 * - succeeded / skipped: release dependents (publishing those now ready; settling those the trigger
 *   rules skip), and finish the plan when nothing is left open;
 * - failed: `stop` fails the plan and cancels what has not started; `continue` releases dependents
 *   with the failure (trigger rules decide); `rollback` starts compensating in reverse order;
 * - compensated (or a failed compensation): the rollback moves to its next level.
 * Every step is idempotent, so the sweeper's stall check can run it again for a task whose worker
 * died midway.
 */
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING, LIMITS } from "../config";
import { publishTaskReady } from "../bus/publish";
import type { TaskReadyMessage } from "../schema/messages";
import { atTransition } from "../engine/plan";
import type { TaskDoc } from "../schema/task";
import { advanceRollback, applyPlanInput, markStallChecked, readFailurePolicy } from "../store/plans";
import { anyUnfinishedTask, firstTaskIn, lastFinishOf, readTaskOf, releaseDependent, releaseDependentsTogether, taskOutline, type ReleasedDependent } from "../store/tasks";
import { followThrough } from "./plan-effects";
import { inParallel } from "./parallel";

/** What a finished task with no dependents does about its plan: by default, finish it if nothing is left open. */
export type FinishCheck = (db: Firestore, planId: string, now: () => number) => Promise<void>;

/**
 * Settles the task (and any dependents its outcome skipped). Returns how many dependents became
 * ready. `finishCheck` replaces the plan-finish check of a task with no dependents (a worker defers
 * it while other tasks of the plan run in its process: runtime/in-flight.ts).
 */
export async function settleFinishedTask(db: Firestore, first: TaskDoc, now: () => number, finishCheck: FinishCheck = finishPlanIfDone): Promise<number> {
  let released = 0;
  const queue: TaskDoc[] = [first];
  for (let task = queue.shift(); task !== undefined; task = queue.shift()) released += await settleOne(db, task, now, queue, finishCheck);
  return released;
}

async function settleOne(db: Firestore, task: TaskDoc, now: () => number, skippedQueue: TaskDoc[], finishCheck: FinishCheck): Promise<number> {
  switch (task.status) {
    case "succeeded":
    case "skipped":
      return releaseAndMaybeFinish(db, task, now, skippedQueue, finishCheck);
    case "compensated":
      await continueRollback(db, task.planId, now);
      return 0;
    case "failed":
      if (task.compensationError !== null) {
        await continueRollback(db, task.planId, now);
        return 0;
      }
      return applyFailurePolicy(db, task, now, skippedQueue, finishCheck);
    default:
      return 0;
  }
}

async function releaseAndMaybeFinish(db: Firestore, task: TaskDoc, now: () => number, skippedQueue: TaskDoc[], finishCheck: FinishCheck): Promise<number> {
  const released = await releaseDependents(db, task, now, skippedQueue);
  if (task.dependents.length === 0) await finishCheck(db, task.planId, now);
  return released;
}

/**
 * Records the finished task on each dependent and publishes the ones now ready: ordinary dependents
 * in chunks (one read and one commit each, published as each chunk lands), wide joins each through
 * their arrivals.
 */
async function releaseDependents(db: Firestore, task: TaskDoc, now: () => number, skippedQueue: TaskDoc[]): Promise<number> {
  let ready = 0;
  const dispatch = async (released: ReleasedDependent[]) => {
    const messages: TaskReadyMessage[] = [];
    for (const r of released) {
      if (r.became === "ready") messages.push({ planId: task.planId, taskId: r.id, attempt: r.attempt, phase: "run" });
      if (r.became === "skipped" && r.task !== undefined) skippedQueue.push(r.task);
    }
    ready += messages.length;
    await publishTaskReady(messages);
  };
  const ordinary = task.dependents.filter((id) => task.wideDependents[id] === undefined);
  await releaseDependentsTogether(db, task.planId, ordinary, task.id, task.status, now, ENGINE_TIMING, {
    chunkSize: LIMITS.releaseChunk,
    inFlight: LIMITS.releaseChunksInFlight,
    onChunk: dispatch,
  });
  const wide: ReleasedDependent[] = [];
  await inParallel(LIMITS.releaseConcurrency, Object.keys(task.wideDependents), async (id) => {
    wide.push({ id, ...(await releaseDependent(db, task.planId, { id, wide: task.wideDependents[id] }, task.id, task.status, now, ENGINE_TIMING)) });
  });
  await dispatch(wide);
  return ready;
}

/** When no task is open any more, the plan ends: failed if any task failed, else succeeded. */
export async function finishPlanIfDone(db: Firestore, planId: string, now: () => number): Promise<void> {
  // Mostly another task is still open: that one probe is all this check costs.
  if (await anyUnfinishedTask(db, planId)) return;
  // The run this check is about, read before the probe that counts: a redrive after it read the
  // tasks must not let it end the new run.
  const before = await readFailurePolicy(db, planId);
  // A paused plan's last begun attempts may be the last of all: it ends then too.
  if (before?.state.status !== "running" && before?.state.status !== "paused") return;
  if (await anyUnfinishedTask(db, planId)) return;
  const failed = (await firstTaskIn(db, planId, "failed")) ?? null;
  const outcome = await applyPlanInput(db, planId, { kind: "all_finished", failedTask: failed, policy: before.policy }, now(), {
    actor: "orchestrator",
    ...(failed === null ? {} : { taskId: failed }),
    guard: (plan) => (plan.generation === before.state.generation && plan.seq === before.state.seq ? undefined : "the plan moved on since its tasks were read"),
  });
  await followThrough(db, planId, outcome, now);
}

async function applyFailurePolicy(db: Firestore, task: TaskDoc, now: () => number, skippedQueue: TaskDoc[], finishCheck: FinishCheck): Promise<number> {
  const read = await readFailurePolicy(db, task.planId);
  if (read === undefined) return 0;
  if (read.state.status === "rolling_back") {
    await continueRollback(db, task.planId, now);
    return 0;
  }
  const { policy } = read;
  // A stale provision stops the plan whatever the policy (engine/plan.ts task_failed).
  const stale = task.error?.code === "stale";
  if (policy === "continue" && !stale) return releaseAndMaybeFinish(db, task, now, skippedQueue, finishCheck);
  const message = `task ${task.id} failed: ${task.error?.message ?? "unknown error"}`;
  // stop: the plan fails and what has not started is cancelled; rollback: compensation begins.
  // Both are effects of the transition (engine/plan.ts), applied again by the sweeper if this dies.
  await followThrough(db, task.planId, await applyPlanInput(db, task.planId, { kind: "task_failed", taskId: task.id, policy, message, stale }, now(), { actor: "orchestrator", taskId: task.id }), now);
  return 0;
}

/** Runs the rollback's next step and dispatches its compensations; the last step ends the plan. */
export async function continueRollback(db: Firestore, planId: string, now: () => number): Promise<void> {
  const step = await advanceRollback(db, planId, now(), ENGINE_TIMING, LIMITS.taskWriteBatch);
  // Compensations that failed in an earlier rollback were set to run again: now the rollback proper.
  if (step.kind === "rearmed") return continueRollback(db, planId, now);
  if (step.kind === "compensate") {
    await publishTaskReady(step.tasks.map(({ id, attempt }) => ({ planId, taskId: id, attempt, phase: "compensate" as const })));
  }
  if (step.kind === "finished") {
    // Only the rollback its tasks were read in: one that ended meanwhile (and a retry and a second
    // rollback followed) must not be ended by this step, read before its compensations were queued.
    const guard = atTransition(step.seq, "the rollback moved on since its tasks were read");
    await followThrough(db, planId, await applyPlanInput(db, planId, { kind: "rollback_finished", failedCompensation: step.failedCompensation }, now(), { actor: "orchestrator", guard }), now);
  }
}

/**
 * Finished tasks leave the sweeper's due list, so a worker that died between completing a task
 * and settling it is found here instead: a running plan in which no task has finished for the
 * redispatch delay is checked once per quiet spell. Every finished task that still has a blocked
 * dependent, and every failure, is settled again (idempotent), and the plan finishes if nothing is
 * open. Returns how many tasks were settled again, or null when the plan was not quiet.
 */
export async function repairQuietPlan(db: Firestore, planId: string, checkedUpTo: number | null, now: () => number): Promise<number | null> {
  const last = await lastFinishOf(db, planId);
  if (last === null || now() - last < ENGINE_TIMING.redispatchAfterMs || (checkedUpTo !== null && checkedUpTo >= last)) return null;
  const outline = await taskOutline(db, planId);
  const unsettled = [...outline].filter(([, t]) => t.status === "failed" || ((t.status === "succeeded" || t.status === "skipped") && t.dependents.some((d) => outline.get(d)?.status === "blocked")));
  let settled = 0;
  await inParallel(LIMITS.releaseConcurrency, unsettled, async ([id]) => {
    const task = await readTaskOf(db, planId, id);
    if (task === undefined) return;
    await settleFinishedTask(db, task, now);
    settled += 1;
  });
  await finishPlanIfDone(db, planId, now);
  // Written after the repair: a sweep that dies midway leaves the plan to the next one.
  await markStallChecked(db, planId, last);
  return settled;
}
