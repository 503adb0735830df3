/**
 * The environment form of a plan document: goals, constraints and environments,
 * which the planner expands into an explicit task graph. This is the canonical camelCase shape;
 * the common snake_case shape (environments and goals as maps) is normalised into it by
 * `planner/normalise.ts` before these schemas run, so there is one source of truth.
 */
import { z } from "zod";
import { sloSpecSchema, type SloSpec } from "./slo";
import { approverEntrySchema } from "../trust/principals";
import { expectedStateSchema, failurePolicySchema, onStaleSchema, poolIdSchema, runControlsShape } from "./plan";

/** Environment names become task-id prefixes (`staging.functions`), so no dots and bounded length. */
export const environmentNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,47}$/, "environment names are 1-48 characters: lowercase letters, digits, _ and - (starting with a letter)");

/** Integration ids are checked against the planner's catalogue; the pattern keeps task ids valid. */
export const integrationIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,47}$/, "integration ids are 1-48 characters: lowercase letters, digits, _ and -");

export const projectIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "a Google Cloud project id: 6-30 lowercase letters, digits and hyphens");

export const regionSchema = z
  .string()
  .regex(/^[a-z]+(-[a-z0-9]+)+$/, "a Google Cloud region such as us-central1 or europe-west1");

const principalSchema = approverEntrySchema;

/**
 * Tiers drive promotion order (development → staging → production) and the usage assumptions of
 * the cost model. Absent, the tier is inferred from the environment's name.
 */
export const ENVIRONMENT_TIERS = ["development", "staging", "production"] as const;
export const environmentTierSchema = z.enum(ENVIRONMENT_TIERS);
export type EnvironmentTier = z.output<typeof environmentTierSchema>;

export const GOAL_IDS = ["high_availability", "security_compliance", "cost_optimization"] as const;
export type GoalId = (typeof GOAL_IDS)[number];

export const successCriteriaSchema = z
  .object({
    /** Monthly availability target, e.g. 99.9. */
    uptimePercent: z.number().min(0).max(100).optional(),
    /** Monthly downtime allowance in minutes, e.g. 43.8 for 99.9 %. */
    maxDowntimeMinutes: z.number().min(0).max(44_640).optional(),
  })
  .strict();

const GOAL_PRIORITY = z.enum(["low", "medium", "high", "critical"]);
const priorityOfRank = (rank: number): z.output<typeof GOAL_PRIORITY> => (rank === 1 ? "critical" : rank === 2 ? "high" : rank === 3 ? "medium" : "low");

export const goalSchema = z
  .object({
    /** One of GOAL_IDS: the planner knows what each one requires. */
    id: z.string().min(1).max(64),
    name: z.string().max(200).optional(),
    description: z.string().max(2000).optional(),
    /** A word, or a number as many existing configs write it (1 = highest: critical, 2 high, 3 medium, 4 and up low). */
    priority: z.union([GOAL_PRIORITY, z.number().int().min(1).max(100).transform(priorityOfRank)]).default("medium"),
    /** Environment names or tiers; absent: the goal's default (see planner/goals.ts). */
    targetEnvironments: z.array(z.string().min(1).max(64)).max(100).optional(),
    /** Absent: the goal's default integrations (see planner/goals.ts). */
    requiredIntegrations: z.array(integrationIdSchema).max(100).optional(),
    successCriteria: successCriteriaSchema.default({}),
    /**
     * Service level objectives the health runs track for this goal on each target environment:
     * availability or latency, with their error budget and burn-rate alert tiers (schema/slo.ts).
     * Absent: an uptime target implies one availability SLO at that objective over 30 days.
     */
    slos: z.array(sloSpecSchema).max(10).optional(),
    /** `add`: the planner adds missing required integrations; `fail`: the plan is rejected instead. */
    enforce: z.enum(["add", "fail"]).default("add"),
  })
  .strict();
export type GoalSpec = z.output<typeof goalSchema>;

export const CONSTRAINT_IDS = ["budget", "dataResidency"] as const;
export type ConstraintId = (typeof CONSTRAINT_IDS)[number];

export const constraintsSchema = z
  .object({
    /** Estimated monthly cost of all environments must stay at or under this. */
    budgetUsdPerMonth: z.number().positive().max(1e9).optional(),
    /** The budget-near-limit risk fires when the estimate is within this fraction of the budget. */
    budgetMargin: z.number().min(0).max(1).default(0.1),
    /** Environment names or tiers that always get an approval gate, whatever `autoDeploy` says. */
    requireApprovalFor: z.array(z.string().min(1).max(64)).max(100).default([]),
    /** Region prefix every environment (and failover region) must start with, e.g. `us-` or `europe-`. */
    dataResidency: z.string().min(1).max(64).optional(),
    /** The long-critical-path risk fires above this (minutes, approval waits included). */
    maxCriticalPathMinutes: z.number().positive().max(525_600).default(480),
    /** Constraints listed here are reported but do not reject the plan (soft); all others are hard. */
    soft: z.array(z.enum(CONSTRAINT_IDS)).max(CONSTRAINT_IDS.length).default([]),
  })
  .strict();
export type ConstraintsSpec = z.output<typeof constraintsSchema>;

export const environmentSchema = z
  .object({
    name: environmentNameSchema,
    /** For people (the plan's report and page); the planner does not read it. */
    description: z.string().max(2000).optional(),
    tier: environmentTierSchema.optional(),
    projectId: projectIdSchema,
    region: regionSchema,
    /** A second region the environment can fail over to; without one an HA goal carries a single-region risk. */
    failoverRegion: regionSchema.optional(),
    integrations: z.array(integrationIdSchema).max(200).default([]),
    /** Absent: true for development-tier environments, false otherwise (an approval gate). */
    autoDeploy: z.boolean().optional(),
    /** `true` adds the monitoring integration; absent: whether `integrations` lists it. */
    monitoring: z.boolean().optional(),
    /** `true` adds the backup integration; absent: whether `integrations` lists it. */
    backup: z.boolean().optional(),
    /** Who may approve this environment's gate; empty: the plan's approvers. */
    approvers: z.array(principalSchema).max(100).default([]),
    /**
     * Per integration, settings over the catalogue's defaults for this tier, e.g.
     * `{ "backup": { "schedule": "0 4 * * *" }, "hosting": { "config": { "cleanUrls": false } } }`.
     */
    settings: z.record(integrationIdSchema, z.record(z.string(), z.unknown())).default({}),
    /**
     * Minutes to watch the environment after its verify before the next tier starts (a bake): a
     * burn of its availability budget at a page tier fails the bake, and the plan's failure policy
     * applies (rollback undoes the promotion). Absent: no bake.
     */
    bakeMinutes: z.number().int().min(1).max(1440).optional(),
    /** A named pool (`pools/{id}`) whose slots this environment's provisions and verify take. */
    pool: poolIdSchema.optional(),
  })
  .strict();
export type EnvironmentSpec = z.output<typeof environmentSchema>;

export const MAX_ENVIRONMENTS = 100;

export const environmentPlanSpecSchema = z
  .object({
    /** The JSON schema an editor validates the file against (e.g. schema/plan.schema.json); ignored by the planner. */
    $schema: z.string().max(2000).optional(),
    name: z.string().max(200).optional(),
    description: z.string().max(5000).optional(),
    labels: z.record(z.string().max(63), z.string().max(63)).optional(),
    goals: z.array(goalSchema).max(50).default([]),
    constraints: constraintsSchema.default({ budgetMargin: 0.1, requireApprovalFor: [], maxCriticalPathMinutes: 480, soft: [] }),
    /** Promotion order: by tier (development → staging → production), ties in the order written. */
    environments: z.array(environmentSchema).min(1, "an environment plan needs at least one environment").max(MAX_ENVIRONMENTS),
    approvers: z.array(principalSchema).max(100).default([]),
    failurePolicy: failurePolicySchema.default("stop"),
    dryRun: z.boolean().default(false),
    /** Written by `npm run plan -- --refresh --apply`: the observed state the plan was diffed against. */
    expectedState: expectedStateSchema.optional(),
    /** When that state moved by the time a provision runs: `stop` the plan as `stale`, or `replan` (diff again and go on). */
    onStale: onStaleSchema.default("stop"),
    ...runControlsShape,
  })
  .strict();
export type EnvironmentPlanSpec = z.output<typeof environmentPlanSpecSchema>;

/** An environment after defaults: tier, autoDeploy, monitoring, backup and integrations all decided. */
export interface EffectiveEnvironment {
  name: string;
  /** The user's own words for people, kept as written (null when none). */
  description: string | null;
  tier: EnvironmentTier;
  projectId: string;
  region: string;
  failoverRegion: string | null;
  /** What the user listed, in their order, followed by what the planner added. */
  integrations: string[];
  added: Array<{ integration: string; reason: string }>;
  autoDeploy: boolean;
  approvalGate: boolean;
  monitoring: boolean;
  backup: boolean;
  approvers: string[];
  /** Minutes its bake watches it after verify (0: no bake). */
  bakeMinutes: number;
  /** The availability SLO its bake watches: the strictest of the goals that target it, else 99.9 % over 30 days. */
  bakeSlo: SloSpec | null;
  /** The pool its provisions and verify take slots in (null: none). */
  pool: string | null;
  /** The environment's own settings per integration (over the catalogue's defaults). */
  settings: Record<string, Record<string, unknown>>;
}

/** What an integration of an environment is provisioned with: the catalogue's defaults for its tier, then the environment's own. */
export function integrationSettingsOf(defaults: Record<string, unknown>, env: Pick<EffectiveEnvironment, "settings"> | undefined, integration: string): Record<string, unknown> {
  return { ...defaults, ...(env?.settings?.[integration] ?? {}) };
}

export interface EffectiveGoal {
  id: GoalId;
  name: string;
  description: string | null;
  priority: GoalSpec["priority"];
  targetEnvironments: string[];
  requiredIntegrations: string[];
  successCriteria: { uptimePercent: number | null; maxDowntimeMinutes: number | null };
  /** What the health runs track (the goal's own, or the availability SLO its uptime target implies). */
  slos: SloSpec[];
  enforce: "add" | "fail";
}

/** The spec the planner actually planned: the user's fields plus every default, in promotion order. */
export interface EffectiveEnvironmentPlan {
  name: string | null;
  description: string | null;
  goals: EffectiveGoal[];
  constraints: {
    budgetUsdPerMonth: number | null;
    budgetMargin: number;
    requireApprovalFor: string[];
    dataResidency: string | null;
    maxCriticalPathMinutes: number;
    soft: ConstraintId[];
  };
  environments: EffectiveEnvironment[];
  approvers: string[];
  failurePolicy: EnvironmentPlanSpec["failurePolicy"];
  dryRun: boolean;
}
