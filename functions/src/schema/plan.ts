/**
 * The plan document a user writes to `plans/{planId}`: today the explicit task-list form.
 * These schemas are the one source of truth for what a valid plan is.
 */
import { z } from "zod";

/** Task ids become Firestore document ids and message fields: no slashes, bounded length. */
export const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const MAX_TASKS_PER_PLAN = 20_000;

export const taskIdSchema = z
  .string()
  .regex(TASK_ID_PATTERN, "task ids are 1-128 characters: letters, digits and . _ : - (not starting with a symbol)");

const taskBaseShape = {
  id: taskIdSchema,
  name: z.string().max(200).optional(),
  needs: z.array(taskIdSchema).max(MAX_TASKS_PER_PLAN).default([]),
  /** Wall-clock limit of one attempt; the executor is aborted when it passes. */
  timeoutSeconds: z.number().positive().max(3600).default(60),
};

export const noopParamsSchema = z.object({}).strict();
export const delayParamsSchema = z.object({ ms: z.number().int().min(0).max(600_000) }).strict();
export const httpParamsSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]).default("POST"),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.unknown().optional(),
    /** Status codes that count as success; default: any 2xx. */
    expectStatus: z.array(z.number().int().min(100).max(599)).max(50).optional(),
  })
  .strict();

export const taskSpecSchema = z.discriminatedUnion("run", [
  z.object({ ...taskBaseShape, run: z.literal("noop"), params: noopParamsSchema.default({}) }).strict(),
  z.object({ ...taskBaseShape, run: z.literal("delay"), params: delayParamsSchema }).strict(),
  z.object({ ...taskBaseShape, run: z.literal("http"), params: httpParamsSchema }).strict(),
]);

export const failurePolicySchema = z.enum(["stop"]);

export const taskPlanSpecSchema = z
  .object({
    name: z.string().max(200).optional(),
    description: z.string().max(5000).optional(),
    labels: z.record(z.string().max(63), z.string().max(63)).optional(),
    failurePolicy: failurePolicySchema.default("stop"),
    tasks: z.array(taskSpecSchema).min(1, "a plan needs at least one task").max(MAX_TASKS_PER_PLAN),
  })
  .strict();

export type TaskSpec = z.output<typeof taskSpecSchema>;
export type ExecutorKind = TaskSpec["run"];
export type TaskPlanSpec = z.output<typeof taskPlanSpecSchema>;

export const PLAN_STATUSES = [
  "pending",
  "planning",
  "rejected",
  "invalid",
  "running",
  "waiting",
  "succeeded",
  "failed",
  "rolling_back",
  "rolled_back",
  "cancelled",
] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

/**
 * Fields the orchestrator owns on a plan document. They are stripped before the user's spec is
 * validated, so the spec stays exactly what the user wrote.
 */
export const SYSTEM_PLAN_FIELDS = [
  "status",
  "errors",
  "compiled",
  "createdAt",
  "startedAt",
  "finishedAt",
  "updatedAt",
  "failedTask",
  "startLease",
] as const;

/** The orchestrator-owned part of a plan document, validated whenever the engine reads it. */
export const planStateSchema = z.object({
  status: z.enum(PLAN_STATUSES).default("pending"),
  startLease: z.object({ owner: z.string(), expiresAt: z.number() }).nullable().optional(),
  failedTask: z.string().nullable().optional(),
  createdAt: z.number().optional(),
});
export type PlanState = z.output<typeof planStateSchema>;

export function userSpecOf(doc: Record<string, unknown>): Record<string, unknown> {
  const spec: Record<string, unknown> = { ...doc };
  for (const field of SYSTEM_PLAN_FIELDS) delete spec[field];
  return spec;
}
