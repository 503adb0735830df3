/**
 * Schedules (`schedules/{id}`, schema/schedule.ts): listed for viewers with their next tick, open
 * runs and recent ticks; set, paused, resumed, backfilled and deleted by operators. A schedule's
 * plan is compiled as the plan trigger will compile each run (with the deployment's policy and
 * secret bindings), so a schedule the API accepts fires runs that start; its problems come back
 * as 400s located under `plan.` (`plan.tasks.0.run`).
 */
import { z } from "zod";
import { deploymentCompileOptions } from "../runtime/deployment";
import { parseCron } from "../schedules/cron";
import { nextTickOf } from "../schedules/fire";
import { backfillSchedule, deleteSchedule, readSchedules, saveSchedule, setSchedulePaused } from "../schedules/store";
import { parseWith } from "../schema/issues";
import { parseScheduleSpec, scheduleIdSchema, type ScheduleDoc, type ScheduleMeta, type ScheduleSpec, type ScheduleState } from "../schema/schedule";
import { principalName, type Principal } from "./auth";
import type { ApiContext } from "./context";
import { invalid, jsonObjectBody, notFound, ok, type ApiRequest, type ApiResponse } from "./http";

export type ScheduleView = { id: string } & ScheduleSpec &
  ScheduleState &
  ScheduleMeta & {
    /** The next tick that would fire (epoch ms), or null: paused, past `endAt`, or none within ten years. */
    nextTick: number | null;
  };

export function scheduleView(s: ScheduleDoc, now: number): ScheduleView {
  const cron = parseCron(s.spec.cron);
  return { id: s.id, ...s.spec, ...s.state, ...s.meta, nextTick: cron.ok ? nextTickOf(cron.cron, s.spec, now) : null };
}

/** `GET /schedules` */
export async function listSchedules(ctx: ApiContext): Promise<ApiResponse> {
  const { schedules, unreadable } = await readSchedules(ctx.db);
  const now = ctx.now();
  return ok({ schedules: schedules.map((s) => scheduleView(s, now)), unreadable });
}

/** `POST /schedules`: `{ id, cron, timeZone?, plan, overlap?, paused?, catchupWindowMinutes?, description?, startAt?, endAt? }` creates or replaces schedule `id`. */
export async function setSchedule(ctx: ApiContext, principal: Principal, req: ApiRequest): Promise<ApiResponse> {
  const body = jsonObjectBody(req);
  if (!body.ok) return body.response;
  const { id, ...spec } = body.value;
  const parsedId = parseWith(scheduleIdSchema, id);
  if (!parsedId.ok) return invalid("the schedule needs an id; nothing was written", parsedId.errors.map((e) => ({ ...e, path: ["id", e.path].filter(Boolean).join(".") })));
  const deployment = await deploymentCompileOptions(ctx.db);
  const parsed = deployment.ok ? parseScheduleSpec(spec, deployment.options) : deployment;
  if (!parsed.ok) return invalid("the schedule is not valid; nothing was written", parsed.errors);
  const author = { uid: principal.uid, email: principal.emailVerified ? principal.email : null, name: principalName(principal) };
  const now = ctx.now();
  const saved = await saveSchedule(ctx.db, parsedId.value, parsed.value, author, now);
  return ok({ created: saved.created, schedule: scheduleView(saved.schedule, now) });
}

/** `POST /schedules/:id/pause` and `/resume`: nothing fires while paused; resumed, ticks missed beyond the catch-up window stay missed. */
export async function pauseSchedule(ctx: ApiContext, principal: Principal, scheduleId: string, paused: boolean): Promise<ApiResponse> {
  const now = ctx.now();
  const result = await setSchedulePaused(ctx.db, scheduleId, paused, principalName(principal), now);
  if (!result.ok) return result.status === 404 ? notFound(result.message) : invalid(result.message, result.errors);
  return ok({ changed: result.changed, schedule: scheduleView(result.schedule, now) });
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
