/** The timeline's time scale: linear, or piecewise linear with the stretches only waits cover compressed. */
import { mergeIntervals, plannedWaitShare, timeScale, timeTicks, type GanttRow, type Interval } from "../../../hosting/src/gantt";

// The demo plan's shape: work in each environment, an hour's approval before staging and before production.
const work: Interval[] = [
  { from: 0, to: 600 },
  { from: 4200, to: 4890 },
  { from: 8490, to: 9180 },
];
const waits: Interval[] = [
  { from: 600, to: 4200 },
  { from: 4890, to: 8490 },
];

describe("timeScale", () => {
  it("is linear from 0 to a round end past the latest time when not compressing", () => {
    const scale = timeScale({ work, waits, latest: 9180, width: 1000, compress: false });
    expect(scale.breaks).toEqual([]);
    expect(scale.end).toBe(10800);
    expect(scale.ticks).toEqual([...timeTicks(9180), 10800]);
    expect(scale.x(0)).toBe(0);
    expect(scale.x(5400)).toBe(500);
    expect(scale.x(10800)).toBe(1000);
  });

  it("draws each stretch only waits cover as a fixed-width break, the rest at one rate", () => {
    const scale = timeScale({ work, waits, latest: 9180, width: 1000, compress: true, breakWidth: 24 });
    expect(scale.breaks.map((b) => [b.from, b.to, b.width])).toEqual([
      [600, 4200, 24],
      [4890, 8490, 24],
    ]);
    expect(scale.x(4200) - scale.x(600)).toBeCloseTo(24);
    expect(scale.x(8490) - scale.x(4890)).toBeCloseTo(24);
    // The work stretches share one rate: 600 s of development is as wide as 600 s of staging.
    const rate = scale.x(600) / 600;
    expect((scale.x(4890) - scale.x(4200)) / 690).toBeCloseTo(rate);
    expect((scale.x(9180) - scale.x(8490)) / 690).toBeCloseTo(rate);
    expect(scale.x(scale.end)).toBeCloseTo(1000);
    expect(scale.end).toBeGreaterThanOrEqual(9180);
    // Monotone everywhere, breaks included.
    let last = -1;
    for (let t = 0; t <= scale.end; t += 30) {
      expect(scale.x(t)).toBeGreaterThan(last);
      last = scale.x(t);
    }
    // Ticks: round multiples of one step, none inside a break, labels at least 44 px apart.
    const step = scale.ticks[1]! - scale.ticks[0]!;
    expect([60, 120, 300, 600]).toContain(step);
    for (const t of scale.ticks) {
      expect(t % step).toBe(0);
      expect(scale.breaks.some((b) => t > b.from && t < b.to)).toBe(false);
    }
    for (let i = 1; i < scale.ticks.length; i++) {
      const [a, b] = [scale.ticks[i - 1]!, scale.ticks[i]!];
      // The two edges of one break may both be labelled: their labels lean away from it.
      if (!scale.breaks.some((br) => br.from === a && br.to === b)) expect(scale.x(b) - scale.x(a)).toBeGreaterThanOrEqual(44);
    }
    // The demo's staging starts on a round time: labelled right after its break.
    expect(scale.ticks).toContain(4200);
    expect(scale.ticks.at(-1)).toBe(scale.end);
  });

  it("compresses nothing that work overlaps, nor a stretch narrower than a break would be", () => {
    const overlapped = timeScale({ work: [{ from: 0, to: 5000 }], waits: [{ from: 1000, to: 4000 }], latest: 5000, width: 800, compress: true });
    expect(overlapped.breaks).toEqual([]);
    const partly = timeScale({ work: [{ from: 0, to: 100 }, { from: 3000, to: 3100 }], waits: [{ from: 50, to: 3050 }], latest: 3100, width: 800, compress: true });
    expect(partly.breaks.map((b) => [b.from, b.to])).toEqual([[100, 3000]]);
    const short = timeScale({ work: [{ from: 0, to: 1000 }, { from: 1010, to: 2000 }], waits: [{ from: 1000, to: 1010 }], latest: 2000, width: 800, compress: true });
    expect(short.breaks).toEqual([]);
    // A plan that only waits has nothing to compress against.
    expect(timeScale({ work: [], waits: [{ from: 0, to: 3600 }], latest: 3600, width: 800, compress: true }).breaks).toEqual([]);
  });

  it("merges intervals and measures the share of the axis planned waits cover", () => {
    expect(mergeIntervals([{ from: 5, to: 8 }, { from: 0, to: 2 }, { from: 1, to: 3 }, { from: 4, to: 4 }])).toEqual([{ from: 0, to: 3 }, { from: 5, to: 8 }]);
    const row = (id: string, startSeconds: number, finishSeconds: number, waits: boolean): GanttRow => ({ id, startSeconds, finishSeconds, waits, status: "blocked", actualStartSeconds: null, actualFinishSeconds: null, critical: false });
    expect(plannedWaitShare([row("a", 0, 600, false), row("gate", 600, 4200, true), row("b", 4200, 4800, false)], 5400)).toBeCloseTo(3600 / 5400);
  });
});
