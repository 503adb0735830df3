/**
 * Health-run settings: defaults, with environment overrides read once (the local stack and tests
 * shorten them). Pure: `healthConfigFrom(env)` takes the environment it reads.
 */

export interface HealthConfig {
  /** Upper bound of one check (ms): a check still running then is `timeout`. */
  checkTimeoutMs: number;
  /** Upper bound of all checks of a run (ms from its start); a full assessment should take < 30 s. */
  runDeadlineMs: number;
  /** HTTP answers slower than this are `degraded`. */
  slowMs: number;
  /** The schedule's period (ms): what one availability sample stands for when there is no previous one. */
  periodMs: number;
  /** A gap between samples longer than this is not counted (the runs did not see it): 2 periods. */
  maxSampleGapMs: number;
  /** Rolling window of goal progress, in days. */
  windowDays: number;
  /** Consecutive failing runs before a check alert opens. */
  openAfterFailures: number;
  /** Consecutive healthy runs before an open alert resolves (hysteresis against flapping). */
  resolveAfterSuccesses: number;
  /** A goal is at risk when its error budget left falls below this fraction… */
  lowBudgetFraction: number;
  /** …or when the last day burns the budget this many times faster than sustainable. */
  fastBurnRate: number;
  /** Reports (raw check history) older than this are deleted by the run. */
  reportRetentionDays: number;
  /** Daily rollups older than this are removed from environment documents. */
  rollupRetentionDays: number;
  /** Most reports one run deletes (the next run continues). */
  pruneBatch: number;
  /** Run figures kept for forecasts (one per run: 288 = one day at 5 minutes). */
  seriesPoints: number;
  /** How long a run holds `locks/health-run` before another may take over. */
  leaseMs: number;
  /** Whether each run also compares desired and observed state of every integration (API calls). */
  driftChecks: boolean;
}

export const DEFAULT_HEALTH_CONFIG: HealthConfig = {
  checkTimeoutMs: 10_000,
  runDeadlineMs: 25_000,
  slowMs: 1_000,
  periodMs: 5 * 60_000,
  maxSampleGapMs: 10 * 60_000,
  windowDays: 30,
  openAfterFailures: 3,
  resolveAfterSuccesses: 2,
  lowBudgetFraction: 0.25,
  fastBurnRate: 2,
  reportRetentionDays: 7,
  rollupRetentionDays: 400,
  pruneBatch: 200,
  seriesPoints: 288,
  leaseMs: 120_000,
  driftChecks: true,
};

const ENV_KEYS: Readonly<Partial<Record<keyof HealthConfig, string>>> = {
  checkTimeoutMs: "ORCHESTRATOR_HEALTH_CHECK_TIMEOUT_MS",
  runDeadlineMs: "ORCHESTRATOR_HEALTH_DEADLINE_MS",
  slowMs: "ORCHESTRATOR_HEALTH_SLOW_MS",
  periodMs: "ORCHESTRATOR_HEALTH_PERIOD_MS",
  windowDays: "ORCHESTRATOR_HEALTH_WINDOW_DAYS",
  openAfterFailures: "ORCHESTRATOR_HEALTH_OPEN_AFTER",
  resolveAfterSuccesses: "ORCHESTRATOR_HEALTH_RESOLVE_AFTER",
  reportRetentionDays: "ORCHESTRATOR_HEALTH_REPORT_RETENTION_DAYS",
};

export function healthConfigFrom(env: NodeJS.ProcessEnv, base: HealthConfig = DEFAULT_HEALTH_CONFIG): HealthConfig {
  const config: HealthConfig = { ...base };
  for (const [key, variable] of Object.entries(ENV_KEYS) as Array<[keyof HealthConfig, string]>) {
    const raw = env[variable];
    const value = raw === undefined || raw.trim() === "" ? NaN : Number(raw);
    if (Number.isFinite(value) && value > 0) (config as unknown as Record<string, number>)[key] = value;
  }
  if (env.ORCHESTRATOR_HEALTH_DRIFT === "off") config.driftChecks = false;
  if (env[ENV_KEYS.periodMs!] !== undefined) config.maxSampleGapMs = 2 * config.periodMs;
  return config;
}

/** Cloud Scheduler schedule of `healthRun` (App Engine cron syntax); read at deploy time. */
export const HEALTH_RUN_SCHEDULE = process.env.ORCHESTRATOR_HEALTH_SCHEDULE?.trim() || "every 5 minutes";
