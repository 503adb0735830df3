/** Pub/Sub topics and subscriptions an environment needs: create if absent, delete on compensation. */
import type { ApiCallSite } from "../../clients/errors";
import type { DriftItem, ResourceChange } from "../types";
import type { IntegrationIo } from "./context";

const pubsubSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Pub/Sub ${operation}`,
  resource,
  role: "roles/pubsub.editor",
  api: "pubsub.googleapis.com",
});

export const topicName = (projectId: string, topic: string): string => `projects/${projectId}/topics/${topic}`;
export const subscriptionName = (projectId: string, subscription: string): string => `projects/${projectId}/subscriptions/${subscription}`;

export async function topicExists(io: IntegrationIo, name: string): Promise<boolean> {
  const topic = await io.grpcOrAbsent(pubsubSite("GetTopic", name), (o) => io.clients.publisher().getTopic({ topic: name }, o));
  return topic !== undefined;
}

export async function ensureTopic(io: IntegrationIo, name: string, labels: Record<string, string>): Promise<ResourceChange> {
  if (await topicExists(io, name)) return { kind: "unchanged", resource: name };
  await io.grpc(pubsubSite("CreateTopic", name), (o) => io.clients.publisher().createTopic({ name, labels }, o));
  return { kind: "created", resource: name };
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

export async function subscriptionDrift(io: IntegrationIo, desired: DesiredSubscription): Promise<DriftItem[]> {
  const observed = await getSubscription(io, desired.name);
  if (observed === undefined) return [{ resource: desired.name, field: "(resource)", desired: "present", observed: "absent" }];
  const drift: DriftItem[] = [];
  if (observed.topic !== desired.topic) drift.push({ resource: desired.name, field: "topic", desired: desired.topic, observed: observed.topic ?? null });
  if (observed.ackDeadlineSeconds !== desired.ackDeadlineSeconds) {
    drift.push({ resource: desired.name, field: "ackDeadlineSeconds", desired: desired.ackDeadlineSeconds, observed: observed.ackDeadlineSeconds ?? null });
  }
  return drift;
}

export async function ensureSubscription(io: IntegrationIo, desired: DesiredSubscription, labels: Record<string, string>): Promise<ResourceChange> {
  const observed = await getSubscription(io, desired.name);
  if (observed === undefined) {
    await io.grpc(pubsubSite("CreateSubscription", desired.name), (o) =>
      io.clients.subscriber().createSubscription({ name: desired.name, topic: desired.topic, ackDeadlineSeconds: desired.ackDeadlineSeconds, labels }, o),
    );
    return { kind: "created", resource: desired.name };
  }
  if (observed.ackDeadlineSeconds !== desired.ackDeadlineSeconds) {
    await io.grpc(pubsubSite("UpdateSubscription", desired.name), (o) =>
      io.clients.subscriber().updateSubscription(
        { subscription: { name: desired.name, topic: desired.topic, ackDeadlineSeconds: desired.ackDeadlineSeconds }, updateMask: { paths: ["ack_deadline_seconds"] } },
        o,
      ),
    );
    return { kind: "updated", resource: desired.name };
  }
  // A subscription's topic cannot change; one on another topic is drift that `verify` reports.
  return { kind: "unchanged", resource: desired.name };
}

export async function removeSubscription(io: IntegrationIo, name: string): Promise<ResourceChange> {
  const removed = await io.grpcOrAbsent(pubsubSite("DeleteSubscription", name), (o) => io.clients.subscriber().deleteSubscription({ subscription: name }, o));
  return { kind: removed === undefined ? "unchanged" : "deleted", resource: name };
}

export async function removeTopic(io: IntegrationIo, name: string): Promise<ResourceChange> {
  const removed = await io.grpcOrAbsent(pubsubSite("DeleteTopic", name), (o) => io.clients.publisher().deleteTopic({ topic: name }, o));
  return { kind: removed === undefined ? "unchanged" : "deleted", resource: name };
}
