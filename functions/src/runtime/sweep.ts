/**
 * The sweeper: finds tasks whose `sweepAt` passed and recovers them. A ready task whose message
 * was lost (or whose backoff ended) is published again; a running task whose lease expired goes
 * back to ready as its next attempt (or fails when its attempts are spent); a wait past its
 * deadline or heartbeat fails; a running plan that went quiet is checked for a task whose worker
 * died before settling it; a rollback waiting for a task that has since finished moves on. Every
 * change is a compare-and-set or a transaction, so concurrent sweeps cannot double-act.
 */
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING, LIMITS } from "../config";
import { publishTaskReady } from "../bus/publish";
import { logs } from "../logs";
import type { TaskReadyMessage } from "../schema/messages";
import { COLLECTIONS } from "../store/paths";
import { dueTasks, sweepTask } from "../store/tasks";
import { maintainLocks } from "../store/locks";
import { resumeWaitingPlan } from "./locks";
import { continueRollback, repairQuietPlan, settleFinishedTask } from "./settle";

export interface SweepReport {
  due: number;
  redispatched: number;
  leasesExpired: number;
  settled: number;
  /** Running plans in which no task finished for a while, checked for a lost settle. */
  quietPlansChecked: number;
  deadlinesPassed: number;
  rollbacksAdvanced: number;
  locksRenewed: number;
  locksFreed: number;
}

export async function sweepStalledTasks(db: Firestore, now: () => number = Date.now): Promise<SweepReport> {
  const due = await dueTasks(db, now(), LIMITS.sweepBatch);
  const toPublish: TaskReadyMessage[] = [];
  const report: SweepReport = { due: due.length, redispatched: 0, leasesExpired: 0, settled: 0, quietPlansChecked: 0, deadlinesPassed: 0, rollbacksAdvanced: 0, locksRenewed: 0, locksFreed: 0 };
  await Promise.all(
    due.map(async (ref) => {
      try {
        const { decision, task } = await sweepTask(db, ref, now(), ENGINE_TIMING);
        if (decision.kind === "skip" || task === undefined) return;
        if (decision.kind === "redispatch") {
          report.redispatched += 1;
          toPublish.push({ planId: task.planId, taskId: task.id, attempt: task.attempt, phase: decision.phase });
        } else if (decision.kind === "expire_lease" && !decision.failed) {
          report.leasesExpired += 1;
          toPublish.push({ planId: task.planId, taskId: task.id, attempt: task.attempt, phase: "run" });
        } else {
          if (decision.kind === "expire_lease") report.leasesExpired += 1;
          if (decision.kind === "deadline") report.deadlinesPassed += 1;
          if (decision.kind === "settle") report.settled += 1;
          await settleFinishedTask(db, task, now);
        }
      } catch (error) {
        // One unreadable task must not stop the sweep of every other plan.
        logs.unexpected(`sweep of ${ref.path}`, error);
      }
    }),
  );
  await publishTaskReady(toPublish);
  const running = await db.collection(COLLECTIONS.plans).where("status", "==", "running").select("stallCheckedUpTo").limit(LIMITS.sweepBatch).get();
  await Promise.all(
    running.docs.map(async (plan) => {
      try {
        const checked = plan.get("stallCheckedUpTo") as unknown;
        const settled = await repairQuietPlan(db, plan.id, typeof checked === "number" ? checked : null, now);
        if (settled !== null) {
          report.quietPlansChecked += 1;
          report.settled += settled;
        }
      } catch (error) {
        logs.unexpected(`stall check of plan ${plan.id}`, error);
      }
    }),
  );
  const rollingBack = await db.collection(COLLECTIONS.plans).where("status", "==", "rolling_back").limit(50).get();
  for (const plan of rollingBack.docs) {
    await continueRollback(db, plan.id, now);
    report.rollbacksAdvanced += 1;
  }
  // Locks of live runs are renewed; locks of ended or dead runs free, and their waiters start.
  const locks = await maintainLocks(db, now());
  report.locksRenewed = locks.renewed;
  report.locksFreed = locks.freed;
  const waiting = await db.collection(COLLECTIONS.plans).where("status", "==", "waiting").limit(50).get();
  for (const id of new Set([...locks.woken, ...waiting.docs.map((d) => d.id)])) await resumeWaitingPlan(db, id, now);
  logs.sweepDone(report);
  return report;
}
