/**
 * Typed plan documents for code in other repositories: `definePlan({...})` checks a plan against
 * the planner's own input types (editor completion, compile-time errors for a wrong `run`, a
 * misspelt field or a bad policy) and returns it unchanged, ready to write to `plans/{id}` or to
 * serialise into a plan file. Types only: it pulls in none of the planner's code.
 */
import type { z } from "zod";
import type { environmentPlanSpecSchema } from "./schema/environment-plan";
import type { taskPlanSpecSchema } from "./schema/plan";

/** A plan of explicit tasks, as written (defaults not yet applied). */
export type TaskPlanInput = z.input<typeof taskPlanSpecSchema>;
/** A plan of goals, constraints and environments, as written (the canonical camelCase form). */
export type EnvironmentPlanInput = z.input<typeof environmentPlanSpecSchema>;
export type PlanInput = TaskPlanInput | EnvironmentPlanInput;

export function definePlan<const P extends PlanInput>(plan: P): P {
  return plan;
}
