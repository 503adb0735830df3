/**
 * What a firing pass decides for one schedule (pure: the clock, the runs' statuses and what the
 * transaction found are arguments; schedules/store.ts reads and writes). For each tick due since
 * the schedule's `lastTick`:
 *   - older than the catch-up window: recorded as missed (skipped), never fired;
 *   - otherwise, by the overlap policy, against the schedule's open runs (plans it created that
 *     are not in a final status):
 *       allow_all     start it;
 *       skip          start it only when no run is open, else record it skipped, naming the run;
 *       buffer_one    with a run open, keep it as the one buffered tick (a later tick is skipped:
 *                     the first buffered stays); a pass that finds no run open starts it;
 *       cancel_other  start it, and cancel every open run: the cancel is sent through the engine
 *                     right after the commit, and by every pass after until that run has ended,
 *                     so the two overlap for about the cancel's round trip (Temporal's
 *                     CANCEL_OTHER waits for the cancel to finish; here the engine's environment
 *                     locks serialise the runs that touch the same environment anyway).
 * A run's id comes from its schedule and tick (`nightly--20261201T1405Z`) and it is created with
 * `create()` in the transaction that records the tick, so one tick never starts two plans.
 */
import { FINAL_PLAN_STATUSES } from "../engine/plan";
import type { FieldError } from "../schema/issues";
import type { PlanStatus } from "../schema/plan";
import { runPlanOf, type OpenRun, type ScheduleDoc, type ScheduleSpec, type ScheduleState, type TickRecord } from "../schema/schedule";
import { nextTicks, ticksBetween, type Cron } from "./cron";

/** Ticks kept in `recent`, newest last. */
export const MAX_RECENT_TICKS = 50;
/** Open runs a schedule keeps track of; a tick that would open one more is skipped. */
export const MAX_OPEN_RUNS = 200;
/** Ticks one pass (or one backfill commit) handles: each start is two writes and a copy of the plan, at most 256 KiB. */
export const MAX_TICKS_PER_PASS = 20;
/** Missed ticks counted one by one; beyond, the pass records "at least" and moves on. */
export const MAX_MISSED_COUNTED = 10_000;
/** Ticks one backfill may start. */
export const MAX_BACKFILL_TICKS = 100;
/** How far ahead the next tick is looked for (`0 0 29 2 *` may be eight years away). */
export const NEXT_TICK_HORIZON_MS = 10 * 366 * 86_400_000;

const MINUTE_MS = 60_000;

/** `2026-12-01T14:05:00Z`: a run's `labels.tick`. */
export const tickIso = (tick: number): string => new Date(tick).toISOString().replace(/\.\d{3}Z$/, "Z");
/** `20261201T1405Z`: ticks are whole minutes. */
export const tickCompact = (tick: number): string => tickIso(tick).replace(/[-:]/g, "").replace(/\d{2}Z$/, "Z");
/** The run of `scheduleId` for `tick`: one Firestore document id per tick. */
export const runIdOf = (scheduleId: string, tick: number): string => `${scheduleId}--${tickCompact(tick)}`;

const isFinal = (status: PlanStatus): boolean => FINAL_PLAN_STATUSES.has(status);

/**
 * The plan document of a run: the schedule's plan (or its template's instance, pinned to
 * `templateVersion`, the version the firing checked), labelled with the schedule and tick,
 * attributed to the spec's author.
 */
export function runDocument(schedule: Pick<ScheduleDoc, "id" | "spec" | "meta">, tick: number, now: number, templateVersion?: number): Record<string, unknown> {
  const plan = runPlanOf(schedule.spec, templateVersion);
  const labels = (plan.labels ?? {}) as Record<string, string>;
  return {
    ...plan,
    name: plan.name ?? `${schedule.id} @ ${tickIso(tick)}`,
    labels: { ...labels, schedule: schedule.id, tick: tickIso(tick) },
    createdAt: now,
    createdBy: { uid: schedule.meta.author.uid, email: schedule.meta.author.email },
  };
}

/** The next tick that would fire after `now`, or null (paused, past `endAt`, or none within ten years). */
export function nextTickOf(cron: Cron, spec: ScheduleSpec, now: number): number | null {
  if (spec.paused) return null;
  const after = spec.startAt === undefined ? now : Math.max(now, Date.parse(spec.startAt) - 1);
  const until = spec.endAt === undefined ? after + NEXT_TICK_HORIZON_MS : Math.min(after + NEXT_TICK_HORIZON_MS, Date.parse(spec.endAt) - 1);
  return nextTicks(cron, spec.timeZone, after, until, 1)[0] ?? null;
}

/** The ticks a pass at `now` handles. */
export interface TickWindow {
  /** Ticks later than the catch-up window: counted, not fired. */
  missed: { count: number; first: number; last: number; capped: boolean } | null;
  /** Ticks to decide on, oldest first, at most MAX_TICKS_PER_PASS (the next pass takes the rest). */
  due: number[];
  /** The schedule's `lastTick` after this pass. */
  lastTick: number | null;
}

export function tickWindow(cron: Cron, spec: ScheduleSpec, state: ScheduleState, now: number): TickWindow {
  let after = state.lastTick ?? state.since;
  if (spec.startAt !== undefined) after = Math.max(after, Date.parse(spec.startAt) - 1);
  const until = spec.endAt === undefined ? now : Math.min(now, Date.parse(spec.endAt) - 1);
  let lastTick = state.lastTick;
  let missed: TickWindow["missed"] = null;
  if (until <= after) return { missed, due: [], lastTick };
  // A tick at or after this instant is within the catch-up window and still fires.
  const oldestDue = now - spec.catchupWindowMinutes * MINUTE_MS;
  const missedUntil = Math.min(until, oldestDue - 1);
  if (missedUntil > after) {
    const late = nextTicks(cron, spec.timeZone, after, missedUntil, MAX_MISSED_COUNTED + 1);
    if (late.length > 0) {
      const capped = late.length > MAX_MISSED_COUNTED;
      const counted = late.slice(0, MAX_MISSED_COUNTED);
      missed = { count: counted.length, first: counted[0]!, last: counted.at(-1)!, capped };
      // Uncounted missed ticks are missed all the same: the next pass starts after all of them.
      lastTick = capped ? missedUntil : counted.at(-1)!;
    }
    after = missedUntil;
  }
  const due = nextTicks(cron, spec.timeZone, after, until, MAX_TICKS_PER_PASS);
  if (due.length > 0) lastTick = due.at(-1)!;
  return { missed, due, lastTick };
}

/** A candidate run found in the transaction: its status, and whether it is this schedule's run for that tick. */
export interface ExistingRun {
  status: PlanStatus;
  ours: boolean;
}

/** A plan to create with `create()`. */
export interface RunStart {
  planId: string;
  tick: number;
}

/** Runs started, recorded and kept open while a pass (or a backfill) goes through its ticks. */
class RunBook {
  readonly starts: RunStart[] = [];
  readonly records: TickRecord[] = [];
  constructor(
    private readonly scheduleId: string,
    private readonly now: number,
    private readonly existing: ReadonlyMap<string, ExistingRun>,
    public open: OpenRun[],
  ) {}

  record(entry: Omit<TickRecord, "at">): void {
    this.records.push({ ...entry, at: this.now });
  }

  skip(tick: number, why: string): void {
    this.record({ tick, outcome: "skipped", why });
  }

  /** Starts the tick's run unless it cannot be; "existing" when the run was already there (nothing recorded). */
  start(tick: number, entry: Partial<TickRecord> = {}): "started" | "existing" | "skipped" {
    const planId = runIdOf(this.scheduleId, tick);
    const found = this.existing.get(planId);
    if (found !== undefined && !found.ours) {
      this.skip(tick, `plans/${planId} exists but is not this schedule's run for ${tickIso(tick)}: nothing was started`);
      return "skipped";
    }
    if (found !== undefined) {
      if (!isFinal(found.status) && !this.open.some((r) => r.planId === planId)) this.open.push({ planId, tick, cancelFor: null });
      return "existing";
    }
    if (this.open.length >= MAX_OPEN_RUNS) {
      this.skip(tick, `${this.open.length} runs of this schedule are open, the most it keeps track of: let some end first`);
      return "skipped";
    }
    this.starts.push({ planId, tick });
    this.open.push({ planId, tick, cancelFor: null });
    this.record({ ...entry, tick, outcome: "started", planId });
    return "started";
  }
}

export interface FiringInput {
  schedule: ScheduleDoc;
  now: number;
  window: TickWindow;
  /** `plans/{id}.status` of each open run, read just before (a document without one is `pending`); a run missing from the map has no document. */
  statuses: ReadonlyMap<string, PlanStatus>;
  /** The candidate runs (the buffered tick's and the due ticks') that already exist, read in the transaction. */
  existing: ReadonlyMap<string, ExistingRun>;
  /** Why the plan cannot run (it, or the template's instance, does not compile with the deployment's options), or null. */
  planProblem: string | null;
}

export interface FiringDecision {
  state: ScheduleState;
  /** Plans to create, with the state, in one commit. */
  starts: RunStart[];
  /** Open runs to cancel after the commit (cancel_other), each with the run that replaces it. */
  cancels: Array<{ planId: string; replacedBy: string }>;
  /** What this pass recorded. */
  records: TickRecord[];
  /** Whether anything is to be written. */
  changed: boolean;
}

const minutes = (ms: number): string => `${Math.round(ms / MINUTE_MS)} min`;

function openDescription(open: readonly OpenRun[], statuses: ReadonlyMap<string, PlanStatus>): string {
  const first = open[0]!;
  const what = `${first.planId} (${statuses.get(first.planId) ?? "pending"})`;
  return open.length === 1 ? `run ${what} is still open` : `${open.length} runs are still open (the oldest: ${what})`;
}

function missedRecord(missed: NonNullable<TickWindow["missed"]>, spec: ScheduleSpec, now: number): Omit<TickRecord, "at"> {
  const window = `the catch-up window (${spec.catchupWindowMinutes} min)`;
  if (missed.count === 1 && !missed.capped) return { tick: missed.first, outcome: "skipped", why: `missed: seen ${minutes(now - missed.first)} late, more than ${window}; not fired` };
  const count = missed.capped ? `${missed.count} or more` : String(missed.count);
  return { tick: missed.first, outcome: "skipped", missed: missed.count, why: `missed: ${count} ticks from ${tickIso(missed.first)} to ${tickIso(missed.last)}${missed.capped ? " and on" : ""} were seen later than ${window}; not fired` };
}

/** One schedule's firing pass. Paused: no tick is handled; the open runs are still looked after (ended ones dropped, cancels sent). */
export function decideFiring(input: FiringInput): FiringDecision {
  const { schedule, now, window, statuses } = input;
  const { spec, state } = schedule;
  const stillOpen = state.open.filter((r) => {
    const status = statuses.get(r.planId);
    return status !== undefined && !isFinal(status);
  });
  const book = new RunBook(schedule.id, now, input.existing, stillOpen);
  let buffered = state.buffered;
  let lastTick = state.lastTick;

  if (!spec.paused) {
    lastTick = window.lastTick;
    if (window.missed !== null) book.record(missedRecord(window.missed, spec, now));
    const fix = spec.template === undefined ? "fix the schedule's plan" : `fix the schedule's template parameters or template ${spec.template.id}`;
    const problem = input.planProblem === null ? null : `the plan does not compile: ${input.planProblem}; ${fix}`;
    if (buffered !== null && book.open.length === 0) {
      const tick = buffered;
      buffered = null;
      if (problem !== null) book.skip(tick, problem);
      else if (book.start(tick, { why: `buffered at its tick; started once the open run ended` }) === "existing") book.record({ tick, outcome: "started", planId: runIdOf(schedule.id, tick), why: "already there (a backfill created it)" });
    }
    for (const tick of window.due) {
      const planId = runIdOf(schedule.id, tick);
      if (problem !== null) {
        book.skip(tick, problem);
        continue;
      }
      const open = book.open;
      if (open.length > 0 && spec.overlap === "skip") {
        book.skip(tick, `${openDescription(open, statuses)} (overlap policy skip)`);
        continue;
      }
      if (open.length > 0 && spec.overlap === "buffer_one") {
        if (buffered === null) {
          buffered = tick;
          book.record({ tick, outcome: "buffered", planId, why: `${openDescription(open, statuses)}: starts when it ends (overlap policy buffer_one)` });
        } else {
          book.skip(tick, `${tickIso(buffered)} is already buffered behind the open run (overlap policy buffer_one keeps one)`);
        }
        continue;
      }
      // allow_all, cancel_other, or nothing open.
      const replaced = spec.overlap === "cancel_other" ? open.filter((r) => r.cancelFor === null).map((r) => r.planId) : [];
      const started = book.start(tick, replaced.length > 0 ? { cancelled: replaced, why: `replaces ${replaced.join(", ")} (overlap policy cancel_other)` } : {});
      if (started === "existing") book.record({ tick, outcome: "started", planId, why: "already there (an earlier pass or a backfill created it)" });
      if (started !== "skipped" && replaced.length > 0) book.open = book.open.map((r) => (replaced.includes(r.planId) ? { ...r, cancelFor: planId } : r));
    }
  }

  const nextState: ScheduleState = { since: state.since, lastTick, open: book.open, buffered, recent: [...state.recent, ...book.records].slice(-MAX_RECENT_TICKS) };
  const changed = book.records.length > 0 || lastTick !== state.lastTick || buffered !== state.buffered || JSON.stringify(book.open) !== JSON.stringify(state.open);
  return {
    state: nextState,
    starts: book.starts,
    cancels: book.open.filter((r) => r.cancelFor !== null).map((r) => ({ planId: r.planId, replacedBy: r.cancelFor! })),
    records: book.records,
    changed,
  };
}

/**
 * The ticks of a backfill of [from, to): in the past, at most MAX_BACKFILL_TICKS. A backfill
 * fires each regardless of the catch-up window, `startAt`/`endAt` and a pause: it is an operator
 * asking for exactly those ticks.
 */
export function backfillTicks(cron: Cron, timeZone: string, from: number, to: number, now: number): { ok: true; ticks: number[] } | { ok: false; errors: FieldError[] } {
  if (!(to > from)) return { ok: false, errors: [{ path: "to", message: "must be after from" }] };
  if (to > now + 1) return { ok: false, errors: [{ path: "to", message: `a backfill covers the past: at most now (${new Date(now).toISOString()}); later ticks fire on their own` }] };
  const ticks = ticksBetween(cron, timeZone, from, to, MAX_BACKFILL_TICKS + 1);
  if (ticks.length > MAX_BACKFILL_TICKS) return { ok: false, errors: [{ path: "from", message: `the range holds more than ${MAX_BACKFILL_TICKS} ticks of "${cron.expression}": backfill it in parts of at most ${MAX_BACKFILL_TICKS}` }] };
  return { ok: true, ticks };
}

export interface BackfillDecision {
  state: ScheduleState;
  starts: RunStart[];
  /** Runs that were already there (an earlier backfill, or the schedule's own firing): nothing is done for them. */
  existing: string[];
  records: TickRecord[];
}

/**
 * Starts a run for each tick, whatever runs are open: between a backfill's runs the overlap policy
 * is allow_all (like a Temporal backfill with its overlap policy overridden). The runs join the
 * open ones, so the schedule's own next tick sees them under its policy. `lastTick` does not move.
 */
export function decideBackfill(input: { schedule: ScheduleDoc; now: number; ticks: readonly number[]; existing: ReadonlyMap<string, ExistingRun> }): BackfillDecision {
  const { schedule, now } = input;
  const book = new RunBook(schedule.id, now, input.existing, [...schedule.state.open]);
  const existing: string[] = [];
  for (const tick of input.ticks) if (book.start(tick, { backfill: true }) === "existing") existing.push(runIdOf(schedule.id, tick));
  const state: ScheduleState = { ...schedule.state, open: book.open, recent: [...schedule.state.recent, ...book.records].slice(-MAX_RECENT_TICKS) };
  return { state, starts: book.starts, existing, records: book.records };
}
