/**
 * Plan commands from `orchestrator-plan-commands` (other systems, the page, the CLI): approve,
 * reject, cancel, retry (redrive), rollback. Each is applied by a compare-and-set that records the
 * command in the plan's history in the same transaction; a repeated command id is a no-op.
 *
 * Who sent it decides what it may do. The trigger verifies the command's credential first
 * (trust/credentials.ts) and hands the verified principal here:
 *   approve, reject          a verified approver of the gate (decideApproval); a bare `by` never passes
 *   cancel, retry, rollback  a verified operator or listed command sender; unverified senders only
 *                            where the deployment allows them (ORCHESTRATOR_ALLOW_UNVERIFIED_COMMANDS)
 * Every refusal is recorded in the plan's history with its reason.
 */
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING, LIMITS } from "../config";
import { publishTaskReady } from "../bus/publish";
import type { PlanCommand } from "../schema/messages";
import { readPlanState } from "../store/converters";
import { appendEvent } from "../store/events";
import { planRef } from "../store/paths";
import { transitionPlan } from "../store/plans";
import { applyApproval, cancelOpenTasks, resetUnsucceededTasks } from "../store/tasks";
import { matchesApprover, principalLabel, type VerifiedPrincipal } from "../trust/principals";
import { onPlanFinished } from "./locks";
import { continueRollback, settleFinishedTask } from "./settle";

/** Who sent a command, as far as it could be verified. */
export interface CommandSender {
  /** Null when the command carried no credential, or its credential did not verify. */
  principal: VerifiedPrincipal | null;
  /** Why the credential did not verify (absent: there was none). */
  credentialError?: string | undefined;
}

/** The deployment's rules for commands that are not approvals. */
export interface CommandRules {
  /** Unverified senders may cancel, retry and roll back (off by default). */
  allowUnverified: boolean;
  /** Verified senders besides operators that may (the protection policy's `commandSenders`). */
  commandSenders: readonly string[];
}

/** How a sender is named in history: the verified identity, or the claim marked as unverified. */
export function senderLabel(cmd: Pick<PlanCommand, "by">, sender: CommandSender): string {
  if (sender.principal === null) return `${cmd.by} (unverified)`;
  const label = principalLabel(sender.principal);
  return cmd.by === label || cmd.by === sender.principal.uid ? label : `${label} (claimed ${cmd.by})`;
}

/** Why a sender may not cancel, retry or roll back, or undefined when it may. */
function controlRefusal(command: string, sender: CommandSender, rules: CommandRules): string | undefined {
  const p = sender.principal;
  if (p !== null) {
    if (p.role === "operator" || rules.commandSenders.some((entry) => matchesApprover(entry, p))) return undefined;
    return `${principalLabel(p)} may not ${command} plans: it needs role "operator" or a place in the protection policy's commandSenders`;
  }
  if (rules.allowUnverified) return undefined;
  const why = sender.credentialError ?? "the command carries no credential";
  return `${why}; this deployment does not let unverified senders ${command} plans (ORCHESTRATOR_ALLOW_UNVERIFIED_COMMANDS)`;
}

export type CommandOutcome = { applied: true; message: string } | { applied: false; reason: string; unknownPlan?: boolean };

export async function applyCommand(
  db: Firestore,
  cmd: PlanCommand & { commandId: string },
  sender: CommandSender,
  rules: CommandRules,
  now: () => number = Date.now,
): Promise<CommandOutcome> {
  const plan = readPlanState(await planRef(db, cmd.planId).get());
  if (plan === undefined) return { applied: false, reason: `unknown plan ${cmd.planId}`, unknownPlan: true };
  const actor = senderLabel(cmd, sender);
  const reason = cmd.reason ? `: ${cmd.reason}` : "";
  const event = (type: string, message: string) => ({ id: `command.${cmd.commandId}`, type, actor, message: `${message} by ${actor}${reason}` });

  if (cmd.command === "approve" || cmd.command === "reject") {
    const refusal = sender.principal === null && sender.credentialError !== undefined ? sender.credentialError : undefined;
    if (refusal !== undefined) return refuse(db, cmd, actor, `${refusal} (a bare \`by\` never passes a gate)`, now());
    const result = await applyApproval(db, { planId: cmd.planId, taskId: cmd.taskId!, principal: sender.principal, verdict: cmd.command, reason: cmd.reason, commandId: cmd.commandId }, now());
    if (result.kind !== "applied") return refuse(db, cmd, actor, result.kind === "skip" ? result.reason : "heartbeat", now());
    if (result.status === "waiting_approval") return { applied: true, message: `${cmd.taskId}: approval recorded, more approvals needed` };
    await settleFinishedTask(db, result.task, now);
    return { applied: true, message: `${cmd.taskId} ${cmd.command === "approve" ? "approved" : "rejected"}` };
  }
  const refusal = controlRefusal(cmd.command, sender, rules);
  if (refusal !== undefined) return refuse(db, cmd, actor, refusal, now());

  switch (cmd.command) {
    case "cancel": {
      if (!(await transitionPlan(db, cmd.planId, ["pending", "planning", "running", "waiting"], "cancelled", now(), event("plan.cancelled", "cancelled")))) {
        return refuse(db, cmd, actor, `plan is ${plan.status}: nothing to cancel`, now());
      }
      await cancelOpenTasks(db, cmd.planId, `plan cancelled by ${actor}`, now(), LIMITS.sweepBatch);
      await onPlanFinished(db, cmd.planId, now);
      return { applied: true, message: "plan cancelled" };
    }
    case "retry": {
      if (!(await transitionPlan(db, cmd.planId, ["failed", "cancelled"], "running", now(), { ...event("plan.redriven", "redriven"), extra: { failedTask: null } }))) {
        return refuse(db, cmd, actor, `plan is ${plan.status}: only failed or cancelled plans can be retried`, now());
      }
      const ready = await resetUnsucceededTasks(db, cmd.planId, actor, now(), ENGINE_TIMING);
      await publishTaskReady(ready.map((t) => ({ planId: cmd.planId, taskId: t.id, attempt: t.attempt, phase: "run" as const })));
      return { applied: true, message: `redriven: ${ready.length} tasks ready` };
    }
    case "rollback": {
      if (!(await transitionPlan(db, cmd.planId, ["failed", "cancelled", "succeeded", "running"], "rolling_back", now(), event("plan.rolling_back", "rollback requested")))) {
        return refuse(db, cmd, actor, `plan is ${plan.status}: cannot roll back`, now());
      }
      await cancelOpenTasks(db, cmd.planId, `rollback requested by ${actor}`, now(), LIMITS.sweepBatch);
      await continueRollback(db, cmd.planId, now);
      return { applied: true, message: "rolling back" };
    }
  }
}

/** A command that cannot apply is recorded in the plan's history, with why. */
async function refuse(db: Firestore, cmd: PlanCommand & { commandId: string }, actor: string, reason: string, now: number): Promise<CommandOutcome> {
  await appendEvent(db, cmd.planId, `command.${cmd.commandId}.refused`, {
    at: now,
    type: "command.refused",
    actor,
    ...(cmd.taskId === undefined ? {} : { taskId: cmd.taskId }),
    message: `${cmd.command} refused: ${reason}`,
  });
  return { applied: false, reason };
}
