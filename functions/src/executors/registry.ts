/** Which executor runs which `run` kind, and the deadline every attempt runs under. */
import type { ExecutionOutcome } from "../engine/lifecycle";
import { delayExecutor } from "./delay";
import { httpExecutor } from "./http";
import { noopExecutor } from "./noop";
import type { ExecutionContext, Executor } from "./types";

const EXECUTORS: Readonly<Record<string, Executor>> = {
  noop: noopExecutor,
  delay: delayExecutor,
  http: httpExecutor,
};

/**
 * Runs one attempt with its timeout: the executor's signal is aborted at the deadline and the
 * attempt fails as `timeout` even if the executor ignores the signal. A throw becomes a failure.
 */
export async function executeAttempt(
  run: string,
  params: Record<string, unknown>,
  ctx: Omit<ExecutionContext, "signal" | "deadline">,
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<ExecutionOutcome> {
  const executor = EXECUTORS[run];
  if (executor === undefined) {
    return { ok: false, error: { message: `no executor for run "${run}"`, code: "unknown_executor", retryable: false } };
  }
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<ExecutionOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ok: false, error: { message: `attempt timed out after ${timeoutMs} ms`, code: "timeout", retryable: true } });
    }, timeoutMs);
  });
  try {
    const running = executor
      .execute(params, { ...ctx, signal: controller.signal, deadline: now() + timeoutMs })
      .catch((error: unknown): ExecutionOutcome => ({
        ok: false,
        error: { message: error instanceof Error ? error.message : String(error), code: "executor_error", retryable: false },
      }));
    return await Promise.race([running, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
