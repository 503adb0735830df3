/**
 * OpenSLO v1 (github.com/OpenSLO/OpenSLO, `apiVersion: openslo/v1`) in and out: the `SLO`,
 * `SLI`, `AlertPolicy` and `AlertCondition` kinds we read, `importOpenSlo` (documents → our
 * `SloSpec`s by SLO name) and `exportOpenSlo` (a goal's SLO on an environment → documents that
 * import back to the same spec). Fields we read are strict, so a typo is an error with its path;
 * metadata, indicators' metric sources and notification targets are kept loose, as vendors extend them.
 *
 * The mapping:
 *   - `spec.indicator` / `indicatorRef` with a `ratioMetric` → an availability SLI; with a
 *     `thresholdMetric` and an objective `op: lte, value: 300, target: 0.95` → latency, p95 within
 *     300 ms. Our health runs measure them; a foreign metric source's queries are not run (a warning).
 *   - `budgetingMethod: Occurrences` only: each health-run sample is one event.
 *   - `timeWindow`: `{duration: 30d, isRolling: true}` → rolling days; `{duration: 1M, isRolling:
 *     false, calendar: {startTime: "… -01 00:00:00", timeZone: UTC}}` → the UTC calendar month.
 *   - One AlertPolicy per alert tier, each with one AlertCondition (v1 allows one per policy):
 *     `severity` page|ticket, `condition: {kind: burnrate, op: gte, threshold: <burn rate>,
 *     lookbackWindow: <long window>, alertAfter: <short window>}`.
 *
 * Why the short window goes in `alertAfter`: a burnrate condition has one lookback window, and
 * `alertAfter` is "how long the condition must hold before alerting". Tools that read it that way
 * (`for: 5m` in a Prometheus rule) get the Workbook's pairing back (1h/5m, 6h/30m, 3d/6h: OpenSLO's
 * own example is `lookbackWindow: 1h, alertAfter: 5m`), which suppresses blips as the short window
 * does, only resolving later. Here it is the short window's burn rate, which resolves the alert
 * minutes after the burn stops. Putting the short window anywhere else (an annotation) would leave
 * other tools alerting on the long window alone, a page that stays open for an hour after recovery.
 */
import { z } from "zod";
import type { FieldError } from "./issues";
import { pathToString } from "./issues";
import { sloSpecSchema, type AlertSeverity, type AlertTier, type SloSpec, type SloSpecInput } from "./slo";

export const OPENSLO_API_VERSION = "openslo/v1";
/** The metric source type our exports name: the orchestrator's own health runs. */
export const ORCHESTRATOR_METRIC_SOURCE = "FirebaseOrchestrator";
/** Annotations our exports carry, so an import knows where an SLO came from. */
export const GOAL_ANNOTATION = "firebase-orchestrator/goal";
export const ENVIRONMENT_ANNOTATION = "firebase-orchestrator/environment";

export const OPENSLO_KINDS = ["SLO", "SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "Service", "DataSource"] as const;

const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const nameSchema = z.string({ error: "metadata.name is a string" }).regex(RFC1123_LABEL, "metadata.name is 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit (RFC 1123)");
const refSchema = (field: string) => z.string({ error: `${field} is the name of another document` }).regex(RFC1123_LABEL, `${field} names a document: 1-63 lowercase letters, digits and '-' (RFC 1123)`);

export const openSloMetadataSchema = z
  .object({
    name: nameSchema,
    displayName: z.string().max(255).optional(),
    labels: z.record(z.string(), z.union([z.string(), z.array(z.string()).max(100)])).optional(),
    annotations: z.record(z.string(), z.string().max(2000)).optional(),
  })
  .loose();

/** A positive whole number and a unit: m, h, d, w, M (month), Q (quarter), Y. */
const DURATION = /^(\d{1,6})([mhdwMQY])$/;
const durationSchema = (field: string) => z.string({ error: `${field} is a duration such as 5m, 1h or 30d` }).regex(DURATION, `${field} is a duration: a whole number and m, h, d, w, M, Q or Y, e.g. 1h or 30d`);

const OPERATORS = ["lte", "gte", "lt", "gt"] as const;

/** An SLI's spec: we only tell a ratio from a threshold metric; the metric sources are the vendor's. */
const sliSpecSchema = z
  .object({
    description: z.string().max(1050).optional(),
    thresholdMetric: z.record(z.string(), z.unknown()).optional(),
    ratioMetric: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

const objectiveSchema = z
  .object({
    displayName: z.string().max(255).optional(),
    op: z.enum(OPERATORS, { error: "objectives[].op is lte, gte, lt or gt" }).optional(),
    value: z.number({ error: "objectives[].value is a number" }).optional(),
    target: z.number({ error: "objectives[].target is a number such as 0.999" }).min(0, "objectives[].target is in [0, 1)").lt(1, "objectives[].target is in [0, 1), e.g. 0.999").optional(),
    targetPercent: z.number({ error: "objectives[].targetPercent is a number such as 99.9" }).min(0, "objectives[].targetPercent is in [0, 100)").lt(100, "objectives[].targetPercent is in [0, 100), e.g. 99.9").optional(),
    timeSliceTarget: z.number().optional(),
    timeSliceWindow: z.union([z.number(), z.string()]).optional(),
    indicator: z.unknown().optional(),
    indicatorRef: z.string().optional(),
    compositeWeight: z.number().optional(),
  })
  .strict();

const timeWindowSchema = z
  .object({
    duration: durationSchema("timeWindow[].duration"),
    isRolling: z.boolean({ error: "timeWindow[].isRolling is true or false" }).optional(),
    calendar: z.object({ startTime: z.string().max(64).optional(), timeZone: z.string().max(64).optional() }).strict().optional(),
  })
  .strict();

export const alertConditionSpecSchema = z
  .object({
    description: z.string().max(1050).optional(),
    severity: z.string({ error: "severity is a string: page or ticket" }).min(1).max(64),
    condition: z
      .object({
        kind: z.literal("burnrate", { error: "condition.kind is burnrate (the only kind OpenSLO v1 defines)" }),
        op: z.enum(OPERATORS, { error: "condition.op is lte, gte, lt or gt" }),
        threshold: z.number({ error: "condition.threshold is a number: the burn rate, e.g. 14.4" }),
        lookbackWindow: durationSchema("condition.lookbackWindow"),
        alertAfter: durationSchema("condition.alertAfter").optional(),
      })
      .strict(),
  })
  .strict();

const conditionRefSchema = z.object({ conditionRef: refSchema("conditionRef") }).strict();
const inlineConditionSchema = z.object({ kind: z.literal("AlertCondition"), metadata: openSloMetadataSchema, spec: alertConditionSpecSchema }).strict();

export const alertPolicySpecSchema = z
  .object({
    description: z.string().max(1050).optional(),
    alertWhenNoData: z.boolean().optional(),
    alertWhenBreaching: z.boolean().optional(),
    alertWhenResolved: z.boolean().optional(),
    conditions: z
      .array(z.union([conditionRefSchema, inlineConditionSchema], { error: "conditions[] is { conditionRef: <name> } or an inline { kind: AlertCondition, metadata, spec }" }))
      .length(1, "conditions has exactly one condition in OpenSLO v1: write one AlertPolicy per burn-rate tier"),
    notificationTargets: z.array(z.unknown()).max(100).optional(),
  })
  .loose();

const policyRefSchema = z.union([refSchema("alertPolicies[]"), z.object({ alertPolicyRef: refSchema("alertPolicyRef") }).strict()]);
const inlinePolicySchema = z.object({ kind: z.literal("AlertPolicy"), metadata: openSloMetadataSchema, spec: alertPolicySpecSchema }).strict();

export const sloSpecOpenSloSchema = z
  .object({
    description: z.string().max(1050).optional(),
    service: z.string({ error: "service is the name of the service (our exports: the environment)" }).min(1).max(255),
    indicator: z.object({ metadata: openSloMetadataSchema, spec: sliSpecSchema }).strict().optional(),
    indicatorRef: refSchema("indicatorRef").optional(),
    budgetingMethod: z.enum(["Occurrences", "Timeslices", "RatioTimeslices"], { error: "budgetingMethod is Occurrences, Timeslices or RatioTimeslices" }),
    timeWindow: z.array(timeWindowSchema).length(1, "timeWindow has exactly one window").optional(),
    objectives: z.array(objectiveSchema).min(1, "objectives needs one objective").max(20),
    alertPolicies: z
      .array(z.union([policyRefSchema, inlinePolicySchema], { error: "alertPolicies[] is { alertPolicyRef: <name> } or an inline { kind: AlertPolicy, metadata, spec }" }))
      .max(20)
      .optional(),
  })
  .strict();

const envelope = <K extends string, S extends z.ZodType>(kind: K, spec: S) =>
  z.object({ apiVersion: z.literal(OPENSLO_API_VERSION), kind: z.literal(kind), metadata: openSloMetadataSchema, spec }).loose();

export const openSloSloSchema = envelope("SLO", sloSpecOpenSloSchema);
export const openSloSliSchema = envelope("SLI", sliSpecSchema);
export const openSloAlertPolicySchema = envelope("AlertPolicy", alertPolicySpecSchema);
export const openSloAlertConditionSchema = envelope("AlertCondition", alertConditionSpecSchema);
export type OpenSloSlo = z.output<typeof openSloSloSchema>;
export type OpenSloAlertPolicy = z.output<typeof openSloAlertPolicySchema>;

const envelopeSchema = z
  .object({
    apiVersion: z.string({ error: `apiVersion is ${OPENSLO_API_VERSION}` }),
    kind: z.enum(OPENSLO_KINDS, { error: `kind is one of ${OPENSLO_KINDS.join(", ")}` }),
    metadata: z.object({ name: nameSchema }).loose(),
  })
  .loose();

/** A document as exported: plain JSON, ready for YAML or JSON. */
export interface OpenSloDocument {
  apiVersion: typeof OPENSLO_API_VERSION;
  kind: "SLO" | "AlertPolicy";
  metadata: { name: string; displayName?: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface ImportedSloOrigin {
  /** `spec.service`. */
  service: string;
  /** From our exports' annotations; null for SLOs written elsewhere. */
  goalId: string | null;
  environment: string | null;
}

export type OpenSloImport =
  | { ok: true; slos: Record<string, SloSpec>; origins: Record<string, ImportedSloOrigin>; warnings: FieldError[] }
  | { ok: false; errors: FieldError[]; warnings: FieldError[] };

/** Whether a parsed document (or any of a list of them) says `apiVersion: openslo/…`: the command line's test for "an OpenSLO file". */
export function looksLikeOpenSlo(doc: unknown): boolean {
  if (Array.isArray(doc)) return doc.some(looksLikeOpenSlo);
  return typeof doc === "object" && doc !== null && typeof (doc as { apiVersion?: unknown }).apiVersion === "string" && (doc as { apiVersion: string }).apiVersion.startsWith("openslo/");
}

const join = (...parts: Array<string | number>): string => parts.filter((p) => p !== "").join(".");

/** A duration in minutes: m, h, d and w; months, quarters and years have no fixed length (null). */
function durationMinutes(text: string): number | null {
  const match = DURATION.exec(text);
  if (match === null) return null;
  const value = Number(match[1]);
  const unit = match[2]!;
  const per: Record<string, number> = { m: 1, h: 60, d: 1440, w: 10_080 };
  return per[unit] === undefined ? null : value * per[unit];
}

/** Minutes as the largest unit that divides them: 4320 → 3d, 360 → 6h, 5 → 5m. */
function durationText(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

const PAGE_SEVERITIES = ["page", "critical", "high", "sev1", "p1", "emergency"];
const TICKET_SEVERITIES = ["ticket", "warning", "medium", "low", "info", "sev2", "sev3", "sev4", "p2", "p3", "p4"];

function severityOf(text: string): AlertSeverity | null {
  const s = text.toLowerCase();
  if (PAGE_SEVERITIES.includes(s)) return "page";
  if (TICKET_SEVERITIES.includes(s)) return "ticket";
  return null;
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;

interface Collected<T> {
  index: number;
  doc: T;
}

/** Errors and warnings of one import, with the document index in front of each path. */
class Problems {
  readonly errors: FieldError[] = [];
  readonly warnings: FieldError[] = [];
  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }
  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }
  zod(prefix: string, error: z.ZodError): void {
    for (const issue of error.issues) this.error(join(prefix, pathToString(issue.path)), issue.message);
  }
}

/**
 * OpenSLO v1 documents (a YAML stream's documents, or a JSON array) → our SLO specs by SLO name.
 * Every problem has a path `<document index>.<field path>`; documents of other kinds
 * (Service, DataSource, AlertNotificationTarget) are accepted and not used.
 */
export function importOpenSlo(docs: readonly unknown[]): OpenSloImport {
  const problems = new Problems();
  const slos: Array<Collected<OpenSloSlo>> = [];
  const byName: Lookups = { SLI: new Map(), AlertPolicy: new Map(), AlertCondition: new Map(), broken: new Map() };
  const seen = new Set<string>();

  docs.forEach((doc, index) => {
    const head = envelopeSchema.safeParse(doc);
    if (!head.success) return problems.zod(String(index), head.error);
    if (head.data.apiVersion !== OPENSLO_API_VERSION) return problems.error(join(index, "apiVersion"), `apiVersion is ${OPENSLO_API_VERSION} (got ${head.data.apiVersion}); other versions are not read`);
    const key = `${head.data.kind}/${head.data.metadata.name}`;
    if (seen.has(key)) return problems.error(join(index, "metadata.name"), `another ${head.data.kind} is named "${head.data.metadata.name}": names are unique per kind`);
    seen.add(key);
    const kind = head.data.kind;
    if (kind === "SLO") {
      const parsed = openSloSloSchema.safeParse(doc);
      if (parsed.success) slos.push({ index, doc: parsed.data });
      else problems.zod(String(index), parsed.error);
    } else if (kind === "SLI" || kind === "AlertPolicy" || kind === "AlertCondition") {
      const schema = kind === "SLI" ? openSloSliSchema : kind === "AlertPolicy" ? openSloAlertPolicySchema : openSloAlertConditionSchema;
      const parsed = schema.safeParse(doc);
      if (parsed.success) (byName[kind] as Map<string, Collected<unknown>>).set(head.data.metadata.name, { index, doc: parsed.data });
      else {
        problems.zod(String(index), parsed.error);
        byName.broken.set(key, index);
      }
    }
  });

  const specs: Record<string, SloSpec> = {};
  const origins: Record<string, ImportedSloOrigin> = {};
  for (const { index, doc } of slos) {
    const converted = convertSlo(doc, String(index), byName, problems);
    if (converted === null) continue;
    const parsed = sloSpecSchema.safeParse(converted.input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.error(converted.sourceOf(pathToString(issue.path)), `${issue.message} (as the orchestrator's ${pathToString(issue.path) || "SLO"})`);
      continue;
    }
    specs[doc.metadata.name] = parsed.data;
    const annotations = doc.metadata.annotations ?? {};
    origins[doc.metadata.name] = { service: doc.spec.service, goalId: annotations[GOAL_ANNOTATION] ?? null, environment: annotations[ENVIRONMENT_ANNOTATION] ?? null };
  }
  if (slos.length === 0 && problems.errors.length === 0) problems.error("", `no SLO document (kind: SLO, apiVersion: ${OPENSLO_API_VERSION}) among ${docs.length} document(s)`);
  // By document, in the order found within each: the way a reader goes through the file.
  const byDocument = (list: FieldError[]) => list.map((e, i) => ({ e, i, doc: Number.parseInt(e.path, 10) })).sort((a, b) => (a.doc || 0) - (b.doc || 0) || a.i - b.i).map((x) => x.e);
  const warnings = byDocument(problems.warnings);
  return problems.errors.length > 0 ? { ok: false, errors: byDocument(problems.errors), warnings } : { ok: true, slos: specs, origins, warnings };
}

type Lookups = {
  SLI: Map<string, Collected<z.output<typeof openSloSliSchema>>>;
  AlertPolicy: Map<string, Collected<OpenSloAlertPolicy>>;
  AlertCondition: Map<string, Collected<z.output<typeof openSloAlertConditionSchema>>>;
  /** `<kind>/<name>` of documents that did not parse, and their index. */
  broken: Map<string, number>;
};

/** Why a reference finds nothing: no such document, or one with errors of its own. */
function missing(lookups: Lookups, kind: "SLI" | "AlertPolicy" | "AlertCondition", field: string, name: string): string {
  const index = lookups.broken.get(`${kind}/${name}`);
  return index === undefined ? `${field} "${name}" names no ${kind} document among these` : `${field} "${name}" names the ${kind} in document ${index}, which has errors of its own`;
}

/** One SLO document as our spec's input, and where each of our fields came from (for error paths); null after an error. */
function convertSlo(doc: OpenSloSlo, at: string, lookups: Lookups, problems: Problems): { input: SloSpecInput; sourceOf: (ourPath: string) => string } | null {
  const before = problems.errors.length;
  const spec = doc.spec;
  const specAt = join(at, "spec");

  // The indicator: inline or by reference, never both.
  let sli: { spec: z.output<typeof sliSpecSchema>; at: string } | null = null;
  if ((spec.indicator === undefined) === (spec.indicatorRef === undefined)) {
    problems.error(specAt, "an SLO has an indicator or an indicatorRef (one of them)");
  } else if (spec.indicator !== undefined) {
    sli = { spec: spec.indicator.spec, at: join(specAt, "indicator.spec") };
  } else {
    const found = lookups.SLI.get(spec.indicatorRef!);
    if (found === undefined) problems.error(join(specAt, "indicatorRef"), missing(lookups, "SLI", "indicatorRef", spec.indicatorRef!));
    else sli = { spec: found.doc.spec, at: join(found.index, "spec") };
  }

  if (spec.budgetingMethod !== "Occurrences") {
    problems.error(join(specAt, "budgetingMethod"), `budgetingMethod ${spec.budgetingMethod} is not supported: the orchestrator counts each health-run sample as one event (Occurrences); with a sample a minute, that is what 1-minute timeslices measure`);
  }

  const objectiveAt = join(specAt, "objectives.0");
  if (spec.objectives.length !== 1) problems.error(join(specAt, "objectives"), `objectives has ${spec.objectives.length} objectives; the orchestrator tracks one per SLO: write one SLO per objective`);
  const objective = spec.objectives[0]!;
  if (objective.indicator !== undefined || objective.indicatorRef !== undefined) problems.error(objectiveAt, "composite SLOs (an indicator per objective) are not supported");
  let objectivePercent: number | undefined;
  if ((objective.target === undefined) === (objective.targetPercent === undefined)) problems.error(objectiveAt, "an objective has a target (e.g. 0.999) or a targetPercent (e.g. 99.9), one of them");
  else objectivePercent = objective.targetPercent ?? round(objective.target! * 100, 6);
  const targetAt = join(objectiveAt, objective.targetPercent !== undefined ? "targetPercent" : "target");

  let sliInput: SloSpecInput["sli"] | null = null;
  if (sli !== null) {
    const threshold = sli.spec.thresholdMetric !== undefined;
    const ratio = sli.spec.ratioMetric !== undefined;
    if (threshold === ratio) {
      problems.error(sli.at, "an SLI has a ratioMetric (availability) or a thresholdMetric (latency), one of them");
    } else if (ratio) {
      sliInput = { kind: "availability" };
      warnForeignSource(sli.spec.ratioMetric, join(sli.at, "ratioMetric"), "availability", problems);
      if (objective.op !== undefined || objective.value !== undefined) problems.warn(objectiveAt, "op and value apply to a thresholdMetric; for a ratioMetric they are ignored");
    } else {
      warnForeignSource(sli.spec.thresholdMetric, join(sli.at, "thresholdMetric"), "latency", problems);
      if (objective.op !== "lte" && objective.op !== "lt") problems.error(join(objectiveAt, "op"), "a latency objective keeps the latency at or under its value: op lte (e.g. op: lte, value: 300, target: 0.95 for p95 within 300 ms)");
      else if (objective.value === undefined) problems.error(join(objectiveAt, "value"), "a latency objective needs value: the threshold in milliseconds, e.g. 300");
      else {
        if (objective.op === "lt") problems.warn(join(objectiveAt, "op"), `op lt is read as lte: a check within ${objective.value} ms is good`);
        sliInput = { kind: "latency", thresholdMs: objective.value, percentile: objectivePercent ?? 0 };
      }
    }
  }

  const window = windowOf(spec.timeWindow, specAt, problems);
  const tiers = alertTiersOf(spec.alertPolicies, specAt, lookups, problems);

  if (problems.errors.length > before || sliInput === null || window === null || tiers === null) return null;
  const input: SloSpecInput = { sli: sliInput, window, alertTiers: tiers.tiers };
  if (sliInput.kind === "availability") input.objectivePercent = objectivePercent;
  const windowAt = join(specAt, "timeWindow.0");
  const sourceOf = (ourPath: string): string => {
    const [head, second, third] = ourPath.split(".");
    if (head === "objectivePercent" || (head === "sli" && second === "percentile")) return targetAt;
    if (head === "sli" && second === "thresholdMs") return join(objectiveAt, "value");
    if (head === "window") return spec.timeWindow === undefined ? specAt : join(windowAt, "duration");
    if (head === "alertTiers" && second !== undefined && tiers.paths[Number(second)] !== undefined) {
      const condition = tiers.paths[Number(second)]!;
      const field: Record<string, string> = { name: "metadata.name", severity: "spec.severity", burnRate: "spec.condition.threshold", longWindowMinutes: "spec.condition.lookbackWindow", shortWindowMinutes: "spec.condition.alertAfter" };
      return join(condition, field[third ?? ""] ?? "");
    }
    return specAt;
  };
  return { input, sourceOf };
}

/** The `metricSource.type`s of a ratio metric's queries (good, bad, total, raw) or of a threshold metric's one. */
function metricSourceTypes(metric: Record<string, unknown> | undefined): string[] {
  const typeOf = (query: unknown): string | undefined => {
    const source = typeof query === "object" && query !== null ? (query as { metricSource?: unknown }).metricSource : undefined;
    const type = typeof source === "object" && source !== null ? (source as { type?: unknown }).type : undefined;
    return typeof type === "string" ? type : undefined;
  };
  const queries = metric === undefined ? [] : "metricSource" in metric ? [metric] : ["good", "bad", "total", "raw"].map((k) => metric[k]);
  return [...new Set(queries.map(typeOf).filter((t): t is string => t !== undefined))];
}

function warnForeignSource(metric: Record<string, unknown> | undefined, at: string, measured: string, problems: Problems): void {
  const types = metricSourceTypes(metric);
  if (types.length === 1 && types[0] === ORCHESTRATOR_METRIC_SOURCE) return;
  const foreign = types.filter((t) => t !== ORCHESTRATOR_METRIC_SOURCE);
  problems.warn(at, `the orchestrator measures ${measured} with its own health runs; the metric source${foreign.length === 0 ? "" : ` (${foreign.join(", ")})`} is not queried`);
}

function windowOf(timeWindow: OpenSloSlo["spec"]["timeWindow"], specAt: string, problems: Problems): SloSpecInput["window"] | null {
  if (timeWindow === undefined) {
    problems.warn(join(specAt, "timeWindow"), "no timeWindow: a rolling 30 days");
    return { rolling: { days: 30 } };
  }
  const w = timeWindow[0]!;
  const at = join(specAt, "timeWindow.0");
  const rolling = w.isRolling ?? w.calendar === undefined;
  if (rolling) {
    if (w.calendar !== undefined) {
      problems.error(join(at, "calendar"), "a rolling window has no calendar (set isRolling: false for a calendar window)");
      return null;
    }
    const minutes = durationMinutes(w.duration);
    if (minutes === null || minutes % 1440 !== 0) {
      problems.error(join(at, "duration"), `a rolling window is whole days or weeks here (e.g. 30d or 4w), not ${w.duration}`);
      return null;
    }
    return { rolling: { days: minutes / 1440 } };
  }
  const problem =
    w.duration !== "1M"
      ? [join(at, "duration"), `a calendar window is one month here (duration: 1M), not ${w.duration}`]
      : w.calendar === undefined
        ? [join(at, "calendar"), "a calendar window needs calendar: { startTime, timeZone: UTC }"]
        : !["UTC", "Etc/UTC", "GMT", "Etc/GMT"].includes(w.calendar.timeZone ?? "UTC")
          ? [join(at, "calendar.timeZone"), `calendar months are counted in UTC; timeZone ${w.calendar.timeZone} is not supported`]
          : w.calendar.startTime !== undefined && !/^\d{4}-\d{2}-01[ T]00:00(:00)?$/.test(w.calendar.startTime)
            ? [join(at, "calendar.startTime"), `a calendar month starts on the 1st at 00:00:00 (e.g. 2024-01-01 00:00:00), not ${w.calendar.startTime}`]
            : null;
  if (problem !== null) {
    problems.error(problem[0]!, problem[1]!);
    return null;
  }
  return { calendar: "month" };
}

/** The tiers of an SLO's alert policies, and the path of each tier's AlertCondition (for errors); null after an error. */
function alertTiersOf(policies: OpenSloSlo["spec"]["alertPolicies"], specAt: string, lookups: Lookups, problems: Problems): { tiers: AlertTier[]; paths: string[] } | null {
  const before = problems.errors.length;
  const tiers: AlertTier[] = [];
  const paths: string[] = [];
  if (policies === undefined || policies.length === 0) {
    problems.warn(join(specAt, "alertPolicies"), "no alertPolicies: the error budget is tracked and nothing alerts (export a goal's SLO to see the default tiers as AlertPolicies)");
    return { tiers, paths };
  }
  policies.forEach((entry, k) => {
    const entryAt = join(specAt, "alertPolicies", k);
    let policy: { spec: z.output<typeof alertPolicySpecSchema>; at: string; name: string };
    if (typeof entry === "string" || "alertPolicyRef" in entry) {
      const ref = typeof entry === "string" ? entry : entry.alertPolicyRef;
      const found = lookups.AlertPolicy.get(ref);
      if (found === undefined) return problems.error(entryAt, missing(lookups, "AlertPolicy", "alertPolicyRef", ref));
      policy = { spec: found.doc.spec, at: join(found.index, "spec"), name: ref };
    } else {
      policy = { spec: entry.spec, at: join(entryAt, "spec"), name: entry.metadata.name };
    }
    if (policy.spec.alertWhenBreaching === false) {
      return problems.warn(join(policy.at, "alertWhenBreaching"), `AlertPolicy ${policy.name} does not alert when breaching (alertWhenBreaching: false): it adds no tier`);
    }
    const condition = policy.spec.conditions[0]!;
    let resolved: { spec: z.output<typeof alertConditionSpecSchema>; name: string; at: string };
    if ("conditionRef" in condition) {
      const found = lookups.AlertCondition.get(condition.conditionRef);
      if (found === undefined) return problems.error(join(policy.at, "conditions.0.conditionRef"), missing(lookups, "AlertCondition", "conditionRef", condition.conditionRef));
      resolved = { spec: found.doc.spec, name: found.doc.metadata.name, at: String(found.index) };
    } else {
      resolved = { spec: condition.spec, name: condition.metadata.name, at: join(policy.at, "conditions.0") };
    }
    const tier = tierOf(resolved, problems);
    if (tier !== null) {
      tiers.push(tier);
      paths.push(resolved.at);
    }
  });
  return problems.errors.length > before ? null : { tiers, paths };
}

function tierOf(condition: { spec: z.output<typeof alertConditionSpecSchema>; name: string; at: string }, problems: Problems): AlertTier | null {
  const { spec, at } = condition;
  const before = problems.errors.length;
  const severity = severityOf(spec.severity);
  if (severity === null) problems.error(join(at, "spec.severity"), `severity "${spec.severity}" is neither a page (${PAGE_SEVERITIES.join(", ")}) nor a ticket (${TICKET_SEVERITIES.join(", ")})`);
  const c = spec.condition;
  if (c.op === "lte" || c.op === "lt") problems.error(join(at, "spec.condition.op"), `op ${c.op} would alert while the budget burns slowly: a burn-rate tier alerts at or above its threshold (op gte)`);
  const long = durationMinutes(c.lookbackWindow);
  if (long === null) problems.error(join(at, "spec.condition.lookbackWindow"), `lookbackWindow is minutes, hours, days or weeks (e.g. 1h), not ${c.lookbackWindow}`);
  let short = c.alertAfter === undefined ? 0 : durationMinutes(c.alertAfter);
  if (short === null) problems.error(join(at, "spec.condition.alertAfter"), `alertAfter is minutes, hours, days or weeks (e.g. 5m), not ${c.alertAfter}`);
  if (problems.errors.length > before || long === null || short === null || severity === null) return null;
  if (short === 0) {
    short = Math.max(1, Math.round(long / 12));
    problems.warn(join(at, "spec.condition.alertAfter"), `no alertAfter: the short window is 1/12 of the lookback window, ${durationText(short)}, as the SRE Workbook suggests`);
  }
  return { name: condition.name, severity, burnRate: c.threshold, longWindowMinutes: long, shortWindowMinutes: short };
}

/** A DNS label from free text: lowercase, `-` for anything else, at most 63 characters (a hash keeps long names apart). */
export function openSloName(...parts: string[]): string {
  const text = parts.join("-");
  const label = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  if (label.length <= 63 && label.length > 0) return label;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return `${label.slice(0, 54).replace(/-$/, "")}-${hash.toString(16).padStart(8, "0")}`;
}

const SEVERITY_WORDS: Record<AlertSeverity, string> = { page: "page", ticket: "open a ticket" };

/**
 * A goal's SLO on one environment as OpenSLO v1 documents: the SLO (named
 * `openSloName(goalId, environment)`, its indicator inline) and one AlertPolicy per tier
 * (`<slo>-<tier>`, its AlertCondition inline). `importOpenSlo` reads them back to `spec`.
 */
export function exportOpenSlo(goalId: string, environment: string, spec: SloSpec): OpenSloDocument[] {
  const name = openSloName(goalId, environment);
  const source = (fields: Record<string, unknown>) => ({ metricSource: { type: ORCHESTRATOR_METRIC_SOURCE, spec: { environment, ...fields } } });
  const latency = spec.sli.kind === "latency" ? spec.sli : null;
  const indicator =
    latency === null
      ? { metadata: { name: openSloName(name, "availability") }, spec: { description: "health-run samples in which the environment was up, of all samples", ratioMetric: { counter: false, good: source({ sli: "availability", events: "good" }), total: source({ sli: "availability", events: "total" }) } } }
      : { metadata: { name: openSloName(name, "latency") }, spec: { description: "latency of the environment's health checks (ms)", thresholdMetric: source({ sli: "latency", metric: "check_latency_ms" }) } };
  const target = round(spec.objectivePercent / 100, 10);
  const objective =
    latency === null
      ? { displayName: `${spec.objectivePercent} % up`, target }
      : { displayName: `p${latency.percentile} within ${latency.thresholdMs} ms`, op: "lte", value: latency.thresholdMs, target };
  const timeWindow = spec.window.calendar === "month" ? [{ duration: "1M", isRolling: false, calendar: { startTime: "2024-01-01 00:00:00", timeZone: "UTC" } }] : [{ duration: `${spec.window.rolling.days}d`, isRolling: true }];
  const policies = spec.alertTiers.map((tier): OpenSloDocument => ({
    apiVersion: OPENSLO_API_VERSION,
    kind: "AlertPolicy",
    metadata: { name: openSloName(name, tier.name) },
    spec: {
      description: `${SEVERITY_WORDS[tier.severity]} when the error budget burns at ${tier.burnRate}× or faster over ${durationText(tier.longWindowMinutes)} and over the last ${durationText(tier.shortWindowMinutes)}`,
      alertWhenBreaching: true,
      alertWhenResolved: true,
      alertWhenNoData: false,
      conditions: [
        {
          kind: "AlertCondition",
          metadata: { name: tier.name },
          spec: {
            description: `multi-window burn rate: lookbackWindow is the long window, alertAfter the short window that must burn too`,
            severity: tier.severity,
            condition: { kind: "burnrate", op: "gte", threshold: tier.burnRate, lookbackWindow: durationText(tier.longWindowMinutes), alertAfter: durationText(tier.shortWindowMinutes) },
          },
        },
      ],
      notificationTargets: [{ kind: "AlertNotificationTarget", metadata: { name: "orchestrator-alerts" }, spec: { target: "pubsub", description: "the orchestrator-alerts Pub/Sub topic" } }],
    },
  }));
  const slo: OpenSloDocument = {
    apiVersion: OPENSLO_API_VERSION,
    kind: "SLO",
    metadata: { name, displayName: `${goalId} on ${environment}`.slice(0, 63), annotations: { [GOAL_ANNOTATION]: goalId, [ENVIRONMENT_ANNOTATION]: environment } },
    spec: {
      description: `${goalId}: ${objective.displayName} over ${spec.window.calendar === "month" ? "the UTC calendar month" : `a rolling ${spec.window.rolling.days} days`}, measured by the orchestrator's health runs`,
      service: environment,
      indicator,
      budgetingMethod: "Occurrences",
      timeWindow,
      objectives: [objective],
      ...(policies.length === 0 ? {} : { alertPolicies: policies.map((p) => ({ alertPolicyRef: p.metadata.name })) }),
    },
  };
  return [slo, ...policies];
}
