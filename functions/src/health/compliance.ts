/**
 * Constraint compliance of what is actually there (the planner checked what was planned): required
 * integrations present, regions inside the data-residency prefix, approval gates on protected
 * environments, and the monthly cost of the present integrations (the planner's own cost model and
 * price table) against the plan's budget.
 */
import { INTEGRATIONS as CATALOGUE } from "../planner/catalogue";
import { integrationCostCents } from "../planner/cost";
import type { ComplianceResult } from "../schema/health";
import type { EnvironmentInput, PlanContext } from "./environments";

const money = (usd: number): string => `$${usd.toFixed(2)}`;

/** Regions named inside recorded resource names (`…/locations/us-central1/…`). */
export function observedRegions(env: EnvironmentInput): string[] {
  const found = new Set<string>();
  for (const state of Object.values(env.integrations)) {
    const text = JSON.stringify([state.desired, state.observed]);
    for (const m of text.matchAll(/\/locations\/([a-z]+(?:-[a-z0-9]+)+)\//g)) found.add(m[1]!);
  }
  return [...found].sort();
}

export function environmentCompliance(env: EnvironmentInput, present: readonly string[]): ComplianceResult[] {
  const plan = env.plan;
  if (plan === null) return [];
  const scope = env.id;
  const have = new Set(present);
  const items: ComplianceResult[] = [];
  for (const goal of plan.goals) {
    if (goal.requiredIntegrations.length === 0) continue;
    const missing = goal.requiredIntegrations.filter((i) => !have.has(i));
    items.push({
      id: `requiredIntegrations:${goal.id}`,
      scope,
      status: missing.length === 0 ? "pass" : "fail",
      reason:
        missing.length === 0
          ? `${plan.environment.name} has ${goal.requiredIntegrations.join(", ")} as goal ${goal.id} requires`
          : `${plan.environment.name} lacks ${missing.join(", ")}, required by goal ${goal.id}: run the plan again (provision) to add them`,
    });
  }
  const prefix = plan.constraints.dataResidency;
  if (prefix !== null) {
    const regions = [...new Set([plan.environment.region, ...(plan.environment.failoverRegion ? [plan.environment.failoverRegion] : []), ...observedRegions(env)])];
    const outside = regions.filter((r) => !r.startsWith(prefix));
    items.push({
      id: "dataResidency",
      scope,
      status: outside.length === 0 ? "pass" : "fail",
      reason: outside.length === 0 ? `regions ${regions.join(", ")} all start with "${prefix}"` : `outside "${prefix}": ${outside.join(", ")} (plan region and resources found in ${plan.environment.projectId})`,
    });
  }
  const protectedBy = plan.constraints.requireApprovalFor.filter((p) => p === plan.environment.name || p === plan.environment.tier);
  if (protectedBy.length > 0) {
    const approvers = plan.environment.approvers.length > 0 ? plan.environment.approvers : plan.approvers;
    items.push({
      id: "approvals",
      scope,
      status: !plan.environment.approvalGate ? "fail" : approvers.length === 0 ? "warn" : "pass",
      reason: !plan.environment.approvalGate
        ? `${plan.environment.name} is protected (requireApprovalFor: ${protectedBy.join(", ")}) but its plan has no approval gate`
        : approvers.length === 0
          ? `${plan.environment.name} has an approval gate but no named approvers: any operator may approve`
          : `${plan.environment.name} is gated, approvers: ${approvers.slice(0, 5).join(", ")}${approvers.length > 5 ? "…" : ""}`,
    });
  }
  return items;
}

export interface PlanCost {
  planId: string;
  monthlyUsd: number;
  /** Integrations present that the price catalogue does not know (priced at 0). */
  unpriced: string[];
}

/** Monthly cost of what each environment of a plan has now, by the planner's model. */
export function planCost(planId: string, members: ReadonlyArray<{ plan: PlanContext; present: readonly string[] }>): PlanCost {
  let cents = 0;
  const unpriced = new Set<string>();
  for (const m of members) {
    for (const integration of m.present) {
      if (CATALOGUE[integration] === undefined) unpriced.add(integration);
      else cents += integrationCostCents(integration, m.plan.environment.tier, CATALOGUE);
    }
  }
  return { planId, monthlyUsd: cents / 100, unpriced: [...unpriced].sort() };
}

export function budgetCompliance(cost: PlanCost, constraints: PlanContext["constraints"]): ComplianceResult | null {
  const limit = constraints.budgetUsdPerMonth;
  if (limit === null) return null;
  const nearFrom = limit * (1 - constraints.budgetMargin);
  const status = cost.monthlyUsd > limit ? "fail" : cost.monthlyUsd > nearFrom ? "warn" : "pass";
  const unpriced = cost.unpriced.length > 0 ? ` (not priced: ${cost.unpriced.join(", ")})` : "";
  return {
    id: "budget",
    scope: `plan:${cost.planId}`,
    status,
    reason:
      status === "fail"
        ? `present integrations cost an estimated ${money(cost.monthlyUsd)}/month, over the ${money(limit)} budget by ${money(cost.monthlyUsd - limit)}${unpriced}`
        : `present integrations cost an estimated ${money(cost.monthlyUsd)}/month of the ${money(limit)} budget${status === "warn" ? `, inside the ${Math.round(constraints.budgetMargin * 100)} % margin` : ""}${unpriced}`,
  };
}
