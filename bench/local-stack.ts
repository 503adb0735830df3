/**
 * End-to-end benchmarks on the local stack: wall time from writing a plan document to its final
 * status, through the Firestore emulator, Pub/Sub emulator and the functions emulator. The
 * baseline is the same machine's time for one empty plan (a single noop task) measured in the same
 * run, so ratios say how the engine scales, not how fast this machine is.
 */
import { performance } from "node:perf_hooks";
import type { Firestore } from "firebase-admin/firestore";
import { demoTaskPlan } from "../local/demo-plan";
import { followPlan } from "../local/progress";
import type { BenchFigure } from "./planner";

async function timePlan(db: Firestore, name: string, spec: Record<string, unknown>): Promise<number> {
  const planId = `bench-${name}-${Date.now().toString(36)}`;
  const start = performance.now();
  await db.collection("plans").doc(planId).set(spec);
  const outcome = await followPlan(db, planId, { print: false, timeoutMs: 15 * 60_000 });
  if (outcome.status !== "succeeded") throw new Error(`bench plan ${name} ended ${outcome.status}`);
  return performance.now() - start;
}

export async function benchLocalStack(db: Firestore, log: (line: string) => void): Promise<Record<string, BenchFigure>> {
  const n = 1_000;
  // Warm the function workers first, so the first measured plan does not pay their start-up.
  await timePlan(db, "warmup", { tasks: [{ id: "a", run: "noop" }, { id: "b", run: "noop", needs: ["a"] }] });
  const single = await timePlan(db, "single", { tasks: [{ id: "only", run: "noop" }] });
  log(`single noop task: ${single.toFixed(0)} ms`);
  const demo = await timePlan(db, "demo", demoTaskPlan(0));
  log(`demo plan (22 tasks, no delays): ${demo.toFixed(0)} ms`);
  const chain = await timePlan(db, "chain", { tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, run: "noop", needs: i === 0 ? [] : [`t${i - 1}`] })) });
  log(`1,000-task chain: ${chain.toFixed(0)} ms`);
  const fanout = await timePlan(db, "fanout", {
    tasks: [{ id: "root", run: "noop" }, ...Array.from({ length: n }, (_, i) => ({ id: `leaf${i}`, run: "noop", needs: ["root"] }))],
  });
  log(`1,000-task fan-out: ${fanout.toFixed(0)} ms`);
  return {
    "stack.single_task_ms": { value: Math.round(single), unit: "ms", goal: "baseline for the ratios below" },
    "stack.demo_plan_ms": { value: Math.round(demo), unit: "ms", goal: "< 10 s on the local stack" },
    "stack.chain_1000_ms": { value: Math.round(chain), unit: "ms", goal: "informational: 1,000 sequential hops" },
    "stack.chain_1000_ms_per_task": { value: Math.round(chain / n), unit: "ms/task", goal: "≤ 2 × single-task time per hop" },
    "stack.chain_1000_ratio_vs_single": { value: +(chain / n / single).toFixed(2), unit: "ratio", goal: "≤ 2" },
    "stack.fanout_1000_ms": { value: Math.round(fanout), unit: "ms", goal: "informational: bounded by the functions emulator's workers (the engine alone: engine.fanout_5000_s)" },
  };
}
