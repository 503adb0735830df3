/**
 * The command line's commands over a Backend: apply, list, status (and --watch), history, and the
 * plan commands (approve, reject, cancel, retry, rollback, override, pause, resume, skip, mark-success), maintenance and
 * freeze windows, and plan templates. Each answers with its exit code; what
 * it prints goes through `io`, so tests read it.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { encodeCursor, type ApiResponse } from "../../functions/src/api/http";
import { applicablePlanCommands, FINAL_PLAN_STATUSES } from "../../functions/src/engine/plan";
import type { PlanStatus } from "../../functions/src/schema/plan";
import { CliError, EXIT, type Backend } from "./backend";
import { counts, span, table, when } from "./render";

export interface Io {
  out(line: string): void;
  err(line: string): void;
  sleep(ms: number): Promise<void>;
  now(): number;
}

type Json = Record<string, unknown>;
interface Plan extends Json {
  id: string;
  status: string;
  name?: string;
  createdAt?: number;
  startedAt?: number;
  finishedAt?: number;
  failedTask?: string;
  errors?: Array<{ path: string; message: string }>;
  waitingFor?: { lock?: string; plan?: string; freeze?: string; name?: string; environment?: string; until?: number } | null;
}
interface Task extends Json {
  id: string;
  status: string;
  run?: string;
  attempt?: number;
  startedAt?: number;
  finishedAt?: number;
  error?: { code?: string; message?: string } | null;
}
interface PlanEvent extends Json {
  id: string;
  at: number;
  type: string;
  actor?: string;
  message?: string;
}

/** The body of a 2xx answer, or a CliError with the API's message and field errors. */
function expectOk(res: ApiResponse, what: string): Json {
  if (res.status >= 200 && res.status < 300) return res.body as Json;
  const error = (res.body as { error?: { code?: string; message?: string; errors?: Array<{ path: string; message: string }> } }).error;
  const hint = res.status === 401 ? " (sign in: --email, or a token in ORCHESTRATOR_ID_TOKEN)" : res.status === 403 ? " (this needs another role)" : "";
  throw new CliError(`${what}: ${error?.message ?? `HTTP ${res.status}`}${hint}`, EXIT.error, error?.errors ?? []);
}

const planPath = (id: string): string => `/plans/${encodeURIComponent(id)}`;

async function readPlan(backend: Backend, id: string): Promise<{ plan: Plan; tasks: Task[]; truncated: boolean }> {
  const body = expectOk(await backend.get(planPath(id)), `plan ${id}`);
  return { plan: body.plan as Plan, tasks: body.tasks as Task[], truncated: body.tasksTruncated === true };
}

/** Exit code for a plan that ended: 0 succeeded or planned (a dry run), 2 rejected, 3 any other end. */
export const endCode = (status: string): number => (status === "succeeded" || status === "planned" ? EXIT.ok : status === "rejected" ? EXIT.refused : EXIT.ended);

// ---- list -----------------------------------------------------------------------------------

export async function listCommand(backend: Backend, io: Io, flags: { status?: string; limit?: number; json?: boolean }): Promise<number> {
  const body = expectOk(await backend.get("/plans", { status: flags.status, limit: flags.limit === undefined ? undefined : String(flags.limit) }), "listing plans");
  const plans = body.plans as Plan[];
  if (flags.json) {
    io.out(JSON.stringify(body, null, 2));
    return EXIT.ok;
  }
  if (plans.length === 0) {
    io.out(flags.status === undefined ? "no plans yet" : `no ${flags.status} plans`);
    return EXIT.ok;
  }
  const now = io.now();
  io.out(table(["PLAN", "STATUS", "CREATED", "TOOK", "NAME"], plans.map((p) => [p.id, p.status, when(p.createdAt), span(p.startedAt, p.finishedAt, now), p.name ?? ""])));
  if (body.nextCursor !== null) io.out(`(the ${plans.length} most recent; --limit for more)`);
  return EXIT.ok;
}

// ---- status ---------------------------------------------------------------------------------

function taskCounts(tasks: readonly Task[]): Record<string, number> {
  const byStatus: Record<string, number> = {};
  for (const t of tasks) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
  return byStatus;
}

/** The task table shows every task of a small plan, and of a large one those not succeeded. */
const FULL_TABLE = 60;

export function describePlan(plan: Plan, tasks: readonly Task[], truncated: boolean, now: number): string {
  const lines = [`plan     ${plan.id}${plan.name ? `  (${plan.name})` : ""}`];
  const timing = plan.finishedAt !== undefined ? `finished ${when(plan.finishedAt)}, took ${span(plan.startedAt, plan.finishedAt)}` : plan.startedAt !== undefined ? `running for ${span(plan.startedAt, undefined, now)}` : `created ${when(plan.createdAt)}`;
  lines.push(`status   ${plan.status}  · ${timing}`);
  lines.push(`tasks    ${tasks.length}${truncated ? "+" : ""}: ${counts(taskCounts(tasks)) || "none yet"}`);
  const gates = tasks.filter((t) => t.status === "waiting_approval");
  for (const g of gates) lines.push(`waiting  ${g.id} for approval: firebase-orchestrator approve ${plan.id} ${g.id} (or reject)`);
  for (const t of tasks.filter((x) => x.status === "waiting_external")) lines.push(`waiting  ${t.id} for another system's task event`);
  if (plan.failedTask) {
    const failed = tasks.find((t) => t.id === plan.failedTask);
    lines.push(`failed   ${plan.failedTask}${failed?.error?.message ? `: ${failed.error.message}` : ""}`);
  }
  for (const e of plan.errors ?? []) lines.push(`error    ${e.path}: ${e.message}`);
  const waitingFor = plan.status === "waiting" ? plan.waitingFor : null;
  if (waitingFor?.freeze !== undefined) {
    lines.push(`waiting  ${waitingFor.environment} is frozen by window ${waitingFor.freeze} ("${waitingFor.name}") until ${when(waitingFor.until)}: it starts then, or an operator overrides: firebase-orchestrator override ${plan.id} --reason "…"`);
  } else if (waitingFor?.lock !== undefined) lines.push(`waiting  for environment ${waitingFor.lock}, locked by plan ${waitingFor.plan}`);
  const commands = applicablePlanCommands(plan.status as PlanStatus, plan.dryRun === true, waitingFor?.freeze !== undefined);
  if (commands.length > 0) lines.push(`commands ${commands.map((c) => `firebase-orchestrator ${c} ${plan.id}`).join(" · ")}`);
  const shown = tasks.length <= FULL_TABLE ? tasks : tasks.filter((t) => t.status !== "succeeded");
  if (shown.length > 0) {
    lines.push("");
    lines.push(table(["TASK", "STATUS", "ATTEMPT", "TOOK", "ERROR"], shown.map((t) => [t.id, t.status, String(t.attempt ?? 0), span(t.startedAt, t.finishedAt, now), t.error?.message ?? ""]), 70));
    if (shown.length < tasks.length) lines.push(`(${tasks.length - shown.length} succeeded tasks not shown; --json has them all)`);
  }
  return lines.join("\n");
}

export async function statusCommand(backend: Backend, io: Io, id: string, flags: { json?: boolean; watch?: boolean; timeoutSeconds?: number; intervalMs?: number }): Promise<number> {
  if (flags.watch) return watchPlan(backend, io, id, flags);
  const { plan, tasks, truncated } = await readPlan(backend, id);
  io.out(flags.json ? JSON.stringify({ plan, tasks, tasksTruncated: truncated }, null, 2) : describePlan(plan, tasks, truncated, io.now()));
  return EXIT.ok;
}

/**
 * Follows a plan to its end. Text: one line per change of the plan's or a task's status. JSON:
 * NDJSON, one object per line with `kind`: `plan` and `task` (each status as first seen, then each
 * change), `event` (each record of the plan's history, oldest first, as `history --json` has them),
 * and last `end` (the final status and the exit code). Exits like `apply`; 5 on --timeout.
 */
export async function watchPlan(backend: Backend, io: Io, id: string, flags: { json?: boolean; timeoutSeconds?: number; intervalMs?: number }): Promise<number> {
  const started = io.now();
  const deadline = flags.timeoutSeconds === undefined ? Infinity : started + flags.timeoutSeconds * 1000;
  const interval = flags.intervalMs ?? 1_000;
  const emit = (line: Json) => io.out(JSON.stringify(line));
  const seen = new Map<string, string>();
  let planStatus: string | undefined;
  let cursor: string | undefined;
  const say = (text: string) => io.out(`${when(io.now()).slice(11, 19)}  ${text}`);

  const drainEvents = async () => {
    // The cursor after the last record read stays, so the next poll asks only for what came after it.
    const read = await eventsAfter(backend, id, cursor);
    cursor = read.cursor;
    if (flags.json) for (const e of read.events) emit({ kind: "event", planId: id, ...e });
  };

  for (;;) {
    const { plan, tasks } = await readPlan(backend, id);
    for (const t of tasks) {
      const before = seen.get(t.id);
      if (before === t.status) continue;
      seen.set(t.id, t.status);
      if (flags.json) emit({ kind: "task", planId: id, taskId: t.id, status: t.status, attempt: t.attempt ?? 0, ...(before === undefined ? {} : { from: before }), at: io.now() });
      else if (before !== undefined || (t.status !== "blocked" && t.status !== "pending")) say(`${t.id.padEnd(32)} ${before === undefined ? "" : `${before} → `}${t.status}${t.error?.message && t.status === "failed" ? `: ${t.error.message}` : ""}`);
    }
    if (plan.status !== planStatus) {
      if (flags.json) emit({ kind: "plan", planId: id, status: plan.status, ...(planStatus === undefined ? {} : { from: planStatus }), at: io.now() });
      else say(`plan ${id} ${planStatus === undefined ? "is" : "→"} ${plan.status}`);
      planStatus = plan.status;
    }
    await drainEvents();
    if (FINAL_PLAN_STATUSES.has(plan.status as never)) {
      const code = endCode(plan.status);
      if (flags.json) emit({ kind: "end", planId: id, status: plan.status, ...(plan.failedTask ? { failedTask: plan.failedTask } : {}), exitCode: code, at: io.now() });
      else io.out(`\n${describePlan(plan, tasks, false, io.now())}`);
      return code;
    }
    if (io.now() + interval > deadline) {
      if (flags.json) emit({ kind: "end", planId: id, status: plan.status, timedOut: true, exitCode: EXIT.timeout, at: io.now() });
      else io.err(`✗ plan ${id} is still ${plan.status} after ${flags.timeoutSeconds} s (it goes on; watch again with status --watch)`);
      return EXIT.timeout;
    }
    await io.sleep(interval);
  }
}

/** The API's cursor for "after this event", as its nextCursor spells it (the sort values [at, id]). */
const encodeEventCursor = (e: PlanEvent): string => encodeCursor([e.at, e.id]);

/**
 * The plan's history records after `cursor` (from the start when undefined), oldest first, page by
 * page: all of them, or the first `max`. `cursor`: the one after the last record read (the given
 * one when none was); `more`: records past `max` remain.
 */
async function eventsAfter(backend: Backend, id: string, cursor: string | undefined, max = Infinity): Promise<{ events: PlanEvent[]; cursor: string | undefined; more: boolean }> {
  const events: PlanEvent[] = [];
  for (;;) {
    const body = expectOk(await backend.get(`${planPath(id)}/events`, { cursor, limit: String(Math.min(1_000, max - events.length)) }), `history of plan ${id}`);
    const page = body.events as PlanEvent[];
    events.push(...page);
    if (body.nextCursor === null) {
      // The last page: the API gives no cursor, so the one after its last record is made here.
      return { events, cursor: page.length > 0 ? encodeEventCursor(page.at(-1)!) : cursor, more: false };
    }
    cursor = body.nextCursor as string;
    if (events.length >= max) return { events, cursor, more: true };
  }
}

// ---- history --------------------------------------------------------------------------------

export async function historyCommand(backend: Backend, io: Io, id: string, flags: { json?: boolean; limit?: number }): Promise<number> {
  const limit = flags.limit ?? 1_000;
  const { events, more } = await eventsAfter(backend, id, undefined, limit);
  if (flags.json) io.out(JSON.stringify(events, null, 2));
  else if (events.length === 0) io.out(`plan ${id} has no history yet`);
  else io.out(table(["AT", "EVENT", "BY", "WHAT"], events.map((e) => [when(e.at), e.type, e.actor ?? "", e.message ?? ""]), 100));
  if (more) io.err(`(the first ${limit} records; --limit for more)`);
  return EXIT.ok;
}

// ---- apply ----------------------------------------------------------------------------------

export async function applyCommand(backend: Backend, io: Io, file: string, flags: { json?: boolean; detach?: boolean; timeoutSeconds?: number; intervalMs?: number }): Promise<number> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, EXIT.error);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new CliError(`${file}: a plan is a JSON object`, EXIT.error);
  const body = expectOk(await backend.post("/plans", doc as Json), `${file} was not applied`);
  const id = String(body.id);
  const summary = body.summary as { taskCount?: number } | undefined;
  if (flags.json) io.out(JSON.stringify({ kind: "applied", planId: id, summary }));
  else io.out(`› plan ${id} created from ${file} (${summary?.taskCount ?? "?"} tasks)${flags.detach ? "" : "; following it (Ctrl-C stops following, not the plan)"}`);
  if (flags.detach) return EXIT.ok;
  return watchPlan(backend, io, id, flags);
}

// ---- plan commands --------------------------------------------------------------------------

export const PLAN_COMMAND_NAMES = ["approve", "reject", "cancel", "retry", "rollback", "override", "pause", "resume", "skip", "mark-success"] as const;
export type PlanCommandName = (typeof PLAN_COMMAND_NAMES)[number];

/**
 * Sends one command and, unless `detach`, waits for the engine's record of it: applied (exit 0,
 * its message) or refused (exit 2, why). The commandId is new for each call, so a command the
 * engine never recorded can be sent again safely.
 */
export async function planCommand(
  backend: Backend,
  io: Io,
  command: PlanCommandName,
  id: string,
  taskId: string | undefined,
  flags: { reason?: string; json?: boolean; detach?: boolean; timeoutSeconds?: number; intervalMs?: number; commandId?: string; downstream?: boolean },
): Promise<number> {
  const commandId = flags.commandId ?? randomUUID();
  const request = { command, commandId, ...(taskId === undefined ? {} : { taskId }), ...(flags.downstream === true ? { downstream: true } : {}), ...(flags.reason === undefined ? {} : { reason: flags.reason }) };
  expectOk(await backend.post(`${planPath(id)}/commands`, request), `${command} of plan ${id}`);
  if (flags.detach) {
    io.out(flags.json ? JSON.stringify({ planId: id, command, commandId, outcome: "sent" }) : `› ${command} sent (commandId ${commandId}); see \`history ${id}\``);
    return EXIT.ok;
  }
  const deadline = io.now() + (flags.timeoutSeconds ?? 60) * 1000;
  for (;;) {
    const body = expectOk(await backend.get(`${planPath(id)}/events`, { order: "latest", limit: "1000" }), `history of plan ${id}`);
    const events = body.events as PlanEvent[];
    const refused = events.find((e) => e.id === `command.${commandId}.refused`);
    const applied = events.find((e) => e.id === `command.${commandId}`);
    const record = refused ?? applied;
    if (record !== undefined) {
      const outcome = refused !== undefined ? "refused" : "applied";
      if (flags.json) io.out(JSON.stringify({ planId: id, command, commandId, outcome, event: record }));
      else io.out(`${refused ? "✗" : "✓"} ${record.message ?? `${command} ${outcome}`}`);
      return refused ? EXIT.refused : EXIT.ok;
    }
    if (io.now() >= deadline) {
      if (flags.json) io.out(JSON.stringify({ planId: id, command, commandId, outcome: "unknown" }));
      else io.err(`✗ ${command} was sent (commandId ${commandId}) but the engine recorded no outcome within ${flags.timeoutSeconds ?? 60} s; see \`history ${id}\``);
      return EXIT.timeout;
    }
    await io.sleep(flags.intervalMs ?? 500);
  }
}

// ---- maintenance and freeze windows ---------------------------------------------------------

interface WindowRow extends Json {
  id: string;
  kind: string;
  name: string;
  environments: string[];
  activeUntil: number | null;
  oneTime: Array<{ start: number; end: number }>;
  weekly: Array<{ days: string[]; start: string; durationMinutes: number; timeZone: string }>;
}

const occurrences = (w: WindowRow): string =>
  [...w.oneTime.map((o) => `${when(o.start)} → ${when(o.end)}`), ...w.weekly.map((o) => `${o.days.join(",")} ${o.start} for ${o.durationMinutes} min (${o.timeZone})`)].join("; ");

export async function windowsCommand(backend: Backend, io: Io, flags: { json?: boolean }): Promise<number> {
  const body = expectOk(await backend.get("/windows"), "listing windows");
  if (flags.json) {
    io.out(JSON.stringify(body, null, 2));
    return EXIT.ok;
  }
  const rows = body.windows as WindowRow[];
  if (rows.length === 0) io.out("no maintenance or freeze windows");
  else io.out(table(["WINDOW", "KIND", "ENVIRONMENTS", "NOW", "NAME", "WHEN"], rows.map((w) => [w.id, w.kind, w.environments.join(","), w.activeUntil === null ? "" : `on until ${when(w.activeUntil)}`, w.name, occurrences(w)]), 160));
  for (const u of (body.unreadable as Array<{ id: string; problem: string }> | undefined) ?? []) io.err(`✗ window ${u.id} cannot be read (${u.problem}): plans that touch an environment wait until it is fixed or deleted`);
  return EXIT.ok;
}

export async function setWindowCommand(backend: Backend, io: Io, file: string, flags: { json?: boolean }): Promise<number> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new CliError(`${file}: ${(error as Error).message}`, EXIT.error);
  }
  const body = expectOk(await backend.post("/windows", doc as Json), `${file} was not set`);
  const w = body.window as WindowRow;
  io.out(flags.json ? JSON.stringify(body) : `✓ ${w.kind} window ${w.id} set: ${w.environments.join(", ")} · ${occurrences(w)}${w.activeUntil === null ? "" : ` (on now, until ${when(w.activeUntil)})`}`);
  return EXIT.ok;
}

export async function deleteWindowCommand(backend: Backend, io: Io, id: string, flags: { json?: boolean }): Promise<number> {
  const body = expectOk(await backend.post(`/windows/${encodeURIComponent(id)}/delete`, {}), `deleting window ${id}`);
  io.out(flags.json ? JSON.stringify(body) : `✓ window ${id} deleted: plans waiting on it start within a sweep`);
  return EXIT.ok;
}

// ---- plan templates -------------------------------------------------------------------------

interface TemplateRow extends Json {
  id: string;
  version: number;
  updatedAt: number;
  updatedBy: string;
  description?: string;
  params: Record<string, { type: string; default?: unknown; required?: boolean }>;
}

/** `region, ms=5, note?`: each parameter, with its default or `?` when it may be left out. */
const paramList = (t: TemplateRow): string =>
  Object.entries(t.params)
    .map(([name, p]) => (p.default !== undefined ? `${name}=${JSON.stringify(p.default)}` : p.required === false ? `${name}?` : name))
    .join(", ");

export async function templatesCommand(backend: Backend, io: Io, flags: { json?: boolean }): Promise<number> {
  const body = expectOk(await backend.get("/templates"), "listing templates");
  if (flags.json) {
    io.out(JSON.stringify(body, null, 2));
    return EXIT.ok;
  }
  const rows = body.templates as TemplateRow[];
  if (rows.length === 0) io.out("no plan templates (set-template <id> <template.json> writes one)");
  else io.out(table(["TEMPLATE", "VERSION", "PARAMS", "UPDATED", "BY", "DESCRIPTION"], rows.map((t) => [t.id, String(t.version), paramList(t), when(t.updatedAt), t.updatedBy, t.description ?? ""]), 120));
  for (const u of (body.unreadable as Array<{ id: string; problem: string }> | undefined) ?? []) io.err(`✗ template ${u.id} cannot be read (${u.problem}): plans naming it are invalid until it is set again`);
  return EXIT.ok;
}

export async function setTemplateCommand(backend: Backend, io: Io, id: string, file: string, flags: { json?: boolean }): Promise<number> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new CliError(`${file}: ${(error as Error).message}`, EXIT.error);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new CliError(`${file}: a template is a JSON object ({params, plan})`, EXIT.error);
  const named = (doc as Json).id;
  if (named !== undefined && named !== id) throw new CliError(`${file} names template "${String(named)}", not "${id}": leave its id out or make them agree`, EXIT.error);
  const body = expectOk(await backend.post("/templates", { ...(doc as Json), id }), `${file} was not set as template ${id}`);
  const t = body.template as TemplateRow;
  io.out(flags.json ? JSON.stringify(body) : `✓ template ${t.id} ${body.created === true ? "created" : "set"}: version ${t.version}${Object.keys(t.params).length === 0 ? "" : ` · params ${paramList(t)}`}`);
  return EXIT.ok;
}

export async function deleteTemplateCommand(backend: Backend, io: Io, id: string, flags: { json?: boolean }): Promise<number> {
  const body = expectOk(await backend.post(`/templates/${encodeURIComponent(id)}/delete`, {}), `deleting template ${id}`);
  io.out(flags.json ? JSON.stringify(body) : `✓ template ${id} deleted: new plans naming it are invalid; plans compiled from it go on`);
  return EXIT.ok;
}

// ---- pools ------------------------------------------------------------------------------------

interface PoolRow extends Json {
  id: string;
  slots: number;
  inUse: number;
  waiting: number;
  description: string | null;
}

export async function poolsCommand(backend: Backend, io: Io, flags: { json?: boolean }): Promise<number> {
  const body = expectOk(await backend.get("/pools"), "listing pools");
  if (flags.json) {
    io.out(JSON.stringify(body, null, 2));
    return EXIT.ok;
  }
  const rows = body.pools as PoolRow[];
  if (rows.length === 0) io.out("no pools (a task that names one fails until it exists: set-pool <id> --slots N)");
  else io.out(table(["POOL", "SLOTS", "IN USE", "WAITING", "DESCRIPTION"], rows.map((p) => [p.id, String(p.slots), String(p.inUse), String(p.waiting), p.description ?? ""]), 120));
  for (const id of (body.unreadable as string[] | undefined) ?? []) io.err(`✗ pool ${id} cannot be read: its tasks fail as if it did not exist until it is set again`);
  return EXIT.ok;
}

export async function setPoolCommand(backend: Backend, io: Io, id: string, flags: { slots: number; description?: string; json?: boolean }): Promise<number> {
  const body = expectOk(await backend.post("/pools", { id, slots: flags.slots, description: flags.description ?? null }), `pool ${id} was not set`);
  const p = body.pool as PoolRow;
  io.out(flags.json ? JSON.stringify(body) : `✓ pool ${p.id} set: ${p.slots} slot${p.slots === 1 ? "" : "s"} (attempts over a smaller size finish; no new one starts until it fits)`);
  return EXIT.ok;
}

export async function deletePoolCommand(backend: Backend, io: Io, id: string, flags: { json?: boolean }): Promise<number> {
  const body = expectOk(await backend.post(`/pools/${encodeURIComponent(id)}/delete`, {}), `deleting pool ${id}`);
  io.out(flags.json ? JSON.stringify(body) : `✓ pool ${id} deleted: tasks that name it fail from now on, saying so`);
  return EXIT.ok;
}
