/**
 * `health`: one Cloud Scheduler job per environment that publishes a health-run request to the
 * environment's `orchestrator-health-runs` topic every few minutes (the topic is created too).
 */
import { z } from "zod";
import { parseSettings, type FirebaseParams, type IntegrationModule } from "./context";
import { envLabels } from "./functions";
import { ensureTopic, removeTopic, topicExists, topicName } from "./pubsub-topics";
import { ensureJob, getJob, jobDrift, jobView, removeJob, type DesiredJob } from "./scheduler-jobs";

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
  async observe(p, io) {
    const job = desiredHealthJob(p);
    const topic = topicName(p.projectId, HEALTH_TOPIC);
    const [observed, hasTopic] = await Promise.all([getJob(io, job.name), topicExists(io, topic)]);
    return {
      desired: { job: jobView(job), topic },
      observed: { job: observed === undefined ? null : jobView(observed), topic: hasTopic ? topic : null },
      drift: [...(hasTopic ? [] : [{ resource: topic, field: "(resource)", desired: "present", observed: "absent" }]), ...jobDrift(job, observed)],
    };
  },

  async provision(p, io) {
    const job = desiredHealthJob(p);
    const topic = topicName(p.projectId, HEALTH_TOPIC);
    // The topic first: Scheduler accepts a job whose topic is missing, and then every run fails.
    const topicChange = await ensureTopic(io, topic, envLabels(p));
    const result = await ensureJob(io, job);
    return {
      changes: [topicChange, result.change],
      desired: { job: jobView(job), topic },
      observed: { job: jobView(result.job), topic },
      outputs: { integration: "health", schedulerJobName: job.name, topicName: topic, schedule: job.schedule },
    };
  },

  async compensate(p, io) {
    return [await removeJob(io, healthJobName(p)), await removeTopic(io, topicName(p.projectId, HEALTH_TOPIC))];
  },
};
