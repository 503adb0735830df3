/**
 * Cron expressions, evaluated in an IANA time zone (pure: no clock, no Firebase). Five fields,
 * `minute hour day-of-month month day-of-week`, each a comma-separated list of `*`, a value, a
 * range `a-b`, and any of those with a step (`*\/15`, `1-30/2`, `5/10` = from 5 to the end in tens);
 * months and weekdays also by name (`jan`–`dec`, `sun`–`sat`, any case), weekday 7 is Sunday like
 * 0. The aliases `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly` and `@yearly`
 * (`@annually`) stand for their usual expressions.
 *
 * Semantics, as Vixie cron and cronie have them:
 *   - day-of-month and day-of-week: when both are restricted (neither field starts with `*`), a day
 *     matches if EITHER does (`0 0 13 * fri` fires on every 13th and every Friday); otherwise both
 *     must (a `*` field matches every day, so only the other one decides);
 *   - the fields are read on the wall clock of the schedule's time zone, so `0 9 * * *` in
 *     Europe/Berlin fires at 08:00 UTC in winter and 07:00 UTC in summer.
 * Daylight saving, which cron daemons disagree about, is decided here once:
 *   - a local time that does not exist (the hour a spring-forward skips, e.g. 02:30 on the last
 *     Sunday of March in Berlin) does not fire that day: its tick is skipped, not moved;
 *   - a local time that exists twice (the hour an autumn fall-back repeats) fires once, at its
 *     first occurrence (`30 1 * * *` in New York on the first Sunday of November fires at 01:30
 *     EDT, not again at 01:30 EST; `*\/15 * * * *` goes 01:45 EDT → 02:00 EST, 75 minutes).
 * A tick is an instant in epoch ms, always a whole minute.
 */
import { DAY_MS, firstInstantShowing, utcOffsetAt } from "../engine/wall-clock";

export { utcOffsetAt };

export const CRON_FIELDS = ["minute", "hour", "day-of-month", "month", "day-of-week"] as const;
export type CronField = (typeof CRON_FIELDS)[number];

export interface Cron {
  /** The expression as written (after trimming). */
  expression: string;
  /** Sorted, distinct. */
  minutes: readonly number[];
  hours: readonly number[];
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 (Sunday) to 6. */
  daysOfWeek: ReadonlySet<number>;
  /** Whether the field restricts days (does not start with `*`): decides how the two day fields combine. */
  dayOfMonthRestricted: boolean;
  dayOfWeekRestricted: boolean;
}

export type CronParse = { ok: true; cron: Cron } | { ok: false; field: CronField | null; message: string };

const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] as const;
const WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

interface FieldRule {
  field: CronField;
  min: number;
  max: number;
  /** Names for values, the first naming `min`. */
  names?: readonly string[];
  /** How a value is written in messages. */
  hint: string;
}

const RULES: readonly FieldRule[] = [
  { field: "minute", min: 0, max: 59, hint: "0-59" },
  { field: "hour", min: 0, max: 23, hint: "0-23" },
  { field: "day-of-month", min: 1, max: 31, hint: "1-31" },
  { field: "month", min: 1, max: 12, names: MONTH_NAMES, hint: "1-12 or jan-dec" },
  { field: "day-of-week", min: 0, max: 7, names: WEEKDAY_NAMES, hint: "0-7 (0 and 7 are Sunday) or sun-sat" },
];

const ALIASES: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** Days in each month of a leap year: a day-of-month a month never has can never fire. */
const MAX_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

class FieldProblem extends Error {}

function valueOf(text: string, rule: FieldRule): number {
  if (/^\d{1,2}$/.test(text)) {
    const n = Number(text);
    if (n < rule.min || n > rule.max) throw new FieldProblem(`${n} is outside ${rule.min}-${rule.max}`);
    return n;
  }
  const named = rule.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return rule.min + named;
  throw new FieldProblem(`"${text}" is not a value: use ${rule.hint}`);
}

/** The values one field selects. */
function fieldValues(text: string, rule: FieldRule): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(",")) {
    if (item === "") throw new FieldProblem("an empty item in the list (two commas, or one at an end)");
    const [range, stepText, extra] = item.split("/");
    if (extra !== undefined) throw new FieldProblem(`"${item}" has two steps`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d{1,3}$/.test(stepText) || Number(stepText) === 0) throw new FieldProblem(`"${item}": the step after / must be a whole number from 1`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === "*") {
      from = rule.min;
      to = rule.field === "day-of-week" ? 6 : rule.max;
    } else if (range!.includes("-")) {
      const [a, b, more] = range!.split("-");
      if (more !== undefined || a === "" || b === "") throw new FieldProblem(`"${range}" is not a range: write it as a-b`);
      from = valueOf(a!, rule);
      to = valueOf(b!, rule);
      if (from > to) throw new FieldProblem(`the range "${range}" runs backwards: write the smaller end first (ranges do not wrap around)`);
    } else {
      from = valueOf(range!, rule);
      // `5/10`: from 5 to the field's end, in steps of 10 (as cronie reads it).
      to = stepText === undefined ? from : rule.max;
    }
    for (let v = from; v <= to; v += step) values.add(rule.field === "day-of-week" && v === 7 ? 0 : v);
  }
  return values;
}

/** Parses a cron expression; a problem names its field and says what to write instead. */
export function parseCron(expression: string): CronParse {
  const trimmed = expression.trim();
  const expanded = trimmed.startsWith("@") ? ALIASES[trimmed.toLowerCase()] : trimmed;
  if (expanded === undefined) return { ok: false, field: null, message: `"${trimmed}" is not an alias: use one of ${Object.keys(ALIASES).join(", ")}, or five fields` };
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5 || parts[0] === "") {
    return { ok: false, field: null, message: `a cron expression has 5 fields (minute hour day-of-month month day-of-week), e.g. "*/5 * * * *"; this one has ${parts[0] === "" ? 0 : parts.length}` };
  }
  const sets: Array<Set<number>> = [];
  for (const [i, rule] of RULES.entries()) {
    try {
      sets.push(fieldValues(parts[i]!, rule));
    } catch (error) {
      if (!(error instanceof FieldProblem)) throw error;
      return { ok: false, field: rule.field, message: `${rule.field} field "${parts[i]}": ${error.message}` };
    }
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const cron: Cron = {
    expression: trimmed,
    minutes: [...minutes].sort((a, b) => a - b),
    hours: [...hours].sort((a, b) => a - b),
    daysOfMonth,
    months,
    daysOfWeek,
    dayOfMonthRestricted: !parts[2]!.startsWith("*"),
    dayOfWeekRestricted: !parts[4]!.startsWith("*"),
  };
  // Only the day of the month decides (the weekday is `*`): it must fall in one of the months.
  if (!cron.dayOfWeekRestricted && ![...months].some((m) => [...daysOfMonth].some((d) => d <= MAX_DAYS[m - 1]!))) {
    return { ok: false, field: "day-of-month", message: `day-of-month field "${parts[2]}": no such day in month${months.size > 1 ? "s" : ""} "${parts[3]}", so it would never fire` };
  }
  return { ok: true, cron };
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * For one local day (`day`: days since 1970-01-01 on the wall clock), a converter from its
 * wall-clock times to instants. Every instant showing a time of that day lies between 14 h before
 * its midnight and 12 h after its end; when the offset is the same a day before, in the middle
 * and two days after (every day of most zones, all but two a year elsewhere), it is that offset
 * throughout, and the conversion is arithmetic. Otherwise each time is looked up.
 */
function dayConverter(day: number, timeZone: string): (local: number) => number | null {
  const midnight = day * DAY_MS;
  const offset = utcOffsetAt(midnight - DAY_MS, timeZone);
  if (utcOffsetAt(midnight + DAY_MS / 2, timeZone) === offset && utcOffsetAt(midnight + 2 * DAY_MS, timeZone) === offset) return (local) => local - offset;
  return (local) => firstInstantShowing(local, timeZone);
}

function dayMatches(cron: Cron, day: number): boolean {
  const date = new Date(day * DAY_MS);
  if (!cron.months.has(date.getUTCMonth() + 1)) return false;
  const byMonthDay = cron.daysOfMonth.has(date.getUTCDate());
  const byWeekday = cron.daysOfWeek.has(date.getUTCDay());
  return cron.dayOfMonthRestricted && cron.dayOfWeekRestricted ? byMonthDay || byWeekday : byMonthDay && byWeekday;
}

/** The local day (days since 1970-01-01 on the wall clock in `timeZone`) that contains instant `at`. */
const localDayOf = (at: number, timeZone: string): number => Math.floor((at + utcOffsetAt(at, timeZone)) / DAY_MS);

/**
 * The ticks `t` with `after < t <= until`, in order, at most `max` of them. The work is one step
 * per local day up to `until` plus one per tick, so `until` bounds it: pass a finite one.
 */
export function nextTicks(cron: Cron, timeZone: string, after: number, until: number, max: number): number[] {
  const ticks: number[] = [];
  if (max <= 0 || !(until > after) || !Number.isFinite(until) || !Number.isFinite(after)) return ticks;
  const lastDay = localDayOf(until, timeZone) + 1;
  for (let day = localDayOf(after, timeZone) - 1; day <= lastDay; day++) {
    if (!dayMatches(cron, day)) continue;
    const instantOf = dayConverter(day, timeZone);
    for (const hour of cron.hours) {
      for (const minute of cron.minutes) {
        const at = instantOf(day * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS);
        if (at === null || at <= after) continue;
        // Wall-clock order is instant order: a repeated hour fires only its first pass.
        if (at > until) return ticks;
        ticks.push(at);
        if (ticks.length >= max) return ticks;
      }
    }
  }
  return ticks;
}

/** The ticks `t` with `from <= t < to` (half-open, like a backfill's range), at most `max`. */
export function ticksBetween(cron: Cron, timeZone: string, from: number, to: number, max: number): number[] {
  return nextTicks(cron, timeZone, from - 1, to - 1, max);
}
