/**
 * The one place that builds Google API clients. Production: Application Default Credentials and
 * Google's endpoints. Locally (tests, the local stack): the endpoints in `ORCHESTRATOR_GOOGLE_*`
 * environment variables, reached over an insecure channel with no credential lookup, because these
 * clients have no emulator variable of their own (see docs/google-apis.md).
 *
 * Every call goes out with an explicit timeout and an abort signal: the clients' default total
 * timeout is 600 s, which would outlive any task attempt. The executors' calls also draw on the
 * clients' rate budgets (rate-budget.ts, `ORCHESTRATOR_API_BUDGETS`), one set per process.
 */
import { CloudSchedulerClient } from "@google-cloud/scheduler";
import { AlertPolicyServiceClient, MetricServiceClient, UptimeCheckServiceClient } from "@google-cloud/monitoring";
import { v1 as pubsubV1 } from "@google-cloud/pubsub";
import { GoogleAuth, grpc, type CallOptions, type ClientOptions } from "google-gax";
import { logs } from "../logs";
import { apiBudgetsFromEnv, RateBudgets, type ApiBudgets } from "./rate-budget";

/** Environment variables the factory reads; `startControlPlane()` returns values for all of them. */
export const GOOGLE_ENV = {
  /** `host:port` of a local gRPC server speaking Cloud Scheduler and Cloud Monitoring. */
  grpcEndpoint: "ORCHESTRATOR_GOOGLE_GRPC_ENDPOINT",
  /** `http://host:port` of a local HTTP server speaking the REST-only Firebase APIs. */
  restEndpoint: "ORCHESTRATOR_GOOGLE_REST_ENDPOINT",
  /** `host:port` for Pub/Sub admin calls; defaults to the gRPC endpoint when that is set. */
  pubsubEndpoint: "ORCHESTRATOR_PUBSUB_ENDPOINT",
  /** Upper bound of one API call in ms (default 30 000); the attempt's deadline may cut it shorter. */
  callTimeoutMs: "ORCHESTRATOR_GOOGLE_CALL_TIMEOUT_MS",
} as const;

export interface HostPort {
  host: string;
  port: number;
}

export interface GoogleClientConfig {
  grpcEndpoint?: HostPort;
  restEndpoint?: string;
  pubsubEndpoint?: HostPort;
  callTimeoutMs: number;
  /** Per-API rate budgets (`ORCHESTRATOR_API_BUDGETS`; absent: rate-budget.ts DEFAULT_BUDGETS). */
  budgets?: ApiBudgets;
}

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

function parseHostPort(value: string | undefined, variable: string): HostPort | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  if (match === null) throw new Error(`${variable}="${value}" is not host:port (e.g. 127.0.0.1:50051)`);
  return { host: match[1]!, port: Number(match[2]) };
}

/** Reads the configuration once from the environment; throws on a malformed value (a setup error). */
export function googleClientConfigFromEnv(env: NodeJS.ProcessEnv = process.env): GoogleClientConfig {
  const grpcEndpoint = parseHostPort(env[GOOGLE_ENV.grpcEndpoint], GOOGLE_ENV.grpcEndpoint);
  const rest = env[GOOGLE_ENV.restEndpoint]?.trim();
  if (rest !== undefined && rest !== "" && !/^https?:\/\/[^/]+\/?$/.test(rest)) {
    throw new Error(`${GOOGLE_ENV.restEndpoint}="${rest}" is not an http(s)://host:port origin`);
  }
  const timeout = Number(env[GOOGLE_ENV.callTimeoutMs] ?? DEFAULT_CALL_TIMEOUT_MS);
  return {
    grpcEndpoint,
    restEndpoint: rest === undefined || rest === "" ? undefined : rest.replace(/\/$/, ""),
    pubsubEndpoint: parseHostPort(env[GOOGLE_ENV.pubsubEndpoint], GOOGLE_ENV.pubsubEndpoint) ?? grpcEndpoint,
    callTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_CALL_TIMEOUT_MS,
    budgets: apiBudgetsFromEnv(env, { local: grpcEndpoint !== undefined || (rest !== undefined && rest !== "") }),
  };
}

/** The REST-only APIs the executors call, by their production host prefix. */
export type RestService = "firebaserules" | "firebasehosting" | "identitytoolkit" | "firestore";

export interface RestRequest {
  service: RestService;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Path after the host, starting with the API version, e.g. `/v1/projects/p/rulesets`. */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

/** A REST answer outside 2xx, shaped like Google's JSON error (`error.code/status/message`). */
export class RestApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: string | undefined,
    message: string,
    readonly service: RestService,
    /** How long the server asked to wait before trying again (`Retry-After`, or a `google.rpc.RetryInfo` detail). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "RestApiError";
  }
}

/** `Retry-After` in seconds or as an HTTP date, in ms from `now`. */
export function retryAfterHeaderMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** A `google.rpc.RetryInfo` detail of a JSON error (`"retryDelay": "1.5s"`), in ms. */
function retryInfoMs(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const d of details as Array<{ "@type"?: unknown; retryDelay?: unknown }>) {
    if (d?.["@type"] !== "type.googleapis.com/google.rpc.RetryInfo" || typeof d.retryDelay !== "string") continue;
    const m = /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay.trim());
    if (m !== null) return Math.round(Number(m[1]) * 1000);
  }
  return undefined;
}

/** Per-call limits: the smaller of the configured call timeout and what is left of the attempt. */
export interface CallLimits {
  signal: AbortSignal;
  /** Epoch ms by which the attempt must finish. */
  deadline: number;
}

export interface RestCaller {
  request<T>(req: RestRequest, limits: CallLimits): Promise<T>;
}

export interface GoogleClients {
  readonly config: GoogleClientConfig;
  scheduler(): CloudSchedulerClient;
  uptimeChecks(): UptimeCheckServiceClient;
  alertPolicies(): AlertPolicyServiceClient;
  metrics(): MetricServiceClient;
  publisher(): pubsubV1.PublisherClient;
  subscriber(): pubsubV1.SubscriberClient;
  rest: RestCaller;
  /** The rate budgets the executors' calls draw on (absent: unbudgeted). */
  budgets?: RateBudgets;
  /** gax options for one call under these limits: explicit timeout, never the 600 s default. */
  callOptions(limits: CallLimits): CallOptions;
  close(): Promise<void>;
}

/** Options for a gax client: insecure local channel with no credential lookup, or Google's defaults. */
function gaxOptions(endpoint: HostPort | undefined): ClientOptions {
  if (endpoint === undefined) return {};
  return {
    apiEndpoint: endpoint.host,
    port: endpoint.port,
    // grpc must be google-gax's own copy: a credentials object from another copy of @grpc/grpc-js
    // is rejected inside initialize() as an uncaught exception that ends the process.
    sslCreds: grpc.credentials.createInsecure(),
    // Without a universe domain (or authClient) the client looks for ADC and probes the metadata server.
    universeDomain: "googleapis.com",
    projectId: "local-control-plane",
  };
}

export function remainingMs(limits: CallLimits, callTimeoutMs: number, now: number = Date.now()): number {
  return Math.max(1, Math.min(callTimeoutMs, limits.deadline - now));
}

function createRestCaller(config: GoogleClientConfig): RestCaller {
  let auth: GoogleAuth | undefined;
  async function authHeaders(): Promise<Record<string, string>> {
    // Locally there is no credential: the control plane accepts any bearer token.
    if (config.restEndpoint !== undefined) return { authorization: "Bearer local-control-plane" };
    auth ??= new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] });
    const headers: unknown = await auth.getRequestHeaders();
    const out: Record<string, string> = {};
    new Headers(headers as ConstructorParameters<typeof Headers>[0]).forEach((value, key) => {
      out[key] = value;
    });
    return out;
  }
  return {
    async request<T>(req: RestRequest, limits: CallLimits): Promise<T> {
      const origin = config.restEndpoint ?? `https://${req.service}.googleapis.com`;
      const url = new URL(origin + req.path);
      for (const [key, value] of Object.entries(req.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
      const timeoutMs = remainingMs(limits, config.callTimeoutMs);
      const signal = AbortSignal.any([limits.signal, AbortSignal.timeout(timeoutMs)]);
      const headers: Record<string, string> = { ...(await authHeaders()), accept: "application/json" };
      if (req.body !== undefined) headers["content-type"] = "application/json";
      let response: Response;
      try {
        response = await fetch(url, { method: req.method, headers, body: req.body === undefined ? undefined : JSON.stringify(req.body), signal });
      } catch (error) {
        if (limits.signal.aborted) throw new RestApiError(499, "CANCELLED", `${req.method} ${req.path}: aborted (attempt timeout or cancel)`, req.service);
        if (signal.aborted) throw new RestApiError(504, "DEADLINE_EXCEEDED", `${req.method} ${req.path}: no answer within ${timeoutMs} ms`, req.service);
        throw new RestApiError(503, "UNAVAILABLE", `${req.method} ${req.path}: ${(error as Error).message}`, req.service);
      }
      const text = await response.text();
      if (!response.ok) {
        let status: string | undefined;
        let message = text.slice(0, 300);
        let retryAfterMs = retryAfterHeaderMs(response.headers.get("retry-after"));
        try {
          const parsed = JSON.parse(text) as { error?: { status?: string; message?: string; details?: unknown } };
          status = parsed.error?.status;
          message = parsed.error?.message ?? message;
          // RetryInfo is in ms; the header only in whole seconds.
          retryAfterMs = retryInfoMs(parsed.error?.details) ?? retryAfterMs;
        } catch {
          // Not JSON (a proxy's error page): keep the raw text.
        }
        throw new RestApiError(response.status, status, `${req.method} ${req.path} answered ${response.status}: ${message}`, req.service, retryAfterMs);
      }
      return (text === "" ? {} : JSON.parse(text)) as T;
    },
  };
}

/** Builds clients lazily (none connects before its first call). */
export function createGoogleClients(config: GoogleClientConfig = googleClientConfigFromEnv()): GoogleClients {
  const grpcOpts = gaxOptions(config.grpcEndpoint);
  const pubsubOpts = gaxOptions(config.pubsubEndpoint);
  let scheduler: CloudSchedulerClient | undefined;
  let uptime: UptimeCheckServiceClient | undefined;
  let alerts: AlertPolicyServiceClient | undefined;
  let metrics: MetricServiceClient | undefined;
  let publisher: pubsubV1.PublisherClient | undefined;
  let subscriber: pubsubV1.SubscriberClient | undefined;
  return {
    config,
    scheduler: () => (scheduler ??= new CloudSchedulerClient(grpcOpts)),
    uptimeChecks: () => (uptime ??= new UptimeCheckServiceClient(grpcOpts)),
    alertPolicies: () => (alerts ??= new AlertPolicyServiceClient(grpcOpts)),
    metrics: () => (metrics ??= new MetricServiceClient(grpcOpts)),
    publisher: () => (publisher ??= new pubsubV1.PublisherClient(pubsubOpts)),
    subscriber: () => (subscriber ??= new pubsubV1.SubscriberClient(pubsubOpts)),
    rest: createRestCaller(config),
    budgets: new RateBudgets({ budgets: config.budgets, onThrottled: logs.apiThrottled }),
    callOptions: (limits) => ({ timeout: remainingMs(limits, config.callTimeoutMs) }),
    async close() {
      await Promise.all([scheduler, uptime, alerts, metrics, publisher, subscriber].map((c) => c?.close()));
    },
  };
}

let shared: { key: string; clients: GoogleClients } | undefined;

/** The process-wide clients for the current environment; rebuilt when the endpoints change (tests). */
export function googleClients(env: NodeJS.ProcessEnv = process.env): GoogleClients {
  const config = googleClientConfigFromEnv(env);
  const key = JSON.stringify(config);
  if (shared === undefined || shared.key !== key) {
    const previous = shared?.clients;
    shared = { key, clients: createGoogleClients(config) };
    void previous?.close().catch(() => undefined);
  }
  return shared.clients;
}
