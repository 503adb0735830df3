/**
 * Estimates learned from history, as statistics whose numbers are shown: each provision's duration
 * per integration × environment tier (`hosting@production`) from the finished attempts of earlier
 * runs (median and p90, with the sample count), the catalogue's estimate until there are
 * MIN_SAMPLES; a duration far outside what was seen flagged with a robust statistic (median and
 * MAD, which one slow outlier does not drag along as a mean and standard deviation would); and
 * recommendations from observed retry rates, each citing its counts. Pure.
 */
import type { Recommendation } from "./recommendations";

/** One finished task of one run: how long its last attempt took, how many attempts it needed, and whether one timed out. */
export interface DurationSample {
  /** Seconds of the attempt that succeeded. */
  s: number;
  /** Attempts it took (1: no retry). */
  a: number;
  /** Whether an earlier attempt timed out. */
  t?: boolean;
  /** When it finished (epoch ms). */
  at: number;
}

/** Recent samples per `integration@tier`, newest last, at most MAX_SAMPLES each. */
export type DurationStats = Readonly<Record<string, readonly DurationSample[]>>;

export const MAX_SAMPLES = 50;
/** Fewer samples than this, and the catalogue's estimate stands: a median of two runs predicts little. */
export const MIN_SAMPLES = 5;
/** A duration this many scaled MADs above the median is an anomaly (3 is the usual robust z cut-off). */
export const ANOMALY_Z = 3.5;
/** MAD × 1.4826 estimates the standard deviation of normally distributed data. */
const MAD_SCALE = 1.4826;
/** Retry recommendations look at this many recent runs, and speak from this many retried ones. */
export const RETRY_WINDOW = 10;
export const RETRY_RECOMMEND_AT = 3;

export const statsKey = (integration: string, tier: string): string => `${integration}@${tier}`;

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The `q` quantile (0…1) of sorted values, by linear interpolation between closest ranks. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 1) return sorted[0]!;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface Summary {
  samples: number;
  medianSeconds: number;
  p90Seconds: number;
  /** Median absolute deviation from the median, in seconds. */
  madSeconds: number;
}

export function summarise(samples: readonly DurationSample[]): Summary | null {
  if (samples.length === 0) return null;
  const values = samples.map((x) => x.s).sort((a, b) => a - b);
  const median = quantile(values, 0.5);
  const deviations = values.map((v) => Math.abs(v - median)).sort((a, b) => a - b);
  return { samples: values.length, medianSeconds: round(median), p90Seconds: round(quantile(values, 0.9)), madSeconds: round(quantile(deviations, 0.5), 2) };
}

/** Where a task's planned duration came from, shown with its numbers. */
export type Estimate = { source: "catalogue"; seconds: number; samples: number } | ({ source: "history"; seconds: number } & Summary);

/** The planned duration of `key`: the median of its history once it has MIN_SAMPLES, else the catalogue's. */
export function estimateFor(key: string, catalogueSeconds: number, stats: DurationStats | undefined): Estimate {
  const summary = summarise(stats?.[key] ?? []);
  if (summary === null || summary.samples < MIN_SAMPLES) return { source: "catalogue", seconds: catalogueSeconds, samples: summary?.samples ?? 0 };
  return { source: "history", seconds: Math.max(1, summary.medianSeconds), ...summary };
}

export interface Anomaly {
  key: string;
  seconds: number;
  medianSeconds: number;
  madSeconds: number;
  /** (seconds − median) / (1.4826 × MAD) */
  robustZ: number;
  explanation: string;
}

/** How far `value` lies above `prior` values in robust standard deviations ((value − median) / (1.4826 × MAD)); null with fewer than MIN_SAMPLES. A MAD of 0 (all the same) counts a doubling as infinitely far. */
export function robustZ(value: number, prior: readonly number[], minExcess = 1): { z: number; median: number; mad: number } | null {
  if (prior.length < MIN_SAMPLES) return null;
  const sorted = [...prior].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const mad = quantile(sorted.map((v) => Math.abs(v - median)).sort((a, b) => a - b), 0.5);
  const spread = MAD_SCALE * mad;
  const z = spread > 0 ? (value - median) / spread : value > 2 * median && value - median > minExcess ? Number.POSITIVE_INFINITY : 0;
  return { z, median, mad };
}

/**
 * Whether `seconds` is far above what `key` took before (its prior samples, at least MIN_SAMPLES):
 * a robust z-score over ANOMALY_Z. With a MAD of 0 (every sample the same) a duration counts as
 * anomalous only when it is more than twice the median and 1 s longer.
 */
export function durationAnomaly(key: string, seconds: number, prior: readonly DurationSample[]): Anomaly | null {
  const summary = summarise(prior);
  const stat = robustZ(seconds, prior.map((p) => p.s));
  if (summary === null || stat === null) return null;
  const z = stat.z;
  if (z <= ANOMALY_Z) return null;
  const zShown = Number.isFinite(z) ? round(z, 1) : 999;
  return {
    key,
    seconds: round(seconds),
    medianSeconds: summary.medianSeconds,
    madSeconds: summary.madSeconds,
    robustZ: zShown,
    explanation: `${key} took ${round(seconds)} s; its last ${summary.samples} runs took a median of ${summary.medianSeconds} s (MAD ${summary.madSeconds} s), so this is ${Number.isFinite(z) ? `${zShown} robust standard deviations` : "far"} above (flagged above ${ANOMALY_Z})`,
  };
}

/** Recommendations from retry rates: a key retried in RETRY_RECOMMEND_AT or more of its last RETRY_WINDOW runs, citing the counts. */
export function retryRecommendations(stats: DurationStats | undefined, keys: ReadonlyArray<{ key: string; taskId: string; timeoutSeconds: number | null }>): Recommendation[] {
  const out: Recommendation[] = [];
  for (const { key, taskId, timeoutSeconds } of keys) {
    const recent = (stats?.[key] ?? []).slice(-RETRY_WINDOW);
    const retried = recent.filter((x) => x.a > 1);
    if (recent.length === 0 || retried.length < RETRY_RECOMMEND_AT) continue;
    const timedOut = retried.filter((x) => x.t === true).length;
    const p90 = summarise(recent)?.p90Seconds ?? 0;
    const advice =
      timedOut > 0 && timeoutSeconds !== null
        ? `${timedOut} of them timed out: raise its timeout from ${timeoutSeconds} s to ${Math.max(timeoutSeconds * 2, Math.ceil((p90 * 3) / 10) * 10)} s`
        : "its first attempts fail transiently: look at the errors in those runs' history (quota or API availability), or raise its retry backoff";
    out.push({ source: `history:${key}`, message: `${taskId} was retried in ${retried.length} of its last ${recent.length} runs (${key}): ${advice}` });
  }
  return out;
}
