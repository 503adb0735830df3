/** Records a message that cannot be acted on, so it is acknowledged but never silently lost. */
import type { Firestore } from "firebase-admin/firestore";
import { LIMITS } from "../config";
import type { FieldError } from "../schema/issues";
import { deadLetters } from "../store/paths";

export async function recordDeadLetter(
  db: Firestore,
  entry: { source: string; reason: string; errors: FieldError[]; payload: string; messageId?: string },
  now: number,
): Promise<void> {
  const record = { ...entry, payload: redactCredentials(entry.payload).slice(0, LIMITS.deadLetterPayloadChars), at: now };
  // The message id makes the record idempotent under redelivery.
  if (entry.messageId) await deadLetters(db).doc(entry.messageId).set(record);
  else await deadLetters(db).add(record);
}

/**
 * A dead-lettered message keeps its shape for whoever debugs it, but never a credential: JWTs
 * (ID tokens) anywhere in it, and the values of `credential` and `token` fields (task tokens).
 */
export function redactCredentials(payload: string): string {
  return payload
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, "[redacted]")
    .replace(/("(?:credential|token)"\s*:\s*)"(?:[^"\\]|\\.)*"/g, '$1"[redacted]"');
}
