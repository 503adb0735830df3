/**
 * The `api` function's routes, served under `/api/**` through the Hosting rewrite. Read-only views
 * for the status page; every list is bounded.
 */
import type { Firestore } from "firebase-admin/firestore";
import { eventsOf, planRef, tasksOf } from "../store/paths";
import { COLLECTIONS } from "../store/paths";
import { readPlanReport } from "../store/reports";

export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
}

export interface ApiResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const MAX_LIST = 100;
const MAX_TASKS = 5_000;

const PLAN_FIELDS = ["name", "description", "status", "errors", "compiled", "createdAt", "startedAt", "finishedAt", "updatedAt", "failedTask"];
const TASK_FIELDS = ["id", "name", "run", "needs", "level", "status", "attempt", "readyAt", "startedAt", "finishedAt", "error"];

function error(status: number, code: string, message: string): ApiResponse {
  return { status, body: { error: { code, message } } };
}

function limitFrom(query: Record<string, unknown>, fallback: number, max: number): number {
  const value = Number(query.limit);
  return Number.isInteger(value) && value > 0 ? Math.min(value, max) : fallback;
}

function pick(data: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (data[f] !== undefined) out[f] = data[f];
  return out;
}

export async function routeApiRequest(db: Firestore, req: ApiRequest): Promise<ApiResponse> {
  if (req.method !== "GET") return error(405, "method_not_allowed", `${req.method} is not supported here`);
  const segments = req.path.replace(/^\/api(?=\/|$)/, "").split("/").filter(Boolean).map(decodeURIComponent);

  if (segments.length === 1 && segments[0] === "health") return { status: 200, body: { ok: true } };

  if (segments[0] !== COLLECTIONS.plans) return error(404, "not_found", `no route for ${req.path}`);

  if (segments.length === 1) {
    const limit = limitFrom(req.query, 50, MAX_LIST);
    const snap = await db.collection(COLLECTIONS.plans).orderBy("createdAt", "desc").limit(limit).get();
    return { status: 200, body: { plans: snap.docs.map((d) => ({ id: d.id, ...pick(d.data(), PLAN_FIELDS) })) } };
  }

  const planId = segments[1]!;
  if (segments.length === 2) {
    const plan = await planRef(db, planId).get();
    if (!plan.exists) return error(404, "plan_not_found", `no plan "${planId}"`);
    const tasks = await tasksOf(db, planId).select(...TASK_FIELDS).limit(MAX_TASKS).get();
    return {
      status: 200,
      body: {
        plan: { id: plan.id, ...pick(plan.data()!, PLAN_FIELDS) },
        tasks: tasks.docs.map((d) => d.data()),
        tasksTruncated: tasks.size === MAX_TASKS,
      },
    };
  }

  if (segments.length === 3 && segments[2] === "events") {
    const limit = limitFrom(req.query, 200, 1_000);
    const snap = await eventsOf(db, planId).orderBy("at").limit(limit).get();
    return { status: 200, body: { events: snap.docs.map((d) => ({ id: d.id, ...d.data() })) } };
  }

  if (segments.length === 3 && segments[2] === "report") {
    const report = await readPlanReport(db, planId);
    return report === undefined ? error(404, "report_not_found", `plan "${planId}" has no compiled report (yet)`) : { status: 200, body: { report } };
  }

  return error(404, "not_found", `no route for ${req.path}`);
}
