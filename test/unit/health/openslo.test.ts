/**
 * OpenSLO v1 in and out: exports import back to the same spec, the example file imports as
 * written, every unsupported or wrong field is an error at its `<document>.<field>` path, and what
 * is read differently from the letter of the spec is a warning.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import {
  exportOpenSlo,
  importOpenSlo,
  looksLikeOpenSlo,
  openSloAlertPolicySchema,
  openSloName,
  openSloSloSchema,
  type OpenSloImport,
} from "../../../functions/src/schema/openslo";
import { DEFAULT_ALERT_TIERS, sloSpecSchema, type SloSpecInput } from "../../../functions/src/schema/slo";

const ROOT = join(__dirname, "..", "..", "..");
const spec = (input: SloSpecInput) => sloSpecSchema.parse(input);
const ok = (result: OpenSloImport) => {
  if (!result.ok) throw new Error(`expected an import, got ${JSON.stringify(result.errors)}`);
  return result;
};
const errorsOf = (result: OpenSloImport) => (result.ok ? [] : result.errors);

/** A minimal valid file: an SLO with an inline ratio indicator and one inline-condition AlertPolicy. */
function file(): Array<Record<string, unknown>> {
  return [
    {
      apiVersion: "openslo/v1",
      kind: "SLO",
      metadata: { name: "web", labels: { team: ["a", "b"] } },
      spec: {
        service: "web",
        indicator: { metadata: { name: "web-ratio" }, spec: { ratioMetric: { counter: true, good: { metricSource: { type: "FirebaseOrchestrator", spec: {} } }, total: { metricSource: { type: "FirebaseOrchestrator", spec: {} } } } } },
        budgetingMethod: "Occurrences",
        timeWindow: [{ duration: "28d", isRolling: true }],
        objectives: [{ target: 0.995 }],
        alertPolicies: [{ alertPolicyRef: "fast" }],
      },
    },
    {
      apiVersion: "openslo/v1",
      kind: "AlertPolicy",
      metadata: { name: "fast" },
      spec: {
        alertWhenBreaching: true,
        conditions: [{ kind: "AlertCondition", metadata: { name: "fast-burn" }, spec: { severity: "page", condition: { kind: "burnrate", op: "gte", threshold: 14.4, lookbackWindow: "1h", alertAfter: "5m" } } }],
        notificationTargets: [{ targetRef: "pager" }],
      },
    },
  ];
}

/** Leaves the field out. */
const DELETE = Symbol("delete");
type Edit = readonly [path: string, value: unknown];

/** `file()` with each `[path, value]` set (a dotted path; array indexes as numbers; DELETE removes it). */
function edited(...edits: Edit[]): unknown[] {
  const docs: unknown = structuredClone(file());
  for (const [path, value] of edits) {
    const keys = path.split(".");
    let node = docs as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
    const last = keys[keys.length - 1]!;
    if (value === DELETE) delete node[last];
    else node[last] = structuredClone(value);
  }
  return docs as unknown[];
}

const CONDITION = "1.spec.conditions.0.spec.condition";

describe("export, then import", () => {
  it.each([
    ["the defaults: 99.9 % available over 30 days, the Workbook's tiers", { sli: { kind: "availability" }, objectivePercent: 99.9 }],
    ["p95 within 300 ms over the UTC calendar month, no tiers", { sli: { kind: "latency", thresholdMs: 300, percentile: 95 }, window: { calendar: "month" }, alertTiers: [] }],
    ["99.95 % over 7 days with custom tiers", { sli: { kind: "availability" }, objectivePercent: 99.95, window: { rolling: { days: 7 } }, alertTiers: [{ name: "fast", severity: "page", burnRate: 10, longWindowMinutes: 90, shortWindowMinutes: 7 }, { name: "slow", severity: "ticket", burnRate: 0.5, longWindowMinutes: 10_080, shortWindowMinutes: 45 }] }],
  ] as Array<[string, SloSpecInput]>)("gives back the same spec: %s", (_, input) => {
    const original = spec(input);
    const docs = exportOpenSlo("high_availability", "production", original);
    const imported = ok(importOpenSlo(JSON.parse(JSON.stringify(docs))));
    expect(Object.keys(imported.slos)).toEqual(["high-availability-production"]);
    expect(imported.slos["high-availability-production"]).toEqual(original);
    expect(imported.origins["high-availability-production"]).toEqual({ service: "production", goalId: "high_availability", environment: "production" });
  });

  it("writes an SLO and one AlertPolicy per tier, each condition's lookbackWindow the long window and alertAfter the short one", () => {
    const docs = exportOpenSlo("high_availability", "production", spec({ sli: { kind: "availability" }, objectivePercent: 99.9 }));
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(["SLO/high-availability-production", "AlertPolicy/high-availability-production-page-1h", "AlertPolicy/high-availability-production-page-6h", "AlertPolicy/high-availability-production-ticket-3d"]);
    const slo = openSloSloSchema.parse(docs[0]);
    expect(slo.spec).toMatchObject({ service: "production", budgetingMethod: "Occurrences", timeWindow: [{ duration: "30d", isRolling: true }], objectives: [{ target: 0.999 }] });
    expect(slo.spec.alertPolicies).toEqual(docs.slice(1).map((p) => ({ alertPolicyRef: p.metadata.name })));
    const conditions = docs.slice(1).map((d) => openSloAlertPolicySchema.parse(d).spec.conditions[0]);
    expect(conditions.map((c) => (c !== undefined && "spec" in c ? [c.spec.severity, c.spec.condition] : null))).toEqual([
      ["page", { kind: "burnrate", op: "gte", threshold: 14.4, lookbackWindow: "1h", alertAfter: "5m" }],
      ["page", { kind: "burnrate", op: "gte", threshold: 6, lookbackWindow: "6h", alertAfter: "30m" }],
      ["ticket", { kind: "burnrate", op: "gte", threshold: 1, lookbackWindow: "3d", alertAfter: "6h" }],
    ]);
    expect(docs[1]!.spec.notificationTargets).toHaveLength(1);
  });

  it("writes a latency SLI as a threshold metric with op lte, the threshold as value and the percentile as target", () => {
    const [slo] = exportOpenSlo("g", "staging", spec({ sli: { kind: "latency", thresholdMs: 250, percentile: 99 } }));
    expect(slo!.spec).toMatchObject({ indicator: { spec: { thresholdMetric: { metricSource: { type: "FirebaseOrchestrator" } } } }, objectives: [{ op: "lte", value: 250, target: 0.99 }] });
  });

  it("makes names DNS labels of at most 63 characters, long ones kept apart by a hash", () => {
    expect(openSloName("high_availability", "production")).toBe("high-availability-production");
    const a = openSloName("cost_optimization", "a-very-long-environment-name-that-goes-on-and-on-x");
    const b = openSloName("cost_optimization", "a-very-long-environment-name-that-goes-on-and-on-y");
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(a).not.toBe(b);
    expect(looksLikeOpenSlo([{ apiVersion: "openslo/v1" }])).toBe(true);
    expect(looksLikeOpenSlo({ goals: [] })).toBe(false);
  });
});

describe("import", () => {
  it("reads examples/openslo.yaml: referenced and inline policies and conditions, an SLI by reference, a calendar month", () => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, "examples", "openslo.yaml"), "utf8")).map((d) => d.toJS() as unknown);
    const imported = ok(importOpenSlo(docs));
    expect(imported.warnings).toEqual([]);
    expect(imported.slos["production-availability"]).toEqual({ sli: { kind: "availability" }, objectivePercent: 99.9, window: { rolling: { days: 30 } }, alertTiers: DEFAULT_ALERT_TIERS });
    expect(imported.slos["production-latency"]).toEqual({ sli: { kind: "latency", thresholdMs: 300, percentile: 95 }, objectivePercent: 95, window: { calendar: "month" }, alertTiers: DEFAULT_ALERT_TIERS.slice(0, 2) });
    expect(imported.origins["production-availability"]).toEqual({ service: "production", goalId: "high_availability", environment: "production" });
  });

  it("takes targetPercent, severities by their usual names, and alertPolicies written as plain names", () => {
    const docs = edited(["0.spec.objectives", [{ targetPercent: 99.5 }]], ["0.spec.alertPolicies", ["fast"]], ["1.spec.conditions.0.spec.severity", "critical"]);
    expect(ok(importOpenSlo(docs)).slos.web).toEqual({ sli: { kind: "availability" }, objectivePercent: 99.5, window: { rolling: { days: 28 } }, alertTiers: [{ name: "fast-burn", severity: "page", burnRate: 14.4, longWindowMinutes: 60, shortWindowMinutes: 5 }] });
    const warning = edited(["1.spec.conditions.0.spec.severity", "warning"]);
    expect(ok(importOpenSlo(warning)).slos.web!.alertTiers[0]!.severity).toBe("ticket");
  });

  it.each<[string, Edit[], string, string]>([
    ["a foreign metric source", [["0.spec.indicator.spec.ratioMetric.good.metricSource.type", "Prometheus"]], "0.spec.indicator.spec.ratioMetric", "the metric source (Prometheus) is not queried"],
    ["no alertPolicies", [["0.spec.alertPolicies", DELETE]], "0.spec.alertPolicies", "nothing alerts"],
    ["no alertAfter", [[`${CONDITION}.alertAfter`, DELETE]], `${CONDITION}.alertAfter`, "1/12 of the lookback window, 5m"],
    ["alertWhenBreaching: false", [["1.spec.alertWhenBreaching", false]], "1.spec.alertWhenBreaching", "it adds no tier"],
    ["no timeWindow", [["0.spec.timeWindow", DELETE]], "0.spec.timeWindow", "a rolling 30 days"],
  ])("imports with a warning: %s", (_, edits, path, message) => {
    const result = ok(importOpenSlo(edited(...edits)));
    expect(result.warnings).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it("reads the short window from alertAfter, or 1/12 of the lookback without it", () => {
    const noAfter = edited([`${CONDITION}.alertAfter`, DELETE]);
    expect(ok(importOpenSlo(noAfter)).slos.web!.alertTiers[0]).toMatchObject({ longWindowMinutes: 60, shortWindowMinutes: 5 });
    const off = edited(["1.spec.alertWhenBreaching", false]);
    expect(ok(importOpenSlo(off)).slos.web!.alertTiers).toEqual([]);
  });

  const calendar = (duration: string, startTime: string, timeZone: string) => [{ duration, isRolling: false, calendar: { startTime, timeZone } }];
  it.each<[string, Edit[], string, string]>([
    ["apiVersion openslo/v2alpha", [["0.apiVersion", "openslo/v2alpha"]], "0.apiVersion", "apiVersion is openslo/v1 (got openslo/v2alpha)"],
    ["an unknown kind", [["1.kind", "Alert"]], "1.kind", "kind is one of SLO, SLI"],
    ["two AlertPolicies of one name", [["2", file()[1]]], "2.metadata.name", 'another AlertPolicy is named "fast"'],
    ["a name that is no DNS label", [["0.metadata.name", "Web SLO"]], "0.metadata.name", "RFC 1123"],
    ["a misspelt field", [["0.spec.timewindow", []]], "0.spec", 'Unrecognized key: "timewindow"'],
    ["both indicator and indicatorRef", [["0.spec.indicatorRef", "other"]], "0.spec", "an indicator or an indicatorRef (one of them)"],
    ["an indicatorRef to nothing", [["0.spec.indicator", DELETE], ["0.spec.indicatorRef", "nope"]], "0.spec.indicatorRef", 'indicatorRef "nope" names no SLI document'],
    ["Timeslices", [["0.spec.budgetingMethod", "Timeslices"]], "0.spec.budgetingMethod", "budgetingMethod Timeslices is not supported"],
    ["two objectives", [["0.spec.objectives.1", { target: 0.9 }]], "0.spec.objectives", "one per SLO"],
    ["target and targetPercent", [["0.spec.objectives.0.targetPercent", 99.5]], "0.spec.objectives.0", "a target (e.g. 0.999) or a targetPercent"],
    ["a target of 1", [["0.spec.objectives.0.target", 1]], "0.spec.objectives.0.target", "objectives[].target is in [0, 1)"],
    ["a rolling 36h", [["0.spec.timeWindow.0.duration", "36h"]], "0.spec.timeWindow.0.duration", "whole days or weeks"],
    ["a rolling 6w (more than 35 days)", [["0.spec.timeWindow.0.duration", "6w"]], "0.spec.timeWindow.0.duration", "window.rolling.days is at most 35"],
    ["a calendar quarter", [["0.spec.timeWindow", calendar("1Q", "2026-01-01 00:00:00", "UTC")]], "0.spec.timeWindow.0.duration", "one month here (duration: 1M)"],
    ["a calendar month in New York", [["0.spec.timeWindow", calendar("1M", "2026-01-01 00:00:00", "America/New_York")]], "0.spec.timeWindow.0.calendar.timeZone", "counted in UTC"],
    ["a calendar month from the 15th", [["0.spec.timeWindow", calendar("1M", "2026-01-15 00:00:00", "UTC")]], "0.spec.timeWindow.0.calendar.startTime", "starts on the 1st"],
    ["an alertPolicyRef to nothing", [["0.spec.alertPolicies", [{ alertPolicyRef: "slow" }]]], "0.spec.alertPolicies.0", 'alertPolicyRef "slow" names no AlertPolicy'],
    ["two conditions in a policy", [["1.spec.conditions.1", { conditionRef: "x" }]], "1.spec.conditions", "exactly one condition"],
    ["a conditionRef to nothing", [["1.spec.conditions", [{ conditionRef: "gone" }]]], "1.spec.conditions.0.conditionRef", 'conditionRef "gone" names no AlertCondition'],
    ["op lte on a burn rate", [[`${CONDITION}.op`, "lte"]], `${CONDITION}.op`, "op lte would alert while the budget burns slowly"],
    ["an unknown severity", [["1.spec.conditions.0.spec.severity", "sev9"]], "1.spec.conditions.0.spec.severity", 'severity "sev9" is neither a page'],
    ["a lookback of a month", [[`${CONDITION}.lookbackWindow`, "1M"]], `${CONDITION}.lookbackWindow`, "minutes, hours, days or weeks"],
    ["a short window as long as the lookback", [[`${CONDITION}.alertAfter`, "60m"]], `${CONDITION}.alertAfter`, "must be shorter than longWindowMinutes"],
    ["a tier that can never fire", [["0.spec.objectives.0.target", 0.9]], `${CONDITION}.threshold`, "could never fire"],
    ["a bad duration", [[`${CONDITION}.lookbackWindow`, "1 hour"]], `${CONDITION}.lookbackWindow`, "a duration: a whole number and m, h"],
  ])("refuses %s, at its path", (_, edits, path, message) => {
    expect(errorsOf(importOpenSlo(edited(...edits)))).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ["op gte", { op: "gte", value: 300, target: 0.95 }, "0.spec.objectives.0.op", "op lte"],
    ["no value", { op: "lte", target: 0.95 }, "0.spec.objectives.0.value", "needs value"],
    ["a fractional value", { op: "lte", value: 299.5, target: 0.95 }, "0.spec.objectives.0.value", "sli.thresholdMs is a whole number"],
  ])("refuses a latency objective with %s", (_, objective, path, message) => {
    const docs = edited(["0.spec.indicator.spec", { thresholdMetric: { metricSource: { type: "FirebaseOrchestrator", spec: {} } } }], ["0.spec.objectives", [objective]]);
    expect(errorsOf(importOpenSlo(docs))).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it("says so when nothing in the documents is an SLO, and ignores kinds it does not use", () => {
    expect(errorsOf(importOpenSlo([]))).toEqual([{ path: "", message: expect.stringContaining("no SLO document") }]);
    const docs = [...file(), { apiVersion: "openslo/v1", kind: "Service", metadata: { name: "web" }, spec: {} }, { apiVersion: "openslo/v1", kind: "AlertNotificationTarget", metadata: { name: "pager" }, spec: { target: "pagerduty" } }];
    expect(Object.keys(ok(importOpenSlo(docs)).slos)).toEqual(["web"]);
  });

  it("blames a broken referenced document once, not as a missing one", () => {
    const errors = errorsOf(importOpenSlo(edited([`${CONDITION}.extra`, 1])));
    expect(errors).toEqual([
      { path: "0.spec.alertPolicies.0", message: 'alertPolicyRef "fast" names the AlertPolicy in document 1, which has errors of its own' },
      { path: "1.spec.conditions.0.spec.condition", message: 'Unrecognized key: "extra"' },
    ]);
  });
});
