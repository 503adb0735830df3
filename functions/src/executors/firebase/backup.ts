/**
 * `backup`: a Cloud Scheduler job that calls Firestore's exportDocuments on a schedule, as
 * Firebase documents for scheduled exports. The job's service account needs
 * roles/datastore.importExportAdmin and write access to the bucket.
 */
import { z } from "zod";
import { parseSettings, type FirebaseParams, type IntegrationModule } from "./context";
import { applyJob, getJob, jobChange, jobView, undoJob, type DesiredJob } from "./scheduler-jobs";

const backupSettingsSchema = z
  .object({
    schedule: z.string().min(9).max(100).default("0 3 * * *"),
    timeZone: z.string().min(1).max(64).default("Etc/UTC"),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/).optional(),
    collectionIds: z.array(z.string().min(1).max(1500)).max(100).default([]),
    serviceAccount: z.email().optional(),
  })
  .passthrough();

export const backupJobName = (p: FirebaseParams): string => `projects/${p.projectId}/locations/${p.region}/jobs/orchestrator-firestore-backup`;

function desiredBackupJob(p: FirebaseParams): { job: DesiredJob; outputUriPrefix: string } {
  const s = parseSettings(backupSettingsSchema, p);
  const outputUriPrefix = `gs://${s.bucket ?? `${p.projectId}-backups`}/firestore`;
  return {
    outputUriPrefix,
    job: {
      name: backupJobName(p),
      description: `Firebase Orchestrator: daily Firestore export of ${p.projectId} (${p.environment})`,
      schedule: s.schedule,
      timeZone: s.timeZone,
      attemptDeadlineSeconds: 300,
      httpTarget: {
        uri: `https://firestore.googleapis.com/v1/projects/${p.projectId}/databases/(default):exportDocuments`,
        httpMethod: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ outputUriPrefix, collectionIds: s.collectionIds }),
        oauthToken: { serviceAccountEmail: s.serviceAccount ?? `${p.projectId}@appspot.gserviceaccount.com`, scope: "https://www.googleapis.com/auth/datastore" },
      },
    },
  };
}

export const backupIntegration: IntegrationModule = {
  async plan(p, io) {
    const { job } = desiredBackupJob(p);
    const observed = await getJob(io, job.name);
    return { changes: [jobChange(job, observed)], desired: jobView(job), observed: observed === undefined ? null : jobView(observed) };
  },
  apply: (p, change, io) => applyJob(io, desiredBackupJob(p).job, change),
  undo: (_p, entry, io) => undoJob(io, entry),
  outputs(p) {
    const { job, outputUriPrefix } = desiredBackupJob(p);
    return { integration: "backup", schedulerJobName: job.name, schedule: job.schedule, outputUriPrefix };
  },
};
