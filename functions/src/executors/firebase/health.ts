/**
 * `health`: one Cloud Scheduler job per environment that publishes a health-run request to the
 * environment's `orchestrator-health-runs` topic every few minutes (the topic is created too).
 */
import { z } from "zod";
import { parseSettings, type FirebaseParams, type IntegrationModule } from "./context";
import { envLabels } from "./functions";
import { applyTopic, PUBSUB_TOPIC, topicChange, topicName, undoTopic } from "./pubsub-topics";
import { applyJob, getJob, jobChange, jobView, undoJob, type DesiredJob } from "./scheduler-jobs";

const healthSettingsSchema = z
  .object({
    schedule: z.string().min(9).max(100).default("*/5 * * * *"),
    timeZone: z.string().min(1).max(64).default("Etc/UTC"),
  })
  .passthrough();

export const HEALTH_TOPIC = "orchestrator-health-runs";
export const healthJobName = (p: FirebaseParams): string => `projects/${p.projectId}/locations/${p.region}/jobs/orchestrator-health-run`;

function desiredHealthJob(p: FirebaseParams): DesiredJob {
  const s = parseSettings(healthSettingsSchema, p);
  return {
    name: healthJobName(p),
    description: `Firebase Orchestrator: health run of ${p.projectId} (${p.environment})`,
    schedule: s.schedule,
    timeZone: s.timeZone,
    attemptDeadlineSeconds: 60,
    pubsubTarget: {
      topicName: topicName(p.projectId, HEALTH_TOPIC),
      data: JSON.stringify({ environment: p.environment, projectId: p.projectId, region: p.region }),
      attributes: { environment: p.environment },
    },
  };
}

export const healthIntegration: IntegrationModule = {
  async plan(p, io) {
    const job = desiredHealthJob(p);
    const topic = topicName(p.projectId, HEALTH_TOPIC);
    const [observed, topicPlan] = await Promise.all([getJob(io, job.name), topicChange(io, topic, envLabels(p))]);
    // The topic first: Scheduler accepts a job whose topic is missing, and then every run fails.
    return {
      changes: [topicPlan, jobChange(job, observed)],
      desired: { job: jobView(job), topic },
      observed: { job: observed === undefined ? null : jobView(observed), topic: topicPlan.action === "create" ? null : topic },
    };
  },
  apply: (p, change, io) => (change.type === PUBSUB_TOPIC ? applyTopic(io, change) : applyJob(io, desiredHealthJob(p), change)),
  undo: (_p, entry, io) => (entry.change.type === PUBSUB_TOPIC ? undoTopic(io, entry) : undoJob(io, entry)),
  outputs(p) {
    const job = desiredHealthJob(p);
    return { integration: "health", schedulerJobName: job.name, topicName: topicName(p.projectId, HEALTH_TOPIC), schedule: job.schedule };
  },
};
