/** The timeline's axis: evenly spaced ticks on round times, whatever the plan's length. */
import { timeTicks } from "../../../hosting/src/gantt";

describe("timeTicks", () => {
  it("puts ticks on round times, evenly spaced, at most 8 intervals", () => {
    expect(timeTicks(13)).toEqual([0, 2, 4, 6, 8, 10, 12]);
    expect(timeTicks(60)).toEqual([0, 10, 20, 30, 40, 50, 60]);
    // The demo's 2.6 h of planned waits: every 30 minutes, not 0, 38, 77, 115 min and 2.6 h.
    expect(timeTicks(2.6 * 3600)).toEqual([0, 1800, 3600, 5400, 7200, 9000]);
    expect(timeTicks(0.35)).toEqual([0, 0.1, 0.2, 0.3]);
    for (const span of [0.5, 7, 95, 1234, 40_000, 3 * 86_400, 30 * 86_400]) {
      const ticks = timeTicks(span);
      const steps = ticks.slice(1).map((t, i) => Math.round((t - ticks[i]!) * 1000) / 1000);
      expect(new Set(steps).size).toBeLessThanOrEqual(1);
      expect(ticks.length - 1).toBeLessThanOrEqual(8);
      expect(ticks.at(-1)!).toBeLessThanOrEqual(span);
    }
  });
});
