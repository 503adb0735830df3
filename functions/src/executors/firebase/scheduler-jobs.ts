/** Cloud Scheduler jobs owned by an integration: one job's change, applied, and undone. */
import type { protos } from "@google-cloud/scheduler";
import type { ApiCallSite } from "../../clients/errors";
import { diffResource, undoChange, type Change, type JournalEntry, type Made, type UndoOutcome, type View } from "./change-set";
import type { IntegrationIo } from "./context";

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

export const SCHEDULER_JOB = "scheduler.job";

const versionOf = (job: Job): string | null => (job.userUpdateTime ? `${String(job.userUpdateTime.seconds ?? 0)}.${job.userUpdateTime.nanos ?? 0}` : null);
const made = (job: Job): Made => ({ name: job.name ?? "", version: versionOf(job), view: jobView(job) });

/** The job's change: create when absent, update the fields that differ, else noop. */
export const jobChange = (desired: DesiredJob, observed: Job | undefined): Change =>
  diffResource(SCHEDULER_JOB, desired.name, jobView(desired), observed === undefined ? undefined : jobView(observed));

/** A job as its view describes it (a before-image put back). */
function jobOfView(name: string, view: View): Job {
  const http = view.httpTarget as DesiredJob["httpTarget"] | null;
  const pubsub = view.pubsubTarget as DesiredJob["pubsubTarget"] | null;
  return toApiJob({
    name,
    description: String(view.description ?? ""),
    schedule: String(view.schedule ?? ""),
    timeZone: String(view.timeZone ?? ""),
    attemptDeadlineSeconds: Number(view.attemptDeadline ?? 0),
    ...(http ? { httpTarget: http } : {}),
    ...(pubsub ? { pubsubTarget: pubsub } : {}),
  });
}

async function updateJob(io: IntegrationIo, job: Job, fields: readonly string[]): Promise<Job> {
  const paths = fields.map((f) => MASK_FIELDS[f]).filter((f): f is string => f !== undefined);
  const [updated] = await io.grpc(schedulerSite("UpdateJob", job.name ?? ""), (o) => io.clients.scheduler().updateJob({ job, updateMask: { paths } }, o));
  return updated;
}

/** Makes the job's change: create, or update only the changed fields. */
export async function applyJob(io: IntegrationIo, desired: DesiredJob, change: Change): Promise<Made> {
  if (change.action === "create") {
    const parent = desired.name.slice(0, desired.name.lastIndexOf("/jobs/"));
    const [job] = await io.grpc(schedulerSite("CreateJob", desired.name), (o) => io.clients.scheduler().createJob({ parent, job: toApiJob(desired) }, o));
    return made(job);
  }
  return made(await updateJob(io, toApiJob(desired), change.fields.map((f) => f.field)));
}

/** Deletes a job this plan created, or puts an updated one's before-image back. */
export async function undoJob(io: IntegrationIo, entry: JournalEntry): Promise<UndoOutcome> {
  const name = entry.change.resource;
  const current = await getJob(io, name);
  return undoChange(entry, current === undefined ? undefined : { view: jobView(current), version: versionOf(current) }, {
    remove: () => io.grpcOrAbsent(schedulerSite("DeleteJob", name), (o) => io.clients.scheduler().deleteJob({ name }, o)),
    restore: (before) => updateJob(io, jobOfView(name, before), entry.change.fields.map((f) => f.field)),
  });
}
