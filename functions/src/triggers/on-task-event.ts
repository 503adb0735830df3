/** `orchestrator-task-events` message → complete (or keep alive) an external task. */
import { TOPICS } from "../config";
import { applyExternalTaskEvent } from "../runtime/task-events";
import { taskEventSchema } from "../schema/messages";
import { inboundHandler } from "./inbound";

export const handleTaskEvent = inboundHandler(TOPICS.taskEvents, taskEventSchema, async (db, event, messageId) => {
  const outcome = await applyExternalTaskEvent(db, event, messageId);
  return !outcome.applied && outcome.unknownPlan ? outcome.reason : undefined;
});
