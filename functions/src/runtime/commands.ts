/**
 * Plan commands from `orchestrator-plan-commands` (other systems, the page, the CLI): approve,
 * reject, cancel, retry (redrive), rollback, override (a freeze window), pause and resume. Each is applied by a compare-and-set that records the
 * command in the plan's history in the same transaction; a repeated command id is a no-op.
 *
 * Who sent it decides what it may do. The trigger verifies the command's credential first
 * (trust/credentials.ts) and hands the verified principal here:
 *   approve, reject          a verified approver of the gate (decideApproval); a bare `by` never passes
 *   cancel, retry, rollback, a verified operator or listed command sender; unverified senders only
 *   pause, resume, skip,     where the deployment allows them (ORCHESTRATOR_ALLOW_UNVERIFIED_COMMANDS)
 *   mark-success
 *   override                 a verified operator only, with a reason: lets a plan past a freeze window
 * Every refusal is recorded in the plan's history with its reason.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { PlanCommand } from "../schema/messages";
import { atTransition, decidePlan, holdsLocks, LOCKS_NO_LONGER_HELD, type LockAnswer, type RedriveScope } from "../engine/plan";
import { TERMINAL_TASK_STATUSES } from "../engine/statuses";
import { acquireLocks, type LockResult } from "../store/locks";
import { appendEvent } from "../store/events";
import { applyPlanInput, machineState, readCompiled, readPlanStateOf, type PlanOutcome, type TransitionCause } from "../store/plans";
import { applyApproval, lockKeysOf, readTaskOf } from "../store/tasks";
import { matchesApprover, principalLabel, type VerifiedPrincipal } from "../trust/principals";
import { freezeAnswer, targetsOf } from "./freeze";
import { onPlanFinished, resumeWaitingPlan } from "./locks";
import { followThrough } from "./plan-effects";
import { settleFinishedTask } from "./settle";

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
  if ((await readPlanStateOf(db, cmd.planId, ["status"])) === undefined) return { applied: false, reason: `unknown plan ${cmd.planId}`, unknownPlan: true };
  const actor = senderLabel(cmd, sender);
  const reason = cmd.reason ? `: ${cmd.reason}` : "";

  if (cmd.command === "approve" || cmd.command === "reject") {
    const refusal = sender.principal === null && sender.credentialError !== undefined ? sender.credentialError : undefined;
    if (refusal !== undefined) return refuse(db, cmd, actor, `${refusal} (a bare \`by\` never passes a gate)`, now());
    const result = await applyApproval(db, { planId: cmd.planId, taskId: cmd.taskId!, principal: sender.principal, verdict: cmd.command, reason: cmd.reason, commandId: cmd.commandId }, now());
    if (result.kind !== "applied") return refuse(db, cmd, actor, result.kind === "skip" ? result.reason : "heartbeat", now());
    if (result.status === "waiting_approval") return { applied: true, message: `${cmd.taskId}: approval recorded, more approvals needed` };
    await settleFinishedTask(db, result.task, now);
    return { applied: true, message: `${cmd.taskId} ${cmd.command === "approve" ? "approved" : "rejected"}` };
  }
  if (cmd.command === "override") {
    // Past a freeze: only a verified operator, whatever the deployment lets other senders do.
    const p = sender.principal;
    if (p?.role !== "operator") return refuse(db, cmd, actor, `${p === null ? (sender.credentialError ?? "the command carries no credential") : `${principalLabel(p)} is not an operator`}; only a verified operator may override a freeze window`, now());
    const why = cmd.reason?.trim() ?? "";
    if (why === "") return refuse(db, cmd, actor, "an override of a freeze window needs a reason", now());
    const cause = { actor, commandId: cmd.commandId, data: { command: cmd.command, reason: why } };
    const overridden = await applyPlanInput(db, cmd.planId, { kind: "override_freeze", by: actor, reason: why }, now(), cause);
    if (overridden.kind === "skip") return refuse(db, cmd, actor, overridden.reason, now());
    await resumeWaitingPlan(db, cmd.planId, now);
    return { applied: true, message: "freeze window overridden: the plan goes ahead" };
  }
  const refusal = controlRefusal(cmd.command, sender, rules);
  if (refusal !== undefined) return refuse(db, cmd, actor, refusal, now());

  const cause = { actor, commandId: cmd.commandId, data: { command: cmd.command, ...(cmd.reason ? { reason: cmd.reason } : {}) } };
  if (cmd.command === "pause" || cmd.command === "resume") {
    const moved = await followThrough(db, cmd.planId, await applyPlanInput(db, cmd.planId, { kind: cmd.command, by: `${actor}${reason}` }, now(), cause), now);
    if (moved.kind === "skip") return refuse(db, cmd, actor, moved.reason, now());
    return { applied: true, message: cmd.command === "pause" ? "plan paused: nothing new starts; running attempts finish" : "plan resumed" };
  }
  if (cmd.command === "cancel") {
    const cancelled = await followThrough(db, cmd.planId, await applyPlanInput(db, cmd.planId, { kind: "cancel", by: actor }, now(), cause), now);
    return cancelled.kind === "transition" ? { applied: true, message: "plan cancelled" } : refuse(db, cmd, actor, cancelled.reason, now());
  }
  // A targeted redrive: from one task (and its downstream), or past a failed task marked instead.
  let scope: RedriveScope | undefined;
  if (cmd.command === "skip" || cmd.command === "mark-success" || (cmd.command === "retry" && cmd.taskId !== undefined)) {
    const task = await readTaskOf(db, cmd.planId, cmd.taskId!);
    if (task === undefined) return refuse(db, cmd, actor, `plan ${cmd.planId} has no task ${cmd.taskId}`, now());
    const marking = cmd.command !== "retry";
    if (marking && task.status !== "failed") return refuse(db, cmd, actor, `${cmd.taskId} is ${task.status}: only a failed task can be marked ${cmd.command === "skip" ? "skipped" : "succeeded"}`, now());
    // A wide join keeps each need's outcome as an arrival record: a marked need would still count as failed there.
    if (marking && Object.keys(task.wideDependents).length > 0) return refuse(db, cmd, actor, `${cmd.taskId} is a need of a wide join (${Object.keys(task.wideDependents).join(", ")}): it cannot be marked; retry it with --task instead`, now());
    if (!marking && !TERMINAL_TASK_STATUSES.has(task.status)) return refuse(db, cmd, actor, `${cmd.taskId} is ${task.status}: a task runs again from a finished state`, now());
    scope = { taskId: cmd.taskId!, as: cmd.command === "retry" ? "retry" : cmd.command === "skip" ? "skipped" : "succeeded", by: actor, reason: cmd.reason?.trim() || null };
  }
  const moved = await enterWithLocks(db, cmd.planId, { command: cmd.command === "rollback" ? "rollback" : "retry", by: `${actor}${reason}`, ...(scope === undefined ? {} : { scope }) }, now, cause);
  if (moved.kind === "skip") return refuse(db, cmd, actor, moved.reason, now());
  if (moved.to === "waiting") return { applied: true, message: `${cmd.command} waits for the environment locks` };
  return { applied: true, message: cmd.command === "rollback" ? "rolling back" : scope === undefined ? "redriven" : scope.as === "retry" ? `redriven from ${scope.taskId}` : `${scope.taskId} marked ${scope.as}; redriven` };
}

/**
 * A retry (redrive) or rollback of a plan: asks the machine whether it may, takes the plan's
 * environment locks when it does not hold them (a finished plan gave them up), then applies the
 * transition: into `redriving` / `rolling_back`, or `waiting` for the locks with the intent kept.
 * The effects follow (task resets, compensations), resumable by the sweeper.
 */
export async function enterWithLocks(
  db: Firestore,
  planId: string,
  request: { command: "retry" | "rollback"; by: string; scope?: RedriveScope },
  now: () => number,
  cause: TransitionCause,
): Promise<PlanOutcome> {
  // A few rounds: the plan may leave its active status (a cancel) between the read and the commit,
  // and then the locks it seemed to hold must be asked for again; and locks taken may be freed
  // before the transition commits (a release the plan's previous transition still owed, another
  // caller's give-back), which the commit checks (TransitionCause `locks`): then they are taken again.
  let outcome: PlanOutcome = { kind: "skip", reason: LOCKS_NO_LONGER_HELD };
  let asked = false;
  for (let round = 0; round < 3 && outcome.kind === "skip" && outcome.reason === LOCKS_NO_LONGER_HELD; round++) {
    const plan = await readPlanStateOf(db, planId);
    if (plan === undefined) return { kind: "skip", reason: `unknown plan ${planId}` };
    const probe = decidePlan(machineState(plan), { kind: "command", ...request, locks: { granted: true } }, now());
    if (probe.kind === "skip") {
      // Refused on what it reads (in a later round, locks taken in an earlier one are given back below).
      outcome = probe;
      break;
    }
    let locks: LockAnswer | "held" = "held";
    let environments: string[] = [];
    // A retry changes environments: a freeze window on one holds it (waiting), a rollback never waits for one.
    const frozen = request.command === "retry" && !holdsLocks(plan.status) ? await freezeAnswer(db, targetsOf(await readCompiled(db, planId)), plan.freezeOverride ?? null, "redrive", plan.generation, now()) : null;
    if (frozen !== null) locks = frozen;
    else if (!holdsLocks(plan.status)) {
      environments = await lockKeysOf(db, planId);
      // Taken only for the plan as probed: one that moved on since is read again first.
      const taken = await acquireLocks(db, planId, environments, now(), atTransition(plan.seq, LOCKS_NO_LONGER_HELD));
      if (taken.kind === "refused") continue;
      asked = true;
      locks = lockAnswer(taken);
    }
    // An answer is one for the plan as probed: a plan that moved on since (its tasks written, say,
    // when the answer was "granted" for none) is read again; a granted one must still hold, too.
    const probed: TransitionCause["guard"] = (p) => cause.guard?.(p) ?? atTransition(plan.seq, LOCKS_NO_LONGER_HELD)(p);
    outcome = await applyPlanInput(db, planId, { kind: "command", ...request, locks }, now(), locks === "held" ? cause : { ...cause, guard: probed, ...(locks.granted ? { locks: environments } : {}) });
  }
  await followThrough(db, planId, outcome, now);
  // Locks taken for a transition that lost its race (the plan moved on) are given back, unless the
  // plan is active now after all (another retry won): then they are its own.
  if (outcome.kind === "skip" && asked) {
    const status = (await readPlanStateOf(db, planId, ["status"]))?.status;
    if (status === undefined || !holdsLocks(status)) await onPlanFinished(db, planId, now);
  }
  return outcome;
}

const lockAnswer = (result: Exclude<LockResult, { kind: "refused" }>): LockAnswer => (result.kind === "acquired" ? { granted: true } : { granted: false, lock: result.lock, holder: result.holder });

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
