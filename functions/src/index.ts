/**
 * Firebase Orchestrator's Cloud Functions (2nd gen). Triggers only: each delegates to a handler in
 * triggers/, which parses the event and calls the engine.
 */
import { setGlobalOptions } from "firebase-functions/v2";
import { onDocumentCreated, onDocumentUpdated } from "firebase-functions/v2/firestore";
import { onRequest } from "firebase-functions/v2/https";
import { onMessagePublished } from "firebase-functions/v2/pubsub";
import { onSchedule } from "firebase-functions/v2/scheduler";
import { MAX_INSTANCES, SWEEP_SCHEDULE, TASK_FUNCTION_TIMEOUT_SECONDS, TOPICS } from "./config";
import { notifySecrets, REGION, taskSecrets } from "./params";
import { handleApiRequest } from "./triggers/api";
import { handlePlanCommand } from "./triggers/on-plan-command";
import { handlePlanCreated } from "./triggers/on-plan-created";
import { handlePlanUpdated } from "./triggers/on-plan-updated";
import { handleTaskEvent } from "./triggers/on-task-event";
import { handleTaskReady } from "./triggers/on-task-ready";
import { HEALTH_RUN_SCHEDULE } from "./health/config";
import { handleHealthRunRequest, handleScheduledHealthRun } from "./triggers/health-run";
import { handleSweep } from "./triggers/sweep-stalled-tasks";
import { FIRE_SCHEDULES_EVERY, handleFireSchedules } from "./triggers/schedules";
import { handleAlertNotification, handleNotification } from "./notify/triggers";

setGlobalOptions({ region: REGION });


/** A new plan document: validate, compile, write its tasks, dispatch the first ones. */
export const onPlanCreated = onDocumentCreated({ document: "plans/{planId}", retry: true, maxInstances: MAX_INSTANCES.control }, handlePlanCreated);

/** A plan's spec is immutable: edits are recorded and ignored. */
export const onPlanUpdated = onDocumentUpdated({ document: "plans/{planId}", maxInstances: MAX_INSTANCES.control }, handlePlanUpdated);

/**
 * One attempt of one task (or its compensation). Retried by Pub/Sub on a crash; duplicates are no-ops.
 * One instance serves many deliveries at once (a task mostly waits on I/O), and their claims and
 * completions share commits (store/group-commit.ts); concurrency above 1 needs a whole vCPU.
 */
export const onTaskReady = onMessagePublished(
  // The secrets plans may send (ORCHESTRATOR_SECRET_BINDINGS), given by Secret Manager to this function only.
  { topic: TOPICS.taskReady, retry: true, timeoutSeconds: TASK_FUNCTION_TIMEOUT_SECONDS, memory: "512MiB", cpu: 1, concurrency: 80, maxInstances: MAX_INSTANCES.tasks, secrets: taskSecrets() },
  handleTaskReady,
);

/** approve / reject / cancel / retry / rollback, from other systems and the page. */
export const onPlanCommand = onMessagePublished({ topic: TOPICS.planCommands, retry: true, maxInstances: MAX_INSTANCES.control }, handlePlanCommand);

/** External tasks completed (or kept alive) by other systems with their task token. */
export const onTaskEvent = onMessagePublished({ topic: TOPICS.taskEvents, retry: true, maxInstances: MAX_INSTANCES.control }, handleTaskEvent);

/** Recovers lost dispatches, dead workers, passed deadlines and unsettled completions. */
export const sweepStalledTasks = onSchedule({ schedule: SWEEP_SCHEDULE, timeoutSeconds: 300, maxInstances: MAX_INSTANCES.scheduled }, handleSweep);

/** Checks every environment, updates goals, compliance and alerts, writes one report. */
export const healthRun = onSchedule({ schedule: HEALTH_RUN_SCHEDULE, timeoutSeconds: 120, memory: "512MiB", maxInstances: MAX_INSTANCES.scheduled }, handleScheduledHealthRun);

/** Fires every schedule's due ticks (schedules/{id}): each tick's run is one plan with a deterministic id. */
export const fireSchedules = onSchedule({ schedule: FIRE_SCHEDULES_EVERY, timeoutSeconds: 300, maxInstances: MAX_INSTANCES.scheduled }, handleFireSchedules);

/** The same run on demand (API, other systems, per-environment Scheduler jobs); runs are idempotent by id. */
export const onHealthRunRequested = onMessagePublished({ topic: TOPICS.healthRuns, retry: false, timeoutSeconds: 120, memory: "512MiB", maxInstances: MAX_INSTANCES.healthRequests }, handleHealthRunRequest);

/** JSON API for the status page, behind the Hosting rewrite `/api/**`. */
export const api = onRequest({ cors: false, maxInstances: MAX_INSTANCES.api }, handleApiRequest);

// The webhook URLs of ORCHESTRATOR_NOTIFY_TARGETS, given by Secret Manager to the two notifiers only.
const notifyTargetSecrets = notifySecrets();

/** Alert changes (raised, escalated, resolved) to Slack, Google Chat and webhooks; each target hears of each once. */
export const onNotifyAlert = onMessagePublished({ topic: TOPICS.alerts, retry: true, maxInstances: MAX_INSTANCES.notify, secrets: notifyTargetSecrets }, handleAlertNotification);

/** Other notifications (an approval gate started waiting), to the same targets. */
export const onNotify = onMessagePublished({ topic: TOPICS.notifications, retry: true, maxInstances: MAX_INSTANCES.notify, secrets: notifyTargetSecrets }, handleNotification);
