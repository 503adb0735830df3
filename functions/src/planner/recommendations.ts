/**
 * Concrete recommendations derived from the risks, the compliance items, the integrations the
 * planner had to add and the cost figures: each says what to change in the spec and why.
 */
import type { EffectiveEnvironmentPlan } from "../schema/environment-plan";
import { BACKUP_RETENTION_DAYS } from "./catalogue";
import type { ComplianceItem } from "./compliance";
import { integrationCostCents, type CostEstimate } from "./cost";
import type { Catalogue } from "./expand";
import type { Risk } from "./risks";

export interface Recommendation {
  /** The risk or compliance item it answers (`risk:<id>`, `goal:<id>`, `constraint:<id>`), or `spec`. */
  source: string;
  message: string;
}

const money = (usd: number): string => `$${usd.toFixed(2)}`;

export function recommend(
  plan: EffectiveEnvironmentPlan,
  cost: CostEstimate,
  risks: readonly Risk[],
  compliance: readonly ComplianceItem[],
  catalogue: Catalogue,
): Recommendation[] {
  const out: Recommendation[] = [];
  const goalNames = plan.goals.map((g) => g.id);
  const envByName = new Map(plan.environments.map((e) => [e.name, e]));

  for (const env of plan.environments) {
    const byGoal = env.added.filter((a) => a.reason.startsWith("required by goal "));
    if (byGoal.length > 0) {
      const goals = [...new Set(byGoal.map((a) => a.reason.slice("required by goal ".length)))].join(", ");
      out.push({
        source: "spec",
        message: `add ${byGoal.map((a) => a.integration).join(", ")} to ${env.name}.integrations to meet ${goals} explicitly (the planner added ${byGoal.length === 1 ? "it" : "them"})`,
      });
    }
    const byDependency = env.added.filter((a) => a.reason.startsWith("needed by "));
    if (byDependency.length > 0) {
      out.push({
        source: "spec",
        message: `list ${byDependency.map((a) => `${a.integration} (${a.reason})`).join(", ")} in ${env.name}.integrations: the planner added ${byDependency.length === 1 ? "it" : "them"} as dependencies`,
      });
    }
  }

  for (const risk of risks) {
    const env = envByName.get(risk.affectedTasks[0]?.split(".")[0] ?? "");
    switch (risk.id) {
      case "production-without-backup": {
        const extra = env ? integrationCostCents("backup", env.tier, catalogue) / 100 : 0;
        const why = goalNames.includes("high_availability") ? " to meet high_availability" : "";
        out.push({ source: `risk:${risk.id}`, message: `add backup to ${env?.name ?? "production"}${why}: about ${money(extra)}/month more at the assumed usage (daily export, ${BACKUP_RETENTION_DAYS}-day retention)` });
        break;
      }
      case "uptime-goal-without-monitoring":
        out.push({ source: `risk:${risk.id}`, message: `add monitoring to ${env?.name ?? "the target environment"} so its uptime goal can be measured (${money(env ? integrationCostCents("monitoring", env.tier, catalogue) / 100 : 0)}/month)` });
        break;
      case "single-region-ha":
      case "production-auto-deploy":
        out.push({ source: `risk:${risk.id}`, message: risk.mitigation });
        break;
      case "budget-near-limit": {
        const budget = cost.budget!;
        const needed = Math.ceil(cost.totalMonthlyUsd / (1 - budget.margin));
        out.push({
          source: `risk:${risk.id}`,
          message: `raise the budget to at least $${needed}/month to keep a ${Math.round(budget.margin * 100)} % margin, or trim ${risk.affectedTasks.join(", ")} (the largest items)`,
        });
        break;
      }
      case "long-critical-path":
        out.push({ source: `risk:${risk.id}`, message: risk.mitigation });
        break;
    }
  }

  for (const item of compliance) {
    if (item.status === "pass") continue;
    if (item.id === "constraint:budget" && cost.budget) {
      const top = [...cost.rows].sort((a, b) => b.monthlyUsd - a.monthlyUsd).slice(0, 3);
      out.push({
        source: item.id,
        message: `cut ${money(-cost.budget.headroomUsd)}/month to meet the ${money(cost.budget.limitUsd)} budget, or raise it; the largest items are ${top.map((r) => `${r.taskId} (${money(r.monthlyUsd)})`).join(", ")}`,
      });
    } else if (item.id === "constraint:dataResidency") {
      out.push({ source: item.id, message: `move ${item.reason.split(": ")[1] ?? "the environments"} to regions starting with "${plan.constraints.dataResidency}"` });
    } else if (item.kind === "goal" && item.hard) {
      out.push({ source: item.id, message: `add the missing integrations (${item.reason.split(" (")[0]}) or set the goal's enforce to "add"` });
    }
  }
  return out;
}
