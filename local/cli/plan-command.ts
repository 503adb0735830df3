/**
 * `npm run plan -- <plan.json> [--json] [--refresh [--detailed-exitcode]] [--apply [--id ID]] [--project PROJECT]`:
 * compiles a plan document exactly as the plan-created trigger does and prints what would happen,
 * like `terraform plan`. `--refresh` also reads the live state of every resource the plan's
 * provisions manage and prints the diff. Nothing is provisioned unless `--apply`, which writes the
 * document to `plans/{id}` (with the refresh's expected state, so a plan whose state moved stops as
 * `stale`) and follows it until it ends: in the local stack (`npm start` running), or with
 * `--project` in that real project (Application Default Credentials).
 *
 * An OpenSLO v1 file (YAML documents separated by `---`, or JSON; any document with
 * `apiVersion: openslo/…`) is validated instead: the SLOs it imports as goals' `slo`, or the errors
 * with their paths (`<document index>.<field path>`).
 *
 * Exit codes (and flags): see PLAN_HELP below (`firebase-orchestrator plan --help`).
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { getApps, initializeApp } from "firebase-admin/app";
import { parseAllDocuments } from "yaml";
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
import { importOpenSlo, looksLikeOpenSlo, type OpenSloImport } from "../../functions/src/schema/openslo";
import type { SloSpec } from "../../functions/src/schema/slo";


export const PLAN_HELP = `usage: firebase-orchestrator plan <plan.json> [flags]   (also: npm run plan -- <plan.json> [flags])

Compiles the plan as the orchestrator will and prints what would happen (like terraform plan).
An OpenSLO v1 file (.yaml/.yml with documents separated by ---, or JSON with apiVersion: openslo/v1)
is validated instead: it prints the SLOs as goals' \`slo\` would hold them, or each error with its
path (<document index>.<field>); --json prints {ok, slos, origins, warnings} or {ok: false, errors}.

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
  1   invalid: unreadable file, bad JSON or YAML, or schema and graph errors (each with its path);
      an OpenSLO file: any error (0 when it imports, warnings or not)
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
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    console.error(`✗ cannot read ${file}: ${(error as Error).message}`);
    return 1;
  }
  const read = readDocument(file, text);
  if (read.kind === "error") {
    console.error(`✗ ${read.message}`);
    return 1;
  }
  if (read.kind === "openslo") {
    const flag = apply ? "--apply" : refresh ? "--refresh" : undefined;
    if (flag !== undefined) {
      console.error(`✗ ${flag} only means something for a plan; ${file} is an OpenSLO file (it is validated, never applied)\n\n${PLAN_HELP}`);
      return USAGE_ERROR;
    }
    const imported = importOpenSlo(read.docs);
    if (json) console.log(JSON.stringify(imported, null, 2));
    else if (imported.ok) console.log(formatOpenSloImport(imported, file));
    else console.error(formatOpenSloImport(imported, file));
    return imported.ok ? 0 : 1;
  }
  const doc = read.doc;
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

type ReadDocument = { kind: "plan"; doc: unknown } | { kind: "openslo"; docs: unknown[] } | { kind: "error"; message: string };

/**
 * A plan (JSON) or an OpenSLO file: YAML (`.yaml`, `.yml`) is read as a stream of OpenSLO
 * documents, each a document or a list of them; JSON is OpenSLO when it says `apiVersion: openslo/…`.
 */
function readDocument(file: string, text: string): ReadDocument {
  if (/\.ya?ml$/i.test(file)) {
    const documents = parseAllDocuments(text);
    const docs: unknown[] = [];
    for (const [i, document] of documents.entries()) {
      const problem = document.errors[0];
      if (problem !== undefined) return { kind: "error", message: `${file}: YAML document ${i}: ${problem.message.split("\n")[0]}` };
      const value: unknown = document.toJS();
      if (value === null || value === undefined) continue;
      docs.push(...(Array.isArray(value) ? (value as unknown[]) : [value]));
    }
    if (!looksLikeOpenSlo(docs)) return { kind: "error", message: `${file}: a YAML file is read as OpenSLO v1 (apiVersion: openslo/v1) and none of its documents is; a plan is JSON` };
    return { kind: "openslo", docs };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return { kind: "error", message: `cannot read ${file}: ${(error as Error).message}` };
  }
  if (looksLikeOpenSlo(doc)) return { kind: "openslo", docs: Array.isArray(doc) ? doc : [doc] };
  return { kind: "plan", doc };
}

const minutes = (m: number): string => (m % 1440 === 0 ? `${m / 1440}d` : m % 60 === 0 ? `${m / 60}h` : `${m}m`);

function describeSlo(spec: SloSpec): string {
  const sli = spec.sli.kind === "latency" ? `latency: p${spec.sli.percentile} within ${spec.sli.thresholdMs} ms` : `availability ${spec.objectivePercent} %`;
  const window = spec.window.calendar === "month" ? "UTC calendar month" : `rolling ${spec.window.rolling.days} days`;
  return `${sli}, ${window}`;
}

/** What an OpenSLO file imports as, or why it does not: SLOs with their tiers and the goal's \`slo\` to paste; warnings and errors with their paths. */
export function formatOpenSloImport(result: OpenSloImport, file: string): string {
  const lines: string[] = [];
  const issues = (label: string, list: ReadonlyArray<{ path: string; message: string }>) => {
    for (const e of list) lines.push(`  ${label} ${e.path === "" ? "(file)" : e.path}: ${e.message}`);
  };
  if (!result.ok) {
    lines.push(`✗ invalid OpenSLO in ${file}: ${result.errors.length} problem${result.errors.length === 1 ? "" : "s"}`);
    issues("✗", result.errors);
    issues("!", result.warnings);
    return lines.join("\n");
  }
  const names = Object.keys(result.slos);
  lines.push(`OpenSLO v1: ${file}: ${names.length} SLO${names.length === 1 ? "" : "s"}`);
  for (const name of names) {
    const spec = result.slos[name]!;
    const origin = result.origins[name]!;
    lines.push("", `  ${name} (service ${origin.service}${origin.goalId === null ? "" : `, goal ${origin.goalId}`}): ${describeSlo(spec)}`);
    if (spec.alertTiers.length === 0) lines.push("    no alert tiers: the error budget is tracked, nothing alerts");
    for (const t of spec.alertTiers) lines.push(`    ${t.severity.padEnd(6)} ${t.name.padEnd(20)} ≥ ${t.burnRate}× over ${minutes(t.longWindowMinutes)} and over ${minutes(t.shortWindowMinutes)}`);
    lines.push(`    slo: ${JSON.stringify(spec)}`);
  }
  if (result.warnings.length > 0) {
    lines.push("", "  warnings:");
    issues("!", result.warnings);
  }
  lines.push("", `✓ ${names.length} SLO${names.length === 1 ? "" : "s"} import${names.length === 1 ? "s" : ""}: each \`slo\` above can go in a goal of an environment plan`);
  return lines.join("\n");
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
