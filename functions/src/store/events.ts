/**
 * The plan's append-only history, `plans/{planId}/events`. Event ids are deterministic where the
 * event belongs to one transition, so a repeated transaction rewrites the same record instead of
 * adding a second one.
 */
import type { DocumentReference, Firestore } from "firebase-admin/firestore";
import { eventsOf } from "./paths";

export interface PlanEvent {
  at: number;
  type: string;
  actor: string;
  message: string;
  taskId?: string;
  attempt?: number;
  data?: Record<string, unknown>;
}

export function eventRef(db: Firestore, planId: string, eventId: string): DocumentReference {
  return eventsOf(db, planId).doc(eventId);
}

/** Records the event as part of a transaction or an atomic batch (anything with `set`). */
export function recordEvent(writer: { set(ref: DocumentReference, data: PlanEvent): unknown }, db: Firestore, planId: string, eventId: string, event: PlanEvent): void {
  writer.set(eventRef(db, planId, eventId), event);
}

/** An event that is not part of another change (a refused command, an ignored edit): one plain write. */
export async function appendEvent(db: Firestore, planId: string, eventId: string, event: PlanEvent): Promise<void> {
  await eventRef(db, planId, eventId).set(event);
}
