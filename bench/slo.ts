/**
 * SLO benchmark: one health run's SLO evaluation for 10 environments × 50 SLOs, each SLO with its
 * own series of 30 days of 1-minute history (500 series, built before timing): the error budget
 * over its window and the burn rates of the default tiers (7 window sums per SLO). The SLOs vary
 * in objective (99 to 99.99 %), window (7, 28, 30 days rolling, the calendar month) and SLI
 * (availability, latency); each environment's history has its own outages and each SLO's series
 * its own bad slices on top, so no two series are alike.
 * The figure is the median of several runs after a warm-up.
 */
import { performance } from "node:perf_hooks";
import { emptySeries, evaluateSlo, recordSlice } from "../functions/src/health/slo";
import { sloSpecSchema, type SloSeries, type SloSpec } from "../functions/src/schema/slo";
import type { BenchFigure } from "./planner";

const ENVIRONMENTS = 10;
const SLOS = 50;
const RUNS = 7;
const MIN = 60_000;
const DAYS = 30;
/** A whole hour, so every environment's history covers the same minutes. */
const START = Date.UTC(2026, 0, 1);
const NOW = START + DAYS * 1440 * MIN - MIN;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** SLO number `i` of an environment: a deterministic mix of objectives, windows and SLIs. */
function specOf(i: number): SloSpec {
  const objectives = [99, 99.5, 99.9, 99.95, 99.99];
  const windows = [{ rolling: { days: 30 } }, { rolling: { days: 28 } }, { rolling: { days: 7 } }, { calendar: "month" as const }];
  const window = windows[i % windows.length]!;
  return i % 5 === 4
    ? sloSpecSchema.parse({ sli: { kind: "latency", thresholdMs: 200 + (i % 3) * 100, percentile: 95 }, window })
    : sloSpecSchema.parse({ sli: { kind: "availability" }, objectivePercent: objectives[i % objectives.length], window });
}

/** 30 days of one slice a minute (20 checks a minute for a latency SLI), with short outages where `seed` puts them. */
function historyOf(seed: number, latency: boolean): SloSeries {
  let series = emptySeries();
  let state = seed + 1;
  for (let m = 0; m < DAYS * 1440; m++) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const bad = state % 2_000 === 0;
    series = latency ? recordSlice(series, START + m * MIN, bad ? 14 : 20, 20) : recordSlice(series, START + m * MIN, bad ? 0 : 1, 1);
  }
  return series;
}

/** The environment's history plus bad slices of this SLO's own (so each of the 500 series differs), some in the last hour. */
function variantOf(base: SloSeries, seed: number, latency: boolean): SloSeries {
  let series = base;
  for (let k = 0; k < 1 + (seed % 20); k++) {
    const minute = DAYS * 1440 - 1 - ((seed * 7_919 + k * 104_729) % (k % 2 === 0 ? 60 : DAYS * 1440));
    series = recordSlice(series, START + minute * MIN, 0, latency ? 20 : 1);
  }
  return series;
}

export async function benchSlo(): Promise<Record<string, BenchFigure>> {
  const slos: Array<{ spec: SloSpec; series: SloSeries }> = [];
  for (let env = 0; env < ENVIRONMENTS; env++) {
    const availability = historyOf(env, false);
    const latency = historyOf(env + ENVIRONMENTS, true);
    for (let i = 0; i < SLOS; i++) {
      const spec = specOf(i);
      const isLatency = spec.sli.kind === "latency";
      slos.push({ spec, series: variantOf(isLatency ? latency : availability, env * SLOS + i, isLatency) });
    }
  }
  const evaluateAll = (): number => {
    let firing = 0;
    for (const { spec, series } of slos) {
      const e = evaluateSlo(spec, series, NOW);
      if (e.totalEvents === 0) throw new Error("benchmark series is empty");
      if (e.firing !== null) firing += 1;
    }
    return firing;
  };
  evaluateAll();
  const samples: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    evaluateAll();
    samples.push(performance.now() - start);
  }
  return {
    "health.slo_eval_10x50_ms": {
      value: Math.round(median(samples) * 100) / 100,
      unit: "ms",
      goal: "< 200 ms: error budget + default burn-rate tiers of 10 environments × 50 SLOs over 30 days of 1-minute history",
    },
  };
}
