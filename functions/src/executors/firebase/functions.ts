/**
 * `functions`: the Pub/Sub topics and subscriptions an environment's functions trigger on. The
 * functions themselves ship with `firebase deploy`; what must exist before they can is their plumbing.
 */
import { z } from "zod";
import { parseSettings, type FirebaseParams, type IntegrationModule } from "./context";
import { applySubscription, applyTopic, PUBSUB_TOPIC, subscriptionChange, subscriptionName, topicChange, topicName, undoSubscription, undoTopic } from "./pubsub-topics";

const idPattern = /^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/;
const functionsSettingsSchema = z
  .object({
    topics: z
      .array(
        z
          .object({
            topic: z.string().regex(idPattern),
            subscriptions: z.array(z.string().regex(idPattern)).max(20).default([]),
            ackDeadlineSeconds: z.number().int().min(10).max(600).default(60),
          })
          .strict(),
      )
      .max(50)
      .optional(),
  })
  .passthrough();

interface DesiredPlumbing {
  topics: string[];
  subscriptions: Array<{ name: string; topic: string; ackDeadlineSeconds: number }>;
}

/** Default: one events topic per environment with one subscription for its worker function. */
function desiredPlumbing(p: FirebaseParams): DesiredPlumbing {
  const s = parseSettings(functionsSettingsSchema, p);
  const topics = s.topics ?? [{ topic: `${p.environment}-events`, subscriptions: [`${p.environment}-events-worker`], ackDeadlineSeconds: 60 }];
  return {
    topics: topics.map((t) => topicName(p.projectId, t.topic)),
    subscriptions: topics.flatMap((t) => t.subscriptions.map((sub) => ({ name: subscriptionName(p.projectId, sub), topic: topicName(p.projectId, t.topic), ackDeadlineSeconds: t.ackDeadlineSeconds }))),
  };
}

export const envLabels = (p: FirebaseParams): Record<string, string> => ({
  "managed-by": "firebase-orchestrator",
  environment: p.environment.toLowerCase().replace(/[^a-z0-9_-]/g, "-"),
});

export const functionsIntegration: IntegrationModule = {
  async plan(p, io) {
    const desired = desiredPlumbing(p);
    // Every read at once; topics first in the set (a subscription needs its topic).
    const [topics, subscriptions] = await Promise.all([
      Promise.all(desired.topics.map((t) => topicChange(io, t, envLabels(p)))),
      Promise.all(desired.subscriptions.map((s) => subscriptionChange(io, s))),
    ]);
    const changes = [...topics, ...subscriptions];
    return { changes, desired, observed: { resources: changes.filter((c) => c.before !== null).map((c) => ({ name: c.resource, ...c.before })) } };
  },
  apply: (p, change, io) => (change.type === PUBSUB_TOPIC ? applyTopic(io, change) : applySubscription(io, change, envLabels(p))),
  undo: (_p, entry, io) => (entry.change.type === PUBSUB_TOPIC ? undoTopic(io, entry) : undoSubscription(io, entry)),
  outputs(p) {
    const desired = desiredPlumbing(p);
    return { integration: "functions", topicNames: desired.topics, subscriptionNames: desired.subscriptions.map((s) => s.name) };
  },
};
