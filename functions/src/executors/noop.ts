/** `noop`: succeeds at once. Useful for joins, milestones and tests. */
import type { Executor } from "./types";

export const noopExecutor: Executor = {
  execute: async () => ({ ok: true, output: null }),
};
