/**
 * What a firing pass decides (functions/src/schedules/fire.ts), pure: which ticks are due, missed
 * or left for the next pass; each overlap policy with an open and with a finished previous run;
 * catch-up after downtime and after a pause; runs that already exist; and backfills.
 */
import { compilePlan } from "../../../functions/src/planner/compile";
import { parseCron, type Cron } from "../../../functions/src/schedules/cron";
import {
  backfillTicks,
  decideBackfill,
  decideFiring,
  MAX_OPEN_RUNS,
  MAX_RECENT_TICKS,
  MAX_TICKS_PER_PASS,
  nextTickOf,
  runDocument,
  runIdOf,
  tickCompact,
  tickIso,
  tickWindow,
  type ExistingRun,
  type FiringDecision,
} from "../../../functions/src/schedules/fire";
import type { PlanStatus } from "../../../functions/src/schema/plan";
import { scheduleSpecSchema, type OverlapPolicy, type ScheduleDoc, type ScheduleState } from "../../../functions/src/schema/schedule";
import { documentIdProblem } from "../../../functions/src/schema/storable";

const MIN = 60_000;
const at = (iso: string): number => Date.parse(iso);
/** A schedule created at 14:00:30 firing every minute; its first tick is 14:01. */
const SINCE = at("2026-12-01T14:00:30Z");
const tick = (minute: number): number => at("2026-12-01T14:00:00Z") + minute * MIN;
const plan = { tasks: [{ id: "gate", run: "approval" }] };

function schedule(spec: Record<string, unknown> = {}, state: Partial<ScheduleState> = {}): ScheduleDoc {
  return {
    id: "every-minute",
    spec: scheduleSpecSchema.parse({ cron: "* * * * *", plan, ...spec }),
    state: { since: SINCE, lastTick: null, open: [], buffered: null, recent: [], ...state },
    meta: { createdAt: SINCE, updatedAt: SINCE, author: { uid: "uid-ana", email: "ana@example.com", name: "ana@example.com" }, pausedAt: null, pausedBy: null },
  };
}

const cronOf = (s: ScheduleDoc): Cron => {
  const parsed = parseCron(s.spec.cron);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.cron;
};

interface PassOptions {
  statuses?: Record<string, PlanStatus>;
  existing?: Record<string, ExistingRun>;
  planProblem?: string | null;
}

/** One pass at `now`: the window, then the decision. */
function pass(s: ScheduleDoc, now: number, options: PassOptions = {}): FiringDecision {
  return decideFiring({
    schedule: s,
    now,
    window: tickWindow(cronOf(s), s.spec, s.state, now),
    statuses: new Map(Object.entries(options.statuses ?? {})),
    existing: new Map(Object.entries(options.existing ?? {})),
    planProblem: options.planProblem ?? null,
  });
}

/** The schedule as the pass left it. */
const after = (s: ScheduleDoc, d: FiringDecision): ScheduleDoc => ({ ...s, state: d.state });
const run = (minute: number): string => runIdOf("every-minute", tick(minute));
const outcomes = (d: FiringDecision) => d.records.map((r) => [new Date(r.tick).toISOString().slice(11, 16), r.outcome, r.planId ?? null]);

describe("run ids and documents", () => {
  it("names each tick's run after the schedule and the tick, as one Firestore document id", () => {
    expect(tickIso(at("2026-12-01T14:05:00Z"))).toBe("2026-12-01T14:05:00Z");
    expect(tickCompact(at("2026-12-01T14:05:00Z"))).toBe("20261201T1405Z");
    expect(runIdOf("nightly", at("2026-12-01T14:05:00Z"))).toBe("nightly--20261201T1405Z");
    expect(documentIdProblem(runIdOf("x".repeat(63), at("2099-12-31T23:59:00Z")))).toBeUndefined();
    // Two ticks, two ids; one tick, one id however often it is computed.
    expect(runIdOf("s", tick(1))).not.toBe(runIdOf("s", tick(2)));
    expect(runIdOf("s", tick(1))).toBe(runIdOf("s", tick(1)));
  });

  it("makes the run the schedule's plan, labelled with the schedule and tick, attributed to the spec's author", () => {
    const s = schedule({ plan: { ...plan, labels: { team: "data" } } });
    const doc = runDocument(s, tick(5), tick(5) + 400);
    expect(doc).toEqual({
      tasks: plan.tasks,
      name: "every-minute @ 2026-12-01T14:05:00Z",
      labels: { team: "data", schedule: "every-minute", tick: "2026-12-01T14:05:00Z" },
      createdAt: tick(5) + 400,
      createdBy: { uid: "uid-ana", email: "ana@example.com" },
    });
    // It compiles as the plan trigger will compile it, and keeps a name the plan gives.
    expect(compilePlan(doc).ok).toBe(true);
    expect(runDocument(schedule({ plan: { ...plan, name: "exports" } }), tick(5), 0).name).toBe("exports");
    // The schedule's own copy is not touched.
    expect(s.spec.plan?.labels).toEqual({ team: "data" });
  });
});

describe("the ticks a pass handles", () => {
  it("fires nothing from before the schedule existed, then each tick once", () => {
    const s = schedule({ overlap: "allow_all" });
    expect(pass(s, tick(0) + 59_000)).toMatchObject({ starts: [], records: [], changed: false });
    const first = pass(s, tick(1) + 2_000);
    expect(first.starts).toEqual([{ planId: run(1), tick: tick(1) }]);
    expect(first.state.lastTick).toBe(tick(1));
    // The same pass again (a duplicate delivery): nothing new.
    expect(pass(after(s, first), tick(1) + 3_000, { statuses: { [run(1)]: "pending" } })).toMatchObject({ starts: [], records: [], changed: false });
  });

  it("fires the ticks a late pass finds within the catch-up window, oldest first", () => {
    const s = schedule({ overlap: "allow_all" });
    const d = pass(s, tick(4) + 1_000);
    expect(d.starts.map((x) => x.planId)).toEqual([run(1), run(2), run(3), run(4)]);
    expect(d.state.lastTick).toBe(tick(4));
  });

  it("records a tick older than the catch-up window as missed, not fired", () => {
    const s = schedule({ overlap: "allow_all", catchupWindowMinutes: 2 }, { lastTick: tick(0) });
    const d = pass(s, tick(4) + 1_000);
    // 14:01 is 3 min late, more than 2: missed. 14:02 is 2 min and 1 s late... also missed; 14:03 and 14:04 fire.
    expect(outcomes(d)).toEqual([
      ["14:01", "skipped", null],
      ["14:03", "started", run(3)],
      ["14:04", "started", run(4)],
    ]);
    expect(d.records[0]).toMatchObject({ tick: tick(1), missed: 2, why: "missed: 2 ticks from 2026-12-01T14:01:00Z to 2026-12-01T14:02:00Z were seen later than the catch-up window (2 min); not fired" });
  });

  it("says how late a single missed tick was", () => {
    const s = schedule({ cron: "0 * * * *" }, { lastTick: tick(0) - 60 * MIN });
    expect(pass(s, tick(25)).records).toEqual([{ tick: tick(0), at: tick(25), outcome: "skipped", why: "missed: seen 25 min late, more than the catch-up window (10 min); not fired" }]);
  });

  it("counts a long outage's missed ticks up to a bound, and moves past all of them", () => {
    const s = schedule({ overlap: "allow_all" }, { lastTick: tick(0) - 30 * 24 * 60 * MIN });
    const d = pass(s, tick(0) + 1_000);
    expect(d.records[0]).toMatchObject({ outcome: "skipped", missed: 10_000, why: expect.stringMatching(/^missed: 10000 or more ticks from .* and on were seen later than/) });
    expect(d.starts).toHaveLength(10);
    expect(d.state.lastTick).toBe(tick(0));
    const open = Object.fromEntries(d.starts.map((x) => [x.planId, "running" as const]));
    expect(pass(after(s, d), tick(0) + 2_000, { statuses: open }).changed).toBe(false);
  });

  it("handles at most MAX_TICKS_PER_PASS ticks; the next pass takes the rest", () => {
    const s = schedule({ overlap: "allow_all", catchupWindowMinutes: 60 });
    const d = pass(s, tick(30));
    expect(d.starts).toHaveLength(MAX_TICKS_PER_PASS);
    expect(d.state.lastTick).toBe(tick(MAX_TICKS_PER_PASS));
    const next = pass(after(s, d), tick(30) + 1_000);
    expect(next.starts.map((x) => x.tick)).toEqual(Array.from({ length: 30 - MAX_TICKS_PER_PASS }, (_, i) => tick(MAX_TICKS_PER_PASS + 1 + i)));
  });

  it("fires nothing before startAt or from endAt on", () => {
    const s = schedule({ overlap: "allow_all", startAt: "2026-12-01T14:03:00Z", endAt: "2026-12-01T14:05:00Z" });
    expect(pass(s, tick(10)).starts.map((x) => x.tick)).toEqual([tick(3), tick(4)]);
    expect(nextTickOf(cronOf(s), s.spec, tick(1))).toBe(tick(3));
    expect(nextTickOf(cronOf(s), s.spec, tick(4))).toBeNull();
  });

  it("knows the next tick, and that a paused schedule has none", () => {
    const s = schedule({ cron: "0 0 29 2 *" });
    expect(nextTickOf(cronOf(s), s.spec, tick(0))).toBe(at("2028-02-29T00:00:00Z"));
    expect(nextTickOf(cronOf(s), { ...s.spec, paused: true }, tick(0))).toBeNull();
  });
});

describe("overlap policies", () => {
  /** A schedule whose 14:01 run is open (or ended as `status`), at the pass for 14:02. */
  const withRunOf = (overlap: OverlapPolicy, status: PlanStatus): { d: FiringDecision; s: ScheduleDoc } => {
    const s = schedule({ overlap }, { lastTick: tick(1), open: [{ planId: run(1), tick: tick(1), cancelFor: null }] });
    return { s, d: pass(s, tick(2) + 1_000, { statuses: { [run(1)]: status } }) };
  };

  describe.each(["skip", "buffer_one", "cancel_other", "allow_all"] as const)("%s, when the previous run has ended", (overlap) => {
    it.each(["succeeded", "failed", "cancelled", "invalid", "rolled_back"] as const)("starts the tick (previous run %s) and forgets the ended run", (status) => {
      const { d } = withRunOf(overlap, status);
      expect(outcomes(d)).toEqual([["14:02", "started", run(2)]]);
      expect(d.state.open).toEqual([{ planId: run(2), tick: tick(2), cancelFor: null }]);
      expect(d.cancels).toEqual([]);
    });
  });

  it("forgets a run whose plan document is gone", () => {
    const s = schedule({ overlap: "skip" }, { lastTick: tick(1), open: [{ planId: run(1), tick: tick(1), cancelFor: null }] });
    expect(outcomes(pass(s, tick(2) + 1_000))).toEqual([["14:02", "started", run(2)]]);
  });

  it("allow_all starts every tick while runs are open", () => {
    const { d } = withRunOf("allow_all", "running");
    expect(outcomes(d)).toEqual([["14:02", "started", run(2)]]);
    expect(d.state.open.map((r) => r.planId)).toEqual([run(1), run(2)]);
  });

  it.each(["pending", "planning", "waiting", "running", "paused", "redriving", "rolling_back"] as const)("skip skips the tick while the previous run is %s, naming it", (status) => {
    const { d } = withRunOf("skip", status);
    expect(d.starts).toEqual([]);
    expect(d.records).toEqual([{ tick: tick(2), at: tick(2) + 1_000, outcome: "skipped", why: `run ${run(1)} (${status}) is still open (overlap policy skip)` }]);
    expect(d.state).toMatchObject({ lastTick: tick(2), open: [{ planId: run(1) }] });
  });

  it("buffer_one keeps the first tick that comes while a run is open, skips the later ones, and starts it once the run has ended", () => {
    const { s, d } = withRunOf("buffer_one", "running");
    expect(outcomes(d)).toEqual([["14:02", "buffered", run(2)]]);
    expect(d.state.buffered).toBe(tick(2));
    // 14:03 and 14:04 come while it is still open: skipped, the 14:02 stays buffered.
    const later = pass(after(s, d), tick(4) + 1_000, { statuses: { [run(1)]: "running" } });
    expect(outcomes(later)).toEqual([
      ["14:03", "skipped", null],
      ["14:04", "skipped", null],
    ]);
    expect(later.records[0]!.why).toBe("2026-12-01T14:02:00Z is already buffered behind the open run (overlap policy buffer_one keeps one)");
    expect(later.state.buffered).toBe(tick(2));
    // A pass with nothing due while the run is open changes nothing.
    expect(pass(after(after(s, d), later), tick(4) + 30_000, { statuses: { [run(1)]: "running" } }).changed).toBe(false);
    // The run ended: the next pass starts the buffered tick first; 14:05, due now, is buffered behind it.
    const ended = pass(after(after(s, d), later), tick(5) + 1_000, { statuses: { [run(1)]: "succeeded" } });
    expect(outcomes(ended)).toEqual([
      ["14:02", "started", run(2)],
      ["14:05", "buffered", run(5)],
    ]);
    expect(ended.starts).toEqual([{ planId: run(2), tick: tick(2) }]);
    expect(ended.state).toMatchObject({ buffered: tick(5), open: [{ planId: run(2) }] });
  });

  it("buffer_one starts a buffered tick even when no new tick is due", () => {
    const s = schedule({ overlap: "buffer_one" }, { lastTick: tick(2), buffered: tick(2), open: [{ planId: run(1), tick: tick(1), cancelFor: null }] });
    const d = pass(s, tick(2) + 30_000, { statuses: { [run(1)]: "failed" } });
    expect(d.starts).toEqual([{ planId: run(2), tick: tick(2) }]);
    expect(d.state.buffered).toBeNull();
  });

  it("cancel_other starts the tick and asks for the open run's cancel, until that run has ended", () => {
    const { s, d } = withRunOf("cancel_other", "running");
    expect(d.starts).toEqual([{ planId: run(2), tick: tick(2) }]);
    expect(d.records).toEqual([{ tick: tick(2), at: tick(2) + 1_000, outcome: "started", planId: run(2), cancelled: [run(1)], why: `replaces ${run(1)} (overlap policy cancel_other)` }]);
    expect(d.cancels).toEqual([{ planId: run(1), replacedBy: run(2) }]);
    // The cancel has not landed by the next pass (a crash after the commit, or a refusal): it is asked for again, once.
    const again = pass(after(s, d), tick(2) + 30_000, { statuses: { [run(1)]: "running", [run(2)]: "running" } });
    expect(again).toMatchObject({ starts: [], changed: false, cancels: [{ planId: run(1), replacedBy: run(2) }] });
    // Ended: forgotten; the next tick replaces the 14:02 run.
    const next = pass(after(s, d), tick(3) + 1_000, { statuses: { [run(1)]: "cancelled", [run(2)]: "running" } });
    expect(next.cancels).toEqual([{ planId: run(2), replacedBy: run(3) }]);
    expect(next.state.open.map((r) => [r.planId, r.cancelFor])).toEqual([
      [run(2), run(3)],
      [run(3), null],
    ]);
  });

  it("cancel_other with several open runs cancels each once, and a run being cancelled already keeps its replacement", () => {
    const s = schedule({ overlap: "cancel_other" }, { lastTick: tick(1), open: [{ planId: "a", tick: 0, cancelFor: "b" }, { planId: "b", tick: 1, cancelFor: null }] });
    const d = pass(s, tick(2) + 1_000, { statuses: { a: "rolling_back", b: "running" } });
    expect(d.records[0]).toMatchObject({ outcome: "started", cancelled: ["b"] });
    expect(d.cancels).toEqual([
      { planId: "a", replacedBy: "b" },
      { planId: "b", replacedBy: run(2) },
    ]);
  });

  it("skips the ticks while the plan does not compile, saying why", () => {
    const s = schedule({ overlap: "allow_all" });
    const d = pass(s, tick(1) + 1_000, { planProblem: "tasks.0.params.headersFromSecrets: no binding" });
    expect(d.starts).toEqual([]);
    expect(d.records[0]).toMatchObject({ outcome: "skipped", why: "the plan does not compile: tasks.0.params.headersFromSecrets: no binding; fix the schedule's plan" });
  });

  it("skips a tick that would open more runs than a schedule keeps track of", () => {
    const open = Array.from({ length: MAX_OPEN_RUNS }, (_, i) => ({ planId: `r${i}`, tick: i, cancelFor: null }));
    const s = schedule({ overlap: "allow_all" }, { lastTick: tick(1), open });
    const d = pass(s, tick(2) + 1_000, { statuses: Object.fromEntries(open.map((r) => [r.planId, "running" as const])) });
    expect(d.starts).toEqual([]);
    expect(d.records[0]!.why).toBe(`${MAX_OPEN_RUNS} runs of this schedule are open, the most it keeps track of: let some end first`);
  });

  it("keeps the last MAX_RECENT_TICKS ticks", () => {
    const recent = Array.from({ length: MAX_RECENT_TICKS }, (_, i) => ({ tick: i, at: i, outcome: "skipped" as const, why: "old" }));
    const d = pass(schedule({ overlap: "allow_all" }, { recent }), tick(2) + 1_000);
    expect(d.state.recent).toHaveLength(MAX_RECENT_TICKS);
    expect(d.state.recent.slice(-2).map((r) => r.planId)).toEqual([run(1), run(2)]);
    expect(d.state.recent[0]!.tick).toBe(2);
  });
});

describe("runs that already exist", () => {
  it("records the tick's run as started without creating it again (a backfill or an earlier pass made it)", () => {
    const s = schedule({ overlap: "skip" });
    const d = pass(s, tick(1) + 1_000, { existing: { [run(1)]: { status: "running", ours: true } } });
    expect(d.starts).toEqual([]);
    expect(d.records).toEqual([{ tick: tick(1), at: tick(1) + 1_000, outcome: "started", planId: run(1), why: "already there (an earlier pass or a backfill created it)" }]);
    expect(d.state.open).toEqual([{ planId: run(1), tick: tick(1), cancelFor: null }]);
    // One that already ended is not kept open.
    expect(pass(s, tick(1) + 1_000, { existing: { [run(1)]: { status: "succeeded", ours: true } } }).state.open).toEqual([]);
  });

  it("never takes over a plan with the run's id that the schedule did not create", () => {
    const d = pass(schedule(), tick(1) + 1_000, { existing: { [run(1)]: { status: "running", ours: false } } });
    expect(d.starts).toEqual([]);
    expect(d.records[0]).toMatchObject({ outcome: "skipped", why: `plans/${run(1)} exists but is not this schedule's run for 2026-12-01T14:01:00Z: nothing was started` });
    expect(d.state.open).toEqual([]);
  });
});

describe("pause", () => {
  it("fires nothing while paused, and still looks after the open runs", () => {
    const s = schedule({ overlap: "cancel_other", paused: true }, { lastTick: tick(1), open: [{ planId: "old", tick: 0, cancelFor: run(1) }, { planId: run(1), tick: tick(1), cancelFor: null }] });
    const d = pass(s, tick(30), { statuses: { old: "running", [run(1)]: "succeeded" } });
    expect(d).toMatchObject({ starts: [], records: [], cancels: [{ planId: "old", replacedBy: run(1) }] });
    expect(d.state).toMatchObject({ lastTick: tick(1), open: [{ planId: "old" }] });
  });

  it("resumed, fires the ticks within the catch-up window and records the older ones as missed", () => {
    const paused = schedule({ overlap: "allow_all", paused: true }, { lastTick: tick(1) });
    expect(pass(paused, tick(30)).changed).toBe(false);
    const resumed = { ...paused, spec: { ...paused.spec, paused: false } };
    const d = pass(resumed, tick(30) + 1_000);
    // 14:02 to 14:20 are more than 10 minutes late at 14:30:01.
    expect(d.records[0]).toMatchObject({ tick: tick(2), outcome: "skipped", missed: 19 });
    expect(d.starts.map((x) => x.tick)).toEqual(Array.from({ length: 10 }, (_, i) => tick(21 + i)));
  });
});

describe("backfill", () => {
  const every = (expression: string): Cron => {
    const parsed = parseCron(expression);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.cron;
  };

  it("takes the ticks of [from, to) in the past, at most 100", () => {
    expect(backfillTicks(every("*/10 * * * *"), "UTC", tick(0), tick(30), tick(60))).toEqual({ ok: true, ticks: [tick(0), tick(10), tick(20)] });
    expect(backfillTicks(every("*/10 * * * *"), "UTC", tick(1), tick(9), tick(60))).toEqual({ ok: true, ticks: [] });
    expect(backfillTicks(every("* * * * *"), "UTC", tick(30), tick(30), tick(60))).toEqual({ ok: false, errors: [{ path: "to", message: "must be after from" }] });
    expect(backfillTicks(every("* * * * *"), "UTC", tick(0), tick(61), tick(60))).toMatchObject({ ok: false, errors: [{ path: "to", message: expect.stringMatching(/^a backfill covers the past/) }] });
    expect(backfillTicks(every("* * * * *"), "UTC", tick(0), tick(101), tick(200))).toMatchObject({ ok: false, errors: [{ path: "from", message: expect.stringMatching(/more than 100 ticks of "\* \* \* \* \*": backfill it in parts/) }] });
    expect(backfillTicks(every("* * * * *"), "UTC", tick(0), tick(100), tick(200))).toMatchObject({ ok: true, ticks: { length: 100 } });
  });

  it("starts every tick whatever the policy and the open runs (allow_all between them), and leaves lastTick", () => {
    const s = schedule({ overlap: "skip", paused: true }, { lastTick: tick(50), open: [{ planId: run(50), tick: tick(50), cancelFor: null }] });
    const d = decideBackfill({ schedule: s, now: tick(60), ticks: [tick(10), tick(11), tick(12)], existing: new Map() });
    expect(d.starts.map((x) => x.planId)).toEqual([run(10), run(11), run(12)]);
    expect(d.records.map((r) => [r.outcome, r.backfill])).toEqual([
      ["started", true],
      ["started", true],
      ["started", true],
    ]);
    expect(d.state.lastTick).toBe(tick(50));
    expect(d.state.open.map((r) => r.planId)).toEqual([run(50), run(10), run(11), run(12)]);
  });

  it("done again, creates nothing and records nothing: the runs are there", () => {
    const s = schedule();
    const existing = new Map<string, ExistingRun>([
      [run(10), { status: "succeeded", ours: true }],
      [run(11), { status: "running", ours: true }],
    ]);
    const d = decideBackfill({ schedule: s, now: tick(60), ticks: [tick(10), tick(11)], existing });
    expect(d).toMatchObject({ starts: [], records: [], existing: [run(10), run(11)] });
    expect(d.state.open.map((r) => r.planId)).toEqual([run(11)]);
  });
});
