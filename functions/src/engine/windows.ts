/**
 * When maintenance and freeze windows are on (pure: the clock is an argument). A weekly window
 * opens at a local wall-clock time in its time zone, so it follows daylight saving: "sat 22:00
 * Europe/Berlin" is 21:00 UTC in winter and 20:00 UTC in summer. A local time that a spring-forward
 * skips opens at the first instant after the gap, as a wall clock would show it.
 */
import type { FreezeHit } from "./plan";
import { WEEKDAYS, type OneTimeWindow, type WeeklyWindow, type Weekday, type WindowSpec } from "../schema/windows";

export interface Occurrence {
  start: number;
  end: number;
}

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric", weekday: "short" });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock in `timeZone` at `at`: its calendar date as a UTC day number, weekday, and offset from UTC (ms). */
function wallClock(at: number, timeZone: string): { day: number; weekday: number; offsetMs: number } {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(at))) parts[p.type] = p.value;
  const local = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const offsetMs = local - (at - (at % 1000));
  return { day: Math.floor(local / DAY_MS), weekday: WEEKDAYS.indexOf(parts.weekday!.toLowerCase().slice(0, 3) as (typeof WEEKDAYS)[number]), offsetMs };
}

/**
 * The instant at which the wall clock in `timeZone` shows `minutes` past midnight of UTC day number
 * `day`, disambiguated as Temporal's "compatible" does: a time shown twice (autumn) is the earlier
 * instant; a time skipped (spring) is shifted forward by the gap (02:30 → 03:30).
 */
function instantOf(day: number, minutes: number, timeZone: string): number {
  const local = day * DAY_MS + minutes * 60_000;
  const before = local - wallClock(local - DAY_MS / 2, timeZone).offsetMs;
  const after = local - wallClock(local + DAY_MS / 2, timeZone).offsetMs;
  const shows = (at: number): boolean => at + wallClock(at, timeZone).offsetMs === local;
  const valid = [before, after].filter(shows);
  return valid.length > 0 ? Math.min(...valid) : before;
}

/** The occurrence of a weekly window that covers `at`, if any. */
export function weeklyOccurrenceAt(window: Readonly<Omit<WeeklyWindow, "days">> & { readonly days: readonly Weekday[] }, at: number): Occurrence | null {
  const [hh, mm] = window.start.split(":").map(Number) as [number, number];
  const today = wallClock(at, window.timeZone);
  // An occurrence lasts at most a week: one that opened up to 7 local days ago may still be on.
  for (let back = 0; back <= 7; back++) {
    const weekday = WEEKDAYS[(((today.weekday - back) % 7) + 7) % 7]!;
    if (!window.days.includes(weekday)) continue;
    const start = instantOf(today.day - back, hh * 60 + mm, window.timeZone);
    const end = start + window.durationMinutes * 60_000;
    if (start <= at && at < end) return { start, end };
  }
  return null;
}

const oneTimeAt = (window: OneTimeWindow, at: number): Occurrence | null => (window.start <= at && at < window.end ? { start: window.start, end: window.end } : null);

/** The occurrence of `spec` that covers `at` (the one ending last when several overlap), or null. */
export function occurrenceAt(spec: Pick<WindowSpec, "oneTime" | "weekly">, at: number): Occurrence | null {
  let found: Occurrence | null = null;
  for (const o of [...spec.oneTime.map((w) => oneTimeAt(w, at)), ...spec.weekly.map((w) => weeklyOccurrenceAt(w, at))]) {
    if (o !== null && (found === null || o.end > found.end)) found = o;
  }
  return found;
}

/** An environment as a window may name it. */
export interface WindowTarget {
  projectId: string;
  name: string | null;
  tier: string | null;
}

/** Whether a window applies to an environment: by `*`, its name, its tier or its project id. */
export function windowCovers(spec: Pick<WindowSpec, "environments">, target: WindowTarget): boolean {
  return spec.environments.some((e) => e === "*" || e === target.projectId || e === target.name || e === target.tier);
}

/** How long a plan waits on a window that cannot be read before it looks again (the sweeper's next pass wakes it sooner). */
export const UNREADABLE_WINDOW_RECHECK_MS = 5 * 60_000;

/**
 * The freeze that keeps a plan from its environments now: the first (by environment, then window
 * id) freeze window on that covers one of them, or null. A stored window that does not parse is a
 * freeze of everything: a plan does not run past a freeze it cannot read.
 */
export function freezeAt(
  windows: ReadonlyArray<Pick<WindowSpec, "kind" | "name" | "environments" | "oneTime" | "weekly"> & { id: string }>,
  unreadable: ReadonlyArray<{ id: string; problem: string }>,
  targets: readonly WindowTarget[],
  at: number,
): FreezeHit | null {
  if (targets.length === 0) return null;
  const broken = [...unreadable].sort((a, b) => a.id.localeCompare(b.id))[0];
  if (broken !== undefined) {
    return { window: broken.id, name: `${broken.id} (unreadable, so treated as a freeze: ${broken.problem})`, environment: targets[0]!.name ?? targets[0]!.projectId, until: at + UNREADABLE_WINDOW_RECHECK_MS };
  }
  const freezes = windows.filter((w) => w.kind === "freeze").sort((a, b) => a.id.localeCompare(b.id));
  for (const target of targets) {
    for (const w of freezes) {
      if (!windowCovers(w, target)) continue;
      const on = occurrenceAt(w, at);
      if (on !== null) return { window: w.id, name: w.name, environment: target.name ?? target.projectId, until: on.end };
    }
  }
  return null;
}
