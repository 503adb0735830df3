/**
 * Accepts the common snake_case shape of an environment plan as-is (environments and goals as
 * maps keyed by name, `project_id`, `auto_deploy`, `monitoring_enabled`, `success_criteria`…) and
 * turns it into the canonical camelCase shape the zod schema validates. It remembers where each
 * canonical field came from, so every error still points at the field the user wrote.
 */
import type { FieldError } from "../schema/issues";
import { constraintsSchema, environmentPlanSpecSchema, environmentSchema, goalSchema, successCriteriaSchema } from "../schema/environment-plan";

export interface Normalised {
  value: Record<string, unknown>;
  errors: FieldError[];
  /** Maps a path in the canonical shape back to the user's own field names. */
  originalPath: (path: string) => string;
}

/** Snake_case spellings that are not just the camelCase of a canonical key. */
const ALIASES: Readonly<Record<string, string>> = {
  monitoringEnabled: "monitoring",
  backupEnabled: "backup",
  uptimePercentage: "uptimePercent",
  maxDowntime: "maxDowntimeMinutes",
  budgetPerMonth: "budgetUsdPerMonth",
  monthlyBudgetUsd: "budgetUsdPerMonth",
};

const KNOWN_KEYS = {
  plan: new Set(Object.keys(environmentPlanSpecSchema.shape)),
  constraints: new Set(Object.keys(constraintsSchema.shape)),
  environment: new Set(Object.keys(environmentSchema.shape)),
  goal: new Set(Object.keys(goalSchema.shape)),
  criteria: new Set(Object.keys(successCriteriaSchema.shape)),
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

class PathMap {
  private readonly renamed = new Map<string, string>();

  set(canonical: string, original: string): void {
    if (canonical !== original) this.renamed.set(canonical, original);
  }

  /** Longest renamed prefix wins: `environments.0.projectId` → `environments.development.project_id`. */
  original(path: string): string {
    const segments = path === "" ? [] : path.split(".");
    for (let i = segments.length; i > 0; i--) {
      const hit = this.renamed.get(segments.slice(0, i).join("."));
      if (hit !== undefined) return [hit, ...segments.slice(i)].join(".");
    }
    return path;
  }
}

export function normaliseEnvironmentPlan(spec: Record<string, unknown>): Normalised {
  const paths = new PathMap();
  const errors: FieldError[] = [];

  /** Renames the keys of one object that spell a known canonical key in snake_case; leaves others for the schema to reject. */
  function renameKeys(obj: Record<string, unknown>, known: ReadonlySet<string>, canonicalBase: string, originalBase: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const sourceOf = new Map<string, string>();
    for (const [key, value] of Object.entries(obj)) {
      const camel = camelCase(key);
      const target = known.has(key) ? key : known.has(camel) ? camel : known.has(ALIASES[camel] ?? "") ? ALIASES[camel]! : key;
      const originalPath = join(originalBase, key);
      if (sourceOf.has(target)) {
        errors.push({ path: originalPath, message: `"${key}" and "${sourceOf.get(target)}" mean the same field: keep one` });
        continue;
      }
      sourceOf.set(target, key);
      out[target] = value;
      paths.set(join(canonicalBase, target), originalPath);
    }
    return out;
  }

  const top = renameKeys(spec, KNOWN_KEYS.plan, "", "");
  const originalOf = (canonicalKey: string): string => paths.original(canonicalKey);

  if (isPlainObject(top.constraints)) {
    top.constraints = renameKeys(top.constraints, KNOWN_KEYS.constraints, "constraints", originalOf("constraints"));
  }

  const environments = top.environments;
  const envBase = originalOf("environments");
  if (isPlainObject(environments)) {
    top.environments = Object.entries(environments).map(([name, value], i) => {
      const canonical = `environments.${i}`;
      const original = join(envBase, name);
      paths.set(canonical, original);
      paths.set(`${canonical}.name`, original);
      if (!isPlainObject(value)) return value;
      const env = renameKeys(value, KNOWN_KEYS.environment, canonical, original);
      if (env.name !== undefined && env.name !== name) {
        errors.push({ path: join(original, "name"), message: `environment "${name}" also says name "${String(env.name)}": the map key is the name, drop this field` });
      }
      return { ...env, name };
    });
  } else if (Array.isArray(environments)) {
    top.environments = environments.map((value, i) =>
      isPlainObject(value) ? renameKeys(value, KNOWN_KEYS.environment, `environments.${i}`, join(envBase, String(i))) : value,
    );
  }

  const goals = top.goals;
  const goalBase = originalOf("goals");
  const normaliseGoal = (value: Record<string, unknown>, canonical: string, original: string): Record<string, unknown> => {
    const goal = renameKeys(value, KNOWN_KEYS.goal, canonical, original);
    if (isPlainObject(goal.successCriteria)) {
      goal.successCriteria = renameKeys(goal.successCriteria, KNOWN_KEYS.criteria, `${canonical}.successCriteria`, paths.original(`${canonical}.successCriteria`));
    }
    return goal;
  };
  if (isPlainObject(goals)) {
    top.goals = Object.entries(goals).map(([id, value], i) => {
      const canonical = `goals.${i}`;
      const original = join(goalBase, id);
      paths.set(canonical, original);
      paths.set(`${canonical}.id`, original);
      if (!isPlainObject(value)) return value;
      const goal = normaliseGoal(value, canonical, original);
      if (goal.id !== undefined && goal.id !== id) {
        errors.push({ path: join(original, "id"), message: `goal "${id}" also says id "${String(goal.id)}": the map key is the id, drop this field` });
      }
      return { ...goal, id };
    });
  } else if (Array.isArray(goals)) {
    top.goals = goals.map((value, i) => (isPlainObject(value) ? normaliseGoal(value, `goals.${i}`, join(goalBase, String(i))) : value));
  }

  return { value: top, errors, originalPath: (path) => paths.original(path) };
}

function join(base: string, key: string): string {
  return base === "" ? key : `${base}.${key}`;
}
