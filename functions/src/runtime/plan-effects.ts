/**
 * What a plan transition asks for once it committed (engine/plan.ts `effectsOf`): publish ready
 * tasks, reset a redrive's tasks, cancel what has not started, take the rollback's next step,
 * release locks and wake the plans waiting on them. Each effect is idempotent; the transition wrote
 * `effectsPending`, and only when every effect is done is it cleared, so the sweeper applies them
 * again for a plan whose worker died in between (runtime/sweep-plans.ts).
 */
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING, LIMITS } from "../config";
import { publishTaskReady } from "../bus/publish";
import { atTransition, type PlanEffect } from "../engine/plan";
import { logs } from "../logs";
import type { TaskReadyMessage } from "../schema/messages";
import type { PlanStatus } from "../schema/plan";
import { applyPlanInput, clearPlanEffects, readPlanDocument, readPlanStateOf, type PlanOutcome } from "../store/plans";
import { cancelOpenTasks, readyTasks, resetUnsucceededTasks } from "../store/tasks";
import { onPlanFinished } from "./locks";
import { continueRollback, finishPlanIfDone, settleFinishedTask } from "./settle";
import { startPlan } from "./start-plan";

export interface AppliedTransition {
  to: PlanStatus;
  seq: number;
  effects: readonly PlanEffect[];
}

/**
 * Applies a transition's effects and clears `effectsPending`. `ready`: the tasks to publish when
 * the caller knows them (a start's roots); otherwise the plan's ready tasks are looked up.
 */
export async function applyPlanEffects(db: Firestore, planId: string, t: AppliedTransition, now: () => number, ready?: readonly TaskReadyMessage[]): Promise<void> {
  // Effects belong to their transition: once the plan moved on (a retry after a cancel), the newer
  // transition owes its own, and this one's must not touch the new run.
  if ((await readPlanStateOf(db, planId, ["seq"]))?.seq !== t.seq) return;
  for (const effect of t.effects) {
    switch (effect) {
      case "start": {
        // A retry of a plan that never started: it starts from its document, as if just written.
        const plan = await readPlanDocument(db, planId);
        if (plan !== undefined) await startPlan(db, planId, plan.doc, `retry:${planId}:${t.seq}`, now);
        return;
      }
      case "publish_ready":
        await publishTaskReady(ready ?? (await readyTasks(db, planId)).map((r) => ({ planId, taskId: r.id, attempt: r.attempt, phase: "run" as const })));
        // A run that begins with nothing left to run (a redrive that reset nothing) ends here, as no
        // task will finish to end it; done before the effects are cleared, so a worker that dies
        // first leaves it to the sweeper (the quiet repair may have covered the last finish already).
        // A start's own call knows its roots: its tasks are all open.
        if (ready === undefined) await finishPlanIfDone(db, planId, now);
        break;
      case "reset_tasks": {
        // A redrive: every task that did not succeed starts again, then the plan runs.
        // A targeted redrive's scope was stored by its command (a retry from one task, or a task marked).
        const scope = (await readPlanStateOf(db, planId, ["redriveScope"]))?.redriveScope ?? null;
        const reset = await resetUnsucceededTasks(db, planId, "redrive", now(), ENGINE_TIMING, { seq: t.seq }, scope);
        // Only this redrive's: a later one (cancelled, then retried again) resets its tasks itself,
        // and must not find the plan running before its resets.
        const running = await applyPlanInput(db, planId, { kind: "redriven", ready: reset.ready.length }, now(), { actor: "orchestrator", guard: atTransition(t.seq) });
        await clearPlanEffects(db, planId, t.seq, now());
        if (running.kind !== "transition") return;
        await applyPlanEffects(db, planId, running, now);
        // What the reset skipped at once (its trigger rule cannot hold) is settled like any skip; and
        // a redrive with nothing left to run ends the plan here, since no task will finish to do it.
        for (const task of reset.skipped) await settleFinishedTask(db, task, now);
        await finishPlanIfDone(db, planId, now);
        return;
      }
      case "cancel_open_tasks":
        await cancelOpenTasks(db, planId, `plan is ${t.to}`, now(), LIMITS.sweepBatch, { seq: t.seq });
        break;
      case "advance_rollback":
        await continueRollback(db, planId, now);
        break;
      case "release_locks":
        logs.planFinished(planId, t.to);
        // Only what this transition owes: a retry that took the locks back since keeps them.
        await onPlanFinished(db, planId, now, { seq: t.seq });
        break;
    }
  }
  await clearPlanEffects(db, planId, t.seq, now());
}

/** Applies a decision's effects when it was a transition; says why not otherwise. */
export async function followThrough(db: Firestore, planId: string, outcome: PlanOutcome, now: () => number): Promise<PlanOutcome> {
  if (outcome.kind === "transition") await applyPlanEffects(db, planId, outcome, now);
  return outcome;
}
