/**
 * Estimates learned from history (planner/estimates.ts): medians and p90 with their sample counts,
 * the catalogue's figure until there are enough runs, anomalies by median and MAD (one outlier does
 * not hide the next), recommendations from retry rates citing their counts, and what the compiled
 * plan's timeline and critical path make of them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compilePlan } from "../../../functions/src/planner/compile";
import { durationAnomaly, estimateFor, MIN_SAMPLES, retryRecommendations, summarise, type DurationSample } from "../../../functions/src/planner/estimates";

const T = Date.parse("2026-12-01T00:00:00Z");
const runs = (...seconds: number[]): DurationSample[] => seconds.map((s, i) => ({ s, a: 1, at: T + i }));

describe("summaries", () => {
  it("give the median, p90 and MAD of the samples", () => {
    expect(summarise(runs(10, 12, 11, 13, 50))).toEqual({ samples: 5, medianSeconds: 12, p90Seconds: 35.2, madSeconds: 1 });
    expect(summarise([])).toBeNull();
  });

  it("replace the catalogue's estimate only from MIN_SAMPLES runs on", () => {
    const few = { "hosting@production": runs(20, 21, 22, 23) };
    expect(estimateFor("hosting@production", 90, few)).toEqual({ source: "catalogue", seconds: 90, samples: 4 });
    const enough = { "hosting@production": runs(20, 21, 22, 23, 24) };
    expect(MIN_SAMPLES).toBe(5);
    expect(estimateFor("hosting@production", 90, enough)).toEqual({ source: "history", seconds: 22, samples: 5, medianSeconds: 22, p90Seconds: 23.6, madSeconds: 1 });
    expect(estimateFor("hosting@staging", 90, enough).source).toBe("catalogue");
  });
});

describe("anomalies", () => {
  it("flag a duration far above the median in robust standard deviations, with the numbers", () => {
    const prior = runs(10, 11, 12, 11, 10, 12, 11);
    expect(durationAnomaly("hosting@production", 13, prior)).toBeNull();
    const slow = durationAnomaly("hosting@production", 30, prior)!;
    expect(slow).toMatchObject({ seconds: 30, medianSeconds: 11, madSeconds: 1, robustZ: 12.8 });
    expect(slow.explanation).toBe("hosting@production took 30 s; its last 7 runs took a median of 11 s (MAD 1 s), so this is 12.8 robust standard deviations above (flagged above 3.5)");
  });

  it("are not hidden by an earlier outlier, as a mean and standard deviation would be", () => {
    // One 600 s run among 10 s ones: the mean is 108 s and the standard deviation 220 s, so 60 s would look normal.
    const prior = runs(10, 10, 11, 9, 600, 10);
    expect(durationAnomaly("k", 60, prior)?.robustZ).toBeGreaterThan(3.5);
  });

  it("need enough history, and with no spread at all only a doubling counts", () => {
    expect(durationAnomaly("k", 100, runs(10, 10, 10))).toBeNull();
    expect(durationAnomaly("k", 15, runs(10, 10, 10, 10, 10))).toBeNull();
    expect(durationAnomaly("k", 25, runs(10, 10, 10, 10, 10))).toMatchObject({ robustZ: 999 });
  });
});

describe("retry recommendations", () => {
  it("cite how often a task was retried in its recent runs, and raise a timeout only when attempts timed out", () => {
    const sample = (a: number, t = false): DurationSample => ({ s: 40, a, at: T, ...(t ? { t: true } : {}) });
    const stats = {
      "hosting@production": [sample(1), sample(2, true), sample(1), sample(3, true), sample(1), sample(2, true), sample(1), sample(1), sample(2, true), sample(1)],
      "database@production": [sample(2), sample(2), sample(2), sample(1)],
      "storage@production": [sample(2), sample(1), sample(1)],
    };
    const recs = retryRecommendations(stats, [
      { key: "hosting@production", taskId: "production.hosting", timeoutSeconds: 300 },
      { key: "database@production", taskId: "production.database", timeoutSeconds: 300 },
      { key: "storage@production", taskId: "production.storage", timeoutSeconds: 300 },
    ]);
    expect(recs).toEqual([
      { source: "history:hosting@production", message: "production.hosting was retried in 4 of its last 10 runs (hosting@production): 4 of them timed out: raise its timeout from 300 s to 600 s" },
      { source: "history:database@production", message: expect.stringMatching(/^production.database was retried in 3 of its last 4 runs \(database@production\): its first attempts fail transiently/) },
    ]);
  });
});

describe("the compiled plan", () => {
  const spec = JSON.parse(readFileSync(join(__dirname, "../../../examples/lang-trak.json"), "utf8")) as Record<string, unknown>;

  it("plans provisions from history once there is enough of it, and says so with the numbers", () => {
    const plain = compilePlan(spec);
    if (!plain.ok) throw new Error("the example does not compile");
    const hosting = plain.plan.report.graph.nodes.find((n) => n.id === "production.hosting")!;
    expect(hosting.estimate).toEqual({ source: "catalogue", seconds: hosting.durationSeconds, samples: 0 });

    const learned = compilePlan(spec, { durationStats: { "hosting@production": runs(4, 5, 6, 5, 5, 4, 6) } });
    if (!learned.ok) throw new Error("the example does not compile");
    const node = learned.plan.report.graph.nodes.find((n) => n.id === "production.hosting")!;
    expect(node).toMatchObject({ durationSeconds: 5, estimate: { source: "history", seconds: 5, samples: 7, medianSeconds: 5, p90Seconds: 6 } });
    expect(learned.plan.report.timeline.find((t) => t.id === "production.hosting")!.finishSeconds - learned.plan.report.timeline.find((t) => t.id === "production.hosting")!.startSeconds).toBe(5);
    expect(learned.plan.report.durationAssumptions.at(-1)).toBe("1 task planned from earlier runs (median of their finished attempts, per integration × tier): production.hosting 5 s (p90 6 s, 7 runs).");
    // Only the plan's estimates move: the tasks (and so their timeouts) are the same.
    expect(learned.plan.tasks).toEqual(plain.plan.tasks);
  });

  it("recommends from retry rates", () => {
    const retried = Array.from({ length: 10 }, (_, i): DurationSample => ({ s: 30, a: i % 3 === 0 ? 2 : 1, t: i % 3 === 0, at: T + i }));
    const result = compilePlan(spec, { durationStats: { "hosting@production": retried } });
    if (!result.ok) throw new Error("the example does not compile");
    expect(result.plan.report.recommendations.map((r) => r.message)).toContainEqual(expect.stringMatching(/^production.hosting was retried in 4 of its last 10 runs \(hosting@production\): 4 of them timed out: raise its timeout from \d+ s to \d+ s$/));
  });
});
