/**
 * Announces one event to every configured target, at most once each: claim what is still owed
 * (notify/deliveries.ts), POST to each claimed target in parallel (notify/send.ts, bounded tries),
 * record each outcome. When a target is left retryable, or another delivery of the same message
 * is still sending to one, `NotDeliveredError` is thrown so Pub/Sub redelivers the message; the
 * redelivery tries only those targets again. A malformed message is recorded and acknowledged.
 */
import type { Inbound } from "../bus/parse";
import { deliveryId, type DeliveryStore, type Settlement } from "./deliveries";
import type { NotifyEvent } from "./events";
import { payloadFor, type FormatOptions } from "./format";
import { notifyLogs } from "./logs";
import type { PostResult } from "./send";
import type { NotifyTarget } from "./targets";

export interface NotifierDeps {
  targets: readonly NotifyTarget[];
  store: DeliveryStore;
  /** The webhook URL a secret holds (the functions: its environment variable, where `defineSecret` values surface). */
  secretValue(name: string): string | undefined;
  post(url: string, payload: unknown, headers: Readonly<Record<string, string>>): Promise<PostResult>;
  now(): number;
  /** This invocation's claim id. */
  owner: string;
  format: FormatOptions;
  /** How long a claim holds: longer than one invocation's tries of a target. Default 2 min. */
  leaseMs?: number;
  /** Tries of a target over all deliveries before it fails for good. Default 15 (5 deliveries of 3). */
  maxAttempts?: number;
  log?: typeof notifyLogs;
}

export interface NotifyReport {
  key: string;
  delivered: string[];
  /** Failed for good: now, or before. */
  failed: string[];
  /** Delivered by an earlier delivery of the message: not posted again. */
  alreadyDelivered: string[];
  /** Still owed: retryable failures, and targets another delivery is sending to. */
  pending: string[];
}

/** The message is fine, but some target is still owed it: thrown so Pub/Sub delivers it again. */
export class NotDeliveredError extends Error {
  constructor(
    readonly report: NotifyReport,
    reasons: string[],
  ) {
    super(`notification ${report.key}: ${report.pending.length} target(s) not delivered yet (${reasons.join("; ").slice(0, 500)}); Pub/Sub redelivers the message`);
    this.name = "NotDeliveredError";
  }
}

async function deliverTo(event: NotifyEvent, target: NotifyTarget, deps: NotifierDeps): Promise<Settlement> {
  const url = deps.secretValue(target.secret);
  if (url === undefined || url.trim() === "") {
    return {
      ok: false,
      retryable: false,
      httpStatus: null,
      code: "missing_secret",
      error: `secret ${target.secret} has no value: set it (firebase functions:secrets:set ${target.secret}; locally functions/.secret.local) and deploy again`,
      tries: 0,
    };
  }
  // ASCII only: header values cannot carry what plan ids may hold. The hash is the receiver's idempotency key.
  const headers = { "Idempotency-Key": deliveryId(event.key), "X-Orchestrator-Event": event.type, "User-Agent": "firebase-orchestrator-notifier" };
  const result = await deps.post(url.trim(), payloadFor(target.kind, event, deps.format), headers);
  return result.ok ? { ok: true, httpStatus: result.status, tries: result.tries } : { ok: false, retryable: result.retryable, httpStatus: result.status, code: result.code, error: result.error, tries: result.tries };
}

export async function announce(event: NotifyEvent, deps: NotifierDeps): Promise<NotifyReport> {
  const log = deps.log ?? notifyLogs;
  const leaseMs = deps.leaseMs ?? 120_000;
  const maxAttempts = deps.maxAttempts ?? 15;
  const report: NotifyReport = { key: event.key, delivered: [], failed: [], alreadyDelivered: [], pending: [] };
  if (deps.targets.length === 0) return report;
  const claim = await deps.store.claim(event, deps.targets, deps.owner, deps.now(), leaseMs);
  for (const s of claim.settled) (s.status === "delivered" ? report.alreadyDelivered : report.failed).push(s.target.secret);
  const reasons: string[] = claim.busy.map((t) => `${t.secret}: another delivery is sending`);
  report.pending.push(...claim.busy.map((t) => t.secret));

  await Promise.all(
    claim.send.map(async ({ target, attempts }) => {
      const outcome = await deliverTo(event, target, deps);
      const recorded = await deps.store.settle(event.key, target.secret, deps.owner, outcome, deps.now(), maxAttempts);
      if (!recorded) {
        log.claimLapsed(event.key, target.secret);
        return;
      }
      if (outcome.ok) {
        log.delivered(event.key, target.secret, target.kind, outcome.httpStatus, outcome.tries);
        report.delivered.push(target.secret);
        return;
      }
      const final = !outcome.retryable || attempts + outcome.tries >= maxAttempts;
      log.notDelivered(event.key, target.secret, target.kind, final, outcome.code, outcome.error);
      if (final) report.failed.push(target.secret);
      else {
        report.pending.push(target.secret);
        reasons.push(`${target.secret}: ${outcome.error}`);
      }
    }),
  );
  if (report.pending.length > 0) throw new NotDeliveredError(report, reasons);
  return report;
}

/**
 * One Pub/Sub message: parsed by `parse` (bus/parse.ts parseMessage with the topic's schema), turned
 * into an event and announced. A message that does not parse is recorded and acknowledged (it
 * would not parse on any redelivery either); undefined is returned for it.
 */
export async function handleNotifyMessage<T>(
  topic: string,
  message: { data?: string; messageId?: string },
  parse: (message: { data?: string }) => Inbound<T>,
  toEvent: (value: T) => NotifyEvent,
  deps: NotifierDeps,
): Promise<NotifyReport | undefined> {
  const parsed = parse(message);
  if (!parsed.ok) {
    (deps.log ?? notifyLogs).rejected(topic, parsed.errors);
    await deps.store.recordMalformed({ source: topic, reason: "malformed message", errors: parsed.errors, payload: parsed.raw, ...(message.messageId === undefined ? {} : { messageId: message.messageId }) }, deps.now());
    return undefined;
  }
  return announce(toEvent(parsed.value), deps);
}
