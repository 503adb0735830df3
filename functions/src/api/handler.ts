/**
 * The `api` function's routes, served under `/api/**` through the Hosting rewrite. A pure function
 * of (context, request): the trigger adapts Express to it, unit tests call it with fakes.
 *
 *   public        GET  /config, /ping
 *   public*       GET  /overview, /environments, /health      (*ORCHESTRATOR_PUBLIC_STATUS, default on)
 *   viewer        GET  /environments/:id, /goals, /alerts, /reports, /reports/:id,
 *                      /plans, /plans/:id, /plans/:id/{summary,graph,timeline,cost,risks,compliance,report,events}
 *   operator      POST /plans, /plans/:id/commands, /health/run
 *
 * Live updates: every GET answers with an ETag and `If-None-Match` gets an empty 304, so the page
 * polls cheaply; signed-in pages also listen to Firestore directly under the security rules.
 */
import { identifyCaller, requireRole, type Caller } from "./auth";
import type { ApiContext } from "./context";
import { apiError, ok, withEtag, type ApiRequest, type ApiResponse } from "./http";
import { createPlan, listPlans, planDetail, planEvents, planReportView, planSummary, planTimeline, REPORT_VIEWS, sendPlanCommand } from "./plans";
import { environmentDetail, listAlerts, listEnvironments, listGoals, listReports, overview, reportDetail, requestHealthRun } from "./status";

export type { ApiRequest, ApiResponse } from "./http";
export type { ApiContext } from "./context";

const methodNotAllowed = (req: ApiRequest, allowed: string): ApiResponse => ({ ...apiError(405, "method_not_allowed", `${req.method} ${req.path}: use ${allowed}`), headers: { Allow: allowed } });

function segmentsOf(path: string): string[] | undefined {
  try {
    return path.replace(/^\/api(?=\/|$)/, "").split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

export async function routeApiRequest(ctx: ApiContext, req: ApiRequest): Promise<ApiResponse> {
  return withEtag(req, await route(ctx, req));
}

async function route(ctx: ApiContext, req: ApiRequest): Promise<ApiResponse> {
  const segments = segmentsOf(req.path);
  if (segments === undefined) return apiError(400, "invalid_argument", `malformed path ${req.path}`);
  const [first, id, view, ...rest] = segments;
  const caller = await identifyCaller(req, ctx.verifyIdToken);
  const isGet = req.method === "GET" || req.method === "HEAD";
  const get = async (handler: () => Promise<ApiResponse> | ApiResponse): Promise<ApiResponse> => (isGet ? handler() : methodNotAllowed(req, "GET"));
  const viewer = async (handler: (signedIn: true) => Promise<ApiResponse>): Promise<ApiResponse> => {
    const allowed = requireRole(caller, "viewer");
    return allowed.ok ? handler(true) : allowed.response;
  };
  /** Public when the deployment allows it; an invalid token is still refused rather than ignored. */
  const publicOrViewer = async (handler: (signedIn: boolean) => Promise<ApiResponse>): Promise<ApiResponse> => {
    if (caller.kind === "rejected") return caller.response;
    if (ctx.publicStatus && !isViewer(caller)) return handler(false);
    return viewer(handler);
  };
  const operator = async (handler: (p: Extract<ReturnType<typeof requireRole>, { ok: true }>["principal"]) => Promise<ApiResponse>): Promise<ApiResponse> => {
    if (req.method !== "POST") return methodNotAllowed(req, "POST");
    const allowed = requireRole(caller, "operator");
    return allowed.ok ? handler(allowed.principal) : allowed.response;
  };
  if (rest.length > 0) return apiError(404, "not_found", `no route for ${req.path}`);

  switch (first) {
    case "ping":
      return id === undefined ? get(() => ok({ ok: true })) : apiError(404, "not_found", `no route for ${req.path}`);
    case "config":
      if (id !== undefined) break;
      return get(() => ok({ firebase: { projectId: ctx.web.projectId, apiKey: ctx.web.apiKey, authDomain: ctx.web.authDomain }, emulators: ctx.web.emulators, publicStatus: ctx.publicStatus }));
    case "overview":
      if (id !== undefined) break;
      return get(() => publicOrViewer((signedIn) => overview(ctx, signedIn)));
    case "health":
      if (id === undefined) return get(() => publicOrViewer((signedIn) => listEnvironments(ctx, { ...req, query: { days: "1" } }, signedIn)));
      if (id === "run" && view === undefined) return operator((p) => requestHealthRun(ctx, p, req));
      break;
    case "environments":
      if (id === undefined) return get(() => publicOrViewer((signedIn) => listEnvironments(ctx, req, signedIn)));
      if (view === undefined) return get(() => viewer(() => environmentDetail(ctx, id)));
      break;
    case "goals":
      if (id !== undefined) break;
      return get(() => viewer(() => listGoals(ctx)));
    case "alerts":
      if (id !== undefined) break;
      return get(() => viewer(() => listAlerts(ctx, req)));
    case "reports":
      if (id === undefined) return get(() => viewer(() => listReports(ctx, req)));
      if (view === undefined) return get(() => viewer(() => reportDetail(ctx, id)));
      break;
    case "plans":
      if (id === undefined) return req.method === "POST" ? operator((p) => createPlan(ctx, p, req)) : get(() => viewer(() => listPlans(ctx.db, req)));
      if (view === undefined) return get(() => viewer(() => planDetail(ctx.db, id, req)));
      if (view === "commands") return operator((p) => sendPlanCommand(ctx, p, id, req));
      if (view === "summary") return get(() => viewer(() => planSummary(ctx.db, id)));
      if (view === "timeline") return get(() => viewer(() => planTimeline(ctx.db, id)));
      if (view === "events") return get(() => viewer(() => planEvents(ctx.db, id, req)));
      if (REPORT_VIEWS.has(view)) return get(() => viewer(() => planReportView(ctx.db, id, view)));
      break;
  }
  return apiError(404, "not_found", `no route for ${req.method} ${req.path}`);
}

function isViewer(caller: Caller): boolean {
  return caller.kind === "signed-in" && caller.principal.role !== null;
}
