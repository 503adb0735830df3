/**
 * The task machine's states (engine/task.ts decides between them), as plain lists with no
 * dependency: the schema validates against them, and the status page reads them as the engine
 * does. The plan machine's status sets are in engine/plan.ts.
 */
export const TASK_STATUSES = [
  "blocked",
  "ready",
  "running",
  "waiting_approval",
  "waiting_external",
  "succeeded",
  "failed",
  "skipped",
  "cancelled",
  "compensating",
  "compensated",
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Where a task's run ends (a redrive or a rollback may start it again). */
export const TERMINAL_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set(["succeeded", "failed", "skipped", "cancelled", "compensated"]);
