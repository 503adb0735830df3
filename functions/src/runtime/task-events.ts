/**
 * Task events from other systems (`orchestrator-task-events`): the completion or heartbeat of an
 * external task, proven by its task token. Wrong, expired and reused tokens are refused and
 * recorded in the plan's history (without the token). The event was validated by its schema, so
 * its ids are Firestore-safe and its output is one Firestore stores: nothing here throws on what
 * the sender chose.
 */
import { createHash } from "node:crypto";
import type { Firestore } from "firebase-admin/firestore";
import type { TaskEvent } from "../schema/messages";
import { ID_FRAGMENT_PATTERN } from "../schema/storable";
import { appendEvent } from "../store/events";
import { readPlanStateOf } from "../store/plans";
import { applyTaskEvent } from "../store/tasks";
import { hashToken } from "./run-task";
import { settleFinishedTask } from "./settle";

/**
 * `task-event.{messageId}.refused`. Pub/Sub's message ids are digits; any other (a local publisher's)
 * that could not be part of a document id is replaced by its hash rather than making the write throw.
 */
export function refusalEventId(messageId: string): string {
  const fragment = ID_FRAGMENT_PATTERN.test(messageId) ? messageId : `sha256-${createHash("sha256").update(messageId).digest("hex").slice(0, 32)}`;
  return `task-event.${fragment}.refused`;
}

export type TaskEventOutcome = { applied: true; kind: "completed" | "heartbeat" } | { applied: false; reason: string; unknownPlan?: boolean };

export async function applyExternalTaskEvent(db: Firestore, event: TaskEvent, messageId: string, now: () => number = Date.now): Promise<TaskEventOutcome> {
  if ((await readPlanStateOf(db, event.planId, ["status"])) === undefined) return { applied: false, reason: `unknown plan ${event.planId}`, unknownPlan: true };
  const result = await applyTaskEvent(db, event, hashToken(event.token), now());
  if (result.kind === "skip") {
    // Created, never overwritten: a redelivery of this refusal stays one record, and a refusal of
    // another event under the same message id (a reused id) is kept beside it, not written over it.
    await appendEvent(db, event.planId, refusalEventId(messageId), {
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
