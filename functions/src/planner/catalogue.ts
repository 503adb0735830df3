/**
 * The integration catalogue: one entry per integration the planner can provision. Adding an
 * integration means adding one entry here (and, for real provisioning, a `firebase` executor
 * handler for it): dependencies, provision settings, compensation, health checks, duration and
 * the monthly usage that the cost model prices with `prices.ts`.
 *
 * Usage figures are ASSUMPTIONS per environment tier (a small app: a few hundred developers' test
 * traffic in development, ~1,000 daily users in production), not measurements. They exist so a
 * plan can be compared with a budget; replace them with your own traffic for a real estimate.
 */
import type { EnvironmentTier } from "../schema/environment-plan";
import { DAYS_PER_MONTH, type MeterId } from "./prices";

/** Monthly traffic assumed per environment tier. */
export interface TierUsage {
  firestoreReads: number;
  firestoreWrites: number;
  firestoreGiB: number;
  firestoreDocuments: number;
  storageGB: number;
  storageClassAOps: number;
  storageClassBOps: number;
  functionInvocations: number;
  hostingStoredGB: number;
  hostingTransferGB: number;
  authMau: number;
}

export const TIER_USAGE: Readonly<Record<EnvironmentTier, TierUsage>> = {
  development: {
    firestoreReads: 500_000,
    firestoreWrites: 100_000,
    firestoreGiB: 0.5,
    firestoreDocuments: 50_000,
    storageGB: 1,
    storageClassAOps: 2_000,
    storageClassBOps: 20_000,
    functionInvocations: 100_000,
    hostingStoredGB: 0.5,
    hostingTransferGB: 2,
    authMau: 100,
  },
  staging: {
    firestoreReads: 3_000_000,
    firestoreWrites: 600_000,
    firestoreGiB: 2,
    firestoreDocuments: 200_000,
    storageGB: 5,
    storageClassAOps: 20_000,
    storageClassBOps: 200_000,
    functionInvocations: 1_000_000,
    hostingStoredGB: 2,
    hostingTransferGB: 20,
    authMau: 1_000,
  },
  production: {
    firestoreReads: 60_000_000,
    firestoreWrites: 6_000_000,
    firestoreGiB: 20,
    firestoreDocuments: 2_000_000,
    storageGB: 100,
    storageClassAOps: 500_000,
    storageClassBOps: 5_000_000,
    functionInvocations: 10_000_000,
    hostingStoredGB: 5,
    hostingTransferGB: 300,
    authMau: 20_000,
  },
};

/** Resources one function invocation uses: 200 ms at the 256 MiB / 0.167 vCPU default size. */
export const FUNCTION_SECONDS_PER_INVOCATION = 0.2;
export const FUNCTION_VCPU = 0.167;
export const FUNCTION_GIB = 0.25;
/** Uptime check: one check every 5 minutes from 3 checker regions (the minimum). */
export const UPTIME_CHECK_EXECUTIONS = 3 * 12 * 24 * DAYS_PER_MONTH;
/** Backups: a daily managed export (billed as one read per document) kept for 7 days in Cloud Storage. */
export const BACKUP_RETENTION_DAYS = 7;

export const COST_ASSUMPTIONS: readonly string[] = [
  "Each environment is its own Firebase project on the Blaze plan, in the region's list prices (see the price table).",
  "Monthly traffic per tier (reads, writes, GB, invocations, MAU) is an assumption of a small app, listed in the report's tierUsage; replace it with real traffic.",
  `A function invocation runs ${FUNCTION_SECONDS_PER_INVOCATION * 1000} ms at ${FUNCTION_VCPU} vCPU and ${FUNCTION_GIB} GiB.`,
  "Monitoring is one uptime check every 5 minutes from 3 regions plus one Cloud Scheduler job for the health run.",
  `Backup is a daily managed Firestore export (one read per document) retained ${BACKUP_RETENTION_DAYS} days in Cloud Storage, scheduled by one Cloud Scheduler job.`,
  "Security (rules and App Check with Play Integrity, DeviceCheck or reCAPTCHA v3) has no list price; rule evaluations are billed as the reads already counted.",
];

export interface UsageLine {
  meter: MeterId;
  quantity: number;
}

export interface IntegrationEntry {
  /** Integrations of the same environment that must be provisioned first. */
  needs: readonly string[];
  /**
   * The `settings` of the provision task, in the shape the `firebase` executor's module for this
   * integration validates (executors/firebase/*.ts); `{}` takes the executor's defaults.
   */
  settings: (tier: EnvironmentTier) => Record<string, unknown>;
  /** What rollback does to undo the provisioning. */
  compensation: string;
  /** Health checks this integration offers to the health runs (names only). */
  healthChecks: readonly string[];
  /** Expected provisioning time in seconds (an assumption, used for the critical path). */
  durationSeconds: number;
  /** Monthly usage of one environment of this tier, priced by the price table. */
  usage: (usage: TierUsage) => UsageLine[];
}

export const INTEGRATIONS: Readonly<Record<string, IntegrationEntry>> = {
  authentication: {
    needs: [],
    settings: () => ({}),
    compensation: "disable the sign-in providers that were enabled (users are kept)",
    healthChecks: ["auth.config"],
    durationSeconds: 60,
    usage: (u) => [{ meter: "auth.mau", quantity: u.authMau }],
  },
  database: {
    needs: [],
    settings: () => ({}),
    compensation: "restore the previous rules and indexes (the database and its data are never deleted)",
    healthChecks: ["firestore.read_write_probe"],
    durationSeconds: 120,
    usage: (u) => [
      { meter: "firestore.reads", quantity: u.firestoreReads },
      { meter: "firestore.writes", quantity: u.firestoreWrites },
      { meter: "firestore.storage_gib", quantity: u.firestoreGiB },
    ],
  },
  storage: {
    needs: [],
    settings: () => ({}),
    compensation: "restore the previous storage rules (buckets and objects are kept)",
    healthChecks: ["storage.bucket_probe"],
    durationSeconds: 60,
    usage: (u) => [
      { meter: "storage.gb_month", quantity: u.storageGB },
      { meter: "storage.class_a_ops", quantity: u.storageClassAOps },
      { meter: "storage.class_b_ops", quantity: u.storageClassBOps },
    ],
  },
  functions: {
    needs: ["database", "storage"],
    settings: () => ({}),
    compensation: "roll the functions back to the previously deployed version",
    healthChecks: ["functions.http_probe"],
    durationSeconds: 300,
    usage: (u) => [
      { meter: "functions.invocations", quantity: u.functionInvocations },
      { meter: "functions.vcpu_seconds", quantity: u.functionInvocations * FUNCTION_SECONDS_PER_INVOCATION * FUNCTION_VCPU },
      { meter: "functions.gib_seconds", quantity: u.functionInvocations * FUNCTION_SECONDS_PER_INVOCATION * FUNCTION_GIB },
    ],
  },
  hosting: {
    needs: ["functions"],
    settings: () => ({}),
    compensation: "roll the Hosting site back to the previous release",
    healthChecks: ["hosting.http_probe", "hosting.tls"],
    durationSeconds: 120,
    usage: (u) => [
      { meter: "hosting.storage_gb", quantity: u.hostingStoredGB },
      { meter: "hosting.transfer_gb", quantity: u.hostingTransferGB },
    ],
  },
  monitoring: {
    needs: ["hosting"],
    // The cost model prices a 5-minute uptime check; the executor's own default is 1 minute.
    settings: () => ({ periodSeconds: 300 }),
    compensation: "delete the uptime checks, alert policies and health-run job this plan created",
    healthChecks: ["monitoring.uptime_check", "monitoring.alert_policy"],
    durationSeconds: 90,
    usage: () => [
      { meter: "monitoring.uptime_check_executions", quantity: UPTIME_CHECK_EXECUTIONS },
      { meter: "scheduler.jobs", quantity: 1 },
    ],
  },
  backup: {
    needs: ["database"],
    settings: () => ({}),
    compensation: "delete the backup schedule this plan created (existing backups are kept)",
    healthChecks: ["backup.schedule", "backup.last_success_age"],
    durationSeconds: 60,
    usage: (u) => [
      { meter: "firestore.reads", quantity: u.firestoreDocuments * DAYS_PER_MONTH },
      { meter: "storage.gb_month", quantity: u.firestoreGiB * BACKUP_RETENTION_DAYS },
      { meter: "scheduler.jobs", quantity: 1 },
    ],
  },
  security: {
    needs: ["database", "storage"],
    settings: () => ({}),
    compensation: "restore the previous rules and turn App Check enforcement back off",
    healthChecks: ["security.rules_deployed", "security.app_check"],
    durationSeconds: 90,
    usage: () => [],
  },
};

/** The per-environment verify step that closes each environment (a `firebase` task with action "verify"). */
export const VERIFY_INTEGRATION = "environment";
export const VERIFY_DURATION_SECONDS = 60;
/** How long a human takes to answer an approval gate: an assumption for the timeline only. */
export const APPROVAL_WAIT_SECONDS = 3600;

export function knownIntegrations(): string[] {
  return Object.keys(INTEGRATIONS);
}

export function integrationEntry(id: string): IntegrationEntry | undefined {
  return Object.prototype.hasOwnProperty.call(INTEGRATIONS, id) ? INTEGRATIONS[id] : undefined;
}
