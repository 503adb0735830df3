/**
 * The sweeper: finds tasks whose `sweepAt` passed and recovers them: a ready task whose message
 * was lost is published again; a running task whose lease expired goes back to ready as its next
 * attempt. Every change is a transaction on the task, so concurrent sweeps cannot double-act.
 */
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING, LIMITS } from "../config";
import { publishTaskReady } from "../bus/publish";
import { logs } from "../logs";
import type { TaskReadyMessage } from "../schema/messages";
import { dueTasks, sweepTask } from "../store/tasks";
import { settleFinishedTask } from "./settle";

export interface SweepReport {
  due: number;
  redispatched: number;
  leasesExpired: number;
  settled: number;
}

export async function sweepStalledTasks(db: Firestore, now: () => number = Date.now): Promise<SweepReport> {
  const due = await dueTasks(db, now(), LIMITS.sweepBatch);
  const toPublish: TaskReadyMessage[] = [];
  let leasesExpired = 0;
  let settled = 0;
  await Promise.all(
    due.map(async (ref) => {
      // One unreadable task must not stop the sweep of every other plan.
      const swept = await sweepTask(db, ref, now(), ENGINE_TIMING).catch((error: unknown) => {
        logs.unexpected(`sweep of ${ref.path}`, error);
        return undefined;
      });
      if (swept === undefined) return;
      const { decision, task } = swept;
      if (decision.kind === "skip" || task === undefined) return;
      if (decision.kind === "settle") {
        settled += 1;
        await settleFinishedTask(db, task, now);
        return;
      }
      if (decision.kind === "expire_lease") leasesExpired += 1;
      toPublish.push({ planId: task.planId, taskId: task.id, attempt: task.attempt });
    }),
  );
  await publishTaskReady(toPublish);
  const report = { due: due.length, redispatched: toPublish.length - leasesExpired, leasesExpired, settled };
  logs.sweepDone(report.due, report.redispatched, report.leasesExpired, report.settled);
  return report;
}
