/**
 * Maintenance and freeze windows (engine/windows.ts): when a weekly window is on in its own time
 * zone, across daylight saving; one-off windows; which environments a window names; the freeze a
 * plan meets, failing closed on a window it cannot read; and the plan machine's override.
 */
import { decidePlan, type LockAnswer, type PlanMachineState } from "../../../functions/src/engine/plan";
import { freezeAt, occurrenceAt, UNREADABLE_WINDOW_RECHECK_MS, weeklyOccurrenceAt, windowCovers, type WindowTarget } from "../../../functions/src/engine/windows";
import { compilePlan } from "../../../functions/src/planner/compile";
import { parseWindowDoc, windowSpecSchema, type WindowSpec } from "../../../functions/src/schema/windows";

const at = (iso: string): number => Date.parse(iso);
const spec = (over: Partial<Record<string, unknown>>): WindowSpec => windowSpecSchema.parse({ kind: "freeze", name: "w", environments: ["production"], ...over });
const prod: WindowTarget = { projectId: "lang-trak-prod", name: "production", tier: "production" };
const dev: WindowTarget = { projectId: "lang-trak-dev", name: "development", tier: "development" };

describe("weekly windows", () => {
  const saturdayNight = { days: ["sat"], start: "22:00", durationMinutes: 8 * 60, timeZone: "Europe/Berlin" } as const;

  it("open at the local wall-clock time, in winter and in summer (UTC+1, UTC+2)", () => {
    // 2026-01-10 is a Saturday: 22:00 in Berlin is 21:00 UTC; on 2026-07-11, 20:00 UTC.
    expect(weeklyOccurrenceAt(saturdayNight, at("2026-01-10T20:59:59Z"))).toBeNull();
    expect(weeklyOccurrenceAt(saturdayNight, at("2026-01-10T21:00:00Z"))).toEqual({ start: at("2026-01-10T21:00:00Z"), end: at("2026-01-11T05:00:00Z") });
    expect(weeklyOccurrenceAt(saturdayNight, at("2026-07-11T20:00:00Z"))).toEqual({ start: at("2026-07-11T20:00:00Z"), end: at("2026-07-12T04:00:00Z") });
    // Past midnight into Sunday it is still Saturday's occurrence; after it ends, nothing.
    expect(weeklyOccurrenceAt(saturdayNight, at("2026-01-11T04:59:59Z"))?.start).toBe(at("2026-01-10T21:00:00Z"));
    expect(weeklyOccurrenceAt(saturdayNight, at("2026-01-11T05:00:00Z"))).toBeNull();
    // Not on other days.
    expect(weeklyOccurrenceAt(saturdayNight, at("2026-01-09T21:30:00Z"))).toBeNull();
  });

  it("keeps its length over a daylight-saving change inside it", () => {
    // Berlin springs forward on 2026-03-29 at 02:00: an 8-hour window from Saturday 22:00 (21:00 UTC) ends 05:00 UTC.
    const o = weeklyOccurrenceAt(saturdayNight, at("2026-03-29T03:00:00Z"))!;
    expect(o).toEqual({ start: at("2026-03-28T21:00:00Z"), end: at("2026-03-29T05:00:00Z") });
  });

  it("opens a local time that a spring-forward skips an hour later, and one shown twice at its first showing", () => {
    const early = { days: ["sun"], start: "02:30", durationMinutes: 60, timeZone: "Europe/Berlin" } as const;
    // 02:30 does not exist on 2026-03-29 in Berlin (02:00 CET jumps to 03:00 CEST): it opens at 03:30 CEST.
    expect(weeklyOccurrenceAt(early, at("2026-03-29T01:45:00Z"))?.start).toBe(at("2026-03-29T01:30:00Z"));
    // 02:30 is shown twice on 2026-10-25 (03:00 CEST falls back to 02:00 CET): it opens at the first, 02:30 CEST.
    expect(weeklyOccurrenceAt(early, at("2026-10-25T00:45:00Z"))?.start).toBe(at("2026-10-25T00:30:00Z"));
  });

  it("can last up to a week and wrap around it", () => {
    const week = { days: ["mon"], start: "00:00", durationMinutes: 7 * 24 * 60, timeZone: "UTC" } as const;
    // 2026-01-05 is a Monday: every instant of the week after it is covered, by the occurrence that opened last.
    for (let h = 0; h < 7 * 24; h += 5) expect(weeklyOccurrenceAt(week, at("2026-01-05T00:00:00Z") + h * 3_600_000)?.start).toBe(at("2026-01-05T00:00:00Z"));
    expect(weeklyOccurrenceAt(week, at("2026-01-12T00:00:00Z"))?.start).toBe(at("2026-01-12T00:00:00Z"));
  });
});

describe("window specs", () => {
  it("cover one-off occurrences, end exclusive, and pick the one ending last when several are on", () => {
    const w = spec({ oneTime: [{ start: "2026-12-24T00:00:00Z", end: "2026-12-27T00:00:00Z" }, { start: "2026-12-26T00:00:00Z", end: "2027-01-02T00:00:00Z" }] });
    expect(occurrenceAt(w, at("2026-12-23T23:59:59Z"))).toBeNull();
    expect(occurrenceAt(w, at("2026-12-24T00:00:00Z"))?.end).toBe(at("2026-12-27T00:00:00Z"));
    expect(occurrenceAt(w, at("2026-12-26T12:00:00Z"))?.end).toBe(at("2027-01-02T00:00:00Z"));
    expect(occurrenceAt(w, at("2027-01-02T00:00:00Z"))).toBeNull();
  });

  it("name environments by name, tier, project id or *", () => {
    expect(windowCovers({ environments: ["production"] }, prod)).toBe(true);
    expect(windowCovers({ environments: ["lang-trak-prod"] }, prod)).toBe(true);
    expect(windowCovers({ environments: ["production"] }, dev)).toBe(false);
    expect(windowCovers({ environments: ["*"] }, dev)).toBe(true);
  });

  it("refuse bad input with the path of the field", () => {
    const bad = (v: Record<string, unknown>) => windowSpecSchema.safeParse({ kind: "freeze", name: "w", environments: ["production"], ...v }).error?.issues.map((i) => i.path.join("."));
    expect(bad({})).toEqual(["oneTime"]);
    expect(bad({ oneTime: [{ start: "2026-12-24", end: "2026-12-27T00:00:00Z" }] })).toEqual(["oneTime.0.start"]);
    expect(bad({ oneTime: [{ start: "2026-12-27T00:00:00Z", end: "2026-12-24T00:00:00Z" }] })).toEqual(["oneTime.0.end"]);
    expect(bad({ weekly: [{ days: ["sat"], start: "25:00", durationMinutes: 60 }] })).toEqual(["weekly.0.start"]);
    expect(bad({ weekly: [{ days: ["sat"], start: "22:00", durationMinutes: 60, timeZone: "Mars/Olympus" }] })).toEqual(["weekly.0.timeZone"]);
    expect(bad({ weekly: [{ days: ["sat"], start: "22:00", durationMinutes: 20_000 }] })).toEqual(["weekly.0.durationMinutes"]);
    expect(parseWindowDoc("x", { kind: "freeze", name: "w", environments: "production", oneTime: [] })).toEqual({ ok: false, problem: expect.stringMatching(/^environments: /) });
  });
});

describe("the freeze a plan meets", () => {
  const holidays = { ...spec({ name: "holidays", oneTime: [{ start: "2026-12-24T00:00:00Z", end: "2026-12-27T00:00:00Z" }] }), id: "holidays" };
  const maintenance = { ...spec({ kind: "maintenance", name: "db upgrade", environments: ["*"], oneTime: [{ start: "2026-12-24T00:00:00Z", end: "2026-12-25T00:00:00Z" }] }), id: "db" };

  it("is a freeze window on now that names one of its environments; maintenance windows do not freeze", () => {
    expect(freezeAt([holidays, maintenance], [], [dev, prod], at("2026-12-25T10:00:00Z"))).toEqual({ window: "holidays", name: "holidays", environment: "production", until: at("2026-12-27T00:00:00Z") });
    expect(freezeAt([holidays, maintenance], [], [dev], at("2026-12-25T10:00:00Z"))).toBeNull();
    expect(freezeAt([holidays], [], [prod], at("2026-12-27T00:00:00Z"))).toBeNull();
    // A task plan that touches no environment is never frozen.
    expect(freezeAt([holidays], [], [], at("2026-12-25T10:00:00Z"))).toBeNull();
  });

  it("meets a task plan by the environment its firebase tasks name, as an environment plan by its environments", () => {
    const compiled = compilePlan({ tasks: [{ id: "v", run: "firebase", params: { integration: "environment", action: "verify", environment: "staging", projectId: "lang-trak-staging", region: "us-central1" } }] });
    if (!compiled.ok) throw new Error("does not compile");
    expect(compiled.plan.summary.environments).toEqual([{ projectId: "lang-trak-staging", name: "staging", tier: null }]);
    const staging = { ...spec({ name: "release freeze", environments: ["staging"], oneTime: [{ start: "2026-12-24T00:00:00Z", end: "2026-12-27T00:00:00Z" }] }), id: "release" };
    expect(freezeAt([staging], [], compiled.plan.summary.environments, at("2026-12-25T00:00:00Z"))?.window).toBe("release");
  });

  it("fails closed on a window it cannot read", () => {
    const now = at("2026-06-01T00:00:00Z");
    expect(freezeAt([], [{ id: "typo", problem: "environments: Expected array" }], [dev], now)).toEqual({ window: "typo", name: expect.stringContaining("unreadable"), environment: "development", until: now + UNREADABLE_WINDOW_RECHECK_MS });
  });
});

describe("the plan machine and freezes", () => {
  const T = at("2026-12-25T10:00:00Z");
  const state = (over: Partial<PlanMachineState>): PlanMachineState => ({ status: "planning", seq: 2, generation: 1, resume: null, started: false, frozen: false, ...over });
  const frozen: LockAnswer = { granted: false, freeze: { window: "holidays", name: "holidays", environment: "production", until: at("2026-12-27T00:00:00Z") } };

  it("waits on a freeze, naming the window and its end, with the intent kept", () => {
    expect(decidePlan(state({}), { kind: "begin", locks: frozen, taskCount: 3 }, T)).toMatchObject({
      to: "waiting",
      type: "plan.frozen",
      message: expect.stringContaining('production is frozen by window "holidays" until 2026-12-27T00:00:00.000Z'),
      update: { resume: "start", waitingFor: { freeze: "holidays", environment: "production", until: at("2026-12-27T00:00:00Z") } },
    });
    expect(decidePlan(state({ status: "failed", started: true }), { kind: "command", command: "retry", locks: frozen, by: "ops" }, T)).toMatchObject({ to: "waiting", update: { resume: "redrive" } });
  });

  it("takes an override only while it waits for a freeze, and records who, why and for which entry", () => {
    const waiting = state({ status: "waiting", resume: "redrive", generation: 3, frozen: true });
    expect(decidePlan(waiting, { kind: "override_freeze", by: "ops@example.com", reason: "hotfix for INC-12" }, T)).toMatchObject({
      to: "waiting",
      type: "plan.freeze_overridden",
      message: "freeze window overridden by ops@example.com: hotfix for INC-12",
      update: { resume: "redrive", freezeOverride: { by: "ops@example.com", reason: "hotfix for INC-12", at: T, intent: "redrive", generation: 3 } },
    });
    expect(decidePlan(state({ status: "waiting", resume: "start", frozen: false }), { kind: "override_freeze", by: "ops", reason: "x" }, T)).toMatchObject({ kind: "skip", reason: expect.stringContaining("for a lock") });
    expect(decidePlan(state({ status: "running" }), { kind: "override_freeze", by: "ops", reason: "x" }, T)).toMatchObject({ kind: "skip" });
  });
});
