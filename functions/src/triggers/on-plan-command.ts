/**
 * `orchestrator-plan-commands` message → approve, reject, cancel, retry or roll back a plan, after
 * verifying who sent it (the message's `credential`; never its `by` alone).
 */
import { ALLOW_UNVERIFIED_COMMANDS, TOPICS } from "../config";
import { logs } from "../logs";
import { applyCommand, type CommandRules, type CommandSender } from "../runtime/commands";
import { planCommandSchema } from "../schema/messages";
import { readProtectionPolicy } from "../store/policy";
import { verifyCredential } from "../trust/credentials";
import { defaultVerifiers } from "../trust/verifiers";
import { inboundHandler } from "./inbound";

export const handlePlanCommand = inboundHandler(TOPICS.planCommands, planCommandSchema, async (db, cmd, messageId) => {
  const { credential, ...command } = cmd;
  let sender: CommandSender = { principal: null };
  if (credential !== undefined) {
    const checked = await verifyCredential(credential, defaultVerifiers());
    sender = checked.ok ? { principal: checked.principal } : { principal: null, credentialError: checked.reason };
  }
  const rules: CommandRules = { allowUnverified: ALLOW_UNVERIFIED_COMMANDS, commandSenders: [] };
  if (command.command !== "approve" && command.command !== "reject" && sender.principal !== null && sender.principal.role !== "operator") {
    // Only a verified non-operator needs the policy's list; an invalid policy lists nobody.
    const policy = await readProtectionPolicy(db);
    if (policy.ok) rules.commandSenders = policy.policy.commandSenders;
  }
  const outcome = await applyCommand(db, { ...command, commandId: command.commandId ?? messageId }, sender, rules);
  if (outcome.applied) logs.commandApplied(cmd.planId, cmd.command, cmd.by, outcome.message);
  else logs.commandRefused(cmd.planId, cmd.command, cmd.by, outcome.reason);
  return !outcome.applied && outcome.unknownPlan ? outcome.reason : undefined;
});
