/**
 * Each risk rule fires exactly when its cause is present and stays silent otherwise. The
 * baseline plan (three environments with every integration, production gated and with a
 * failover region, no goals, no budget) carries no risk at all.
 */
import type { RiskId } from "../../../functions/src/planner/risks";
import { compiled, envPlan } from "./helpers";

const risksOf = (doc: Record<string, unknown>): RiskId[] => compiled(doc).report.risks.map((r) => r.id);
const HA = { goals: [{ id: "high_availability", targetEnvironments: ["prod"] }] };
const WITHOUT = (...drop: string[]): string[] => ["authentication", "database", "storage", "functions", "hosting", "monitoring", "backup", "security"].filter((i) => !drop.includes(i));

describe("risk rules", () => {
  it("the baseline plan has no risk", () => {
    expect(risksOf(envPlan())).toEqual([]);
  });

  describe("production-without-backup", () => {
    it("fires for a production environment without backup, naming its database task", () => {
      const plan = compiled(envPlan({}, { prod: { integrations: WITHOUT("backup") } }));
      expect(plan.report.risks).toEqual([
        expect.objectContaining({ id: "production-without-backup", severity: "high", affectedTasks: ["prod.database"], mitigation: 'add "backup" to prod.integrations (or set backup: true)' }),
      ]);
      expect(plan.report.recommendations.map((r) => r.message)).toContain("add backup to prod: about $20.61/month more at the assumed usage (daily export, 7-day retention)");
    });
    it("stays silent for development and staging without backup", () => {
      expect(risksOf(envPlan({}, { dev: { integrations: WITHOUT("backup") }, staging: { integrations: WITHOUT("backup") } }))).toEqual([]);
    });
    it("stays silent when backup: true adds it", () => {
      expect(risksOf(envPlan({}, { prod: { integrations: WITHOUT("backup"), backup: true } }))).toEqual([]);
    });
  });

  describe("uptime-goal-without-monitoring", () => {
    const goal = (enforce: "add" | "fail"): Record<string, unknown> => ({ goals: [{ id: "high_availability", targetEnvironments: ["prod"], enforce }] });
    it("fires when an uptime goal targets an environment left without monitoring", () => {
      const plan = compiled(envPlan({ ...goal("fail") }, { prod: { integrations: WITHOUT("monitoring"), failoverRegion: "us-east1" } }));
      expect(plan.report.risks.map((r) => [r.id, r.affectedTasks])).toEqual([["uptime-goal-without-monitoring", ["prod.verify"]]]);
    });
    it("stays silent when the goal adds monitoring", () => {
      expect(risksOf(envPlan(goal("add"), { prod: { integrations: WITHOUT("monitoring"), failoverRegion: "us-east1" } }))).toEqual([]);
    });
    it("stays silent for environments the goal does not target", () => {
      expect(risksOf(envPlan(goal("fail"), { staging: { integrations: WITHOUT("monitoring") } }))).toEqual([]);
    });
  });

  describe("single-region-ha", () => {
    it("fires for an HA target without a failover region", () => {
      expect(risksOf(envPlan(HA, { prod: { failoverRegion: undefined } }))).toEqual(["single-region-ha"]);
    });
    it("stays silent with a failover region", () => {
      expect(risksOf(envPlan(HA))).toEqual([]);
    });
    it("stays silent without an HA goal", () => {
      expect(risksOf(envPlan({ goals: [{ id: "security_compliance" }] }, { prod: { failoverRegion: undefined } }))).toEqual([]);
    });
  });

  describe("production-auto-deploy", () => {
    it("fires when production deploys without an approval gate", () => {
      const plan = compiled(envPlan({}, { prod: { autoDeploy: true } }));
      expect(plan.report.risks.map((r) => [r.id, r.severity])).toEqual([["production-auto-deploy", "high"]]);
      expect(plan.tasks.some((t) => t.id === "prod.approval")).toBe(false);
    });
    it("stays silent when requireApprovalFor gates it anyway", () => {
      const plan = compiled(envPlan({ constraints: { requireApprovalFor: ["production"] } }, { prod: { autoDeploy: true } }));
      expect(plan.report.risks).toEqual([]);
      expect(plan.tasks.some((t) => t.id === "prod.approval")).toBe(true);
    });
  });

  describe("budget-near-limit", () => {
    // The baseline costs $114.44/month at the assumed usage.
    const withBudget = (budgetUsdPerMonth: number, budgetMargin?: number): Record<string, unknown> =>
      envPlan({ constraints: { budgetUsdPerMonth, ...(budgetMargin === undefined ? {} : { budgetMargin }) } });
    it("fires within 10 % of the budget, naming the largest items", () => {
      const plan = compiled(withBudget(120));
      expect(plan.report.cost!.totalMonthlyUsd).toBe(114.44);
      expect(plan.report.risks.map((r) => [r.id, r.affectedTasks])).toEqual([["budget-near-limit", ["prod.hosting", "prod.database", "prod.backup"]]]);
      expect(plan.outcome).toBe("run");
      expect(plan.report.recommendations.map((r) => r.message)).toContain(
        "raise the budget to at least $128/month to keep a 10 % margin, or trim prod.hosting, prod.database, prod.backup (the largest items)",
      );
    });
    it("stays silent with more headroom than the margin", () => {
      expect(risksOf(withBudget(130))).toEqual([]);
    });
    it("follows a custom margin", () => {
      expect(risksOf(withBudget(130, 0.2))).toEqual(["budget-near-limit"]);
    });
    it("stays silent when over budget: that is a compliance failure instead", () => {
      const plan = compiled(withBudget(100));
      expect(plan.report.risks).toEqual([]);
      expect(plan.outcome).toBe("rejected");
    });
  });

  describe("long-critical-path", () => {
    it("fires when the critical path exceeds maxCriticalPathMinutes, listing the path", () => {
      const plan = compiled(envPlan({ constraints: { maxCriticalPathMinutes: 60 } }));
      const risk = plan.report.risks.find((r) => r.id === "long-critical-path")!;
      expect(risk.affectedTasks).toEqual(plan.report.criticalPath.taskIds);
      expect(risk.cause).toBe("the critical path takes about 155 min (limit 60 min), 2 approval gate(s) counted at 60 min each");
    });
    it("stays silent under the default 8 h", () => {
      expect(risksOf(envPlan())).not.toContain("long-critical-path");
    });
  });
});
