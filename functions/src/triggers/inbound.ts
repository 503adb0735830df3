/**
 * The shape every Pub/Sub-triggered handler shares: parse and validate, dead-letter what cannot be
 * acted on (acknowledged, recorded, never retried: a bad message does not get better by waiting),
 * run the engine, and rethrow only the unexpected, so production Pub/Sub redelivers it.
 */
import type { CloudEvent } from "firebase-functions/v2";
import type { MessagePublishedData } from "firebase-functions/v2/pubsub";
import type { Firestore } from "firebase-admin/firestore";
import type { z } from "zod";
import { parseMessage } from "../bus/parse";
import { logs } from "../logs";
import { recordDeadLetter } from "../runtime/dead-letters";
import { firestore } from "../store/firestore";

export function inboundHandler<S extends z.ZodType>(
  topic: string,
  schema: S,
  /** Resolves with a reason when the message must be dead-lettered (e.g. it names no known plan). */
  act: (db: Firestore, value: z.output<S>, messageId: string) => Promise<string | undefined>,
): (event: CloudEvent<MessagePublishedData>) => Promise<void> {
  return async (event) => {
    const message = event.data.message;
    const db = firestore();
    const parsed = parseMessage(schema, message);
    if (!parsed.ok) {
      logs.messageRejected(topic, "malformed", parsed.errors);
      await recordDeadLetter(db, { source: topic, reason: "malformed message", errors: parsed.errors, payload: parsed.raw, messageId: message.messageId }, Date.now());
      return;
    }
    try {
      const deadLetter = await act(db, parsed.value, message.messageId);
      if (deadLetter !== undefined) {
        logs.messageRejected(topic, deadLetter, []);
        await recordDeadLetter(db, { source: topic, reason: deadLetter, errors: [], payload: parsed.raw, messageId: message.messageId }, Date.now());
      }
    } catch (error) {
      logs.unexpected(`${topic} message ${message.messageId}`, error);
      throw error;
    }
  };
}
