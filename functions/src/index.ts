/**
 * Firebase Orchestrator's Cloud Functions (2nd gen). Triggers only: each delegates to a handler in
 * triggers/, which parses the event and calls the engine.
 */
import { setGlobalOptions } from "firebase-functions/v2";
import { onDocumentCreated } from "firebase-functions/v2/firestore";
import { onRequest } from "firebase-functions/v2/https";
import { onMessagePublished } from "firebase-functions/v2/pubsub";
import { onSchedule } from "firebase-functions/v2/scheduler";
import { REGION, SWEEP_SCHEDULE, TOPICS } from "./config";
import { handleApiRequest } from "./triggers/api";
import { handlePlanCreated } from "./triggers/on-plan-created";
import { handleTaskReady } from "./triggers/on-task-ready";
import { handleSweep } from "./triggers/sweep-stalled-tasks";

setGlobalOptions({ region: REGION });

/** A new plan document: validate, compile, write its tasks, dispatch the first ones. */
export const onPlanCreated = onDocumentCreated({ document: "plans/{planId}", retry: true }, handlePlanCreated);

/** One attempt of one task. Retried by Pub/Sub on a crash; duplicates are no-ops. */
export const onTaskReady = onMessagePublished({ topic: TOPICS.taskReady, retry: true, timeoutSeconds: 540, memory: "512MiB" }, handleTaskReady);

/** Recovers lost dispatches, dead workers and unsettled completions. */
export const sweepStalledTasks = onSchedule({ schedule: SWEEP_SCHEDULE, timeoutSeconds: 300 }, handleSweep);

/** JSON API for the status page, behind the Hosting rewrite `/api/**`. */
export const api = onRequest({ cors: false }, handleApiRequest);
