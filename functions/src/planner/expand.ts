/**
 * Expands a validated environment plan into its effective spec (every default decided, the
 * integrations goals and dependencies add, promotion order) and into the explicit task list the
 * engine runs. Task ids: `<env>.<integration>` provisions, `<env>.approval` gates, `<env>.verify`
 * closes an environment.
 *
 * Promotion: environments run tier by tier (development → staging → production). Every
 * environment of a tier waits for the `verify` task of every environment of the previous
 * non-empty tier; environments of the same tier run side by side. Only an environment's entry
 * tasks (its gate, or its integrations that need nothing) carry that edge: the rest wait through
 * them, which keeps edges (each one a Firestore write) to a minimum.
 */
import type {
  EffectiveEnvironment,
  EffectiveEnvironmentPlan,
  EffectiveGoal,
  EnvironmentPlanSpec,
  EnvironmentSpec,
  EnvironmentTier,
} from "../schema/environment-plan";
import { ENVIRONMENT_TIERS, integrationSettingsOf } from "../schema/environment-plan";
import { APPROVAL_WAIT_SECONDS, VERIFY_DURATION_SECONDS, VERIFY_INTEGRATION, type IntegrationEntry } from "./catalogue";
import { GOALS, allowedDowntimeMinutes, isGoalId } from "./goals";
import { MAX_IN_INVOCATION_SECONDS } from "../config";
import { DEFAULT_ALERT_TIERS, type SloSpec } from "../schema/slo";

export type Catalogue = Readonly<Record<string, IntegrationEntry>>;

export type TaskRole = "provision" | "verify" | "approval" | "bake";

/** What the report needs to know about a generated task beyond its spec. */
export interface TaskMeta {
  environment: string;
  integration: string | null;
  role: TaskRole;
  durationSeconds: number;
}

export interface Expansion {
  effective: EffectiveEnvironmentPlan;
  /** Raw task specs, to be validated by `taskSpecSchema` (which fills its defaults). */
  tasks: Array<Record<string, unknown>>;
  meta: Map<string, TaskMeta>;
}

export function inferTier(name: string): EnvironmentTier {
  if (/stag|uat|pre-?prod|^qa/.test(name)) return "staging";
  if (/prod/.test(name)) return "production";
  return "development";
}

/** Environment names selected by a list of names and tiers. */
function select(names: readonly string[] | undefined, envs: readonly EffectiveEnvironment[]): string[] {
  if (!names) return [];
  const wanted = new Set(names);
  return envs.filter((e) => wanted.has(e.name) || wanted.has(e.tier)).map((e) => e.name);
}

/**
 * `protectedProjects`: projects the deployment's policy protects; their environments always get a
 * gate, whatever `autoDeploy` says (the policy then sets its approvers: planner/protection.ts).
 */
/** How long after a bake's minutes a verdict may take (a health run every 5 minutes, twice, and some slack). */
export const BAKE_VERDICT_GRACE_SECONDS = 15 * 60;

/** The SLO an uptime target implies: availability at that objective over a rolling 30 days, alerting on the Workbook's tiers. */
export const impliedAvailabilitySlo = (uptimePercent: number): SloSpec => ({ sli: { kind: "availability" }, objectivePercent: uptimePercent, window: { rolling: { days: 30 } }, alertTiers: DEFAULT_ALERT_TIERS.map((t) => ({ ...t })) });

export function expandEnvironmentPlan(spec: EnvironmentPlanSpec, catalogue: Catalogue, protectedProjects: ReadonlySet<string> = new Set()): Expansion {
  const tierRank = (tier: EnvironmentTier): number => ENVIRONMENT_TIERS.indexOf(tier);
  const ordered = spec.environments
    .map((env, index) => ({ env, index, tier: env.tier ?? inferTier(env.name) }))
    .sort((a, b) => tierRank(a.tier) - tierRank(b.tier) || a.index - b.index);

  const environments: EffectiveEnvironment[] = ordered.map(({ env, tier }) => baseEnvironment(env, tier));
  const byName = new Map(environments.map((e) => [e.name, e]));

  const goals: EffectiveGoal[] = spec.goals.filter((g) => isGoalId(g.id)).map((g) => {
    const entry = GOALS[g.id as keyof typeof GOALS];
    const targets = g.targetEnvironments ? select(g.targetEnvironments, environments) : select(entry.defaultTiers, environments);
    const uptime = g.successCriteria.uptimePercent ?? entry.defaultUptimePercent;
    return {
      id: g.id as EffectiveGoal["id"],
      name: g.name ?? entry.name,
      description: g.description ?? null,
      priority: g.priority,
      targetEnvironments: targets,
      requiredIntegrations: [...(g.requiredIntegrations ?? entry.requiredIntegrations)],
      successCriteria: {
        uptimePercent: uptime,
        maxDowntimeMinutes: g.successCriteria.maxDowntimeMinutes ?? (uptime === null ? null : allowedDowntimeMinutes(uptime)),
      },
      slos: g.slos ?? (uptime === null ? [] : [impliedAvailabilitySlo(uptime)]),
      enforce: g.enforce,
    };
  });

  for (const goal of goals) {
    if (goal.enforce !== "add") continue;
    for (const name of goal.targetEnvironments) {
      for (const integration of goal.requiredIntegrations) addIntegration(byName.get(name)!, integration, `required by goal ${goal.id}`);
    }
  }
  for (const env of environments) closeOverDependencies(env, catalogue);
  // A bake watches the strictest availability SLO of the goals that target its environment.
  for (const env of environments) {
    if (env.bakeMinutes === 0) continue;
    const slos = goals.filter((g) => g.targetEnvironments.includes(env.name)).flatMap((g) => g.slos).filter((s) => s.sli.kind === "availability");
    env.bakeSlo = slos.sort((a, b) => b.objectivePercent - a.objectivePercent)[0] ?? impliedAvailabilitySlo(99.9);
  }

  const requireApproval = new Set(spec.constraints.requireApprovalFor);
  for (const env of environments) {
    env.approvalGate = !env.autoDeploy || requireApproval.has(env.name) || requireApproval.has(env.tier) || protectedProjects.has(env.projectId);
    env.monitoring = env.integrations.includes("monitoring");
    env.backup = env.integrations.includes("backup");
  }

  const effective: EffectiveEnvironmentPlan = {
    name: spec.name ?? null,
    description: spec.description ?? null,
    goals,
    constraints: {
      budgetUsdPerMonth: spec.constraints.budgetUsdPerMonth ?? null,
      budgetMargin: spec.constraints.budgetMargin,
      requireApprovalFor: [...spec.constraints.requireApprovalFor],
      dataResidency: spec.constraints.dataResidency ?? null,
      maxCriticalPathMinutes: spec.constraints.maxCriticalPathMinutes,
      soft: [...spec.constraints.soft],
    },
    environments,
    approvers: [...spec.approvers],
    failurePolicy: spec.failurePolicy,
    dryRun: spec.dryRun,
  };
  return { effective, ...tasksOf(environments, catalogue) };
}

function baseEnvironment(env: EnvironmentSpec, tier: EnvironmentTier): EffectiveEnvironment {
  const effective: EffectiveEnvironment = {
    name: env.name,
    description: env.description ?? null,
    tier,
    projectId: env.projectId,
    region: env.region,
    failoverRegion: env.failoverRegion ?? null,
    integrations: [...new Set(env.integrations)],
    added: [],
    autoDeploy: env.autoDeploy ?? tier === "development",
    approvalGate: false,
    monitoring: false,
    backup: false,
    approvers: [...env.approvers],
    bakeMinutes: env.bakeMinutes ?? 0,
    bakeSlo: null,
    pool: env.pool ?? null,
    settings: structuredClone(env.settings),
  };
  if (env.monitoring === true) addIntegration(effective, "monitoring", "monitoring: true");
  if (env.backup === true) addIntegration(effective, "backup", "backup: true");
  return effective;
}

function addIntegration(env: EffectiveEnvironment, integration: string, reason: string): void {
  if (env.integrations.includes(integration)) return;
  env.integrations.push(integration);
  env.added.push({ integration, reason });
}

/** Adds what the listed integrations need, transitively (the list grows while it is walked). */
function closeOverDependencies(env: EffectiveEnvironment, catalogue: Catalogue): void {
  for (let i = 0; i < env.integrations.length; i++) {
    const id = env.integrations[i]!;
    for (const need of catalogue[id]?.needs ?? []) {
      if (catalogue[need]) addIntegration(env, need, `needed by ${id}`);
    }
  }
}

function tasksOf(environments: readonly EffectiveEnvironment[], catalogue: Catalogue): Omit<Expansion, "effective"> {
  const tasks: Array<Record<string, unknown>> = [];
  const meta = new Map<string, TaskMeta>();
  let previousTierVerifies: string[] = [];
  let currentTier: EnvironmentTier | null = null;
  let currentTierVerifies: string[] = [];

  for (const env of environments) {
    if (env.tier !== currentTier) {
      if (currentTierVerifies.length > 0) previousTierVerifies = currentTierVerifies;
      currentTierVerifies = [];
      currentTier = env.tier;
    }
    const id = (suffix: string): string => `${env.name}.${suffix}`;
    const target = { environment: env.name, projectId: env.projectId, region: env.region };
    let entry = previousTierVerifies;
    if (env.approvalGate) {
      tasks.push({
        id: id("approval"),
        name: `${env.projectId}: approve deployment to ${env.name}`,
        run: "approval",
        params: {
          prompt: `Provision ${env.integrations.join(", ")} in ${env.projectId} (${env.region})?`,
          ...(env.approvers.length > 0 ? { approvers: env.approvers } : {}),
        },
        needs: previousTierVerifies,
      });
      meta.set(id("approval"), { environment: env.name, integration: null, role: "approval", durationSeconds: APPROVAL_WAIT_SECONDS });
      entry = [id("approval")];
    }

    const provisioned = new Set(env.integrations);
    const neededInside = new Set<string>();
    for (const integration of env.integrations) {
      const item = catalogue[integration]!;
      const needs = item.needs.filter((n) => provisioned.has(n));
      needs.forEach((n) => neededInside.add(n));
      tasks.push({
        id: id(integration),
        name: `${env.projectId}: provision ${integration}`,
        run: "firebase",
        params: { integration, action: "provision", ...target, settings: integrationSettingsOf(item.settings(env.tier), env, integration) },
        needs: needs.length > 0 ? needs.map(id) : entry,
        // Provisioning calls Google APIs: transient failures are expected, so retry; the attempt
        // limit is generous next to the estimate because API latency varies widely, but an attempt
        // runs inside one function invocation, so it stays within that.
        retry: { maxAttempts: 3, initialBackoffSeconds: 10 },
        timeoutSeconds: Math.min(MAX_IN_INVOCATION_SECONDS, Math.max(300, item.durationSeconds * 4)),
        ...(env.pool === null ? {} : { pool: env.pool }),
      });
      meta.set(id(integration), { environment: env.name, integration, role: "provision", durationSeconds: item.durationSeconds });
    }

    const sinks = env.integrations.filter((i) => !neededInside.has(i));
    tasks.push({
      id: id("verify"),
      name: `${env.projectId}: verify ${env.name} is ready`,
      run: "firebase",
      params: {
        integration: VERIFY_INTEGRATION,
        action: "verify",
        ...target,
        settings: {
          integrations: env.integrations,
          // Verify compares against what provision asked for, integration by integration.
          integrationSettings: Object.fromEntries(env.integrations.map((i) => [i, integrationSettingsOf(catalogue[i]!.settings(env.tier), env, i)])),
          healthChecks: env.integrations.flatMap((i) => catalogue[i]!.healthChecks),
        },
      },
      needs: sinks.length > 0 ? sinks.map(id) : entry,
      retry: { maxAttempts: 3, initialBackoffSeconds: 10 },
      ...(env.pool === null ? {} : { pool: env.pool }),
    });
    meta.set(id("verify"), { environment: env.name, integration: null, role: "verify", durationSeconds: VERIFY_DURATION_SECONDS });
    if (env.bakeMinutes > 0 && env.bakeSlo !== null) {
      // Promotion waits for the bake: the next tier needs it instead of the verify.
      tasks.push({
        id: id("bake"),
        name: `${env.projectId}: bake ${env.name} for ${env.bakeMinutes} min`,
        run: "external",
        params: {
          description: `watching ${env.name}'s availability burn rate for ${env.bakeMinutes} min before the next tier`,
          bake: { projectId: env.projectId, environment: env.name, minutes: env.bakeMinutes, slo: env.bakeSlo },
        },
        needs: [id("verify")],
        // Health runs give the verdict; without one by then (no run watched) it fails: a bake passes only on evidence.
        timeoutSeconds: env.bakeMinutes * 60 + BAKE_VERDICT_GRACE_SECONDS,
      });
      meta.set(id("bake"), { environment: env.name, integration: null, role: "bake", durationSeconds: env.bakeMinutes * 60 });
      currentTierVerifies.push(id("bake"));
    } else currentTierVerifies.push(id("verify"));
  }
  return { tasks, meta };
}
