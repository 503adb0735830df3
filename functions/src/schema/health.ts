/**
 * Shapes of everything the health runs write and read: check results, the `health`
 * and `uptimeDays` fields of `environments/{envId}`, `reports/{runId}`, `alerts/{alertId}`, the
 * messages on `orchestrator-alerts` and `orchestrator-health-runs`, and the run's own state docs.
 * The status page reads these shapes: change them only additively. Every field is set (null, never
 * undefined) so Firestore stores them as they are; no nested arrays.
 */
import { z } from "zod";

/**
 * `ok`: healthy. `degraded`: answering but slow, drifted, or partly failing. `down`: answering with
 * a failure (HTTP 5xx/4xx, connection refused, job failed, uptime check failing). `timeout`: no
 * answer within the check's time. `error`: the check itself could not run (bad configuration, API
 * refused): we do not know. `skipped`: nothing to check.
 */
export const CHECK_STATUSES = ["ok", "degraded", "down", "timeout", "error", "skipped"] as const;
export const checkStatusSchema = z.enum(CHECK_STATUSES);
export type CheckStatus = z.output<typeof checkStatusSchema>;

export const CHECK_KINDS = ["http", "firestore", "scheduler", "uptime", "drift"] as const;
export const checkKindSchema = z.enum(CHECK_KINDS);
export type CheckKind = z.output<typeof checkKindSchema>;

export const checkResultSchema = z.object({
  /** `<envId>/<integration>/<kind>`: stable across runs (the alert key of the check). */
  id: z.string().min(1).max(400),
  environmentId: z.string().min(1).max(200),
  integration: z.string().min(1).max(64),
  kind: checkKindSchema,
  /** What was checked: a URL, a job name, a project. */
  target: z.string().max(1000),
  status: checkStatusSchema,
  /** Wall time of the check in ms (for timeouts: the time it was given). */
  latencyMs: z.number().min(0),
  /** Why, in words, when not `ok` (bounded to 300 characters). */
  message: z.string().max(300).nullable(),
  httpStatus: z.number().int().nullable(),
  /** Epoch ms the check started. */
  at: z.number(),
});
export type CheckResult = z.output<typeof checkResultSchema>;

export const integrationHealthSchema = z.object({
  integration: z.string(),
  /** Worst status of its checks. */
  status: checkStatusSchema,
  /** Slowest of its checks in ms. */
  latencyMs: z.number().min(0),
  message: z.string().max(300).nullable(),
});
export type IntegrationHealth = z.output<typeof integrationHealthSchema>;

/** Availability of an environment in one run, as counted against goals. */
export const availabilitySchema = z.enum(["up", "down", "unknown"]);
export type Availability = z.output<typeof availabilitySchema>;

/** One UTC day of an environment's availability (`environments/{envId}.uptimeDays.<YYYY-MM-DD>`). */
export const uptimeDaySchema = z.object({
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  upMinutes: z.number().min(0),
  downMinutes: z.number().min(0),
  /** Minutes a run covered without knowing (every availability check errored). */
  unknownMinutes: z.number().min(0),
  samples: z.number().int().min(0),
  downSamples: z.number().int().min(0),
  /** upMinutes / (upMinutes + downMinutes) × 100, null when nothing was observed. */
  uptimePercent: z.number().min(0).max(100).nullable(),
});
export type UptimeDay = z.output<typeof uptimeDaySchema>;

export const trendSchema = z.enum(["improving", "steady", "worsening", "unknown"]);

/** One SLO of a goal on one environment, as a run evaluated it (health/slo.ts). */
export const goalSloProgressSchema = z.object({
  /** The SLI's series key: `availability`, `latency-300ms`. */
  key: z.string(),
  /** `availability`, or `p95 ≤ 300 ms`. */
  sli: z.string(),
  objectivePercent: z.number(),
  sliPercent: z.number().nullable(),
  errorBudgetLeftFraction: z.number(),
  burnRates: z.array(z.object({ tier: z.string(), severity: z.enum(["page", "ticket"]), burnRate: z.number(), longBurn: z.number().nullable(), shortBurn: z.number().nullable(), firing: z.boolean() })),
  /** The firing tier, most severe first; null while none fires. */
  firing: z.string().nullable(),
  explanation: z.string(),
});
export type GoalSloProgress = z.output<typeof goalSloProgressSchema>;

export const goalProgressSchema = z.object({
  goalId: z.string(),
  environmentId: z.string(),
  environment: z.string(),
  windowDays: z.number().positive(),
  targetUptimePercent: z.number(),
  /** Allowed downtime in the window: the monthly allowance × windowDays / 30.4375. */
  allowedDowntimeMinutes: z.number().min(0),
  observedMinutes: z.number().min(0),
  /** observedMinutes / window minutes: how much of the window the runs saw. */
  coverage: z.number().min(0).max(1),
  downtimeMinutes: z.number().min(0),
  /** null until something was observed. */
  uptimePercent: z.number().nullable(),
  errorBudgetLeftMinutes: z.number(),
  /** errorBudgetLeftMinutes / allowedDowntimeMinutes (negative when overspent). */
  errorBudgetLeftFraction: z.number(),
  /** (down / observed) / (1 − target) over today and yesterday (UTC): 1 spends the budget exactly over the window. */
  burnRateRecent: z.number().nullable(),
  burnRateWindow: z.number().nullable(),
  trend: trendSchema,
  status: z.enum(["met", "at_risk", "missed", "unknown"]),
  explanation: z.string(),
  /** Its SLOs with their burn rates (absent: written before goals carried SLOs). */
  slos: z.array(goalSloProgressSchema).optional(),
});
export type GoalProgress = z.output<typeof goalProgressSchema>;

export const complianceResultSchema = z.object({
  /** `budget`, `requiredIntegrations:<goal>`, `dataResidency`, `approvals`. */
  id: z.string(),
  /** The environment id, or `plan:<planId>` for plan-wide items (the budget). */
  scope: z.string(),
  status: z.enum(["pass", "warn", "fail"]),
  reason: z.string(),
});
export type ComplianceResult = z.output<typeof complianceResultSchema>;

export const SEVERITIES = ["info", "warning", "critical"] as const;
export const severitySchema = z.enum(SEVERITIES);
export type Severity = z.output<typeof severitySchema>;

/** `alerts/{alertId}`: one incident of one key; a key that fails again later opens a new alert. */
export const alertSchema = z.object({
  id: z.string(),
  /** Dedup key: `check:<checkId>`, `goal:<goalId>:<envId>`, `compliance:<id>:<scope>`. */
  key: z.string(),
  kind: z.enum(["check", "goal", "compliance"]),
  status: z.enum(["open", "resolved"]),
  severity: severitySchema,
  environmentId: z.string().nullable(),
  integration: z.string().nullable(),
  title: z.string(),
  message: z.string(),
  firstSeen: z.number(),
  lastSeen: z.number(),
  resolvedAt: z.number().nullable(),
  /** Consecutive failing runs when it opened (the hysteresis threshold that was met). */
  openedAfterFailures: z.number().int(),
  openedByRun: z.string(),
  resolvedByRun: z.string().nullable(),
  /** Bad minutes of its environment's availability SLO from its start to its end (or now), and that share of the error budget. */
  budgetCost: z.object({ minutes: z.number(), fraction: z.number().nullable() }).nullable().optional(),
});
export type Alert = z.output<typeof alertSchema>;

/** `orchestrator-alerts` message body. */
export const alertMessageSchema = z.object({
  type: z.enum(["opened", "resolved", "escalated"]),
  runId: z.string(),
  alert: alertSchema,
});
export type AlertMessage = z.output<typeof alertMessageSchema>;

/** An environment's check latency far above its own recent runs (health/anomalies.ts). */
export const latencyAnomalySchema = z.object({
  environmentId: z.string(),
  latencyMs: z.number(),
  medianMs: z.number(),
  madMs: z.number(),
  /** (latency − median) / (1.4826 × MAD); 999: no spread at all before. */
  robustZ: z.number(),
  explanation: z.string(),
});
export type LatencyAnomaly = z.output<typeof latencyAnomalySchema>;

export const forecastItemSchema = z.object({
  /** `latency:<envId>`, `errorBudget:<goalId>:<envId>`, `cost:<planId>`. */
  id: z.string(),
  metric: z.enum(["latency_ms", "error_budget_minutes", "monthly_cost_usd"]),
  /** Points the fit used and the time they span. */
  points: z.number().int(),
  spanHours: z.number(),
  /** Change per day of the fitted line. */
  slopePerDay: z.number(),
  current: z.number(),
  /** The limit it is compared with (latency threshold, 0 minutes of budget, the budget). */
  limit: z.number().nullable(),
  /** Epoch ms when the line crosses the limit; null when it does not (or not within a year). */
  crossesAt: z.number().nullable(),
  /** R² of the fit (how well a line explains the points). */
  r2: z.number().nullable(),
  explanation: z.string(),
});
export type ForecastItem = z.output<typeof forecastItemSchema>;

/** One environment in a report. */
export const environmentReportSchema = z.object({
  environmentId: z.string(),
  environment: z.string().nullable(),
  planId: z.string().nullable(),
  status: checkStatusSchema,
  availability: availabilitySchema,
  /** The environment could not be checked as configured (bad doc, unknown plan): what and why. */
  configError: z.string().nullable(),
  integrations: z.array(integrationHealthSchema),
  checks: z.array(checkResultSchema),
});
export type EnvironmentReport = z.output<typeof environmentReportSchema>;

/** `reports/{runId}`. */
export const healthReportSchema = z.object({
  runId: z.string(),
  trigger: z.enum(["schedule", "request"]),
  requestedBy: z.string().nullable(),
  startedAt: z.number(),
  finishedAt: z.number(),
  durationMs: z.number(),
  /** Whether the global deadline cut checks short. */
  deadlineHit: z.boolean(),
  summary: z.object({
    environments: z.number().int(),
    checks: z.number().int(),
    byStatus: z.record(z.string(), z.number().int()),
    slowestCheckMs: z.number(),
    openAlerts: z.number().int(),
  }),
  environments: z.array(environmentReportSchema),
  goals: z.array(goalProgressSchema),
  compliance: z.array(complianceResultSchema),
  alertsOpened: z.array(z.string()),
  alertsResolved: z.array(z.string()),
  forecast: z.array(forecastItemSchema),
  /** Check latency far outside each environment's recent runs (absent: written before anomalies were flagged). */
  anomalies: z.array(latencyAnomalySchema).optional(),
});
export type HealthReport = z.output<typeof healthReportSchema>;

/** `environments/{envId}.health`: the latest run's view (the page's current status). */
export const environmentHealthSchema = z.object({
  status: checkStatusSchema,
  availability: availabilitySchema,
  runId: z.string(),
  checkedAt: z.number(),
  /** When the availability sample was taken: the next run accrues minutes from here. */
  lastSampleAt: z.number(),
  integrations: z.record(z.string(), integrationHealthSchema),
  goals: z.array(goalProgressSchema),
  configError: z.string().nullable(),
  /** The environment as its newest plan names it (`production`, tier production), or null when no plan names it. */
  environment: z.object({ name: z.string(), tier: z.enum(["development", "staging", "production"]) }).nullable().default(null),
});
export type EnvironmentHealth = z.output<typeof environmentHealthSchema>;

/** `orchestrator-health-runs` message body (on-demand runs). */
export const healthRunRequestSchema = z
  .object({
    requestedBy: z.string().min(1).max(320).default("pubsub"),
    reason: z.string().max(2000).optional(),
    /** Sent by the per-environment Scheduler jobs (executors/firebase/health.ts); informative only. */
    environment: z.string().max(200).optional(),
    projectId: z.string().max(200).optional(),
    region: z.string().max(200).optional(),
  })
  .strict();
export type HealthRunRequest = z.output<typeof healthRunRequestSchema>;

/** Alert hysteresis state per key, kept between runs in `healthState/alerts`. */
export const trackedKeySchema = z.object({
  failStreak: z.number().int().min(0),
  okStreak: z.number().int().min(0),
  /** The open alert's id, or null. */
  alertId: z.string().nullable(),
});
export type TrackedKey = z.output<typeof trackedKeySchema>;
export const trackerStateSchema = z.object({ keys: z.record(z.string(), trackedKeySchema) });
export type TrackerState = z.output<typeof trackerStateSchema>;

/** One run's figures, kept in `healthState/series` (a bounded ring) for forecasts. */
export const seriesPointSchema = z.object({
  at: z.number(),
  /** Per environment: median latency of its HTTP checks (ms), null without any. */
  latencyMs: z.record(z.string(), z.number().nullable()),
  /** Per `<goalId>:<envId>`: error budget left (minutes). */
  budgetLeft: z.record(z.string(), z.number()),
  /** Per plan: the monthly cost the planner's model gives for what is present. */
  costUsd: z.record(z.string(), z.number()),
});
export type SeriesPoint = z.output<typeof seriesPointSchema>;
export const seriesSchema = z.object({ points: z.array(seriesPointSchema) });
