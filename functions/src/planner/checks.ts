/**
 * Checks of an environment plan that need the catalogue rather than types: unknown integrations
 * and goals, names that refer to no environment, duplicates, contradictions. They read the
 * normalised value defensively (it may not have passed the schema), so one compile reports
 * these together with every schema error instead of one batch at a time.
 */
import { ENVIRONMENT_TIERS } from "../schema/environment-plan";
import type { FieldError } from "../schema/issues";
import type { IntegrationEntry } from "./catalogue";
import { GOALS } from "./goals";

type Catalogue = Readonly<Record<string, IntegrationEntry>>;

// Arrays longer than the schema allows are already an error there: not worth a check per element.
const MAX_CHECKED = 200;

function records(value: unknown): Array<Record<string, unknown> | null> {
  if (!Array.isArray(value) || value.length > MAX_CHECKED) return [];
  return value.map((v) => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null));
}

function strings(value: unknown): Array<string | null> {
  return Array.isArray(value) && value.length <= MAX_CHECKED ? value.map((v) => (typeof v === "string" ? v : null)) : [];
}

function has(map: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(map, key);
}

function listOf(keys: readonly string[]): string {
  return keys.length <= 12 ? keys.join(", ") : `${keys.slice(0, 12).join(", ")}, … (${keys.length} in all)`;
}

export function catalogueErrors(spec: Record<string, unknown>, catalogue: Catalogue): FieldError[] {
  const errors: FieldError[] = [];
  const known = Object.keys(catalogue);
  const unknownIntegration = (path: string, id: string): void => {
    errors.push({ path, message: `unknown integration "${id}" (known: ${listOf(known)})` });
  };

  const names = new Map<string, number>();
  records(spec.environments).forEach((env, i) => {
    if (!env) return;
    if (typeof env.name === "string") {
      if (names.has(env.name)) errors.push({ path: `environments.${i}.name`, message: `duplicate environment "${env.name}" (first at environments.${names.get(env.name)})` });
      else names.set(env.name, i);
    }
    const listed = new Set<string>();
    strings(env.integrations).forEach((id, j) => {
      if (id === null) return;
      const path = `environments.${i}.integrations.${j}`;
      if (!has(catalogue, id)) unknownIntegration(path, id);
      else if (listed.has(id)) errors.push({ path, message: `"${id}" is listed twice` });
      listed.add(id);
    });
    for (const flag of ["monitoring", "backup"] as const) {
      if (env[flag] === false && listed.has(flag)) {
        errors.push({ path: `environments.${i}.${flag}`, message: `${flag} is false but integrations lists "${flag}": remove one of the two` });
      }
    }
  });

  // Names that select environments: an environment's name or a tier (which selects every environment of that tier).
  const selects = (name: string): boolean => names.has(name) || (ENVIRONMENT_TIERS as readonly string[]).includes(name);
  const selectable = (): string => listOf([...new Set([...names.keys(), ...ENVIRONMENT_TIERS])]);

  const seenGoals = new Map<string, number>();
  records(spec.goals).forEach((goal, i) => {
    if (!goal) return;
    if (typeof goal.id === "string") {
      if (!has(GOALS, goal.id)) errors.push({ path: `goals.${i}.id`, message: `unknown goal "${goal.id}" (known: ${Object.keys(GOALS).join(", ")})` });
      else if (seenGoals.has(goal.id)) errors.push({ path: `goals.${i}.id`, message: `goal "${goal.id}" is given twice (first at goals.${seenGoals.get(goal.id)})` });
      else seenGoals.set(goal.id, i);
    }
    strings(goal.targetEnvironments).forEach((name, j) => {
      if (name !== null && !selects(name)) {
        errors.push({ path: `goals.${i}.targetEnvironments.${j}`, message: `"${name}" is not an environment of this plan nor a tier (one of: ${selectable()})` });
      }
    });
    strings(goal.requiredIntegrations).forEach((id, j) => {
      if (id !== null && !has(catalogue, id)) unknownIntegration(`goals.${i}.requiredIntegrations.${j}`, id);
    });
  });

  const constraints = spec.constraints;
  if (typeof constraints === "object" && constraints !== null && !Array.isArray(constraints)) {
    strings((constraints as Record<string, unknown>).requireApprovalFor).forEach((name, j) => {
      if (name !== null && !selects(name)) {
        errors.push({ path: `constraints.requireApprovalFor.${j}`, message: `"${name}" is not an environment of this plan nor a tier (one of: ${selectable()})` });
      }
    });
  }
  return errors;
}
