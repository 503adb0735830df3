/**
 * Something real for the health runs to watch: the control plane serves every provisioned
 * environment's public endpoints on localhost, under `/__sites/<host>/<path>` of its REST server
 * (health probes reach it through `ORCHESTRATOR_PROBE_ENDPOINT`):
 *   <site>.web.app, <site>.firebaseapp.com     for each Hosting site that exists and is not disabled
 *   <region>-<project>.cloudfunctions.net       for each project whose functions plumbing (topics) exists
 * and lets chaos degrade one environment's integration (`npm run chaos`, `POST /__control/chaos`):
 *   hosting, functions   down (HTTP 503) | slow (answers after latencyMs, default 2500) | hang (never answers) | up
 *   monitoring           down: the uptime check fails from now on (an outage) | up: the outage ends now
 *   backup, health       down: the Scheduler job's last attempt failed | up: it succeeded
 * Host rules (`setEndpoint`) give any host (known or not) a latency or failure: the benchmark's
 * "realistic latency" endpoints.
 */
import type http from "node:http";
import { sleep } from "./faults";
import { rfc3339, timestamp, type ControlPlaneState, type Resource } from "./state";

export const CHAOS_MODES = ["down", "slow", "hang", "up"] as const;
export type ChaosMode = (typeof CHAOS_MODES)[number];
export const CHAOS_INTEGRATIONS = ["hosting", "functions", "monitoring", "backup", "health"] as const;
export type ChaosIntegration = (typeof CHAOS_INTEGRATIONS)[number];

export interface EndpointBehaviour {
  mode: "serve" | "down" | "hang";
  /** Delay before answering (ms). */
  latencyMs: number;
  /** Status when down (default 503). */
  status?: number;
}

export interface ChaosRequest {
  /** Project id (the environment document id) or environment name (as labelled on its resources). */
  environment: string;
  integration: string;
  mode: ChaosMode;
  latencyMs?: number;
}

export interface ChaosApplied {
  projectId: string;
  integration: ChaosIntegration;
  mode: ChaosMode;
  detail: string;
}

export const DEFAULT_SLOW_MS = 2_500;
const FAR_FUTURE = 8_640_000_000_000_000;
const str = (v: unknown): string => (typeof v === "string" ? v : "");

export class ProbeSites {
  /** `<projectId>/<integration>` → behaviour set by chaos. */
  private chaos = new Map<string, EndpointBehaviour>();
  /** host → path prefix → behaviour set directly. */
  private endpoints = new Map<string, Map<string, EndpointBehaviour>>();

  constructor(
    private readonly state: () => ControlPlaneState,
    private readonly now: () => number,
  ) {}

  setEndpoint(host: string, behaviour: Partial<EndpointBehaviour> & { pathPrefix?: string }): void {
    const { pathPrefix, ...rest } = behaviour;
    let byPrefix = this.endpoints.get(host);
    if (byPrefix === undefined) this.endpoints.set(host, (byPrefix = new Map()));
    byPrefix.set(pathPrefix ?? "", { mode: rest.mode ?? "serve", latencyMs: rest.latencyMs ?? 0, ...(rest.status ? { status: rest.status } : {}) });
  }

  clearEndpoints(): void {
    this.endpoints.clear();
  }

  reset(): void {
    this.chaos.clear();
    this.endpoints.clear();
  }

  list(): { chaos: Record<string, EndpointBehaviour>; endpoints: Record<string, EndpointBehaviour> } {
    const endpoints: Record<string, EndpointBehaviour> = {};
    for (const [host, byPrefix] of this.endpoints) for (const [prefix, b] of byPrefix) endpoints[`${host}${prefix}`] = b;
    return { chaos: Object.fromEntries(this.chaos), endpoints };
  }

  /** Which project and integration a public host belongs to, if it is provisioned here. */
  owner(host: string): { projectId: string; integration: "hosting" | "functions" } | undefined {
    const st = this.state();
    const site = /^([a-z0-9-]+)\.(?:web\.app|firebaseapp\.com)$/.exec(host)?.[1];
    if (site !== undefined) {
      const name = Object.keys(st.hostingSites).find((n) => n.endsWith(`/sites/${site}`));
      if (name === undefined) return undefined;
      if (st.hostingReleases[`sites/${site}`]?.[0]?.type === "SITE_DISABLE") return undefined;
      return { projectId: name.split("/")[1]!, integration: "hosting" };
    }
    const fn = /^([a-z]+-[a-z]+\d+)-([a-z][a-z0-9-]+)\.cloudfunctions\.net$/.exec(host);
    if (fn !== null) {
      const projectId = fn[2]!;
      if (!Object.keys(st.topics).some((t) => t.startsWith(`projects/${projectId}/topics/`))) return undefined;
      return { projectId, integration: "functions" };
    }
    return undefined;
  }

  private behaviourFor(host: string, path: string): EndpointBehaviour | undefined | "unknown" {
    let best: { len: number; b: EndpointBehaviour } | undefined;
    for (const [prefix, b] of this.endpoints.get(host) ?? []) {
      if (path.startsWith(prefix) && (best === undefined || prefix.length > best.len)) best = { len: prefix.length, b };
    }
    const owner = this.owner(host);
    if (owner === undefined) return best?.b ?? "unknown";
    return this.chaos.get(`${owner.projectId}/${owner.integration}`) ?? best?.b;
  }

  /** Serves `GET /__sites/<host>/<path>`. */
  async serve(pathAfterPrefix: string, res: http.ServerResponse): Promise<void> {
    const slash = pathAfterPrefix.indexOf("/");
    const host = slash < 0 ? pathAfterPrefix : pathAfterPrefix.slice(0, slash);
    const path = slash < 0 ? "/" : pathAfterPrefix.slice(slash);
    const b = this.behaviourFor(host, path);
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (b === "unknown") return send(404, { error: `Site Not Found: ${host} is not provisioned on this local control plane` });
    if (b?.latencyMs) await sleep(b.latencyMs);
    if (b?.mode === "hang") return; // never answers; the client gives up (or the server stops)
    if (b?.mode === "down") return send(b.status ?? 503, { error: `${host} is down (chaos)` });
    send(200, { ok: true, host, path });
  }

  private resolveProject(environment: string): string {
    const st = this.state();
    const projects = new Set<string>();
    const collect = (name: string): void => {
      const m = /^projects\/([^/]+)\//.exec(name);
      if (m) projects.add(m[1]!);
    };
    for (const group of [st.topics, st.schedulerJobs, st.uptimeCheckConfigs, st.hostingSites, st.subscriptions]) Object.keys(group).forEach(collect);
    if (projects.has(environment)) return environment;
    // By environment name: the labels the executors put on topics, versions and policies.
    const labelled = [...Object.values(st.topics), ...Object.values(st.hostingVersions), ...Object.values(st.alertPolicies)]
      .filter((r) => {
        const labels = (r.labels ?? r.userLabels) as Record<string, string> | undefined;
        return labels?.environment === environment.toLowerCase();
      })
      .map((r) => str(r.name));
    for (const name of labelled) {
      const m = /^projects\/([^/]+)\//.exec(name);
      if (m) return m[1]!;
    }
    const hostSite = Object.keys(st.hostingSites).find((n) => n.endsWith(`/sites/${environment}`));
    if (hostSite) return hostSite.split("/")[1]!;
    throw new Error(`no provisioned environment "${environment}" (known projects: ${[...projects].sort().join(", ") || "none"})`);
  }

  applyChaos(req: ChaosRequest): ChaosApplied {
    if (!(CHAOS_MODES as readonly string[]).includes(req.mode)) throw new Error(`mode must be one of ${CHAOS_MODES.join(", ")}`);
    if (!(CHAOS_INTEGRATIONS as readonly string[]).includes(req.integration)) {
      throw new Error(`chaos supports ${CHAOS_INTEGRATIONS.join(", ")} (database probes hit the real Firestore emulator)`);
    }
    const integration = req.integration as ChaosIntegration;
    const projectId = this.resolveProject(req.environment);
    const key = `${projectId}/${integration}`;
    const st = this.state();
    const now = this.now();
    const applied = (detail: string): ChaosApplied => ({ projectId, integration, mode: req.mode, detail });
    switch (integration) {
      case "hosting":
      case "functions": {
        if (req.mode === "up") {
          this.chaos.delete(key);
          return applied(`${integration} of ${projectId} answers normally`);
        }
        const latencyMs = req.mode === "slow" ? (req.latencyMs ?? DEFAULT_SLOW_MS) : (req.latencyMs ?? 0);
        this.chaos.set(key, { mode: req.mode === "slow" ? "serve" : req.mode, latencyMs });
        return applied(req.mode === "slow" ? `${integration} of ${projectId} answers after ${latencyMs} ms` : req.mode === "down" ? `${integration} of ${projectId} answers HTTP 503` : `${integration} of ${projectId} never answers`);
      }
      case "monitoring": {
        if (req.mode === "up") {
          let ended = 0;
          for (const o of st.uptimeOutages) {
            if (o.projectId === projectId && o.end > now) {
              o.end = now;
              ended += 1;
            }
          }
          return applied(`ended ${ended} uptime outage(s) of ${projectId}`);
        }
        if (req.mode !== "down") throw new Error("monitoring chaos supports down and up");
        st.uptimeOutages.push({ projectId, start: now, end: FAR_FUTURE });
        return applied(`uptime checks of ${projectId} fail from ${rfc3339(now)}`);
      }
      case "backup":
      case "health": {
        if (req.mode !== "down" && req.mode !== "up") throw new Error(`${integration} chaos supports down and up`);
        const suffix = integration === "backup" ? "/jobs/orchestrator-firestore-backup" : "/jobs/orchestrator-health-run";
        const jobs = Object.entries(st.schedulerJobs).filter(([name]) => name.startsWith(`projects/${projectId}/`) && name.endsWith(suffix));
        if (jobs.length === 0) throw new Error(`${projectId} has no ${integration} Scheduler job`);
        for (const [name, job] of jobs) {
          const updated: Resource = { ...job, lastAttemptTime: timestamp(now) };
          if (req.mode === "down") updated.status = { code: 13, message: "chaos: the last attempt failed" };
          else delete updated.status;
          st.schedulerJobs[name] = updated;
        }
        return applied(req.mode === "down" ? `the ${integration} job's last attempt failed` : `the ${integration} job's last attempt succeeded`);
      }
    }
  }
}
