/**
 * `fireSchedules` (every minute, Cloud Scheduler; the local scheduler fires it on the local
 * stack): one firing pass over every schedule (schedules/store.ts). A tick is fired by the first
 * pass at or after it, so it starts at most one period late; a delivery that comes twice finds the
 * ticks recorded and starts nothing more.
 */
import { logger } from "firebase-functions";
import type { ScheduledEvent } from "firebase-functions/v2/scheduler";
import { fireSchedules, type FiringSummary, type ScheduleFiring } from "../schedules/store";
import { firestore } from "../store/firestore";

/** The firing pass's period, in Cloud Scheduler's App Engine cron syntax: a tick waits at most this long. */
export const FIRE_SCHEDULES_EVERY = "every 1 minutes";

const scheduleLogs = {
  pass: (s: FiringSummary) =>
    logger.info(`schedules: ${s.schedules} looked at, ${s.started} runs started${s.truncated ? " (more schedules than one pass lists)" : ""}`, { schedules: s.schedules, started: s.started, truncated: s.truncated }),
  fired: (f: ScheduleFiring) =>
    logger.info(`schedule ${f.scheduleId}: ${f.records.map((r) => `${new Date(r.tick).toISOString()} ${r.outcome}${r.planId === undefined ? "" : ` ${r.planId}`}${r.why === undefined ? "" : ` (${r.why})`}`).join("; ")}`, {
      scheduleId: f.scheduleId,
      started: f.started,
      records: f.records,
    }),
  cancelled: (scheduleId: string, c: ScheduleFiring["cancels"][number]) => logger.info(`schedule ${scheduleId}: cancelled ${c.planId}: ${c.message}`, { scheduleId, ...c }),
  cancelRefused: (scheduleId: string, c: ScheduleFiring["cancels"][number]) =>
    logger.warn(`schedule ${scheduleId}: cancel of ${c.planId} refused (sent again by the next pass while it is open): ${c.message}`, { scheduleId, ...c }),
  problem: (f: ScheduleFiring) => logger.warn(`schedule ${f.scheduleId} not fired (${f.outcome}): ${f.problem ?? ""}`, { scheduleId: f.scheduleId, outcome: f.outcome, problem: f.problem }),
};

export async function handleFireSchedules(_event: ScheduledEvent): Promise<void> {
  // The pass's own clock, not the event's schedule time: a late delivery fires what is due by now.
  const summary = await fireSchedules(firestore(), Date.now());
  for (const f of summary.firings) {
    if (f.outcome === "unreadable" || f.outcome === "failed") scheduleLogs.problem(f);
    else if (f.records.length > 0) scheduleLogs.fired(f);
    for (const c of f.cancels) (c.applied ? scheduleLogs.cancelled : scheduleLogs.cancelRefused)(f.scheduleId, c);
  }
  scheduleLogs.pass(summary);
}
