/**
 * Risk rules over a compiled environment plan. Each rule is one function: it looks at the
 * effective spec, the schedule and the cost, and returns zero or more risks, each naming the
 * tasks it concerns and what to do about it. Adding a rule = adding one entry to RISK_RULES.
 */
import type { EffectiveEnvironment, EffectiveEnvironmentPlan } from "../schema/environment-plan";
import type { CostEstimate } from "./cost";

export type RiskSeverity = "low" | "medium" | "high" | "critical";
export const SEVERITY_RANK: Readonly<Record<RiskSeverity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

export type RiskId =
  | "production-without-backup"
  | "uptime-goal-without-monitoring"
  | "single-region-ha"
  | "production-auto-deploy"
  | "budget-near-limit"
  | "long-critical-path";

export interface Risk {
  id: RiskId;
  severity: RiskSeverity;
  cause: string;
  affectedTasks: string[];
  mitigation: string;
}

export interface RiskInput {
  plan: EffectiveEnvironmentPlan;
  cost: CostEstimate;
  criticalPath: readonly string[];
  criticalPathSeconds: number;
  approvalWaitSeconds: number;
}

type RiskRule = (input: RiskInput) => Risk[];

const provisionTasks = (env: EffectiveEnvironment): string[] => env.integrations.map((i) => `${env.name}.${i}`);
const minutes = (seconds: number): number => Math.round(seconds / 60);

export const RISK_RULES: Readonly<Record<RiskId, RiskRule>> = {
  "production-without-backup": ({ plan }) =>
    plan.environments
      .filter((env) => env.tier === "production" && !env.backup)
      .map((env) => ({
        id: "production-without-backup" as const,
        severity: "high" as const,
        cause: `production environment "${env.name}" has no backup integration: lost or corrupted data cannot be restored`,
        affectedTasks: env.integrations.includes("database") ? [`${env.name}.database`] : [`${env.name}.verify`],
        mitigation: `add "backup" to ${env.name}.integrations (or set backup: true)`,
      })),

  "uptime-goal-without-monitoring": ({ plan }) =>
    plan.goals
      .filter((goal) => goal.successCriteria.uptimePercent !== null)
      .flatMap((goal) =>
        plan.environments
          .filter((env) => goal.targetEnvironments.includes(env.name) && !env.monitoring)
          .map((env) => ({
            id: "uptime-goal-without-monitoring" as const,
            severity: "high" as const,
            cause: `goal ${goal.id} targets ${goal.successCriteria.uptimePercent} % uptime in "${env.name}", which has no monitoring: uptime cannot be measured`,
            affectedTasks: [`${env.name}.verify`],
            mitigation: `add "monitoring" to ${env.name}.integrations (or set the goal's enforce to "add")`,
          })),
      ),

  "single-region-ha": ({ plan }) =>
    plan.goals
      .filter((goal) => goal.id === "high_availability")
      .flatMap((goal) =>
        plan.environments
          .filter((env) => goal.targetEnvironments.includes(env.name) && env.failoverRegion === null)
          .map((env) => ({
            id: "single-region-ha" as const,
            severity: "medium" as const,
            cause: `"${env.name}" runs only in ${env.region}: a regional outage takes it down whatever its uptime goal`,
            affectedTasks: provisionTasks(env),
            mitigation: `set ${env.name}.failoverRegion to a second region${plan.constraints.dataResidency ? ` starting with "${plan.constraints.dataResidency}"` : ""}, or accept the regional risk in the goal`,
          })),
      ),

  "production-auto-deploy": ({ plan }) =>
    plan.environments
      .filter((env) => env.tier === "production" && !env.approvalGate)
      .map((env) => ({
        id: "production-auto-deploy" as const,
        severity: "high" as const,
        cause: `production environment "${env.name}" deploys automatically: nothing stops a bad change that passed the earlier environments`,
        affectedTasks: provisionTasks(env),
        mitigation: `set ${env.name}.autoDeploy to false, or add "${env.name}" to constraints.requireApprovalFor`,
      })),

  "budget-near-limit": ({ cost }) => {
    const budget = cost.budget;
    if (!budget || budget.status !== "near_limit") return [];
    const top = [...cost.rows].sort((a, b) => b.monthlyUsd - a.monthlyUsd).slice(0, 3);
    return [
      {
        id: "budget-near-limit",
        severity: "medium",
        cause: `estimated $${cost.totalMonthlyUsd.toFixed(2)}/month is within ${Math.round(budget.margin * 100)} % of the $${budget.limitUsd.toFixed(2)} budget (headroom $${budget.headroomUsd.toFixed(2)}): traffic above the assumptions exceeds it`,
        affectedTasks: top.map((r) => r.taskId),
        mitigation: "raise constraints.budgetUsdPerMonth or reduce the largest items",
      },
    ];
  },

  "long-critical-path": ({ plan, criticalPath, criticalPathSeconds, approvalWaitSeconds }) => {
    const limitSeconds = plan.constraints.maxCriticalPathMinutes * 60;
    if (criticalPathSeconds <= limitSeconds) return [];
    const gates = criticalPath.filter((id) => id.endsWith(".approval")).length;
    return [
      {
        id: "long-critical-path",
        severity: "medium",
        cause: `the critical path takes about ${minutes(criticalPathSeconds)} min (limit ${plan.constraints.maxCriticalPathMinutes} min), ${gates} approval gate(s) counted at ${minutes(approvalWaitSeconds)} min each`,
        affectedTasks: [...criticalPath],
        mitigation: "split the plan per environment, pre-approve gates, or raise constraints.maxCriticalPathMinutes",
      },
    ];
  },
};

export function assessRisks(input: RiskInput): Risk[] {
  return (Object.values(RISK_RULES) as RiskRule[])
    .flatMap((rule) => rule(input))
    .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
}
