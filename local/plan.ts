/**
 * `npm run plan -- <plan.json> [--json] [--apply [--id ID] [--project PROJECT]]`: compiles a plan
 * document exactly as the plan-created trigger does and prints what would happen, like
 * `terraform plan`. Nothing is provisioned unless `--apply`, which writes the document to
 * `plans/{id}` and follows it until it ends: in the local stack's Firestore emulator (`npm start`
 * running), or with `--project` in that real project's Firestore (Application Default Credentials).
 *
 * Exit codes (and flags): see HELP below (`npm run plan -- --help`).
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";
import { localFirestore } from "./admin";
import { followPlan } from "./progress";
import { hostPort } from "./project";
import { compilePlan } from "../functions/src/planner/compile";
import { formatErrors, formatPlan } from "../functions/src/planner/format";

const HELP = `usage: npm run plan -- <plan.json> [flags]

Compiles the plan as the orchestrator will and prints what would happen (like terraform plan).

flags:
  --json               the compiled plan as JSON (summary, tasks, report), or {ok: false, errors}
  --apply              write it to plans/{id} and follow it to its end
  --id <id>            with --apply: the plan's id (default: the file's name and a time stamp)
  --project <id>       with --apply: a real project's Firestore (Application Default Credentials);
                       without it, the local stack (npm start)
  -h, --help           this text

exit codes:
  0   compiles (outcome run or planned); with --apply: ended succeeded or planned
  1   invalid: unreadable file, bad JSON, or schema and graph errors (each with its path)
  2   rejected: a hard constraint or goal fails
  3   with --apply: ended any other way (failed, rolled back, cancelled...)
  64  usage: an unknown flag, a flag without its value, not exactly one file`;

/** Exit code of a command-line mistake (sysexits' EX_USAGE), apart from the plan's own outcomes. */
const USAGE_ERROR = 64;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (error) {
    console.error(`✗ ${(error as Error).message}\n\n${HELP}`);
    return USAGE_ERROR;
  }
  const { values, positionals: files } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const json = values.json === true;
  const apply = values.apply === true;
  const planIdArg = values.id;
  const project = values.project;
  if (files.length !== 1) {
    console.error(`✗ ${files.length === 0 ? "no plan file given" : `one plan file at a time (got ${files.join(", ")})`}\n\n${HELP}`);
    return USAGE_ERROR;
  }
  if (!apply && (planIdArg !== undefined || project !== undefined)) {
    console.error(`✗ --id and --project only mean something with --apply\n\n${HELP}`);
    return USAGE_ERROR;
  }
  for (const [flag, value] of [["--id", planIdArg], ["--project", project]] as const) {
    // parseArgs takes the next word as the value, even another flag: `--project --json` is a mistake, not a project.
    if (value !== undefined && (value === "" || value.startsWith("-"))) {
      console.error(`✗ ${flag} needs a value\n\n${HELP}`);
      return USAGE_ERROR;
    }
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

/** Strict: an unknown flag or a flag without its value throws, with what was wrong. */
function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { json: { type: "boolean" }, apply: { type: "boolean" }, id: { type: "string" }, project: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
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
