/**
 * Service level objectives as a plan author writes them in a goal (`goals[].slo`), the alert tiers
 * that watch their error budget (multi-window, multi-burn-rate, as in the Google SRE Workbook's
 * "Alerting on SLOs"), the series of good/total counts the health runs keep to evaluate them
 * (`health/slo.ts`), and the maintenance windows whose samples are not counted.
 *
 * Latency SLIs: the percentile is the objective. "p95 under 300 ms" means 95 % of check results
 * answered within 300 ms, so `{ sli: { kind: "latency", thresholdMs: 300, percentile: 95 } }` is a
 * 95 % objective on the good fraction. `objectivePercent` may be left out (it is the percentile);
 * written as well, it must equal it: two numbers for one target would leave a reader guessing
 * which one the budget follows.
 */
import { z } from "zod";
import { oneTimeWindowSchema, weeklyWindowSchema } from "./windows";

/** One fine bucket: a minute, the shortest check period. */
export const SLO_FINE_BUCKET_MS = 60_000;
/** One coarse bucket: an hour. */
export const SLO_COARSE_BUCKET_MS = 3_600_000;
/**
 * Whole hours of minute buckets kept before the current hour: the page tiers' long windows
 * (≤ 6 h) and every default short window are then exact to the minute.
 */
export const SLO_FINE_HOURS = 6;
/** Days of hour buckets kept: the longest SLO window and the longest alert window. */
export const SLO_COARSE_DAYS = 35;
export const MAX_SLO_FINE_BUCKETS = (SLO_FINE_HOURS + 1) * 60;
export const MAX_SLO_COARSE_BUCKETS = SLO_COARSE_DAYS * 24 + 1;
/** The longest SLO window or alert window, in days (what the hour buckets cover). */
export const MAX_SLO_WINDOW_DAYS = SLO_COARSE_DAYS;
const MAX_WINDOW_MINUTES = MAX_SLO_WINDOW_DAYS * 24 * 60;

/** An objective in percent: above 99.999 a minute-by-minute sample cannot tell the difference. */
const MIN_OBJECTIVE = 1;
const MAX_OBJECTIVE = 99.999;

function boundedNumber(field: string, min: number, max: number, example: string, integer = false) {
  const base = z.number({ error: `${field} is a number, e.g. ${example}` });
  return (integer ? base.int(`${field} is a whole number, e.g. ${example}`) : base).min(min, `${field} is at least ${min}`).max(max, `${field} is at most ${max}`);
}

const percentSchema = (field: string, example: string) => boundedNumber(field, MIN_OBJECTIVE, MAX_OBJECTIVE, example);

export const SLI_KINDS = ["availability", "latency"] as const;

export const sliSchema = z.discriminatedUnion(
  "kind",
  [
    /** Good: the environment was up in a health run's sample. */
    z.object({ kind: z.literal("availability") }).strict(),
    /** Good: a check answered (ok or degraded) within `thresholdMs`. */
    z
      .object({
        kind: z.literal("latency"),
        thresholdMs: boundedNumber("sli.thresholdMs", 1, 120_000, "300", true),
        percentile: percentSchema("sli.percentile", "95 (p95)"),
      })
      .strict(),
  ],
  { error: 'sli.kind is "availability" (the environment was up) or "latency" (a check answered within thresholdMs)' },
);
export type Sli = z.output<typeof sliSchema>;

/** Where the error budget is counted: the last N days, or the current UTC calendar month. */
export type SloWindow = { rolling: { days: number }; calendar?: never } | { calendar: "month"; rolling?: never };

export const sloWindowSchema = z
  .object({
    rolling: z.object({ days: boundedNumber("window.rolling.days", 1, MAX_SLO_WINDOW_DAYS, "30", true) }).strict().optional(),
    calendar: z.literal("month", { error: 'window.calendar is "month" (the UTC calendar month, from the 1st at 00:00)' }).optional(),
  })
  .strict()
  .superRefine((w, ctx) => {
    if ((w.rolling === undefined) === (w.calendar === undefined)) {
      ctx.addIssue({ code: "custom", message: 'window is either { rolling: { days: 30 } } or { calendar: "month" }, not both or neither' });
    }
  })
  .transform((w): SloWindow => (w.calendar !== undefined ? { calendar: "month" } : { rolling: { days: w.rolling?.days ?? 30 } }));

export const ALERT_SEVERITIES = ["page", "ticket"] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** An RFC 1123 label, like OpenSLO's names, so a tier exports as the name of an AlertCondition. */
const TIER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const alertTierSchema = z
  .object({
    name: z.string({ error: "alertTiers[].name is a string" }).regex(TIER_NAME, "alertTiers[].name is 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit, e.g. page-1h"),
    severity: z.enum(ALERT_SEVERITIES, { error: 'alertTiers[].severity is "page" (someone acts now) or "ticket" (someone acts in working hours)' }),
    /** Fires when the budget burns at least this many times faster than it lasts the SLO window. */
    burnRate: boundedNumber("alertTiers[].burnRate", 0.1, 1000, "14.4"),
    longWindowMinutes: boundedNumber("alertTiers[].longWindowMinutes", 2, MAX_WINDOW_MINUTES, "60", true),
    /** Must burn too, so the alert resolves soon after the burn stops (the Workbook uses 1/12 of the long window). */
    shortWindowMinutes: boundedNumber("alertTiers[].shortWindowMinutes", 1, MAX_WINDOW_MINUTES - 1, "5", true),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (typeof t.shortWindowMinutes === "number" && typeof t.longWindowMinutes === "number" && t.shortWindowMinutes >= t.longWindowMinutes) {
      ctx.addIssue({ code: "custom", path: ["shortWindowMinutes"], message: `alertTiers[].shortWindowMinutes (${t.shortWindowMinutes}) must be shorter than longWindowMinutes (${t.longWindowMinutes}); the Workbook uses 1/12 of it` });
    }
  });
export type AlertTier = z.output<typeof alertTierSchema>;

/**
 * The Workbook's tiers for a 30-day SLO: page when 2 % of the budget goes in an hour (14.4×) or
 * 5 % in six hours (6×), open a ticket when 10 % goes in three days (1×). Each also needs its short
 * window (1/12 of the long one) to burn, so an alert resolves minutes after the burn stops.
 */
export const DEFAULT_ALERT_TIERS: readonly AlertTier[] = Object.freeze([
  Object.freeze({ name: "page-1h", severity: "page", burnRate: 14.4, longWindowMinutes: 60, shortWindowMinutes: 5 }),
  Object.freeze({ name: "page-6h", severity: "page", burnRate: 6, longWindowMinutes: 360, shortWindowMinutes: 30 }),
  Object.freeze({ name: "ticket-3d", severity: "ticket", burnRate: 1, longWindowMinutes: 4_320, shortWindowMinutes: 360 }),
] as const);

export const MAX_ALERT_TIERS = 10;

/** The spec after defaults: the objective resolved, a window and the tiers always present. */
export interface SloSpec {
  sli: Sli;
  objectivePercent: number;
  window: SloWindow;
  alertTiers: AlertTier[];
}

/** `1 − objective` as a fraction, without the float noise of `(100 − 99.9) / 100`. */
export const allowedFractionOf = (objectivePercent: number): number => Math.round((100 - objectivePercent) * 1e8) / 1e10;

export const sloSpecSchema = z
  .object({
    sli: sliSchema,
    /** Required for availability (e.g. 99.9); for latency it is the percentile (see the file's comment). */
    objectivePercent: percentSchema("objectivePercent", "99.9").optional(),
    window: sloWindowSchema.default(() => ({ rolling: { days: 30 } })),
    /** Absent: DEFAULT_ALERT_TIERS; `[]`: the budget is tracked, nothing alerts. */
    alertTiers: z.array(alertTierSchema).max(MAX_ALERT_TIERS, `alertTiers has at most ${MAX_ALERT_TIERS} tiers`).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const objective = resolvedObjective(s);
    if (s.sli?.kind === "availability" && s.objectivePercent === undefined) {
      ctx.addIssue({ code: "custom", path: ["objectivePercent"], message: "objectivePercent is required for an availability SLI, e.g. 99.9" });
    }
    if (s.sli?.kind === "latency" && s.objectivePercent !== undefined && s.objectivePercent !== s.sli.percentile) {
      ctx.addIssue({
        code: "custom",
        path: ["objectivePercent"],
        message: `objectivePercent (${s.objectivePercent}) and sli.percentile (${s.sli.percentile}) disagree: for a latency SLI the percentile is the objective (p95 under 300 ms = 95 % of checks within 300 ms); leave objectivePercent out`,
      });
    }
    const seen = new Set<string>();
    (Array.isArray(s.alertTiers) ? s.alertTiers : []).forEach((tier, i) => {
      if (seen.has(tier.name)) ctx.addIssue({ code: "custom", path: ["alertTiers", i, "name"], message: `alertTiers[].name "${tier.name}" is used twice; each tier needs its own name` });
      seen.add(tier.name);
      if (objective !== undefined && typeof tier.burnRate === "number" && tier.burnRate * allowedFractionOf(objective) > 1) {
        ctx.addIssue({
          code: "custom",
          path: ["alertTiers", i, "burnRate"],
          message: `alertTiers[].burnRate ${tier.burnRate}× of a ${Math.round((100 - objective) * 1e6) / 1e6} % budget needs more than 100 % bad events: this tier could never fire; lower burnRate or raise the objective`,
        });
      }
    });
  })
  .transform(
    (s): SloSpec => ({
      sli: s.sli,
      objectivePercent: resolvedObjective(s) ?? 0,
      window: s.window,
      alertTiers: s.alertTiers ?? DEFAULT_ALERT_TIERS.map((t) => ({ ...t })),
    }),
  );
export type SloSpecInput = z.input<typeof sloSpecSchema>;

function resolvedObjective(s: { sli?: Sli; objectivePercent?: number }): number | undefined {
  return s.sli?.kind === "latency" ? s.sli.percentile : s.objectivePercent;
}

/**
 * A maintenance window: one-off `{ start, end }` (ISO 8601 with offset, or epoch ms) or weekly
 * `{ days: ["sat"], start: "22:00", durationMinutes, timeZone }` (like Cloud Deploy's
 * weeklyWindows). The shapes are those of `windows/{windowId}` (schema/windows.ts), so a window
 * means the same wherever it is written.
 */
export const maintenanceWindowSchema = z.union([weeklyWindowSchema, oneTimeWindowSchema], {
  error: (issue) => {
    if (issue.code !== "invalid_union") return undefined;
    const weekly = typeof issue.input === "object" && issue.input !== null && "days" in issue.input;
    const branch = issue.errors[weekly ? 0 : 1] ?? [];
    const details = branch.map((i) => `${i.path.length === 0 ? "" : `${i.path.join(".")}: `}${i.message}`).join("; ");
    return weekly
      ? `a weekly window { days, start: "HH:MM", durationMinutes, timeZone }: ${details}`
      : `a window is one-off { start, end } (ISO 8601 with offset, or epoch ms) or weekly { days, start: "HH:MM", durationMinutes, timeZone }: ${details}`;
  },
});
export type MaintenanceWindow = z.output<typeof maintenanceWindowSchema>;
export type MaintenanceWindowInput = z.input<typeof maintenanceWindowSchema>;

/**
 * Good and total events per time bucket, as stored (Firestore: parallel number arrays, no arrays
 * of arrays). Index i of the fine arrays is the minute `fineStart + i·60 s`; of the coarse arrays
 * the hour `coarseStart + i·3600 s`. Every slice is counted in both; sums read the minute buckets
 * from `fineStart` on and the hour buckets before it (`fineStart` is always a whole hour).
 */
export const sloSeriesSchema = z
  .object({
    version: z.literal(1),
    fineStart: z.number().int().min(0),
    fineGood: z.array(z.number().min(0)).max(MAX_SLO_FINE_BUCKETS),
    fineTotal: z.array(z.number().min(0)).max(MAX_SLO_FINE_BUCKETS),
    coarseStart: z.number().int().min(0),
    coarseGood: z.array(z.number().min(0)).max(MAX_SLO_COARSE_BUCKETS),
    coarseTotal: z.array(z.number().min(0)).max(MAX_SLO_COARSE_BUCKETS),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.fineGood?.length !== s.fineTotal?.length) ctx.addIssue({ code: "custom", path: ["fineGood"], message: "fineGood and fineTotal are parallel arrays of the same length" });
    if (s.coarseGood?.length !== s.coarseTotal?.length) ctx.addIssue({ code: "custom", path: ["coarseGood"], message: "coarseGood and coarseTotal are parallel arrays of the same length" });
    if (typeof s.fineStart === "number" && s.fineStart % SLO_COARSE_BUCKET_MS !== 0) ctx.addIssue({ code: "custom", path: ["fineStart"], message: "fineStart is a whole hour (epoch ms)" });
    if (typeof s.coarseStart === "number" && s.coarseStart % SLO_COARSE_BUCKET_MS !== 0) ctx.addIssue({ code: "custom", path: ["coarseStart"], message: "coarseStart is a whole hour (epoch ms)" });
  });
export type SloSeries = z.output<typeof sloSeriesSchema>;
