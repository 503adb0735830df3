/**
 * The SLO step of a health run (pure): per environment, each SLI's slice of this run is added to
 * its series (availability always; nothing inside a maintenance window: planned work neither
 * spends nor earns budget),
 * each goal's SLOs are evaluated on them, firing burn-rate tiers become alert observations (a page
 * is critical, a ticket a warning), and an incident's cost to the budget is read off the series.
 */
import type { AlertObservation } from "./alerts";
import { availabilitySlice, emptySeries, evaluateSlo, latencySlice, recordSlice, sliKey, sumWindow, type SloEvaluation } from "./slo";
import type { Alert, Availability, CheckResult, GoalSloProgress } from "../schema/health";
import type { EffectiveGoal } from "../schema/environment-plan";
import { impliedAvailabilitySlo } from "../planner/expand";
import type { SloSeries, SloSpec } from "../schema/slo";

export interface EnvironmentSloInput {
  environmentId: string;
  environmentName: string;
  goals: readonly Pick<EffectiveGoal, "id" | "slos" | "successCriteria">[];
  availability: Availability;
  /** Minutes this run's availability sample stands for (goals.ts sampleMinutes). */
  minutes: number;
  checks: readonly CheckResult[];
  /** What is stored, per SLI key. */
  series: Readonly<Record<string, SloSeries>>;
  /** The maintenance window on at the sample, if any: nothing is recorded. */
  maintenance: { window: string; name: string } | null;
  at: number;
}

export interface EnvironmentSloResult {
  /** Every series touched (recorded or not), per SLI key: what to store. */
  series: Record<string, SloSeries>;
  evaluations: Array<{ goalId: string; key: string; spec: SloSpec; evaluation: SloEvaluation }>;
}

/** A goal's SLOs; a stored plan compiled before goals carried them gets the one its uptime target implies. */
export function slosOf(goal: Pick<EffectiveGoal, "slos" | "successCriteria">): SloSpec[] {
  if (Array.isArray(goal.slos)) return goal.slos;
  const uptime = goal.successCriteria.uptimePercent;
  return uptime === null ? [] : [impliedAvailabilitySlo(uptime)];
}

export function recordAndEvaluate(input: EnvironmentSloInput): EnvironmentSloResult {
  const series: Record<string, SloSeries> = {};
  const specs = input.goals.flatMap((g) => slosOf(g).map((spec) => ({ goalId: g.id, spec, key: sliKey(spec.sli) })));
  // Availability is always recorded, goals or not: bakes and incidents' costs read it too.
  const slis = [{ sli: { kind: "availability" } as SloSpec["sli"], key: "availability" }, ...specs.map(({ spec, key }) => ({ sli: spec.sli, key }))];
  for (const { sli, key } of slis) {
    if (series[key] !== undefined) continue;
    let s = input.series[key] ?? emptySeries();
    if (input.maintenance === null) {
      const slice = sli.kind === "availability" ? availabilitySlice(input.availability, input.minutes) : latencySlice(input.checks, sli.thresholdMs);
      if (slice !== null && slice.total > 0) s = recordSlice(s, input.at, slice.good, slice.total);
    }
    series[key] = s;
  }
  return { series, evaluations: specs.map(({ goalId, spec, key }) => ({ goalId, key, spec, evaluation: evaluateSlo(spec, series[key]!, input.at) })) };
}

/** What a goal's progress shows of each SLO: the objective, the budget left and every tier's burn. */
export function sloProgress(e: EnvironmentSloResult["evaluations"][number]): GoalSloProgress {
  const ev = e.evaluation;
  return {
    key: e.key,
    sli: e.spec.sli.kind === "availability" ? "availability" : `p${e.spec.sli.percentile} ≤ ${e.spec.sli.thresholdMs} ms`,
    objectivePercent: e.spec.objectivePercent,
    sliPercent: ev.sliPercent,
    errorBudgetLeftFraction: ev.errorBudget.leftFraction,
    burnRates: ev.burnRates.map((b) => ({ tier: b.tier, severity: b.severity, burnRate: b.burnRate, longBurn: b.longBurn, shortBurn: b.shortBurn, firing: b.firing })),
    firing: ev.firing?.tier ?? null,
    explanation: ev.explanation,
  };
}

/**
 * Per goal SLO, one observation per severity it has tiers of (a page and a ticket are different
 * alerts, as on an SRE team's pager and queue): failing while a tier of that severity fires, opened
 * at once (the burn windows already aggregate), resolved when none fires.
 */
export function sloObservations(environmentId: string, environmentName: string, evaluations: EnvironmentSloResult["evaluations"]): AlertObservation[] {
  const out: AlertObservation[] = [];
  for (const { goalId, key, evaluation } of evaluations) {
    for (const severity of ["page", "ticket"] as const) {
      const tiers = evaluation.burnRates.filter((b) => b.severity === severity);
      if (tiers.length === 0) continue;
      const firing = tiers.filter((b) => b.firing).sort((a, b) => (b.longBurn ?? 0) - (a.longBurn ?? 0))[0];
      out.push({
        key: `slo:${goalId}:${key}:${environmentId}:${severity}`,
        kind: "goal",
        failing: firing !== undefined,
        severity: severity === "page" ? "critical" : "warning",
        environmentId,
        integration: null,
        title: `${environmentName} burns its ${key} budget (${severity}${firing === undefined ? "" : `: ${firing.tier}`})`,
        message: evaluation.explanation,
        immediate: true,
      });
    }
  }
  return out;
}

/**
 * What an incident cost its environment's availability budget: the bad minutes of the series from
 * its start to its end (or `now`), and that share of what the SLO's window allows.
 */
export function budgetCostOf(alert: Pick<Alert, "firstSeen" | "resolvedAt">, availability: SloSeries | undefined, allowedBad: number | null, now: number): Alert["budgetCost"] {
  if (availability === undefined) return null;
  const sum = sumWindow(availability, alert.firstSeen, alert.resolvedAt ?? now);
  const minutes = Math.round((sum.total - sum.good) * 10) / 10;
  return { minutes, fraction: allowedBad === null || allowedBad <= 0 ? null : Math.round((minutes / allowedBad) * 1e4) / 1e4 };
}
