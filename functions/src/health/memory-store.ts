/**
 * An in-memory HealthStore with the Firestore store's semantics (lease, report created once,
 * rollups merged per day, pruning): for unit tests and the benchmark, where the storage is not
 * what is measured.
 */
import type { Alert, HealthReport, SeriesPoint, TrackerState } from "../schema/health";
import type { EnvironmentInput } from "./environments";
import type { BeginResult, HealthStore, RunCommit, RunState } from "./run";

export class MemoryHealthStore implements HealthStore {
  environments = new Map<string, EnvironmentInput>();
  reports = new Map<string, HealthReport>();
  alerts = new Map<string, Alert>();
  tracker: TrackerState = { keys: {} };
  series: SeriesPoint[] = [];
  lease: { owner: string; expiresAt: number } | null = null;
  commits = 0;

  constructor(environments: EnvironmentInput[] = []) {
    for (const env of environments) this.environments.set(env.id, structuredClone(env));
  }

  async begin(runId: string, now: number, leaseMs: number): Promise<BeginResult> {
    if (this.reports.has(runId)) return { ok: false, reason: `run ${runId} already reported` };
    if (this.lease !== null && this.lease.owner !== runId && this.lease.expiresAt > now) return { ok: false, reason: `run ${this.lease.owner} holds the lease` };
    this.lease = { owner: runId, expiresAt: now + leaseMs };
    return { ok: true };
  }

  async loadEnvironments(): Promise<EnvironmentInput[]> {
    return [...this.environments.values()].map((e) => structuredClone(e));
  }

  async loadState(): Promise<RunState> {
    return {
      tracker: structuredClone(this.tracker),
      openAlerts: [...this.alerts.values()].filter((a) => a.status === "open").map((a) => structuredClone(a)),
      series: structuredClone(this.series),
    };
  }

  async commit(c: RunCommit): Promise<void> {
    if (this.reports.has(c.report.runId)) throw new Error(`reports/${c.report.runId} already exists`);
    this.reports.set(c.report.runId, structuredClone(c.report));
    for (const w of c.environments) {
      const env = this.environments.get(w.id);
      if (env === undefined) continue;
      env.health = structuredClone(w.health);
      for (const d of w.days) env.uptimeDays[d.date] = structuredClone(d);
      for (const d of w.removeDays) delete env.uptimeDays[d];
    }
    for (const a of c.alerts) this.alerts.set(a.id, structuredClone(a));
    this.tracker = structuredClone(c.tracker);
    this.series = structuredClone(c.series);
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
