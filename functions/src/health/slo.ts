/**
 * SLO evaluation (pure: the clock is an argument). Each health run records one slice of good and
 * total events per SLI and environment into a bounded series (schema/slo.ts: minute buckets for
 * the last 6-7 hours, hour buckets for 35 days); an SLO is then the series summed over its window
 * (the error budget) and over each alert tier's long and short windows (burn rates).
 *
 * Burn rate = (bad / total in the window) / (1 − objective): 1 spends exactly the budget over the
 * SLO window. A tier fires when both its windows burn at least its rate (the Workbook's
 * multi-window, multi-burn-rate alerts): the long window makes it significant, the short one makes
 * it resolve minutes after the burn stops. A window without events burns null and never fires.
 *
 * Windows end with the minute `now` falls in. Minute buckets serve the part of a window from the
 * series' `fineStart` (6-7 hours back) on; before it, hour buckets, the one at the window's old
 * edge pro rata (exact for evenly spread events, within one hour's events otherwise).
 *
 * Maintenance: the caller records nothing for a sample inside a maintenance window (`inWindows`),
 * so planned work neither spends the budget nor counts as good.
 */
import { occurrenceAt } from "../engine/windows";
import type { Availability, CheckStatus } from "../schema/health";
import type { OneTimeWindow, WeeklyWindow } from "../schema/windows";
import {
  allowedFractionOf,
  SLO_COARSE_BUCKET_MS,
  SLO_COARSE_DAYS,
  SLO_FINE_BUCKET_MS,
  SLO_FINE_HOURS,
  type AlertSeverity,
  type AlertTier,
  type MaintenanceWindow,
  type Sli,
  type SloSeries,
  type SloSpec,
} from "../schema/slo";

const MINUTE = SLO_FINE_BUCKET_MS;
const HOUR = SLO_COARSE_BUCKET_MS;
const DAY = 24 * HOUR;
const FINE_SPAN = SLO_FINE_HOURS * HOUR;
const COARSE_SPAN = SLO_COARSE_DAYS * DAY;

const floorTo = (ms: number, unit: number): number => Math.floor(ms / unit) * unit;
const round = (value: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

export function emptySeries(): SloSeries {
  return { version: 1, fineStart: 0, fineGood: [], fineTotal: [], coarseStart: 0, coarseGood: [], coarseTotal: [] };
}

/** `values` (bucket i at `start + i·unit`) moved onto buckets `from`…`last`: what falls outside is dropped, new buckets are 0. */
function rebase(values: readonly number[], start: number, unit: number, from: number, last: number): number[] {
  const length = Math.max(0, (last - from) / unit + 1);
  const out = new Array<number>(length).fill(0);
  const offset = (start - from) / unit;
  const first = Math.max(0, -offset);
  const end = Math.min(values.length, length - offset);
  for (let i = first; i < end; i++) out[i + offset] = values[i]!;
  return out;
}

/**
 * The series with `good` of `total` events added at `at` (a new object; the input is not changed).
 * Minute buckets older than 6 whole hours before the newest slice's hour, and hour buckets older
 * than 35 days, are dropped; a slice older than what is kept is ignored. Counts may be fractional
 * (minutes a sample stands for). Not idempotent: record each sample once.
 */
export function recordSlice(series: SloSeries, at: number, good: number, total: number): SloSeries {
  if (!Number.isFinite(at) || !Number.isFinite(good) || !Number.isFinite(total) || good < 0 || total < 0 || good > total) {
    throw new RangeError(`recordSlice(at=${at}, good=${good}, total=${total}): counts are finite, 0 ≤ good ≤ total`);
  }
  const minute = floorTo(at, MINUTE);
  const hour = floorTo(at, HOUR);
  const empty = series.coarseTotal.length === 0;
  const lastHour = empty ? hour : Math.max(series.coarseStart + (series.coarseTotal.length - 1) * HOUR, hour);
  const lastMinute = empty ? minute : Math.max(series.fineStart + (series.fineTotal.length - 1) * MINUTE, minute);
  // Hour buckets only ever grow backwards over hours that were never pruned (the series' first hours).
  const coarseStart = empty ? hour : Math.max(Math.min(series.coarseStart, hour), lastHour - COARSE_SPAN);
  // Minute buckets never grow backwards: an hour before fineStart is read from the hour buckets.
  const fineStart = empty ? hour : Math.max(series.fineStart, lastHour - FINE_SPAN);
  if (hour < coarseStart) return series;

  const coarseGood = rebase(series.coarseGood, series.coarseStart, HOUR, coarseStart, lastHour);
  const coarseTotal = rebase(series.coarseTotal, series.coarseStart, HOUR, coarseStart, lastHour);
  const fineGood = rebase(series.fineGood, series.fineStart, MINUTE, fineStart, lastMinute);
  const fineTotal = rebase(series.fineTotal, series.fineStart, MINUTE, fineStart, lastMinute);
  const h = (hour - coarseStart) / HOUR;
  coarseGood[h]! += good;
  coarseTotal[h]! += total;
  if (minute >= fineStart) {
    const m = (minute - fineStart) / MINUTE;
    fineGood[m]! += good;
    fineTotal[m]! += total;
  }
  return { version: 1, fineStart, fineGood, fineTotal, coarseStart, coarseGood, coarseTotal };
}

export interface WindowSum {
  good: number;
  total: number;
}

/** Adds the buckets of one resolution that overlap [from, to); a bucket partly inside counts in proportion to its overlap. */
function addOverlap(acc: WindowSum, good: readonly number[], total: readonly number[], start: number, unit: number, from: number, to: number): void {
  if (to <= from || total.length === 0) return;
  const first = Math.max(0, Math.floor((from - start) / unit));
  const end = Math.min(total.length, Math.ceil((to - start) / unit));
  // Whole buckets are summed in a loop of additions alone (the hot path of every evaluation); the partial edge buckets apart.
  const wholeFirst = Math.max(first, Math.ceil((from - start) / unit));
  const wholeEnd = Math.min(end, Math.floor((to - start) / unit));
  let g = 0;
  let t = 0;
  for (let i = wholeFirst; i < wholeEnd; i++) {
    g += good[i]!;
    t += total[i]!;
  }
  for (const i of first === end - 1 ? [first] : [first, end - 1]) {
    if (i < first || i >= end || (i >= wholeFirst && i < wholeEnd)) continue;
    const bucketStart = start + i * unit;
    const share = (Math.min(to, bucketStart + unit) - Math.max(from, bucketStart)) / unit;
    g += good[i]! * share;
    t += total[i]! * share;
  }
  acc.good += g;
  acc.total += t;
}

/**
 * Good and total events in [fromMs, toMs): minute buckets from `fineStart` on, hour buckets
 * before it. A bucket partly inside counts pro rata (only an hour at the old edge of a window that
 * reaches back past the minute buckets, when windows end on a whole minute, as `evaluateSlo`'s do).
 */
export function sumWindow(series: SloSeries, fromMs: number, toMs: number): WindowSum {
  const acc: WindowSum = { good: 0, total: 0 };
  if (series.coarseTotal.length === 0) return acc;
  addOverlap(acc, series.coarseGood, series.coarseTotal, series.coarseStart, HOUR, fromMs, Math.min(toMs, series.fineStart));
  addOverlap(acc, series.fineGood, series.fineTotal, series.fineStart, MINUTE, Math.max(fromMs, series.fineStart), toMs);
  return acc;
}

/** Whether `at` falls in one of the windows (one-off: `start <= at < end`; weekly: in its time zone, across daylight-saving changes). */
export function inWindows(at: number, windows: readonly MaintenanceWindow[]): boolean {
  const weekly = windows.filter((w): w is WeeklyWindow => "days" in w);
  const oneTime = windows.filter((w): w is OneTimeWindow => !("days" in w));
  return occurrenceAt({ oneTime, weekly }, at) !== null;
}

/** Counts of one availability sample: up is good, down is bad, unknown counts nothing (null). `weight`: the minutes it stands for, or 1. */
export function availabilitySlice(availability: Availability, weight = 1): WindowSum | null {
  if (availability === "unknown" || weight <= 0) return null;
  return { good: availability === "up" ? weight : 0, total: weight };
}

/** The statuses of a check that answered (or ran out of time); `error` and `skipped` checks measured nothing. */
const ANSWERED: ReadonlySet<CheckStatus> = new Set(["ok", "degraded", "down", "timeout"]);
const GOOD_ANSWER: ReadonlySet<CheckStatus> = new Set(["ok", "degraded"]);

/**
 * Counts of a latency SLI in one run's checks: each check that answered or timed out is an event;
 * it is good when it answered well (ok or degraded) within `thresholdMs`. A failing answer is not
 * a good one however fast; a check without a latency, or that could not run, counts nothing.
 */
export function latencySlice(checks: ReadonlyArray<{ latencyMs: number | null; status: CheckStatus }>, thresholdMs: number): WindowSum {
  let good = 0;
  let total = 0;
  for (const check of checks) {
    if (check.latencyMs === null || !ANSWERED.has(check.status)) continue;
    total += 1;
    if (GOOD_ANSWER.has(check.status) && check.latencyMs <= thresholdMs) good += 1;
  }
  return { good, total };
}

/** Series that can be shared: every SLO on the same SLI of an environment reads the same counts. */
export const sliKey = (sli: Sli): string => (sli.kind === "availability" ? "availability" : `latency-${sli.thresholdMs}ms`);

export interface TierBurn {
  tier: string;
  severity: AlertSeverity;
  /** The tier's threshold. */
  burnRate: number;
  longWindowMinutes: number;
  shortWindowMinutes: number;
  /** null: no events in that window. */
  longBurn: number | null;
  shortBurn: number | null;
  firing: boolean;
}

export interface SloEvaluation {
  /** good / total × 100 over the SLO window; null without events. */
  sliPercent: number | null;
  goodEvents: number;
  totalEvents: number;
  errorBudget: {
    /** 1 − objective. */
    allowedFraction: number;
    /** bad / allowedBad (above 1 when overspent). */
    consumedFraction: number;
    /** 1 − consumedFraction (negative when overspent). */
    leftFraction: number;
    /** Bad events the window allows: allowedFraction × its events (a calendar month: at the rate so far, to the month's end). */
    allowedBad: number;
    bad: number;
  };
  window: { from: number; to: number };
  burnRates: TierBurn[];
  /** The most severe firing tier (a page before a ticket, then the fastest burn), or null. */
  firing: TierBurn | null;
  explanation: string;
}

/** The SLO window ending with the minute of `now`, and its full length (a calendar month: the whole month). */
export function sloWindowOf(spec: Pick<SloSpec, "window">, now: number): { from: number; to: number; lengthMs: number } {
  const to = floorTo(now, MINUTE) + MINUTE;
  if (spec.window.calendar === "month") {
    const d = new Date(now);
    const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    return { from, to, lengthMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - from };
  }
  const lengthMs = spec.window.rolling.days * DAY;
  return { from: to - lengthMs, to, lengthMs };
}

/** Rounded to 6 decimals, and compared rounded: 0.006 / 0.001 is 6 however the floats fall. */
const burnOf = (sum: WindowSum, allowedFraction: number): number | null => (sum.total === 0 ? null : round((sum.total - sum.good) / sum.total / allowedFraction, 6));

const SEVERITY_RANK: Record<AlertSeverity, number> = { page: 2, ticket: 1 };

const minutesText = (minutes: number): string => (minutes % 1440 === 0 ? `${minutes / 1440} d` : minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`);
/** `43,200`, `43.2`: thousands separated by hand, as toLocaleString builds an Intl formatter per call. */
function countText(n: number): string {
  const [whole, fraction] = String(round(n, 2)).split(".");
  return `${whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${fraction === undefined ? "" : `.${fraction}`}`;
}

/** Error budget and burn rates of `spec` over `series` at `now`. */
export function evaluateSlo(spec: SloSpec, series: SloSeries, now: number): SloEvaluation {
  const allowedFraction = allowedFractionOf(spec.objectivePercent);
  const window = sloWindowOf(spec, now);
  const sum = sumWindow(series, window.from, window.to);
  const bad = sum.total - sum.good;
  // A calendar month's budget is for the whole month: the events so far, scaled to its length.
  const expectedEvents = spec.window.calendar === "month" ? (sum.total * window.lengthMs) / (window.to - window.from) : sum.total;
  const allowedBad = allowedFraction * expectedEvents;
  // The schema keeps the objective under 100 %, so allowedBad is 0 only without events (and then so is bad).
  const consumedFraction = allowedBad === 0 ? 0 : bad / allowedBad;

  const burnRates = spec.alertTiers.map((tier: AlertTier): TierBurn => {
    const longBurn = burnOf(sumWindow(series, window.to - tier.longWindowMinutes * MINUTE, window.to), allowedFraction);
    const shortBurn = burnOf(sumWindow(series, window.to - tier.shortWindowMinutes * MINUTE, window.to), allowedFraction);
    const firing = longBurn !== null && shortBurn !== null && longBurn >= tier.burnRate && shortBurn >= tier.burnRate;
    return { tier: tier.name, severity: tier.severity, burnRate: tier.burnRate, longWindowMinutes: tier.longWindowMinutes, shortWindowMinutes: tier.shortWindowMinutes, longBurn, shortBurn, firing };
  });
  let firing: TierBurn | null = null;
  for (const b of burnRates) {
    if (b.firing && (firing === null || SEVERITY_RANK[b.severity] > SEVERITY_RANK[firing.severity] || (b.severity === firing.severity && b.burnRate > firing.burnRate))) firing = b;
  }

  const sliPercent = sum.total === 0 ? null : round((sum.good / sum.total) * 100, 4);
  const errorBudget = {
    allowedFraction,
    consumedFraction: round(consumedFraction, 6),
    leftFraction: round(1 - consumedFraction, 6),
    allowedBad: round(allowedBad, 3),
    bad: round(bad, 3),
  };
  const windowText = spec.window.calendar === "month" ? `this calendar month (UTC)` : `the last ${spec.window.rolling.days} days`;
  const target = `objective ${spec.objectivePercent} %${spec.sli.kind === "latency" ? ` of checks within ${spec.sli.thresholdMs} ms` : " up"}`;
  let alerting: string;
  if (firing !== null) {
    alerting = `; ${firing.tier} (${firing.severity}) fires: ${firing.longBurn}× over ${minutesText(firing.longWindowMinutes)} and ${firing.shortBurn}× over ${minutesText(firing.shortWindowMinutes)}, at least ${firing.burnRate}×`;
  } else {
    const fastest = burnRates.filter((b) => b.longBurn !== null).sort((a, b) => b.longBurn! / b.burnRate - a.longBurn! / a.burnRate)[0];
    alerting = fastest === undefined ? "" : `; no tier fires (closest: ${fastest.tier} at ${fastest.longBurn}× of ${fastest.burnRate}× over ${minutesText(fastest.longWindowMinutes)})`;
  }
  const explanation =
    sum.total === 0
      ? `no events in ${windowText} yet (${target})`
      : `${sliPercent} % good over ${windowText} (${countText(sum.total)} events, ${target}): ${countText(bad)} bad of ${countText(allowedBad)} allowed, ` +
        `${Math.round((1 - consumedFraction) * 1000) / 10} % of the error budget left${alerting}`;

  return { sliPercent, goodEvents: round(sum.good, 3), totalEvents: round(sum.total, 3), errorBudget, window: { from: window.from, to: window.to }, burnRates, firing, explanation };
}
