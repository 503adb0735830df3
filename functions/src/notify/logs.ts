/** Every log line of the notifier, named (as in logs.ts). Targets are named by their secret, never by URL. */
import { logger } from "firebase-functions";
import type { FieldError } from "../schema/issues";

export const notifyLogs = {
  delivered: (key: string, target: string, kind: string, status: number, tries: number) =>
    logger.info(`notification ${key} → ${target} (${kind}): delivered, HTTP ${status}${tries > 1 ? ` after ${tries} tries` : ""}`, { key, target, kind, status, tries }),
  notDelivered: (key: string, target: string, kind: string, final: boolean, code: string, error: string) => {
    const text = `notification ${key} → ${target} (${kind}): ${final ? "failed for good" : "not delivered yet (Pub/Sub redelivers)"}: ${error}`;
    if (final) logger.error(text, { key, target, kind, code, final });
    else logger.warn(text, { key, target, kind, code, final });
  },
  claimLapsed: (key: string, target: string) =>
    logger.warn(`notification ${key} → ${target}: the claim lapsed before the outcome was recorded; another delivery's outcome stands`, { key, target }),
  rejected: (topic: string, errors: FieldError[]) => logger.warn(`message on ${topic} rejected: malformed (recorded as a dead letter)`, { topic, errors: errors.slice(0, 20) }),
  gateNotAnnounced: (planId: string, taskId: string, error: unknown) =>
    logger.warn(`gate ${planId}/${taskId} waits for approval, but announcing it failed (no notification): ${error instanceof Error ? error.message : String(error)}`, { planId, taskId }),
};
