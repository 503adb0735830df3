/**
 * The deployed functions, wrapped with firebase-functions-test (online mode against the emulators),
 * plus helpers to build their events and read what they published.
 */
import { PubSub, type Message } from "@google-cloud/pubsub";
import { FieldPath } from "firebase-admin/firestore";
import firebaseFunctionsTest from "firebase-functions-test";
import * as functions from "../../functions/src/index";
import { TOPICS } from "../../functions/src/config";
import { ensureTopic } from "../../functions/src/bus/publish";
import { PROJECT_ID, requireEmulators, testFirestore } from "./emulators";

requireEmulators("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST");
export const testEnv = firebaseFunctionsTest({ projectId: PROJECT_ID });
export const db = testFirestore();

export const onPlanCreated = testEnv.wrap(functions.onPlanCreated);
export const onTaskReady = testEnv.wrap(functions.onTaskReady);

/** Delivers a plan-created event for a document already written, as Eventarc would. */
export async function deliverPlanCreated(planId: string, eventId = `evt-${Math.random().toString(36).slice(2)}`): Promise<void> {
  // A QueryDocumentSnapshot, as the real event carries (firebase-functions-test keeps it as given).
  const query = await db.collection("plans").where(FieldPath.documentId(), "==", planId).get();
  await onPlanCreated({ id: eventId, data: query.docs[0], params: { planId } });
}

let messageCounter = 0;
/** Delivers a task-ready message (any JSON, or raw text for malformed cases). */
export async function deliverTaskReady(body: unknown, messageId = `msg-${++messageCounter}-${Date.now()}`): Promise<void> {
  const data = Buffer.from(typeof body === "string" ? body : JSON.stringify(body)).toString("base64");
  await onTaskReady({ data: { message: { data, messageId, attributes: {} }, subscription: "test" } });
}

/** A subscription on the task-ready topic that collects what the engine publishes. */
export async function captureTaskReady(): Promise<{ messages: () => Array<{ planId: string; taskId: string; attempt: number }>; close: () => Promise<void> }> {
  await ensureTopic(TOPICS.taskReady);
  const pubsub = new PubSub({ projectId: PROJECT_ID });
  const name = `capture-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
  const [sub] = await pubsub.topic(TOPICS.taskReady).createSubscription(name);
  const received: Array<{ planId: string; taskId: string; attempt: number }> = [];
  sub.on("message", (m: Message) => {
    received.push(JSON.parse(m.data.toString("utf8")));
    m.ack();
  });
  return {
    messages: () => received,
    close: async () => {
      await sub.close();
      await sub.delete();
    },
  };
}
