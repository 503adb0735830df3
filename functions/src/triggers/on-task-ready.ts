/** `orchestrator-task-ready` message → run that attempt (or compensation) of that task. */
import { TOPICS } from "../config";
import { runTask } from "../runtime/run-task";
import { taskReadyMessageSchema } from "../schema/messages";
import { inboundHandler } from "./inbound";

export const handleTaskReady = inboundHandler(TOPICS.taskReady, taskReadyMessageSchema, async (db, msg, messageId) => {
  const outcome = await runTask(db, msg, `run:${messageId}`);
  return outcome.kind === "skipped" && outcome.unknown ? outcome.reason : undefined;
});
