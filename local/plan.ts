/**
 * `npm run plan -- <plan.json> [--json] [--apply [--id ID] [--project PROJECT]]`: compiles a plan
 * document exactly as the plan-created trigger does and prints what would happen, like
 * `terraform plan`. Nothing is provisioned unless `--apply`, which writes the document to
 * `plans/{id}` and follows it until it ends: in the local stack's Firestore emulator (`npm start`
 * running), or with `--project` in that real project's Firestore (Application Default Credentials).
 *
 * Exit codes: 0 the plan compiles (outcome run or planned), 1 invalid (unreadable file, bad JSON,
 * or schema/graph errors, each printed with its path), 2 rejected (a hard constraint or goal fails).
 * With --apply: 0 when the plan ended succeeded (or planned), 3 when it ended any other way.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";
import { localFirestore } from "./admin";
import { followPlan } from "./progress";
import { hostPort } from "./project";
import { compilePlan } from "../functions/src/planner/compile";
import { formatErrors, formatPlan } from "../functions/src/planner/format";

const USAGE = "usage: npm run plan -- <plan.json> [--json] [--apply [--id ID] [--project PROJECT]]";

async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes("--json");
  const apply = argv.includes("--apply");
  const valueOf = (flag: string) => (argv.indexOf(flag) >= 0 ? argv[argv.indexOf(flag) + 1] : undefined);
  const planIdArg = valueOf("--id");
  const project = valueOf("--project");
  const values = new Set(["--id", "--project"].map((f) => argv.indexOf(f) + 1).filter((i) => i > 0));
  const files = argv.filter((a, i) => !a.startsWith("--") && !values.has(i));
  const unknown = argv.filter((a) => a.startsWith("--") && !["--json", "--apply", "--id", "--project"].includes(a));
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
  if (plan.outcome === "rejected") return 2;
  if (!apply) return 0;
  return applyPlan(doc as Record<string, unknown>, planIdArg ?? `${basename(file).replace(/\.json$/, "").replace(/[^A-Za-z0-9_-]/g, "-")}-${Date.now().toString(36)}`, project);
}

/** Writes the plan where the orchestrator watches and follows it to its end. */
async function applyPlan(doc: Record<string, unknown>, planId: string, project: string | undefined): Promise<number> {
  if (project === undefined) {
    const reachable = await fetch(`http://${hostPort("firestore")}/`, { signal: AbortSignal.timeout(2_000) }).then(() => true, () => false);
    if (!reachable) {
      console.error(`✗ no local stack at ${hostPort("firestore")}: start it with \`npm start\` in another terminal, or pass --project <id> for a real project`);
      return 1;
    }
  }
  const db = project === undefined ? localFirestore() : remoteFirestore(project);
  await db.collection("plans").doc(planId).create(doc);
  console.log(`› wrote plans/${planId} in ${project === undefined ? "the local stack (npm start)" : `project ${project}`}; following it (Ctrl-C stops following, not the plan)`);
  const outcome = await followPlan(db, planId, {});
  console.log(`${outcome.status === "succeeded" || outcome.status === "planned" ? "✓" : "✗"} plan ${planId} ended ${outcome.status}${outcome.failedTask ? ` at ${outcome.failedTask}` : ""}`);
  for (const e of outcome.errors ?? []) console.log(`    ${e.path}: ${e.message}`);
  return outcome.status === "succeeded" || outcome.status === "planned" ? 0 : 3;
}

function remoteFirestore(projectId: string): Firestore {
  if (!getApps().some((app) => app.name === "[DEFAULT]")) initializeApp({ projectId });
  return getFirestore();
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`✗ ${(error as Error).message}`);
    process.exit(1);
  },
);
