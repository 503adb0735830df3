/**
 * Pub/Sub message bodies, validated on the way in like every document. Everything a handler writes
 * is checked here first: every id that becomes (part of) a document id is Firestore-safe, and an
 * external output is one Firestore can store, so a message that passes never makes its handler
 * throw (Pub/Sub would redeliver it for seven days); one that fails is dead-lettered once.
 */
import { z } from "zod";
import { taskIdSchema } from "./plan";
import { firestoreIdSchema, idFragmentSchema, storableIssue } from "./storable";

/** `plans/{planId}`: one Firestore document id (no '/', not `.`, `..` or `__x__`, at most 1,500 bytes). */
export const planIdSchema = firestoreIdSchema;

/** `orchestrator-task-ready`: run attempt `attempt` of a task. Internal, published by the engine. */
export const taskReadyMessageSchema = z
  .object({
    planId: planIdSchema,
    taskId: taskIdSchema,
    attempt: z.number().int().min(1),
    /** `compensate`: run the task's compensation (rollback) instead of the task. */
    phase: z.enum(["run", "compensate"]).default("run"),
    /** Sent by the release of a slot of this pool (runtime/pools.ts): a task that no longer waits passes the turn on. */
    wokenBy: z.string().max(1600).optional(),
  })
  .strict();
export type TaskReadyMessage = z.output<typeof taskReadyMessageSchema>;

/** `orchestrator-plan-commands`: from other systems, the page or the CLI. */
/**
 * `override`: let a plan waiting for a freeze window go ahead (operators only, with a reason).
 * `pause`: dispatch nothing new (begun attempts finish) until `resume`.
 */
export const PLAN_COMMANDS = ["approve", "reject", "cancel", "retry", "rollback", "override", "pause", "resume", "skip", "mark-success"] as const;
export const planCommandSchema = z
  .object({
    planId: planIdSchema,
    command: z.enum(PLAN_COMMANDS),
    /**
     * approve/reject: the approval task (required). retry: run this task and everything downstream
     * of it again (with `downstream: true`), besides what did not succeed. skip/mark-success: the
     * failed task to mark instead of running it again (required, with a reason).
     */
    taskId: taskIdSchema.optional(),
    /** With a retry's taskId: its downstream runs again too (the only way a task's dependents see it run again). */
    downstream: z.boolean().optional(),
    /** Who asks: a user id or email. The API sets it from the verified ID token; Pub/Sub senders state it. */
    by: z.string().min(1).max(320),
    reason: z.string().max(2000).optional(),
    /**
     * Deduplicates a command sent twice (e.g. a retried HTTP call); defaults to the Pub/Sub message
     * id. It names the command's records (`events/command.{commandId}`, `events/api.{commandId}`),
     * so it is a conservative id fragment: 1–200 of `A-Z a-z 0-9 . _ : @ -`.
     */
    commandId: idFragmentSchema.optional(),
    /**
     * Who the sender is, proven: a Firebase ID token (the API forwards the caller's) or a
     * Google-signed OIDC ID token of a service account. Verified by the command function; `by` alone
     * is recorded but never passes a gate. Never stored or logged.
     */
    credential: z.string().min(1).max(8192).optional(),
  })
  .strict()
  .superRefine((cmd, ctx) => {
    if ((cmd.command === "approve" || cmd.command === "reject") && cmd.taskId === undefined) {
      ctx.addIssue({ code: "custom", path: ["taskId"], message: `${cmd.command} needs the approval task's id` });
    }
    const takesTask = ["approve", "reject", "retry", "skip", "mark-success"].includes(cmd.command);
    if (!takesTask && cmd.taskId !== undefined) ctx.addIssue({ code: "custom", path: ["taskId"], message: `${cmd.command} applies to the whole plan: leave taskId out` });
    if ((cmd.command === "skip" || cmd.command === "mark-success") && cmd.taskId === undefined) ctx.addIssue({ code: "custom", path: ["taskId"], message: `${cmd.command} needs the failed task's id` });
    if (cmd.command === "retry" && cmd.taskId !== undefined && cmd.downstream !== true) {
      ctx.addIssue({ code: "custom", path: ["downstream"], message: "a retry of one task runs its downstream again too: set downstream: true (or leave taskId out to redrive every task that did not succeed)" });
    }
    if (cmd.downstream !== undefined && (cmd.command !== "retry" || cmd.taskId === undefined)) ctx.addIssue({ code: "custom", path: ["downstream"], message: "downstream goes with a retry's taskId only" });
    if ((cmd.command === "skip" || cmd.command === "mark-success") && (cmd.reason === undefined || cmd.reason.trim() === "")) {
      ctx.addIssue({ code: "custom", path: ["reason"], message: `${cmd.command} needs a reason: it is recorded with the task and in the plan's history` });
    }
    if (cmd.command === "override" && (cmd.reason === undefined || cmd.reason.trim() === "")) {
      ctx.addIssue({ code: "custom", path: ["reason"], message: "an override of a freeze window needs a reason: it is recorded in the plan's history" });
    }
  });
export type PlanCommand = z.output<typeof planCommandSchema>;

/** An external task's output is kept with its task (`outputs/{taskId}`, one document of 1 MiB at most): Step Functions' 256 KiB. */
export const MAX_EXTERNAL_OUTPUT_BYTES = 256 * 1024;

/**
 * `orchestrator-task-events`: another system completes an external task (`outcome`), or keeps it
 * alive (`type: "heartbeat"`), proving itself with the task token issued when the task started waiting.
 */
export const taskEventSchema = z
  .object({
    type: z.enum(["completed", "heartbeat"]).default("completed"),
    planId: planIdSchema,
    taskId: taskIdSchema,
    /** Only its hash is stored; the plain token is handed out once, when the task starts waiting. */
    token: z.string().min(16).max(512),
    outcome: z.enum(["succeeded", "failed"]).optional(),
    output: z.unknown().optional(),
    error: z.string().max(2000).optional(),
  })
  .strict()
  .superRefine((event, ctx) => {
    if (event.type === "completed" && event.outcome === undefined) {
      ctx.addIssue({ code: "custom", path: ["outcome"], message: 'a completion needs outcome "succeeded" or "failed"' });
    }
    if (event.output === undefined) return;
    // First what Firestore refuses (nested arrays, depth, reserved field names, NaN): an output it
    // cannot write would make every delivery of this event throw. The size is checked after (with
    // its own message), on a value now known to be plain JSON of bounded depth.
    const problem = storableIssue(event.output, ["output"], { maxBytes: Number.POSITIVE_INFINITY });
    if (problem !== null) {
      ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
      return;
    }
    const size = Buffer.byteLength(JSON.stringify(event.output));
    if (size > MAX_EXTERNAL_OUTPUT_BYTES) {
      ctx.addIssue({ code: "custom", path: ["output"], message: `output is ${size} bytes as JSON; at most ${MAX_EXTERNAL_OUTPUT_BYTES} (it is stored with the task, in one Firestore document)` });
    }
  });
export type TaskEvent = z.output<typeof taskEventSchema>;
