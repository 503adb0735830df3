/** Which executor runs which `run` kind, and the deadline every attempt runs under. */
import type { ExecutionOutcome } from "../engine/task";
import { delayExecutor } from "./delay";
import { firebaseExecutor } from "./firebase";
import { httpExecutor } from "./http";
import { noopExecutor } from "./noop";
import type { ExecutionContext, Executor } from "./types";

const EXECUTORS: Readonly<Record<string, Executor>> = {
  noop: noopExecutor,
  delay: delayExecutor,
  http: httpExecutor,
  firebase: firebaseExecutor,
};

type Step = (executor: Executor, ctx: ExecutionContext) => Promise<ExecutionOutcome> | undefined;

/** What the engine hands an attempt: the context without the parts the deadline owns, plus a cancel signal. */
export type AttemptContext = Omit<ExecutionContext, "signal" | "deadline"> & { cancel?: AbortSignal };

/** Whether the executor of `run` can undo its own work (so rollback has something to call). */
export function executorCompensates(run: string): boolean {
  return typeof EXECUTORS[run]?.compensate === "function";
}

/**
 * Runs one step with its timeout: the executor's signal is aborted at the deadline and the step
 * fails as `timeout` even if the executor ignores the signal. A throw becomes a failure.
 */
async function runWithDeadline(
  run: string,
  step: Step,
  ctx: AttemptContext,
  timeoutMs: number,
  now: () => number,
  what: string,
): Promise<ExecutionOutcome> {
  const executor = EXECUTORS[run];
  if (executor === undefined) {
    return { ok: false, error: { message: `no executor for run "${run}"`, code: "unknown_executor", retryable: false } };
  }
  const controller = new AbortController();
  const { cancel, ...context } = ctx;
  // A cancelled plan aborts the attempt the same way its deadline does.
  const cancelled = new Promise<ExecutionOutcome>((resolve) => {
    const onCancel = () => {
      controller.abort();
      resolve({ ok: false, error: { message: `${what} aborted: the plan was cancelled`, code: "cancelled", retryable: false } });
    };
    if (cancel?.aborted) onCancel();
    else cancel?.addEventListener("abort", onCancel, { once: true });
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<ExecutionOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ok: false, error: { message: `${what} timed out after ${timeoutMs} ms`, code: "timeout", retryable: true } });
    }, timeoutMs);
  });
  try {
    let started: Promise<ExecutionOutcome> | undefined;
    try {
      started = step(executor, { ...context, signal: controller.signal, deadline: now() + timeoutMs });
    } catch (error) {
      started = Promise.reject(error);
    }
    // An executor without this step has nothing to undo.
    if (started === undefined) return { ok: true, output: null };
    const running = started.catch((error: unknown): ExecutionOutcome => ({
      ok: false,
      error: { message: error instanceof Error ? error.message : String(error), code: "executor_error", retryable: false },
    }));
    return await Promise.race([running, timedOut, cancelled]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs one attempt of `execute` under its timeout. */
export async function executeAttempt(
  run: string,
  params: Record<string, unknown>,
  ctx: AttemptContext,
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<ExecutionOutcome> {
  return runWithDeadline(run, (executor, full) => executor.execute(params, full), ctx, timeoutMs, now, "attempt");
}

/**
 * Runs one attempt of `compensate` under the same timeout semantics. An executor without
 * `compensate` succeeds with `null` output: it created nothing that needs undoing.
 */
export async function compensateAttempt(
  run: string,
  params: Record<string, unknown>,
  ctx: AttemptContext,
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<ExecutionOutcome> {
  return runWithDeadline(run, (executor, full) => executor.compensate?.(params, full), ctx, timeoutMs, now, "compensation");
}
