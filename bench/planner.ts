/**
 * Planner benchmarks: how long validating and compiling a plan takes, and how that compares with
 * a plain topological sort of the same graph measured in the same run (so the ratio does not
 * depend on the machine). Each figure is the median of several runs after a warm-up.
 */
import { performance } from "node:perf_hooks";
import { INTEGRATIONS, type IntegrationEntry } from "../functions/src/planner/catalogue";
import { compilePlan } from "../functions/src/planner/compile";

export interface BenchFigure {
  value: number;
  unit: string;
  goal: string;
}

const RUNS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function timeMedian(work: () => void): number {
  work();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    work();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

/** A 10,000-task DAG where each task needs up to three earlier ones (deterministic, no randomness). */
function explicitPlan(size: number): { tasks: Array<{ id: string; run: "noop" | "delay"; params?: { ms: number }; needs: string[] }> } {
  const tasks = Array.from({ length: size }, (_, i) => {
    const needs = [...new Set([i - 1, Math.floor(i / 2) - 1, i - 97].filter((n) => n >= 0 && n < i))].map((n) => `task-${n}`);
    return i % 3 === 0 ? { id: `task-${i}`, run: "delay" as const, params: { ms: (i % 50) * 10 }, needs } : { id: `task-${i}`, run: "noop" as const, needs };
  });
  return { tasks };
}

/** Plain Kahn's algorithm over the same ids and needs: the baseline the planner's cost is compared with. */
function topologicalSort(tasks: ReadonlyArray<{ id: string; needs: readonly string[] }>): string[] {
  const dependents = new Map<string, string[]>();
  const inDegree = new Map<string, number>();
  for (const t of tasks) {
    dependents.set(t.id, []);
    inDegree.set(t.id, t.needs.length);
  }
  for (const t of tasks) for (const n of t.needs) dependents.get(n)!.push(t.id);
  const queue = tasks.filter((t) => t.needs.length === 0).map((t) => t.id);
  for (let head = 0; head < queue.length; head++) {
    for (const d of dependents.get(queue[head]!)!) {
      const left = inDegree.get(d)! - 1;
      inDegree.set(d, left);
      if (left === 0) queue.push(d);
    }
  }
  return queue;
}

/** The real catalogue plus synthetic integrations up to `count`, each needing up to two earlier ones. */
function largeCatalogue(count: number): Record<string, IntegrationEntry> {
  const catalogue: Record<string, IntegrationEntry> = { ...INTEGRATIONS };
  const ids = Object.keys(catalogue);
  for (let i = ids.length; i < count; i++) {
    const id = `extra-${i}`;
    catalogue[id] = { ...INTEGRATIONS.storage!, needs: [ids[i - 1]!, ids[Math.floor(i / 3)]!].filter((v, j, all) => all.indexOf(v) === j), healthChecks: [`${id}.probe`], durationSeconds: 30 + (i % 7) * 10 };
    ids.push(id);
  }
  return catalogue;
}

function environmentPlan(environments: number, catalogue: Record<string, IntegrationEntry>): Record<string, unknown> {
  const tiers = ["development", "staging", "production"] as const;
  return {
    goals: [{ id: "high_availability" }],
    constraints: { budgetUsdPerMonth: 100_000, requireApprovalFor: ["production"] },
    environments: Array.from({ length: environments }, (_, i) => ({
      name: `env-${i}`,
      tier: tiers[Math.min(2, Math.floor((i * 3) / environments))],
      projectId: `bench-project-${i}`,
      region: "us-central1",
      integrations: Object.keys(catalogue),
    })),
  };
}

export async function benchPlanner(): Promise<Record<string, BenchFigure>> {
  const plan = explicitPlan(10_000);
  const compile10k = timeMedian(() => {
    if (!compilePlan(plan).ok) throw new Error("benchmark plan did not compile");
  });
  const toposort = timeMedian(() => {
    if (topologicalSort(plan.tasks).length !== plan.tasks.length) throw new Error("benchmark graph has a cycle");
  });

  const catalogue = largeCatalogue(50);
  const envDoc = environmentPlan(10, catalogue);
  const env10x50 = timeMedian(() => {
    const result = compilePlan(envDoc, { catalogue });
    if (!result.ok || result.plan.tasks.length < 500) throw new Error("benchmark environment plan did not compile");
  });

  const round = (ms: number): number => Math.round(ms * 100) / 100;
  return {
    "planner.compile_10k_ms": { value: round(compile10k), unit: "ms", goal: "< 250 ms: validate + compile a 10,000-task explicit plan" },
    "planner.env_10x50_ms": { value: round(env10x50), unit: "ms", goal: "< 100 ms: 10 environments × 50 integrations (510+ tasks) with cost, risks, compliance" },
    "planner.ratio_vs_toposort": { value: Math.round((compile10k / toposort) * 10) / 10, unit: "x", goal: "< 30x a plain topological sort of the same graph (zod validation dominates)" },
  };
}
