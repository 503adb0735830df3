/**
 * Environment locking around a plan's run: which environments a plan touches, and what happens
 * when a plan ends (its locks free and the plans waiting on them start).
 */
import type { Firestore } from "firebase-admin/firestore";
import { logs } from "../logs";
import { releaseLocks } from "../store/locks";
import { inPriorityOrder, readPlanDocument } from "../store/plans";
import { enterWithLocks } from "./commands";
import { freezeAnswer, targetsOf } from "./freeze";
import { startPlan } from "./start-plan";

/**
 * Resumes a plan that was waiting for a lock with what it meant to do: start, be retried or roll
 * back (idempotent: a plan no longer waiting is left alone, and a lock still held, or a freeze window
 * still on, keeps it waiting).
 */
export async function resumeWaitingPlan(db: Firestore, planId: string, now: () => number = Date.now): Promise<void> {
  const plan = await readPlanDocument(db, planId);
  if (plan?.state.status !== "waiting") return;
  const intent = plan.state.resume ?? "start";
  // Still frozen: nothing is written (the sweeper looks every pass; a start would record two transitions each time).
  if (plan.state.waitingFor?.freeze !== undefined && intent !== "rollback") {
    const frozen = await freezeAnswer(db, targetsOf(plan.doc.compiled), plan.state.freezeOverride ?? null, intent, plan.state.generation, now());
    if (frozen !== null) return;
  }
  if (intent === "start") {
    await startPlan(db, planId, plan.doc, `wake:${planId}:${now()}`, now);
    return;
  }
  await enterWithLocks(db, planId, { command: intent === "redrive" ? "retry" : "rollback", by: "the orchestrator (locks free)" }, now, { actor: "orchestrator" });
}

/**
 * A plan reached a final status: free its environments and start whoever waited for them. `fence`:
 * the release is the one transition `fence.seq` owes (plan-effects.ts), which leaves a lock a newer
 * transition of the plan took back meanwhile (store/locks.ts releaseLocks).
 */
export async function onPlanFinished(db: Firestore, planId: string, now: () => number = Date.now, fence?: { seq: number }): Promise<void> {
  // Woken one at a time, highest priority first: the first takes the lock, the others wait on it again.
  const waiters = await inPriorityOrder(db, await releaseLocks(db, planId, now(), fence));
  for (const waiter of waiters) {
    try {
      await resumeWaitingPlan(db, waiter, now);
    } catch (error) {
      // The sweeper retries waiting plans; one failed wake must not stop the others.
      logs.unexpected(`waking plan ${waiter}`, error);
    }
  }
}
