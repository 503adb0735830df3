/**
 * Plan views (summary, tasks, graph, timeline, cost, risks, compliance, events: mostly from the
 * stored report and the task documents) and the operator actions on plans. Every list is bounded
 * and paged with a cursor.
 */
import { GrpcStatus, type Firestore } from "firebase-admin/firestore";
import { grpcCode } from "../clients/grpc-code";
import { TOPICS } from "../config";
import { logs } from "../logs";
import { compilePlan, type PlanReport } from "../planner/compile";
import { parseWith } from "../schema/issues";
import { planCommandSchema, type PlanCommand } from "../schema/messages";
import { PLAN_STATUSES, SYSTEM_PLAN_FIELDS } from "../schema/plan";
import { TASK_STATUSES } from "../schema/task";
import { COLLECTIONS, eventsOf, planRef, taskRef, tasksOf } from "../store/paths";
import { deploymentCompileOptions } from "../runtime/deployment";
import { readPlanReport } from "../store/reports";
import { templateForPlan } from "../store/templates";
import { principalName, type Principal } from "./auth";
import type { ApiContext } from "./context";
import { apiError, badCursor, decodeCursor, documentIdProblem, encodeCursor, invalid, jsonObjectBody, limitFrom, notFound, ok, pick, type ApiRequest, type ApiResponse } from "./http";
import { API_QUERIES, shapedQuery } from "./queries";

export const MAX_PLANS_PAGE = 100;
/** A plan's tasks come in pages of at most this many (the largest plan has 20,000). */
export const MAX_TASKS_PAGE = 5_000;
export const MAX_EVENTS_PAGE = 1_000;

/**
 * What a plan's readers see: its status and why it waits (a lock or a freeze), its runs, and who
 * let it past what; for a template's instance, the template, version and parameters it names
 * (`compiled.template` says which version it was compiled from).
 */
const PLAN_FIELDS = ["name", "description", "status", "errors", "compiled", "createdAt", "startedAt", "finishedAt", "updatedAt", "failedTask", "dryRun", "failurePolicy", "labels", "waitingFor", "resume", "generation", "rollbackError", "freezeOverride", "redriveScope", "runDeadline", "failure", "template", "version", "params"];
const TASK_FIELDS = ["id", "name", "run", "needs", "level", "status", "attempt", "readyAt", "startedAt", "finishedAt", "error"];

const planNotFound = (planId: string): ApiResponse => notFound(`no plan "${planId}"`);

export async function listPlans(db: Firestore, req: ApiRequest): Promise<ApiResponse> {
  const limit = limitFrom(req.query, 50, MAX_PLANS_PAGE);
  const status = req.query.status;
  if (status !== undefined && !PLAN_STATUSES.includes(status as (typeof PLAN_STATUSES)[number])) {
    return invalid("unknown plan status", [{ path: "status", message: `one of ${PLAN_STATUSES.join(", ")}` }]);
  }
  const cursor = decodeCursor(req.query.cursor, 2);
  if (cursor === "bad") return badCursor();
  const base = db.collection(COLLECTIONS.plans);
  let q = status === undefined ? shapedQuery(base, API_QUERIES.recentPlans) : shapedQuery(base, API_QUERIES.plansByStatus, { status });
  if (cursor !== undefined) q = q.startAfter(...cursor);
  const snap = await q.limit(limit).get();
  const last = snap.docs.at(-1);
  return ok({
    plans: snap.docs.map((d) => ({ id: d.id, ...pick(d.data(), PLAN_FIELDS) })),
    nextCursor: snap.size === limit && last !== undefined ? encodeCursor([last.get("createdAt") as number, last.id]) : null,
  });
}

/** The plan document's public part, or undefined when there is no such plan. */
async function readPlan(db: Firestore, planId: string): Promise<Record<string, unknown> | undefined> {
  const snap = await planRef(db, planId).get();
  return snap.exists ? { id: snap.id, ...pick(snap.data()!, PLAN_FIELDS) } : undefined;
}

/** `GET /plans/:id`: the plan and its tasks (a page of them: `?limit=`, `?cursor=`). */
export async function planDetail(db: Firestore, planId: string, req: ApiRequest): Promise<ApiResponse> {
  const cursor = decodeCursor(req.query.cursor, 1);
  if (cursor === "bad") return badCursor();
  const limit = limitFrom(req.query, MAX_TASKS_PAGE, MAX_TASKS_PAGE);
  let q = shapedQuery(tasksOf(db, planId), API_QUERIES.tasksById).select(...TASK_FIELDS);
  if (cursor !== undefined) q = q.startAfter(...cursor);
  const [plan, tasks] = await Promise.all([readPlan(db, planId), q.limit(limit).get()]);
  if (plan === undefined) return planNotFound(planId);
  const full = tasks.size === limit;
  return ok({
    plan,
    tasks: tasks.docs.map((d) => d.data()),
    tasksTruncated: full,
    nextCursor: full ? encodeCursor([tasks.docs.at(-1)!.id]) : null,
  });
}

/** `GET /plans/:id/summary`: the compiled summary and how many tasks are in each status (aggregations only). */
export async function planSummary(db: Firestore, planId: string): Promise<ApiResponse> {
  const plan = await readPlan(db, planId);
  if (plan === undefined) return planNotFound(planId);
  const counts = await Promise.all(TASK_STATUSES.map(async (status) => [status, (await shapedQuery(tasksOf(db, planId), API_QUERIES.tasksInStatus, { status }).count().get()).data().count] as const));
  return ok({ plan, taskCounts: Object.fromEntries(counts.filter(([, n]) => n > 0)) });
}

type ReportView = "report" | "graph" | "cost" | "risks" | "compliance";

function reportView(report: PlanReport, view: ReportView): unknown {
  switch (view) {
    case "report":
      return { report };
    case "graph":
      return { nodes: report.graph.nodes, edges: report.graph.edges.map(([from, to]) => ({ from, to })), levels: report.graph.levels, criticalPath: report.criticalPath, milestones: report.milestones };
    case "cost":
      return { cost: report.cost };
    case "risks":
      return { risks: report.risks, recommendations: report.recommendations };
    case "compliance":
      return { outcome: report.outcome, outcomeReasons: report.outcomeReasons, compliance: report.compliance };
  }
}

export const REPORT_VIEWS: ReadonlySet<string> = new Set<ReportView>(["report", "graph", "cost", "risks", "compliance"]);

/** Views computed by the planner, stored once when the plan was compiled. */
export async function planReportView(db: Firestore, planId: string, view: string): Promise<ApiResponse> {
  const [exists, report] = await Promise.all([planRef(db, planId).get(), readPlanReport(db, planId)]);
  if (!exists.exists) return planNotFound(planId);
  if (report === undefined) return apiError(404, "report_not_found", `plan "${planId}" has no compiled report (yet, or it was invalid)`);
  return ok(reportView(report, view as ReportView));
}

/** `GET /plans/:id/timeline`: the planned Gantt rows (seconds from start) beside what actually happened. */
export async function planTimeline(db: Firestore, planId: string): Promise<ApiResponse> {
  const [plan, report, tasks] = await Promise.all([
    readPlan(db, planId),
    readPlanReport(db, planId),
    shapedQuery(tasksOf(db, planId), API_QUERIES.tasksById).select("status", "startedAt", "finishedAt").limit(MAX_TASKS_PAGE).get(),
  ]);
  if (plan === undefined) return planNotFound(planId);
  if (report === undefined) return apiError(404, "report_not_found", `plan "${planId}" has no compiled report (yet, or it was invalid)`);
  const actual = new Map(tasks.docs.map((d) => [d.id, d.data()]));
  const origin = typeof plan.startedAt === "number" ? plan.startedAt : null;
  const at = (ms: unknown): number | null => (origin !== null && typeof ms === "number" ? (ms - origin) / 1000 : null);
  return ok({
    startedAt: origin,
    totalDurationSeconds: report.totalDurationSeconds,
    milestones: report.milestones,
    rows: report.timeline.map((row) => {
      const task = actual.get(row.id);
      return { ...row, status: task?.status ?? null, actualStartSeconds: at(task?.startedAt), actualFinishSeconds: at(task?.finishedAt) };
    }),
    truncated: tasks.size === MAX_TASKS_PAGE,
  });
}

/** `GET /plans/:id/events`: oldest first from `?cursor=`, or the latest `?limit=` with `?order=latest`. */
export async function planEvents(db: Firestore, planId: string, req: ApiRequest): Promise<ApiResponse> {
  const limit = limitFrom(req.query, 200, MAX_EVENTS_PAGE);
  const latest = req.query.order === "latest";
  const cursor = decodeCursor(req.query.cursor, 2);
  if (cursor === "bad") return badCursor();
  let q = shapedQuery(eventsOf(db, planId), latest ? API_QUERIES.latestEvents : API_QUERIES.eventsByTime);
  if (cursor !== undefined) q = q.startAfter(...cursor);
  const [plan, snap] = await Promise.all([planRef(db, planId).get(), q.limit(limit).get()]);
  if (!plan.exists) return planNotFound(planId);
  const last = snap.docs.at(-1);
  return ok({
    events: snap.docs.map((d) => ({ id: d.id, ...d.data() })),
    nextCursor: snap.size === limit && last !== undefined ? encodeCursor([last.get("at") as number, last.id]) : null,
  });
}

/**
 * `POST /plans`: validated exactly as the plan trigger will (compilePlan); 400 with every field
 * error and nothing written, or the plan document (with `createdBy`) plus a `plan.submitted` event
 * saying who, in one batch of `create()`s: neither can overwrite an existing document.
 * `?validateOnly=true` stops after validation. A template's instance is compiled from the
 * template's current version and written pinned to it (`version`), so the plan that runs is the
 * plan that was validated even when the template is written again before the trigger compiles it.
 */
export async function createPlan(ctx: ApiContext, principal: Principal, req: ApiRequest): Promise<ApiResponse> {
  const body = jsonObjectBody(req);
  if (!body.ok) return body.response;
  const spec = body.value;
  const system = SYSTEM_PLAN_FIELDS.filter((f) => f in spec).map((f) => ({ path: f, message: "set by the orchestrator; leave it out" }));
  if (system.length > 0) return invalid("the plan sets fields the orchestrator owns", system);
  // Compiled as the plan trigger will compile it: with the deployment's policy and secret bindings, and the template it names.
  const [deployment, template] = await Promise.all([deploymentCompileOptions(ctx.db), templateForPlan(ctx.db, spec)]);
  const compiled = !deployment.ok ? deployment : !template.ok ? template : compilePlan(spec, { ...deployment.options, template: template.template });
  if (!compiled.ok) return invalid("the plan is not valid; nothing was written", compiled.errors);
  const { summary } = compiled.plan;
  if (req.query.validateOnly === "true") return ok({ valid: true, summary });

  const planId = ctx.newId();
  const now = ctx.now();
  const by = principalName(principal);
  const batch = ctx.db.batch();
  // createdBy: who wrote the plan, from the verified token (a gate's self-approval check reads it;
  // engine/task.ts creatorOf). Only a verified email is recorded as the creator's.
  const pin = summary.template === null || spec.version !== undefined ? {} : { version: summary.template.version };
  batch.create(planRef(ctx.db, planId), { ...spec, ...pin, createdAt: now, createdBy: { uid: principal.uid, email: principal.emailVerified ? principal.email : null } });
  batch.create(eventsOf(ctx.db, planId).doc("plan.submitted"), {
    at: now,
    type: "plan.submitted",
    actor: by,
    message: `submitted by ${by} through the API: ${summary.taskCount} tasks${summary.template === null ? "" : ` from template ${summary.template.id}, version ${summary.template.version}`}`,
  });
  await batch.commit();
  return { status: 201, body: { id: planId, status: "pending", summary }, headers: { Location: `/api/plans/${encodeURIComponent(planId)}` } };
}

/** Audit records of commands the API accepted: `plans/{planId}/events/api.{commandId}`. */
export const COMMAND_AUDIT_PREFIX = "api.";

/**
 * `POST /plans/:id/commands`: approve, reject, cancel, retry or rollback, attributed to the
 * caller (`by` comes from the verified token, never from the body) and handed to the engine on
 * the plan-commands topic with the caller's ID token as `credential`, so the command function
 * verifies who sent it instead of trusting `by` (it requires that for approve/reject). 202: the
 * engine applies it and records it in the plan's events.
 *
 * Before publishing, the request is recorded with `create()` as `events/api.{commandId}`
 * (`command.requested`): the audit record is never overwritten, and a second request with the same
 * commandId is a 409 with nothing published. A command whose publish fails stays recorded as
 * requested (it was); the caller sends it again with a new commandId.
 */
export async function sendPlanCommand(ctx: ApiContext, principal: Principal, planId: string, req: ApiRequest): Promise<ApiResponse> {
  const body = jsonObjectBody(req);
  if (!body.ok) return body.response;
  const { value } = body;
  if ("by" in value) return invalid("`by` is set from your sign-in", [{ path: "by", message: "leave it out: the API attributes the command to the signed-in caller" }]);
  if ("credential" in value) return invalid("`credential` is set from your sign-in", [{ path: "credential", message: "leave it out: the API forwards the ID token of your Authorization header" }]);
  if ("planId" in value && value.planId !== planId) return invalid("the body names another plan", [{ path: "planId", message: `leave it out or set it to "${planId}"` }]);
  const by = principalName(principal);
  const parsed = parseWith(planCommandSchema, { ...value, planId, by, commandId: value.commandId ?? ctx.newId() });
  if (!parsed.ok) return invalid("the command is not valid; nothing was sent", parsed.errors);
  const command = parsed.value as PlanCommand & { commandId: string };
  const auditId = `${COMMAND_AUDIT_PREFIX}${command.commandId}`;
  const idProblem = documentIdProblem(auditId);
  if (idProblem !== undefined) return invalid("the commandId cannot name the command's audit record; nothing was sent", [{ path: "commandId", message: `"${COMMAND_AUDIT_PREFIX}" + commandId ${idProblem}; use letters, digits, '-', '_' or '.' (a UUID is best)` }]);
  const message: PlanCommand = { ...command, credential: principal.idToken };
  if (!planCommandSchema.safeParse(message).success) return invalid("your ID token is too long to forward with the command; nothing was sent", [{ path: "credential", message: "sign in again; a token over 8,192 characters cannot be sent" }]);

  const [plan, task] = await Promise.all([planRef(ctx.db, planId).get(), command.taskId === undefined ? undefined : taskRef(ctx.db, planId, command.taskId).get()]);
  if (!plan.exists) return planNotFound(planId);
  if (task !== undefined && !task.exists) return notFound(`plan "${planId}" has no task "${command.taskId}"`);

  const now = ctx.now();
  const reason = command.reason === undefined || command.reason === "" ? "" : `: ${command.reason}`;
  try {
    await eventsOf(ctx.db, planId).doc(auditId).create({
      at: now,
      type: "command.requested",
      actor: by,
      actorUid: principal.uid,
      command: command.command,
      ...(command.taskId === undefined ? {} : { taskId: command.taskId }),
      message: `${command.command}${command.taskId === undefined ? "" : ` of ${command.taskId}`} requested by ${by} through the API${reason}`,
    });
  } catch (error) {
    if (grpcCode(error) !== GrpcStatus.ALREADY_EXISTS) throw error;
    return apiError(409, "already_exists", `plan "${planId}" already has a command with commandId "${command.commandId}" (events/${auditId}); nothing was sent again. Send a new command with a new commandId`);
  }
  try {
    await ctx.publish(TOPICS.planCommands, [message]);
  } catch (error) {
    logs.unexpected(`api: publishing command ${command.commandId} of plan ${planId}`, error);
    return apiError(503, "unavailable", `the ${command.command} command was recorded (events/${auditId}) but could not be handed to the engine; send it again with a new commandId`);
  }
  // The credential went to the engine only: it is never part of a response.
  return ok({ accepted: command }, 202);
}
