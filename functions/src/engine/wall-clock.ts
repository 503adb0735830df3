/**
 * Wall clocks in IANA time zones, through Intl (pure: no clock of its own). What freeze and
 * maintenance windows (engine/windows.ts) and schedules (schedules/cron.ts) both need: how far a
 * zone is ahead of UTC at an instant, and which instant shows a given wall-clock time.
 */
export const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    formatters.set(timeZone, f);
  }
  return f;
}

/** How far the wall clock in `timeZone` is ahead of UTC at instant `at`, in ms. */
export function utcOffsetAt(at: number, timeZone: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(at))) if (part.type !== "literal") p[part.type] = Number(part.value);
  const local = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return local - (at - (((at % 1000) + 1000) % 1000));
}

/**
 * The first instant at which the wall clock in `timeZone` shows `local` (a wall-clock time written
 * as if it were UTC ms), or null when it never does (a spring-forward gap). Every instant that
 * shows it lies within a day of it, where the offset is one of the two sampled a day either side.
 */
export function firstInstantShowing(local: number, timeZone: string): number | null {
  const candidates = [local - utcOffsetAt(local - DAY_MS, timeZone), local - utcOffsetAt(local + DAY_MS, timeZone)];
  const showing = candidates.filter((at) => at + utcOffsetAt(at, timeZone) === local);
  return showing.length > 0 ? Math.min(...showing) : null;
}
