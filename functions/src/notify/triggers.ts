/**
 * `onNotifyAlert` (messages on `orchestrator-alerts`) and `onNotify` (`orchestrator-notifications`):
 * parse, turn into an event, announce to the configured targets (notify/notifier.ts) with the
 * deployment's settings: the targets (ORCHESTRATOR_NOTIFY_TARGETS), their URLs from the secrets
 * bound to these functions, the egress policy, the status page's URL, Firestore's delivery records.
 */
import { randomBytes } from "node:crypto";
import type { CloudEvent } from "firebase-functions/v2";
import type { MessagePublishedData } from "firebase-functions/v2/pubsub";
import { parseMessage } from "../bus/parse";
import { TOPICS } from "../config";
import { egressConfig } from "../egress/config";
import { STATUS_PAGE_URL, paramValue } from "../params";
import { alertMessageSchema } from "../schema/health";
import { firestore } from "../store/firestore";
import { alertEvent, notificationEvent, notificationMessageSchema } from "./events";
import { firestoreDeliveryStore } from "./firestore-store";
import { handleNotifyMessage, type NotifierDeps } from "./notifier";
import { postJson } from "./send";
import { NOTIFY_TARGETS_ENV, parseNotifyTargets } from "./targets";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The notifier as deployed, reading `env` (the process environment, where params and secrets surface). */
export function liveNotifierDeps(env: NodeJS.ProcessEnv = process.env): NotifierDeps {
  const policy = egressConfig().policy;
  const statusPageUrl = paramValue(STATUS_PAGE_URL, env);
  return {
    targets: parseNotifyTargets(env[NOTIFY_TARGETS_ENV]),
    store: firestoreDeliveryStore(firestore()),
    secretValue: (name) => env[name],
    post: (url, payload, headers) => postJson(url, payload, headers, { policy, sleep }),
    now: Date.now,
    owner: randomBytes(8).toString("hex"),
    format: { statusPageUrl: statusPageUrl === "" ? null : statusPageUrl },
  };
}

export async function handleAlertNotification(event: CloudEvent<MessagePublishedData>): Promise<void> {
  await handleNotifyMessage(TOPICS.alerts, event.data.message, (m) => parseMessage(alertMessageSchema, m), alertEvent, liveNotifierDeps());
}

export async function handleNotification(event: CloudEvent<MessagePublishedData>): Promise<void> {
  await handleNotifyMessage(TOPICS.notifications, event.data.message, (m) => parseMessage(notificationMessageSchema, m), notificationEvent, liveNotifierDeps());
}
