/**
 * Check latency far outside an environment's own recent history, flagged with a robust statistic
 * (median and MAD of its last runs: one slow run earlier does not hide the next, as a mean and
 * standard deviation would let it), with the numbers. Pure.
 */
import { ANOMALY_Z, robustZ } from "../planner/estimates";
import type { LatencyAnomaly, SeriesPoint } from "../schema/health";

/** Runs looked back at. */
export const LATENCY_HISTORY = 50;
/** Below this many milliseconds above the median, a jump is noise however many deviations it is. */
export const LATENCY_MIN_EXCESS_MS = 50;

export function latencyAnomalies(series: readonly SeriesPoint[], latency: Readonly<Record<string, number | null>>, names: ReadonlyMap<string, string>): LatencyAnomaly[] {
  const out: LatencyAnomaly[] = [];
  const recent = series.slice(-LATENCY_HISTORY);
  for (const [environmentId, now] of Object.entries(latency)) {
    if (now === null) continue;
    const prior = recent.map((p) => p.latencyMs[environmentId]).filter((v): v is number => typeof v === "number");
    const stat = robustZ(now, prior, LATENCY_MIN_EXCESS_MS);
    if (stat === null || stat.z <= ANOMALY_Z || now - stat.median < LATENCY_MIN_EXCESS_MS) continue;
    const z = Number.isFinite(stat.z) ? Math.round(stat.z * 10) / 10 : 999;
    const name = names.get(environmentId) ?? environmentId;
    out.push({
      environmentId,
      latencyMs: Math.round(now),
      medianMs: Math.round(stat.median),
      madMs: Math.round(stat.mad * 10) / 10,
      robustZ: z,
      explanation: `${name}'s median check latency is ${Math.round(now)} ms; over its last ${prior.length} runs it was ${Math.round(stat.median)} ms (MAD ${Math.round(stat.mad * 10) / 10} ms), so this is ${z === 999 ? "far" : `${z} robust standard deviations`} above (flagged above ${ANOMALY_Z})`,
    });
  }
  return out;
}
