/**
 * The sweeper's plan-level rounds: every plan reaches a final or an explicitly waiting state,
 * whatever died on the way.
 *   - a start that died (planning, start lease expired) is started again;
 *   - a transition whose effects were left pending (engine/plan.ts effectsOf) gets them applied;
 *   - a running plan that went quiet is checked for a task whose worker died before settling it;
 *   - a rollback waiting for a task that has since finished moves on;
 *   - locks of live runs are renewed, those of ended or dead runs freed, and their waiters resumed;
 *   - a plan document nobody ever looked at (written while the trigger was not deployed) is started.
 * Each round reads a bounded page per sweep and remembers where it stopped (`sweeper/cursors`),
 * so a backlog larger than a page is walked through in turn instead of the same page every time.
 */
import { FieldPath, type Firestore, type Query } from "firebase-admin/firestore";
import { ENGINE_TIMING } from "../config";
import { effectsOf } from "../engine/plan";
import { logs } from "../logs";
import { readPlanState } from "../store/converters";
import { maintainLocks } from "../store/locks";
import { COLLECTIONS } from "../store/paths";
import { resumeWaitingPlan } from "./locks";
import { applyPlanEffects } from "./plan-effects";
import { continueRollback, repairQuietPlan } from "./settle";
import { startPlan } from "./start-plan";

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
}

/** Plans per round and sweep; the cursor carries the rest to the next sweep. */
export const PLAN_PAGE = 100;

const cursors = (db: Firestore) => db.collection("sweeper").doc("cursors");

/**
 * One page of `query` (ordered by document id) from where the previous sweep stopped; wraps around
 * to the start once the end is reached, so every matching plan is visited within a few sweeps.
 */
async function rotatingPage(round: string, query: Query, cursor: Record<string, unknown>, next: Record<string, string>): Promise<Array<{ id: string; data: () => Record<string, unknown> }>> {
  const ordered = query.orderBy(FieldPath.documentId()).limit(PLAN_PAGE);
  const after = typeof cursor[round] === "string" && cursor[round] !== "" ? (cursor[round] as string) : undefined;
  let page = await (after === undefined ? ordered : ordered.startAfter(after)).get();
  if (page.empty && after !== undefined) page = await ordered.get();
  next[round] = page.size === PLAN_PAGE ? page.docs.at(-1)!.id : "";
  return page.docs.map((d) => ({ id: d.id, data: () => d.data() }));
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
  const plans = db.collection(COLLECTIONS.plans);
  const cursor = ((await cursors(db).get()).data() ?? {}) as Record<string, unknown>;
  const next: Record<string, string> = {};
  const page = (round: string, query: Query) => rotatingPage(round, query, cursor, next);
  const report: PlanSweepReport = { startsResumed: 0, effectsResumed: 0, quietPlansChecked: 0, settled: 0, rollbacksAdvanced: 0, locksRenewed: 0, locksFreed: 0, waitingResumed: 0, untriggeredStarted: 0 };
  const grace = ENGINE_TIMING.redispatchAfterMs;

  report.startsResumed = await each(await page("planning", plans.where("status", "==", "planning")), (p) => `restart of plan ${p.id}`, async (p) => {
    const lease = readPlanState({ exists: true, data: p.data })?.startLease;
    if (lease !== null && lease !== undefined && lease.expiresAt > now()) return false;
    return (await startPlan(db, p.id, p.data(), `sweep:${p.id}:${now()}`, now)) !== "skipped";
  });

  report.effectsResumed = await each(await page("effects", plans.where("effectsPending", "==", true)), (p) => `effects of plan ${p.id}`, async (p) => {
    const plan = readPlanState({ exists: true, data: p.data });
    if (plan === undefined || (plan.updatedAt ?? 0) > now() - grace) return false;
    await applyPlanEffects(db, p.id, { to: plan.status, seq: plan.seq, effects: effectsOf(plan.status) }, now);
    return true;
  });

  await each(await page("running", plans.where("status", "==", "running")), (p) => `stall check of plan ${p.id}`, async (p) => {
    const checked = p.data().stallCheckedUpTo;
    const settled = await repairQuietPlan(db, p.id, typeof checked === "number" ? checked : null, now);
    if (settled === null) return false;
    report.quietPlansChecked += 1;
    report.settled += settled;
    return true;
  });

  report.rollbacksAdvanced = await each(await page("rolling_back", plans.where("status", "==", "rolling_back")), (p) => `rollback of plan ${p.id}`, async (p) => {
    await continueRollback(db, p.id, now);
    return true;
  });

  // Locks of live runs are renewed; locks of ended or dead runs free, and their waiters resume.
  const locks = await maintainLocks(db, now());
  report.locksRenewed = locks.renewed;
  report.locksFreed = locks.freed;
  const waiting = await page("waiting", plans.where("status", "==", "waiting"));
  report.waitingResumed = await each([...new Set([...locks.woken, ...waiting.map((d) => d.id)])], (id) => `waking plan ${id}`, async (id) => {
    await resumeWaitingPlan(db, id, now);
    return true;
  });

  // Firestore cannot query for a missing field, so plans with no status are found by walking every
  // plan, a page per sweep: one whose trigger never ran is started once it is a minute old.
  report.untriggeredStarted = await each(await page("all", plans.select("status", "createdAt")), (p) => `start of untriggered plan ${p.id}`, async (p) => {
    if (p.data().status !== undefined) return false;
    const full = await plans.doc(p.id).get();
    if (!full.exists || full.get("status") !== undefined || full.updateTime!.toMillis() > now() - grace) return false;
    return (await startPlan(db, p.id, full.data()!, `sweep:${p.id}:${now()}`, now)) !== "skipped";
  });

  await cursors(db).set(next, { merge: true });
  return report;
}
