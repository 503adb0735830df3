/**
 * The sweeper's plan-level rounds: every plan reaches a final or an explicitly waiting state,
 * whatever died on the way.
 *   - a start that died (planning, start lease expired) is started again;
 *   - a transition whose effects were left pending (engine/plan.ts effectsOf) gets them applied;
 *   - a running plan that went quiet is checked for a task whose worker died before settling it;
 *   - a rollback waiting for a task that has since finished moves on;
 *   - locks of live runs are renewed, those of ended or dead runs freed, and their waiters resumed;
 *   - a plan document nobody ever looked at (written while the trigger was not deployed) is started;
 *   - a run whose deadline (`deadlineSeconds`) passed ends by its failure policy.
 * Each round reads a bounded page per sweep and remembers where it stopped (store/sweeper.ts).
 */
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING } from "../config";
import { effectsOf } from "../engine/plan";
import { logs } from "../logs";
import { readPlanState } from "../store/converters";
import { maintainLocks } from "../store/locks";
import { applyPlanInput, inPriorityOrder, plansPastDeadline, readFailurePolicy, readUntriggeredPlan } from "../store/plans";
import { walkPlans } from "../store/sweeper";
import { resumeWaitingPlan } from "./locks";
import { applyPlanEffects, followThrough } from "./plan-effects";
import { continueRollback, repairQuietPlan } from "./settle";
import { startPlan } from "./start-plan";

/** Plans past their deadline ended per sweep (a minute apart); the next sweep takes the rest. */
const DEADLINES_PER_SWEEP = 100;

export interface PlanSweepReport {
  startsResumed: number;
  effectsResumed: number;
  quietPlansChecked: number;
  settled: number;
  rollbacksAdvanced: number;
  locksRenewed: number;
  locksFreed: number;
  waitingResumed: number;
  untriggeredStarted: number;
  deadlinesPassed: number;
}

async function each<T>(items: readonly T[], what: (item: T) => string, act: (item: T) => Promise<boolean>): Promise<number> {
  let done = 0;
  for (const item of items) {
    try {
      if (await act(item)) done += 1;
    } catch (error) {
      // One plan that cannot be helped must not stop the sweep of every other plan.
      logs.unexpected(what(item), error);
    }
  }
  return done;
}

export async function sweepPlans(db: Firestore, now: () => number): Promise<PlanSweepReport> {
  const walk = await walkPlans(db);
  const report: PlanSweepReport = { startsResumed: 0, effectsResumed: 0, quietPlansChecked: 0, settled: 0, rollbacksAdvanced: 0, locksRenewed: 0, locksFreed: 0, waitingResumed: 0, untriggeredStarted: 0, deadlinesPassed: 0 };
  const grace = ENGINE_TIMING.redispatchAfterMs;

  report.startsResumed = await each(await walk.page("planning"), (p) => `restart of plan ${p.id}`, async (p) => {
    const lease = readPlanState({ exists: true, data: p.data })?.startLease;
    if (lease !== null && lease !== undefined && lease.expiresAt > now()) return false;
    return (await startPlan(db, p.id, p.data(), `sweep:${p.id}:${now()}`, now)) !== "skipped";
  });

  report.effectsResumed = await each(await walk.page("effects"), (p) => `effects of plan ${p.id}`, async (p) => {
    const plan = readPlanState({ exists: true, data: p.data });
    if (plan === undefined || (plan.updatedAt ?? 0) > now() - grace) return false;
    await applyPlanEffects(db, p.id, { to: plan.status, seq: plan.seq, effects: effectsOf(plan.status) }, now);
    return true;
  });

  await each(await walk.page("running"), (p) => `stall check of plan ${p.id}`, async (p) => {
    const checked = p.data().stallCheckedUpTo;
    const settled = await repairQuietPlan(db, p.id, typeof checked === "number" ? checked : null, now);
    if (settled === null) return false;
    report.quietPlansChecked += 1;
    report.settled += settled;
    return true;
  });

  report.rollbacksAdvanced = await each(await walk.page("rolling_back"), (p) => `rollback of plan ${p.id}`, async (p) => {
    await continueRollback(db, p.id, now);
    return true;
  });

  // Locks of live runs are renewed; locks of ended or dead runs free, and their waiters resume.
  const locks = await maintainLocks(db, now());
  report.locksRenewed = locks.renewed;
  report.locksFreed = locks.freed;
  const waiting = await walk.page("waiting");
  // In priority order (then the longest waiting): of plans waiting for one lock, the first resumed takes it.
  const toWake = await inPriorityOrder(db, [...new Set([...locks.woken, ...waiting.map((d) => d.id)])]);
  report.waitingResumed = await each(toWake, (id) => `waking plan ${id}`, async (id) => {
    await resumeWaitingPlan(db, id, now);
    return true;
  });

  // A plan with no status, a page of every plan per sweep: one whose trigger never ran is started
  // once it has been left alone for the redispatch delay.
  report.untriggeredStarted = await each(await walk.page("all"), (p) => `start of untriggered plan ${p.id}`, async (p) => {
    if (p.data().status !== undefined) return false;
    const full = await readUntriggeredPlan(db, p.id, now() - grace);
    return full !== undefined && (await startPlan(db, p.id, full, `sweep:${p.id}:${now()}`, now)) !== "skipped";
  });

  report.deadlinesPassed = await each(await plansPastDeadline(db, now(), DEADLINES_PER_SWEEP), (id) => `deadline of plan ${id}`, async (id) => {
    const read = await readFailurePolicy(db, id);
    if (read === undefined) return false;
    return (await followThrough(db, id, await applyPlanInput(db, id, { kind: "deadline", policy: read.policy }, now(), { actor: "orchestrator" }), now)).kind === "transition";
  });

  await walk.save();
  return report;
}
