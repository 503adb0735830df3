/**
 * Refresh benchmark: `npm run plan -- --refresh`'s work (refreshPlan: every provision's one reader,
 * then the diff) over 10 environments × 50 provision tasks against the local control plane in its
 * own process, every call delayed 20–200 ms (spread evenly over the calls). The baseline, measured
 * in the same run, is one read alone at the slowest latency (200 ms): a ratio of 1 would be every
 * integration read at once with no sequential read anywhere. Before that, the same tasks are
 * provisioned (without latency) and applied again: the second apply has nothing to change, and
 * must make no mutating call.
 */
import { performance } from "node:perf_hooks";
import { createGoogleClients, googleClientConfigFromEnv } from "../functions/src/clients/google";
import { refreshPlan } from "../functions/src/executors/refresh";
import type { TaskSpec } from "../functions/src/schema/plan";
import { isMutating } from "../local/control-plane";
import { provisionDirectly } from "../local/provision";
import { serveControlPlane } from "./control-plane";
import type { BenchFigure } from "./planner";

const ENVIRONMENTS = 10;
const PER_ENVIRONMENT = 50;
const RUNS = 5;
const SLOWEST_MS = 200;
const INTEGRATIONS = ["authentication", "database", "storage", "hosting", "monitoring", "backup", "security", "health"];

/** 50 provisions per environment: every integration once, and Pub/Sub plumbing (functions) for the rest. */
export function refreshTasks(): TaskSpec[] {
  const tasks: TaskSpec[] = [];
  for (let e = 0; e < ENVIRONMENTS; e++) {
    const projectId = `bench-refresh-${String(e).padStart(2, "0")}`;
    const target = { action: "provision" as const, environment: `env${e}`, projectId, region: "us-central1" };
    for (let i = 0; i < PER_ENVIRONMENT; i++) {
      const integration = INTEGRATIONS[i] ?? "functions";
      const settings = integration === "functions" ? { topics: [{ topic: `events-${i}`, subscriptions: [`events-${i}-worker`], ackDeadlineSeconds: 60 }] } : {};
      tasks.push({ id: `env${e}.${integration}-${i}`, run: "firebase", params: { ...target, integration, settings }, needs: [], triggerRule: "all_success" } as TaskSpec);
    }
  }
  return tasks;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function admin(endpoint: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${endpoint}${path}`, { method, headers: { "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

export async function benchRefresh(): Promise<Record<string, BenchFigure>> {
  const cp = await serveControlPlane();
  const rest = cp.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT!;
  const clients = createGoogleClients(googleClientConfigFromEnv(cp.env));
  try {
    const tasks = refreshTasks();
    await provisionDirectly(tasks, clients, "bench");
    await admin(rest, "DELETE", "/__control/calls").catch(() => undefined);
    const before = ((await admin(rest, "GET", "/__control/calls")) as { calls: Array<{ method: string }> }).calls.length;
    await provisionDirectly(tasks, clients, "bench");
    const calls = ((await admin(rest, "GET", "/__control/calls")) as { calls: Array<{ method: string }> }).calls.slice(before);
    const mutating = calls.filter(isMutating).length;

    const durations: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r <= RUNS; r++) {
      // The baseline: one read alone, at the slowest latency.
      await admin(rest, "POST", "/__control/faults", { match: "GET /v1beta1/projects/", protocol: "rest", latencyMs: SLOWEST_MS, times: 1 });
      const alone = performance.now();
      await clients.rest.request({ service: "firebasehosting", method: "GET", path: "/v1beta1/projects/bench-refresh-00/sites/bench-refresh-00" }, { signal: new AbortController().signal, deadline: Date.now() + 10_000 });
      const baselineMs = performance.now() - alone;
      await admin(rest, "POST", "/__control/faults", { latencyMs: 20, latencyMaxMs: SLOWEST_MS, times: 1_000_000 });
      const started = performance.now();
      const result = await refreshPlan(tasks, clients);
      const ms = performance.now() - started;
      await admin(rest, "DELETE", "/__control/faults");
      if (result.errors.length > 0) throw new Error(`refresh errors: ${JSON.stringify(result.errors.slice(0, 3))}`);
      const changes = result.total.create + result.total.update + result.total.replace;
      if (result.tasks.length !== tasks.length || changes !== 0) throw new Error(`refresh saw ${result.tasks.length} tasks and ${changes} changes (expected ${tasks.length} and 0)`);
      if (r === 0) continue; // warm-up: first sockets, JIT
      durations.push(ms);
      ratios.push(ms / baselineMs);
    }
    return {
      "planner.refresh_10x50_ms": { value: Math.round(median(durations)), unit: "ms", goal: "see ratio (<= 2x the slowest read)" },
      "planner.refresh_ratio_vs_slowest_read": { value: Math.round(median(ratios) * 100) / 100, unit: "x", goal: "<= 2" },
      "executors.noop_apply_mutations": { value: mutating, unit: "calls", goal: "0" },
    };
  } finally {
    await clients.close();
    cp.child.kill("SIGTERM");
  }
}

if (require.main === module) {
  void benchRefresh().then((figures) => console.log(JSON.stringify(figures, null, 2)));
}
