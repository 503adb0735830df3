/**
 * Configuration read once: topic names, region, engine timings. Environment overrides exist for
 * the local stack and tests (shorter sweeps); production uses the defaults.
 */
import type { EngineTiming } from "./engine/task";
import { apiBudgetsFromEnv } from "./clients/rate-budget";
import { ALLOW_UNVERIFIED_COMMANDS as ALLOW_UNVERIFIED_COMMANDS_PARAM, paramValue } from "./params";

export const TOPICS = {
  taskReady: "orchestrator-task-ready",
  taskEvents: "orchestrator-task-events",
  planCommands: "orchestrator-plan-commands",
  alerts: "orchestrator-alerts",
  /** Outbound: an external task started waiting; carries its task token for the system that completes it. */
  externalTasks: "orchestrator-external-tasks",
  /** On-demand health runs (from the API or other systems): `{requestedBy, reason?}`. */
  healthRuns: "orchestrator-health-runs",
  /** Outbound notifications besides alerts (an approval gate started waiting): `{type: "gate.waiting", …}` (notify/events.ts). */
  notifications: "orchestrator-notifications",
} as const;

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

export const ENGINE_TIMING: EngineTiming = {
  leaseMarginMs: numberFromEnv("ORCHESTRATOR_LEASE_MARGIN_MS", 30_000),
  redispatchAfterMs: numberFromEnv("ORCHESTRATOR_REDISPATCH_AFTER_MS", 60_000),
};

/** How long one `onTaskReady` invocation may run (its `timeoutSeconds` in functions/src/index.ts). */
export const TASK_FUNCTION_TIMEOUT_SECONDS = 540;

/**
 * The longest `timeoutSeconds` of a task that runs inside one invocation (`noop`, `http`,
 * `firebase`, `delay`): the rest of the function's limit covers the claim, the completion and
 * releasing dependents. Waiting kinds (`approval`, `external`) do not hold an invocation while
 * they wait, and a long `delay` sleeps durably (engine/task.ts IN_INVOCATION_DELAY_MAX_MS).
 */
export const MAX_IN_INVOCATION_SECONDS = 480;

/**
 * Whether Pub/Sub senders without a verifiable credential may cancel, retry and roll back plans
 * (never approve or reject). Off by default: anyone who can publish to the topic could otherwise stop production rollouts.
 */
export const ALLOW_UNVERIFIED_COMMANDS = paramValue(ALLOW_UNVERIFIED_COMMANDS_PARAM);

/** How long one start of a plan may take before another delivery of the trigger may take over. */
export const START_LEASE_MS = numberFromEnv("ORCHESTRATOR_START_LEASE_MS", 120_000);

/**
 * Per-API rate budgets of the executors' Google API calls (`ORCHESTRATOR_API_BUDGETS`, see
 * clients/rate-budget.ts and docs/google-apis.md), validated here at cold start: a bad value stops
 * the instance with a setup error naming the variable instead of failing tasks one by one. The
 * clients re-read the environment (clients/google.ts googleClients), so tests can change it. The
 * budgets are per instance: all instances together send up to MAX_INSTANCES.tasks times them.
 */
export const API_BUDGETS = apiBudgetsFromEnv();

/** The sweeper's schedule, in Cloud Scheduler's App Engine cron syntax. */
export const SWEEP_SCHEDULE = "every 1 minutes";

export const LIMITS = {
  /** Writes per batch when creating tasks; Firestore allows 500 per commit. */
  taskWriteBatch: 400,
  /** Task-writing batches in flight at once when a plan starts. */
  taskWriteParallelism: 4,
  /**
   * A fan-out's dependents per release chunk (one read and one commit), and chunks in flight: small
   * enough that the first dependents are published within a round trip or two, many enough that a
   * 5,000-way fan-out is a few dozen commits.
   */
  releaseChunk: 100,
  releaseChunksInFlight: 4,
  /** Wide joins released in parallel by one completion (each records an arrival and counts). */
  releaseConcurrency: 32,
  /** Due tasks one sweep looks at; the next sweep picks up the rest. */
  sweepBatch: 500,
  /** Largest payload kept inline in a dead-letter record. */
  deadLetterPayloadChars: 10_000,
} as const;

/**
 * Every function has a ceiling, so a storm (a redelivery loop, a 5,000-way fan-out, a flood of
 * commands) is bounded in instances, in Firestore write rate and in cost rather than scaling until a
 * quota stops it:
 *   tasks           onTaskReady: 100 instances × 80 concurrent deliveries; beyond that Pub/Sub waits
 *   control         plan documents, commands and task events: a few at a time is plenty
 *   scheduled       the sweeper and the health run: one at a time (a slow one never overlaps the next)
 *   healthRequests  on-demand health runs: a couple at once
 *   api             the status page's API
 *   notify          alert and gate notifications: a few at a time; Slack and Google Chat webhooks
 *                   take about one message a second each, so more instances would only earn 429s
 */
export const MAX_INSTANCES = { tasks: 100, control: 20, scheduled: 1, healthRequests: 2, api: 10, notify: 3 } as const;
