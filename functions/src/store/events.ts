/**
 * The plan's append-only history, `plans/{planId}/events`. Event ids are deterministic where the
 * event belongs to one transition, so a repeated transaction rewrites the same record instead of
 * adding a second one.
 */
import type { DocumentReference, Firestore, Transaction } from "firebase-admin/firestore";
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

export function recordEvent(tx: Transaction, db: Firestore, planId: string, eventId: string, event: PlanEvent): void {
  tx.set(eventRef(db, planId, eventId), event);
}

/** An event that is not part of another change (a refused command, an ignored edit): one plain write. */
export async function appendEvent(db: Firestore, planId: string, eventId: string, event: PlanEvent): Promise<void> {
  await eventRef(db, planId, eventId).set(event);
}
