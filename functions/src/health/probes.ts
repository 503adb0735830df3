/**
 * The probes that touch the world: HTTP (fetch), Cloud Scheduler and Cloud Monitoring (through the
 * one client factory, clients/google.ts), drift (the firebase executor's `verify`), and a Firestore
 * probe the caller supplies (store/health.ts; this folder has no Firebase imports).
 *
 * `ORCHESTRATOR_PROBE_ENDPOINT` (set by the local stack) sends HTTP probes of `https://host/path`
 * to `<endpoint>/<host>/path` instead: the local control plane serves every provisioned site and
 * function there, with chaos (down/slow/hang) that `npm run chaos` switches.
 *
 * HTTP probes go through the egress policy like http tasks (their URLs come from environment
 * documents, which plans write): a probe of a metadata, link-local or unallowed private address is
 * an `error` without a socket opened. The policy judges the URL really requested, so with a probe
 * endpoint that is the endpoint, which the deployment configured and so may reach.
 */
import type http from "node:http";
import type https from "node:https";
import type { GoogleClients } from "../clients/google";
import { grpcCode } from "../clients/grpc-code";
import { egressConfig } from "../egress/config";
import { withAllowed, type EgressPolicy } from "../egress/policy";
import { egressRequest, EgressRefusedError, type EgressResponse, type LookupFunction } from "../egress/request";
import type { Executor } from "../executors/types";
import type { ProbeOutcome, Probes } from "./checks";

export const PROBE_ENDPOINT_ENV = "ORCHESTRATOR_PROBE_ENDPOINT";

/** Where an HTTP probe of `url` really goes (the local stack's rewrite, or the URL itself). */
export function probeUrl(url: string, endpoint: string | undefined): string {
  if (endpoint === undefined || endpoint === "") return url;
  const u = new URL(url);
  return `${endpoint.replace(/\/$/, "")}/${u.host}${u.pathname}${u.search}`;
}

export interface HttpProbeOptions {
  /** Default: `ORCHESTRATOR_EGRESS_ALLOW` (egress/config.ts). */
  policy?: EgressPolicy;
  lookup?: LookupFunction;
  agent?: http.Agent;
  httpsAgent?: https.Agent;
}

/** Most of an answer's body a probe reads: enough for any health page, bounded for anything else. */
const PROBE_BODY_BYTES = 65_536;

/** The policy for probes: the deployment's, plus the probe endpoint's host (configured by the deployment, not by plans). */
function probePolicy(policy: EgressPolicy, endpoint: string | undefined): EgressPolicy {
  if (endpoint === undefined || endpoint === "") return policy;
  const host = new URL(endpoint).hostname;
  return withAllowed(policy, [host.startsWith("[") ? host.slice(1, -1) : host]);
}

export function httpProbe(endpoint: string | undefined, options: HttpProbeOptions = {}): Probes["http"] {
  // The probe policy of the last base policy seen: a run probes hundreds of URLs under the same
  // one, and deriving it (parsing the endpoint, building the allow-list) for each cost more than
  // checking the URL. Keyed by the base policy itself, so a different one is derived afresh.
  let derived: { base: EgressPolicy; policy: EgressPolicy } | undefined;
  const policyFor = (base: EgressPolicy): EgressPolicy => {
    if (derived?.base !== base) derived = { base, policy: probePolicy(base, endpoint) };
    return derived.policy;
  };
  return async (spec, signal) => {
    const started = performance.now();
    let policy: EgressPolicy;
    try {
      policy = policyFor(options.policy ?? egressConfig().policy);
    } catch (error) {
      return { status: "error", message: `${spec.url}: the egress configuration is invalid: ${errorText(error)}`, httpStatus: null };
    }
    let response: EgressResponse;
    try {
      // Probes do not follow redirects: a 3xx is an answer (the site is up).
      response = await egressRequest(
        probeUrl(spec.url, endpoint),
        { method: "GET", signal, redirect: "manual", maxBodyBytes: PROBE_BODY_BYTES, headers: { "user-agent": "firebase-orchestrator-health/1" } },
        { policy, lookup: options.lookup, agent: options.agent, httpsAgent: options.httpsAgent },
      );
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof EgressRefusedError) return { status: "error", message: `${spec.url}: ${error.message}`, httpStatus: null };
      const e = error as NodeJS.ErrnoException;
      return { status: "down", message: `${spec.url}: ${e.code ?? e.message}`, httpStatus: null };
    }
    const ms = Math.round(performance.now() - started);
    if (response.status >= 400) return { status: "down", message: `${spec.url} answered HTTP ${response.status} in ${ms} ms`, httpStatus: response.status };
    if (ms > spec.slowMs) return { status: "degraded", message: `${spec.url} answered in ${ms} ms (slow: over ${spec.slowMs} ms)`, httpStatus: response.status };
    return { status: "ok", message: null, httpStatus: response.status };
  };
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 200);

export function schedulerProbe(clients: () => GoogleClients, timeoutMs: number): Probes["scheduler"] {
  return async (spec) => {
    try {
      const [job] = await clients().scheduler().getJob({ name: spec.jobName }, { timeout: timeoutMs, maxRetries: 0 });
      if (job.state !== undefined && job.state !== null && job.state !== "ENABLED") return { status: "degraded", message: `${spec.jobName} is ${String(job.state)}` };
      const code = Number(job.status?.code ?? 0);
      if (code !== 0) return { status: "down", message: `${spec.jobName}: last attempt failed (code ${code}${job.status?.message ? `: ${job.status.message}` : ""})` };
      return { status: "ok", message: job.lastAttemptTime ? null : `${spec.jobName} has not run yet` };
    } catch (error) {
      if (grpcCode(error) === 5) return { status: "down", message: `${spec.jobName} is missing (NOT_FOUND)` };
      return { status: "error", message: `Cloud Scheduler GetJob ${spec.jobName}: ${errorText(error)}` };
    }
  };
}

export function uptimeProbe(clients: () => GoogleClients, timeoutMs: number, now: () => number): Probes["uptime"] {
  return async (spec) => {
    const end = now();
    const start = end - spec.lookbackMs;
    const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 });
    try {
      const [series] = await clients()
        .metrics()
        .listTimeSeries(
          {
            name: `projects/${spec.projectId}`,
            filter: 'metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.type="uptime_url"',
            interval: { startTime: ts(start), endTime: ts(end) },
            view: "FULL",
          },
          { timeout: timeoutMs, maxRetries: 0 },
        );
      const points = series.flatMap((s) =>
        (s.points ?? []).map((p) => ({ at: Number(p.interval?.endTime?.seconds ?? 0), passed: p.value?.boolValue === true, check: String(s.metric?.labels?.check_id ?? "?") })),
      );
      if (points.length === 0) return { status: "error", message: `no uptime-check data for ${spec.projectId} in the last ${Math.round(spec.lookbackMs / 60_000)} min` };
      const failed = points.filter((p) => !p.passed);
      const newest = Math.max(...points.map((p) => p.at));
      const latestFailed = points.some((p) => p.at === newest && !p.passed);
      if (latestFailed) return { status: "down", message: `uptime check ${failed[0]!.check} failing: ${failed.length}/${points.length} points failed, including the latest` };
      if (failed.length > 0) return { status: "degraded", message: `uptime check ${failed[0]!.check}: ${failed.length}/${points.length} points failed, latest passed` };
      return { status: "ok", message: null };
    } catch (error) {
      return { status: "error", message: `Cloud Monitoring ListTimeSeries projects/${spec.projectId}: ${errorText(error)}` };
    }
  };
}

export function driftProbe(executor: Executor, timeoutMs: number, now: () => number, runId: () => string): Probes["drift"] {
  return async (spec, signal) => {
    if (executor.verify === undefined) return { status: "skipped", message: "the executor cannot verify" };
    const id = runId();
    const outcome = await executor.verify(spec.params, {
      planId: "health-run",
      taskId: `${spec.environmentId}.${spec.integration}`,
      attempt: 1,
      idempotencyKey: `health-run/${id}/${spec.id}`,
      signal,
      deadline: now() + timeoutMs,
    });
    if (!outcome.ok) {
      if (outcome.error.code === "unknown_integration") return { status: "skipped", message: outcome.error.message };
      return { status: "error", message: `verify: ${outcome.error.message}` };
    }
    if (outcome.report.inSync) return { status: "ok", message: null };
    const first = outcome.report.drift.slice(0, 2).map((d) => `${d.resource} ${d.field}`).join("; ");
    return { status: "degraded", message: `drifted in ${outcome.report.drift.length} place(s): ${first}` };
  };
}

export interface LiveProbeOptions {
  clients: () => GoogleClients;
  executor: Executor;
  firestore: Probes["firestore"];
  checkTimeoutMs: number;
  now: () => number;
  runId: () => string;
  probeEndpoint?: string;
  /** The egress policy of HTTP probes; default: the deployment's (egress/config.ts). */
  egressPolicy?: EgressPolicy;
}

export function liveProbes(o: LiveProbeOptions): Probes {
  return {
    http: httpProbe(o.probeEndpoint, { policy: o.egressPolicy }),
    firestore: o.firestore,
    scheduler: schedulerProbe(o.clients, o.checkTimeoutMs),
    uptime: uptimeProbe(o.clients, o.checkTimeoutMs, o.now),
    drift: driftProbe(o.executor, o.checkTimeoutMs, o.now, o.runId),
  };
}

export type { ProbeOutcome };
