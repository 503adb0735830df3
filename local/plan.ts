/**
 * `npm run plan -- <plan.json> [--json]`: compiles a plan document exactly as the plan-created
 * trigger does and prints what would happen, like `terraform plan`. Nothing is provisioned.
 *
 * Exit codes: 0 the plan compiles (outcome run or planned), 1 invalid (unreadable file, bad JSON,
 * or schema/graph errors, each printed with its path), 2 rejected (a hard constraint or goal fails).
 */
import { readFileSync } from "node:fs";
import { compilePlan } from "../functions/src/planner/compile";
import { formatErrors, formatPlan } from "../functions/src/planner/format";

const USAGE = "usage: npm run plan -- <plan.json> [--json]";

function main(argv: readonly string[]): number {
  const json = argv.includes("--json");
  const files = argv.filter((a) => !a.startsWith("--"));
  const unknown = argv.filter((a) => a.startsWith("--") && a !== "--json");
  if (files.length !== 1 || unknown.length > 0) {
    console.error(USAGE);
    return 1;
  }
  const file = files[0]!;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    console.error(`✗ cannot read ${file}: ${(error as Error).message}`);
    return 1;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    console.error(`✗ ${file}: a plan is a JSON object`);
    return 1;
  }
  const result = compilePlan(doc as Record<string, unknown>);
  if (!result.ok) {
    if (json) console.log(JSON.stringify({ ok: false, errors: result.errors }, null, 2));
    else console.error(formatErrors(result.errors));
    return 1;
  }
  const { plan } = result;
  if (json) {
    console.log(JSON.stringify({ ok: true, outcome: plan.outcome, summary: plan.summary, tasks: plan.tasks, report: plan.report }, null, 2));
  } else {
    console.log(formatPlan(plan, file));
  }
  return plan.outcome === "rejected" ? 2 : 0;
}

process.exitCode = main(process.argv.slice(2));
