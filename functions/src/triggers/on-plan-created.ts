/** `plans/{planId}` created → validate, compile and start the plan. */
import type { FirestoreEvent, QueryDocumentSnapshot } from "firebase-functions/v2/firestore";
import { logs } from "../logs";
import { startPlan } from "../runtime/start-plan";
import { firestore } from "../store/firestore";

export async function handlePlanCreated(event: FirestoreEvent<QueryDocumentSnapshot | undefined, { planId: string }>): Promise<void> {
  const snap = event.data;
  if (snap === undefined) return;
  try {
    await startPlan(firestore(), event.params.planId, snap.data(), `start:${event.id}`);
  } catch (error) {
    logs.unexpected(`onPlanCreated(${event.params.planId})`, error);
    throw error;
  }
}
