/**
 * gRPC side of the control plane: Cloud Scheduler v1, Cloud Monitoring v3 (uptime checks, alert
 * policies, ListTimeSeries for uptime) and Pub/Sub v1 admin calls, loaded from the protos the
 * official client packages ship, so the wire format is the real one.
 */
import { createRequire } from "node:module";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ApiError, GRPC_CODE_NAMES, latencyOf, sleep, type FaultBook } from "./faults";
import { projectOfCall, retryInfoStatus, type QuotaBook } from "./quota";
import { applyMask, clone, page, timestamp, type ControlPlaneState, type Resource } from "./state";

const requireFromFunctions = createRequire(path.join(__dirname, "../../functions/package.json"));

function protosDir(pkg: string): string {
  return path.join(path.dirname(requireFromFunctions.resolve(`${pkg}/package.json`)), "build", "protos");
}
function gaxProtosDir(): string {
  // google-gax's exports hide package.json; its main entry sits in build/src.
  return path.join(path.dirname(requireFromFunctions.resolve("google-gax")), "..", "protos");
}

let loaded: grpc.GrpcObject | undefined;
function services(): grpc.GrpcObject {
  if (loaded !== undefined) return loaded;
  const includeDirs = [protosDir("@google-cloud/scheduler"), protosDir("@google-cloud/monitoring"), protosDir("@google-cloud/pubsub"), gaxProtosDir()];
  const definition = protoLoader.loadSync(
    [
      "google/cloud/scheduler/v1/cloudscheduler.proto",
      "google/monitoring/v3/uptime_service.proto",
      "google/monitoring/v3/alert_service.proto",
      "google/monitoring/v3/metric_service.proto",
      "google/pubsub/v1/pubsub.proto",
    ],
    { includeDirs, keepCase: false, longs: String, enums: String, bytes: String, defaults: false, oneofs: false },
  );
  loaded = grpc.loadPackageDefinition(definition);
  return loaded;
}

function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  let node: unknown = services();
  for (const part of fullName.split(".")) node = (node as Record<string, unknown>)[part];
  return (node as { service: grpc.ServiceDefinition }).service;
}

type Handler = (request: Resource) => Resource | Promise<Resource>;

export interface GrpcContext {
  state: () => ControlPlaneState;
  faults: FaultBook;
  /** Rate quotas (absent: none). */
  quotas?: QuotaBook;
  now: () => number;
  nextId: (prefix: string) => string;
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : typeof v === "string" && v !== "" ? Number(v) : undefined);
const maskPaths = (req: Resource): string[] => ((req.updateMask as { paths?: string[] } | undefined)?.paths ?? []);
const notFound = (name: string): ApiError => new ApiError(5, `Resource '${name}' was not found`);
const invalid = (message: string): ApiError => new ApiError(3, message);

function requireName(name: string, pattern: RegExp, what: string): void {
  if (!pattern.test(name)) throw invalid(`${what} name "${name}" does not match ${pattern.source}`);
}

/** The resource name that says which project a call is about: top-level names first, then a nested message's `name` (UpdateJob's `job.name`). */
function projectResource(request: Resource): string | undefined {
  for (const key of ["name", "parent", "topic", "subscription", "project"]) if (str(request[key]).startsWith("projects/")) return str(request[key]);
  for (const value of Object.values(request)) {
    if (value !== null && typeof value === "object" && str((value as Resource).name).startsWith("projects/")) return str((value as Resource).name);
  }
  return undefined;
}

function wrap(ctx: GrpcContext, service: string, method: string, handler: Handler): grpc.handleUnaryCall<Resource, Resource> {
  const full = `/${service}/${method}`;
  return (call, callback) => {
    const started = Date.now();
    const request = call.request;
    const resource = str(request.name) || str(request.parent) || str(request.topic) || str(request.subscription) || undefined;
    void (async () => {
      // A quota refuses before anything else: the call is not applied and takes no fault.
      const refusal = ctx.quotas?.check("grpc", full, projectOfCall(projectResource(request), ctx.state()));
      if (refusal !== undefined) {
        ctx.faults.record({ at: started, protocol: "grpc", method: full, resource, status: "RESOURCE_EXHAUSTED", injected: true, quota: true, durationMs: Date.now() - started });
        const metadata = new grpc.Metadata();
        metadata.set("grpc-status-details-bin", retryInfoStatus(8, refusal.message, refusal.retryAfterMs));
        callback({ code: 8, details: refusal.message, metadata });
        return;
      }
      const fault = ctx.faults.take("grpc", full);
      if (fault?.latencyMs) await sleep(latencyOf(fault));
      if (call.cancelled) return;
      if (fault && (fault.grpcCode !== undefined || fault.httpStatus !== undefined)) {
        const code = fault.grpcCode ?? codeOfHttp(fault.httpStatus!);
        // `after`: the call applies, and only its answer is lost.
        if (fault.after === true) await Promise.resolve(handler(request)).catch(() => undefined);
        ctx.faults.record({ at: started, protocol: "grpc", method: full, resource, status: GRPC_CODE_NAMES[code] ?? String(code), injected: true, durationMs: Date.now() - started });
        callback({ code, details: fault.message ?? `injected ${GRPC_CODE_NAMES[code] ?? code} for ${method}` });
        return;
      }
      try {
        const response = await handler(request);
        ctx.faults.record({ at: started, protocol: "grpc", method: full, resource, status: "OK", injected: false, durationMs: Date.now() - started });
        callback(null, clone(response));
      } catch (error) {
        const code = error instanceof ApiError ? error.code : 13;
        ctx.faults.record({ at: started, protocol: "grpc", method: full, resource, status: GRPC_CODE_NAMES[code] ?? String(code), injected: false, durationMs: Date.now() - started });
        callback({ code, details: error instanceof Error ? error.message : String(error) });
      }
    })();
  };
}

function codeOfHttp(status: number): number {
  const table: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 499: 1, 501: 12, 503: 14, 504: 4 };
  return table[status] ?? (status >= 500 ? 13 : 2);
}

const EMPTY: Resource = {};

function schedulerHandlers(ctx: GrpcContext): Record<string, Handler> {
  const jobs = (): Record<string, Resource> => ctx.state().schedulerJobs;
  const JOB = /^projects\/[^/]+\/locations\/[^/]+\/jobs\/[A-Za-z0-9_-]{1,500}$/;
  const get = (name: string): Resource => jobs()[name] ?? (() => { throw notFound(name); })();
  return {
    ListJobs: (req) => {
      const parent = str(req.parent);
      const all = Object.values(jobs()).filter((j) => str(j.name).startsWith(`${parent}/jobs/`)).sort((a, b) => str(a.name).localeCompare(str(b.name)));
      const p = page(all, num(req.pageSize), str(req.pageToken));
      return { jobs: p.items, nextPageToken: p.nextPageToken };
    },
    GetJob: (req) => get(str(req.name)),
    CreateJob: (req) => {
      const job = clone((req.job ?? {}) as Resource);
      const name = str(job.name);
      requireName(name, JOB, "job");
      if (!name.startsWith(`${str(req.parent)}/jobs/`)) throw invalid(`job ${name} is not under ${str(req.parent)}`);
      if (jobs()[name] !== undefined) throw new ApiError(6, `Job ${name} already exists`);
      if (!str(job.schedule)) throw invalid("job.schedule is required");
      const now = ctx.now();
      const stored: Resource = { ...job, state: "ENABLED", userUpdateTime: timestamp(now), scheduleTime: timestamp(now + 60_000), timeZone: str(job.timeZone) || "Etc/UTC" };
      jobs()[name] = stored;
      return stored;
    },
    UpdateJob: (req) => {
      const job = (req.job ?? {}) as Resource;
      const name = str(job.name);
      const current = get(name);
      const paths = maskPaths(req);
      const updated = paths.length > 0 ? applyMask(current, job, paths) : { ...current, ...clone(job) };
      updated.userUpdateTime = timestamp(ctx.now());
      jobs()[name] = updated;
      return updated;
    },
    DeleteJob: (req) => {
      get(str(req.name));
      delete jobs()[str(req.name)];
      return EMPTY;
    },
    PauseJob: (req) => {
      const job = get(str(req.name));
      job.state = "PAUSED";
      return job;
    },
    ResumeJob: (req) => {
      const job = get(str(req.name));
      job.state = "ENABLED";
      return job;
    },
  };
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40) || "check";
}

function uptimeHandlers(ctx: GrpcContext): Record<string, Handler> {
  const configs = (): Record<string, Resource> => ctx.state().uptimeCheckConfigs;
  const get = (name: string): Resource => configs()[name] ?? (() => { throw notFound(name); })();
  return {
    ListUptimeCheckConfigs: (req) => {
      const parent = str(req.parent);
      const all = Object.values(configs()).filter((c) => str(c.name).startsWith(`${parent}/uptimeCheckConfigs/`)).sort((a, b) => str(a.name).localeCompare(str(b.name)));
      const p = page(all, num(req.pageSize), str(req.pageToken));
      return { uptimeCheckConfigs: p.items, nextPageToken: p.nextPageToken, totalSize: all.length };
    },
    GetUptimeCheckConfig: (req) => get(str(req.name)),
    CreateUptimeCheckConfig: (req) => {
      const parent = str(req.parent);
      requireName(parent, /^projects\/[^/]+$/, "parent");
      const config = clone((req.uptimeCheckConfig ?? {}) as Resource);
      if (!str(config.displayName)) throw invalid("uptimeCheckConfig.displayName is required");
      const name = `${parent}/uptimeCheckConfigs/${ctx.nextId(slug(str(config.displayName)))}`;
      const stored = { ...config, name };
      configs()[name] = stored;
      return stored;
    },
    UpdateUptimeCheckConfig: (req) => {
      const patch = (req.uptimeCheckConfig ?? {}) as Resource;
      const name = str(patch.name);
      const current = get(name);
      const paths = maskPaths(req);
      if (paths.some((p) => p.startsWith("monitored_resource") || p.startsWith("monitoredResource"))) throw invalid("monitored_resource cannot be updated");
      const updated = paths.length > 0 ? applyMask(current, patch, paths) : { ...current, ...clone(patch), monitoredResource: current.monitoredResource };
      configs()[name] = updated;
      return updated;
    },
    DeleteUptimeCheckConfig: (req) => {
      const name = str(req.name);
      get(name);
      const checkId = name.slice(name.lastIndexOf("/") + 1);
      const referencing = Object.values(ctx.state().alertPolicies).find((a) => JSON.stringify(a.conditions ?? []).includes(`check_id=\\"${checkId}\\"`));
      if (referencing !== undefined) throw new ApiError(9, `uptime check ${name} is referenced by alert policy ${str(referencing.name)}`);
      delete configs()[name];
      return EMPTY;
    },
  };
}

function alertHandlers(ctx: GrpcContext): Record<string, Handler> {
  const policies = (): Record<string, Resource> => ctx.state().alertPolicies;
  const get = (name: string): Resource => policies()[name] ?? (() => { throw notFound(name); })();
  const record = (): Resource => ({ mutateTime: timestamp(ctx.now()), mutatedBy: "orchestrator@local" });
  return {
    ListAlertPolicies: (req) => {
      const parent = str(req.name);
      const all = Object.values(policies()).filter((a) => str(a.name).startsWith(`${parent}/alertPolicies/`)).sort((a, b) => str(a.name).localeCompare(str(b.name)));
      const p = page(all, num(req.pageSize), str(req.pageToken));
      return { alertPolicies: p.items, nextPageToken: p.nextPageToken, totalSize: all.length };
    },
    GetAlertPolicy: (req) => get(str(req.name)),
    CreateAlertPolicy: (req) => {
      const parent = str(req.name);
      requireName(parent, /^projects\/[^/]+$/, "parent");
      const policy = clone((req.alertPolicy ?? {}) as Resource);
      if (!Array.isArray(policy.conditions) || policy.conditions.length === 0) throw invalid("alertPolicy.conditions must not be empty");
      const name = `${parent}/alertPolicies/${ctx.nextId("policy")}`;
      const stored = { ...policy, name, creationRecord: record(), mutationRecord: record() };
      policies()[name] = stored;
      return stored;
    },
    UpdateAlertPolicy: (req) => {
      const patch = (req.alertPolicy ?? {}) as Resource;
      const name = str(patch.name);
      const current = get(name);
      const paths = maskPaths(req);
      const updated = paths.length > 0 ? applyMask(current, patch, paths) : { ...clone(patch), name, creationRecord: current.creationRecord };
      updated.mutationRecord = record();
      policies()[name] = updated;
      return updated;
    },
    DeleteAlertPolicy: (req) => {
      get(str(req.name));
      delete policies()[str(req.name)];
      return EMPTY;
    },
  };
}

/** Uptime data for ListTimeSeries: one point per check period, failing inside injected outages. */
function metricHandlers(ctx: GrpcContext): Record<string, Handler> {
  const MAX_POINTS = 10_000;
  const toMs = (t: unknown): number | undefined => {
    if (t === null || typeof t !== "object") return undefined;
    const { seconds, nanos } = t as { seconds?: unknown; nanos?: unknown };
    return (num(seconds) ?? 0) * 1000 + Math.floor((num(nanos) ?? 0) / 1_000_000);
  };
  return {
    ListTimeSeries: (req) => {
      const parent = str(req.name);
      const projectId = parent.replace(/^projects\//, "");
      const filter = str(req.filter);
      if (!filter.includes("monitoring.googleapis.com/uptime_check/check_passed")) return { timeSeries: [], nextPageToken: "" };
      const interval = (req.interval ?? {}) as Resource;
      const end = toMs(interval.endTime) ?? ctx.now();
      const start = toMs(interval.startTime) ?? end - 3_600_000;
      if (start > end) throw invalid("interval.startTime is after interval.endTime");
      const wantedCheck = /check_id\s*=\s*"([^"]+)"/.exec(filter)?.[1];
      const aggregation = (req.aggregation ?? {}) as Resource;
      const alignSeconds = num((aggregation.alignmentPeriod as Resource | undefined)?.seconds);
      const fraction = aggregation.perSeriesAligner === "ALIGN_FRACTION_TRUE" && alignSeconds !== undefined && alignSeconds > 0;
      const headersOnly = req.view === "HEADERS";
      const outages = ctx.state().uptimeOutages;
      const checks = Object.values(ctx.state().uptimeCheckConfigs)
        .filter((c) => str(c.name).startsWith(`${parent}/uptimeCheckConfigs/`))
        .filter((c) => wantedCheck === undefined || str(c.name).endsWith(`/${wantedCheck}`))
        .sort((a, b) => str(a.name).localeCompare(str(b.name)));
      const series = checks.map((c) => {
        const checkId = str(c.name).slice(str(c.name).lastIndexOf("/") + 1);
        const periodMs = (num((c.period as Resource | undefined)?.seconds) ?? 60) * 1000;
        const down = (t: number): boolean =>
          outages.some((o) => (o.checkId === undefined || o.checkId === checkId) && (o.projectId === undefined || o.projectId === projectId) && t >= o.start && t < o.end);
        const points: Resource[] = [];
        if (!headersOnly) {
          if (fraction) {
            const stepMs = alignSeconds! * 1000;
            for (let bucketEnd = end; bucketEnd > start && points.length < MAX_POINTS; bucketEnd -= stepMs) {
              const bucketStart = Math.max(start, bucketEnd - stepMs);
              let total = 0;
              let passed = 0;
              for (let t = Math.ceil(bucketStart / periodMs) * periodMs; t < bucketEnd; t += periodMs) {
                total += 1;
                if (!down(t)) passed += 1;
              }
              points.push({ interval: { startTime: timestamp(bucketStart), endTime: timestamp(bucketEnd) }, value: { doubleValue: total === 0 ? 1 : passed / total } });
            }
          } else {
            // Newest first, as Monitoring returns them.
            for (let t = Math.floor(end / periodMs) * periodMs; t >= start && points.length < MAX_POINTS; t -= periodMs) {
              points.push({ interval: { startTime: timestamp(t), endTime: timestamp(t) }, value: { boolValue: !down(t) } });
            }
          }
        }
        const labels = (c.monitoredResource as Resource | undefined)?.labels as Record<string, string> | undefined;
        return {
          metric: { type: "monitoring.googleapis.com/uptime_check/check_passed", labels: { check_id: checkId, checker_location: "usa-iowa" } },
          resource: { type: "uptime_url", labels: { project_id: projectId, host: labels?.host ?? "" } },
          metricKind: "GAUGE",
          valueType: fraction ? "DOUBLE" : "BOOL",
          points,
        };
      });
      const p = page(series, num(req.pageSize), str(req.pageToken), 100);
      return { timeSeries: p.items, nextPageToken: p.nextPageToken };
    },
  };
}

function pubsubPublisherHandlers(ctx: GrpcContext): Record<string, Handler> {
  const topics = (): Record<string, Resource> => ctx.state().topics;
  const TOPIC = /^projects\/[^/]+\/topics\/[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/;
  const get = (name: string): Resource => topics()[name] ?? (() => { throw notFound(name); })();
  return {
    CreateTopic: (req) => {
      const name = str(req.name);
      requireName(name, TOPIC, "topic");
      if (topics()[name] !== undefined) throw new ApiError(6, "Topic already exists");
      const stored = clone(req);
      topics()[name] = stored;
      return stored;
    },
    GetTopic: (req) => get(str(req.topic)),
    DeleteTopic: (req) => {
      const name = str(req.topic);
      get(name);
      delete topics()[name];
      for (const sub of Object.values(ctx.state().subscriptions)) if (sub.topic === name) sub.topic = "_deleted-topic_";
      return EMPTY;
    },
    ListTopics: (req) => {
      const project = str(req.project);
      const all = Object.values(topics()).filter((t) => str(t.name).startsWith(`${project}/topics/`)).sort((a, b) => str(a.name).localeCompare(str(b.name)));
      const p = page(all, num(req.pageSize), str(req.pageToken));
      return { topics: p.items, nextPageToken: p.nextPageToken };
    },
  };
}

function pubsubSubscriberHandlers(ctx: GrpcContext): Record<string, Handler> {
  const subs = (): Record<string, Resource> => ctx.state().subscriptions;
  const SUB = /^projects\/[^/]+\/subscriptions\/[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/;
  const get = (name: string): Resource => subs()[name] ?? (() => { throw notFound(name); })();
  return {
    CreateSubscription: (req) => {
      const name = str(req.name);
      requireName(name, SUB, "subscription");
      if (subs()[name] !== undefined) throw new ApiError(6, "Subscription already exists");
      if (ctx.state().topics[str(req.topic)] === undefined) throw new ApiError(5, `Topic ${str(req.topic)} not found`);
      const stored: Resource = { ...clone(req), ackDeadlineSeconds: num(req.ackDeadlineSeconds) ?? 10 };
      subs()[name] = stored;
      return stored;
    },
    GetSubscription: (req) => get(str(req.subscription)),
    UpdateSubscription: (req) => {
      const patch = (req.subscription ?? {}) as Resource;
      const name = str(patch.name);
      const updated = applyMask(get(name), patch, maskPaths(req));
      subs()[name] = updated;
      return updated;
    },
    DeleteSubscription: (req) => {
      get(str(req.subscription));
      delete subs()[str(req.subscription)];
      return EMPTY;
    },
    ListSubscriptions: (req) => {
      const project = str(req.project);
      const all = Object.values(subs()).filter((s) => str(s.name).startsWith(`${project}/subscriptions/`)).sort((a, b) => str(a.name).localeCompare(str(b.name)));
      const p = page(all, num(req.pageSize), str(req.pageToken));
      return { subscriptions: p.items, nextPageToken: p.nextPageToken };
    },
  };
}

const SERVICES: Array<[string, (ctx: GrpcContext) => Record<string, Handler>]> = [
  ["google.cloud.scheduler.v1.CloudScheduler", schedulerHandlers],
  ["google.monitoring.v3.UptimeCheckService", uptimeHandlers],
  ["google.monitoring.v3.AlertPolicyService", alertHandlers],
  ["google.monitoring.v3.MetricService", metricHandlers],
  ["google.pubsub.v1.Publisher", pubsubPublisherHandlers],
  ["google.pubsub.v1.Subscriber", pubsubSubscriberHandlers],
];

/** Every method of every service is bound: the ones not implemented answer UNIMPLEMENTED (and are logged). */
export async function startGrpcServer(ctx: GrpcContext, port: number): Promise<{ port: number; stop(): Promise<void> }> {
  const server = new grpc.Server();
  for (const [name, build] of SERVICES) {
    const definition = serviceDefinition(name);
    const handlers = build(ctx);
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [key, method] of Object.entries(definition)) {
      if (method.requestStream || method.responseStream) continue;
      const short = method.path.slice(method.path.lastIndexOf("/") + 1);
      const handler: Handler =
        handlers[short] ??
        (() => {
          throw new ApiError(12, `${short} is not implemented by the local control plane`);
        });
      impl[key] = wrap(ctx, name, short, handler);
    }
    server.addService(definition, impl);
  }
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, actual) => (error ? reject(error) : resolve(actual)));
  });
  return {
    port: bound,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Calls still hanging on injected latency must not hold the shutdown.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 500).unref();
      }),
  };
}
