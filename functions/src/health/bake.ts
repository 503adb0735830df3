/**
 * A bake's verdict (pure): after an environment's verify, the plan watches its availability SLO
 * for `minutes` before the next tier starts. A page tier firing fails it at once; the minutes
 * passing with observations and no page passes it; minutes without any observation are no
 * evidence, and fail it. The numbers go with the verdict (the task's output or error).
 */
import type { SloEvaluation, WindowSum } from "./slo";

export interface BakeParams {
  projectId: string;
  environment: string;
  minutes: number;
}

export type BakeVerdict =
  | { outcome: "succeeded"; output: Record<string, unknown> }
  | { outcome: "failed"; error: string; output: Record<string, unknown> }
  | null;

const pct = (x: number | null): string => (x === null ? "—" : `${Math.round(x * 1e4) / 1e4} %`);

/** `observed`: the good and total slices recorded since the bake began. */
export function bakeVerdict(bake: BakeParams, startedAt: number, evaluation: SloEvaluation, observed: WindowSum, now: number): BakeVerdict {
  const elapsedMinutes = Math.round((now - startedAt) / 600) / 100;
  const numbers = {
    environment: bake.environment,
    projectId: bake.projectId,
    minutes: bake.minutes,
    elapsedMinutes,
    observed: { good: observed.good, total: observed.total },
    sliPercent: evaluation.sliPercent,
    burnRates: evaluation.burnRates.map((b) => ({ tier: b.tier, severity: b.severity, burnRate: b.burnRate, longBurn: b.longBurn, shortBurn: b.shortBurn, firing: b.firing })),
  };
  const page = evaluation.burnRates.find((b) => b.firing && b.severity === "page");
  if (page !== undefined) {
    return {
      outcome: "failed",
      error: `bake of ${bake.environment} failed after ${elapsedMinutes} min: its availability burns the error budget at ${page.longBurn}× over ${page.longWindowMinutes} min and ${page.shortBurn}× over ${page.shortWindowMinutes} min, at or above the ${page.tier} tier (${page.burnRate}×); availability ${pct(evaluation.sliPercent)}`,
      output: numbers,
    };
  }
  if (now - startedAt < bake.minutes * 60_000) return null;
  if (observed.total === 0) {
    return { outcome: "failed", error: `bake of ${bake.environment} failed: no health run observed it in ${elapsedMinutes} min, so there is no evidence it is healthy`, output: numbers };
  }
  return { outcome: "succeeded", output: numbers };
}
