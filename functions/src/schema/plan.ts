/**
 * The plan document a user writes to `plans/{planId}`: today the explicit task-list form.
 * These schemas are the one source of truth for what a valid plan is.
 */
import { z } from "zod";
import { sloSpecSchema } from "./slo";
import { approverEntrySchema } from "../trust/principals";
import { MAX_IN_INVOCATION_SECONDS, TASK_FUNCTION_TIMEOUT_SECONDS } from "../config";

/** Task ids become Firestore document ids and message fields: no slashes, bounded length. */
export const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const MAX_TASKS_PER_PLAN = 20_000;

export const taskIdSchema = z
  .string()
  .regex(TASK_ID_PATTERN, "task ids are 1-128 characters: letters, digits and . _ : - (not starting with a symbol)");

/**
 * A pool's id (`pools/{id}`): a Firestore document id, short and plain. `plan-…` is reserved for
 * the pools that carry plans' own `maxParallel`.
 */
export const POOL_ID_PATTERN = /^(?!plan-)[a-z][a-z0-9-]{0,62}$/;
export const poolIdSchema = z.string().regex(POOL_ID_PATTERN, "a pool id is 1-63 lowercase letters, digits and - (starting with a letter, not with plan-)");

/** Plan priorities: higher goes first; 0 by default. */
export const PRIORITY_RANGE = { min: -100, max: 100 } as const;

/**
 * How a plan shares the orchestrator with other plans (both plan forms have them):
 * - `maxParallel`: at most this many of its tasks run at once (work kinds; waits and rollbacks take no slot);
 * - `priority`: orders the plans waiting for an environment's lock, and the tasks waiting for a pool's slot;
 * - `deadlineSeconds`: a run (its start, or a retry) that lasts longer ends: the failure policy
 *   applies (rollback rolls back; anything else fails), with `deadline_exceeded` as the cause.
 */
export const runControlsShape = {
  maxParallel: z.number().int().min(1).max(1000).optional(),
  priority: z.number().int().min(PRIORITY_RANGE.min).max(PRIORITY_RANGE.max).default(0),
  deadlineSeconds: z.number().int().min(60).max(90 * 86_400).optional(),
};

export const retryPolicySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(100).default(1),
    initialBackoffSeconds: z.number().min(0).max(3600).default(5),
    backoffMultiplier: z.number().min(1).max(10).default(2),
    maxBackoffSeconds: z.number().min(0).max(86_400).default(300),
    /** Fraction of each backoff randomised (0 = none, 1 = full jitter). */
    jitter: z.number().min(0).max(1).default(0.2),
    /** Error codes that retry; default: every error the executor marks retryable. */
    retryOn: z.array(z.string().max(100)).max(50).optional(),
  })
  .strict();
export type RetryPolicy = z.output<typeof retryPolicySchema>;

/** When a task may run, given how its needs ended (like Airflow's trigger rules). */
export const triggerRuleSchema = z.enum(["all_success", "all_done", "one_failed", "none_failed"]);
export type TriggerRule = z.output<typeof triggerRuleSchema>;

export const noopParamsSchema = z.object({}).strict();
/**
 * Up to 30 days. A delay longer than engine/task.ts IN_INVOCATION_DELAY_MAX_MS does not sleep
 * in an invocation: its claim records the wake-up time and the sweeper dispatches it when due.
 */
export const delayParamsSchema = z.object({ ms: z.number().int().min(0).max(30 * 86_400_000) }).strict();
export const httpParamsSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]).default("POST"),
    headers: z.record(z.string(), z.string()).default({}),
    /** Header values read from secrets by name (Secret Manager via `defineSecret`, surfaced as env vars); never stored in the plan. */
    headersFromSecrets: z.record(z.string(), z.string().regex(/^[A-Z][A-Z0-9_]{0,254}$/, "a secret name: upper-case letters, digits and _")).default({}),
    body: z.unknown().optional(),
    /** Status codes that count as success; default: any 2xx. */
    expectStatus: z.array(z.number().int().min(100).max(599)).max(50).optional(),
    /** Whether the answer's body (up to `maxBodyBytes`, secrets redacted) becomes task output; otherwise only the status. */
    captureBody: z.boolean().default(false),
    maxBodyBytes: z.number().int().min(1).max(65_536).default(4_000),
  })
  .strict();
/**
 * Waits for `approve`/`reject` from verified principals in `approvers` (the plan's approvers when
 * absent): `requiredApprovals` distinct ones must approve (N of M); one rejection fails the gate.
 * A protected environment's gate takes these from the deployment's policy instead (trust/policy.ts).
 */
export const approvalParamsSchema = z
  .object({
    prompt: z.string().max(2000).optional(),
    approvers: z.array(approverEntrySchema).max(100).optional(),
    requiredApprovals: z.number().int().min(1).max(20).default(1),
    /** Whether the plan's creator may approve their own gate (like GitHub's "prevent self-review", off by default). */
    allowSelfApproval: z.boolean().default(false),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.approvers !== undefined && p.approvers.length > 0 && p.requiredApprovals > p.approvers.length && !p.approvers.some((a) => a.startsWith("group:"))) {
      ctx.addIssue({ code: "custom", path: ["requiredApprovals"], message: `needs ${p.requiredApprovals} distinct approvers but lists only ${p.approvers.length}` });
    }
  });
export type ApprovalParams = z.output<typeof approvalParamsSchema>;
/** Waits for another system to report the outcome on `orchestrator-task-events` with the task token. */
export const externalParamsSchema = z
  .object({
    description: z.string().max(2000).optional(),
    /** Without a heartbeat for this long, the attempt times out; absent: only `timeoutSeconds` applies. */
    heartbeatSeconds: z.number().int().min(1).max(86_400).optional(),
    /**
     * A bake (set by the planner after an environment's verify): the health runs are the other
     * system. Each run looks at the environment's availability burn rates; a page tier firing fails
     * it with the numbers, `minutes` without one passes it. No verdict by the deadline fails it.
     */
    bake: z.object({ projectId: z.string().min(1).max(64), environment: z.string().min(1).max(64), minutes: z.number().int().min(1).max(1440), slo: sloSpecSchema }).strict().optional(),
  })
  .strict();
/** Provisions or verifies one integration of one Firebase environment through Google's APIs. */
/** A change-set summary: how many resources a provision creates, changes, replaces and leaves alone. */
export const changeSummarySchema = z
  .object({ create: z.number().int().min(0), update: z.number().int().min(0), replace: z.number().int().min(0), noop: z.number().int().min(0) })
  .strict();

/** What a provision does when the live state moved since the plan's refresh: stop the plan as `stale`, or diff again and go on. */
export const onStaleSchema = z.enum(["stop", "replan"]);

/** Per managed resource, a digest of its observed state at the refresh (`npm run plan -- --refresh`). */
const resourceDigestsSchema = z.record(z.string().min(1).max(1500), z.string().min(1).max(128)).refine((r) => Object.keys(r).length <= 500, "at most 500 resources per task");

/**
 * What `npm run plan -- --refresh --apply` saw, written into the plan document: per provision
 * task, the digest of every resource it manages and the change-set summary. A provision whose
 * live state no longer matches stops the plan as `stale` (Terraform refuses a saved plan whose
 * state moved); with `onStale: "replan"` it diffs again and goes on.
 */
export const expectedStateSchema = z
  .object({
    refreshedAt: z.number().int().min(0),
    tasks: z
      .record(taskIdSchema, z.object({ resources: resourceDigestsSchema, summary: changeSummarySchema }).strict())
      .refine((t) => Object.keys(t).length <= MAX_TASKS_PER_PLAN, `at most ${MAX_TASKS_PER_PLAN} tasks`),
  })
  .strict();
export type ExpectedState = z.output<typeof expectedStateSchema>;

export const firebaseParamsSchema = z
  .object({
    integration: z.string().min(1).max(64),
    action: z.enum(["provision", "verify"]).default("provision"),
    environment: z.string().min(1).max(64),
    projectId: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "a Google Cloud project id: 6-30 lowercase letters, digits and hyphens"),
    region: z.string().min(1).max(64),
    settings: z.record(z.string(), z.unknown()).default({}),
    /** Set by the planner from the plan's `expectedState`: the observed state this provision was planned against. */
    expect: z.object({ resources: resourceDigestsSchema, onStale: onStaleSchema }).strict().optional(),
  })
  .strict();

/** A compensation step for task plans: what undoes this task's effect during rollback. */
export const compensationSchema = z.discriminatedUnion("run", [
  z.object({ run: z.literal("noop"), params: noopParamsSchema.default({}) }).strict(),
  z.object({ run: z.literal("delay"), params: delayParamsSchema }).strict(),
  z.object({ run: z.literal("http"), params: httpParamsSchema }).strict(),
  z.object({ run: z.literal("firebase"), params: firebaseParamsSchema }).strict(),
]);

const taskBaseShape = {
  id: taskIdSchema,
  name: z.string().max(200).optional(),
  needs: z.array(taskIdSchema).max(MAX_TASKS_PER_PLAN).default([]),
  /** Wall-clock limit of one attempt (for waiting kinds: how long to wait); the executor is aborted when it passes. */
  timeoutSeconds: z.number().positive().max(30 * 86_400).optional(),
  retry: retryPolicySchema.optional(),
  triggerRule: triggerRuleSchema.default("all_success"),
  compensate: compensationSchema.optional(),
  /** A named pool (`pools/{id}`, set by operators) whose slots this task's attempts take, like Airflow's pools. */
  pool: poolIdSchema.optional(),
};

/**
 * `timeoutSeconds` of a kind that runs inside one invocation of `onTaskReady`: at most a safe part
 * of the function's own limit, or the platform would kill the invocation before the attempt's
 * deadline, and the attempt would be lost (found only by lease expiry) instead of failed.
 */
const inInvocationTimeoutSchema = z
  .number()
  .positive()
  .max(
    MAX_IN_INVOCATION_SECONDS,
    `at most ${MAX_IN_INVOCATION_SECONDS} s: the task runs inside one invocation of onTaskReady (limit ${TASK_FUNCTION_TIMEOUT_SECONDS} s); wait longer with approval, external or a delay`,
  )
  .optional();

export const EXECUTOR_KINDS = ["noop", "delay", "http", "approval", "external", "firebase"] as const;

export const taskSpecSchema = z.discriminatedUnion("run", [
  z.object({ ...taskBaseShape, timeoutSeconds: inInvocationTimeoutSchema, run: z.literal("noop"), params: noopParamsSchema.default({}) }).strict(),
  z.object({ ...taskBaseShape, timeoutSeconds: inInvocationTimeoutSchema, run: z.literal("delay"), params: delayParamsSchema }).strict(),
  z.object({ ...taskBaseShape, timeoutSeconds: inInvocationTimeoutSchema, run: z.literal("http"), params: httpParamsSchema }).strict(),
  z.object({ ...taskBaseShape, run: z.literal("approval"), params: approvalParamsSchema.prefault({}) }).strict(),
  z.object({ ...taskBaseShape, run: z.literal("external"), params: externalParamsSchema.default({}) }).strict(),
  z.object({ ...taskBaseShape, timeoutSeconds: inInvocationTimeoutSchema, run: z.literal("firebase"), params: firebaseParamsSchema }).strict(),
]);

/**
 * Default attempt timeout per kind: work kinds a minute (firebase five), never more than
 * MAX_IN_INVOCATION_SECONDS for a kind that runs inside the invocation; waiting kinds a day or a
 * week. A delay's own length does not count against its timeout: a short one sleeps within its
 * minute, a long one sleeps durably outside any attempt.
 */
export const DEFAULT_TIMEOUT_SECONDS: Readonly<Record<(typeof EXECUTOR_KINDS)[number], number>> = {
  noop: 60,
  delay: 60,
  http: 60,
  approval: 7 * 86_400,
  external: 86_400,
  firebase: 300,
};

export const failurePolicySchema = z.enum(["stop", "continue", "rollback"]);
export type FailurePolicy = z.output<typeof failurePolicySchema>;

export const taskPlanSpecSchema = z
  .object({
    /** The JSON schema an editor validates the file against (e.g. schema/plan.schema.json); ignored by the planner. */
    $schema: z.string().max(2000).optional(),
    name: z.string().max(200).optional(),
    description: z.string().max(5000).optional(),
    labels: z.record(z.string().max(63), z.string().max(63)).optional(),
    failurePolicy: failurePolicySchema.default("stop"),
    /** Principals (emails, uids, `group:<name>`) whose verified approve/reject counts for approval tasks. */
    approvers: z.array(approverEntrySchema).max(100).default([]),
    /** Plan only: compile, store the result, run nothing (like `terraform plan`). */
    dryRun: z.boolean().default(false),
    expectedState: expectedStateSchema.optional(),
    onStale: onStaleSchema.default("stop"),
    ...runControlsShape,
    tasks: z.array(taskSpecSchema).min(1, "a plan needs at least one task").max(MAX_TASKS_PER_PLAN),
  })
  .strict();

export type TaskSpec = z.output<typeof taskSpecSchema>;
export type ExecutorKind = TaskSpec["run"];
export type TaskPlanSpec = z.output<typeof taskPlanSpecSchema>;

export const PLAN_STATUSES = [
  "pending",
  "planning",
  "planned",
  "rejected",
  "invalid",
  "running",
  "paused",
  "redriving",
  "waiting",
  "succeeded",
  "failed",
  "rolling_back",
  "rolled_back",
  "rollback_failed",
  "stale",
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
  "waitingFor",
  "freezeOverride",
  "redriveScope",
  "rollbackLevel",
  "rollbackError",
  "rollbackArmedSeq",
  "stallCheckedUpTo",
  "createdBy",
  "seq",
  "generation",
  "resume",
  "effectsPending",
  "startAttempts",
  "casWrite",
  "runDeadline",
  "failure",
] as const;

/** The orchestrator-owned part of a plan document, validated whenever the engine reads it. */
export const planStateSchema = z.object({
  status: z.enum(PLAN_STATUSES).default("pending"),
  startLease: z.object({ owner: z.string(), expiresAt: z.number() }).nullable().optional(),
  failedTask: z.string().nullable().optional(),
  createdAt: z.number().optional(),
  /** Plan transitions so far (engine/plan.ts): history records are `plan.{seq}.{status}`. */
  seq: z.number().int().nonnegative().default(0),
  /** Runs so far: each retry (redrive) starts the next. */
  generation: z.number().int().positive().default(1),
  /** While waiting for locks: what the plan does once it has them. */
  resume: z.enum(["start", "redrive", "rollback"]).nullable().default(null),
  /** A transition's effects (engine/plan.ts effectsOf) were not all applied yet: the sweeper finishes them. */
  effectsPending: z.boolean().default(false),
  /** Starts begun (each takes the start lease); a plan whose start keeps failing ends instead of retrying forever. */
  startAttempts: z.number().int().nonnegative().default(0),
  updatedAt: z.number().optional(),
  /** When its tasks were first written (the plan began running); null or absent: never. */
  startedAt: z.number().nullable().optional(),
  /** The last compare-and-set write's id: a write whose answer was lost is recognised by it (store/firestore.ts). */
  casWrite: z.string().optional(),
  /** The rollback (its transition's seq) whose compensations that failed before were set to run again. */
  rollbackArmedSeq: z.number().int().nullable().optional(),
  /** While `waiting`: the lock (and the plan holding it), or the freeze window (and when it ends). */
  waitingFor: z
    .object({ lock: z.string().optional(), plan: z.string().optional(), freeze: z.string().optional(), name: z.string().optional(), environment: z.string().optional(), until: z.number().optional() })
    .nullable()
    .optional(),
  /** The plan's `deadlineSeconds` and when the current run's passes (`at` null: no run under way). */
  runDeadline: z.object({ seconds: z.number().int().positive(), at: z.number().nullable() }).nullable().optional(),
  /** Why the plan ended, when no task's failure says it (`deadline_exceeded`). */
  failure: z.string().nullable().optional(),
  /** The targeted redrive under way (engine/plan.ts RedriveScope); null: a whole one. */
  redriveScope: z.object({ taskId: z.string(), as: z.enum(["retry", "succeeded", "skipped"]), by: z.string(), reason: z.string().nullable() }).nullable().optional(),
  /** An operator let the plan past freeze windows, for one entry: a start, or the redrive of run `generation`. */
  freezeOverride: z
    .object({ by: z.string(), reason: z.string(), at: z.number(), intent: z.enum(["start", "redrive", "rollback"]), generation: z.number().int() })
    .nullable()
    .optional(),
});
export type PlanState = z.output<typeof planStateSchema>;

export function userSpecOf(doc: Record<string, unknown>): Record<string, unknown> {
  const spec: Record<string, unknown> = { ...doc };
  for (const field of SYSTEM_PLAN_FIELDS) delete spec[field];
  return spec;
}
