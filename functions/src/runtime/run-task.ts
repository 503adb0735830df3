/**
 * Runs one attempt of one task, from a task-ready message: claim → execute → complete → settle.
 * Each step is idempotent, and a crash between steps is recovered by the sweeper (lease expiry,
 * re-dispatch of ready tasks, settling finished tasks), never by Pub/Sub redelivery alone.
 */
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING } from "../config";
import { executeAttempt } from "../executors/registry";
import { logs } from "../logs";
import type { TaskReadyMessage } from "../schema/messages";
import { claimTask, completeTask } from "../store/tasks";
import { settleFinishedTask } from "./settle";

export type RunOutcome = { kind: "skipped"; reason: string } | { kind: "finished"; status: string; released: number };

export async function runTask(db: Firestore, msg: TaskReadyMessage, owner: string, now: () => number = Date.now): Promise<RunOutcome> {
  const claim = await claimTask(db, msg, owner, now(), ENGINE_TIMING);
  if (claim.kind === "skip") {
    logs.taskSkipped(msg.planId, msg.taskId, msg.attempt, claim.reason);
    return { kind: "skipped", reason: claim.reason };
  }
  const task = claim.task;
  const started = now();
  const outcome = await executeAttempt(
    task.run,
    task.params,
    { planId: msg.planId, taskId: msg.taskId, attempt: msg.attempt, idempotencyKey: `${msg.planId}/${msg.taskId}/${msg.attempt}` },
    task.timeoutSeconds * 1000,
    now,
  );
  const completed = await completeTask(db, msg, owner, outcome, now(), ENGINE_TIMING);
  if (completed.kind === "skip") {
    logs.taskSkipped(msg.planId, msg.taskId, msg.attempt, `completion not applied: ${completed.reason}`);
    return { kind: "skipped", reason: completed.reason };
  }
  logs.taskFinished(msg.planId, msg.taskId, msg.attempt, completed.status, now() - started);
  const released = await settleFinishedTask(db, completed.task, now);
  return { kind: "finished", status: completed.status, released };
}
