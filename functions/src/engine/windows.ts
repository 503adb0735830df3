/**
 * When maintenance and freeze windows are on (pure: the clock is an argument). A weekly window
 * opens at a local wall-clock time in its time zone, so it follows daylight saving: "sat 22:00
 * Europe/Berlin" is 21:00 UTC in winter and 20:00 UTC in summer.
 */
import type { FreezeHit } from "./plan";
import { DAY_MS, firstInstantShowing, utcOffsetAt } from "./wall-clock";
import { WEEKDAYS, type OneTimeWindow, type WeeklyWindow, type Weekday, type WindowSpec } from "../schema/windows";

export interface Occurrence {
  start: number;
  end: number;
}

/** The local calendar day (days since 1970-01-01 on the wall clock) and its weekday (0: Sunday) at `at`. */
function localDay(at: number, timeZone: string): { day: number; weekday: number } {
  const day = Math.floor((at + utcOffsetAt(at, timeZone)) / DAY_MS);
  // 1970-01-01 was a Thursday.
  return { day, weekday: (((day + 4) % 7) + 7) % 7 };
}

/**
 * The instant at which the wall clock in `timeZone` shows `minutes` past midnight of local day
 * `day`, disambiguated as Temporal's "compatible" does: a time shown twice (autumn) is the earlier
 * instant; a time skipped (spring) is shifted forward by the gap (02:30 → 03:30).
 */
function instantOf(day: number, minutes: number, timeZone: string): number {
  const local = day * DAY_MS + minutes * 60_000;
  return firstInstantShowing(local, timeZone) ?? local - utcOffsetAt(local - DAY_MS, timeZone);
}

/** The occurrence of a weekly window that covers `at`, if any. */
export function weeklyOccurrenceAt(window: Readonly<Omit<WeeklyWindow, "days">> & { readonly days: readonly Weekday[] }, at: number): Occurrence | null {
  const [hh, mm] = window.start.split(":").map(Number) as [number, number];
  const today = localDay(at, window.timeZone);
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
