/**
 * Status views from what the health runs write (schema/health.ts): environments with their current
 * health and daily uptime, goal progress, alerts, reports, and the overview the page opens with.
 * The public part (environment health, uptime, open incidents) can be served without signing in.
 */
import { FieldPath, type DocumentSnapshot, type Firestore } from "firebase-admin/firestore";
import { TOPICS } from "../config";
import { parseWith } from "../schema/issues";
import { alertSchema, environmentHealthSchema, healthReportSchema, healthRunRequestSchema, uptimeDaySchema, type Alert, type EnvironmentHealth, type GoalProgress, type UptimeDay } from "../schema/health";
import { ENVIRONMENTS_COLLECTION } from "../store/environments";
import { HEALTH_COLLECTIONS } from "../store/health";
import { principalName, type Principal } from "./auth";
import type { ApiContext } from "./context";
import { badCursor, decodeCursor, encodeCursor, invalid, jsonObjectBody, limitFrom, notFound, ok, type ApiRequest, type ApiResponse } from "./http";
import { API_QUERIES, shapedQuery } from "./queries";
import { incidentHistory, INCIDENT_HISTORY_DAYS, overallStatus, type Incident } from "../health/incidents";

export const UPTIME_DAYS = 90;
export const MAX_ENVIRONMENTS = 200;
export const MAX_ALERTS_PAGE = 200;
export const MAX_REPORTS_PAGE = 50;

const ENVIRONMENTS = ENVIRONMENTS_COLLECTION;
const ALERTS = HEALTH_COLLECTIONS.alerts;
const REPORTS = HEALTH_COLLECTIONS.reports;

/** The last `days` UTC dates ending today, oldest first, as `YYYY-MM-DD`. */
export function utcDates(now: number, days: number): string[] {
  const today = Math.floor(now / 86_400_000);
  return Array.from({ length: days }, (_, i) => new Date((today - (days - 1 - i)) * 86_400_000).toISOString().slice(0, 10));
}

export interface UptimeBar {
  date: string;
  uptimePercent: number | null;
  downMinutes: number;
}

export interface EnvironmentView {
  id: string;
  /** The environment's name in its plan (`production`); the project id when no plan names it. */
  name: string;
  /** Its tier (promotion order: development, staging, production), or null when no plan names it. */
  tier: "development" | "staging" | "production" | null;
  status: EnvironmentHealth["status"] | "unknown";
  availability: EnvironmentHealth["availability"];
  checkedAt: number | null;
  configError: string | null;
  integrations: Array<{ integration: string; status: string; latencyMs: number; message: string | null }>;
  /** One bar per day, oldest first; null where nothing was observed. */
  uptime: UptimeBar[];
  /** Up minutes over observed minutes across the bars (null when nothing was observed). */
  uptimePercent: number | null;
  goals: GoalProgress[];
}

function parsed<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, value: unknown): T | null {
  const r = schema.safeParse(value);
  return r.success ? r.data : null;
}

/** Reads one environment document leniently: a document the health run has not reached yet still shows. */
export function environmentView(snap: DocumentSnapshot, dates: readonly string[]): EnvironmentView {
  const data = snap.data() ?? {};
  const health = parsed(environmentHealthSchema, data.health);
  const days = (typeof data.uptimeDays === "object" && data.uptimeDays !== null ? data.uptimeDays : {}) as Record<string, unknown>;
  let up = 0;
  let down = 0;
  const uptime = dates.map((date): UptimeBar => {
    const day: UptimeDay | null = parsed(uptimeDaySchema, days[date]);
    if (day === null) return { date, uptimePercent: null, downMinutes: 0 };
    up += day.upMinutes;
    down += day.downMinutes;
    return { date, uptimePercent: day.uptimePercent, downMinutes: day.downMinutes };
  });
  const name = [health?.environment?.name, data.name, data.environment, health?.goals[0]?.environment].find((v): v is string => typeof v === "string" && v !== "") ?? snap.id;
  return {
    id: snap.id,
    name,
    tier: health?.environment?.tier ?? null,
    status: health?.status ?? "unknown",
    availability: health?.availability ?? "unknown",
    checkedAt: health?.checkedAt ?? null,
    configError: health?.configError ?? null,
    integrations: Object.values(health?.integrations ?? {}).sort((a, b) => a.integration.localeCompare(b.integration)),
    uptime,
    uptimePercent: up + down > 0 ? Math.round((10_000 * up) / (up + down)) / 100 : null,
    goals: health?.goals ?? [],
  };
}

/** Every environment (bounded), reading only the fields the page shows: the last 90 daily rollups, not all 400. */
export async function readEnvironments(db: Firestore, now: number, days = UPTIME_DAYS): Promise<EnvironmentView[]> {
  const dates = utcDates(now, days);
  const fields = ["name", "environment", "health", ...dates.map((d) => new FieldPath("uptimeDays", d))];
  const snap = await shapedQuery(db.collection(ENVIRONMENTS), API_QUERIES.environmentsById).select(...(fields as Array<string | FieldPath>)).limit(MAX_ENVIRONMENTS).get();
  return inPromotionOrder(snap.docs.map((d) => environmentView(d, dates)));
}

const TIER_RANK = { development: 0, staging: 1, production: 2 } as const;

/** Environments as they are promoted: development, staging, production (unplanned ones last), then by name and project id. */
export function inPromotionOrder<T extends Pick<EnvironmentView, "id" | "name" | "tier">>(views: readonly T[]): T[] {
  const rank = (v: T): number => (v.tier === null ? 3 : TIER_RANK[v.tier]);
  return [...views].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name, undefined, { numeric: true }) || a.id.localeCompare(b.id));
}

/** An alert as the public sees it: what, where, how bad, since when (no internal detail). */
export const publicAlert = (a: Alert) => ({ id: a.id, title: a.title, severity: a.severity, status: a.status, environmentId: a.environmentId, integration: a.integration, firstSeen: a.firstSeen, lastSeen: a.lastSeen });

/** Resolved incidents read per request: the newest, then those older than the history are dropped. */
export const MAX_RESOLVED_INCIDENTS = 200;
const PUBLIC_INCIDENT_KINDS: ReadonlySet<Alert["kind"]> = new Set(["check", "goal"]);

/** Open incidents and those resolved in the history; the public sees availability ones, without their messages. */
export async function readIncidents(ctx: ApiContext, signedIn: boolean): Promise<Incident[]> {
  const [open, resolved] = await Promise.all([readAlerts(ctx.db, "open", 100), readAlerts(ctx.db, "resolved", MAX_RESOLVED_INCIDENTS)]);
  const alerts = [...open.alerts, ...resolved.alerts].filter((a) => signedIn || PUBLIC_INCIDENT_KINDS.has(a.kind));
  const incidents = incidentHistory(alerts, ctx.now(), INCIDENT_HISTORY_DAYS);
  return signedIn ? incidents : incidents.map((i) => ({ ...i, message: "" }));
}

export async function readAlerts(db: Firestore, status: Alert["status"], limit: number, cursor?: Array<string | number>): Promise<{ alerts: Alert[]; nextCursor: string | null }> {
  let q = shapedQuery(db.collection(ALERTS), API_QUERIES.alertsByStatus, { status });
  if (cursor !== undefined) q = q.startAfter(...cursor);
  const snap = await q.limit(limit).get();
  const alerts = snap.docs.map((d) => parsed(alertSchema, { id: d.id, ...d.data() })).filter((a): a is Alert => a !== null);
  const last = snap.docs.at(-1);
  return { alerts, nextCursor: snap.size === limit && last !== undefined ? encodeCursor([last.get("lastSeen") as number, last.id]) : null };
}

const REPORT_SUMMARY_FIELDS = ["runId", "trigger", "requestedBy", "startedAt", "finishedAt", "durationMs", "deadlineHit", "summary", "alertsOpened", "alertsResolved", "anomalies"];

async function latestReports(db: Firestore, limit: number, cursor?: Array<string | number>): Promise<{ reports: Array<Record<string, unknown>>; nextCursor: string | null }> {
  let q = shapedQuery(db.collection(REPORTS), API_QUERIES.recentReports).select(...REPORT_SUMMARY_FIELDS);
  if (cursor !== undefined) q = q.startAfter(...cursor);
  const snap = await q.limit(limit).get();
  const last = snap.docs.at(-1);
  return { reports: snap.docs.map((d) => ({ id: d.id, ...d.data() })), nextCursor: snap.size === limit && last !== undefined ? encodeCursor([last.get("startedAt") as number, last.id]) : null };
}

/**
 * `GET /overview`: what the page opens with. The public (when allowed) sees the overall status,
 * environment health, uptime and incidents (open, and resolved in the last 90 days); viewers also
 * see goal progress, alert detail and the last report.
 */
export async function overview(ctx: ApiContext, signedIn: boolean): Promise<ApiResponse> {
  const [environments, open, reports, incidents] = await Promise.all([
    readEnvironments(ctx.db, ctx.now()),
    readAlerts(ctx.db, "open", 50),
    signedIn ? latestReports(ctx.db, 1) : Promise.resolve({ reports: [] }),
    readIncidents(ctx, signedIn),
  ]);
  const status = overallStatus(environments, incidents.filter((i) => i.status === "open").length);
  if (!signedIn) {
    return ok({ scope: "public", status, environments: environments.map(({ goals: _goals, configError: _configError, ...env }) => env), alerts: open.alerts.map(publicAlert), incidents });
  }
  return ok({
    scope: "viewer",
    status,
    incidents,
    environments,
    goals: environments.flatMap((e) => e.goals),
    alerts: open.alerts,
    moreAlerts: open.nextCursor !== null,
    lastReport: reports.reports[0] ?? null,
  });
}

export async function listEnvironments(ctx: ApiContext, req: ApiRequest, signedIn: boolean): Promise<ApiResponse> {
  const days = limitFrom({ limit: req.query.days }, UPTIME_DAYS, 400);
  const environments = await readEnvironments(ctx.db, ctx.now(), days);
  return ok({ environments: signedIn ? environments : environments.map(({ goals: _g, configError: _c, ...env }) => env) });
}

/** `GET /environments/:id`: the whole document (desired and observed state per integration too). */
export async function environmentDetail(ctx: ApiContext, envId: string): Promise<ApiResponse> {
  const snap = await ctx.db.collection(ENVIRONMENTS).doc(envId).get();
  if (!snap.exists) return notFound(`no environment "${envId}"`);
  const { uptimeDays: _days, ...rest } = snap.data()!;
  return ok({ environment: environmentView(snap, utcDates(ctx.now(), UPTIME_DAYS)), integrations: rest.integrations ?? {}, updatedAt: rest.updatedAt ?? null });
}

export async function listGoals(ctx: ApiContext): Promise<ApiResponse> {
  const environments = await readEnvironments(ctx.db, ctx.now(), 1);
  return ok({ goals: environments.flatMap((e) => e.goals) });
}

export async function listAlerts(ctx: ApiContext, req: ApiRequest): Promise<ApiResponse> {
  const status = req.query.status ?? "open";
  if (status !== "open" && status !== "resolved") return invalid("unknown alert status", [{ path: "status", message: "open or resolved" }]);
  const cursor = decodeCursor(req.query.cursor, 2);
  if (cursor === "bad") return badCursor();
  return ok(await readAlerts(ctx.db, status, limitFrom(req.query, 50, MAX_ALERTS_PAGE), cursor));
}

export async function listReports(ctx: ApiContext, req: ApiRequest): Promise<ApiResponse> {
  const cursor = decodeCursor(req.query.cursor, 2);
  if (cursor === "bad") return badCursor();
  return ok(await latestReports(ctx.db, limitFrom(req.query, 20, MAX_REPORTS_PAGE), cursor));
}

export async function reportDetail(ctx: ApiContext, reportId: string): Promise<ApiResponse> {
  const snap = await ctx.db.collection(REPORTS).doc(reportId).get();
  if (!snap.exists) return notFound(`no report "${reportId}"`);
  const report = parsed(healthReportSchema, snap.data());
  return ok({ report: report ?? { runId: snap.id, ...snap.data() } });
}

/** `POST /health/run`: asks for a health run now, attributed to the caller. */
export async function requestHealthRun(ctx: ApiContext, principal: Principal, req: ApiRequest): Promise<ApiResponse> {
  const body = req.body === undefined || req.body === "" ? { ok: true as const, value: {} } : jsonObjectBody(req);
  if (!body.ok) return body.response;
  if ("requestedBy" in body.value) return invalid("`requestedBy` is set from your sign-in", [{ path: "requestedBy", message: "leave it out" }]);
  const request = parseWith(healthRunRequestSchema, { ...body.value, requestedBy: principalName(principal) });
  if (!request.ok) return invalid("the health-run request is not valid; nothing was sent", request.errors);
  await ctx.publish(TOPICS.healthRuns, [request.value]);
  return ok({ accepted: request.value }, 202);
}
