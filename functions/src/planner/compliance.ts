/**
 * Goal and constraint compliance of a compiled environment plan: one pass/fail item with its
 * reason for every goal and every constraint the plan sets. A failing hard item rejects the
 * plan before anything is provisioned.
 */
import type { EffectiveEnvironmentPlan, EffectiveGoal } from "../schema/environment-plan";
import type { CostEstimate } from "./cost";

export interface ComplianceItem {
  /** `goal:<id>` or `constraint:<id>`. */
  id: string;
  kind: "goal" | "constraint";
  status: "pass" | "fail";
  /** A failing hard item rejects the plan; a soft one is only reported. */
  hard: boolean;
  reason: string;
}

const money = (usd: number): string => `$${usd.toFixed(2)}`;

function goalCompliance(goal: EffectiveGoal, plan: EffectiveEnvironmentPlan, cost: CostEstimate): ComplianceItem {
  const id = `goal:${goal.id}`;
  if (goal.id === "cost_optimization") {
    const budget = cost.budget;
    if (!budget) return { id, kind: "goal", status: "pass", hard: false, reason: `no budget set; estimated ${money(cost.totalMonthlyUsd)}/month` };
    const pass = budget.status !== "over";
    return {
      id,
      kind: "goal",
      status: pass ? "pass" : "fail",
      hard: false,
      reason: `estimated ${money(cost.totalMonthlyUsd)}/month ${pass ? "within" : "over"} the ${money(budget.limitUsd)} budget`,
    };
  }
  if (goal.targetEnvironments.length === 0) {
    return { id, kind: "goal", status: "fail", hard: goal.enforce === "fail", reason: "the goal targets no environment of this plan" };
  }
  const targets = plan.environments.filter((e) => goal.targetEnvironments.includes(e.name));
  const missing = targets
    .map((env) => ({ env: env.name, lacks: goal.requiredIntegrations.filter((i) => !env.integrations.includes(i)) }))
    .filter((m) => m.lacks.length > 0);
  if (missing.length > 0) {
    return {
      id,
      kind: "goal",
      status: "fail",
      hard: true,
      reason: `${missing.map((m) => `${m.env} lacks ${m.lacks.join(", ")}`).join("; ")} (enforce is "fail", so the planner did not add them)`,
    };
  }
  const added = targets
    .map((env) => ({ env: env.name, added: env.added.filter((a) => a.reason === `required by goal ${goal.id}`).map((a) => a.integration) }))
    .filter((a) => a.added.length > 0);
  const criteria = goal.successCriteria.uptimePercent === null ? "" : ` for ${goal.successCriteria.uptimePercent} % uptime (≤ ${goal.successCriteria.maxDowntimeMinutes} min downtime a month)`;
  const required = goal.requiredIntegrations.length > 0 ? goal.requiredIntegrations.join(", ") : "nothing";
  return {
    id,
    kind: "goal",
    status: "pass",
    hard: goal.enforce === "fail",
    reason:
      `${targets.map((e) => e.name).join(", ")} ha${targets.length === 1 ? "s" : "ve"} ${required}${criteria}` +
      (added.length > 0 ? `; the planner added ${added.map((a) => `${a.added.join(", ")} to ${a.env}`).join("; ")}` : ""),
  };
}

export function assessCompliance(plan: EffectiveEnvironmentPlan, cost: CostEstimate): ComplianceItem[] {
  const items = plan.goals.map((goal) => goalCompliance(goal, plan, cost));
  const soft = new Set(plan.constraints.soft);

  if (cost.budget) {
    const over = cost.budget.status === "over";
    items.push({
      id: "constraint:budget",
      kind: "constraint",
      status: over ? "fail" : "pass",
      hard: !soft.has("budget"),
      reason: over
        ? `estimated ${money(cost.totalMonthlyUsd)}/month exceeds the ${money(cost.budget.limitUsd)} budget by ${money(-cost.budget.headroomUsd)}`
        : `estimated ${money(cost.totalMonthlyUsd)}/month is within the ${money(cost.budget.limitUsd)} budget (headroom ${money(cost.budget.headroomUsd)})`,
    });
  }

  const prefix = plan.constraints.dataResidency;
  if (prefix !== null) {
    const outside = plan.environments.flatMap((env) =>
      [env.region, env.failoverRegion].filter((r): r is string => r !== null && !r.startsWith(prefix)).map((r) => `${env.name} (${r})`),
    );
    items.push({
      id: "constraint:dataResidency",
      kind: "constraint",
      status: outside.length === 0 ? "pass" : "fail",
      hard: !soft.has("dataResidency"),
      reason: outside.length === 0 ? `every region starts with "${prefix}"` : `outside "${prefix}": ${outside.join(", ")}`,
    });
  }

  if (plan.constraints.requireApprovalFor.length > 0) {
    const wanted = new Set(plan.constraints.requireApprovalFor);
    const gated = plan.environments.filter((e) => wanted.has(e.name) || wanted.has(e.tier)).map((e) => e.name);
    items.push({
      id: "constraint:requireApprovalFor",
      kind: "constraint",
      status: "pass",
      hard: true,
      reason: gated.length > 0 ? `approval gates before ${gated.join(", ")}` : "no environment of this plan matches; nothing to gate",
    });
  }
  return items;
}
