/**
 * `npm run plan -- <plan.json> [--json] [--refresh [--detailed-exitcode]] [--apply [--id ID]] [--project PROJECT]`:
 * compiles a plan document exactly as the plan-created trigger does and prints what would happen,
 * like `terraform plan`. `--refresh` also reads the live state of every resource the plan's
 * provisions manage and prints the diff. Nothing is provisioned unless `--apply`, which writes the
 * document to `plans/{id}` (with the refresh's expected state, so a plan whose state moved stops as
 * `stale`) and follows it until it ends: in the local stack (`npm start` running), or with
 * `--project` in that real project (Application Default Credentials).
 *
 * Exit codes (and flags): see PLAN_HELP below (`firebase-orchestrator plan --help`).
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";
import { localFirestore } from "../admin";
import { EXIT } from "./backend";
import { followPlan } from "../progress";
import { hostPort, recordedControlPlane } from "../project";
import { createGoogleClients, GOOGLE_ENV, googleClientConfigFromEnv } from "../../functions/src/clients/google";
import { compilePlan, type CompiledPlan } from "../../functions/src/planner/compile";
import { formatErrors, formatPlan } from "../../functions/src/planner/format";
import { formatRefresh } from "../../functions/src/planner/format-changes";
import { refreshPlan, type RefreshResult } from "../../functions/src/executors/refresh";


export const PLAN_HELP = `usage: firebase-orchestrator plan <plan.json> [flags]   (also: npm run plan -- <plan.json> [flags])

Compiles the plan as the orchestrator will and prints what would happen (like terraform plan).

flags:
  --json               the compiled plan as JSON (summary, tasks, report, and with --refresh the
                       change sets), or {ok: false, errors}
  --refresh            read the live state of every resource the plan provisions and print what
                       would be created (+), changed (~, with fields; rules as a unified diff) or
                       left alone (=); nothing is changed
  --detailed-exitcode  with --refresh: exit 0 when nothing would change, 4 when something would
  --apply              write it to plans/{id} and follow it to its end (with --refresh, the plan
                       stops as stale if the live state moves before a provision runs)
  --id <id>            with --apply: the plan's id (default: the file's name and a time stamp)
  --project <id>       a real project (Application Default Credentials): its Firestore for --apply,
                       the real Google APIs for --refresh; without it, the local stack (npm start)
  -h, --help           this text

exit codes:
  0   compiles (outcome run or planned); with --apply: ended succeeded or planned;
      with --detailed-exitcode: and nothing would change
  1   invalid: unreadable file, bad JSON, or schema and graph errors (each with its path)
  2   rejected: a hard constraint or goal fails
  3   with --apply: ended any other way (failed, rolled back, stale, cancelled...)
  4   with --refresh --detailed-exitcode: compiles, and something would change
  5   with --refresh: the live state of some task could not be read (the diff is incomplete)
  64  usage: an unknown flag, a flag without its value, not exactly one file`;

/** Exit code of a command-line mistake (sysexits' EX_USAGE), the same for every command. */
const USAGE_ERROR = EXIT.usage;

export async function runPlan(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (error) {
    console.error(`✗ ${(error as Error).message}\n\n${PLAN_HELP}`);
    return USAGE_ERROR;
  }
  const { values, positionals: files } = parsed;
  if (values.help) {
    console.log(PLAN_HELP);
    return 0;
  }
  const json = values.json === true;
  const apply = values.apply === true;
  const refresh = values.refresh === true;
  const detailed = values["detailed-exitcode"] === true;
  const planIdArg = values.id;
  const project = values.project;
  if (files.length !== 1) {
    console.error(`✗ ${files.length === 0 ? "no plan file given" : `one plan file at a time (got ${files.join(", ")})`}\n\n${PLAN_HELP}`);
    return USAGE_ERROR;
  }
  if (!apply && planIdArg !== undefined) {
    console.error(`✗ --id only means something with --apply\n\n${PLAN_HELP}`);
    return USAGE_ERROR;
  }
  if (!apply && !refresh && project !== undefined) {
    console.error(`✗ --project only means something with --apply or --refresh\n\n${PLAN_HELP}`);
    return USAGE_ERROR;
  }
  if (detailed && !refresh) {
    console.error(`✗ --detailed-exitcode only means something with --refresh\n\n${PLAN_HELP}`);
    return USAGE_ERROR;
  }
  for (const [flag, value] of [["--id", planIdArg], ["--project", project]] as const) {
    // parseArgs takes the next word as the value, even another flag: `--project --json` is a mistake, not a project.
    if (value !== undefined && (value === "" || value.startsWith("-"))) {
      console.error(`✗ ${flag} needs a value\n\n${PLAN_HELP}`);
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
  const refreshed = refresh ? await refreshLive(plan.tasks, project) : undefined;
  if (refreshed !== undefined && typeof refreshed === "string") {
    console.error(`✗ ${refreshed}`);
    return 1;
  }
  if (json) {
    const changes = refreshed === undefined ? {} : { refresh: { total: refreshed.total, errors: refreshed.errors, tasks: refreshed.tasks } };
    console.log(JSON.stringify({ ok: true, outcome: plan.outcome, summary: plan.summary, tasks: plan.tasks, report: plan.report, ...changes }, null, 2));
  } else {
    console.log(formatPlan(plan, file));
    if (refreshed !== undefined) console.log(`\n${formatRefresh(refreshed)}`);
  }
  if (plan.outcome === "rejected") return 2;
  if (refreshed !== undefined && refreshed.errors.length > 0) return 5;
  if (!apply) return detailed && refreshed !== undefined && changesAny(refreshed) ? 4 : 0;
  // The plan carries what the refresh saw: a provision whose state moved by then stops it as stale.
  const written = refreshed === undefined ? doc : { ...(doc as Record<string, unknown>), expectedState: refreshed.expectedState };
  return applyPlan(written as Record<string, unknown>, planIdArg ?? `${basename(file).replace(/\.json$/, "").replace(/[^A-Za-z0-9_-]/g, "-")}-${Date.now().toString(36)}`, project);
}

const changesAny = (r: RefreshResult): boolean => r.total.create + r.total.update + r.total.replace > 0;

/**
 * Reads the live state the plan's provisions manage: the local stack's control plane (its
 * endpoints from the environment, else from the file the running stack wrote), or with `project`
 * the real Google APIs with Application Default Credentials. A string: why it cannot.
 */
async function refreshLive(tasks: CompiledPlan["tasks"], project: string | undefined): Promise<RefreshResult | string> {
  let env: NodeJS.ProcessEnv = process.env;
  if (project === undefined && process.env[GOOGLE_ENV.restEndpoint] === undefined) {
    const recorded = recordedControlPlane();
    if (recorded === undefined) return `no local control plane to refresh against: start the stack (npm start), or pass --project <id> for a real project`;
    env = { ...process.env, ...recorded.env };
  }
  const clients = createGoogleClients(googleClientConfigFromEnv(env));
  try {
    return await refreshPlan(tasks, clients);
  } finally {
    await clients.close();
  }
}

/** Strict: an unknown flag or a flag without its value throws, with what was wrong. */
function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: "boolean" },
      refresh: { type: "boolean" },
      "detailed-exitcode": { type: "boolean" },
      apply: { type: "boolean" },
      id: { type: "string" },
      project: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
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
