/**
 * `functions`: the Pub/Sub topics and subscriptions an environment's functions trigger on. The
 * functions themselves ship with `firebase deploy`; what must exist before they can is their plumbing.
 */
import { z } from "zod";
import type { ResourceChange } from "../types";
import { parseSettings, type FirebaseParams, type IntegrationModule } from "./context";
import { ensureSubscription, ensureTopic, removeSubscription, removeTopic, subscriptionDrift, subscriptionName, topicExists, topicName } from "./pubsub-topics";

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
  async observe(p, io) {
    const desired = desiredPlumbing(p);
    const topicPresence = await Promise.all(desired.topics.map((t) => topicExists(io, t)));
    const subDrift = await Promise.all(desired.subscriptions.map((s) => subscriptionDrift(io, s)));
    return {
      desired,
      observed: { topics: desired.topics.filter((_, i) => topicPresence[i]), subscriptionDrift: subDrift.flat() },
      drift: [
        ...desired.topics.filter((_, i) => !topicPresence[i]).map((t) => ({ resource: t, field: "(resource)", desired: "present", observed: "absent" })),
        ...subDrift.flat(),
      ],
    };
  },

  async provision(p, io) {
    const desired = desiredPlumbing(p);
    const changes: ResourceChange[] = [];
    for (const topic of desired.topics) changes.push(await ensureTopic(io, topic, envLabels(p)));
    for (const sub of desired.subscriptions) changes.push(await ensureSubscription(io, sub, envLabels(p)));
    return {
      changes,
      desired,
      observed: desired,
      outputs: { integration: "functions", topicNames: desired.topics, subscriptionNames: desired.subscriptions.map((s) => s.name) },
    };
  },

  async compensate(p, io) {
    const desired = desiredPlumbing(p);
    const changes: ResourceChange[] = [];
    for (const sub of desired.subscriptions) changes.push(await removeSubscription(io, sub.name));
    for (const topic of desired.topics) changes.push(await removeTopic(io, topic));
    return changes;
  },
};
