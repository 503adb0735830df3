/** `delay`: waits `params.ms`, honouring the abort signal. */
import { delayParamsSchema } from "../schema/plan";
import type { Executor } from "./types";

export const delayExecutor: Executor = {
  async execute(params, ctx) {
    const { ms } = delayParamsSchema.parse(params);
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
