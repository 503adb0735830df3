import { addSample, dayOf, emptyDay, expiredDays, goalProgress, monthlyAllowance, sampleMinutes } from "../../../functions/src/health/goals";
import type { UptimeDay } from "../../../functions/src/schema/health";

const CONFIG = { windowDays: 30, lowBudgetFraction: 0.25, fastBurnRate: 2, periodMs: 300_000, maxSampleGapMs: 600_000 };
const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const day = (date: string, upMinutes: number, downMinutes: number): UptimeDay => ({
  ...emptyDay(date),
  upMinutes,
  downMinutes,
  samples: 1,
  uptimePercent: (upMinutes / (upMinutes + downMinutes)) * 100,
});
const ENV = { id: "lang-trak-prod", name: "production" };

describe("goal progress over the rolling window", () => {
  it("converts 99.9 % into 43.83 min a 30.4375-day month and 43.2 min over 30 days", () => {
    expect(monthlyAllowance({ goalId: "g", uptimePercent: 99.9, maxDowntimeMinutes: null })!.minutes).toBeCloseTo(43.83, 10);
    const p = goalProgress({ goalId: "high_availability", uptimePercent: 99.9, maxDowntimeMinutes: null }, ENV, {}, NOW, CONFIG)!;
    expect(p.allowedDowntimeMinutes).toBe(43.2);
    expect(p.status).toBe("unknown");
    expect(p.uptimePercent).toBeNull();
  });

  it("uses a stated monthly allowance (43.8 min) scaled to the window", () => {
    const p = goalProgress({ goalId: "high_availability", uptimePercent: 99.9, maxDowntimeMinutes: 43.8 }, ENV, {}, NOW, CONFIG)!;
    expect(p.allowedDowntimeMinutes).toBe(Math.round(((43.8 * 30) / 30.4375) * 1000) / 1000);
    expect(p.targetUptimePercent).toBe(99.9);
  });

  it("sums exactly the days inside the window and computes budget, burn and trend from them", () => {
    const days = {
      "2026-10-26": day("2026-10-26", 940, 500), // outside the 30-day window: ignored
      "2026-10-27": day("2026-10-27", 1440, 0),
      "2026-11-24": day("2026-11-24", 1430, 10),
      "2026-11-25": day("2026-11-25", 700, 20),
    };
    const p = goalProgress({ goalId: "high_availability", uptimePercent: 99.9, maxDowntimeMinutes: null }, ENV, days, NOW, CONFIG)!;
    expect(p.observedMinutes).toBe(3600);
    expect(p.downtimeMinutes).toBe(30);
    expect(p.uptimePercent).toBe(99.1667);
    expect(p.errorBudgetLeftMinutes).toBe(13.2);
    expect(p.errorBudgetLeftFraction).toBe(0.3056);
    expect(p.burnRateWindow).toBe(8.333); // (30/3600) / 0.001
    expect(p.burnRateRecent).toBe(13.889); // (30/2160) / 0.001
    expect(p.trend).toBe("worsening");
    expect(p.status).toBe("at_risk"); // budget left 31 % but burning 13.9× the sustainable rate
    expect(p.coverage).toBe(0.0847); // 3600 of 29 × 1440 + 720 minutes
    expect(p.explanation).toContain("30.0 min down of 43.2 min allowed");
  });

  it("is missed once the downtime exceeds the allowance, and met when little is spent slowly", () => {
    const missed = goalProgress({ goalId: "g", uptimePercent: 99.9, maxDowntimeMinutes: null }, ENV, { "2026-11-20": day("2026-11-20", 1380, 60) }, NOW, CONFIG)!;
    expect(missed.status).toBe("missed");
    expect(missed.errorBudgetLeftMinutes).toBe(-16.8);
    const met = goalProgress({ goalId: "g", uptimePercent: 99.9, maxDowntimeMinutes: null }, ENV, { "2026-11-20": day("2026-11-20", 1439, 1), "2026-11-25": day("2026-11-25", 720, 0) }, NOW, CONFIG)!;
    expect(met.status).toBe("met");
    expect(met.trend).toBe("improving");
    expect(met.burnRateRecent).toBe(0);
  });
});

describe("availability samples and daily rollups", () => {
  it("credits a sample with the minutes since the previous one, one period for the first, nothing across a gap", () => {
    expect(sampleMinutes(null, NOW, CONFIG)).toBe(5);
    expect(sampleMinutes(NOW - 300_000, NOW, CONFIG)).toBe(5);
    expect(sampleMinutes(NOW - 420_000, NOW, CONFIG)).toBe(7);
    expect(sampleMinutes(NOW - 660_000, NOW, CONFIG)).toBe(0);
  });

  it("adds up, down and unknown minutes to the day and keeps its uptime %", () => {
    let d = emptyDay(dayOf(NOW));
    d = addSample(d, "up", 5);
    d = addSample(d, "up", 5);
    d = addSample(d, "down", 5);
    d = addSample(d, "unknown", 5);
    expect(d).toEqual({ date: "2026-11-25", upMinutes: 10, downMinutes: 5, unknownMinutes: 5, samples: 4, downSamples: 1, uptimePercent: 66.6667 });
  });

  it("expires rollups past their retention", () => {
    // 400 days ending 2026-11-25 start on 2025-10-22.
    const days = { "2025-10-21": emptyDay("2025-10-21"), "2025-10-22": emptyDay("2025-10-22"), "2026-11-25": emptyDay("2026-11-25") };
    expect(expiredDays(days, NOW, 400)).toEqual(["2025-10-21"]);
  });
});
