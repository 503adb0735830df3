/**
 * Forecasts from the run history: an ordinary least-squares line per series (latency per
 * environment, error budget per goal, cost per plan), the day it crosses its limit, and how far to
 * trust it. Honest by construction: no forecast from fewer than `MIN_POINTS` points or less than
 * `MIN_SPAN_MS` of history, R² reported with every line, no crossing claimed when the line moves
 * away from the limit, and a caveat when the projection reaches far beyond the data.
 */
import type { ForecastItem, SeriesPoint } from "../schema/health";
import { DAY_MS } from "./goals";

export const MIN_POINTS = 6;
export const MIN_SPAN_MS = 30 * 60_000;
const HORIZON_MS = 365 * DAY_MS;

export interface LineFit {
  /** Per ms. */
  slope: number;
  intercept: number;
  r2: number | null;
}

/** Least squares of y on x; r2 null when y is constant (a flat line explains nothing and everything). */
export function fitLine(points: ReadonlyArray<{ x: number; y: number }>): LineFit | null {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
    syy += (p.y - my) ** 2;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? null : (sxy * sxy) / (sxx * syy) };
}

const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;
const date = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC";

interface SeriesSpec {
  id: string;
  metric: ForecastItem["metric"];
  label: string;
  unit: string;
  points: Array<{ x: number; y: number }>;
  limit: number | null;
  /** Which way is bad: crossing upwards (latency, cost) or downwards (budget). */
  badDirection: "up" | "down";
}

export function forecastSeries(spec: SeriesSpec, now: number): ForecastItem | null {
  const pts = spec.points;
  if (pts.length < MIN_POINTS) return null;
  const span = pts[pts.length - 1]!.x - pts[0]!.x;
  if (span < MIN_SPAN_MS) return null;
  const fit = fitLine(pts);
  if (fit === null) return null;
  const current = pts[pts.length - 1]!.y;
  const perDay = fit.slope * DAY_MS;
  let crossesAt: number | null = null;
  if (spec.limit !== null && fit.slope !== 0) {
    const towards = spec.badDirection === "up" ? fit.slope > 0 : fit.slope < 0;
    const alreadyPast = spec.badDirection === "up" ? current > spec.limit : current < spec.limit;
    if (alreadyPast) crossesAt = now;
    else if (towards) {
      const t = (spec.limit - fit.intercept) / fit.slope;
      if (t <= now + HORIZON_MS) crossesAt = Math.max(now, Math.round(t));
    }
  }
  const r2 = fit.r2 === null ? null : round(fit.r2, 3);
  const basis = `${pts.length} runs over ${(span / 3_600_000).toFixed(1)} h, R² ${r2 ?? "n/a (flat)"}`;
  const moving = Math.abs(perDay) < 1e-9 ? "is flat" : `${perDay > 0 ? "rises" : "falls"} ${round(Math.abs(perDay), 2)} ${spec.unit}/day`;
  let outlook: string;
  if (spec.limit === null) outlook = "no limit to compare with";
  else if (crossesAt === null) outlook = `not heading for the limit of ${round(spec.limit, 2)} ${spec.unit} within a year`;
  else if (crossesAt <= now) outlook = `already past the limit of ${round(spec.limit, 2)} ${spec.unit}`;
  else outlook = `reaches the limit of ${round(spec.limit, 2)} ${spec.unit} around ${date(crossesAt)}`;
  const caveat = crossesAt !== null && crossesAt > now && crossesAt - now > 10 * span ? " (an extrapolation far beyond the history: treat as a hint)" : "";
  const weak = r2 !== null && r2 < 0.3 ? " (a line explains little of this noise)" : "";
  return {
    id: spec.id,
    metric: spec.metric,
    points: pts.length,
    spanHours: round(span / 3_600_000, 2),
    slopePerDay: round(perDay, 4),
    current: round(current, 3),
    limit: spec.limit,
    crossesAt,
    r2,
    explanation: `${spec.label} ${moving} (${basis}); ${outlook}${caveat}${weak}.`,
  };
}

export interface ForecastLimits {
  slowMs: number;
  /** Per plan id: its budget in USD, or null. */
  budgets: Readonly<Record<string, number | null>>;
}

/** Every forecast the history supports, from oldest-first series points. */
export function forecastAll(series: readonly SeriesPoint[], limits: ForecastLimits, now: number): ForecastItem[] {
  const collect = (pick: (p: SeriesPoint) => Record<string, number | null>): Map<string, Array<{ x: number; y: number }>> => {
    const out = new Map<string, Array<{ x: number; y: number }>>();
    for (const p of series) {
      for (const [key, value] of Object.entries(pick(p))) {
        if (value === null || !Number.isFinite(value)) continue;
        let list = out.get(key);
        if (list === undefined) out.set(key, (list = []));
        list.push({ x: p.at, y: value });
      }
    }
    return out;
  };
  const items: ForecastItem[] = [];
  for (const [env, points] of collect((p) => p.latencyMs)) {
    const f = forecastSeries({ id: `latency:${env}`, metric: "latency_ms", label: `median HTTP latency of ${env}`, unit: "ms", points, limit: limits.slowMs, badDirection: "up" }, now);
    if (f) items.push(f);
  }
  for (const [key, points] of collect((p) => p.budgetLeft)) {
    const f = forecastSeries({ id: `errorBudget:${key}`, metric: "error_budget_minutes", label: `error budget left of ${key}`, unit: "min", points, limit: 0, badDirection: "down" }, now);
    if (f) items.push(f);
  }
  for (const [planId, points] of collect((p) => p.costUsd)) {
    const f = forecastSeries(
      { id: `cost:${planId}`, metric: "monthly_cost_usd", label: `estimated monthly cost of plan ${planId}`, unit: "USD", points, limit: limits.budgets[planId] ?? null, badDirection: "up" },
      now,
    );
    if (f) items.push(f);
  }
  return items;
}
