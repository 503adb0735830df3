/**
 * The check engine: which checks an environment gets, and running them all at once, each with its
 * own timeout and all under one deadline (started in slices, those slowest last time first). A
 * probe that throws is `error`, one that hangs is `timeout`: neither stops the run. Probes are
 * injected (health/probes.ts talks to the world), so this module is deterministic given its probes
 * and clock.
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
  /**
   * How long a check is expected to take (its last latency), when known: those expected to be
   * slowest start first (unknown ones before all), since starting hundreds of checks takes the
   * event loop several ms, and a slow check started last would end the run that much later.
   */
  expectedMs?: (spec: CheckSpec) => number | undefined;
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

/**
 * A check's result, its fields written out: a run makes hundreds at once, and V8 builds an object
 * literal that spreads another and adds fields (`{ ...base, status }`) many times slower than this.
 */
function checkResult(spec: CheckSpec, at: number, status: CheckStatus, latencyMs: number, message: string | null, httpStatus: number | null): CheckResult {
  return { id: spec.id, environmentId: spec.environmentId, integration: spec.integration, kind: spec.kind, target: spec.target, at, status, latencyMs, message, httpStatus };
}

const failureMessage = (error: unknown): string => clip(`check failed: ${error instanceof Error ? error.message : String(error)}`);

/**
 * One check under its timeout and the run's deadline; never rejects. One promise, settled by
 * whichever comes first, the probe or the timer, rather than a race of two: a run sets up hundreds
 * of these in one go before its first request leaves, so what each costs delays them all.
 */
export function runCheck(spec: CheckSpec, probes: Probes, opts: RunChecksOptions): Promise<CheckResult> {
  const at = opts.now();
  const budget = Math.max(0, Math.min(opts.checkTimeoutMs, opts.deadline - at));
  const controller = new AbortController();
  return new Promise<CheckResult>((resolve) => {
    let settled = false;
    const settle = (result: () => CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result());
    };
    const timer = setTimeout(() => {
      controller.abort();
      const cause = budget < opts.checkTimeoutMs ? "the run's deadline" : `its ${opts.checkTimeoutMs} ms timeout`;
      settle(() => checkResult(spec, at, "timeout", budget, `no answer within ${cause}`, null));
    }, budget);
    const failed = (error: unknown): CheckResult => checkResult(spec, at, "error", Math.max(0, opts.now() - at), failureMessage(error), null);
    const answered = (outcome: ProbeOutcome): CheckResult => {
      try {
        return checkResult(spec, at, outcome.status, Math.max(0, opts.now() - at), outcome.message ? clip(outcome.message) : null, outcome.httpStatus ?? null);
      } catch (error) {
        return failed(error); // not an outcome at all
      }
    };
    let probe: Promise<ProbeOutcome>;
    try {
      probe = dispatch(spec, probes, controller.signal);
    } catch (error) {
      // A probe that throws synchronously is an error too, settled like a rejection.
      probe = Promise.reject(error);
    }
    Promise.resolve(probe).then(
      (outcome) => settle(() => answered(outcome)),
      (error: unknown) => settle(() => failed(error)),
    );
  });
}

/** The order to start `specs` in (indices): slowest expected first, unknown before all, ties in their order. */
export function startOrder(specs: readonly CheckSpec[], expectedMs: RunChecksOptions["expectedMs"]): number[] {
  const order = specs.map((_, i) => i);
  if (expectedMs === undefined) return order;
  const expected = specs.map((spec) => expectedMs(spec) ?? Infinity);
  return order.sort((a, b) => expected[b]! - expected[a]! || a - b);
}

/**
 * Checks started before the event loop gets a turn. A started request only goes out once the loop
 * sees its connection made, so starting 500 at once kept every one of them, the slowest included,
 * off the wire until all 500 were set up (tens of ms); in slices the first are on their way while
 * the rest are set up.
 */
const START_SLICE = 25;

/** Every check in parallel: the run takes as long as its slowest check (bounded by the deadline). Results are in the order of `specs`. */
export async function runChecks(specs: readonly CheckSpec[], probes: Probes, opts: RunChecksOptions): Promise<CheckResult[]> {
  const order = startOrder(specs, opts.expectedMs);
  const started: Array<Promise<CheckResult>> = [];
  for (let k = 0; k < order.length; k += 1) {
    if (k > 0 && k % START_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    started.push(runCheck(specs[order[k]!]!, probes, opts));
  }
  const results = new Array<CheckResult>(specs.length);
  (await Promise.all(started)).forEach((result, k) => (results[order[k]!] = result));
  return results;
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
