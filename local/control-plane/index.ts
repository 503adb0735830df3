/**
 * A local stand-in for the Google control-plane APIs the executors call: one gRPC
 * server (Cloud Scheduler, Cloud Monitoring, Pub/Sub admin) and one HTTP server (Firebase Rules,
 * Hosting, Identity Toolkit, Firestore indexes), speaking the real protocols with in-memory state,
 * fault injection, a call log and a state dump, and service-account ID tokens with the certificates that verify them. Pass `env` to the functions so their client factory
 * (functions/src/clients/google.ts) points here.
 *
 *   const cp = await startControlPlane();            // ports 0 = any free port
 *   Object.assign(process.env, cp.env);
 *   cp.inject({ match: "CreateJob", grpcCode: 7 });  // next CreateJob: PERMISSION_DENIED
 *   cp.addQuota({ api: "firebaserules.googleapis.com", limit: 20, windowMs: 1000 });  // 20 calls/s per project, then 429
 *   await cp.stop();
 */
import { FaultBook, isMutating, MUTATING_CALLS, type CallRecord, type FaultSpec } from "./faults";
import { LocalGoogleAccounts, type IdTokenRequest } from "./google-accounts";
import { startGrpcServer } from "./grpc-server";
import { apiOfCall, QuotaBook, type QuotaSpec } from "./quota";
import { startRestServer } from "./rest-server";
import { ProbeSites, type ChaosApplied, type ChaosRequest, type EndpointBehaviour } from "./sites";
import { clone, emptyState, type ControlPlaneState, type UptimeOutage } from "./state";

export { apiOfCall, isMutating, MUTATING_CALLS };
export type { CallRecord, ChaosApplied, ChaosRequest, ControlPlaneState, EndpointBehaviour, FaultSpec, QuotaSpec, UptimeOutage };

/** Whether the control plane refused a logged call for a quota (what a test counts as "429s given"). */
export const refusedByQuota = (call: Pick<CallRecord, "quota">): boolean => call.quota === true;

export interface ControlPlaneOptions {
  grpcPort?: number;
  restPort?: number;
  /** Clock for timestamps and uptime series (default Date.now). Quota windows always use the real clock. */
  now?: () => number;
  /** Rate quotas from the start (quota.ts); `reset()` comes back to these. */
  quotas?: QuotaSpec[];
}

export interface ControlPlane {
  /** `ORCHESTRATOR_GOOGLE_GRPC_ENDPOINT`, `ORCHESTRATOR_GOOGLE_REST_ENDPOINT`, `ORCHESTRATOR_PUBSUB_ENDPOINT`, `ORCHESTRATOR_GOOGLE_CALL_TIMEOUT_MS`. */
  env: Record<string, string>;
  grpcPort: number;
  restPort: number;
  /** A deep copy of every resource held. */
  state(): ControlPlaneState;
  /** Changes state behind the executors' back (drift tests). */
  edit(change: (state: ControlPlaneState) => void): void;
  calls(): CallRecord[];
  clearCalls(): void;
  inject(fault: FaultSpec | FaultSpec[]): void;
  clearFaults(): void;
  /** Adds rate quotas: past `limit` calls per `windowMs` (per project), calls get RESOURCE_EXHAUSTED / 429 with a retry delay. */
  addQuota(quota: QuotaSpec | QuotaSpec[]): void;
  /** Removes every quota (those given at start too, until `reset()`). */
  clearQuotas(): void;
  /** Each quota with its current usage by project and how many calls it refused. */
  quotas(): ReturnType<QuotaBook["list"]>;
  /** Uptime checks fail inside this window (ListTimeSeries). */
  addOutage(outage: UptimeOutage): void;
  /**
   * `ORCHESTRATOR_PROBE_ENDPOINT`: where health probes of public URLs go (`<endpoint>/<host>/<path>`),
   * served from provisioned sites and functions (see sites.ts). Kept apart from `env` so `env` stays the client factory's.
   */
  probeEnv: Record<string, string>;
  /** Degrades (or restores) one environment's integration: what `npm run chaos` does over HTTP. */
  chaos(request: ChaosRequest): ChaosApplied;
  /** Gives a public host (optionally one path prefix) a latency or failure, provisioned or not. */
  setEndpoint(host: string, behaviour: Partial<EndpointBehaviour> & { pathPrefix?: string }): void;
  /** A service account's ID token, signed by the key the functions trust locally (what `gcloud auth print-identity-token` gives). */
  idToken(request: IdTokenRequest): string;
  /** Empties state, faults, chaos and the call log; quotas go back to those given at start, with empty windows. */
  reset(): void;
  stop(): Promise<void>;
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  let state = emptyState();
  const faults = new FaultBook();
  const quotas = new QuotaBook();
  const startQuotas = opts.quotas ?? [];
  quotas.add(startQuotas);
  const now = opts.now ?? Date.now;
  let seq = 0;
  const nextId = (prefix: string): string => `${prefix}-${(++seq).toString(16).padStart(6, "0")}`;
  const sites = new ProbeSites(() => state, now);
  const accounts = new LocalGoogleAccounts(now);
  const reset = (): void => {
    state = emptyState();
    faults.clear();
    faults.clearCalls();
    quotas.clear();
    quotas.add(startQuotas);
    sites.reset();
  };
  const addOutage = (outage: UptimeOutage): void => {
    state.uptimeOutages.push({ ...outage });
  };
  const shared = { state: () => state, faults, quotas, now, nextId };
  const grpcServer = await startGrpcServer(shared, opts.grpcPort ?? 0);
  let restServer: Awaited<ReturnType<typeof startRestServer>>;
  try {
    restServer = await startRestServer({ ...shared, reset, addOutage, snapshot: () => clone(state), sites, accounts }, opts.restPort ?? 0);
  } catch (error) {
    await grpcServer.stop();
    throw error;
  }
  const grpcEndpoint = `127.0.0.1:${grpcServer.port}`;
  return {
    env: {
      ORCHESTRATOR_GOOGLE_GRPC_ENDPOINT: grpcEndpoint,
      ORCHESTRATOR_GOOGLE_REST_ENDPOINT: `http://127.0.0.1:${restServer.port}`,
      ORCHESTRATOR_PUBSUB_ENDPOINT: grpcEndpoint,
      ORCHESTRATOR_GOOGLE_CALL_TIMEOUT_MS: "10000",
    },
    probeEnv: { ORCHESTRATOR_PROBE_ENDPOINT: `http://127.0.0.1:${restServer.port}/__sites` },
    grpcPort: grpcServer.port,
    restPort: restServer.port,
    state: () => clone(state),
    edit: (change) => change(state),
    calls: () => faults.calls(),
    clearCalls: () => faults.clearCalls(),
    inject: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    addQuota: (quota) => quotas.add(quota),
    clearQuotas: () => quotas.clear(),
    quotas: () => quotas.list(),
    addOutage,
    chaos: (request) => sites.applyChaos(request),
    setEndpoint: (host, behaviour) => sites.setEndpoint(host, behaviour),
    idToken: (request) => accounts.generateIdToken(request),
    reset,
    stop: async () => {
      await Promise.all([grpcServer.stop(), restServer.stop()]);
    },
  };
}
