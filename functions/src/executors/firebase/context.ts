/**
 * What every integration module shares: the call wrapper that bounds each Google API call by the
 * attempt's deadline and signal and names the failing call, the module interface, and drift helpers.
 */
import type { CallOptions } from "google-gax";
import type { z } from "zod";
import { ApiCallError, isNotFound, type ApiCallSite } from "../../clients/errors";
import type { CallLimits, GoogleClients, RestRequest } from "../../clients/google";
import type { firebaseParamsSchema } from "../../schema/plan";
import type { DriftItem, FirebaseOutputs, ResourceChange } from "../types";
import { abortable } from "../../runtime/abortable";

export type FirebaseParams = z.output<typeof firebaseParamsSchema>;

/** Settings that do not parse: a plan error, reported without calling anything. */
export class InvalidSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidSettingsError";
  }
}

export function parseSettings<T extends z.ZodType>(schema: T, p: FirebaseParams): z.output<T> {
  const parsed = schema.safeParse(p.settings);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `settings.${i.path.join(".")}: ${i.message}`).join("; ");
    throw new InvalidSettingsError(`${p.integration} settings for ${p.projectId} are invalid: ${issues}`);
  }
  return parsed.data;
}

export interface IntegrationIo {
  clients: GoogleClients;
  limits: CallLimits;
  /** One gRPC call with an explicit timeout, abandoned when the attempt's signal aborts. */
  grpc<T>(site: ApiCallSite, call: (options: CallOptions) => Promise<T>): Promise<T>;
  /** The same, but NOT_FOUND answers `undefined` (for create-if-absent reads). */
  grpcOrAbsent<T>(site: ApiCallSite, call: (options: CallOptions) => Promise<T>): Promise<T | undefined>;
  rest<T>(site: ApiCallSite, req: RestRequest): Promise<T>;
  restOrAbsent<T>(site: ApiCallSite, req: RestRequest): Promise<T | undefined>;
}

export function createIntegrationIo(clients: GoogleClients, limits: CallLimits): IntegrationIo {
  async function grpcCall<T>(site: ApiCallSite, call: (options: CallOptions) => Promise<T>): Promise<T> {
    try {
      // The client's own promise keeps running until its timeout; the attempt stops waiting at once.
      return await abortable(call(clients.callOptions(limits)), limits.signal);
    } catch (error) {
      throw new ApiCallError(site, error);
    }
  }
  async function restCall<T>(site: ApiCallSite, req: RestRequest): Promise<T> {
    try {
      return await clients.rest.request<T>(req, limits);
    } catch (error) {
      throw new ApiCallError(site, error);
    }
  }
  async function orAbsent<T>(run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof ApiCallError && isNotFound(error.cause)) return undefined;
      throw error;
    }
  }
  return {
    clients,
    limits,
    grpc: grpcCall,
    grpcOrAbsent: (site, call) => orAbsent(() => grpcCall(site, call)),
    rest: restCall,
    restOrAbsent: (site, req) => orAbsent(() => restCall(site, req)),
  };
}

export interface Observation {
  desired: unknown;
  observed: unknown;
  drift: DriftItem[];
}

export interface ProvisionResult {
  changes: ResourceChange[];
  outputs: FirebaseOutputs;
  desired: unknown;
  observed: unknown;
}

/** One integration: provision (create-if-absent, converge), observe (drift only), compensate (remove). */
export interface IntegrationModule {
  provision(p: FirebaseParams, io: IntegrationIo): Promise<ProvisionResult>;
  observe(p: FirebaseParams, io: IntegrationIo): Promise<Observation>;
  compensate(p: FirebaseParams, io: IntegrationIo): Promise<ResourceChange[]>;
}

/** Key-order-independent equality for JSON-like values (API answers reorder object keys). */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export function canonicalJson(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** Drift of the listed fields between a desired resource and what the API returned (absent → one item). */
export function fieldDrift(resource: string, desired: Record<string, unknown>, observed: Record<string, unknown> | undefined): DriftItem[] {
  if (observed === undefined) return [{ resource, field: "(resource)", desired: "present", observed: "absent" }];
  const drift: DriftItem[] = [];
  for (const [field, want] of Object.entries(desired)) {
    const have = observed[field];
    if (!sameValue(want, have)) drift.push({ resource, field, desired: want, observed: have ?? null });
  }
  return drift;
}

export function lastSegment(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}
