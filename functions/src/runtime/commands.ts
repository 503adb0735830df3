/**
 * Plan commands from `orchestrator-plan-commands` (other systems, the page, the CLI): approve,
 * reject, cancel, retry (redrive), rollback. Each is applied by a compare-and-set that records the
 * command in the plan's history in the same transaction; a repeated command id is a no-op.
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
import { onPlanFinished } from "./locks";
import { continueRollback, settleFinishedTask } from "./settle";

export type CommandOutcome = { applied: true; message: string } | { applied: false; reason: string; unknownPlan?: boolean };

export async function applyCommand(db: Firestore, cmd: PlanCommand & { commandId: string }, now: () => number = Date.now): Promise<CommandOutcome> {
  const plan = readPlanState(await planRef(db, cmd.planId).get());
  if (plan === undefined) return { applied: false, reason: `unknown plan ${cmd.planId}`, unknownPlan: true };
  const reason = cmd.reason ? `: ${cmd.reason}` : "";
  const event = (type: string, message: string) => ({ id: `command.${cmd.commandId}`, type, actor: cmd.by, message: `${message} by ${cmd.by}${reason}` });

  switch (cmd.command) {
    case "approve":
    case "reject": {
      const result = await applyApproval(db, { planId: cmd.planId, taskId: cmd.taskId!, by: cmd.by, verdict: cmd.command, reason: cmd.reason, commandId: cmd.commandId }, now());
      if (result.kind !== "applied") return refuse(db, cmd, result.kind === "skip" ? result.reason : "heartbeat", now());
      await settleFinishedTask(db, result.task, now);
      return { applied: true, message: `${cmd.taskId} ${cmd.command === "approve" ? "approved" : "rejected"}` };
    }
    case "cancel": {
      if (!(await transitionPlan(db, cmd.planId, ["pending", "planning", "running", "waiting"], "cancelled", now(), event("plan.cancelled", "cancelled")))) {
        return refuse(db, cmd, `plan is ${plan.status}: nothing to cancel`, now());
      }
      await cancelOpenTasks(db, cmd.planId, `plan cancelled by ${cmd.by}`, now(), LIMITS.sweepBatch);
      await onPlanFinished(db, cmd.planId, now);
      return { applied: true, message: "plan cancelled" };
    }
    case "retry": {
      if (!(await transitionPlan(db, cmd.planId, ["failed", "cancelled"], "running", now(), { ...event("plan.redriven", "redriven"), extra: { failedTask: null } }))) {
        return refuse(db, cmd, `plan is ${plan.status}: only failed or cancelled plans can be retried`, now());
      }
      const ready = await resetUnsucceededTasks(db, cmd.planId, cmd.by, now(), ENGINE_TIMING);
      await publishTaskReady(ready.map((t) => ({ planId: cmd.planId, taskId: t.id, attempt: t.attempt, phase: "run" as const })));
      return { applied: true, message: `redriven: ${ready.length} tasks ready` };
    }
    case "rollback": {
      if (!(await transitionPlan(db, cmd.planId, ["failed", "cancelled", "succeeded", "running"], "rolling_back", now(), event("plan.rolling_back", "rollback requested")))) {
        return refuse(db, cmd, `plan is ${plan.status}: cannot roll back`, now());
      }
      await cancelOpenTasks(db, cmd.planId, `rollback requested by ${cmd.by}`, now(), LIMITS.sweepBatch);
      await continueRollback(db, cmd.planId, now);
      return { applied: true, message: "rolling back" };
    }
  }
}

/** A command that cannot apply is recorded in the plan's history, with why. */
async function refuse(db: Firestore, cmd: PlanCommand & { commandId: string }, reason: string, now: number): Promise<CommandOutcome> {
  await appendEvent(db, cmd.planId, `command.${cmd.commandId}.refused`, {
    at: now,
    type: "command.refused",
    actor: cmd.by,
    ...(cmd.taskId === undefined ? {} : { taskId: cmd.taskId }),
    message: `${cmd.command} refused: ${reason}`,
  });
  return { applied: false, reason };
}
