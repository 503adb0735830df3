/**
 * Documents the health runs and the engine write, in their real shapes (schema/health.ts,
 * store/reports.ts), for the API, browser and page-benchmark suites.
 */
import type { Firestore } from "firebase-admin/firestore";
import { utcDates } from "../../../functions/src/api/status";
import { compilePlan } from "../../../functions/src/planner/compile";
import type { Alert, EnvironmentHealth, GoalProgress, UptimeDay } from "../../../functions/src/schema/health";
import { writePlanReport } from "../../../functions/src/store/reports";

export const DEMO_ENVIRONMENTS = [
  { id: "lang-trak-dev", name: "development", integrations: ["authentication", "database", "storage", "functions", "hosting"], goal: false },
  { id: "lang-trak-staging", name: "staging", integrations: ["authentication", "database", "storage", "functions", "hosting", "monitoring"], goal: true },
  { id: "lang-trak-prod", name: "production", integrations: ["authentication", "database", "storage", "functions", "hosting", "monitoring", "backup", "security"], goal: true },
] as const;

function goal(envId: string, env: string, downtime: number): GoalProgress {
  const allowed = 43.8;
  return {
    goalId: "high_availability",
    environmentId: envId,
    environment: env,
    windowDays: 30,
    targetUptimePercent: 99.9,
    allowedDowntimeMinutes: allowed,
    observedMinutes: 43_200,
    coverage: 1,
    downtimeMinutes: downtime,
    uptimePercent: 100 - (100 * downtime) / 43_200,
    errorBudgetLeftMinutes: allowed - downtime,
    errorBudgetLeftFraction: (allowed - downtime) / allowed,
    burnRateRecent: 0.2,
    burnRateWindow: downtime / allowed,
    trend: "steady",
    status: downtime > allowed ? "missed" : downtime > allowed * 0.75 ? "at_risk" : "met",
    explanation: `${downtime} of ${allowed} minutes of downtime used in 30 days`,
  };
}

/** Writes environments/{id} as a health run leaves it: current health and `days` daily rollups. */
export async function seedEnvironments(db: Firestore, now: number, options: { days?: number; ids?: readonly string[]; prefix?: string } = {}): Promise<string[]> {
  const dates = utcDates(now, options.days ?? 90);
  const written: string[] = [];
  for (const [i, env] of DEMO_ENVIRONMENTS.entries()) {
    const id = `${options.prefix ?? ""}${env.id}`;
    const integrations = Object.fromEntries(
      env.integrations.map((integration) => [integration, { integration, status: integration === "monitoring" && i === 2 ? "degraded" : "ok", latencyMs: 40 + i * 10, message: integration === "monitoring" && i === 2 ? "uptime check answered in 1.4 s" : null }]),
    );
    const health: EnvironmentHealth = {
      status: i === 2 ? "degraded" : "ok",
      availability: "up",
      runId: "run-seed",
      checkedAt: now - 60_000,
      lastSampleAt: now - 60_000,
      integrations: integrations as EnvironmentHealth["integrations"],
      goals: env.goal ? [goal(id, env.name, i === 2 ? 12 : 3)] : [],
      configError: null,
      environment: { name: env.name, tier: env.name },
    };
    const uptimeDays: Record<string, UptimeDay> = {};
    dates.forEach((date, d) => {
      const down = (d * 7 + i * 13) % 29 === 0 ? 30 : (d + i) % 17 === 0 ? 4 : 0;
      uptimeDays[date] = { date, upMinutes: 1440 - down, downMinutes: down, unknownMinutes: 0, samples: 288, downSamples: Math.ceil(down / 5), uptimePercent: Math.round((10_000 * (1440 - down)) / 1440) / 100 };
    });
    await db.collection("environments").doc(id).set({ health, uptimeDays });
    written.push(id);
  }
  return written;
}

export async function seedAlert(db: Firestore, id: string, now: number, patch: Partial<Alert> = {}): Promise<Alert> {
  const alert: Alert = {
    id,
    key: `check:${id}`,
    kind: "check",
    status: "open",
    severity: "warning",
    environmentId: "lang-trak-prod",
    integration: "monitoring",
    title: "lang-trak-prod monitoring is slow",
    message: "uptime check answered in 1.4 s (threshold 1 s)",
    firstSeen: now - 3_600_000,
    lastSeen: now,
    resolvedAt: null,
    openedAfterFailures: 3,
    openedByRun: "run-seed",
    resolvedByRun: null,
    ...patch,
  };
  await db.collection("alerts").doc(id).set(alert);
  return alert;
}

/** A plan that was compiled and stored as the plan trigger does (report + summary), without running it. */
export async function seedCompiledPlan(db: Firestore, planId: string, spec: Record<string, unknown>, now: number): Promise<void> {
  const compiled = compilePlan(spec);
  if (!compiled.ok) throw new Error(`fixture plan is invalid: ${JSON.stringify(compiled.errors)}`);
  await writePlanReport(db, planId, compiled.plan.report);
  await db.collection("plans").doc(planId).set({ ...spec, status: "running", compiled: compiled.plan.summary, createdAt: now, startedAt: now });
  const batch = db.batch();
  for (const task of compiled.plan.tasks.slice(0, 400)) {
    batch.set(db.collection("plans").doc(planId).collection("tasks").doc(task.id), { id: task.id, name: task.name ?? null, run: task.run, needs: task.needs, level: compiled.plan.graph.level.get(task.id)!, status: "blocked", attempt: 1, startedAt: null, finishedAt: null });
  }
  await batch.commit();
}
