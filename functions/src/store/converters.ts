/** Typed reads: every document the engine reads is validated, so no malformed state flows on. */
import type { Readable } from "./firestore";
import { planStateSchema, type PlanState } from "../schema/plan";
import { taskDocSchema, type TaskDoc } from "../schema/task";

export function readTask(snap: Readable): TaskDoc | undefined {
  return snap.exists ? taskDocSchema.parse(snap.data()) : undefined;
}

export function readPlanState(snap: Readable): PlanState | undefined {
  return snap.exists ? planStateSchema.parse(snap.data()) : undefined;
}

/** The fields of `planStateSchema`: a field mask that reads a plan's state without its spec. */
export const PLAN_STATE_FIELDS: string[] = Object.keys(planStateSchema.shape);
