/**
 * The task document at `plans/{planId}/tasks/{taskId}`: the engine's unit of state.
 * Times are epoch milliseconds, so pure engine code can compare them without Firebase types.
 */
import { z } from "zod";
import { TASK_STATUSES } from "../engine/statuses";
import { compensationSchema, retryPolicySchema, taskIdSchema, triggerRuleSchema } from "./plan";

export { TASK_STATUSES, TERMINAL_TASK_STATUSES, type TaskStatus } from "../engine/statuses";
export const taskStatusSchema = z.enum(TASK_STATUSES);

export const taskErrorSchema = z.object({
  message: z.string(),
  code: z.string().optional(),
  retryable: z.boolean(),
});
export type TaskError = z.output<typeof taskErrorSchema>;

export const historyEntrySchema = z.object({
  at: z.number(),
  from: taskStatusSchema.nullable(),
  to: taskStatusSchema,
  attempt: z.number().int(),
  cause: z.string(),
});
export type HistoryEntry = z.output<typeof historyEntrySchema>;

export const leaseSchema = z.object({ owner: z.string(), expiresAt: z.number() });
export type Lease = z.output<typeof leaseSchema>;

export const taskDocSchema = z.object({
  planId: z.string(),
  id: taskIdSchema,
  name: z.string().nullable().default(null),
  run: z.string(),
  params: z.record(z.string(), z.unknown()),
  needs: z.array(taskIdSchema),
  dependents: z.array(taskIdSchema),
  /** Which needs have finished, with their final status: a dependent becomes ready when all are in. */
  needsDone: z.record(z.string(), taskStatusSchema),
  /**
   * A wide join (many needs) records arrivals in `arrivals/{needId}` documents instead of
   * `needsDone`, so thousands of finishing needs never contend on this one document.
   */
  fanIn: z.boolean().default(false),
  /**
   * Which of `dependents` are wide joins, with their number of needs and this task's group among
   * their arrivals (decided when the plan starts, so releasing them reads nothing extra).
   */
  wideDependents: z
    .record(
      taskIdSchema,
      z.object({ needs: z.number().int().positive(), group: z.number().int().nonnegative(), groupNeeds: z.number().int().positive(), groups: z.number().int().positive() }),
    )
    .default({}),
  triggerRule: triggerRuleSchema.default("all_success"),
  retry: retryPolicySchema.nullable().default(null),
  /** Whether rollback has something to undo for this task (an explicit step or the executor's own). */
  compensable: z.boolean().default(false),
  /**
   * Whether a rollback also compensates this task when its run failed: its executor's compensation
   * replays the journal of what the run applied (the firebase executor), so a run that failed
   * halfway is undone too, and one that applied nothing changes nothing.
   */
  compensatesFailure: z.boolean().default(false),
  compensate: compensationSchema.nullable().default(null),
  compensationError: taskErrorSchema.nullable().default(null),
  /** A retry waits until then (backoff); null: at once. */
  notBefore: z.number().nullable().default(null),
  /** A gate's approvals so far in this attempt (N of M): one per distinct verified approver. */
  approvals: z.array(z.object({ by: z.string(), uid: z.string(), email: z.string().nullable(), at: z.number() })).default([]),
  /** While waiting for an approval or an external system. Only the token's hash is stored. */
  waiting: z
    .object({
      tokenHash: z.string().nullable(),
      deadline: z.number(),
      heartbeatSeconds: z.number().nullable(),
      /**
       * An external task's token is in its outbox (`plans/{planId}/outbox/{taskId}`) but not yet
       * known to be published: the sweeper publishes it again. Absent (approvals, documents
       * written before the outbox): nothing to publish.
       */
      tokenPublished: z.boolean().optional(),
    })
    .nullable()
    .default(null),
  /**
   * Which intent this attempt carries out (engine/task.ts intentOf, the idempotency key):
   * attempt `attempt` runs again what attempt `since` began, its worker having been lost (lease
   * expiry). Any other attempt (a retry after a reported failure, a redrive) begins its own.
   */
  intent: z.object({ attempt: z.number().int().min(1), since: z.number().int().min(1) }).nullable().default(null),
  /** A long `delay` sleeps durably: when it wakes, for which intent (set once; a redrive sleeps again). */
  delayUntil: z.object({ at: z.number(), intent: z.number().int().min(1) }).nullable().default(null),
  /**
   * The pools whose slots an attempt of this task takes (store/pools.ts): the plan's own
   * (`plan-<planId>`, sized by its `maxParallel`) and a named one (`pools/{id}`, sized by that
   * document: `slots` null). Empty: none. Waits and compensations never take slots.
   */
  pools: z.array(z.object({ id: z.string(), slots: z.number().int().positive().nullable() })).default([]),
  /** The plan's priority: orders this task among others waiting for a pool's slot (higher first). */
  priority: z.number().int().default(0),
  /** The id of the compare-and-set that last wrote this document (store/firestore.ts): how an ambiguous commit is recognised. */
  casWrite: z.string().optional(),
  level: z.number().int().min(0),
  timeoutSeconds: z.number().positive(),
  status: taskStatusSchema,
  /** The attempt the task is on (1-based); a message for any other attempt is stale. */
  attempt: z.number().int().min(1),
  lease: leaseSchema.nullable(),
  readyAt: z.number().nullable(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  /** When the sweeper should look at this task (lost dispatch, expired lease, deadline); null when settled. */
  sweepAt: z.number().nullable(),
  output: z.unknown().optional(),
  error: taskErrorSchema.nullable(),
  /** The task's own transitions, recorded in the same write as each change (bounded). */
  history: z.array(historyEntrySchema),
});
export type TaskDoc = z.output<typeof taskDocSchema>;
