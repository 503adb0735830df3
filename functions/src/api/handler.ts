/**
 * The `api` function's routes, served under `/api/**` through the Hosting rewrite. A pure function
 * of (context, request): the trigger adapts Express to it, unit tests call it with fakes.
 *
 *   public        GET  /config, /ping
 *   public*       GET  /overview, /environments, /health, /windows, /incidents, /incidents.atom,
 *                      /environments/:id/badge.svg      (*ORCHESTRATOR_PUBLIC_STATUS, default on)
 *   viewer        GET  /environments/:id, /goals, /alerts, /reports, /reports/:id, /schedules,
 *                      /templates, /templates/:id, /pools,
 *                      /plans, /plans/:id, /plans/:id/{summary,graph,timeline,cost,risks,compliance,report,events}
 *   operator      POST /plans, /plans/:id/commands, /health/run, /windows, /windows/:id/delete,
 *                      /schedules, /schedules/:id/{pause,resume,backfill,delete},
 *                      /templates, /templates/:id/delete, /pools, /pools/:id/delete
 *
 * (test/unit/api/route-matrix.test.ts reads this list and checks every route for every kind of
 * caller: keep it in step with ROUTES.)
 *
 * A request is answered in this order, each step before anything is read: a path that is not
 * percent-encoded properly → 400; no route of that shape → 404; a route without that method → 405;
 * an id from the path that is not one Firestore document id (`a%2Ftasks%2Fb`, `..`, `__x__`, over
 * 1,500 bytes) → 400 naming the segment; then the caller (401/403); then the handler.
 *
 * Live updates: every GET answers with an ETag and `If-None-Match` gets an empty 304, so the page
 * polls cheaply; signed-in pages also listen to Firestore directly under the security rules.
 */
import { identifyCaller, requireRole, type Caller, type Principal } from "./auth";
import type { ApiContext } from "./context";
import { apiError, documentIdProblem, invalid, ok, withEtag, type ApiRequest, type ApiResponse } from "./http";
import { createPlan, listPlans, planDetail, planEvents, planReportView, planSummary, planTimeline, REPORT_VIEWS, sendPlanCommand } from "./plans";
import { listWindows, removeWindow, setWindow } from "./windows";
import { environmentBadge, incidentsFeed, listIncidents } from "./incidents";
import { backfill, listSchedules, pauseSchedule, removeSchedule, setSchedule } from "./schedules";
import { getTemplate, listTemplates, removeTemplate, setTemplate } from "./templates";
import { listPools, removePool, setPool } from "./pools";
import { environmentDetail, listAlerts, listEnvironments, listGoals, listReports, overview, reportDetail, requestHealthRun } from "./status";

export type { ApiRequest, ApiResponse } from "./http";
export type { ApiContext } from "./context";

/**
 * Who may call a route. `public`: anyone, tokens are not even looked at (the page must load its
 * config with a stale token). `status`: public while ORCHESTRATOR_PUBLIC_STATUS allows, but a
 * token that is sent must be valid. `viewer`, `operator`: the role claim (operators are viewers).
 */
export type Access = "public" | "status" | "viewer" | "operator";

/** Ids taken from the path, by the name in the route's pattern (`:planId` → `planId`). */
type Params = Record<string, string>;

interface Route {
  method: "GET" | "POST";
  access: Access;
  /** Literal segments, and `:name` for an id from the path (checked as one document id). */
  pattern: readonly string[];
  /** `signedIn`: the caller is a viewer or operator; `principal`: set for operator routes. */
  run(ctx: ApiContext, req: ApiRequest, params: Params, who: { signedIn: boolean; principal: Principal | null }): Promise<ApiResponse> | ApiResponse;
}

const patternOf = (path: string): string[] => path.split("/").filter(Boolean);
const route = (method: Route["method"], access: Access, path: string, run: Route["run"]): Route => ({ method, access, pattern: patternOf(path), run });
/** An operator route: its handler always gets the principal (requireRole ran before it). */
const action = (path: string, run: (ctx: ApiContext, req: ApiRequest, params: Params, principal: Principal) => Promise<ApiResponse>): Route =>
  route("POST", "operator", path, (ctx, req, params, who) => run(ctx, req, params, who.principal!));

const ROUTES: readonly Route[] = [
  route("GET", "public", "/config", (ctx) => ok({ firebase: { projectId: ctx.web.projectId, apiKey: ctx.web.apiKey, authDomain: ctx.web.authDomain }, emulators: ctx.web.emulators, publicStatus: ctx.publicStatus })),
  route("GET", "public", "/ping", () => ok({ ok: true })),
  route("GET", "status", "/overview", (ctx, _req, _p, who) => overview(ctx, who.signedIn)),
  route("GET", "status", "/environments", (ctx, req, _p, who) => listEnvironments(ctx, req, who.signedIn)),
  route("GET", "status", "/health", (ctx, req, _p, who) => listEnvironments(ctx, { ...req, query: { days: "1" } }, who.signedIn)),
  route("GET", "status", "/windows", (ctx, _req, _p, who) => listWindows(ctx, who.signedIn)),
  route("GET", "status", "/incidents", (ctx, _req, _p, who) => listIncidents(ctx, who.signedIn)),
  route("GET", "status", "/incidents.atom", (ctx, req, _p, who) => incidentsFeed(ctx, req, who.signedIn)),
  route("GET", "status", "/environments/:environmentId/badge.svg", (ctx, _req, p) => environmentBadge(ctx, p.environmentId!)),
  route("GET", "viewer", "/environments/:environmentId", (ctx, _req, p) => environmentDetail(ctx, p.environmentId!)),
  route("GET", "viewer", "/goals", (ctx) => listGoals(ctx)),
  route("GET", "viewer", "/alerts", (ctx, req) => listAlerts(ctx, req)),
  route("GET", "viewer", "/reports", (ctx, req) => listReports(ctx, req)),
  route("GET", "viewer", "/reports/:reportId", (ctx, _req, p) => reportDetail(ctx, p.reportId!)),
  route("GET", "viewer", "/plans", (ctx, req) => listPlans(ctx.db, req)),
  route("GET", "viewer", "/plans/:planId", (ctx, req, p) => planDetail(ctx.db, p.planId!, req)),
  route("GET", "viewer", "/plans/:planId/summary", (ctx, _req, p) => planSummary(ctx.db, p.planId!)),
  route("GET", "viewer", "/plans/:planId/timeline", (ctx, _req, p) => planTimeline(ctx.db, p.planId!)),
  route("GET", "viewer", "/plans/:planId/events", (ctx, req, p) => planEvents(ctx.db, p.planId!, req)),
  ...[...REPORT_VIEWS].map((view) => route("GET", "viewer", `/plans/:planId/${view}`, (ctx, _req, p) => planReportView(ctx.db, p.planId!, view))),
  action("/plans", (ctx, req, _p, principal) => createPlan(ctx, principal, req)),
  action("/plans/:planId/commands", (ctx, req, p, principal) => sendPlanCommand(ctx, principal, p.planId!, req)),
  action("/health/run", (ctx, req, _p, principal) => requestHealthRun(ctx, principal, req)),
  action("/windows", (ctx, req, _p, principal) => setWindow(ctx, principal, req)),
  action("/windows/:windowId/delete", async (ctx, _req, p) => removeWindow(ctx, p.windowId!)),
  route("GET", "viewer", "/schedules", (ctx) => listSchedules(ctx)),
  action("/schedules", (ctx, req, _p, principal) => setSchedule(ctx, principal, req)),
  action("/schedules/:scheduleId/pause", (ctx, _req, p, principal) => pauseSchedule(ctx, principal, p.scheduleId!, true)),
  action("/schedules/:scheduleId/resume", (ctx, _req, p, principal) => pauseSchedule(ctx, principal, p.scheduleId!, false)),
  action("/schedules/:scheduleId/backfill", (ctx, req, p) => backfill(ctx, p.scheduleId!, req)),
  action("/schedules/:scheduleId/delete", async (ctx, _req, p) => removeSchedule(ctx, p.scheduleId!)),
  route("GET", "viewer", "/templates", (ctx) => listTemplates(ctx)),
  route("GET", "viewer", "/templates/:templateId", (ctx, req, p) => getTemplate(ctx, p.templateId!, req)),
  action("/templates", (ctx, req, _p, principal) => setTemplate(ctx, principal, req)),
  action("/templates/:templateId/delete", (ctx, _req, p, principal) => removeTemplate(ctx, principal, p.templateId!)),
  route("GET", "viewer", "/pools", (ctx) => listPools(ctx)),
  action("/pools", (ctx, req, _p, principal) => setPool(ctx, principal, req)),
  action("/pools/:poolId/delete", async (ctx, _req, p) => removePool(ctx, p.poolId!)),
];

/** Every route as `METHOD /path` with its access, for tests and documentation. */
export const API_ROUTES: ReadonlyArray<{ method: Route["method"]; path: string; access: Access }> = ROUTES.map((r) => ({ method: r.method, path: `/${r.pattern.join("/")}`, access: r.access }));

/**
 * The decoded segments after `/api`, or undefined when one is not valid percent-encoding. Empty
 * segments are kept (`/plans//summary` has an empty plan id, `//plans` matches no route); only a
 * single trailing slash is forgiven.
 */
function segmentsOf(path: string): string[] | undefined {
  const rest = path.replace(/^\/api(?=\/|$)/, "").replace(/^\//, "").replace(/\/$/, "");
  if (rest === "") return [];
  try {
    return rest.split("/").map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/** The routes of the request's shape: literal segments equal, `:params` anything; the most literal win. */
function routesFor(segments: readonly string[]): Route[] {
  const matching = ROUTES.filter((r) => r.pattern.length === segments.length && r.pattern.every((part, i) => part.startsWith(":") || part === segments[i]));
  const literals = (r: Route): number => r.pattern.filter((part) => !part.startsWith(":")).length;
  const best = Math.max(...matching.map(literals));
  return matching.filter((r) => literals(r) === best);
}

/** Ids and paths are quoted back shortened: a 1,500-byte id in a message helps no one. */
const clip = (value: string, max: number): string => (value.length > max ? `${value.slice(0, max)}…` : value);
const quoted = (value: string): string => JSON.stringify(clip(value, 60));
/** `METHOD /path` for messages. */
const requestLine = (req: ApiRequest): string => `${req.method} ${clip(req.path, 120)}`;

function paramsOf(req: ApiRequest, route: Route, segments: readonly string[]): { ok: true; params: Params } | { ok: false; response: ApiResponse } {
  const params: Params = {};
  for (const [i, part] of route.pattern.entries()) {
    if (!part.startsWith(":")) continue;
    const name = part.slice(1);
    const value = segments[i]!;
    const problem = documentIdProblem(value);
    if (problem !== undefined) {
      return { ok: false, response: invalid(`${requestLine(req)}: the ${name} (path segment ${i + 1}, ${quoted(value)}) is not a valid id; nothing was read`, [{ path: name, message: `${problem}; use the id exactly as listed by the API, percent-encoded once` }]) };
    }
    params[name] = value;
  }
  return { ok: true, params };
}

export async function routeApiRequest(ctx: ApiContext, req: ApiRequest): Promise<ApiResponse> {
  return withEtag(req, await dispatch(ctx, req));
}

async function dispatch(ctx: ApiContext, req: ApiRequest): Promise<ApiResponse> {
  const segments = segmentsOf(req.path);
  if (segments === undefined) return invalid(`malformed path ${clip(req.path, 120)}`, [{ path: "path", message: "a segment is not valid percent-encoding (e.g. a lone or truncated %XX); encode ids with encodeURIComponent" }]);
  const candidates = routesFor(segments);
  if (candidates.length === 0) return apiError(404, "not_found", `no route for ${requestLine(req)}`);
  const isGet = req.method === "GET" || req.method === "HEAD";
  const chosen = candidates.find((r) => (r.method === "GET" ? isGet : r.method === req.method));
  if (chosen === undefined) {
    const allowed = [...new Set(candidates.map((r) => r.method))].join(", ");
    return { ...apiError(405, "method_not_allowed", `${requestLine(req)}: use ${allowed}`), headers: { Allow: allowed } };
  }
  const params = paramsOf(req, chosen, segments);
  if (!params.ok) return params.response;
  if (chosen.access === "public") return chosen.run(ctx, req, params.params, { signedIn: false, principal: null });

  // Actions re-check the session against Firebase Auth (revoked, disabled); reads trust the signature.
  const caller = await identifyCaller(req, ctx.verifyIdToken, { checkRevoked: !isGet });
  if (chosen.access === "status") {
    if (caller.kind === "rejected") return caller.response;
    if (ctx.publicStatus && !isViewer(caller)) return chosen.run(ctx, req, params.params, { signedIn: false, principal: null });
  }
  const allowed = requireRole(caller, chosen.access === "operator" ? "operator" : "viewer");
  if (!allowed.ok) return allowed.response;
  return chosen.run(ctx, req, params.params, { signedIn: true, principal: allowed.principal });
}

function isViewer(caller: Caller): boolean {
  return caller.kind === "signed-in" && caller.principal.role !== null;
}
