/**
 * What a health run knows about one environment (loaded by store/health.ts) and which checks it
 * gets. Environments are the `environments/{projectId}` documents the executors write; goals and
 * constraints come from the newest environment plan that provisions that project. Which checks:
 *   hosting      HTTP probe of the site URL (observed `site.defaultUrl`, else https://{projectId}.web.app)
 *   functions    HTTP probe of https://{region}-{projectId}.cloudfunctions.net/health
 *   database     Firestore write-then-read probe
 *   backup       Cloud Scheduler backup job present, enabled, last attempt OK
 *   health       the same for the per-environment health-run job
 *   monitoring   Cloud Monitoring uptime-check time series since the previous run
 *   any other    HTTP probe when its observed state carries a `url`
 *   all known    drift (the executor's verify), when the environment's plan is known
 * An integration the plan names but the document does not is reported as never provisioned.
 */
import { backupJobName } from "../executors/firebase/backup";
import { healthJobName } from "../executors/firebase/health";
import { INTEGRATION_NAMES } from "../executors/firebase/index";
import { INTEGRATIONS as CATALOGUE } from "../planner/catalogue";
import { integrationSettingsOf, type EffectiveEnvironment, type EffectiveEnvironmentPlan, type EffectiveGoal } from "../schema/environment-plan";
import type { CheckResult, EnvironmentHealth, UptimeDay } from "../schema/health";
import type { SloSeries } from "../schema/slo";
import type { CheckSpec } from "./checks";
import type { HealthConfig } from "./config";

export interface IntegrationState {
  desired: unknown;
  observed: unknown;
  inSync: boolean | null;
  action: string | null;
  at: number | null;
}

/** The plan behind an environment: its effective environment, the goals that target it, the constraints. */
export interface PlanContext {
  planId: string;
  environment: EffectiveEnvironment;
  goals: EffectiveGoal[];
  constraints: EffectiveEnvironmentPlan["constraints"];
  approvers: string[];
}

export interface EnvironmentInput {
  /** The document id: the project id. */
  id: string;
  integrations: Record<string, IntegrationState>;
  /** What the previous run wrote. */
  health: EnvironmentHealth | null;
  uptimeDays: Record<string, UptimeDay>;
  plan: PlanContext | null;
  /** Why the environment cannot be checked as configured (null when it can). */
  configError: string | null;
  /** Its SLO series per SLI key (`environments/{id}/slo/{key}`); absent: none yet. */
  slo?: Record<string, SloSeries>;
  /** The maintenance window on when the run loaded it, if any (its samples are kept out of budgets). */
  maintenance?: { window: string; name: string } | null;
}

const DRIFTABLE = new Set(INTEGRATION_NAMES);
const DEFAULT_REGION = "us-central1";

function dig(value: unknown, ...path: string[]): unknown {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Integrations recorded as present (not rolled back) in the environment document. */
export function presentIntegrations(env: EnvironmentInput): string[] {
  return Object.entries(env.integrations)
    .filter(([, s]) => s.action !== "compensate")
    .map(([name]) => name)
    .sort();
}

export const hostingUrlOf = (env: EnvironmentInput): string =>
  str(dig(env.integrations.hosting?.observed, "site", "defaultUrl")) ?? `https://${env.id}.web.app`;

export const functionsUrlOf = (env: EnvironmentInput): string => `https://${env.plan?.environment.region ?? DEFAULT_REGION}-${env.id}.cloudfunctions.net/health`;

export interface EnvironmentChecks {
  specs: CheckSpec[];
  /** Results known without probing (integrations the plan names that were never provisioned). */
  known: CheckResult[];
}

export function planEnvironmentChecks(env: EnvironmentInput, config: HealthConfig, now: number): EnvironmentChecks {
  const specs: CheckSpec[] = [];
  const known: CheckResult[] = [];
  const present = presentIntegrations(env);
  const plan = env.plan;
  const base = (integration: string, kind: CheckSpec["kind"], target: string) => ({ id: `${env.id}/${integration}/${kind}`, environmentId: env.id, integration, target });
  const params = (integration: string) => ({
    integration,
    action: "verify",
    environment: plan?.environment.name ?? env.id,
    projectId: env.id,
    region: plan?.environment.region ?? DEFAULT_REGION,
    settings: integrationSettingsOf(CATALOGUE[integration]?.settings(plan?.environment.tier ?? "production") ?? {}, plan?.environment, integration),
  });

  for (const integration of present) {
    const observed = env.integrations[integration]!.observed;
    switch (integration) {
      case "hosting": {
        const url = hostingUrlOf(env);
        specs.push({ ...base(integration, "http", url), kind: "http", url, slowMs: config.slowMs });
        break;
      }
      case "functions": {
        const url = functionsUrlOf(env);
        specs.push({ ...base(integration, "http", url), kind: "http", url, slowMs: config.slowMs });
        break;
      }
      case "database":
        specs.push({ ...base(integration, "firestore", env.id), kind: "firestore", projectId: env.id });
        break;
      case "backup":
      case "health": {
        const p = { projectId: env.id, region: plan?.environment.region ?? DEFAULT_REGION };
        const jobName = integration === "backup" ? backupJobName(p as Parameters<typeof backupJobName>[0]) : healthJobName(p as Parameters<typeof healthJobName>[0]);
        specs.push({ ...base(integration, "scheduler", jobName), kind: "scheduler", jobName });
        break;
      }
      case "monitoring":
        specs.push({ ...base(integration, "uptime", `projects/${env.id}`), kind: "uptime", projectId: env.id, lookbackMs: Math.max(config.periodMs, 5 * 60_000) });
        break;
      default: {
        const url = str(dig(observed, "url"));
        if (url !== undefined) specs.push({ ...base(integration, "http", url), kind: "http", url, slowMs: config.slowMs });
      }
    }
    if (config.driftChecks && plan !== null && DRIFTABLE.has(integration)) {
      specs.push({ ...base(integration, "drift", `${env.id} ${integration}`), kind: "drift", params: params(integration) });
    }
  }
  for (const integration of plan?.environment.integrations ?? []) {
    if (present.includes(integration)) continue;
    known.push({
      ...base(integration, "drift", `${env.id} ${integration}`),
      kind: "drift",
      status: "down",
      latencyMs: 0,
      message: `in plan ${plan!.planId} but not provisioned: environments/${env.id} has no state for it`,
      httpStatus: null,
      at: now,
    });
  }
  return { specs, known };
}
