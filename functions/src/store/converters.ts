/** Typed reads: every document the engine reads is validated, so no malformed state flows on. */
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { planStateSchema, type PlanState } from "../schema/plan";
import { taskDocSchema, type TaskDoc } from "../schema/task";

export function readTask(snap: DocumentSnapshot): TaskDoc | undefined {
  return snap.exists ? taskDocSchema.parse(snap.data()) : undefined;
}

export function readPlanState(snap: DocumentSnapshot): PlanState | undefined {
  return snap.exists ? planStateSchema.parse(snap.data()) : undefined;
}
