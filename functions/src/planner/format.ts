/**
 * Renders a compiled plan (or its errors) as the readable text `npm run plan` prints, like
 * `terraform plan`: tasks per environment in promotion order, gates, critical path, cost table
 * against the budget, risks, compliance and recommendations. Pure: returns a string.
 */
import type { FieldError } from "../schema/issues";
import type { CompiledPlan } from "./compile";

const MAX_LISTED_TASKS = 60;

export function formatDuration(seconds: number): string {
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return s > 0 ? `${m} min ${s} s` : `${m} min`;
  return `${s} s`;
}

const money = (usd: number): string => usd.toFixed(2);

export function formatErrors(errors: readonly FieldError[]): string {
  const lines = [`✗ invalid plan: ${errors.length} problem${errors.length === 1 ? "" : "s"}`];
  for (const e of errors) lines.push(`  ${e.path === "" ? "(document)" : e.path}: ${e.message}`);
  return lines.join("\n");
}

export function formatPlan(plan: CompiledPlan, title = "plan"): string {
  const { report, summary } = plan;
  const out: string[] = [];
  const name = report.effectiveSpec?.name ?? ("name" in plan.spec ? plan.spec.name : undefined) ?? title;
  out.push(`Plan: ${name}`);
  out.push(`  ${summary.form === "environments" ? "environment plan" : "task plan"}: ${summary.taskCount} tasks, ${summary.edgeCount} edges, ${summary.levelCount} levels, ${summary.approvalGateCount} approval gate(s)`);
  out.push("");

  const byId = new Map(report.graph.nodes.map((n) => [n.id, n]));
  if (report.effectiveSpec) {
    out.push("Environments (promotion order)");
    report.effectiveSpec.environments.forEach((env, i) => {
      const flags = [env.autoDeploy ? "auto-deploy" : "manual deploy", env.approvalGate ? "approval gate" : "no gate", env.monitoring ? "monitoring" : "no monitoring", env.backup ? "backup" : "no backup"];
      out.push(`  ${i + 1}. ${env.name} (${env.tier}) ${env.projectId} in ${env.region}${env.failoverRegion ? ` + ${env.failoverRegion}` : ""}: ${flags.join(", ")}`);
      const tasks = report.timeline.filter((t) => byId.get(t.id)!.environment === env.name);
      for (const t of tasks) {
        const node = byId.get(t.id)!;
        const what = node.role === "approval" ? "⏸ approval" : node.role === "verify" ? "✔ verify" : `+ ${node.integration}`;
        out.push(`       ${formatDuration(t.startSeconds).padStart(11)}  ${what.padEnd(18)} ${t.id}${node.critical ? "  (critical)" : ""}`);
      }
      for (const a of env.added) out.push(`       added ${a.integration}: ${a.reason}`);
    });
  } else {
    out.push("Tasks (by earliest start)");
    for (const t of report.timeline.slice(0, MAX_LISTED_TASKS)) {
      const node = byId.get(t.id)!;
      out.push(`  ${formatDuration(t.startSeconds).padStart(11)}  ${node.run.padEnd(9)} ${t.id}${node.critical ? "  (critical)" : ""}`);
    }
    if (report.timeline.length > MAX_LISTED_TASKS) out.push(`  … and ${report.timeline.length - MAX_LISTED_TASKS} more (--json lists all)`);
  }
  out.push("");

  const path = report.criticalPath.taskIds;
  const shown = path.length > 12 ? [...path.slice(0, 6), `… ${path.length - 12} more …`, ...path.slice(-6)] : path;
  out.push(`Critical path: ${formatDuration(report.criticalPath.durationSeconds)} (${path.length} tasks)`);
  out.push(`  ${shown.join(" → ")}`);
  for (const m of report.milestones) out.push(`  milestone ${m.id} at +${formatDuration(m.atSeconds)}`);
  out.push("");

  if (report.cost) {
    const cost = report.cost;
    out.push(`Cost estimate (USD per month, price table ${cost.priceTableVersion}; assumptions in --json)`);
    const width = Math.max(12, ...cost.rows.map((r) => r.taskId.length));
    for (const env of cost.environments) {
      for (const row of cost.rows.filter((r) => r.environment === env.environment)) out.push(`  ${row.taskId.padEnd(width)} ${money(row.monthlyUsd).padStart(10)}`);
      out.push(`  ${`${env.environment} total`.padEnd(width)} ${money(env.monthlyUsd).padStart(10)}`);
    }
    out.push(`  ${"TOTAL".padEnd(width)} ${money(cost.totalMonthlyUsd).padStart(10)}`);
    if (cost.budget) {
      out.push(`  budget ${money(cost.budget.limitUsd)}: ${cost.budget.status.replace("_", " ")}, headroom ${money(cost.budget.headroomUsd)} (margin ${Math.round(cost.budget.margin * 100)} %)`);
    } else {
      out.push("  no budget set");
    }
    out.push("");
  }

  if (report.form === "environments") {
    out.push(`Risks (${report.risks.length})`);
    if (report.risks.length === 0) out.push("  none");
    for (const r of report.risks) {
      const tasks = r.affectedTasks.length > 6 ? `${r.affectedTasks.slice(0, 6).join(", ")}, … (${r.affectedTasks.length})` : r.affectedTasks.join(", ") || "(plan-wide)";
      out.push(`  [${r.severity}] ${r.id}: ${r.cause}`);
      out.push(`      tasks: ${tasks}`);
      out.push(`      mitigation: ${r.mitigation}`);
    }
    out.push("");
    out.push("Compliance");
    if (report.compliance.length === 0) out.push("  no goals or constraints set");
    for (const c of report.compliance) out.push(`  ${c.status === "pass" ? "✓" : "✗"} ${c.id}${c.kind === "constraint" && !c.hard ? " (soft)" : ""}: ${c.reason}`);
    out.push("");
    out.push("Recommendations");
    if (report.recommendations.length === 0) out.push("  none");
    for (const r of report.recommendations) out.push(`  - ${r.message}`);
    out.push("");
  }

  if (report.outcome === "rejected") {
    out.push("Outcome: REJECTED: nothing would be provisioned");
    for (const reason of report.outcomeReasons) out.push(`  ✗ ${reason}`);
  } else if (report.outcome === "planned") {
    out.push(`Outcome: planned only (dryRun): ${summary.taskCount} tasks would run, starting with ${summary.rootCount}`);
  } else {
    out.push(`Outcome: ready to run: ${summary.taskCount} tasks, ${summary.rootCount} start at once`);
  }
  return out.join("\n");
}
