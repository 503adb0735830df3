/**
 * The SLO core on crafted histories (issue #17's acceptance tests): multi-window, multi-burn-rate
 * tiers, error budgets, calendar months, latency SLIs, maintenance exclusion, and the series'
 * bounded size. Each history is one slice a minute, as a 1-minute check period would record.
 */
import { availabilitySlice, emptySeries, evaluateSlo, inWindows, latencySlice, recordSlice, sliKey, sumWindow, type SloEvaluation } from "../../../functions/src/health/slo";
import { fieldErrors } from "../../../functions/src/schema/issues";
import {
  DEFAULT_ALERT_TIERS,
  MAX_SLO_COARSE_BUCKETS,
  MAX_SLO_FINE_BUCKETS,
  maintenanceWindowSchema,
  sloSeriesSchema,
  sloSpecSchema,
  type MaintenanceWindowInput,
  type SloSeries,
  type SloSpec,
  type SloSpecInput,
} from "../../../functions/src/schema/slo";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** A whole hour: the histories start here. */
const T0 = Date.UTC(2026, 0, 1);

const spec = (input: SloSpecInput): SloSpec => sloSpecSchema.parse(input);
const availability = (objectivePercent: number, extra: Partial<SloSpecInput> = {}): SloSpec => spec({ sli: { kind: "availability" }, objectivePercent, ...extra });

/** `minutes` slices from `start`, one a minute; `slice(i, at)` answers [good, total] or null (nothing recorded). */
function record(series: SloSeries, start: number, minutes: number, slice: (i: number, at: number) => readonly [number, number] | null): SloSeries {
  let s = series;
  for (let i = 0; i < minutes; i++) {
    const at = start + i * MIN;
    const counts = slice(i, at);
    if (counts !== null) s = recordSlice(s, at, counts[0], counts[1]);
  }
  return s;
}

const up = (): readonly [number, number] => [1, 1];
const down = (): readonly [number, number] => [0, 1];

/** 30 days all good, one check a minute, ending just before T0 + 30 d. */
const THIRTY_GOOD_DAYS = record(emptySeries(), T0, 30 * 1440, up);
const AFTER = T0 + 30 * DAY;

/** Records `minutes` slices from `start` and evaluates after each: the evaluations, in order (index 0 = minute 1). */
function follow(spec: SloSpec, series: SloSeries, start: number, minutes: number, slice: (i: number) => readonly [number, number]): { evaluations: SloEvaluation[]; series: SloSeries } {
  const evaluations: SloEvaluation[] = [];
  let s = series;
  for (let i = 0; i < minutes; i++) {
    const [good, total] = slice(i);
    s = recordSlice(s, start + i * MIN, good, total);
    evaluations.push(evaluateSlo(spec, s, start + i * MIN));
  }
  return { evaluations, series: s };
}

const firstMinute = (evaluations: SloEvaluation[], test: (e: SloEvaluation) => boolean): number => evaluations.findIndex(test) + 1;

describe("burn-rate alerts (default tiers: the SRE Workbook's for a 30-day SLO)", () => {
  it("opens a page within 5 minutes of a full outage after 30 good days under a 99.9 % SLO (at the first failed minute)", () => {
    const slo = availability(99.9);
    const { evaluations } = follow(slo, THIRTY_GOOD_DAYS, AFTER, 10, down);
    const first = firstMinute(evaluations, (e) => e.firing?.severity === "page");
    expect(first).toBeLessThanOrEqual(5);
    expect(first).toBe(1);
    const e = evaluations[0]!;
    // 1 bad minute of 60 is 1.67 % errors, 16.7× a 0.1 % budget; of the last 5 minutes, 200×.
    expect(e.firing).toMatchObject({ tier: "page-1h", severity: "page", longBurn: 16.666667, shortBurn: 200 });
    expect(e.explanation).toContain("page-1h (page) fires: 16.666667× over 1 h and 200× over 5 min, at least 14.4×");
  });

  it("never pages for one failed check under a 99.5 % SLO, evaluated every minute for 3 days, and it costs 0.46 % of the budget", () => {
    const slo = availability(99.5);
    const { evaluations } = follow(slo, THIRTY_GOOD_DAYS, AFTER, 3 * 1440 + 1, (i) => (i === 0 ? down() : up()));
    expect(evaluations).toHaveLength(4321);
    expect(evaluations.filter((e) => e.firing !== null)).toEqual([]);
    // The 5-minute window does burn (1/5 = 40×), the hour does not (1/60 = 3.3× < 14.4×): both must.
    expect(evaluations[0]!.burnRates[0]).toMatchObject({ tier: "page-1h", longBurn: 3.333333, shortBurn: 40, firing: false });
    // 1 bad event of 0.5 % × 43,200 = 216 allowed, all along.
    expect(evaluations[0]!.errorBudget).toEqual({ allowedFraction: 0.005, consumedFraction: 0.00463, leftFraction: 0.99537, allowedBad: 216, bad: 1 });
    expect(new Set(evaluations.map((e) => `${e.totalEvents} ${JSON.stringify(e.errorBudget)}`))).toEqual(new Set([`43200 ${JSON.stringify(evaluations[0]!.errorBudget)}`]));
    expect(evaluations[0]!.errorBudget.consumedFraction).toBeLessThan(0.02);
  });

  it("fires the 6× page tier, not the 14.4× one, for a steady 10× burn: at minute 216 of 1 % errors (6 h × 6 × 0.1 %)", () => {
    const slo = availability(99.9);
    const { evaluations } = follow(slo, record(emptySeries(), T0, 30 * 1440, () => [1000, 1000]), AFTER, 300, () => [990, 1000]);
    expect(firstMinute(evaluations, (e) => e.firing !== null)).toBe(216);
    expect(evaluations[214]!.firing).toBeNull();
    expect(evaluations[215]!.firing).toMatchObject({ tier: "page-6h", severity: "page", longBurn: 6, shortBurn: 10 });
    expect(evaluations.every((e) => !e.burnRates[0]!.firing)).toBe(true);
    expect(evaluations[299]!.burnRates[0]).toMatchObject({ tier: "page-1h", longBurn: 10, shortBurn: 10, firing: false });
  });

  it("opens a ticket, never a page, for a steady 2× burn: at minute 2,160 (36 h) of 0.2 % errors, when the 3-day window burns 1×", () => {
    const slo = availability(99.9);
    const { evaluations } = follow(slo, record(emptySeries(), T0, 30 * 1440, () => [1000, 1000]), AFTER, 2200, () => [998, 1000]);
    expect(firstMinute(evaluations, (e) => e.firing !== null)).toBe(2160);
    expect(evaluations[2158]!.burnRates[2]).toMatchObject({ tier: "ticket-3d", longBurn: 0.999537, shortBurn: 2, firing: false });
    expect(evaluations[2159]!.firing).toMatchObject({ tier: "ticket-3d", severity: "ticket", longBurn: 1, shortBurn: 2 });
    expect(evaluations.some((e) => e.firing?.severity === "page")).toBe(false);
  });

  it("resolves each tier once its short window has recovered: 5, 30 and 360 minutes after a 30-minute outage ends", () => {
    const slo = availability(99.9);
    const outage = follow(slo, THIRTY_GOOD_DAYS, AFTER, 30, down);
    expect(outage.evaluations.every((e) => e.firing?.tier === "page-1h")).toBe(true);
    const { evaluations } = follow(slo, outage.series, AFTER + 30 * MIN, 400, up);
    const firingAfter = (goodMinutes: number) => evaluations[goodMinutes - 1]!.firing?.tier ?? null;
    expect([firingAfter(4), firingAfter(5), firingAfter(29), firingAfter(30), firingAfter(359), firingAfter(360)]).toEqual(["page-1h", "page-6h", "page-6h", "ticket-3d", "ticket-3d", null]);
    // The long windows still burn when the tiers resolve: the short ones decide.
    expect(evaluations[4]!.burnRates[0]).toMatchObject({ longBurn: 500, shortBurn: 0, firing: false });
    expect(evaluations[359]!.burnRates[2]).toMatchObject({ longBurn: 6.944444, shortBurn: 0, firing: false });
  });

  it("burns null and never fires on windows without events", () => {
    const e = evaluateSlo(availability(99.9), emptySeries(), AFTER);
    expect(e.sliPercent).toBeNull();
    expect(e.burnRates.map((b) => [b.longBurn, b.shortBurn, b.firing])).toEqual([[null, null, false], [null, null, false], [null, null, false]]);
    expect(e.firing).toBeNull();
    expect(e.errorBudget).toEqual({ allowedFraction: 0.001, consumedFraction: 0, leftFraction: 1, allowedBad: 0, bad: 0 });
    expect(e.explanation).toBe("no events in the last 30 days yet (objective 99.9 % up)");
    // A quiet short window: the long one burns, but nothing fires without both.
    const quiet = record(emptySeries(), AFTER - 50 * MIN, 40, down);
    const q = evaluateSlo(availability(99.9), quiet, AFTER);
    expect(q.burnRates[0]).toMatchObject({ longBurn: 1000, shortBurn: null, firing: false });
  });
});

describe("error budget", () => {
  it("reports the window's numbers in one sentence", () => {
    const s = record(THIRTY_GOOD_DAYS, AFTER, 21, down);
    const e = evaluateSlo(availability(99.9), s, AFTER + 20 * MIN);
    expect(e.sliPercent).toBe(99.9514);
    expect(e.errorBudget).toMatchObject({ allowedBad: 43.2, bad: 21, consumedFraction: 0.486111 });
    expect(e.explanation).toMatch(/^99\.9514 % good over the last 30 days \(43,200 events, objective 99\.9 % up\): 21 bad of 43\.2 allowed, 51\.4 % of the error budget left; page-1h \(page\) fires/);
  });

  it("counts a calendar month from the 1st at 00:00 UTC, the budget for the whole month, and starts again on the 1st", () => {
    const slo = availability(99.9, { window: { calendar: "month" } });
    const january = record(emptySeries(), T0, 31 * 1440, (i) => (i >= 30 * 1440 + 720 && i < 30 * 1440 + 740 ? down() : up()));
    const endOfJanuary = evaluateSlo(slo, january, Date.UTC(2026, 0, 31, 23, 59, 30));
    expect(endOfJanuary.window).toEqual({ from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 1, 1) });
    expect(endOfJanuary.errorBudget).toMatchObject({ allowedBad: 44.64, bad: 20, consumedFraction: 0.448029 });

    const firstOfFebruary = recordSlice(january, Date.UTC(2026, 1, 1), 1, 1);
    const reset = evaluateSlo(slo, firstOfFebruary, Date.UTC(2026, 1, 1));
    expect(reset.window).toEqual({ from: Date.UTC(2026, 1, 1), to: Date.UTC(2026, 1, 1, 0, 1) });
    expect(reset).toMatchObject({ totalEvents: 1, goodEvents: 1, sliPercent: 100 });
    // 1 event a minute so far → 40,320 by the end of February → 40.32 bad allowed.
    expect(reset.errorBudget).toMatchObject({ allowedBad: 40.32, bad: 0, consumedFraction: 0 });

    const tenDown = record(firstOfFebruary, Date.UTC(2026, 1, 1, 0, 1), 10, down);
    const early = evaluateSlo(slo, tenDown, Date.UTC(2026, 1, 1, 0, 10));
    expect(early.errorBudget).toMatchObject({ allowedBad: 40.32, bad: 10, consumedFraction: 0.248016 });
  });
});

describe("latency SLI", () => {
  it("counts checks that answered well within the threshold as good; failing answers are bad, checks that measured nothing do not count", () => {
    const checks = [
      { latencyMs: 120, status: "ok" as const },
      { latencyMs: 300, status: "ok" as const },
      { latencyMs: 301, status: "ok" as const },
      { latencyMs: 250, status: "degraded" as const },
      { latencyMs: 40, status: "down" as const },
      { latencyMs: 10_000, status: "timeout" as const },
      { latencyMs: 5, status: "error" as const },
      { latencyMs: 0, status: "skipped" as const },
      { latencyMs: null, status: "ok" as const },
    ];
    expect(latencySlice(checks, 300)).toEqual({ good: 3, total: 6 });
    expect(latencySlice([], 300)).toEqual({ good: 0, total: 0 });
  });

  it("takes the percentile as the objective: p95 under 300 ms is 95 % of checks within 300 ms", () => {
    const p95 = spec({ sli: { kind: "latency", thresholdMs: 300, percentile: 95 } });
    expect(p95.objectivePercent).toBe(95);
    expect(sliKey(p95.sli)).toBe("latency-300ms");
    expect(spec({ sli: { kind: "latency", thresholdMs: 300, percentile: 95 }, objectivePercent: 95 }).objectivePercent).toBe(95);
    const conflict = sloSpecSchema.safeParse({ sli: { kind: "latency", thresholdMs: 300, percentile: 95 }, objectivePercent: 99 });
    expect(fieldErrors(conflict.error!)).toEqual([{ path: "objectivePercent", message: expect.stringContaining("objectivePercent (99) and sli.percentile (95) disagree") }]);
  });

  it("pages when checks turn slow: 20 checks a minute, from all fast to 3 of 20 over 300 ms under p99 (15 % slow is 15× a 1 % budget)", () => {
    const p99 = spec({ sli: { kind: "latency", thresholdMs: 300, percentile: 99 } });
    const run = (slow: number) => Array.from({ length: 20 }, (_, i) => ({ latencyMs: i < slow ? 900 : 80, status: "ok" as const }));
    const fast = record(emptySeries(), T0, 30 * 1440, () => {
      const c = latencySlice(run(0), 300);
      return [c.good, c.total];
    });
    const { evaluations } = follow(p99, fast, AFTER, 70, () => {
      const c = latencySlice(run(3), 300);
      return [c.good, c.total];
    });
    // The hour reaches 14.4 × 1 % = 14.4 % slow after 58 minutes (3 × 58 / 1,200 = 14.5 %).
    expect(firstMinute(evaluations, (e) => e.firing !== null)).toBe(58);
    expect(evaluations[57]!.firing).toMatchObject({ tier: "page-1h", longBurn: 14.5, shortBurn: 15 });
    expect(evaluations[57]!.explanation).toContain("objective 99 % of checks within 300 ms");
  });
});

describe("maintenance windows", () => {
  const parseWindows = (input: MaintenanceWindowInput[]) => input.map((w) => maintenanceWindowSchema.parse(w));

  it("follows a weekly window's local time across a daylight-saving change (Saturday 22:00 Europe/Berlin)", () => {
    const windows = parseWindows([{ days: ["sat"], start: "22:00", durationMinutes: 240, timeZone: "Europe/Berlin" }]);
    const at = (iso: string) => inWindows(Date.parse(iso), windows);
    // Winter (UTC+1): 21:00Z to 01:00Z; the night of the change (29 March 2026) too, as it opens before it;
    // summer (UTC+2): 20:00Z to 00:00Z.
    expect([at("2026-03-21T20:59:00Z"), at("2026-03-21T21:00:00Z"), at("2026-03-22T00:59:00Z"), at("2026-03-22T01:00:00Z")]).toEqual([false, true, true, false]);
    expect([at("2026-03-28T21:00:00Z"), at("2026-03-29T00:59:00Z"), at("2026-03-29T01:00:00Z")]).toEqual([true, true, false]);
    expect([at("2026-04-04T19:59:00Z"), at("2026-04-04T20:00:00Z"), at("2026-04-04T23:59:00Z"), at("2026-04-05T00:00:00Z")]).toEqual([false, true, true, false]);
  });

  it("leaves planned downtime in weekly windows out of the SLO, before and after the change", () => {
    const windows = parseWindows([{ days: ["sat"], start: "22:00", durationMinutes: 240, timeZone: "Europe/Berlin" }]);
    const start = Date.UTC(2026, 2, 16);
    const plannedDown = [
      [Date.UTC(2026, 2, 21, 21), Date.UTC(2026, 2, 22, 1)],
      [Date.UTC(2026, 2, 28, 21), Date.UTC(2026, 2, 29, 1)],
      [Date.UTC(2026, 3, 4, 20), Date.UTC(2026, 3, 5, 0)],
    ] as const;
    const isDown = (at: number) => plannedDown.some(([from, to]) => at >= from && at < to);
    const minutes = 21 * 1440;
    const excluded = record(emptySeries(), start, minutes, (_, at) => (inWindows(at, windows) ? null : isDown(at) ? down() : up()));
    const counted = record(emptySeries(), start, minutes, (_, at) => (isDown(at) ? down() : up()));
    const slo = availability(99.9, { window: { rolling: { days: 21 } } });
    const now = start + (minutes - 1) * MIN;
    expect(evaluateSlo(slo, excluded, now)).toMatchObject({ totalEvents: minutes - 3 * 240, goodEvents: minutes - 3 * 240, errorBudget: { bad: 0 } });
    expect(evaluateSlo(slo, counted, now).errorBudget.bad).toBe(720);
  });

  it("leaves a one-off window out (ISO instants or epoch ms): an outage inside it neither pages nor spends the budget", () => {
    const windows = parseWindows([{ start: new Date(AFTER).toISOString(), end: AFTER + 90 * MIN }]);
    expect(windows[0]).toEqual({ start: AFTER, end: AFTER + 90 * MIN });
    const slo = availability(99.9);
    const skipped = record(THIRTY_GOOD_DAYS, AFTER, 90, (_, at) => (inWindows(at, windows) ? null : down()));
    const e = evaluateSlo(slo, skipped, AFTER + 89 * MIN);
    expect(e).toMatchObject({ firing: null, errorBudget: { bad: 0, consumedFraction: 0 } });
    expect(evaluateSlo(slo, record(THIRTY_GOOD_DAYS, AFTER, 90, down), AFTER + 89 * MIN).firing?.severity).toBe("page");
    expect(inWindows(AFTER + 90 * MIN, windows)).toBe(false);
  });

  it("names the wrong field of a window", () => {
    const weekly = maintenanceWindowSchema.safeParse({ days: ["sat"], start: "25:00", durationMinutes: 60, timeZone: "UTC" });
    expect(fieldErrors(weekly.error!)).toEqual([{ path: "start", message: expect.stringContaining('"HH:MM"') }]);
    const oneOff = maintenanceWindowSchema.safeParse({ start: "yesterday", end: 5 });
    expect(fieldErrors(oneOff.error!)[0]!.message).toMatch(/one-off \{ start, end \}.*start/);
    expect(maintenanceWindowSchema.safeParse({ days: ["sat"], start: "22:00", durationMinutes: 60, timeZone: "Mars/Olympus" }).success).toBe(false);
  });
});

describe("the series", () => {
  it("stays bounded over 40 days of 1-minute slices, fits a Firestore document and still sums the last 30 days exactly", () => {
    let s = emptySeries();
    let fine = 0;
    let coarse = 0;
    for (let i = 0; i < 40 * 1440; i++) {
      s = recordSlice(s, T0 + i * MIN, 1, 1);
      fine = Math.max(fine, s.fineTotal.length);
      coarse = Math.max(coarse, s.coarseTotal.length);
    }
    expect(fine).toBe(MAX_SLO_FINE_BUCKETS);
    expect(coarse).toBe(MAX_SLO_COARSE_BUCKETS);
    expect(fine + coarse).toBeLessThanOrEqual(1_500);
    expect(JSON.stringify(s).length).toBeLessThan(16_000);
    expect(sloSeriesSchema.safeParse(s).success).toBe(true);
    const end = T0 + 40 * DAY;
    expect(sumWindow(s, end - 30 * DAY, end)).toEqual({ good: 43_200, total: 43_200 });
    expect(sumWindow(s, end - 6 * HOUR, end)).toEqual({ good: 360, total: 360 });
    // Older than the 35 days kept: nothing.
    expect(sumWindow(s, T0, T0 + 4 * DAY)).toEqual({ good: 0, total: 0 });
  });

  it("counts each slice once across minute and hour buckets, for a young series, a late slice and pro rata hours", () => {
    const midHour = T0 + 37 * MIN;
    let s = record(emptySeries(), midHour, 600, up);
    expect(s.fineStart).toBe(T0 + 4 * HOUR);
    expect(sumWindow(s, 0, midHour + 600 * MIN)).toEqual({ good: 600, total: 600 });
    // A late slice before the minute buckets is kept in its hour.
    s = recordSlice(s, T0 + 2 * HOUR + 5 * MIN, 0, 1);
    expect(sumWindow(s, 0, midHour + 600 * MIN)).toEqual({ good: 600, total: 601 });
    // Half of the hour 01:00-02:00 (60 events): 30.
    expect(sumWindow(s, T0 + 90 * MIN, T0 + 2 * HOUR)).toEqual({ good: 30, total: 30 });
    // Slices older than 35 days before the newest are ignored.
    expect(recordSlice(s, T0 - 40 * DAY, 1, 1)).toBe(s);
    // The input is never changed.
    const before = JSON.stringify(s);
    recordSlice(s, midHour + 601 * MIN, 1, 1);
    expect(JSON.stringify(s)).toBe(before);
  });

  it("takes fractional counts (minutes a sample stands for) and refuses impossible ones", () => {
    expect(availabilitySlice("up", 4.5)).toEqual({ good: 4.5, total: 4.5 });
    expect(availabilitySlice("down")).toEqual({ good: 0, total: 1 });
    expect(availabilitySlice("unknown")).toBeNull();
    expect(() => recordSlice(emptySeries(), T0, 2, 1)).toThrow(RangeError);
    expect(() => recordSlice(emptySeries(), T0, -1, 1)).toThrow(RangeError);
    expect(() => recordSlice(emptySeries(), Number.NaN, 1, 1)).toThrow(RangeError);
  });
});

describe("the spec a plan author writes", () => {
  it("defaults to a rolling 30-day window and the Workbook's tiers", () => {
    const s = availability(99.9);
    expect(s.window).toEqual({ rolling: { days: 30 } });
    expect(s.alertTiers).toEqual([
      { name: "page-1h", severity: "page", burnRate: 14.4, longWindowMinutes: 60, shortWindowMinutes: 5 },
      { name: "page-6h", severity: "page", burnRate: 6, longWindowMinutes: 360, shortWindowMinutes: 30 },
      { name: "ticket-3d", severity: "ticket", burnRate: 1, longWindowMinutes: 4320, shortWindowMinutes: 360 },
    ]);
    expect(s.alertTiers).not.toBe(DEFAULT_ALERT_TIERS);
    expect(availability(99.9, { alertTiers: [] }).alertTiers).toEqual([]);
  });

  it.each([
    ["objectivePercent", "objectivePercent is required for an availability SLI", { sli: { kind: "availability" } }],
    ["sli.kind", 'sli.kind is "availability"', { sli: { kind: "uptime" }, objectivePercent: 99 }],
    ["objectivePercent", "objectivePercent is at most 99.999", { sli: { kind: "availability" }, objectivePercent: 100 }],
    ["objectivePercent", "objectivePercent is a number", { sli: { kind: "availability" }, objectivePercent: "99.9" }],
    ["sli.thresholdMs", "sli.thresholdMs is at least 1", { sli: { kind: "latency", thresholdMs: 0, percentile: 95 } }],
    ["window.rolling.days", "window.rolling.days is at most 35", { sli: { kind: "availability" }, objectivePercent: 99, window: { rolling: { days: 40 } } }],
    ["window.calendar", 'window.calendar is "month"', { sli: { kind: "availability" }, objectivePercent: 99, window: { calendar: "week" } }],
    ["window", "window is either", { sli: { kind: "availability" }, objectivePercent: 99, window: {} }],
    ["", 'Unrecognized key: "objective"', { sli: { kind: "availability" }, objectivePercent: 99, objective: 99 }],
    ["alertTiers.0.shortWindowMinutes", "must be shorter than longWindowMinutes", { sli: { kind: "availability" }, objectivePercent: 99, alertTiers: [{ name: "fast", severity: "page", burnRate: 14.4, longWindowMinutes: 60, shortWindowMinutes: 60 }] }],
    ["alertTiers.0.burnRate", "could never fire", { sli: { kind: "availability" }, objectivePercent: 90, alertTiers: [{ name: "fast", severity: "page", burnRate: 14.4, longWindowMinutes: 60, shortWindowMinutes: 5 }] }],
    ["alertTiers.0.name", "alertTiers[].name is 1-63 lowercase", { sli: { kind: "availability" }, objectivePercent: 99, alertTiers: [{ name: "Fast Burn", severity: "page", burnRate: 14.4, longWindowMinutes: 60, shortWindowMinutes: 5 }] }],
    ["alertTiers.0.severity", 'alertTiers[].severity is "page"', { sli: { kind: "availability" }, objectivePercent: 99, alertTiers: [{ name: "a", severity: "sms", burnRate: 2, longWindowMinutes: 60, shortWindowMinutes: 5 }] }],
    ["alertTiers.3.name", 'alertTiers[].name "page-1h" is used twice', { sli: { kind: "availability" }, objectivePercent: 99, alertTiers: [...DEFAULT_ALERT_TIERS, DEFAULT_ALERT_TIERS[0]] }],
    ["alertTiers", "at most 10 tiers", { sli: { kind: "availability" }, objectivePercent: 99, alertTiers: Array.from({ length: 11 }, (_, i) => ({ ...DEFAULT_ALERT_TIERS[0]!, name: `t${i}` })) }],
  ])("refuses it at %p, saying %p", (path, message, input) => {
    const result = sloSpecSchema.safeParse(input);
    expect(result.success).toBe(false);
    const errors = fieldErrors(result.error!);
    expect(errors).toContainEqual({ path, message: expect.stringContaining(message) });
  });
});
