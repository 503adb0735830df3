/**
 * `firebase-orchestrator <command> [args] [flags]` (also `npm run orchestrator -- …`): a plan's
 * whole life from the terminal, against the local stack by default or a real project with
 * `--project`. Flags are parsed strictly with node:util parseArgs: an unknown flag, a missing
 * value or a stray argument is a usage error (64) with the command's help.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CliError, EXIT, type Backend } from "./backend";
import { applyCommand, deletePoolCommand, deleteWindowCommand, poolsCommand, setPoolCommand, historyCommand, listCommand, PLAN_COMMAND_NAMES, planCommand, setWindowCommand, statusCommand, windowsCommand, type Io, type PlanCommandName } from "./commands";
import { deleteTemplateCommand, setTemplateCommand, templatesCommand } from "./commands";
import { PLAN_HELP, runPlan } from "./plan-command";
import { checkTargetFlags, PASSWORD_ENV, resolveBackend, TOKEN_ENV, type TargetFlags } from "./target";

type Options = NonNullable<ParseArgsConfig["options"]>;

const TARGET_OPTIONS: Options = {
  project: { type: "string" },
  api: { type: "string" },
  via: { type: "string" },
  email: { type: "string" },
  as: { type: "string" },
  help: { type: "boolean", short: "h" },
};

const TARGET_HELP = `where and as whom (every command but plan):
  (no --project)       the local stack (npm start), through its API as the demo operator
  --as <role>          locally: the demo operator (default) or viewer account
  --project <id>       a real project: its API with a Firebase identity (--email, or a token in
                       ${TOKEN_ENV}); without one, its Firestore and Pub/Sub with Application
                       Default Credentials, commands carrying the ADC identity's Google ID token
  --api <url>          the API's URL (default https://<project>.web.app/api)
  --via <api|pubsub>   force the transport: the API, or Firestore reads and Pub/Sub commands
  --email <address>    sign in with email and password (the password in ${PASSWORD_ENV})
  -h, --help           this text`;

const EXIT_HELP = `exit codes:
  0   done (a command applied; a followed plan succeeded, or a dry run planned)
  1   error: the request failed (not found, not signed in, not allowed, invalid plan with paths)
  2   refused: the engine refused the command (the reason is printed); a followed plan was rejected
  3   a followed plan ended any other way (failed, rolled_back, cancelled, stale…)
  5   timed out (--timeout) waiting for a plan's end or a command's outcome
  64  usage: an unknown command or flag, a flag without its value, a missing or extra argument`;

interface CommandSpec {
  usage: string;
  summary: string;
  args: readonly string[];
  options: Options;
  flagsHelp: string;
  run(backend: Backend, io: Io, args: string[], values: Record<string, string | boolean | undefined>): Promise<number>;
}

const JSON_FLAG: Options = { json: { type: "boolean" } };
const WAIT_FLAGS: Options = { detach: { type: "boolean" }, timeout: { type: "string" } };

/** A positive whole number of a flag, or a usage error naming the flag. */
function positive(flag: string, value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || n < 1) throw new CliError(`--${flag} is a whole number of at least 1, not "${String(value)}"`, EXIT.usage);
  return n;
}

const str = (value: string | boolean | undefined): string | undefined => (typeof value === "string" ? value : undefined);

const planCommandSpec = (command: PlanCommandName): CommandSpec => {
  // Commands about one task take it as their second argument.
  const gate = command === "approve" || command === "reject" || command === "skip" || command === "mark-success";
  const needsReason = command === "override" || command === "skip" || command === "mark-success";
  const what: Record<PlanCommandName, string> = {
    approve: "approve a gate waiting for approval (you must be one of its approvers)",
    reject: "reject a gate waiting for approval; the gate fails and the plan's failure policy applies",
    cancel: "cancel a plan: nothing new starts, running attempts finish",
    retry: "redrive a failed, cancelled or stale plan: what did not succeed runs again (--task <id>: that task and its downstream run again too)",
    skip: "mark a failed task skipped instead of running it again (--reason required); what follows it runs, as its trigger rules say",
    "mark-success": "mark a failed task succeeded instead of running it again (--reason required); what follows it runs",
    rollback: "roll back a plan: compensate what it did, newest first",
    override: "let a plan waiting for a freeze window go ahead (operators only; --reason is required and recorded)",
    pause: "pause a running plan: nothing new starts, running attempts finish, gates keep their deadlines",
    resume: "resume a paused plan: what became ready meanwhile starts",
  };
  return {
    usage: `firebase-orchestrator ${command} <plan-id>${gate ? " <task-id>" : ""} [flags]`,
    summary: what[command],
    args: gate ? ["plan-id", "task-id"] : ["plan-id"],
    options: { ...JSON_FLAG, ...WAIT_FLAGS, reason: { type: "string" }, ...(command === "retry" ? { task: { type: "string" } } : {}) },
    flagsHelp: `${command === "retry" ? "  --task <task-id>     run this task and everything downstream of it again, too\n" : ""}  --reason <text>      why (recorded in the plan's history with your name)
  --detach             send it and exit 0, without waiting for the engine's record of it
  --timeout <s>        wait at most this long for the outcome (default 60)
  --json               the outcome as JSON: {planId, command, commandId, outcome, event}`,
    run: (backend, io, args, v) => {
      if (needsReason && (str(v.reason) ?? "").trim() === "") throw new CliError(`${command} needs --reason: ${command === "override" ? "why the freeze does not apply" : "why the task need not run again"} (it is recorded with your name)`, EXIT.usage);
      const task = gate ? args[1] : str(v.task);
      return planCommand(backend, io, command, args[0]!, task, { reason: str(v.reason), json: v.json === true, detach: v.detach === true, timeoutSeconds: positive("timeout", v.timeout), downstream: command === "retry" && task !== undefined });
    },
  };
};

const COMMANDS: Record<string, CommandSpec> = {
  apply: {
    usage: "firebase-orchestrator apply <plan.json> [flags]",
    summary: "create a plan from a file and follow it to its end",
    args: ["plan.json"],
    options: { ...JSON_FLAG, ...WAIT_FLAGS },
    flagsHelp: `  --detach             create it and exit 0 without following it
  --timeout <s>        follow it at most this long (exit 5 then; the plan goes on)
  --json               NDJSON while following (as status --watch --json)`,
    run: (backend, io, args, v) => applyCommand(backend, io, args[0]!, { json: v.json === true, detach: v.detach === true, timeoutSeconds: positive("timeout", v.timeout) }),
  },
  list: {
    usage: "firebase-orchestrator list [flags]",
    summary: "the most recent plans",
    args: [],
    options: { ...JSON_FLAG, status: { type: "string" }, limit: { type: "string" } },
    flagsHelp: `  --status <status>    only plans in this status (running, failed, succeeded…)
  --limit <n>          at most this many (default 50, at most 100)
  --json               the API's answer: {plans, nextCursor}`,
    run: (backend, io, _args, v) => listCommand(backend, io, { status: str(v.status), limit: positive("limit", v.limit), json: v.json === true }),
  },
  status: {
    usage: "firebase-orchestrator status <plan-id> [flags]",
    summary: "a plan's status, its tasks, what waits and what failed",
    args: ["plan-id"],
    options: { ...JSON_FLAG, watch: { type: "boolean" }, timeout: { type: "string" } },
    flagsHelp: `  --watch              follow it to its end: a line per status change (exit codes as apply)
  --timeout <s>        with --watch: at most this long (exit 5 then)
  --json               {plan, tasks}; with --watch NDJSON, one object per line, by kind:
                       plan and task (status first seen, then each change), event (each
                       history record, oldest first) and last end ({status, exitCode})`,
    run: (backend, io, args, v) => {
      if (v.timeout !== undefined && v.watch !== true) throw new CliError("--timeout only means something with --watch", EXIT.usage);
      return statusCommand(backend, io, args[0]!, { json: v.json === true, watch: v.watch === true, timeoutSeconds: positive("timeout", v.timeout) });
    },
  },
  history: {
    usage: "firebase-orchestrator history <plan-id> [flags]",
    summary: "a plan's history: transitions, commands with who and why, refusals, attempts",
    args: ["plan-id"],
    options: { ...JSON_FLAG, limit: { type: "string" } },
    flagsHelp: `  --limit <n>          at most this many records, oldest first (default 1000)
  --json               the records as a JSON array`,
    run: (backend, io, args, v) => historyCommand(backend, io, args[0]!, { json: v.json === true, limit: positive("limit", v.limit) }),
  },
  ...Object.fromEntries(PLAN_COMMAND_NAMES.map((c) => [c, planCommandSpec(c)])),
  windows: {
    usage: "firebase-orchestrator windows [flags]",
    summary: "maintenance and freeze windows, and which are on now",
    args: [],
    options: { ...JSON_FLAG },
    flagsHelp: `  --json               the API's answer: {windows, unreadable}`,
    run: (backend, io, _args, v) => windowsCommand(backend, io, { json: v.json === true }),
  },
  "set-window": {
    usage: "firebase-orchestrator set-window <window.json> [flags]",
    summary: "create or replace a maintenance or freeze window (operators)",
    args: ["window.json"],
    options: { ...JSON_FLAG },
    flagsHelp: `  --json               the window as set
  The file: {"id", "kind": "maintenance" | "freeze", "name", "environments": [names, tiers,
  project ids or "*"], "oneTime": [{"start", "end"}], "weekly": [{"days", "start": "HH:MM",
  "durationMinutes", "timeZone"}], "reason"}`,
    run: (backend, io, args, v) => setWindowCommand(backend, io, args[0]!, { json: v.json === true }),
  },
  "delete-window": {
    usage: "firebase-orchestrator delete-window <window-id> [flags]",
    summary: "delete a maintenance or freeze window (operators)",
    args: ["window-id"],
    options: { ...JSON_FLAG },
    flagsHelp: `  --json               {deleted}`,
    run: (backend, io, args, v) => deleteWindowCommand(backend, io, args[0]!, { json: v.json === true }),
  },
  templates: {
    usage: "firebase-orchestrator templates [flags]",
    summary: "plan templates: their version and parameters",
    args: [],
    options: { ...JSON_FLAG },
    flagsHelp: `  --json               the API's answer: {templates, unreadable}`,
    run: (backend, io, _args, v) => templatesCommand(backend, io, { json: v.json === true }),
  },
  "set-template": {
    usage: "firebase-orchestrator set-template <template-id> <template.json> [flags]",
    summary: "create a plan template, or write its next version (operators)",
    args: ["template-id", "template.json"],
    options: { ...JSON_FLAG },
    flagsHelp: `  --json               the template as set: {created, template}
  The file: {"description", "params": {"<name>": {"type": "string" | "number" | "integer" |
  "boolean" | "enum", "values", "default", "min", "max", "pattern", "required", "description"}},
  "plan": a task plan or an environment plan with "\${params.<name>}" where values go}
  (docs/templates.md). Run it with apply on {"template": "<template-id>", "params": {…}}`,
    run: (backend, io, args, v) => setTemplateCommand(backend, io, args[0]!, args[1]!, { json: v.json === true }),
  },
  "delete-template": {
    usage: "firebase-orchestrator delete-template <template-id> [flags]",
    summary: "delete a plan template (operators); plans compiled from it go on",
    args: ["template-id"],
    options: { ...JSON_FLAG },
    flagsHelp: `  --json               {deleted}`,
    run: (backend, io, args, v) => deleteTemplateCommand(backend, io, args[0]!, { json: v.json === true }),
  },
  pools: {
    usage: "firebase-orchestrator pools [flags]",
    summary: "named pools: slots, how many are in use, tasks waiting",
    args: [],
    options: { ...JSON_FLAG },
    flagsHelp: `  --json               the API's answer: {pools, unreadable}`,
    run: (backend, io, _args, v) => poolsCommand(backend, io, { json: v.json === true }),
  },
  "set-pool": {
    usage: "firebase-orchestrator set-pool <pool-id> --slots N [flags]",
    summary: "create or resize a named pool (operators)",
    args: ["pool-id"],
    options: { slots: { type: "string" }, description: { type: "string" }, ...JSON_FLAG },
    flagsHelp: `  --slots N            how many attempts of tasks naming the pool run at once (required)
  --description TEXT   what the pool is for
  --json               the pool as set`,
    run: (backend, io, args, v) => {
      const slots = positive("slots", v.slots);
      if (slots === undefined) throw new CliError("set-pool needs --slots N", EXIT.usage);
      return setPoolCommand(backend, io, args[0]!, { slots, ...(typeof v.description === "string" ? { description: v.description } : {}), json: v.json === true });
    },
  },
  "delete-pool": {
    usage: "firebase-orchestrator delete-pool <pool-id> [flags]",
    summary: "delete a named pool (operators)",
    args: ["pool-id"],
    options: { ...JSON_FLAG },
    flagsHelp: `  --json               {deleted}`,
    run: (backend, io, args, v) => deletePoolCommand(backend, io, args[0]!, { json: v.json === true }),
  },
};

export const MAIN_HELP = `usage: firebase-orchestrator <command> [args] [flags]   (also: npm run orchestrator -- …)

commands:
  plan <plan.json>            compile a plan and print what would happen (like terraform plan)
${Object.entries(COMMANDS)
  .map(([name, spec]) => `  ${`${name} ${spec.args.map((a) => `<${a}>`).join(" ")}`.padEnd(28)}${spec.summary}`)
  .join("\n")}

\`firebase-orchestrator <command> --help\` lists a command's flags.

${TARGET_HELP}

${EXIT_HELP}`;

export const commandHelp = (name: string): string => {
  const spec = COMMANDS[name]!;
  return `usage: ${spec.usage}\n\n${spec.summary}.\n\nflags:\n${spec.flagsHelp}\n\n${TARGET_HELP}\n\n${EXIT_HELP}`;
};

const defaultIo: Io = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: Date.now,
};

/** Runs one command line; answers its exit code. `backendFor` is injected by tests. */
export async function main(argv: string[], io: Io = defaultIo, backendFor: (flags: TargetFlags) => Backend = resolveBackend): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    (name === undefined ? io.err : io.out)(MAIN_HELP);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "plan") {
    if (rest.includes("--help") || rest.includes("-h")) {
      io.out(PLAN_HELP);
      return EXIT.ok;
    }
    return runPlan(rest);
  }
  const spec = COMMANDS[name];
  if (spec === undefined) {
    io.err(`✗ unknown command "${name}"\n\n${MAIN_HELP}`);
    return EXIT.usage;
  }
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { ...TARGET_OPTIONS, ...spec.options } }) as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (error) {
    io.err(`✗ ${(error as Error).message}\n\n${commandHelp(name)}`);
    return EXIT.usage;
  }
  if (values.help === true) {
    io.out(commandHelp(name));
    return EXIT.ok;
  }
  let backend: Backend | undefined;
  try {
    for (const [flag, value] of Object.entries(values)) {
      // parseArgs takes the next word as a flag's value, even another flag: `--project --json` is a mistake.
      if (typeof value === "string" && (value === "" || value.startsWith("-"))) throw new CliError(`--${flag} needs a value`, EXIT.usage);
    }
    if (positionals.length !== spec.args.length) {
      const missing = spec.args.slice(positionals.length).map((a) => `<${a}>`);
      throw new CliError(positionals.length < spec.args.length ? `missing ${missing.join(" ")}` : `unexpected ${positionals.slice(spec.args.length).join(" ")}`, EXIT.usage);
    }
    const target: TargetFlags = { project: str(values.project), api: str(values.api), via: str(values.via), email: str(values.email), as: str(values.as) };
    checkTargetFlags(target);
    backend = backendFor(target);
    if (values.json !== true) io.err(`› ${backend.describe}`);
    return await spec.run(backend, io, positionals, values);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    io.err(`✗ ${error.message}${error.details.map((d) => `\n    ${d.path || "(plan)"}: ${d.message}`).join("")}${error.exitCode === EXIT.usage ? `\n\n${commandHelp(name)}` : ""}`);
    return error.exitCode;
  } finally {
    await backend?.close();
  }
}
