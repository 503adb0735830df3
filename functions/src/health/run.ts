/**
 * One health run, start to finish, over injected storage, probes, publisher and clock:
 * lease → load → check everything in parallel → availability samples and daily rollups → goal
 * progress → compliance → alerts (hysteresis) → forecast → one commit → publish alert changes →
 * prune old reports → release. The triggers (triggers/health-run.ts) wire it to Firestore and the
 * Google clients; the bench and unit tests wire it to memory.
 */
import type {
  Alert,
  AlertMessage,
  Availability,
  CheckResult,
  ComplianceResult,
  EnvironmentHealth,
  EnvironmentReport,
  GoalProgress,
  HealthReport,
  SeriesPoint,
  TrackerState,
  UptimeDay,
} from "../schema/health";
import { advanceAlerts, type AlertObservation } from "./alerts";
import { AVAILABILITY_KINDS, integrationHealth, isFailing, runChecks, worstStatus, type CheckSpec, type Probes } from "./checks";
import { budgetCompliance, environmentCompliance, planCost, type PlanCost } from "./compliance";
import type { HealthConfig } from "./config";
import { planEnvironmentChecks, presentIntegrations, type EnvironmentInput, type PlanContext } from "./environments";
import { latencyAnomalies } from "./anomalies";
import { forecastAll } from "./forecast";
import { budgetCostOf, recordAndEvaluate, sloObservations, sloProgress } from "./slo-run";
import type { SloSeries } from "../schema/slo";
import { addSample, dayOf, emptyDay, expiredDays, goalProgress, sampleMinutes, DAY_MS } from "./goals";

export type BeginResult = { ok: true } | { ok: false; reason: string };

export interface RunState {
  tracker: TrackerState;
  openAlerts: Alert[];
  series: SeriesPoint[];
}

export interface EnvironmentWrite {
  id: string;
  health: EnvironmentHealth;
  /** Rollups to set (whole day objects). */
  days: UptimeDay[];
  /** Rollup dates to delete (past retention). */
  removeDays: string[];
  /** SLO series to store, per SLI key (absent: none). */
  slo?: Record<string, SloSeries>;
}

export interface RunCommit {
  report: HealthReport;
  environments: EnvironmentWrite[];
  alerts: Alert[];
  tracker: TrackerState;
  series: SeriesPoint[];
}

/** Where a run keeps its state; store/health.ts is the Firestore one, memory-store.ts the in-memory one. */
export interface HealthStore {
  /** Takes the run lease for `runId`, unless another live run holds it or `runId` already reported. */
  begin(runId: string, now: number, leaseMs: number): Promise<BeginResult>;
  loadEnvironments(): Promise<EnvironmentInput[]>;
  loadState(): Promise<RunState>;
  /** Writes everything of the run; creating the report fails when it exists (no double write). */
  commit(commit: RunCommit): Promise<void>;
  /** Deletes at most `limit` reports that started before `before`; returns how many. */
  pruneReports(before: number, limit: number): Promise<number>;
  end(runId: string): Promise<void>;
}

export interface RunDeps {
  store: HealthStore;
  probes: Probes;
  publishAlerts(messages: AlertMessage[]): Promise<void>;
  now(): number;
  config: HealthConfig;
  /** Called with what went wrong where a run carries on (publish, prune). */
  warn?(message: string): void;
}

export interface RunRequest {
  runId: string;
  trigger: HealthReport["trigger"];
  requestedBy: string | null;
}

export type RunOutcome = { kind: "done"; report: HealthReport; pruned: number } | { kind: "skipped"; reason: string };

/** A Firestore-safe run id from the schedule time: the same tick delivered twice has the same id. */
export function scheduledRunId(scheduleTime: string | number): string {
  const ms = typeof scheduleTime === "number" ? scheduleTime : Date.parse(scheduleTime);
  if (!Number.isFinite(ms)) throw new Error(`schedule time "${String(scheduleTime)}" is not a date`);
  return `sched-${new Date(ms).toISOString().replace(/[-:.]/g, "")}`;
}

export const requestRunId = (messageId: string): string => `req-${messageId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 120)}`;

function availabilityOf(results: readonly CheckResult[]): Availability {
  const relevant = results.filter((r) => AVAILABILITY_KINDS.has(r.kind) && r.status !== "skipped");
  if (relevant.some((r) => r.status === "down" || r.status === "timeout")) return "down";
  if (relevant.some((r) => r.status === "ok" || r.status === "degraded")) return "up";
  return "unknown";
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** `items` by `key`, each group in the items' order. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [item]);
    else group.push(item);
  }
  return groups;
}

/** A check's expected duration: its integration's latency in the previous run (the slowest of its checks), when there was one. */
function lastLatency(environments: readonly EnvironmentInput[]): (spec: CheckSpec) => number | undefined {
  const previous = new Map(environments.map((env) => [env.id, env.health?.integrations ?? {}]));
  return (spec) => {
    const integrations = previous.get(spec.environmentId);
    return integrations !== undefined && Object.hasOwn(integrations, spec.integration) ? integrations[spec.integration]!.latencyMs : undefined;
  };
}

const checkSeverity = (r: CheckResult): Alert["severity"] => (r.status === "down" || r.status === "timeout" ? "critical" : "warning");

function observations(results: readonly CheckResult[], goals: readonly GoalProgress[], compliance: readonly ComplianceResult[]): AlertObservation[] {
  const out: AlertObservation[] = [];
  for (const r of results) {
    if (r.status === "skipped") continue;
    out.push({
      key: `check:${r.id}`,
      kind: "check",
      failing: isFailing(r.status),
      severity: checkSeverity(r),
      environmentId: r.environmentId,
      integration: r.integration,
      title: `${r.environmentId} ${r.integration} ${r.kind} check is ${r.status}`,
      message: r.message ?? r.status,
      immediate: false,
    });
  }
  for (const g of goals) {
    if (g.status === "unknown") continue;
    out.push({
      key: `goal:${g.goalId}:${g.environmentId}`,
      kind: "goal",
      failing: g.status === "at_risk" || g.status === "missed",
      severity: g.status === "missed" ? "critical" : "warning",
      environmentId: g.environmentId,
      integration: null,
      title: `goal ${g.goalId} on ${g.environment} is ${g.status.replace("_", " ")}`,
      message: g.explanation,
      immediate: true,
    });
  }
  for (const c of compliance) {
    out.push({
      key: `compliance:${c.id}:${c.scope}`,
      kind: "compliance",
      failing: c.status !== "pass",
      severity: c.status === "fail" ? "critical" : "warning",
      environmentId: c.scope.startsWith("plan:") ? null : c.scope,
      integration: null,
      title: `${c.id} compliance ${c.status === "fail" ? "fails" : "warns"} for ${c.scope}`,
      message: c.reason,
      immediate: true,
    });
  }
  return out;
}

export async function performHealthRun(deps: RunDeps, request: RunRequest): Promise<RunOutcome> {
  const { store, config } = deps;
  const startedAt = deps.now();
  const begun = await store.begin(request.runId, startedAt, config.leaseMs);
  if (!begun.ok) return { kind: "skipped", reason: begun.reason };
  try {
    const [environments, state] = await Promise.all([store.loadEnvironments(), store.loadState()]);

    // 1. Every check of every environment at once, the slowest last time first.
    const planned = environments.map((env) => planEnvironmentChecks(env, config, startedAt));
    const deadline = startedAt + config.runDeadlineMs;
    const results = await runChecks(
      planned.flatMap((p) => p.specs),
      deps.probes,
      { checkTimeoutMs: config.checkTimeoutMs, deadline, now: deps.now, expectedMs: lastLatency(environments) },
    );
    const sampleAt = deps.now();
    const byEnv = new Map<string, CheckResult[]>();
    for (const r of [...planned.flatMap((p) => p.known), ...results]) {
      let list = byEnv.get(r.environmentId);
      if (list === undefined) byEnv.set(r.environmentId, (list = []));
      list.push(r);
    }

    // 2. Per environment: status, availability sample, rollups, goals, compliance.
    const envReports: EnvironmentReport[] = [];
    const envWrites: EnvironmentWrite[] = [];
    const goals: GoalProgress[] = [];
    const compliance: ComplianceResult[] = [];
    const latency: Record<string, number | null> = {};
    const plans = new Map<string, { context: PlanContext; members: Array<{ plan: PlanContext; present: string[] }> }>();
    const sloObserved: AlertObservation[] = [];
    const sloOf = new Map<string, { availability: SloSeries | undefined; allowedBad: number | null }>();
    for (const env of environments) {
      const checks = (byEnv.get(env.id) ?? []).sort((a, b) => a.id.localeCompare(b.id));
      const byIntegration = groupBy(checks, (c) => c.integration);
      const integrations = [...byIntegration.keys()].sort().map((name) => integrationHealth(name, byIntegration.get(name)!));
      const status = worstStatus(checks.map((c) => c.status));
      const availability = availabilityOf(checks);
      const minutes = sampleMinutes(env.health?.lastSampleAt ?? null, sampleAt, config);
      const date = dayOf(sampleAt);
      const day = addSample(env.uptimeDays[date] ?? emptyDay(date), availability, minutes);
      const days = { ...env.uptimeDays, [date]: day };
      const removeDays = expiredDays(days, sampleAt, config.rollupRetentionDays);
      for (const d of removeDays) delete days[d];

      const envGoals: GoalProgress[] = [];
      for (const goal of env.plan?.goals ?? []) {
        const progress = goalProgress(
          { goalId: goal.id, uptimePercent: goal.successCriteria.uptimePercent, maxDowntimeMinutes: goal.successCriteria.maxDowntimeMinutes },
          { id: env.id, name: env.plan!.environment.name },
          days,
          sampleAt,
          config,
        );
        if (progress !== null) envGoals.push(progress);
      }
      // Its SLOs: this run's slices recorded (none in a maintenance window), each goal's evaluated.
      const slo = recordAndEvaluate({
        environmentId: env.id,
        environmentName: env.plan?.environment.name ?? env.id,
        goals: env.plan?.goals ?? [],
        availability,
        minutes,
        checks,
        series: env.slo ?? {},
        maintenance: env.maintenance ?? null,
        at: sampleAt,
      });
      for (const g of envGoals) g.slos = slo.evaluations.filter((e) => e.goalId === g.goalId).map(sloProgress);
      sloObserved.push(...sloObservations(env.id, env.plan?.environment.name ?? env.id, slo.evaluations));
      const availabilityEval = slo.evaluations.find((e) => e.key === "availability");
      sloOf.set(env.id, { availability: slo.series.availability, allowedBad: availabilityEval?.evaluation.errorBudget.allowedBad ?? null });
      goals.push(...envGoals);
      const present = presentIntegrations(env);
      compliance.push(...environmentCompliance(env, present));
      if (env.plan !== null) {
        const entry = plans.get(env.plan.planId) ?? { context: env.plan, members: [] };
        entry.members.push({ plan: env.plan, present });
        plans.set(env.plan.planId, entry);
      }
      latency[env.id] = median(checks.filter((c) => c.kind === "http" && (c.status === "ok" || c.status === "degraded")).map((c) => c.latencyMs));

      envReports.push({
        environmentId: env.id,
        environment: env.plan?.environment.name ?? null,
        planId: env.plan?.planId ?? null,
        status,
        availability,
        configError: env.configError,
        integrations,
        checks,
      });
      envWrites.push({
        id: env.id,
        health: {
          status,
          availability,
          runId: request.runId,
          checkedAt: sampleAt,
          lastSampleAt: sampleAt,
          integrations: Object.fromEntries(integrations.map((i) => [i.integration, i])),
          goals: envGoals,
          configError: env.configError,
          environment: env.plan === null ? null : { name: env.plan.environment.name, tier: env.plan.environment.tier },
        },
        days: [day],
        removeDays,
        slo: slo.series,
      });
    }
    const costs: PlanCost[] = [];
    const budgets: Record<string, number | null> = {};
    for (const [planId, { context, members }] of plans) {
      const cost = planCost(planId, members);
      costs.push(cost);
      budgets[planId] = context.constraints.budgetUsdPerMonth;
      const item = budgetCompliance(cost, context.constraints);
      if (item !== null) compliance.push(item);
    }

    // 3. Alerts, series, forecast.
    const allChecks = envReports.flatMap((e) => e.checks);
    const changes = advanceAlerts(state.tracker, state.openAlerts, [...observations(allChecks, goals, compliance), ...sloObserved], {
      now: sampleAt,
      runId: request.runId,
      policy: { openAfterFailures: config.openAfterFailures, resolveAfterSuccesses: config.resolveAfterSuccesses },
    });
    // Each incident written carries what it cost its environment's availability budget so far.
    for (const alert of changes.writes) {
      const env = alert.environmentId === null ? undefined : sloOf.get(alert.environmentId);
      if (env !== undefined) alert.budgetCost = budgetCostOf(alert, env.availability, env.allowedBad, sampleAt);
    }
    const point: SeriesPoint = {
      at: sampleAt,
      latencyMs: latency,
      budgetLeft: Object.fromEntries(goals.map((g) => [`${g.goalId}:${g.environmentId}`, g.errorBudgetLeftMinutes])),
      costUsd: Object.fromEntries(costs.map((c) => [c.planId, c.monthlyUsd])),
    };
    // Each environment's latency now, against its own recent runs (before this run joins them).
    const anomalies = latencyAnomalies(state.series.filter((p) => p.at < sampleAt), latency, new Map(envReports.map((e) => [e.environmentId, e.environment ?? e.environmentId])));
    const series = [...state.series.filter((p) => p.at < sampleAt), point].slice(-config.seriesPoints);
    const forecast = forecastAll(series, { slowMs: config.slowMs, budgets }, sampleAt);

    const byStatus: Record<string, number> = {};
    for (const c of allChecks) byStatus[c.status] = (byStatus[c.status] ?? 0) + 1;
    const openAfter = state.openAlerts.filter((a) => a.status === "open").length + changes.opened.length - changes.resolved.length;
    const finishedAt = deps.now();
    const report: HealthReport = {
      runId: request.runId,
      trigger: request.trigger,
      requestedBy: request.requestedBy,
      startedAt,
      finishedAt,
      durationMs: finishedAt - startedAt,
      deadlineHit: allChecks.some((c) => c.status === "timeout" && c.latencyMs < config.checkTimeoutMs),
      summary: {
        environments: envReports.length,
        checks: allChecks.length,
        byStatus,
        slowestCheckMs: allChecks.reduce((m, c) => Math.max(m, c.latencyMs), 0),
        openAlerts: Math.max(0, openAfter),
      },
      environments: envReports,
      goals,
      compliance,
      alertsOpened: changes.opened.map((a) => a.id),
      alertsResolved: changes.resolved.map((a) => a.id),
      forecast,
      anomalies,
    };

    // 4. One commit, then the world hears about it.
    await store.commit({ report, environments: envWrites, alerts: changes.writes, tracker: changes.tracker, series });
    const messages: AlertMessage[] = [
      ...changes.opened.map((alert) => ({ type: "opened" as const, runId: request.runId, alert })),
      ...changes.escalated.map((alert) => ({ type: "escalated" as const, runId: request.runId, alert })),
      ...changes.resolved.map((alert) => ({ type: "resolved" as const, runId: request.runId, alert })),
    ];
    try {
      await deps.publishAlerts(messages);
    } catch (error) {
      // The alerts are stored; a lost notification must not undo the run (the page still shows them).
      deps.warn?.(`publishing ${messages.length} alert change(s) failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    let pruned = 0;
    try {
      pruned = await store.pruneReports(sampleAt - config.reportRetentionDays * DAY_MS, config.pruneBatch);
    } catch (error) {
      deps.warn?.(`pruning old reports failed (the next run retries): ${error instanceof Error ? error.message : String(error)}`);
    }
    return { kind: "done", report, pruned };
  } finally {
    await store.end(request.runId);
  }
}
