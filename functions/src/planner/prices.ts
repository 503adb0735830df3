/**
 * The versioned price table the cost estimate uses. Every figure is a list price in USD for
 * us-central1 as published on the pages in `sources`, transcribed on `retrieved`; nothing here
 * is measured or negotiated. Prices change: bump `version` and `retrieved` when you update a
 * figure, and compiled plans record which version they used.
 *
 * Free tiers are applied per environment only where Google grants them per project (Firestore,
 * Hosting, Identity Platform, the Cloud Storage always-free tier); allowances granted once per
 * billing account (Cloud Run functions, Cloud Scheduler) are NOT applied, so the estimate is
 * conservative when several environments share one billing account.
 */

export type MeterId =
  | "firestore.reads"
  | "firestore.writes"
  | "firestore.storage_gib"
  | "storage.gb_month"
  | "storage.class_a_ops"
  | "storage.class_b_ops"
  | "functions.invocations"
  | "functions.vcpu_seconds"
  | "functions.gib_seconds"
  | "hosting.storage_gb"
  | "hosting.transfer_gb"
  | "auth.mau"
  | "monitoring.uptime_check_executions"
  | "scheduler.jobs";

export interface Meter {
  description: string;
  /** Unit of `quantity` in usage lines, e.g. "document reads". */
  unit: string;
  /** USD for `perQuantity` units above the free allowance. */
  unitPriceUsd: number;
  perQuantity: number;
  /** Free units per month per environment (0 where the allowance is per billing account). */
  freePerMonth: number;
  source: string;
}

export interface PriceTable {
  version: string;
  retrieved: string;
  currency: "USD";
  region: string;
  sources: string[];
  notes: string[];
  meters: Readonly<Record<MeterId, Meter>>;
}

const FIRESTORE = "https://cloud.google.com/firestore/pricing";
const STORAGE = "https://cloud.google.com/storage/pricing";
const RUN = "https://cloud.google.com/run/pricing";
const HOSTING = "https://firebase.google.com/pricing";
const IDENTITY = "https://cloud.google.com/identity-platform/pricing";
const MONITORING = "https://cloud.google.com/stackdriver/pricing";
const SCHEDULER = "https://cloud.google.com/scheduler/pricing";

/** Days per month used to turn daily free quotas into monthly ones (365.25 / 12). */
export const DAYS_PER_MONTH = 30.4375;

export const PRICE_TABLE: PriceTable = {
  version: "2025-01-us-central1",
  retrieved: "2025-01-15",
  currency: "USD",
  region: "us-central1",
  sources: [FIRESTORE, STORAGE, RUN, HOSTING, IDENTITY, MONITORING, SCHEDULER],
  notes: [
    "List prices for us-central1 (Firestore regional location, Cloud Storage Standard class, Cloud Run functions tier 1); other regions and multi-regions cost more.",
    "Daily free quotas are converted to monthly ones with 30.4375 days per month.",
    "Free allowances granted per billing account (Cloud Run functions, Cloud Scheduler) are not applied: conservative when environments share a billing account.",
    "Network egress other than Hosting transfer, Cloud Monitoring alerting conditions, reCAPTCHA Enterprise assessments and support plans are not modelled.",
    "Costs are rounded to whole cents per line; totals are sums of the rounded lines.",
  ],
  meters: {
    "firestore.reads": { description: "Firestore document reads", unit: "document reads", unitPriceUsd: 0.03, perQuantity: 100_000, freePerMonth: 50_000 * DAYS_PER_MONTH, source: FIRESTORE },
    "firestore.writes": { description: "Firestore document writes", unit: "document writes", unitPriceUsd: 0.09, perQuantity: 100_000, freePerMonth: 20_000 * DAYS_PER_MONTH, source: FIRESTORE },
    "firestore.storage_gib": { description: "Firestore stored data", unit: "GiB-months", unitPriceUsd: 0.15, perQuantity: 1, freePerMonth: 1, source: FIRESTORE },
    "storage.gb_month": { description: "Cloud Storage Standard storage", unit: "GB-months", unitPriceUsd: 0.02, perQuantity: 1, freePerMonth: 5, source: STORAGE },
    "storage.class_a_ops": { description: "Cloud Storage Class A operations (writes, lists)", unit: "operations", unitPriceUsd: 0.05, perQuantity: 10_000, freePerMonth: 5_000, source: STORAGE },
    "storage.class_b_ops": { description: "Cloud Storage Class B operations (reads)", unit: "operations", unitPriceUsd: 0.004, perQuantity: 10_000, freePerMonth: 50_000, source: STORAGE },
    "functions.invocations": { description: "Cloud Run functions requests", unit: "requests", unitPriceUsd: 0.4, perQuantity: 1_000_000, freePerMonth: 0, source: RUN },
    "functions.vcpu_seconds": { description: "Cloud Run functions CPU", unit: "vCPU-seconds", unitPriceUsd: 0.000024, perQuantity: 1, freePerMonth: 0, source: RUN },
    "functions.gib_seconds": { description: "Cloud Run functions memory", unit: "GiB-seconds", unitPriceUsd: 0.0000025, perQuantity: 1, freePerMonth: 0, source: RUN },
    "hosting.storage_gb": { description: "Firebase Hosting storage", unit: "GB-months", unitPriceUsd: 0.026, perQuantity: 1, freePerMonth: 10, source: HOSTING },
    "hosting.transfer_gb": { description: "Firebase Hosting data transfer", unit: "GB", unitPriceUsd: 0.15, perQuantity: 1, freePerMonth: 0.36 * DAYS_PER_MONTH, source: HOSTING },
    "auth.mau": { description: "Identity Platform monthly active users (email, social)", unit: "MAU", unitPriceUsd: 0.0055, perQuantity: 1, freePerMonth: 50_000, source: IDENTITY },
    "monitoring.uptime_check_executions": { description: "Cloud Monitoring uptime check executions", unit: "executions", unitPriceUsd: 0.3, perQuantity: 1_000, freePerMonth: 1_000_000, source: MONITORING },
    "scheduler.jobs": { description: "Cloud Scheduler jobs", unit: "jobs", unitPriceUsd: 0.1, perQuantity: 1, freePerMonth: 0, source: SCHEDULER },
  },
};

/** Whole cents for `quantity` units of `meter` in one month, after the free allowance. */
export function meterCostCents(meter: Meter, quantity: number): number {
  const billable = Math.max(0, quantity - meter.freePerMonth);
  return Math.round((billable / meter.perQuantity) * meter.unitPriceUsd * 100);
}
