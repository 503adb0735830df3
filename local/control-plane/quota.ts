/**
 * Rate quotas, like Google's per-project "requests per minute": at most `limit` calls of an API (or
 * of the methods a match selects) per sliding window of `windowMs`, per project. A call past it is
 * refused before it is applied (nothing changes), answered RESOURCE_EXHAUSTED with a
 * `google.rpc.RetryInfo` detail over gRPC, or HTTP 429 with `Retry-After` and the same detail in
 * the JSON error over REST, and logged with its status (`quota: true`), so a test can count the
 * 429s it gave. Refused calls do not count against the window. No quota set: every call passes.
 */
import type { ControlPlaneState } from "./state";

export interface QuotaSpec {
  /** The API whose calls count, as its service name: `firebaserules.googleapis.com` (see apiOfCall). Absent: every API. */
  api?: string;
  /** Substring (or /regex/) of the call's method, like a fault's `match`. Absent: every call of `api`. */
  match?: string;
  protocol?: "grpc" | "rest";
  /** Calls let through per window (per project unless `perProject` is false). */
  limit: number;
  /** The sliding window, in ms (default 1000). */
  windowMs?: number;
  /** One count per project of the call's resource (default); false: one count for every project. */
  perProject?: boolean;
  message?: string;
}

export interface QuotaRefusal {
  /** When the window has room again. */
  retryAfterMs: number;
  message: string;
}

interface ActiveQuota {
  spec: QuotaSpec & { windowMs: number };
  /** Accepted calls' times, by project (`*` when not per project or unknown). */
  windows: Map<string, number[]>;
  refused: number;
}

const GRPC_APIS: ReadonlyArray<[string, string]> = [
  ["/google.cloud.scheduler.", "cloudscheduler.googleapis.com"],
  ["/google.monitoring.", "monitoring.googleapis.com"],
  ["/google.pubsub.", "pubsub.googleapis.com"],
];

/** The API a call belongs to (the REST server serves several APIs on one port: told apart by path). */
export function apiOfCall(protocol: "grpc" | "rest", method: string): string | undefined {
  if (protocol === "grpc") return GRPC_APIS.find(([prefix]) => method.startsWith(prefix))?.[1];
  const path = method.slice(method.indexOf(" ") + 1);
  if (/^\/v1\/projects\/[^/]+\/(?:rulesets|releases)(?:\/|$)/.test(path)) return "firebaserules.googleapis.com";
  if (/^\/v1\/projects\/[^/]+\/databases\//.test(path)) return "firestore.googleapis.com";
  if (path.startsWith("/v1beta1/")) return "firebasehosting.googleapis.com";
  if (path.startsWith("/admin/v2/")) return "identitytoolkit.googleapis.com";
  if (/^\/v1\/projects\/-\/serviceAccounts\//.test(path)) return "iamcredentials.googleapis.com";
  return undefined;
}

/** The project a call is about: `projects/{p}` in its resource, or the project of the Hosting site `sites/{site}` names. */
export function projectOfCall(resource: string | undefined, state: ControlPlaneState): string | undefined {
  if (resource === undefined) return undefined;
  const direct = /(?:^|\/)projects\/([^/]+)/.exec(resource);
  if (direct !== null && direct[1] !== "-") return direct[1];
  const site = /(?:^|\/)sites\/([^/]+)/.exec(resource)?.[1];
  if (site === undefined) return undefined;
  const owner = Object.keys(state.hostingSites).find((name) => name.endsWith(`/sites/${site}`));
  return owner === undefined ? undefined : /^projects\/([^/]+)/.exec(owner)?.[1];
}

function matches(pattern: string | undefined, method: string): boolean {
  if (pattern === undefined || pattern === "") return true;
  const regex = /^\/(.+)\/([a-z]*)$/.exec(pattern);
  if (regex !== null) return new RegExp(regex[1]!, regex[2]).test(method);
  return method.includes(pattern);
}

function validated(spec: QuotaSpec): QuotaSpec & { windowMs: number } {
  if (typeof spec !== "object" || spec === null) throw new Error("a quota is an object {api?, match?, limit, windowMs?, perProject?}");
  if (!Number.isInteger(spec.limit) || spec.limit < 0) throw new Error("a quota needs a whole limit >= 0 (calls per window)");
  const windowMs = spec.windowMs ?? 1000;
  if (!Number.isFinite(windowMs) || windowMs <= 0) throw new Error("a quota's windowMs must be a positive number of ms");
  if (spec.protocol !== undefined && spec.protocol !== "grpc" && spec.protocol !== "rest") throw new Error('a quota\'s protocol is "grpc" or "rest"');
  return { ...spec, windowMs };
}

export class QuotaBook {
  private quotas: ActiveQuota[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  add(spec: QuotaSpec | QuotaSpec[]): void {
    const list = (Array.isArray(spec) ? spec : [spec]).map(validated);
    for (const q of list) this.quotas.push({ spec: q, windows: new Map(), refused: 0 });
  }

  clear(): void {
    this.quotas = [];
  }

  /** Each quota with the calls its windows hold now (by project) and how many it refused. */
  list(): Array<QuotaSpec & { windowMs: number; usage: Record<string, number>; refused: number }> {
    const now = this.now();
    return this.quotas.map((q) => ({
      ...q.spec,
      usage: Object.fromEntries([...q.windows].map(([project, times]) => [project, times.filter((t) => t > now - q.spec.windowMs).length])),
      refused: q.refused,
    }));
  }

  /** Counts the call against every quota it falls under, or refuses it (counting nothing) when one is full. */
  check(protocol: "grpc" | "rest", method: string, projectId: string | undefined): QuotaRefusal | undefined {
    if (this.quotas.length === 0) return undefined;
    const api = apiOfCall(protocol, method);
    const now = this.now();
    const hits: Array<{ q: ActiveQuota; times: number[] }> = [];
    for (const q of this.quotas) {
      const s = q.spec;
      if (s.protocol !== undefined && s.protocol !== protocol) continue;
      if (s.api !== undefined && s.api !== api) continue;
      if (!matches(s.match, method)) continue;
      const key = s.perProject === false ? "*" : (projectId ?? "*");
      let times = q.windows.get(key);
      if (times === undefined) q.windows.set(key, (times = []));
      while (times.length > 0 && times[0]! <= now - s.windowMs) times.shift();
      if (times.length >= s.limit) {
        q.refused += 1;
        const retryAfterMs = Math.max(1, (times[0] ?? now) + s.windowMs - now);
        const scope = key === "*" ? "" : ` for project ${key}`;
        return {
          retryAfterMs,
          message: s.message ?? `Quota exceeded for ${s.api ?? api ?? "this API"}${scope}: ${s.limit} requests per ${s.windowMs} ms (local control plane quota)`,
        };
      }
      hits.push({ q, times });
    }
    for (const { times } of hits) times.push(now);
    return undefined;
  }
}

// ---- google.rpc.Status with a RetryInfo detail, as gRPC's `grpc-status-details-bin` carries it ----

function varint(value: number): number[] {
  const out: number[] = [];
  let v = Math.max(0, Math.floor(value));
  while (v > 127) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const lengthDelimited = (field: number, bytes: Uint8Array | number[]): number[] => [(field << 3) | 2, ...varint(bytes.length), ...bytes];
const varintField = (field: number, value: number): number[] => (value === 0 ? [] : [(field << 3) | 0, ...varint(value)]);

/** `google.rpc.Status{code, message, details: [Any(google.rpc.RetryInfo{retry_delay})]}`, protobuf-encoded. */
export function retryInfoStatus(code: number, message: string, retryAfterMs: number): Buffer {
  const duration = [...varintField(1, Math.floor(retryAfterMs / 1000)), ...varintField(2, (retryAfterMs % 1000) * 1_000_000)];
  const retryInfo = lengthDelimited(1, duration);
  const any = [...lengthDelimited(1, Buffer.from("type.googleapis.com/google.rpc.RetryInfo")), ...lengthDelimited(2, retryInfo)];
  return Buffer.from([...varintField(1, code), ...lengthDelimited(2, Buffer.from(message)), ...lengthDelimited(3, any)]);
}

/** The same detail in a REST JSON error's `details`. */
export const retryInfoJson = (retryAfterMs: number): Record<string, string> => ({
  "@type": "type.googleapis.com/google.rpc.RetryInfo",
  retryDelay: `${(retryAfterMs / 1000).toFixed(3)}s`,
});
