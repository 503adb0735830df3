/**
 * Environment locking around a plan's run: which environments a plan touches, and what happens
 * when a plan ends (its locks free and the plans waiting on them start).
 */
import type { Firestore } from "firebase-admin/firestore";
import { logs } from "../logs";
import { releaseLocks } from "../store/locks";
import { planRef } from "../store/paths";
import { startPlan } from "./start-plan";

/** Starts a plan that was waiting for a lock (idempotent: a plan no longer waiting is left alone). */
export async function resumeWaitingPlan(db: Firestore, planId: string, now: () => number = Date.now): Promise<void> {
  const snap = await planRef(db, planId).get();
  if (!snap.exists || snap.get("status") !== "waiting") return;
  await startPlan(db, planId, snap.data()!, `wake:${planId}:${now()}`, now);
}

/** A plan reached a final status: free its environments and start whoever waited for them. */
export async function onPlanFinished(db: Firestore, planId: string, now: () => number = Date.now): Promise<void> {
  const waiters = await releaseLocks(db, planId);
  for (const waiter of waiters) {
    try {
      await resumeWaitingPlan(db, waiter, now);
    } catch (error) {
      // The sweeper retries waiting plans; one failed wake must not stop the others.
      logs.unexpected(`waking plan ${waiter}`, error);
    }
  }
}
