/**
 * Delivery records in Firestore: `notifications/{sha256(event key)}` (functions only: the security
 * rules' catch-all refuses clients). Claims and outcomes are transactions over the one document,
 * so two deliveries of the same message racing each other never both own a target. Malformed
 * messages become dead letters (runtime/dead-letters.ts), like every other topic's.
 */
import type { Firestore } from "firebase-admin/firestore";
import { recordDeadLetter } from "../runtime/dead-letters";
import { claimTargets, deliveryId, deliveryRecordSchema, settleTarget, type DeliveryRecord, type DeliveryStore } from "./deliveries";

/** The collection of delivery records (kept here, with the only code that reads or writes it). */
export const NOTIFICATIONS_COLLECTION = "notifications";

/** A record someone edited into another shape is read as none: at worst a target hears of the event again. */
function readRecord(data: unknown): DeliveryRecord | undefined {
  const parsed = deliveryRecordSchema.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

export function firestoreDeliveryStore(db: Firestore): DeliveryStore {
  const ref = (eventKey: string) => db.collection(NOTIFICATIONS_COLLECTION).doc(deliveryId(eventKey));
  return {
    claim(event, targets, owner, now, leaseMs) {
      const doc = ref(event.key);
      return db.runTransaction(async (tx) => {
        const snap = await tx.get(doc);
        const { record, ...claim } = claimTargets(snap.exists ? readRecord(snap.data()) : undefined, event, targets, owner, now, leaseMs);
        if (record !== null) {
          if (snap.exists) tx.set(doc, record);
          else tx.create(doc, record);
        }
        return claim;
      });
    },

    settle(eventKey, secret, owner, outcome, now, maxAttempts) {
      const doc = ref(eventKey);
      return db.runTransaction(async (tx) => {
        const snap = await tx.get(doc);
        const next = settleTarget(snap.exists ? readRecord(snap.data()) : undefined, secret, owner, outcome, now, maxAttempts);
        if (next === null) return false;
        tx.set(doc, next);
        return true;
      });
    },

    recordMalformed(message, now) {
      return recordDeadLetter(db, message, now);
    },
  };
}
