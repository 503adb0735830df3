/**
 * The plan's append-only history, `plans/{planId}/events`. Event ids are deterministic where the
 * event belongs to one transition, so a repeated transaction rewrites the same record instead of
 * adding a second one (`recordEvent`). Records that stand alone (a refused command, a refused task
 * event, an ignored edit) are created, never overwritten (`appendEvent`): their ids come from
 * outside (a commandId, a message id), and an id someone else used already must not replace
 * another operator's record.
 */
import { createHash } from "node:crypto";
import { GrpcStatus, type DocumentData, type DocumentReference, type Firestore } from "firebase-admin/firestore";
import { grpcCode } from "../clients/grpc-code";
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

/**
 * Creates the event as part of a transaction or an atomic batch (anything with `create`): the whole
 * commit fails with ALREADY_EXISTS when `eventId` is taken, so nothing is overwritten. The caller
 * decides what a taken id means (a redelivery, or a reused id: see `appendEvent`).
 */
export function createEventIn(writer: { create(ref: DocumentReference, data: PlanEvent): unknown }, db: Firestore, planId: string, eventId: string, event: PlanEvent): void {
  writer.create(eventRef(db, planId, eventId), event);
}

/**
 * An event that is not part of another change (a refused command, an ignored edit): created, never
 * overwritten. When `eventId` is taken:
 *   - by the same event (a redelivery: the same type, actor, message, task and data; only `at`
 *     differs), it is left as it is, and the history keeps one record;
 *   - by another event (a reused commandId or message id: another operator's record), this one is
 *     created under `derivedEventId(eventId, event)` instead, so both are kept. A redelivery of this
 *     one finds itself there, and is one record too.
 */
export async function appendEvent(db: Firestore, planId: string, eventId: string, event: PlanEvent): Promise<void> {
  for (const id of eventIdCandidates(eventId, event)) {
    const ref = eventRef(db, planId, id);
    try {
      await ref.create(event);
      return;
    } catch (error) {
      if (grpcCode(error) !== GrpcStatus.ALREADY_EXISTS) throw error;
    }
    const existing = await ref.get();
    // Gone since (the plan was deleted): nothing left to keep the record with.
    if (!existing.exists) return;
    if (sameEventContent(existing.data()!, event)) return;
  }
  // Only a 256-bit hash collision between two events of one id gets here.
  throw new Error(`plans/${planId}/events: ${eventId} and every id derived from it hold other events; the event "${event.type}" (${event.message}) was not recorded`);
}

/** Hex characters of the content hash in a derived id: 64 bits. */
export const DERIVED_HASH_CHARS = 16;

/**
 * The ids `appendEvent` tries, in order: the event's own, then one derived from its content (a short
 * hash, enough to tell apart the few events that share an id), then the full hash (in case two of
 * them share the short one).
 */
export function eventIdCandidates(eventId: string, event: PlanEvent): string[] {
  const hash = eventContentHash(event);
  return [eventId, `${eventId}.${hash.slice(0, DERIVED_HASH_CHARS)}`, `${eventId}.${hash}`];
}

/** The id a reused event id's newcomer is recorded under: `${eventId}.${16 hex characters of its content's SHA-256}`. */
export function derivedEventId(eventId: string, event: PlanEvent): string {
  return eventIdCandidates(eventId, event)[1]!;
}

/** SHA-256 (hex) of what the event says, `at` left out: a redelivery says the same thing later. */
export function eventContentHash(event: PlanEvent | DocumentData): string {
  return createHash("sha256").update(canonicalContent(event)).digest("hex");
}

/** Whether two records say the same thing (everything but `at`): a redelivery, not a reused id. */
export function sameEventContent(a: PlanEvent | DocumentData, b: PlanEvent | DocumentData): boolean {
  return canonicalContent(a) === canonicalContent(b);
}

/** JSON of the event without `at`, keys sorted at every level, undefined fields left out (as Firestore leaves them). */
function canonicalContent(event: PlanEvent | DocumentData): string {
  const { at: _at, ...content } = event as Record<string, unknown>;
  return JSON.stringify(sortKeys(content));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const child = (value as Record<string, unknown>)[key];
    if (child !== undefined) sorted[key] = sortKeys(child);
  }
  return sorted;
}
