/**
 * Health-run benchmark: one full run (checks, rollups, goals, compliance, alerts, forecast, commit)
 * over 10 environments × 50 integrations, each integration an HTTP endpoint served by the local
 * control plane on localhost with a fixed latency between 20 and 200 ms (real sockets, real HTTP requests).
 * The control plane runs in its own process (local/control-plane/serve.ts), as a real server would.
 * Storage is the in-memory HealthStore (health/memory-store.ts): this measures the check engine,
 * not Firestore. The ratio's baseline is the slowest single check (the 200 ms endpoint) probed
 * alone, by the same probe code, just before each run: 1.0 would be perfect parallelism with no
 * overhead. Figures are the median of several runs after two warm-up runs: the first opens the
 * first sockets and compiles the code, but the second still spent up to twice the steady CPU per
 * check, on the two cores the run and the control plane share.
 *
 * The control plane has its own event loop but shares the machine's cores (two on the reference
 * machine): in a run it spends about half as much CPU as the run does (accepting and answering 500
 * connections), which the lone baseline probe does not compete with. The measured runs follow the
 * warm-ups, so each has the previous run's latencies and starts the checks that were slowest first
 * (health/checks.ts), as every scheduled run but an environment's first does.
 * `health.cpu_ms_per_check` is the run's own CPU (user + system, this process) per check: the
 * overhead the ratio hides when it is spent while the slowest check is waiting for its answer.
 */
import { performance } from "node:perf_hooks";
import { serveControlPlane } from "./control-plane";
import { createFirebaseExecutor } from "../functions/src/executors/firebase";
import { DEFAULT_HEALTH_CONFIG, type HealthConfig } from "../functions/src/health/config";
import type { EnvironmentInput } from "../functions/src/health/environments";
import { MemoryHealthStore } from "../functions/src/health/memory-store";
import { httpProbe, liveProbes } from "../functions/src/health/probes";
import { performHealthRun } from "../functions/src/health/run";
import { createGoogleClients, googleClientConfigFromEnv } from "../functions/src/clients/google";

export interface BenchFigure {
  value: number;
  unit: string;
  goal: string;
}

const ENVIRONMENTS = 10;
const INTEGRATIONS = 50;
const RUNS = 5;
const WARM_UPS = 2;

/** Deterministic spread of 20–200 ms over the 500 endpoints (the slowest is exactly 200 ms). */
export const latencyOf = (env: number, integration: number): number => 20 + ((env * INTEGRATIONS + integration) * 37) % 181;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function benchHealth(): Promise<Record<string, BenchFigure>> {
  const cp = await serveControlPlane();
  const admin = cp.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT!;
  try {
    const endpoints: Array<{ host: string; pathPrefix: string; latencyMs: number }> = [];
    const environments: EnvironmentInput[] = [];
    for (let e = 0; e < ENVIRONMENTS; e++) {
      const id = `bench-env-${String(e).padStart(2, "0")}`;
      const integrations: EnvironmentInput["integrations"] = {};
      for (let i = 0; i < INTEGRATIONS; i++) {
        const name = `svc-${String(i).padStart(2, "0")}`;
        endpoints.push({ host: `${id}.web.app`, pathPrefix: `/${name}`, latencyMs: latencyOf(e, i) });
        integrations[name] = { desired: null, observed: { url: `https://${id}.web.app/${name}` }, inSync: true, action: "provision", at: 0 };
      }
      environments.push({ id, integrations, health: null, uptimeDays: {}, plan: null, configError: null });
    }
    const set = await fetch(`${admin}/__control/endpoints`, { method: "POST", body: JSON.stringify({ endpoints }) });
    if (!set.ok) throw new Error(`setting endpoints failed: HTTP ${set.status} ${await set.text()}`);
    const config: HealthConfig = { ...DEFAULT_HEALTH_CONFIG, slowMs: 1_000, driftChecks: false };
    const clients = createGoogleClients(googleClientConfigFromEnv(cp.env));
    const store = new MemoryHealthStore(environments);
    const deps = {
      store,
      probes: liveProbes({
        clients: () => clients,
        executor: createFirebaseExecutor(() => clients),
        firestore: async () => ({ status: "ok" as const }),
        checkTimeoutMs: config.checkTimeoutMs,
        now: Date.now,
        runId: () => "bench",
        probeEndpoint: cp.probeEnv.ORCHESTRATOR_PROBE_ENDPOINT,
      }),
      publishAlerts: async () => undefined,
      now: Date.now,
      config,
    };
    let slowest = { env: 0, integration: 0 };
    for (let e = 0; e < ENVIRONMENTS; e++) for (let i = 0; i < INTEGRATIONS; i++) if (latencyOf(e, i) > latencyOf(slowest.env, slowest.integration)) slowest = { env: e, integration: i };
    const slowUrl = `https://bench-env-${String(slowest.env).padStart(2, "0")}.web.app/svc-${String(slowest.integration).padStart(2, "0")}`;
    const single = httpProbe(cp.probeEnv.ORCHESTRATOR_PROBE_ENDPOINT);
    const durations: number[] = [];
    const ratios: number[] = [];
    const cpuPerCheck: number[] = [];
    for (let r = 0; r < WARM_UPS + RUNS; r++) {
      const alone = performance.now();
      const lone = await single({ id: "baseline", environmentId: "bench", integration: "baseline", target: slowUrl, kind: "http", url: slowUrl, slowMs: 1_000 }, new AbortController().signal);
      const baselineMs = performance.now() - alone;
      if (lone.status !== "ok") throw new Error(`baseline probe of ${slowUrl}: ${lone.status} ${lone.message ?? ""}`);
      const cpu = process.cpuUsage();
      const started = performance.now();
      const outcome = await performHealthRun(deps, { runId: `bench-${r}`, trigger: "request", requestedBy: "bench" });
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      if (outcome.kind !== "done") throw new Error(`bench run skipped: ${outcome.reason}`);
      const checks = outcome.report.summary.checks;
      if (checks !== ENVIRONMENTS * INTEGRATIONS || (outcome.report.summary.byStatus.ok ?? 0) !== checks) {
        throw new Error(`bench run checked ${checks} endpoints, ${JSON.stringify(outcome.report.summary.byStatus)}`);
      }
      if (r < WARM_UPS) continue; // first sockets, JIT
      durations.push(ms);
      ratios.push(ms / baselineMs);
      cpuPerCheck.push((used.user + used.system) / 1000 / checks);
    }
    await clients.close();
    return {
      "health.run_10x50_ms": { value: Math.round(median(durations)), unit: "ms", goal: "< 3000" },
      "health.ratio_vs_slowest_check": { value: Math.round(median(ratios) * 100) / 100, unit: "x", goal: "<= 1.25" },
      "health.cpu_ms_per_check": { value: Math.round(median(cpuPerCheck) * 1000) / 1000, unit: "ms", goal: "informational: the run's CPU per check, HTTP client included" },
    };
  } finally {
    cp.child.kill("SIGTERM");
  }
}

if (require.main === module) {
  void benchHealth().then((figures) => console.log(JSON.stringify(figures, null, 2)));
}
