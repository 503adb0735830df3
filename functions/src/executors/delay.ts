/**
 * `delay`: waits `params.ms`, honouring the abort signal. A task's delay longer than
 * IN_INVOCATION_DELAY_MAX_MS never sleeps here: it sleeps durably, outside any invocation
 * (engine/task.ts decideClaim, runtime/run-task.ts), and succeeds without calling this.
 * A long one that does get here (a compensation step) and cannot end before its attempt's
 * deadline fails at once, instead of holding the invocation until the deadline aborts it.
 */
import { IN_INVOCATION_DELAY_MAX_MS } from "../engine/task";
import { delayParamsSchema } from "../schema/plan";
import type { Executor } from "./types";

export const delayExecutor: Executor = {
  async execute(params, ctx) {
    const { ms } = delayParamsSchema.parse(params);
    if (ms > IN_INVOCATION_DELAY_MAX_MS && Date.now() + ms > ctx.deadline) {
      return {
        ok: false,
        error: { message: `a delay of ${ms} ms cannot end before its attempt's deadline (${Math.max(0, ctx.deadline - Date.now())} ms away)`, code: "delay_too_long", retryable: false },
      };
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    if (ctx.signal.aborted) return { ok: false, error: { message: `delay of ${ms} ms aborted`, code: "aborted", retryable: true } };
    return { ok: true, output: { waitedMs: ms } };
  },
};
