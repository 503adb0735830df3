/** Pub/Sub topics and subscriptions an environment needs: each one's change, applied, and undone. */
import type { ApiCallSite } from "../../clients/errors";
import { diffResource, undoChange, type Change, type JournalEntry, type Made, type UndoOutcome } from "./change-set";
import { InvalidSettingsError, type IntegrationIo } from "./context";

const pubsubSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Pub/Sub ${operation}`,
  resource,
  role: "roles/pubsub.editor",
  api: "pubsub.googleapis.com",
});

export const topicName = (projectId: string, topic: string): string => `projects/${projectId}/topics/${topic}`;
export const subscriptionName = (projectId: string, subscription: string): string => `projects/${projectId}/subscriptions/${subscription}`;

export const PUBSUB_TOPIC = "pubsub.topic";
export const PUBSUB_SUBSCRIPTION = "pubsub.subscription";

interface Topic {
  name?: string | null;
  labels?: Record<string, string> | null;
}

async function getTopic(io: IntegrationIo, name: string): Promise<Topic | undefined> {
  const found = await io.grpcOrAbsent(pubsubSite("GetTopic", name), (o) => io.clients.publisher().getTopic({ topic: name }, o));
  return found?.[0] ?? undefined;
}

/**
 * A topic is managed for its presence only: one that exists is left as it is (its labels are its
 * owner's). One this plan creates carries its labels, which is how a rollback recognises it.
 */
export async function topicChange(io: IntegrationIo, name: string, labels: Record<string, string>): Promise<Change> {
  const observed = await getTopic(io, name);
  if (observed !== undefined) return { resource: name, type: PUBSUB_TOPIC, action: "noop", fields: [], before: { labels: { ...(observed.labels ?? {}) } }, after: { labels: { ...(observed.labels ?? {}) } } };
  return diffResource(PUBSUB_TOPIC, name, { labels }, undefined);
}

export async function applyTopic(io: IntegrationIo, change: Change): Promise<Made> {
  const labels = change.after.labels as Record<string, string>;
  const [topic] = await io.grpc(pubsubSite("CreateTopic", change.resource), (o) => io.clients.publisher().createTopic({ name: change.resource, labels }, o));
  return { name: topic.name ?? change.resource, version: null, view: { labels: { ...(topic.labels ?? {}) } } };
}

export async function undoTopic(io: IntegrationIo, entry: JournalEntry): Promise<UndoOutcome> {
  const name = entry.change.resource;
  const current = await getTopic(io, name);
  return undoChange(entry, current === undefined ? undefined : { view: { labels: { ...(current.labels ?? {}) } } }, {
    remove: () => io.grpcOrAbsent(pubsubSite("DeleteTopic", name), (o) => io.clients.publisher().deleteTopic({ topic: name }, o)),
  });
}

export interface DesiredSubscription {
  name: string;
  topic: string;
  ackDeadlineSeconds: number;
}

async function getSubscription(io: IntegrationIo, name: string): Promise<{ topic?: string | null; ackDeadlineSeconds?: number | null } | undefined> {
  const found = await io.grpcOrAbsent(pubsubSite("GetSubscription", name), (o) => io.clients.subscriber().getSubscription({ subscription: name }, o));
  return found?.[0];
}

const subscriptionView = (s: { topic?: string | null; ackDeadlineSeconds?: number | null }): Record<string, unknown> => ({ topic: s.topic ?? null, ackDeadlineSeconds: s.ackDeadlineSeconds ?? null });

export async function subscriptionChange(io: IntegrationIo, desired: DesiredSubscription): Promise<Change> {
  const observed = await getSubscription(io, desired.name);
  return diffResource(PUBSUB_SUBSCRIPTION, desired.name, subscriptionView(desired), observed === undefined ? undefined : subscriptionView(observed));
}

async function setAckDeadline(io: IntegrationIo, name: string, topic: string, ackDeadlineSeconds: number): Promise<Made> {
  const [sub] = await io.grpc(pubsubSite("UpdateSubscription", name), (o) =>
    io.clients.subscriber().updateSubscription({ subscription: { name, topic, ackDeadlineSeconds }, updateMask: { paths: ["ack_deadline_seconds"] } }, o),
  );
  return { name, version: null, view: subscriptionView(sub) };
}

export async function applySubscription(io: IntegrationIo, change: Change, labels: Record<string, string>): Promise<Made> {
  const want = change.after as { topic: string; ackDeadlineSeconds: number };
  if (change.action === "create") {
    const [sub] = await io.grpc(pubsubSite("CreateSubscription", change.resource), (o) =>
      io.clients.subscriber().createSubscription({ name: change.resource, topic: want.topic, ackDeadlineSeconds: want.ackDeadlineSeconds, labels }, o),
    );
    return { name: change.resource, version: null, view: subscriptionView(sub) };
  }
  if (change.fields.some((f) => f.field === "topic")) {
    const observed = change.fields.find((f) => f.field === "topic")!.before;
    throw new InvalidSettingsError(`${change.resource} is attached to ${String(observed)}, not ${want.topic}; a subscription's topic cannot change: name another subscription`);
  }
  return setAckDeadline(io, change.resource, want.topic, want.ackDeadlineSeconds);
}

export async function undoSubscription(io: IntegrationIo, entry: JournalEntry): Promise<UndoOutcome> {
  const name = entry.change.resource;
  const current = await getSubscription(io, name);
  return undoChange(entry, current === undefined ? undefined : { view: subscriptionView(current) }, {
    remove: () => io.grpcOrAbsent(pubsubSite("DeleteSubscription", name), (o) => io.clients.subscriber().deleteSubscription({ subscription: name }, o)),
    restore: (before) => setAckDeadline(io, name, String(before.topic), Number(before.ackDeadlineSeconds)),
  });
}
