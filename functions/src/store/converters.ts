/** Typed reads: every document the engine reads is validated, so no malformed state flows on. */
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { planStateSchema, type PlanState } from "../schema/plan";
import { taskDocSchema, type TaskDoc } from "../schema/task";

export function readTask(snap: Pick<DocumentSnapshot, "exists" | "data">): TaskDoc | undefined {
  return snap.exists ? taskDocSchema.parse(snap.data()) : undefined;
}

export function readPlanState(snap: Pick<DocumentSnapshot, "exists" | "data">): PlanState | undefined {
  return snap.exists ? planStateSchema.parse(snap.data()) : undefined;
}

/** The fields of `planStateSchema`: a field mask that reads a plan's state without its spec. */
export const PLAN_STATE_FIELDS: string[] = Object.keys(planStateSchema.shape);
