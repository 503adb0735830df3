/** The one interface every executor implements: the engine decides, executors act. */
import type { ExecutionOutcome } from "../engine/lifecycle";

export interface ExecutionContext {
  planId: string;
  taskId: string;
  attempt: number;
  /** `planId/taskId/attempt`: pass it to anything that can deduplicate (e.g. an Idempotency-Key header). */
  idempotencyKey: string;
  /** Aborted when the attempt times out or the plan is cancelled. */
  signal: AbortSignal;
  /** Epoch ms by which the attempt must finish. */
  deadline: number;
}

export interface Executor {
  execute(params: Record<string, unknown>, ctx: ExecutionContext): Promise<ExecutionOutcome>;
}
