/**
 * Goal progress from stored history. Each run takes one availability sample per environment and
 * credits it with the minutes since the previous sample (capped: a gap longer than
 * `maxSampleGapMs` was not seen, so it counts as nothing rather than as up or down), added to that
 * environment's UTC day rollup. Goal progress sums the rollups of the window, so it never reads
 * raw check history.
 *
 * Month convention: 30.4375 days (365.25 / 12 = 43,830 minutes), as the planner uses. A goal of
 * 99.9 % allows 43.83 minutes a month (the planner rounds to 43.8); over a 30-day window that is
 * 43.83 × 30 / 30.4375 = 43.2 minutes. When a goal states `maxDowntimeMinutes` that allowance is
 * used (scaled the same way); otherwise it is derived from `uptimePercent`.
 */
import type { Availability, GoalProgress, UptimeDay } from "../schema/health";
import type { HealthConfig } from "./config";

export const DAY_MS = 86_400_000;
export const MINUTES_PER_MONTH = 43_830;
export const DAYS_PER_MONTH = 30.4375;

/** UTC calendar day of an epoch ms, `YYYY-MM-DD`. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

const round = (value: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/** Minutes one sample stands for: since the previous sample, at most the allowed gap; the first: one period. */
export function sampleMinutes(previousSampleAt: number | null, at: number, config: Pick<HealthConfig, "periodMs" | "maxSampleGapMs">): number {
  if (previousSampleAt === null || previousSampleAt >= at) return config.periodMs / 60_000;
  const gap = at - previousSampleAt;
  return gap > config.maxSampleGapMs ? 0 : gap / 60_000;
}

export function emptyDay(date: string): UptimeDay {
  return { date, upMinutes: 0, downMinutes: 0, unknownMinutes: 0, samples: 0, downSamples: 0, uptimePercent: null };
}

/** The rollup of `date` after adding one sample (a new object; the input is not changed). */
export function addSample(day: UptimeDay, availability: Availability, minutes: number): UptimeDay {
  const next: UptimeDay = { ...day, samples: day.samples + 1 };
  if (availability === "up") next.upMinutes = round(day.upMinutes + minutes);
  else if (availability === "down") {
    next.downMinutes = round(day.downMinutes + minutes);
    next.downSamples = day.downSamples + 1;
  } else next.unknownMinutes = round(day.unknownMinutes + minutes);
  const seen = next.upMinutes + next.downMinutes;
  next.uptimePercent = seen === 0 ? null : round((next.upMinutes / seen) * 100, 4);
  return next;
}

/** Days older than the retention, to remove. */
export function expiredDays(days: Readonly<Record<string, UptimeDay>>, now: number, retentionDays: number): string[] {
  const oldest = dayOf(now - (retentionDays - 1) * DAY_MS);
  return Object.keys(days).filter((d) => d < oldest).sort();
}

export interface UptimeTarget {
  goalId: string;
  uptimePercent: number | null;
  maxDowntimeMinutes: number | null;
}

/** Monthly allowance in minutes and the matching uptime %, or null when the goal sets neither. */
export function monthlyAllowance(target: UptimeTarget): { minutes: number; uptimePercent: number } | null {
  if (target.maxDowntimeMinutes !== null) {
    return { minutes: target.maxDowntimeMinutes, uptimePercent: target.uptimePercent ?? round((1 - target.maxDowntimeMinutes / MINUTES_PER_MONTH) * 100, 4) };
  }
  if (target.uptimePercent !== null) return { minutes: ((100 - target.uptimePercent) / 100) * MINUTES_PER_MONTH, uptimePercent: target.uptimePercent };
  return null;
}

function sumDays(days: Readonly<Record<string, UptimeDay>>, from: string, to: string): { up: number; down: number } {
  let up = 0;
  let down = 0;
  for (const [date, day] of Object.entries(days)) {
    if (date < from || date > to) continue;
    up += day.upMinutes;
    down += day.downMinutes;
  }
  return { up, down };
}

const fmt = (minutes: number): string => (Math.abs(minutes) >= 120 ? `${(minutes / 60).toFixed(1)} h` : `${minutes.toFixed(1)} min`);

/**
 * Progress of one uptime goal on one environment over the window ending at `now`: the `windowDays`
 * UTC days up to and including today. Burn rate = (down / observed) / allowed fraction: 1 spends
 * exactly the budget over the window; "recent" is today and yesterday.
 */
export function goalProgress(
  target: UptimeTarget,
  env: { id: string; name: string },
  days: Readonly<Record<string, UptimeDay>>,
  now: number,
  config: Pick<HealthConfig, "windowDays" | "lowBudgetFraction" | "fastBurnRate">,
): GoalProgress | null {
  const allowance = monthlyAllowance(target);
  if (allowance === null) return null;
  const today = dayOf(now);
  const from = dayOf(now - (config.windowDays - 1) * DAY_MS);
  const window = sumDays(days, from, today);
  const recent = sumDays(days, dayOf(now - DAY_MS), today);
  const observed = window.up + window.down;
  const allowed = (allowance.minutes * config.windowDays) / DAYS_PER_MONTH;
  const allowedFraction = allowance.minutes / MINUTES_PER_MONTH;
  const elapsedMinutes = (config.windowDays - 1) * 1440 + (now - Date.parse(`${today}T00:00:00.000Z`)) / 60_000;
  const burn = (m: { up: number; down: number }): number | null =>
    m.up + m.down === 0 || allowedFraction === 0 ? null : round(m.down / (m.up + m.down) / allowedFraction, 3);
  const burnWindow = burn(window);
  const burnRecent = burn(recent);
  const left = allowed - window.down;
  const leftFraction = allowed === 0 ? (window.down === 0 ? 1 : -1) : left / allowed;

  let trend: GoalProgress["trend"] = "unknown";
  if (burnWindow !== null && burnRecent !== null) {
    if (burnRecent > burnWindow * 1.5 && burnRecent >= 0.5) trend = "worsening";
    else if (burnRecent < burnWindow * 0.5) trend = "improving";
    else trend = "steady";
  }
  let status: GoalProgress["status"];
  if (observed === 0) status = "unknown";
  else if (left < 0) status = "missed";
  else if (leftFraction < config.lowBudgetFraction || (burnRecent !== null && burnRecent >= config.fastBurnRate)) status = "at_risk";
  else status = "met";

  const uptimePercent = observed === 0 ? null : round((window.up / observed) * 100, 4);
  const explanation =
    observed === 0
      ? `no availability observed in the last ${config.windowDays} days yet`
      : `${uptimePercent} % up over ${fmt(observed)} observed in ${config.windowDays} days ` +
        `(target ${allowance.uptimePercent} %): ${fmt(window.down)} down of ${fmt(allowed)} allowed, ` +
        `${fmt(left)} (${Math.round(leftFraction * 100)} %) left` +
        (burnRecent === null ? "" : `; today and yesterday burn the budget at ${burnRecent}× the sustainable rate`);

  return {
    goalId: target.goalId,
    environmentId: env.id,
    environment: env.name,
    windowDays: config.windowDays,
    targetUptimePercent: allowance.uptimePercent,
    allowedDowntimeMinutes: round(allowed),
    observedMinutes: round(observed),
    coverage: round(Math.min(1, observed / Math.max(1, elapsedMinutes)), 4),
    downtimeMinutes: round(window.down),
    uptimePercent,
    errorBudgetLeftMinutes: round(left),
    errorBudgetLeftFraction: round(leftFraction, 4),
    burnRateRecent: burnRecent,
    burnRateWindow: burnWindow,
    trend,
    status,
    explanation,
  };
}
