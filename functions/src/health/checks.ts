/**
 * The check engine: which checks an environment gets, and running them all at once, each with its
 * own timeout and all under one deadline. A probe that throws is `error`, one that hangs is
 * `timeout`: neither stops the run. Probes are injected (health/probes.ts talks to the world), so
 * this module is deterministic given its probes and clock.
 */
import type { CheckKind, CheckResult, CheckStatus, IntegrationHealth } from "../schema/health";

interface SpecBase {
  /** `<envId>/<integration>/<kind>` */
  id: string;
  environmentId: string;
  integration: string;
  target: string;
}

export type CheckSpec =
  | (SpecBase & { kind: "http"; url: string; slowMs: number })
  | (SpecBase & { kind: "firestore"; projectId: string })
  | (SpecBase & { kind: "scheduler"; jobName: string })
  | (SpecBase & { kind: "uptime"; projectId: string; lookbackMs: number })
  | (SpecBase & { kind: "drift"; params: Record<string, unknown> });

/** What a probe found. Latency is measured by the engine unless the probe knows better. */
export interface ProbeOutcome {
  status: Exclude<CheckStatus, "timeout" | "skipped"> | "skipped";
  message?: string | null;
  httpStatus?: number | null;
}

export type Probe<K extends CheckKind> = (spec: Extract<CheckSpec, { kind: K }>, signal: AbortSignal) => Promise<ProbeOutcome>;

export interface Probes {
  http: Probe<"http">;
  firestore: Probe<"firestore">;
  scheduler: Probe<"scheduler">;
  uptime: Probe<"uptime">;
  drift: Probe<"drift">;
}

export interface RunChecksOptions {
  checkTimeoutMs: number;
  /** Epoch ms (by `now`) after which every unfinished check is `timeout`. */
  deadline: number;
  now: () => number;
}

const MESSAGE_CHARS = 300;
export const clip = (text: string): string => (text.length <= MESSAGE_CHARS ? text : `${text.slice(0, MESSAGE_CHARS - 1)}…`);

function dispatch(spec: CheckSpec, probes: Probes, signal: AbortSignal): Promise<ProbeOutcome> {
  switch (spec.kind) {
    case "http":
      return probes.http(spec, signal);
    case "firestore":
      return probes.firestore(spec, signal);
    case "scheduler":
      return probes.scheduler(spec, signal);
    case "uptime":
      return probes.uptime(spec, signal);
    case "drift":
      return probes.drift(spec, signal);
  }
}

/** One check under its timeout and the run's deadline; never rejects. */
export async function runCheck(spec: CheckSpec, probes: Probes, opts: RunChecksOptions): Promise<CheckResult> {
  const at = opts.now();
  const budget = Math.max(0, Math.min(opts.checkTimeoutMs, opts.deadline - at));
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), budget);
  });
  const base = { id: spec.id, environmentId: spec.environmentId, integration: spec.integration, kind: spec.kind, target: spec.target, at };
  try {
    const outcome = await Promise.race([
      // A probe that throws synchronously is an error too: wrap it in the promise chain.
      Promise.resolve().then(() => dispatch(spec, probes, controller.signal)),
      timedOut,
    ]);
    if (outcome === "timeout") {
      controller.abort();
      const cause = budget < opts.checkTimeoutMs ? "the run's deadline" : `its ${opts.checkTimeoutMs} ms timeout`;
      return { ...base, status: "timeout", latencyMs: budget, message: `no answer within ${cause}`, httpStatus: null };
    }
    return {
      ...base,
      status: outcome.status,
      latencyMs: Math.max(0, opts.now() - at),
      message: outcome.message ? clip(outcome.message) : null,
      httpStatus: outcome.httpStatus ?? null,
    };
  } catch (error) {
    return { ...base, status: "error", latencyMs: Math.max(0, opts.now() - at), message: clip(`check failed: ${error instanceof Error ? error.message : String(error)}`), httpStatus: null };
  } finally {
    clearTimeout(timer);
  }
}

/** Every check in parallel: the run takes as long as its slowest check (bounded by the deadline). */
export function runChecks(specs: readonly CheckSpec[], probes: Probes, opts: RunChecksOptions): Promise<CheckResult[]> {
  return Promise.all(specs.map((spec) => runCheck(spec, probes, opts)));
}

/** Worst first: what an integration or environment shows when its checks disagree. */
const SEVERITY_ORDER: Readonly<Record<CheckStatus, number>> = { down: 5, timeout: 4, error: 3, degraded: 2, ok: 1, skipped: 0 };

export function worstStatus(statuses: readonly CheckStatus[]): CheckStatus {
  let worst: CheckStatus = "skipped";
  for (const s of statuses) if (SEVERITY_ORDER[s] > SEVERITY_ORDER[worst]) worst = s;
  return worst;
}

/** A failing status for alerts: down, timeout, error, degraded. */
export const isFailing = (s: CheckStatus): boolean => s !== "ok" && s !== "skipped";

export function integrationHealth(integration: string, results: readonly CheckResult[]): IntegrationHealth {
  const status = worstStatus(results.map((r) => r.status));
  const worst = results.find((r) => r.status === status && r.message !== null);
  return {
    integration,
    status,
    latencyMs: results.reduce((max, r) => Math.max(max, r.latencyMs), 0),
    message: status === "ok" || status === "skipped" ? null : (worst?.message ?? null),
  };
}

/** Checks that say whether users can reach the environment: the ones that count against goals. */
export const AVAILABILITY_KINDS: ReadonlySet<CheckKind> = new Set<CheckKind>(["http", "uptime"]);
