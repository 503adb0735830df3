/**
 * The control plane's in-memory state: every resource the executors create, keyed by its full
 * resource name, stored as the JSON the APIs return (timestamps as {seconds, nanos}, bytes base64).
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Resource = Record<string, unknown>;

export interface UptimeOutage {
  /** Uptime check id (last segment of its name); absent: every check in `projectId` (or everywhere). */
  checkId?: string;
  projectId?: string;
  /** Epoch ms. */
  start: number;
  end: number;
}

export interface ControlPlaneState {
  schedulerJobs: Record<string, Resource>;
  uptimeCheckConfigs: Record<string, Resource>;
  alertPolicies: Record<string, Resource>;
  topics: Record<string, Resource>;
  subscriptions: Record<string, Resource>;
  rulesets: Record<string, Resource>;
  rulesReleases: Record<string, Resource>;
  hostingSites: Record<string, Resource>;
  hostingVersions: Record<string, Resource>;
  /** Newest first, per site (`sites/{site}`). */
  hostingReleases: Record<string, Resource[]>;
  firestoreIndexes: Record<string, Resource>;
  /** Identity Toolkit project config, by `projects/{p}/config`: only projects whose config was changed. */
  authConfigs: Record<string, Resource>;
  uptimeOutages: UptimeOutage[];
}

export function emptyState(): ControlPlaneState {
  return {
    schedulerJobs: {},
    uptimeCheckConfigs: {},
    alertPolicies: {},
    topics: {},
    subscriptions: {},
    rulesets: {},
    rulesReleases: {},
    hostingSites: {},
    hostingVersions: {},
    hostingReleases: {},
    firestoreIndexes: {},
    authConfigs: {},
    uptimeOutages: [],
  };
}

export function timestamp(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Applies an update mask (snake_case or camelCase dotted paths) from `patch` onto `target`. */
export function applyMask(target: Resource, patch: Resource, paths: readonly string[]): Resource {
  const out = clone(target);
  const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  for (const raw of paths) {
    const parts = raw.split(".").map(camel);
    let src: unknown = patch;
    let dst: Record<string, unknown> = out;
    for (let i = 0; i < parts.length; i++) {
      const key = parts[i]!;
      const last = i === parts.length - 1;
      src = src !== null && typeof src === "object" ? (src as Record<string, unknown>)[key] : undefined;
      if (last) {
        if (src === undefined) delete dst[key];
        else dst[key] = clone(src);
      } else {
        const next = dst[key];
        dst = (dst[key] = next !== null && typeof next === "object" ? next : {}) as Record<string, unknown>;
      }
    }
  }
  return out;
}

/** One page of a name-sorted listing; the token is the offset, like an opaque cursor. */
export function page<T>(items: T[], pageSize: number | undefined, pageToken: string | undefined, defaultSize = 50): { items: T[]; nextPageToken: string } {
  const size = pageSize !== undefined && pageSize > 0 ? Math.min(pageSize, 1000) : defaultSize;
  const start = pageToken ? Number(Buffer.from(pageToken, "base64").toString("utf8")) || 0 : 0;
  const slice = items.slice(start, start + size);
  const next = start + size < items.length ? Buffer.from(String(start + size)).toString("base64") : "";
  return { items: slice, nextPageToken: next };
}
