/** Records a message that cannot be acted on, so it is acknowledged but never silently lost. */
import type { Firestore } from "firebase-admin/firestore";
import { LIMITS } from "../config";
import type { FieldError } from "../schema/issues";
import { documentIdProblem } from "../schema/storable";
import { deadLetters } from "../store/paths";

/**
 * Bounds of one dead letter. Its errors come from validating whatever was sent, so a hostile or
 * broken sender decides how many there are and how long their paths are (a key of 100,000
 * characters is a path of 100,000 characters); bounded, the record always fits its document and
 * still says what was wrong first, which is what whoever debugs it reads.
 */
export const DEAD_LETTER_LIMITS = {
  /** Errors kept; the last one kept says how many more were left out. */
  errors: 50,
  pathChars: 300,
  messageChars: 1_000,
  reasonChars: 2_000,
  sourceChars: 300,
} as const;

export async function recordDeadLetter(
  db: Firestore,
  entry: { source: string; reason: string; errors: FieldError[]; payload: string; messageId?: string },
  now: number,
): Promise<void> {
  const record = {
    ...entry,
    source: clip(entry.source, DEAD_LETTER_LIMITS.sourceChars),
    reason: clip(redactCredentials(entry.reason), DEAD_LETTER_LIMITS.reasonChars),
    errors: boundErrors(entry.errors),
    payload: redactCredentials(entry.payload).slice(0, LIMITS.deadLetterPayloadChars),
    at: now,
  };
  // The message id makes the record idempotent under redelivery; one that cannot name a document
  // (not Pub/Sub's, which are digits) gets an automatic id rather than making this write throw.
  if (entry.messageId !== undefined && entry.messageId !== "" && documentIdProblem(entry.messageId) === undefined) await deadLetters(db).doc(entry.messageId).set(record);
  else await deadLetters(db).add(record);
}

/**
 * At most `DEAD_LETTER_LIMITS.errors` errors, each path and message clipped and redacted (a
 * message may quote what was sent); beyond the limit, the last entry says how many were left out.
 */
export function boundErrors(errors: readonly FieldError[]): FieldError[] {
  const bound = (e: FieldError): FieldError => ({ path: clip(redactCredentials(e.path), DEAD_LETTER_LIMITS.pathChars), message: clip(redactCredentials(e.message), DEAD_LETTER_LIMITS.messageChars) });
  if (errors.length <= DEAD_LETTER_LIMITS.errors) return errors.map(bound);
  const kept = DEAD_LETTER_LIMITS.errors - 1;
  const left = errors.length - kept;
  return [...errors.slice(0, kept).map(bound), { path: "", message: `${left} more errors left out (${errors.length} in all; the first ${kept} are above)` }];
}

/** `text` at most `max` characters, saying so when it was cut. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
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
