/**
 * Incidents for people and for other tools: `GET /incidents` (the overall status line and the
 * incident history: open ones and those resolved in the last 90 days), `GET /incidents.atom` (the
 * same as an Atom feed) and `GET /environments/:id/badge.svg` (30-day uptime). Public while the
 * deployment's status is public; the public sees availability incidents without their messages
 * (as `GET /overview` shows alerts), viewers see every incident whole.
 */
import { incidentsAtom, uptimeBadge } from "../health/feeds";
import { INCIDENT_HISTORY_DAYS, overallStatus } from "../health/incidents";
import { ENVIRONMENTS_COLLECTION } from "../store/environments";
import type { ApiContext } from "./context";
import type { ApiRequest, ApiResponse } from "./http";
import { environmentView, readEnvironments, readIncidents, utcDates } from "./status";
import { notFound, ok } from "./http";

/** The badge's window: a goal's rolling month. */
export const BADGE_DAYS = 30;

/** `GET /incidents` */
export async function listIncidents(ctx: ApiContext, signedIn: boolean): Promise<ApiResponse> {
  const [environments, incidents] = await Promise.all([readEnvironments(ctx.db, ctx.now(), 1), readIncidents(ctx, signedIn)]);
  return ok({ status: overallStatus(environments, incidents.filter((i) => i.status === "open").length), historyDays: INCIDENT_HISTORY_DAYS, incidents });
}

/** Where the caller reached the API (behind Hosting: its domain), for the feed's own links. */
function origin(req: ApiRequest): string {
  const host = req.headers?.["x-forwarded-host"] ?? req.headers?.host ?? "localhost";
  const local = /^(localhost|127\.|\[::1\])/.test(host);
  const proto = req.headers?.["x-forwarded-proto"]?.split(",")[0]?.trim() ?? (local ? "http" : "https");
  return `${proto}://${host}`;
}

/** `GET /incidents.atom` */
export async function incidentsFeed(ctx: ApiContext, req: ApiRequest, signedIn: boolean): Promise<ApiResponse> {
  const [environments, incidents] = await Promise.all([readEnvironments(ctx.db, ctx.now(), 1), readIncidents(ctx, signedIn)]);
  const status = overallStatus(environments, incidents.filter((i) => i.status === "open").length);
  const base = origin(req);
  const body = incidentsAtom(incidents, { selfUrl: `${base}/api/incidents.atom`, pageUrl: `${base}/`, title: `Status: ${status.text}`, now: ctx.now() });
  return { status: 200, body, headers: { "Content-Type": "application/atom+xml; charset=utf-8" } };
}

/** `GET /environments/:id/badge.svg` */
export async function environmentBadge(ctx: ApiContext, envId: string): Promise<ApiResponse> {
  const snap = await ctx.db.collection(ENVIRONMENTS_COLLECTION).doc(envId).get();
  if (!snap.exists) return notFound(`no environment "${envId}"`);
  const view = environmentView(snap, utcDates(ctx.now(), BADGE_DAYS));
  return { status: 200, body: uptimeBadge(view.name, view.uptimePercent), headers: { "Content-Type": "image/svg+xml; charset=utf-8" } };
}
