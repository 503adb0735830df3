/** Pub/Sub message bodies, validated on the way in like every document. */
import { z } from "zod";
import { taskIdSchema } from "./plan";

export const planIdSchema = z.string().min(1).max(1500).regex(/^[^/]+$/, "plan ids cannot contain '/'");

/** `orchestrator-task-ready`: run attempt `attempt` of a task. Internal, published by the engine. */
export const taskReadyMessageSchema = z
  .object({
    planId: planIdSchema,
    taskId: taskIdSchema,
    attempt: z.number().int().min(1),
  })
  .strict();
export type TaskReadyMessage = z.output<typeof taskReadyMessageSchema>;
