/** The SLO step of a health run (health/slo-run.ts): what it records, and what an incident cost. */
import { budgetCostOf, recordAndEvaluate } from "../../../functions/src/health/slo-run";
import { sumWindow } from "../../../functions/src/health/slo";

const T = Date.parse("2026-12-01T10:00:00Z");
const base = { environmentId: "p", environmentName: "production", checks: [], series: {}, maintenance: null, at: T, minutes: 1 };

describe("the SLO step of a run", () => {
  it("records availability for every environment, with goals or without (bakes and incident costs read it)", () => {
    const none = recordAndEvaluate({ ...base, goals: [], availability: "down" });
    expect(none.evaluations).toEqual([]);
    expect(sumWindow(none.series.availability!, T - 60_000, T + 60_000)).toEqual({ good: 0, total: 1 });
    const unknown = recordAndEvaluate({ ...base, goals: [], availability: "unknown" });
    expect(sumWindow(unknown.series.availability!, T - 60_000, T + 60_000)).toEqual({ good: 0, total: 0 });
    const kept = recordAndEvaluate({ ...base, goals: [], availability: "down", maintenance: { window: "w", name: "upgrade" } });
    expect(sumWindow(kept.series.availability!, T - 60_000, T + 60_000)).toEqual({ good: 0, total: 0 });
  });

  it("costs an incident the bad minutes between its start and end, as a share of what is allowed", () => {
    let series = recordAndEvaluate({ ...base, goals: [], availability: "up" }).series.availability!;
    for (let i = 1; i <= 4; i++) series = recordAndEvaluate({ ...base, goals: [], availability: "down", at: T + i * 60_000, series: { availability: series } }).series.availability!;
    expect(budgetCostOf({ firstSeen: T + 60_000, resolvedAt: T + 5 * 60_000 }, series, 43.2, T + 6 * 60_000)).toEqual({ minutes: 4, fraction: 0.0926 });
    expect(budgetCostOf({ firstSeen: T, resolvedAt: null }, undefined, 43.2, T)).toBeNull();
  });
});
