/**
 * Monthly cost estimate of an effective environment plan: per environment and integration, from
 * the catalogue's usage assumptions priced with the versioned price table. Sums are in whole
 * cents so the table adds up exactly.
 */
import type { EffectiveEnvironmentPlan, EnvironmentTier } from "../schema/environment-plan";
import { COST_ASSUMPTIONS, TIER_USAGE, type TierUsage } from "./catalogue";
import type { Catalogue } from "./expand";
import { PRICE_TABLE, meterCostCents, type MeterId, type PriceTable } from "./prices";

export interface CostLine {
  meter: MeterId;
  description: string;
  quantity: number;
  unit: string;
  usd: number;
}

export interface CostRow {
  /** The provisioning task this row prices, e.g. `production.database`. */
  taskId: string;
  environment: string;
  integration: string;
  monthlyUsd: number;
  lines: CostLine[];
}

export type BudgetStatus = "within" | "near_limit" | "over";

export interface BudgetCheck {
  limitUsd: number;
  /** The margin kept below the limit before the estimate counts as near it (fraction, e.g. 0.1). */
  margin: number;
  headroomUsd: number;
  status: BudgetStatus;
}

export interface CostEstimate {
  currency: "USD";
  priceTableVersion: string;
  priceTable: PriceTable;
  assumptions: readonly string[];
  tierUsage: Partial<Record<EnvironmentTier, TierUsage>>;
  rows: CostRow[];
  environments: Array<{ environment: string; tier: EnvironmentTier; monthlyUsd: number }>;
  totalMonthlyUsd: number;
  budget: BudgetCheck | null;
}

const usd = (cents: number): number => cents / 100;

/** Monthly cost in cents of one integration in an environment of a tier. */
export function integrationCostCents(integration: string, tier: EnvironmentTier, catalogue: Catalogue): number {
  return (catalogue[integration]?.usage(TIER_USAGE[tier]) ?? []).reduce((sum, l) => sum + meterCostCents(PRICE_TABLE.meters[l.meter], l.quantity), 0);
}

export function estimateCost(plan: EffectiveEnvironmentPlan, catalogue: Catalogue): CostEstimate {
  const rows: CostRow[] = [];
  const environments: CostEstimate["environments"] = [];
  const tierUsage: CostEstimate["tierUsage"] = {};
  let totalCents = 0;
  for (const env of plan.environments) {
    tierUsage[env.tier] = TIER_USAGE[env.tier];
    let envCents = 0;
    for (const integration of env.integrations) {
      let rowCents = 0;
      const lines = catalogue[integration]!.usage(TIER_USAGE[env.tier]).map((line): CostLine => {
        const meter = PRICE_TABLE.meters[line.meter];
        const cents = meterCostCents(meter, line.quantity);
        rowCents += cents;
        return { meter: line.meter, description: meter.description, quantity: Math.round(line.quantity * 100) / 100, unit: meter.unit, usd: usd(cents) };
      });
      rows.push({ taskId: `${env.name}.${integration}`, environment: env.name, integration, monthlyUsd: usd(rowCents), lines });
      envCents += rowCents;
    }
    environments.push({ environment: env.name, tier: env.tier, monthlyUsd: usd(envCents) });
    totalCents += envCents;
  }

  const limit = plan.constraints.budgetUsdPerMonth;
  let budget: BudgetCheck | null = null;
  if (limit !== null) {
    const limitCents = Math.round(limit * 100);
    const margin = plan.constraints.budgetMargin;
    const status: BudgetStatus = totalCents > limitCents ? "over" : totalCents > limitCents * (1 - margin) ? "near_limit" : "within";
    budget = { limitUsd: limit, margin, headroomUsd: usd(limitCents - totalCents), status };
  }
  return {
    currency: "USD",
    priceTableVersion: PRICE_TABLE.version,
    priceTable: PRICE_TABLE,
    assumptions: COST_ASSUMPTIONS,
    tierUsage,
    rows,
    environments,
    totalMonthlyUsd: usd(totalCents),
    budget,
  };
}
