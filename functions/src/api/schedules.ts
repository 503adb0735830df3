/**
 * Schedules (`schedules/{id}`, schema/schedule.ts): listed for viewers with their next tick, open
 * runs, recent ticks and their last run's status (the status page shows it); set, paused,
 * resumed, backfilled and deleted by operators. A schedule's plan is compiled as the plan trigger
 * will compile each run (with the deployment's policy and secret bindings), so a schedule the API
 * accepts fires runs that start; its problems come back as 400s located under `plan.`
 * (`plan.tasks.0.run`), or for a template schedule under `template.` (`template.params.region`).
 */
import type { Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import { parseCron } from "../schedules/cron";
import { nextTickOf } from "../schedules/fire";
import { backfillSchedule, deleteSchedule, readSchedules, saveSchedule, scheduleCompileOptions, setSchedulePaused } from "../schedules/store";
import { parseWith } from "../schema/issues";
import { PLAN_STATUSES, type PlanStatus } from "../schema/plan";
import { parseScheduleSpec, scheduleIdSchema, type ScheduleDoc, type ScheduleMeta, type ScheduleSpec, type ScheduleState } from "../schema/schedule";
import { planRef } from "../store/paths";
import { principalName, type Principal } from "./auth";
import type { ApiContext } from "./context";
import { invalid, jsonObjectBody, notFound, ok, type ApiRequest, type ApiResponse } from "./http";

export type ScheduleView = { id: string } & ScheduleSpec &
  ScheduleState &
  ScheduleMeta & {
    /** The next tick that would fire (epoch ms), or null: paused, past `endAt`, or none within ten years. */
    nextTick: number | null;
    /**
     * The run of the latest tick that started one (fired or backfilled), with its plan's status now
     * (`gone`: its plan document was deleted), or null when no tick in `recent` started a run.
     */
    lastRun: LastRun | null;
  };

export interface LastRun {
  planId: string;
  tick: number;
  backfill: boolean;
  status: PlanStatus | "gone";
}

/** The latest tick in `recent` that started a run (by tick: a backfill of old ticks is not the latest). */
function lastStarted(s: ScheduleDoc): { planId: string; tick: number; backfill: boolean } | null {
  let best: { planId: string; tick: number; backfill: boolean } | null = null;
  for (const r of s.state.recent) if (r.outcome === "started" && r.planId !== undefined && (best === null || r.tick >= best.tick)) best = { planId: r.planId, tick: r.tick, backfill: r.backfill === true };
  return best;
}

/** The status of each schedule's last run, in one read (field mask: the status only); a plan not started yet has none: pending. */
async function lastRunsOf(db: Firestore, schedules: readonly ScheduleDoc[]): Promise<Map<string, LastRun>> {
  const runs = new Map<string, LastRun>();
  const started = schedules.flatMap((s) => {
    const run = lastStarted(s);
    return run === null ? [] : [{ scheduleId: s.id, ...run }];
  });
  if (started.length === 0) return runs;
  const snaps = await db.getAll(...started.map((r) => planRef(db, r.planId)), { fieldMask: ["status"] });
  for (const [i, { scheduleId, ...run }] of started.entries()) {
    const snap = snaps[i]!;
    const status = snap.get("status") as unknown;
    runs.set(scheduleId, { ...run, status: !snap.exists ? "gone" : PLAN_STATUSES.includes(status as PlanStatus) ? (status as PlanStatus) : "pending" });
  }
  return runs;
}

export function scheduleView(s: ScheduleDoc, now: number, lastRun: LastRun | null = null): ScheduleView {
  const cron = parseCron(s.spec.cron);
  return { id: s.id, ...s.spec, ...s.state, ...s.meta, nextTick: cron.ok ? nextTickOf(cron.cron, s.spec, now) : null, lastRun };
}

/** The views of `schedules`, each with its last run's status. */
async function scheduleViews(db: Firestore, schedules: readonly ScheduleDoc[], now: number): Promise<ScheduleView[]> {
  const lastRuns = await lastRunsOf(db, schedules);
  return schedules.map((s) => scheduleView(s, now, lastRuns.get(s.id) ?? null));
}

/** `GET /schedules` */
export async function listSchedules(ctx: ApiContext): Promise<ApiResponse> {
  const { schedules, unreadable } = await readSchedules(ctx.db);
  const now = ctx.now();
  return ok({ schedules: await scheduleViews(ctx.db, schedules, now), unreadable });
}

/**
 * `POST /schedules`: `{ id, cron, timeZone?, plan | template: {id, params}, overlap?, paused?, catchupWindowMinutes?, description?, startAt?, endAt? }`
 * creates or replaces schedule `id`; a template's instance is compiled with the template's current version.
 */
export async function setSchedule(ctx: ApiContext, principal: Principal, req: ApiRequest): Promise<ApiResponse> {
  const body = jsonObjectBody(req);
  if (!body.ok) return body.response;
  const { id, ...spec } = body.value;
  const parsedId = parseWith(scheduleIdSchema, id);
  if (!parsedId.ok) return invalid("the schedule needs an id; nothing was written", parsedId.errors.map((e) => ({ ...e, path: ["id", e.path].filter(Boolean).join(".") })));
  const options = await scheduleCompileOptions(ctx.db, spec);
  const parsed = options.ok ? parseScheduleSpec(spec, options.options) : options;
  if (!parsed.ok) return invalid("the schedule is not valid; nothing was written", parsed.errors);
  const author = { uid: principal.uid, email: principal.emailVerified ? principal.email : null, name: principalName(principal) };
  const now = ctx.now();
  const saved = await saveSchedule(ctx.db, parsedId.value, parsed.value, author, now);
  const [schedule] = await scheduleViews(ctx.db, [saved.schedule], now);
  return ok({ created: saved.created, schedule });
}

/** `POST /schedules/:id/pause` and `/resume`: nothing fires while paused; resumed, ticks missed beyond the catch-up window stay missed. */
export async function pauseSchedule(ctx: ApiContext, principal: Principal, scheduleId: string, paused: boolean): Promise<ApiResponse> {
  const now = ctx.now();
  const result = await setSchedulePaused(ctx.db, scheduleId, paused, principalName(principal), now);
  if (!result.ok) return result.status === 404 ? notFound(result.message) : invalid(result.message, result.errors);
  const [schedule] = await scheduleViews(ctx.db, [result.schedule], now);
  return ok({ changed: result.changed, schedule });
}

const instant = z.iso.datetime({ offset: true, message: 'an ISO 8601 instant with its offset, e.g. "2026-12-01T00:00:00Z"' });
const backfillBodySchema = z.object({ from: instant, to: instant }).strict();

/** `POST /schedules/:id/backfill`: `{from, to}` starts a run for every tick in [from, to) (at most 100), each once however often it is asked. */
export async function backfill(ctx: ApiContext, scheduleId: string, req: ApiRequest): Promise<ApiResponse> {
  const body = jsonObjectBody(req);
  if (!body.ok) return body.response;
  const range = parseWith(backfillBodySchema, body.value);
  if (!range.ok) return invalid("the backfill needs a range; nothing was started", range.errors);
  const result = await backfillSchedule(ctx.db, scheduleId, Date.parse(range.value.from), Date.parse(range.value.to), ctx.now());
  if (!result.ok) return result.status === 404 ? notFound(result.message) : invalid(result.message, result.errors);
  return ok({ started: result.started, existing: result.existing, skipped: result.skipped });
}

/** `POST /schedules/:id/delete`: its runs are plans of their own and go on. */
export async function removeSchedule(ctx: ApiContext, scheduleId: string): Promise<ApiResponse> {
  return (await deleteSchedule(ctx.db, scheduleId)) ? ok({ deleted: scheduleId }) : notFound(`there is no schedule "${scheduleId}"`);
}
