/** A bake's verdict (health/bake.ts): a page fails it at once, the minutes with evidence pass it, none fail it; a ticket does not. */
import { bakeVerdict } from "../../../functions/src/health/bake";
import type { SloEvaluation } from "../../../functions/src/health/slo";

const T = Date.parse("2026-12-01T10:00:00Z");
const bake = { projectId: "p", environment: "production", minutes: 30 };
const burn = (tier: string, severity: "page" | "ticket", firing: boolean) => ({ tier, severity, burnRate: 14.4, longWindowMinutes: 60, shortWindowMinutes: 5, longBurn: firing ? 20 : 0, shortBurn: firing ? 100 : 0, firing });
const evaluation = (...burnRates: ReturnType<typeof burn>[]): SloEvaluation => ({ sliPercent: 99.5, goodEvents: 0, totalEvents: 0, errorBudget: { allowedFraction: 0.001, consumedFraction: 0, leftFraction: 1, allowedBad: 0, bad: 0 }, window: { from: 0, to: 0 }, burnRates, firing: null, explanation: "" });

describe("a bake's verdict", () => {
  it("fails at once on a page tier, with its burn rates", () => {
    const v = bakeVerdict(bake, T, evaluation(burn("page-1h", "page", true)), { good: 5, total: 10 }, T + 5 * 60_000);
    expect(v).toMatchObject({ outcome: "failed", error: expect.stringMatching(/^bake of production failed after 5 min: .* 20× over 60 min and 100× over 5 min, at or above the page-1h tier \(14.4×\)/), output: { elapsedMinutes: 5, observed: { good: 5, total: 10 } } });
  });

  it("waits out its minutes, passes with evidence, and fails without", () => {
    const calm = evaluation(burn("page-1h", "page", false), burn("ticket-3d", "ticket", true));
    expect(bakeVerdict(bake, T, calm, { good: 20, total: 20 }, T + 29 * 60_000)).toBeNull();
    expect(bakeVerdict(bake, T, calm, { good: 30, total: 30 }, T + 30 * 60_000)).toMatchObject({ outcome: "succeeded" });
    expect(bakeVerdict(bake, T, calm, { good: 0, total: 0 }, T + 30 * 60_000)).toMatchObject({ outcome: "failed", error: expect.stringContaining("no health run observed it") });
  });
});
