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
import { PLAN_NOT_YET_RUNNING } from "../engine/plan";
import { dueTasks, planStatusesOf, sweepTask } from "../store/tasks";
import { settleFinishedTask } from "./settle";
import { republishExternalToken } from "./run-task";
import { sweepPlans } from "./sweep-plans";

export interface SweepReport {
  due: number;
  redispatched: number;
  leasesExpired: number;
  settled: number;
  /** Running plans in which no task finished for a while, checked for a lost settle. */
  quietPlansChecked: number;
  deadlinesPassed: number;
  /** Plans whose run's deadline (`deadlineSeconds`) passed, ended. */
  planDeadlinesPassed: number;
  rollbacksAdvanced: number;
  locksRenewed: number;
  locksFreed: number;
  /** Starts that died, begun again. */
  startsResumed: number;
  /** Plan transitions whose effects were left pending, finished. */
  effectsResumed: number;
  /** Plan documents whose trigger never ran, started. */
  untriggeredStarted: number;
}

export async function sweepStalledTasks(db: Firestore, now: () => number = Date.now): Promise<SweepReport> {
  // A plan that has yet to run (a start under way, or waiting for its locks) gets none of its tasks
  // swept: a start taken over writes its tasks again, over any claim taken meanwhile. One that
  // ended has its ready tasks cancelled, not dispatched (engine/task.ts decideSweep).
  const dueAll = await dueTasks(db, now(), LIMITS.sweepBatch);
  const planStatus = await planStatusesOf(db, dueAll);
  const due = dueAll.filter((ref) => {
    const status = planStatus.get(ref.parent.parent!.id);
    return status === undefined || !PLAN_NOT_YET_RUNNING.has(status);
  });
  const toPublish: TaskReadyMessage[] = [];
  const report: SweepReport = { due: due.length, redispatched: 0, leasesExpired: 0, settled: 0, quietPlansChecked: 0, deadlinesPassed: 0, planDeadlinesPassed: 0, rollbacksAdvanced: 0, locksRenewed: 0, locksFreed: 0, startsResumed: 0, effectsResumed: 0, untriggeredStarted: 0 };
  await Promise.all(
    due.map(async (ref) => {
      try {
        const { decision, task } = await sweepTask(db, ref, now(), ENGINE_TIMING, planStatus.get(ref.parent.parent!.id));
        if (decision.kind === "skip" || decision.kind === "park" || task === undefined) return;
        if (decision.kind === "redispatch") {
          report.redispatched += 1;
          toPublish.push({ planId: task.planId, taskId: task.id, attempt: task.attempt, phase: decision.phase });
        } else if (decision.kind === "expire_lease" && !decision.failed) {
          report.leasesExpired += 1;
          toPublish.push({ planId: task.planId, taskId: task.id, attempt: task.attempt, phase: "run" });
        } else if (decision.kind === "republish_token") {
          // A lost message too (an external task's token): counted with the re-dispatches.
          report.redispatched += 1;
          await republishExternalToken(db, task, now());
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
  const plans = await sweepPlans(db, now);
  report.quietPlansChecked = plans.quietPlansChecked;
  report.settled += plans.settled;
  report.rollbacksAdvanced = plans.rollbacksAdvanced;
  report.locksRenewed = plans.locksRenewed;
  report.locksFreed = plans.locksFreed;
  report.startsResumed = plans.startsResumed;
  report.effectsResumed = plans.effectsResumed;
  report.untriggeredStarted = plans.untriggeredStarted;
  report.planDeadlinesPassed = plans.deadlinesPassed;
  logs.sweepDone(report);
  return report;
}
