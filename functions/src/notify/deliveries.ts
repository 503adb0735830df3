/**
 * The delivery record of one event (`notifications/{sha256(event key)}`): per target (named by its
 * secret), whether it was delivered, failed for good, or is being tried. Pub/Sub delivers at least
 * once and a redelivered message must not post again to a target that already has it, so every
 * invocation first claims the targets still owed, in one transaction, and records each outcome
 * with a compare-and-set on its claim:
 *
 * - `delivered` and `failed` are final: never tried again;
 * - `sending` belongs to one invocation until its lease ends (a second, concurrent delivery of the
 *   same message leaves it alone and asks Pub/Sub to come back); a crashed invocation's claim
 *   lapses, and the next delivery tries again;
 * - `retrying` failed retryably and is tried at the next delivery, until `maxAttempts` tries in
 *   all, when it fails for good (a webhook down for days does not keep a message alive for days).
 *
 * The decisions are pure (`claimTargets`, `settleTarget`) and serve both stores: memory (tests)
 * and Firestore (notify/firestore-store.ts).
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { FieldError } from "../schema/issues";
import { summaryOf, type NotifyEvent } from "./events";
import { clip } from "./format";
import type { NotifyTarget } from "./targets";

export const TARGET_STATES = ["sending", "retrying", "delivered", "failed"] as const;

export const targetRecordSchema = z.object({
  kind: z.string(),
  status: z.enum(TARGET_STATES),
  /** POSTs tried so far, over every delivery of the message. */
  attempts: z.number().int().min(0),
  httpStatus: z.number().int().nullable(),
  /** Why it is not delivered (bounded, never the URL). */
  error: z.string().nullable(),
  code: z.string().nullable(),
  updatedAt: z.number(),
  /** While `sending`: whose claim it is and until when. */
  lease: z.object({ owner: z.string(), expiresAt: z.number() }).nullable(),
});
export type TargetRecord = z.output<typeof targetRecordSchema>;

export const deliveryRecordSchema = z.object({
  key: z.string(),
  type: z.string(),
  summary: z.string(),
  occurredAt: z.number(),
  createdAt: z.number(),
  targets: z.record(z.string(), targetRecordSchema),
});
export type DeliveryRecord = z.output<typeof deliveryRecordSchema>;

/** The document id of an event's record: its key may hold `/` and be long; a hash never does. */
export function deliveryId(eventKey: string): string {
  return createHash("sha256").update(eventKey).digest("hex");
}

export interface Claim {
  /** Targets this invocation now owns and should POST to, with the tries they had before. */
  send: Array<{ target: NotifyTarget; attempts: number }>;
  /** Targets already final: not tried. */
  settled: Array<{ target: NotifyTarget; status: "delivered" | "failed" }>;
  /** Targets another invocation is sending to right now. */
  busy: NotifyTarget[];
}

export interface ClaimDecision extends Claim {
  /** The record to write, or null when nothing changed. */
  record: DeliveryRecord | null;
}

const RECORD_LIMITS = { keyChars: 500, summaryChars: 200 } as const;

/** What a claim by `owner` at `now` does to `current` (undefined: no record yet). */
export function claimTargets(current: DeliveryRecord | undefined, event: NotifyEvent, targets: readonly NotifyTarget[], owner: string, now: number, leaseMs: number): ClaimDecision {
  const record: DeliveryRecord = current === undefined
    ? { key: clip(event.key, RECORD_LIMITS.keyChars), type: event.type, summary: clip(summaryOf(event), RECORD_LIMITS.summaryChars), occurredAt: event.occurredAt, createdAt: now, targets: {} }
    : { ...current, targets: { ...current.targets } };
  const decision: ClaimDecision = { send: [], settled: [], busy: [], record: null };
  for (const target of targets) {
    const state = Object.hasOwn(record.targets, target.secret) ? record.targets[target.secret] : undefined;
    if (state?.status === "delivered" || state?.status === "failed") {
      decision.settled.push({ target, status: state.status });
      continue;
    }
    if (state?.status === "sending" && state.lease !== null && state.lease.owner !== owner && state.lease.expiresAt > now) {
      decision.busy.push(target);
      continue;
    }
    const attempts = state?.attempts ?? 0;
    record.targets[target.secret] = {
      kind: target.kind,
      status: "sending",
      attempts,
      httpStatus: state?.httpStatus ?? null,
      error: state?.error ?? null,
      code: state?.code ?? null,
      updatedAt: now,
      lease: { owner, expiresAt: now + leaseMs },
    };
    decision.send.push({ target, attempts });
  }
  if (current === undefined || decision.send.length > 0) decision.record = record;
  return decision;
}

export type Settlement =
  | { ok: true; httpStatus: number; tries: number }
  | { ok: false; retryable: boolean; httpStatus: number | null; code: string; error: string; tries: number };

/**
 * The record after `owner`'s outcome for `secret`, or null when the claim is no longer its own (the
 * lease lapsed and another invocation took over): then the other's outcome stands.
 */
export function settleTarget(current: DeliveryRecord | undefined, secret: string, owner: string, outcome: Settlement, now: number, maxAttempts: number): DeliveryRecord | null {
  const state = current !== undefined && Object.hasOwn(current.targets, secret) ? current.targets[secret] : undefined;
  if (current === undefined || state === undefined || state.status !== "sending" || state.lease?.owner !== owner) return null;
  const attempts = state.attempts + outcome.tries;
  const next: TargetRecord = outcome.ok
    ? { ...state, status: "delivered", attempts, httpStatus: outcome.httpStatus, error: null, code: null, updatedAt: now, lease: null }
    : {
        ...state,
        status: outcome.retryable && attempts < maxAttempts ? "retrying" : "failed",
        attempts,
        httpStatus: outcome.httpStatus,
        error: outcome.retryable && attempts >= maxAttempts ? clip(`gave up after ${attempts} tries: ${outcome.error}`, 400) : outcome.error,
        code: outcome.code,
        updatedAt: now,
        lease: null,
      };
  return { ...current, targets: { ...current.targets, [secret]: next } };
}

/** A message that cannot be announced: recorded (a dead letter), acknowledged, never retried. */
export interface MalformedMessage {
  source: string;
  reason: string;
  errors: FieldError[];
  payload: string;
  messageId?: string;
}

/** Where delivery records live: Firestore when deployed (notify/firestore-store.ts), memory in tests. */
export interface DeliveryStore {
  /** Claims, for `owner`, every target the event still owes (creating the record on first sight), in one atomic step. */
  claim(event: NotifyEvent, targets: readonly NotifyTarget[], owner: string, now: number, leaseMs: number): Promise<Claim>;
  /** Records `owner`'s outcome for one target; false when its claim had lapsed (nothing written). */
  settle(eventKey: string, secret: string, owner: string, outcome: Settlement, now: number, maxAttempts: number): Promise<boolean>;
  recordMalformed(message: MalformedMessage, now: number): Promise<void>;
}

/** The in-memory store: the Firestore store's semantics without Firestore (unit tests, the local receiver's tests). */
export class MemoryDeliveryStore implements DeliveryStore {
  readonly records = new Map<string, DeliveryRecord>();
  readonly malformed: MalformedMessage[] = [];

  async claim(event: NotifyEvent, targets: readonly NotifyTarget[], owner: string, now: number, leaseMs: number): Promise<Claim> {
    const id = deliveryId(event.key);
    const { record, ...claim } = claimTargets(this.records.get(id), event, targets, owner, now, leaseMs);
    if (record !== null) this.records.set(id, structuredClone(record));
    return claim;
  }

  async settle(eventKey: string, secret: string, owner: string, outcome: Settlement, now: number, maxAttempts: number): Promise<boolean> {
    const id = deliveryId(eventKey);
    const next = settleTarget(this.records.get(id), secret, owner, outcome, now, maxAttempts);
    if (next === null) return false;
    this.records.set(id, structuredClone(next));
    return true;
  }

  async recordMalformed(message: MalformedMessage): Promise<void> {
    this.malformed.push(structuredClone(message));
  }

  /** The record of an event, for assertions. */
  recordOf(eventKey: string): DeliveryRecord | undefined {
    return this.records.get(deliveryId(eventKey));
  }
}
