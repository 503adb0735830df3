/** `orchestrator-task-ready` message → run that attempt of that task. */
import type { CloudEvent } from "firebase-functions/v2";
import type { MessagePublishedData } from "firebase-functions/v2/pubsub";
import { TOPICS } from "../config";
import { logs } from "../logs";
import { recordDeadLetter } from "../runtime/dead-letters";
import { runTask } from "../runtime/run-task";
import { parseWith } from "../schema/issues";
import { taskReadyMessageSchema } from "../schema/messages";
import { firestore } from "../store/firestore";

export async function handleTaskReady(event: CloudEvent<MessagePublishedData>): Promise<void> {
  const message = event.data.message;
  const raw = Buffer.from(message.data ?? "", "base64").toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    body = undefined;
  }
  const parsed = parseWith(taskReadyMessageSchema, body);
  if (!parsed.ok) {
    // Acknowledged, recorded, never retried: a malformed message cannot become valid by waiting.
    logs.messageRejected(TOPICS.taskReady, "malformed", parsed.errors);
    await recordDeadLetter(firestore(), { source: TOPICS.taskReady, reason: "malformed message", errors: parsed.errors, payload: raw, messageId: message.messageId }, Date.now());
    return;
  }
  try {
    await runTask(firestore(), parsed.value, `run:${message.messageId}`);
  } catch (error) {
    logs.unexpected(`onTaskReady(${parsed.value.planId}/${parsed.value.taskId})`, error);
    throw error;
  }
}
