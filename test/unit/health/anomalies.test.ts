/** Check latency anomalies (health/anomalies.ts): median and MAD of an environment's own recent runs, with the numbers. */
import { latencyAnomalies } from "../../../functions/src/health/anomalies";
import type { SeriesPoint } from "../../../functions/src/schema/health";

const point = (at: number, ms: number | null): SeriesPoint => ({ at, latencyMs: { prod: ms }, budgetLeft: {}, costUsd: {} });
const names = new Map([["prod", "production"]]);

describe("latency anomalies", () => {
  it("flag a latency far above the environment's recent runs, with its numbers", () => {
    const series = [120, 130, 125, 118, 127, 122, 131].map((ms, i) => point(i, ms));
    expect(latencyAnomalies(series, { prod: 135 }, names)).toEqual([]);
    expect(latencyAnomalies(series, { prod: 900 }, names)).toEqual([
      { environmentId: "prod", latencyMs: 900, medianMs: 125, madMs: 5, robustZ: 104.5, explanation: "production's median check latency is 900 ms; over its last 7 runs it was 125 ms (MAD 5 ms), so this is 104.5 robust standard deviations above (flagged above 3.5)" },
    ]);
  });

  it("are not hidden by one slow run before, need five runs of history, and ignore jumps under 50 ms", () => {
    const withOutlier = [120, 125, 4000, 122, 118, 124].map((ms, i) => point(i, ms));
    expect(latencyAnomalies(withOutlier, { prod: 700 }, names)).toHaveLength(1);
    expect(latencyAnomalies([120, 125, 122].map((ms, i) => point(i, ms)), { prod: 5000 }, names)).toEqual([]);
    const flat = [10, 10, 10, 10, 10].map((ms, i) => point(i, ms));
    expect(latencyAnomalies(flat, { prod: 40 }, names)).toEqual([]);
    expect(latencyAnomalies(flat, { prod: 80 }, names)).toMatchObject([{ robustZ: 999 }]);
    expect(latencyAnomalies([...flat, point(9, null)], { prod: null }, names)).toEqual([]);
  });
});
