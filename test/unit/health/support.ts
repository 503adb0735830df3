/** Shared fixtures of the health suites: environments, plans and a run wired to a local control plane. */
import type { ControlPlane } from "../../../local/control-plane";
import { createGoogleClients, googleClientConfigFromEnv, type GoogleClients } from "../../../functions/src/clients/google";
import { createFirebaseExecutor } from "../../../functions/src/executors/firebase";
import type { Probes } from "../../../functions/src/health/checks";
import { DEFAULT_HEALTH_CONFIG, type HealthConfig } from "../../../functions/src/health/config";
import type { EnvironmentInput, PlanContext } from "../../../functions/src/health/environments";
import { liveProbes } from "../../../functions/src/health/probes";
import type { AlertMessage } from "../../../functions/src/schema/health";
import { timestamp } from "../../../local/control-plane/state";

export const TEST_CONFIG: HealthConfig = {
  ...DEFAULT_HEALTH_CONFIG,
  // Wide margins: a healthy local answer on a cold, shared CI machine can take a few hundred ms.
  checkTimeoutMs: 2_000,
  runDeadlineMs: 6_000,
  slowMs: 800,
  driftChecks: false,
  leaseMs: 60_000,
};

export function planContext(projectId: string, name: string, integrations: string[], overrides: Partial<PlanContext> = {}): PlanContext {
  return {
    planId: "plan-1",
    environment: {
      name,
      description: null,
      tier: name === "production" ? "production" : name === "staging" ? "staging" : "development",
      projectId,
      region: "us-central1",
      failoverRegion: null,
      pool: null,
      integrations,
      added: [],
      autoDeploy: name !== "production",
      approvalGate: name === "production",
      monitoring: integrations.includes("monitoring"),
      backup: integrations.includes("backup"),
      approvers: name === "production" ? ["ops@example.com"] : [],
      bakeMinutes: 0,
      bakeSlo: null,
      settings: {},
    },
    goals: [
      {
        id: "high_availability",
        name: "High availability",
        priority: "high",
        targetEnvironments: ["production"],
        requiredIntegrations: ["monitoring", "backup"],
        successCriteria: { uptimePercent: 99.9, maxDowntimeMinutes: null },
        enforce: "add",
      },
    ].filter(() => name === "production") as PlanContext["goals"],
    constraints: { budgetUsdPerMonth: 500, budgetMargin: 0.1, requireApprovalFor: ["production"], dataResidency: "us-", maxCriticalPathMinutes: 480, soft: [] },
    approvers: [],
    ...overrides,
  };
}

/** An environment document's state as the executors leave it, for the given integrations. */
export function environmentInput(projectId: string, name: string, integrations: string[], plan: PlanContext | null = planContext(projectId, name, integrations)): EnvironmentInput {
  const state = (observed: unknown) => ({ desired: null, observed, inSync: true, action: "provision", at: 1 });
  const map: EnvironmentInput["integrations"] = {};
  for (const i of integrations) map[i] = state(i === "hosting" ? { site: { name: `projects/${projectId}/sites/${projectId}`, defaultUrl: `https://${projectId}.web.app` } } : {});
  return { id: projectId, integrations: map, health: null, uptimeDays: {}, plan, configError: null };
}

/** Puts what provisioning would have created into the control plane: site, topics, jobs, uptime check. */
export function provisionInControlPlane(cp: ControlPlane, projectId: string, integrations: string[]): void {
  cp.edit((s) => {
    if (integrations.includes("hosting")) s.hostingSites[`projects/${projectId}/sites/${projectId}`] = { name: `projects/${projectId}/sites/${projectId}`, defaultUrl: `https://${projectId}.web.app`, type: "USER_SITE" };
    if (integrations.includes("functions")) s.topics[`projects/${projectId}/topics/events`] = { name: `projects/${projectId}/topics/events`, labels: { environment: "production" } };
    if (integrations.includes("backup")) {
      const name = `projects/${projectId}/locations/us-central1/jobs/orchestrator-firestore-backup`;
      s.schedulerJobs[name] = { name, schedule: "0 3 * * *", timeZone: "Etc/UTC", state: "ENABLED", lastAttemptTime: timestamp(Date.now() - 3_600_000) };
    }
    if (integrations.includes("monitoring")) {
      const name = `projects/${projectId}/uptimeCheckConfigs/hosting-1`;
      s.uptimeCheckConfigs[name] = { name, displayName: "orchestrator/production/hosting", period: { seconds: "60" }, monitoredResource: { type: "uptime_url", labels: { host: `${projectId}.web.app` } } };
    }
  });
}

export interface Wiring {
  probes: Probes;
  clients: GoogleClients;
  published: AlertMessage[];
  publishAlerts(messages: AlertMessage[]): Promise<void>;
}

export function wire(cp: ControlPlane, now: () => number, firestore?: Probes["firestore"]): Wiring {
  const clients = createGoogleClients(googleClientConfigFromEnv(cp.env));
  const published: AlertMessage[] = [];
  return {
    clients,
    published,
    publishAlerts: async (messages) => {
      published.push(...messages);
    },
    probes: liveProbes({
      clients: () => clients,
      executor: createFirebaseExecutor(() => clients),
      firestore: firestore ?? (async () => ({ status: "ok" })),
      checkTimeoutMs: TEST_CONFIG.checkTimeoutMs,
      now,
      runId: () => "test",
      probeEndpoint: cp.probeEnv.ORCHESTRATOR_PROBE_ENDPOINT,
    }),
  };
}

/** A clock that runs in real time but can be moved forward (5-minute ticks between runs). */
export function movableClock(start = Date.parse("2026-11-25T12:00:00.000Z")): { now: () => number; advance(ms: number): void } {
  const realStart = Date.now();
  let offset = 0;
  return { now: () => start + offset + (Date.now() - realStart), advance: (ms) => void (offset += ms) };
}
