/**
 * Cron expressions (functions/src/schedules/cron.ts): what parses and what is refused (naming the
 * field), the ticks of common schedules, day-of-month with day-of-week, leap days, and daylight
 * saving in Europe/Berlin, America/New_York and a half-hour shift (Australia/Lord_Howe): a local
 * time that does not exist is skipped, one that exists twice fires once, at its first occurrence.
 * Against cron-parser (the local scheduler's library) on random expressions in UTC as an oracle.
 */
import { CronExpressionParser } from "cron-parser";
import { nextTicks, parseCron, ticksBetween, utcOffsetAt, type Cron } from "../../../functions/src/schedules/cron";
import { prng } from "../../support/prng";

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z");
const cron = (expression: string): Cron => {
  const parsed = parseCron(expression);
  if (!parsed.ok) throw new Error(`${expression}: ${parsed.message}`);
  return parsed.cron;
};
/** The ticks after `from` (exclusive) up to `to` (inclusive), as ISO strings. */
const ticks = (expression: string, timeZone: string, from: string, to: string, max = 1_000): string[] => nextTicks(cron(expression), timeZone, at(from), at(to), max).map(iso);

describe("parseCron", () => {
  it.each([
    ["61 * * * *", "minute", /minute field "61": 61 is outside 0-59/],
    ["* 24 * * *", "hour", /hour field "24": 24 is outside 0-23/],
    ["* * 0 * *", "day-of-month", /day-of-month field "0": 0 is outside 1-31/],
    ["* * 32 * *", "day-of-month", /32 is outside 1-31/],
    ["* * * 13 *", "month", /month field "13": 13 is outside 1-12/],
    ["* * * foo *", "month", /"foo" is not a value: use 1-12 or jan-dec/],
    ["* * * * 8", "day-of-week", /day-of-week field "8": 8 is outside 0-7/],
    ["* * * * mon-xyz", "day-of-week", /"xyz" is not a value: use 0-7 \(0 and 7 are Sunday\) or sun-sat/],
    ["*/0 * * * *", "minute", /the step after \/ must be a whole number from 1/],
    ["*/x * * * *", "minute", /the step after \//],
    ["1/2/3 * * * *", "minute", /has two steps/],
    ["5-1 * * * *", "minute", /the range "5-1" runs backwards/],
    ["fri-mon * * * *", "minute", /"fri" is not a value/],
    ["* * * * fri-mon", "day-of-week", /runs backwards/],
    ["1,,2 * * * *", "minute", /an empty item/],
    ["1, * * * *", "minute", /an empty item/],
    ["1-2-3 * * * *", "minute", /is not a range/],
    ["-1 * * * *", "minute", /is not a range/],
    ["? * * * *", "minute", /"\?" is not a value/],
    ["1.5 * * * *", "minute", /"1.5" is not a value/],
    ["0 0 30 2 *", "day-of-month", /no such day in month "2", so it would never fire/],
    ["0 0 31 apr,jun,sep,nov *", "day-of-month", /no such day in months/],
  ])("refuses %p, naming the %s field", (expression, field, message) => {
    const parsed = parseCron(expression);
    expect(parsed).toMatchObject({ ok: false, field });
    expect(parsed.ok ? "" : parsed.message).toMatch(message);
  });

  it.each([
    ["* * * *", /has 5 fields .*this one has 4/],
    ["* * * * * *", /this one has 6/],
    ["", /this one has 0/],
    ["   ", /this one has 0/],
    ["@reboot", /"@reboot" is not an alias: use one of @yearly/],
  ])("refuses %p as a whole expression", (expression, message) => {
    const parsed = parseCron(expression);
    expect(parsed).toMatchObject({ ok: false, field: null });
    expect(parsed.ok ? "" : parsed.message).toMatch(message);
  });

  it("reads lists, ranges, steps, names in any case, and 7 as Sunday", () => {
    expect(cron("*/15 * * * *").minutes).toEqual([0, 15, 30, 45]);
    expect(cron("5/10 * * * *").minutes).toEqual([5, 15, 25, 35, 45, 55]);
    expect(cron("1-10/3,30,59 * * * *").minutes).toEqual([1, 4, 7, 10, 30, 59]);
    expect(cron("0 9-17/4 * * *").hours).toEqual([9, 13, 17]);
    expect([...cron("0 0 * JAN-mar,Dec *").months].sort((a, b) => a - b)).toEqual([1, 2, 3, 12]);
    expect([...cron("0 0 * * MON-fri").daysOfWeek].sort()).toEqual([1, 2, 3, 4, 5]);
    expect([...cron("0 0 * * 5-7").daysOfWeek].sort()).toEqual([0, 5, 6]);
    expect([...cron("0 0 * * 7").daysOfWeek]).toEqual([0]);
    expect([...cron("0 0 * * */2").daysOfWeek].sort()).toEqual([0, 2, 4, 6]);
    expect(cron("  0   9 * * 1  ").expression).toBe("0   9 * * 1");
  });

  it("knows which day fields restrict (a field starting with * does not, as in Vixie cron)", () => {
    expect(cron("0 0 13 * fri")).toMatchObject({ dayOfMonthRestricted: true, dayOfWeekRestricted: true });
    expect(cron("0 0 */2 * fri")).toMatchObject({ dayOfMonthRestricted: false, dayOfWeekRestricted: true });
    expect(cron("0 0 1 * *")).toMatchObject({ dayOfMonthRestricted: true, dayOfWeekRestricted: false });
  });

  it("accepts the aliases, and a day only some months have", () => {
    expect(cron("@hourly")).toMatchObject({ minutes: [0], hours: Array.from({ length: 24 }, (_, i) => i) });
    expect(cron("@DAILY")).toMatchObject({ minutes: [0], hours: [0] });
    expect(ticks("@weekly", "UTC", "2026-01-01T00:00:00Z", "2026-01-12T00:00:00Z")).toEqual(["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"]);
    expect(ticks("@monthly", "UTC", "2026-01-15T00:00:00Z", "2026-03-15T00:00:00Z")).toEqual(["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"]);
    expect(ticks("@yearly", "UTC", "2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z")).toEqual(["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"]);
    expect(parseCron("0 0 31 4,5 *").ok).toBe(true);
    // Both day fields restricted: either matches, so a 30th of February is no obstacle.
    expect(parseCron("0 0 30 2 mon").ok).toBe(true);
  });
});

describe("nextTicks in UTC", () => {
  it("*/15: every quarter hour, after `after` and up to `until`", () => {
    expect(ticks("*/15 * * * *", "UTC", "2026-01-01T00:07:00Z", "2026-01-01T01:00:00Z")).toEqual(["2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z"]);
    // `after` itself is not included; `until` is.
    expect(ticks("*/15 * * * *", "UTC", "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z")).toEqual(["2026-01-01T00:30:00Z"]);
  });

  it("stops at `max`, and gives nothing for an empty or reversed range", () => {
    expect(ticks("* * * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", 3)).toEqual(["2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z"]);
    expect(ticks("* * * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")).toEqual([]);
    expect(ticks("* * * * *", "UTC", "2026-01-01T01:00:00Z", "2026-01-01T00:00:00Z")).toEqual([]);
    expect(ticks("* * * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", 0)).toEqual([]);
    expect(nextTicks(cron("* * * * *"), "UTC", 0, Infinity, 5)).toEqual([]);
  });

  it("0 0 1 * *: midnight on the first of each month, across a year", () => {
    expect(ticks("0 0 1 * *", "UTC", "2026-11-15T00:00:00Z", "2027-03-01T00:00:00Z")).toEqual(["2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z"]);
  });

  it("0 0 29 2 *: only on leap days, skipping 2100 (not a leap year)", () => {
    expect(ticks("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2033-01-01T00:00:00Z")).toEqual(["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]);
    expect(ticks("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", "2105-01-01T00:00:00Z")).toEqual(["2104-02-29T00:00:00Z"]);
  });

  it("31: only in months that have it", () => {
    expect(ticks("0 12 31 * *", "UTC", "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z")).toEqual(["2026-01-31T12:00:00Z", "2026-03-31T12:00:00Z", "2026-05-31T12:00:00Z"]);
  });

  it("day-of-month and day-of-week both restricted: either matches (every 13th, and every Friday)", () => {
    // January 2026: Fridays are the 2nd, 9th, 16th, 23rd, 30th; the 13th is a Tuesday.
    expect(ticks("0 0 13 * fri", "UTC", "2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z")).toEqual([
      "2026-01-02T00:00:00Z",
      "2026-01-09T00:00:00Z",
      "2026-01-13T00:00:00Z",
      "2026-01-16T00:00:00Z",
      "2026-01-23T00:00:00Z",
      "2026-01-30T00:00:00Z",
    ]);
  });

  it("a day field starting with * does not restrict: the other one decides with it (both must match)", () => {
    // The 1st, 11th, 21st and 31st that are Fridays, not every Friday and every one of those days.
    expect(ticks("0 0 */10 * fri", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")).toEqual([
      "2026-05-01T00:00:00Z",
      "2026-07-31T00:00:00Z",
      "2026-08-21T00:00:00Z",
      "2026-09-11T00:00:00Z",
      "2026-12-11T00:00:00Z",
      "2027-01-01T00:00:00Z",
    ]);
    expect(ticks("0 0 * * fri", "UTC", "2026-01-01T00:00:00Z", "2026-01-10T00:00:00Z")).toEqual(["2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z"]);
  });

  it("ticksBetween is half-open, [from, to), like a backfill's range", () => {
    const every10 = cron("*/10 * * * *");
    expect(ticksBetween(every10, "UTC", at("2026-01-01T00:00:00Z"), at("2026-01-01T00:30:00Z"), 100).map(iso)).toEqual(["2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z", "2026-01-01T00:20:00Z"]);
    expect(ticksBetween(every10, "UTC", at("2026-01-01T00:00:01Z"), at("2026-01-01T00:30:01Z"), 100).map(iso)).toEqual(["2026-01-01T00:10:00Z", "2026-01-01T00:20:00Z", "2026-01-01T00:30:00Z"]);
  });

  it("matches cron-parser on random expressions in UTC (seeded)", () => {
    const seed = 20261201;
    const random = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const field = (min: number, max: number, star: boolean): string => {
      if (star) return "*";
      const a = min + Math.floor(random() * (max - min + 1));
      const b = a + Math.floor(random() * (max - a + 1));
      return pick([`${a}`, `${a}-${b}`, `*/${1 + Math.floor(random() * 7)}`, `${a}-${b}/${1 + Math.floor(random() * 3)}`, a < b ? `${a},${b}` : `${a}`]);
    };
    for (let i = 0; i < 150; i++) {
      // One day field is exactly `*`, where every cron agrees on how the two combine.
      const domStar = random() < 0.5;
      const expression = [field(0, 59, random() < 0.2), field(0, 23, random() < 0.3), field(1, 28, domStar), field(1, 12, random() < 0.6), field(0, 6, !domStar)].join(" ");
      const from = at("2026-01-01T00:00:00Z") + Math.floor(random() * 365) * 86_400_000;
      const expected: string[] = [];
      const it = CronExpressionParser.parse(expression, { currentDate: new Date(from), tz: "UTC" });
      for (let n = 0; n < 5; n++) expected.push(iso(it.next().getTime()));
      const ours = nextTicks(cron(expression), "UTC", from, at(expected.at(-1)!), 5).map(iso);
      expect([seed, i, expression, ours]).toEqual([seed, i, expression, expected]);
    }
  });
});

interface ShownMinute {
  at: number;
  month: number;
  day: number;
  weekday: number;
  hour: number;
  minute: number;
}

/**
 * A slow, independent reading of the same rules: every minute of a window, read on the wall
 * clock with Intl, keeping only the minutes whose wall-clock time was not shown before (a
 * repeated hour's second pass) — times never shown (a skipped hour) are simply not there.
 */
function minutesShown(timeZone: string, from: number, to: number): ShownMinute[] {
  const f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", weekday: "short" });
  const weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const shown = new Set<string>();
  const minutes: ShownMinute[] = [];
  for (let t = from - 6 * 3_600_000; t <= to; t += 60_000) {
    const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    const key = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
    if (shown.has(key)) continue;
    shown.add(key);
    if (t > from) minutes.push({ at: t, month: Number(p.month), day: Number(p.day), weekday: weekdays.indexOf(p.weekday!), hour: Number(p.hour), minute: Number(p.minute) });
  }
  return minutes;
}

function bruteForceTicks(c: Cron, minutes: readonly ShownMinute[]): number[] {
  return minutes
    .filter((m) => {
      const dom = c.daysOfMonth.has(m.day);
      const dow = c.daysOfWeek.has(m.weekday);
      const day = c.dayOfMonthRestricted && c.dayOfWeekRestricted ? dom || dow : dom && dow;
      return day && c.months.has(m.month) && c.hours.includes(m.hour) && c.minutes.includes(m.minute);
    })
    .map((m) => m.at);
}

describe("nextTicks against a minute-by-minute reading of the wall clock", () => {
  // Every daylight-saving change of 2026 in these zones, found by their offsets, with a day either side.
  const zones = ["Europe/Berlin", "America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata"];
  const windows = zones.flatMap((zone) => {
    const found: Array<{ zone: string; from: number }> = [];
    for (let day = at("2026-01-01T00:00:00Z"); day < at("2027-01-01T00:00:00Z"); day += 86_400_000) {
      if (utcOffsetAt(day, zone) !== utcOffsetAt(day + 86_400_000, zone)) found.push({ zone, from: day - 86_400_000 });
    }
    return found.length > 0 ? found : [{ zone, from: at("2026-06-01T00:00:00Z") }];
  });

  it("finds the changes it is meant to test", () => {
    expect(windows.filter((w) => w.zone === "Europe/Berlin")).toHaveLength(2);
    expect(windows.filter((w) => w.zone === "Australia/Lord_Howe")).toHaveLength(2);
    expect(windows.length).toBeGreaterThanOrEqual(11);
  });

  it.each(windows.map((w) => [w.zone, new Date(w.from).toISOString().slice(0, 10), w.from] as const))("%s around %s: the same ticks for random expressions (seeded)", (zone, _day, from) => {
    const seed = from / 86_400_000;
    const random = prng(seed);
    const to = from + 3 * 86_400_000;
    const pickList = (min: number, max: number, n: number): string => [...new Set(Array.from({ length: n }, () => min + Math.floor(random() * (max - min + 1))))].sort((a, b) => a - b).join(",");
    const expressions = ["* * * * *", "*/15 * * * *", "30 * * * *", "0 * * * *", "*/10 0-4 * * *", "45 1,2,3 * * *", "0 0 * * *"];
    for (let i = 0; i < 12; i++) expressions.push(`${pickList(0, 59, 1 + Math.floor(random() * 4))} ${pickList(0, 23, 1 + Math.floor(random() * 6))} * * ${random() < 0.5 ? "*" : pickList(0, 6, 3)}`);
    const minutes = minutesShown(zone, from, to);
    for (const expression of expressions) {
      const c = cron(expression);
      expect([zone, seed, expression, nextTicks(c, zone, from, to, 10_000).map(iso)]).toEqual([zone, seed, expression, bruteForceTicks(c, minutes).map(iso)]);
    }
  });
});

describe("nextTicks on the wall clock of a time zone", () => {
  it("0 9 * * mon-fri in Europe/Berlin: 08:00 UTC in winter, 07:00 UTC in summer, never at the weekend", () => {
    expect(ticks("0 9 * * mon-fri", "Europe/Berlin", "2026-01-02T12:00:00Z", "2026-01-10T00:00:00Z")).toEqual([
      "2026-01-05T08:00:00Z",
      "2026-01-06T08:00:00Z",
      "2026-01-07T08:00:00Z",
      "2026-01-08T08:00:00Z",
      "2026-01-09T08:00:00Z",
    ]);
    expect(ticks("0 9 * * mon-fri", "Europe/Berlin", "2026-07-10T12:00:00Z", "2026-07-14T00:00:00Z")).toEqual(["2026-07-13T07:00:00Z"]);
    // Across the spring change (Sunday 2026-03-29): Friday in CET, Monday in CEST.
    expect(ticks("0 9 * * mon-fri", "Europe/Berlin", "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z")).toEqual(["2026-03-27T08:00:00Z", "2026-03-30T07:00:00Z"]);
  });

  it("reads the day fields on the local date, not the UTC one", () => {
    // 00:30 on the 1st in Tokyo is 15:30 UTC on the last day of the previous month.
    expect(ticks("30 0 1 * *", "Asia/Tokyo", "2026-01-15T00:00:00Z", "2026-03-15T00:00:00Z")).toEqual(["2026-01-31T15:30:00Z", "2026-02-28T15:30:00Z"]);
    // 23:00 on Fridays in Los Angeles is Saturday 07:00 UTC.
    expect(ticks("0 23 * * fri", "America/Los_Angeles", "2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z")).toEqual(["2026-01-03T07:00:00Z", "2026-01-10T07:00:00Z"]);
    expect(ticks("0 9 * * *", "Asia/Kolkata", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")).toEqual(["2026-01-01T03:30:00Z"]);
  });

  describe("Europe/Berlin (CET ⇄ CEST at 02:00 / 03:00 local, last Sundays of March and October)", () => {
    it("skips a time the spring-forward removes (02:30 on 2026-03-29), the days around it fire", () => {
      expect(ticks("30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", "2026-03-30T12:00:00Z")).toEqual(["2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"]);
    });

    it("*/30 across the spring gap: 01:30 CET is followed by 03:00 CEST, thirty real minutes later", () => {
      expect(ticks("*/30 * * * *", "Europe/Berlin", "2026-03-28T23:45:00Z", "2026-03-29T01:45:00Z")).toEqual(["2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"]);
    });

    it("fires a time the fall-back repeats once, at its first occurrence (02:30 CEST on 2026-10-25)", () => {
      expect(ticks("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z")).toEqual(["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]);
    });

    it("*/15 through the repeated hour: 02:00-02:45 CEST fire, their CET repeats do not, 03:00 CET does", () => {
      expect(ticks("*/15 * * * *", "Europe/Berlin", "2026-10-24T23:50:00Z", "2026-10-25T02:15:00Z")).toEqual([
        "2026-10-25T00:00:00Z",
        "2026-10-25T00:15:00Z",
        "2026-10-25T00:30:00Z",
        "2026-10-25T00:45:00Z",
        "2026-10-25T02:00:00Z",
        "2026-10-25T02:15:00Z",
      ]);
    });

    it("an hourly schedule has 23 ticks on the spring day and 24 on the autumn day", () => {
      expect(ticks("0 * * * *", "Europe/Berlin", "2026-03-28T22:59:00Z", "2026-03-29T21:59:00Z")).toHaveLength(23);
      expect(ticks("0 * * * *", "Europe/Berlin", "2026-10-24T21:59:00Z", "2026-10-25T22:59:00Z")).toHaveLength(24);
    });
  });

  describe("America/New_York (EST ⇄ EDT at 02:00 local, 2026-03-08 and 2026-11-01)", () => {
    it("skips 02:30 on the spring-forward day", () => {
      expect(ticks("30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z")).toEqual(["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"]);
    });

    it("fires 01:30 once on the fall-back day, at 01:30 EDT", () => {
      expect(ticks("30 1 * * *", "America/New_York", "2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z")).toEqual(["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]);
    });

    it("*/15 goes from 01:45 EDT to 02:00 EST: 75 minutes without a tick, none twice", () => {
      expect(ticks("*/15 * * * *", "America/New_York", "2026-11-01T05:40:00Z", "2026-11-01T07:15:00Z")).toEqual(["2026-11-01T05:45:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:15:00Z"]);
    });

    it("0 9 * * mon-fri keeps 09:00 local through both changes", () => {
      expect(ticks("0 9 * * mon-fri", "America/New_York", "2026-03-06T00:00:00Z", "2026-03-10T00:00:00Z")).toEqual(["2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z"]);
      expect(ticks("0 9 * * mon-fri", "America/New_York", "2026-10-30T00:00:00Z", "2026-11-03T00:00:00Z")).toEqual(["2026-10-30T13:00:00Z", "2026-11-02T14:00:00Z"]);
    });
  });

  it("follows a half-hour daylight-saving shift (Australia/Lord_Howe: 02:00 → 02:30 on 2026-10-04)", () => {
    expect(utcOffsetAt(at("2026-07-01T00:00:00Z"), "Australia/Lord_Howe")).toBe(10.5 * 3_600_000);
    expect(utcOffsetAt(at("2026-12-01T00:00:00Z"), "Australia/Lord_Howe")).toBe(11 * 3_600_000);
    // 02:15 does not exist that day; 02:45 does (+11:00).
    expect(ticks("15 2 * * *", "Australia/Lord_Howe", "2026-10-02T00:00:00Z", "2026-10-05T00:00:00Z")).toEqual(["2026-10-02T15:45:00Z", "2026-10-04T15:15:00Z"]);
    expect(ticks("45 2 4 10 *", "Australia/Lord_Howe", "2026-10-02T00:00:00Z", "2026-10-05T00:00:00Z")).toEqual(["2026-10-03T15:45:00Z"]);
  });

  it("is the same every day of a year in UTC as in a zone without daylight saving, shifted by its offset", () => {
    const utc = nextTicks(cron("17 3 * * *"), "UTC", at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"), 400);
    const tokyo = nextTicks(cron("17 12 * * *"), "Asia/Tokyo", at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"), 400);
    expect(utc).toHaveLength(365);
    expect(tokyo).toEqual(utc);
  });
});
