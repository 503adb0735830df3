/** `orchestrator-plan-commands` message → approve, reject, cancel, retry or roll back a plan. */
import { TOPICS } from "../config";
import { logs } from "../logs";
import { applyCommand } from "../runtime/commands";
import { planCommandSchema } from "../schema/messages";
import { inboundHandler } from "./inbound";

export const handlePlanCommand = inboundHandler(TOPICS.planCommands, planCommandSchema, async (db, cmd, messageId) => {
  const outcome = await applyCommand(db, { ...cmd, commandId: cmd.commandId ?? messageId });
  if (outcome.applied) logs.commandApplied(cmd.planId, cmd.command, cmd.by, outcome.message);
  else logs.commandRefused(cmd.planId, cmd.command, cmd.by, outcome.reason);
  return !outcome.applied && outcome.unknownPlan ? outcome.reason : undefined;
});
