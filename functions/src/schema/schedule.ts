/**
 * `schedules/{scheduleId}`: a plan run on a cron schedule, like a Temporal schedule. The spec is
 * what an operator writes through the API (`POST /api/schedules`); the firing state beside it
 * (`lastTick`, open runs, the buffered tick, the recent ticks) is the orchestrator's, written only by
 * the firing pass (schedules/store.ts). Each run is a plan document with a deterministic id,
 * `<scheduleId>--<tick, e.g. 20261201T1405Z>`, so one tick never starts two plans.
 *
 * What a schedule runs, exactly one of:
 *   - `plan`, a plan document's user fields (a task plan or an environment plan), copied into
 *     every run;
 *   - `template: {id, params}`, a stored plan template (schema/template.ts) with its parameters:
 *     each firing renders the template's current version, and its runs are instances
 *     `{template, version, params}` pinned to that version (the plan trigger renders exactly it,
 *     from the template's history, and the run's `compiled.template` records it).
 * Either is checked by compiling it (scheduleRunErrors) when the schedule is written and again at
 * each firing, with the deployment's protection policy and secret bindings.
 */
import { z } from "zod";
import { compilePlan, type CompileOptions } from "../planner/compile";
import type { FieldError, Parsed } from "./issues";
import { parseWith } from "./issues";
import { SYSTEM_PLAN_FIELDS } from "./plan";
import { isTimeZone } from "./windows";
import { parseCron } from "../schedules/cron";
import { scheduleTemplateSchema } from "./template";

/**
 * A schedule id names its runs (`<id>--20261201T1405Z`, a Firestore document id) and goes into
 * each run's `labels.schedule` (at most 63 characters), so it is short and plain.
 */
export const SCHEDULE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
export const scheduleIdSchema = z.string().regex(SCHEDULE_ID_PATTERN, "a schedule id is 1-63 letters, digits, _ and - (not starting with a symbol): it names the schedule's runs");

/** What a tick does while an earlier run of the schedule is still open (Temporal's overlap policies). */
export const OVERLAP_POLICIES = ["skip", "buffer_one", "cancel_other", "allow_all"] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** The plan a schedule runs is copied into every run: bounded, so 20 runs fit one commit. */
export const MAX_SCHEDULE_PLAN_BYTES = 256 * 1024;
/** Labels the schedule sets on each run: the plan may not set them itself. */
export const RUN_LABELS = ["schedule", "tick"] as const;
/** How far back a missed tick may still fire, at most (Temporal's catchupWindow; a week here). */
export const MAX_CATCHUP_WINDOW_MINUTES = 7 * 24 * 60;

const cronSchema = z
  .string()
  .min(1)
  .max(200)
  .superRefine((expression, ctx) => {
    const parsed = parseCron(expression);
    if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.message });
  });

/** The plan's shape as a document (the compile checks the rest): no orchestrator-owned field, no run label, bounded. */
const schedulePlanSchema = z.record(z.string(), z.unknown()).superRefine((plan, ctx) => {
  const bytes = Buffer.byteLength(JSON.stringify(plan), "utf8");
  if (bytes > MAX_SCHEDULE_PLAN_BYTES) ctx.addIssue({ code: "custom", message: `the plan is ${bytes} bytes as JSON; a schedule's plan may be at most ${MAX_SCHEDULE_PLAN_BYTES}` });
  for (const field of SYSTEM_PLAN_FIELDS) {
    if (field in plan) ctx.addIssue({ code: "custom", path: [field], message: "set by the orchestrator on each run; leave it out" });
  }
  const labels = plan.labels;
  if (typeof labels === "object" && labels !== null) {
    for (const label of RUN_LABELS) if (label in labels) ctx.addIssue({ code: "custom", path: ["labels", label], message: "set by the schedule on each run (its id and tick); leave it out" });
  }
});

const instantSchema = z.iso.datetime({ offset: true, message: 'an ISO 8601 instant with its offset, e.g. "2026-12-01T00:00:00Z"' });

export const scheduleSpecSchema = z
  .object({
    /** Five fields, `minute hour day-of-month month day-of-week` (schedules/cron.ts), read in `timeZone`. */
    cron: cronSchema,
    timeZone: z.string().min(1).max(64).refine(isTimeZone, 'an IANA time zone, e.g. "Europe/Berlin" or "UTC"').default("UTC"),
    /** A plan document's user fields: each tick's run is this plan. */
    plan: schedulePlanSchema.optional(),
    /** Or a template and its parameters: each tick's run is an instance of its current version. */
    template: scheduleTemplateSchema.optional(),
    overlap: z.enum(OVERLAP_POLICIES).default("skip"),
    /** Paused: no tick fires; once resumed, ticks missed beyond the catch-up window stay missed. */
    paused: z.boolean().default(false),
    /** A tick the firing pass sees later than this (it was down, or the schedule paused) is recorded as missed instead of fired. */
    catchupWindowMinutes: z.number().int().min(1).max(MAX_CATCHUP_WINDOW_MINUTES).default(10),
    description: z.string().max(2000).optional(),
    /** No tick before this instant fires. */
    startAt: instantSchema.optional(),
    /** No tick at or after this instant fires. */
    endAt: instantSchema.optional(),
  })
  .strict()
  .refine((s) => (s.plan === undefined) !== (s.template === undefined), { message: "a schedule runs either a plan or a template: give exactly one of plan and template" })
  .refine((s) => s.startAt === undefined || s.endAt === undefined || Date.parse(s.endAt) > Date.parse(s.startAt), { message: "endAt must be after startAt", path: ["endAt"] });
export type ScheduleSpec = z.output<typeof scheduleSpecSchema>;

/**
 * What each run of the schedule is (its plan document's user fields, before the schedule's labels):
 * a copy of its plan, or an instance of its template, pinned to `templateVersion` (the version the
 * firing checked) when given.
 */
export function runPlanOf(spec: Pick<ScheduleSpec, "plan" | "template">, templateVersion?: number): Record<string, unknown> {
  if (spec.template === undefined) return structuredClone(spec.plan ?? {});
  return { template: spec.template.id, ...(templateVersion === undefined ? {} : { version: templateVersion }), params: structuredClone(spec.template.params) };
}

/**
 * The plan's problems as compiling it finds them, each under `plan.` (`plan.tasks.0.run`), with the
 * options the plan trigger will use (the deployment's policy and secret bindings), so a schedule
 * that is accepted runs plans that start.
 */
export function schedulePlanErrors(plan: Record<string, unknown>, options: CompileOptions = {}): FieldError[] {
  const compiled = compilePlan(plan, options);
  return compiled.ok ? [] : compiled.errors.map((e) => ({ path: e.path === "" ? "plan" : `plan.${e.path}`, message: e.message }));
}

/**
 * A template schedule's problems as compiling its instance finds them (with `options.template`,
 * the template's current version, loaded by the caller), under `template.`: `template.id` (no such
 * template), `template.params.region`; problems in the template's own plan keep their
 * `(template <id>@<version>).plan…` path.
 */
export function scheduleTemplateErrors(template: NonNullable<ScheduleSpec["template"]>, options: CompileOptions = {}): FieldError[] {
  const compiled = compilePlan(runPlanOf({ template }), options);
  if (compiled.ok) return [];
  return compiled.errors.map((e) => ({ path: e.path === "template" ? "template.id" : e.path.startsWith("(") ? e.path : `template.${e.path}`, message: e.message }));
}

/** What the schedule runs (its plan, or its template's instance), compiled: every problem, located. */
export function scheduleRunErrors(spec: Pick<ScheduleSpec, "plan" | "template">, options: CompileOptions = {}): FieldError[] {
  return spec.template !== undefined ? scheduleTemplateErrors(spec.template, options) : schedulePlanErrors(spec.plan ?? {}, options);
}

/** A whole spec: its shape, then what it runs compiled. Every problem is located by its field path. */
export function parseScheduleSpec(input: unknown, options: CompileOptions = {}): Parsed<ScheduleSpec> {
  const parsed = parseWith(scheduleSpecSchema, input);
  if (!parsed.ok) return parsed;
  const errors = scheduleRunErrors(parsed.value, options);
  return errors.length > 0 ? { ok: false, errors } : parsed;
}

/** What became of one tick (newest last in `recent`). */
export const tickRecordSchema = z.object({
  tick: z.number(),
  /** When the firing pass (or backfill) decided. */
  at: z.number(),
  outcome: z.enum(["started", "skipped", "buffered"]),
  planId: z.string().optional(),
  why: z.string().optional(),
  /** cancel_other: the open runs this tick's run replaced (each sent a cancel). */
  cancelled: z.array(z.string()).optional(),
  backfill: z.boolean().optional(),
  /** A summary of missed ticks: how many, from `tick` on. */
  missed: z.number().int().optional(),
});
export type TickRecord = z.output<typeof tickRecordSchema>;

/** A run of the schedule not known to have ended. */
export const openRunSchema = z.object({
  planId: z.string(),
  tick: z.number(),
  /** cancel_other: the run that replaces this one; its cancel is sent until the run has ended. */
  cancelFor: z.string().nullable().default(null),
});
export type OpenRun = z.output<typeof openRunSchema>;

/** The firing state, written only by the firing pass and backfills. */
export const scheduleStateSchema = z.object({
  /** When the schedule was first written: no tick before it fires. */
  since: z.number(),
  /**
   * The latest tick handled (fired, skipped, buffered or counted as missed); the next pass looks
   * after it. When more missed ticks were counted than a pass counts, it is where counting stopped.
   */
  lastTick: z.number().nullable().default(null),
  open: z.array(openRunSchema).default([]),
  /** buffer_one: the tick that starts when the open run ends. */
  buffered: z.number().nullable().default(null),
  recent: z.array(tickRecordSchema).default([]),
});
export type ScheduleState = z.output<typeof scheduleStateSchema>;

/** Who wrote the spec and when; the author's runs are attributed to them (a run's `createdBy`). */
export const scheduleMetaSchema = z.object({
  createdAt: z.number(),
  updatedAt: z.number(),
  author: z.object({ uid: z.string(), email: z.string().nullable(), name: z.string() }),
  pausedAt: z.number().nullable().default(null),
  pausedBy: z.string().nullable().default(null),
});
export type ScheduleMeta = z.output<typeof scheduleMetaSchema>;

export const SCHEDULE_STATE_FIELDS = Object.keys(scheduleStateSchema.shape) as Array<keyof ScheduleState>;
export const SCHEDULE_META_FIELDS = Object.keys(scheduleMetaSchema.shape) as Array<keyof ScheduleMeta>;

export interface ScheduleDoc {
  id: string;
  spec: ScheduleSpec;
  state: ScheduleState;
  meta: ScheduleMeta;
}

const pickFields = (data: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> => Object.fromEntries(fields.filter((f) => f in data).map((f) => [f, data[f]]));

/** A stored schedule, or what is wrong with it (one written around the API). */
export function parseScheduleDoc(id: string, data: Record<string, unknown>): { ok: true; schedule: ScheduleDoc } | { ok: false; problem: string } {
  const own = new Set<string>([...SCHEDULE_STATE_FIELDS, ...SCHEDULE_META_FIELDS]);
  const spec = parseWith(scheduleSpecSchema, Object.fromEntries(Object.entries(data).filter(([field]) => !own.has(field))));
  const state = parseWith(scheduleStateSchema, pickFields(data, SCHEDULE_STATE_FIELDS));
  const meta = parseWith(scheduleMetaSchema, pickFields(data, SCHEDULE_META_FIELDS));
  if (spec.ok && state.ok && meta.ok) return { ok: true, schedule: { id, spec: spec.value, state: state.value, meta: meta.value } };
  const first = [spec, state, meta].flatMap((p) => (p.ok ? [] : p.errors))[0]!;
  return { ok: false, problem: `${first.path || "(document)"}: ${first.message} (write schedules through POST /api/schedules)` };
}
