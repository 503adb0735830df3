/**
 * What every integration module shares: the call wrapper that bounds each Google API call by the
 * attempt's deadline and signal, keeps it within its API's rate budget (absorbing quota answers,
 * clients/rate-budget.ts) and names the failing call, the module interface, and value helpers.
 */
import type { CallOptions } from "google-gax";
import type { z } from "zod";
import { ApiCallError, isNotFound, type ApiCallSite } from "../../clients/errors";
import type { CallLimits, GoogleClients, RestRequest } from "../../clients/google";
import { isMutatingOperation } from "../../clients/rate-budget";
import type { firebaseParamsSchema } from "../../schema/plan";
import type { FirebaseOutputs } from "../types";
import type { Change, JournalEntry, Made, UndoOutcome } from "./change-set";
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
  /**
   * One call within its budget: it waits for a token and a slot (FIFO, bounded by the deadline), and
   * a quota answer (429 / RESOURCE_EXHAUSTED: refused, nothing applied, so safe to repeat even when
   * mutating) is tried again after a backoff until the deadline; only then does it reach the task.
   */
  const budgeted = <T>(site: ApiCallSite, mutating: boolean, send: () => Promise<T>): Promise<T> =>
    clients.budgets === undefined ? send() : clients.budgets.run(site, mutating, limits, send);
  async function grpcCall<T>(site: ApiCallSite, call: (options: CallOptions) => Promise<T>): Promise<T> {
    try {
      // The client's own promise keeps running until its timeout; the attempt stops waiting at once.
      // Options per try: a retry gets what is left of the attempt.
      return await budgeted(site, isMutatingOperation(site.operation), () => abortable(call(clients.callOptions(limits)), limits.signal));
    } catch (error) {
      throw new ApiCallError(site, error);
    }
  }
  async function restCall<T>(site: ApiCallSite, req: RestRequest): Promise<T> {
    try {
      return await budgeted(site, req.method !== "GET", () => clients.rest.request<T>(req, limits));
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

/** What an integration's one reader found, diffed against what the plan wants. */
export interface IntegrationPlan {
  /** Every managed resource, in the order a provision applies them (a compensation goes backwards). */
  changes: Change[];
  desired: unknown;
  observed: unknown;
}

/**
 * One integration. `plan` is its only reader: provision, verify, the plan's refresh and the health
 * drift check all call it, so there is one copy of the API reads. `apply` makes one change of the
 * set (never a noop), `undo` reverses one recorded change, `outputs` names what other tasks use.
 */
export interface IntegrationModule {
  plan(p: FirebaseParams, io: IntegrationIo): Promise<IntegrationPlan>;
  /** `earlier`: what the changes applied before this one made, by resource. */
  apply(p: FirebaseParams, change: Change, io: IntegrationIo, earlier: ReadonlyMap<string, Made>): Promise<Made>;
  undo(p: FirebaseParams, entry: JournalEntry, io: IntegrationIo): Promise<UndoOutcome>;
  outputs(p: FirebaseParams, plan: IntegrationPlan, made: ReadonlyMap<string, Made>): FirebaseOutputs;
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

export function lastSegment(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}
