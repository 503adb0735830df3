import { fitLine, forecastAll, forecastSeries } from "../../../functions/src/health/forecast";
import type { SeriesPoint } from "../../../functions/src/schema/health";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-25T00:00:00.000Z");

describe("forecast", () => {
  it("fits an exact line with R² 1", () => {
    const fit = fitLine([0, 1, 2, 3].map((x) => ({ x, y: 2 * x + 1 })))!;
    expect(fit.slope).toBeCloseTo(2, 12);
    expect(fit.intercept).toBeCloseTo(1, 12);
    expect(fit.r2).toBeCloseTo(1, 12);
  });

  it("projects when a shrinking error budget runs out, with the numbers", () => {
    // 40 min left, losing 1 min per hour: out in 40 h from the first point, 30 h after the last.
    const points = Array.from({ length: 11 }, (_, i) => ({ x: T0 + i * HOUR, y: 40 - i }));
    const f = forecastSeries({ id: "errorBudget:g:p", metric: "error_budget_minutes", label: "budget", unit: "min", points, limit: 0, badDirection: "down" }, T0 + 10 * HOUR)!;
    expect(f.slopePerDay).toBe(-24);
    expect(f.crossesAt).toBe(T0 + 40 * HOUR);
    expect(f.r2).toBe(1);
    expect(f.explanation).toContain("falls 24 min/day");
  });

  it("claims nothing from too little history or when moving away from the limit", () => {
    const few = Array.from({ length: 5 }, (_, i) => ({ x: T0 + i * HOUR, y: i }));
    expect(forecastSeries({ id: "x", metric: "latency_ms", label: "l", unit: "ms", points: few, limit: 10, badDirection: "up" }, T0)).toBeNull();
    const away = Array.from({ length: 8 }, (_, i) => ({ x: T0 + i * HOUR, y: 100 - i }));
    expect(forecastSeries({ id: "x", metric: "latency_ms", label: "l", unit: "ms", points: away, limit: 1000, badDirection: "up" }, T0 + 7 * HOUR)!.crossesAt).toBeNull();
  });

  it("forecasts latency, budget and cost from run series", () => {
    const series: SeriesPoint[] = Array.from({ length: 8 }, (_, i) => ({
      at: T0 + i * HOUR,
      latencyMs: { p: 100 + 10 * i },
      budgetLeft: { "high_availability:p": 43.2 - i },
      costUsd: { plan: 50 + i },
    }));
    const items = forecastAll(series, { slowMs: 1000, budgets: { plan: 100 } }, T0 + 7 * HOUR);
    expect(items.map((i) => i.id).sort()).toEqual(["cost:plan", "errorBudget:high_availability:p", "latency:p"]);
    const cost = items.find((i) => i.id === "cost:plan")!;
    expect(cost.crossesAt).toBe(T0 + 50 * HOUR);
  });
});
