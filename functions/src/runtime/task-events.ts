/**
 * Task events from other systems (`orchestrator-task-events`): the completion or heartbeat of an
 * external task, proven by its task token. Wrong, expired and reused tokens are refused and
 * recorded in the plan's history (without the token).
 */
import type { Firestore } from "firebase-admin/firestore";
import type { TaskEvent } from "../schema/messages";
import { appendEvent } from "../store/events";
import { planRef } from "../store/paths";
import { applyTaskEvent } from "../store/tasks";
import { hashToken } from "./run-task";
import { settleFinishedTask } from "./settle";

export type TaskEventOutcome = { applied: true; kind: "completed" | "heartbeat" } | { applied: false; reason: string; unknownPlan?: boolean };

export async function applyExternalTaskEvent(db: Firestore, event: TaskEvent, messageId: string, now: () => number = Date.now): Promise<TaskEventOutcome> {
  if (!(await planRef(db, event.planId).get()).exists) return { applied: false, reason: `unknown plan ${event.planId}`, unknownPlan: true };
  const result = await applyTaskEvent(db, event, hashToken(event.token), now());
  if (result.kind === "skip") {
    await appendEvent(db, event.planId, `task-event.${messageId}.refused`, {
        at: now(),
        type: "task-event.refused",
        actor: "external",
        taskId: event.taskId,
        message: `${event.type} for ${event.taskId} refused: ${result.reason}`,
      });
    return { applied: false, reason: result.reason };
  }
  if (result.kind === "heartbeat") return { applied: true, kind: "heartbeat" };
  await settleFinishedTask(db, result.task, now);
  return { applied: true, kind: "completed" };
}
