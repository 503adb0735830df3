/**
 * `healthRun` (every few minutes, Cloud Scheduler) and `onHealthRunRequested` (a message on
 * `orchestrator-health-runs`): the same run. The scheduled run's id comes from its schedule time,
 * so a tick delivered twice reports once; a requested run's id comes from the message id. A run
 * that finds another one holding the lease stops without writing.
 */
import type { CloudEvent } from "firebase-functions/v2";
import { logger } from "firebase-functions";
import type { MessagePublishedData } from "firebase-functions/v2/pubsub";
import type { ScheduledEvent } from "firebase-functions/v2/scheduler";
import { publishJson } from "../bus/publish";
import { googleClients } from "../clients/google";
import { TOPICS } from "../config";
import { firebaseExecutor } from "../executors/firebase";
import { healthConfigFrom } from "../health/config";
import { liveProbes, PROBE_ENDPOINT_ENV } from "../health/probes";
import { performHealthRun, requestRunId, scheduledRunId, type RunOutcome, type RunRequest } from "../health/run";
import { judgeBakes, type BakeJudgement } from "../runtime/bakes";
import { recordDeadLetter } from "../runtime/dead-letters";
import { healthRunRequestSchema } from "../schema/health";
import { parseWith } from "../schema/issues";
import { firestore } from "../store/firestore";
import { environmentFirestore, firestoreHealthStore, firestoreProbe } from "../store/health";

const healthLogs = {
  skipped: (runId: string, reason: string) => logger.info(`health run ${runId} skipped: ${reason}`, { runId, reason }),
  done: (runId: string, o: Extract<RunOutcome, { kind: "done" }>) =>
    logger.info(
      `health run ${runId}: ${o.report.summary.environments} environments, ${o.report.summary.checks} checks in ${o.report.durationMs} ms; ` +
        `${o.report.alertsOpened.length} alerts opened, ${o.report.alertsResolved.length} resolved, ${o.pruned} old reports pruned`,
      { runId, summary: o.report.summary, opened: o.report.alertsOpened, resolved: o.report.alertsResolved },
    ),
  warn: (runId: string, message: string) => logger.warn(`health run ${runId}: ${message}`, { runId }),
  bake: (runId: string, j: BakeJudgement) => logger.info(`health run ${runId}: bake ${j.planId}/${j.taskId} ${j.outcome}: ${j.message}`, { runId, ...j }),
};

/** Runs one health run against Firestore, the Google APIs and Pub/Sub. Exported for the local stack and tests. */
export async function runHealth(request: RunRequest, env: NodeJS.ProcessEnv = process.env): Promise<RunOutcome> {
  const db = firestore();
  const config = healthConfigFrom(env);
  const now = (): number => Date.now();
  const outcome = await performHealthRun(
    {
      store: firestoreHealthStore(db),
      probes: liveProbes({
        clients: () => googleClients(env),
        executor: firebaseExecutor,
        firestore: firestoreProbe(environmentFirestore(firestore), () => request.runId),
        checkTimeoutMs: config.checkTimeoutMs,
        now,
        runId: () => request.runId,
        probeEndpoint: env[PROBE_ENDPOINT_ENV],
      }),
      publishAlerts: (messages) => publishJson(TOPICS.alerts, messages),
      now,
      config,
      warn: (message) => healthLogs.warn(request.runId, message),
    },
    request,
  );
  if (outcome.kind === "skipped") healthLogs.skipped(request.runId, outcome.reason);
  else {
    healthLogs.done(request.runId, outcome);
    // With the environments' burn rates just recorded, the bakes that watch them get their verdict.
    for (const j of await judgeBakes(db, request.runId, now)) if (j.outcome !== "watching") healthLogs.bake(request.runId, j);
  }
  return outcome;
}

export async function handleScheduledHealthRun(event: ScheduledEvent): Promise<void> {
  const runId = scheduledRunId(event.scheduleTime && !Number.isNaN(Date.parse(event.scheduleTime)) ? event.scheduleTime : Date.now());
  await runHealth({ runId, trigger: "schedule", requestedBy: event.jobName ?? null });
}

export async function handleHealthRunRequest(event: CloudEvent<MessagePublishedData>): Promise<void> {
  const message = event.data.message;
  const raw = Buffer.from(message.data ?? "", "base64").toString("utf8");
  let body: unknown;
  try {
    body = raw.trim() === "" ? {} : JSON.parse(raw);
  } catch {
    body = undefined;
  }
  const parsed = parseWith(healthRunRequestSchema, body);
  if (!parsed.ok) {
    // Acknowledged and recorded: a malformed request does not become valid by redelivery.
    logger.warn(`message on ${TOPICS.healthRuns} rejected: malformed`, { errors: parsed.errors });
    await recordDeadLetter(firestore(), { source: TOPICS.healthRuns, reason: "malformed message", errors: parsed.errors, payload: raw, messageId: message.messageId }, Date.now());
    return;
  }
  if (parsed.value.environment !== undefined) {
    // The per-environment Scheduler jobs (executors/firebase/health.ts) tick on the same period as
    // healthRun: give their runs the id of that tick, so N environments' jobs make one run, not N.
    const period = healthConfigFrom(process.env).periodMs;
    const published = Date.parse(message.publishTime) || Date.now();
    const tick = Math.floor(published / period) * period;
    await runHealth({ runId: scheduledRunId(tick), trigger: "schedule", requestedBy: `${parsed.value.environment} scheduler job` });
    return;
  }
  await runHealth({ runId: requestRunId(message.messageId), trigger: "request", requestedBy: parsed.value.requestedBy });
}
