/**
 * An in-memory HealthStore with the Firestore store's semantics (lease, report created once,
 * rollups merged per day, pruning): for unit tests and the benchmark, where the storage is not
 * what is measured.
 */
import type { Alert, HealthReport, SeriesPoint, TrackerState } from "../schema/health";
import type { EnvironmentInput } from "./environments";
import type { BeginResult, HealthStore, RunCommit, RunState } from "./run";

const isPlainObject = (value: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/**
 * A deep copy, as a store hands out and keeps (what the caller does with its copy does not reach
 * the store). Arrays and plain objects (what documents are) are copied field by field, several
 * times faster than `structuredClone`, which a run's commit spent milliseconds in after its last
 * check; anything else (a Date, a Map) goes to `structuredClone`. Documents have no cycles.
 */
export function copyOf<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => copyOf(item)) as T;
  if (!isPlainObject(value)) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = copyOf((value as Record<string, unknown>)[key]);
    // An own "__proto__" key (a map keyed by names) stays a field: assigning it would set the copy's prototype.
    if (key === "__proto__") Object.defineProperty(copy, key, { value: field, enumerable: true, writable: true, configurable: true });
    else copy[key] = field;
  }
  return copy as T;
}

export class MemoryHealthStore implements HealthStore {
  environments = new Map<string, EnvironmentInput>();
  reports = new Map<string, HealthReport>();
  alerts = new Map<string, Alert>();
  tracker: TrackerState = { keys: {} };
  series: SeriesPoint[] = [];
  lease: { owner: string; expiresAt: number } | null = null;
  commits = 0;

  constructor(environments: EnvironmentInput[] = []) {
    for (const env of environments) this.environments.set(env.id, copyOf(env));
  }

  async begin(runId: string, now: number, leaseMs: number): Promise<BeginResult> {
    if (this.reports.has(runId)) return { ok: false, reason: `run ${runId} already reported` };
    if (this.lease !== null && this.lease.owner !== runId && this.lease.expiresAt > now) return { ok: false, reason: `run ${this.lease.owner} holds the lease` };
    this.lease = { owner: runId, expiresAt: now + leaseMs };
    return { ok: true };
  }

  async loadEnvironments(): Promise<EnvironmentInput[]> {
    return [...this.environments.values()].map((e) => copyOf(e));
  }

  async loadState(): Promise<RunState> {
    return {
      tracker: copyOf(this.tracker),
      openAlerts: [...this.alerts.values()].filter((a) => a.status === "open").map((a) => copyOf(a)),
      series: copyOf(this.series),
    };
  }

  async commit(c: RunCommit): Promise<void> {
    if (this.reports.has(c.report.runId)) throw new Error(`reports/${c.report.runId} already exists`);
    this.reports.set(c.report.runId, copyOf(c.report));
    for (const w of c.environments) {
      const env = this.environments.get(w.id);
      if (env === undefined) continue;
      env.health = copyOf(w.health);
      for (const d of w.days) env.uptimeDays[d.date] = copyOf(d);
      for (const d of w.removeDays) delete env.uptimeDays[d];
      if (w.slo !== undefined) env.slo = { ...env.slo, ...copyOf(w.slo) };
    }
    for (const a of c.alerts) this.alerts.set(a.id, copyOf(a));
    this.tracker = copyOf(c.tracker);
    this.series = copyOf(c.series);
    this.commits += 1;
  }

  async pruneReports(before: number, limit: number): Promise<number> {
    const old = [...this.reports.values()].filter((r) => r.startedAt < before).sort((a, b) => a.startedAt - b.startedAt).slice(0, limit);
    for (const r of old) this.reports.delete(r.runId);
    return old.length;
  }

  async end(runId: string): Promise<void> {
    if (this.lease?.owner === runId) this.lease = null;
  }
}
