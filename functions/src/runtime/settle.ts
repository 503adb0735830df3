/**
 * What follows a finished task: a success releases its dependents (publishing those now ready) and,
 * for a task nothing depends on, may finish the plan; a failure stops the plan (policy `stop`).
 * Every step is idempotent, so the sweeper can run it again for a task whose worker died midway.
 */
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING, LIMITS } from "../config";
import { publishTaskReady } from "../bus/publish";
import { logs } from "../logs";
import type { TaskReadyMessage } from "../schema/messages";
import type { TaskDoc } from "../schema/task";
import { allTasksFinished, finishPlan } from "../store/plans";
import { cancelUnstartedTasks, markSettled, releaseDependent } from "../store/tasks";

/** Returns how many dependents became ready. */
export async function settleFinishedTask(db: Firestore, task: TaskDoc, now: () => number): Promise<number> {
  let released = 0;
  if (task.status === "failed") {
    await stopPlanAfterFailure(db, task, now);
  } else if (task.status === "succeeded") {
    released = await releaseDependents(db, task, now);
    if (task.dependents.length === 0 && (await allTasksFinished(db, task.planId))) {
      if (await finishPlan(db, task.planId, "succeeded", now(), { message: "every task succeeded" })) logs.planFinished(task.planId, "succeeded");
    }
  }
  await markSettled(db, task.planId, task.id);
  return released;
}

/** Records the finished task on each dependent, in parallel, and publishes the ones now ready. */
async function releaseDependents(db: Firestore, task: TaskDoc, now: () => number): Promise<number> {
  const ready: TaskReadyMessage[] = [];
  const queue = [...task.dependents];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      if (await releaseDependent(db, task.planId, id, task.id, task.status, now(), ENGINE_TIMING)) {
        ready.push({ planId: task.planId, taskId: id, attempt: 1 });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIMITS.releaseConcurrency, queue.length) }, worker));
  await publishTaskReady(ready);
  return ready.length;
}

/** Failure policy `stop`: the plan fails with this task, and nothing that has not started will. */
async function stopPlanAfterFailure(db: Firestore, task: TaskDoc, now: () => number): Promise<void> {
  const message = `task ${task.id} failed: ${task.error?.message ?? "unknown error"}`;
  if (await finishPlan(db, task.planId, "failed", now(), { failedTask: task.id, message })) logs.planFinished(task.planId, "failed");
  await cancelUnstartedTasks(db, task.planId, `plan failed at ${task.id}`, now(), LIMITS.sweepBatch);
}
