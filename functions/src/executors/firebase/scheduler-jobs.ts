/** Cloud Scheduler jobs owned by an integration: converge one job to its desired shape, or remove it. */
import type { protos } from "@google-cloud/scheduler";
import type { ApiCallSite } from "../../clients/errors";
import type { DriftItem, ResourceChange } from "../types";
import { fieldDrift, type IntegrationIo } from "./context";

type Job = protos.google.cloud.scheduler.v1.IJob;

const schedulerSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Cloud Scheduler ${operation}`,
  resource,
  role: "roles/cloudscheduler.admin",
  api: "cloudscheduler.googleapis.com",
});

export interface DesiredJob {
  /** `projects/{p}/locations/{r}/jobs/{id}` */
  name: string;
  description: string;
  schedule: string;
  timeZone: string;
  httpTarget?: { uri: string; httpMethod: "POST" | "GET"; headers: Record<string, string>; body: string; oauthToken?: { serviceAccountEmail: string; scope: string } };
  pubsubTarget?: { topicName: string; data: string; attributes: Record<string, string> };
  attemptDeadlineSeconds: number;
}

const bytesToText = (value: Uint8Array | string | null | undefined): string =>
  value === null || value === undefined ? "" : typeof value === "string" ? Buffer.from(value, "base64").toString("utf8") : Buffer.from(value).toString("utf8");

/** The comparable fields of a job, in one shape for what we want and what the API returned. */
export function jobView(job: Job | DesiredJob): Record<string, unknown> {
  if ("attemptDeadlineSeconds" in job) {
    return {
      description: job.description,
      schedule: job.schedule,
      timeZone: job.timeZone,
      httpTarget: job.httpTarget ?? null,
      pubsubTarget: job.pubsubTarget ?? null,
      attemptDeadline: job.attemptDeadlineSeconds,
    };
  }
  const http = job.httpTarget;
  const pubsub = job.pubsubTarget;
  return {
    description: job.description ?? "",
    schedule: job.schedule ?? "",
    timeZone: job.timeZone ?? "",
    httpTarget: http
      ? {
          uri: http.uri ?? "",
          httpMethod: String(http.httpMethod ?? ""),
          headers: { ...(http.headers ?? {}) },
          body: bytesToText(http.body),
          ...(http.oauthToken ? { oauthToken: { serviceAccountEmail: http.oauthToken.serviceAccountEmail ?? "", scope: http.oauthToken.scope ?? "" } } : {}),
        }
      : null,
    pubsubTarget: pubsub ? { topicName: pubsub.topicName ?? "", data: bytesToText(pubsub.data), attributes: { ...(pubsub.attributes ?? {}) } } : null,
    attemptDeadline: Number(job.attemptDeadline?.seconds ?? 0),
  };
}

function toApiJob(job: DesiredJob): Job {
  return {
    name: job.name,
    description: job.description,
    schedule: job.schedule,
    timeZone: job.timeZone,
    attemptDeadline: { seconds: job.attemptDeadlineSeconds },
    ...(job.httpTarget
      ? { httpTarget: { uri: job.httpTarget.uri, httpMethod: job.httpTarget.httpMethod, headers: job.httpTarget.headers, body: Buffer.from(job.httpTarget.body), oauthToken: job.httpTarget.oauthToken } }
      : {}),
    ...(job.pubsubTarget ? { pubsubTarget: { topicName: job.pubsubTarget.topicName, data: Buffer.from(job.pubsubTarget.data), attributes: job.pubsubTarget.attributes } } : {}),
  };
}

const MASK_FIELDS: Readonly<Record<string, string>> = {
  description: "description",
  schedule: "schedule",
  timeZone: "time_zone",
  httpTarget: "http_target",
  pubsubTarget: "pubsub_target",
  attemptDeadline: "attempt_deadline",
};

export async function getJob(io: IntegrationIo, name: string): Promise<Job | undefined> {
  return io.grpcOrAbsent(schedulerSite("GetJob", name), async (o) => (await io.clients.scheduler().getJob({ name }, o))[0]);
}

export function jobDrift(desired: DesiredJob, observed: Job | undefined): DriftItem[] {
  return fieldDrift(desired.name, jobView(desired), observed === undefined ? undefined : jobView(observed));
}

/** Create if absent; update only the fields that differ; leave an equal job alone. */
export async function ensureJob(io: IntegrationIo, desired: DesiredJob): Promise<{ change: ResourceChange; job: Job }> {
  const observed = await getJob(io, desired.name);
  if (observed === undefined) {
    const parent = desired.name.slice(0, desired.name.lastIndexOf("/jobs/"));
    const [job] = await io.grpc(schedulerSite("CreateJob", desired.name), (o) => io.clients.scheduler().createJob({ parent, job: toApiJob(desired) }, o));
    return { change: { kind: "created", resource: desired.name }, job };
  }
  const drift = jobDrift(desired, observed);
  if (drift.length === 0) return { change: { kind: "unchanged", resource: desired.name }, job: observed };
  const paths = drift.map((d) => MASK_FIELDS[d.field]!).filter((f) => f !== undefined);
  const [job] = await io.grpc(schedulerSite("UpdateJob", desired.name), (o) =>
    io.clients.scheduler().updateJob({ job: toApiJob(desired), updateMask: { paths } }, o),
  );
  return { change: { kind: "updated", resource: desired.name }, job };
}

export async function removeJob(io: IntegrationIo, name: string): Promise<ResourceChange> {
  const removed = await io.grpcOrAbsent(schedulerSite("DeleteJob", name), (o) => io.clients.scheduler().deleteJob({ name }, o));
  return { kind: removed === undefined ? "unchanged" : "deleted", resource: name };
}
