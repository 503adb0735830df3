/**
 * Publishing with the official Pub/Sub client. Topics that have a trigger exist once deployed;
 * a topic that does not (a fresh emulator, a test without functions) is created on first use.
 */
import { PubSub, type Topic } from "@google-cloud/pubsub";
import { TOPICS } from "../config";
import { grpcCode } from "../clients/grpc-code";
import type { TaskReadyMessage } from "../schema/messages";

const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

let client: PubSub | undefined;
const topics = new Map<string, Topic>();

function topic(name: string): Topic {
  client ??= new PubSub();
  let t = topics.get(name);
  if (t === undefined) {
    // Small batches with a short wait: a fan-out of thousands goes out in a few RPCs.
    t = client.topic(name, { batching: { maxMessages: 500, maxMilliseconds: 5 } });
    topics.set(name, t);
  }
  return t;
}

export async function ensureTopic(name: string): Promise<void> {
  try {
    await topic(name).create();
  } catch (error) {
    if (grpcCode(error) !== ALREADY_EXISTS) throw error;
  }
}

export async function publishJson(topicName: string, messages: readonly object[]): Promise<void> {
  if (messages.length === 0) return;
  const send = () => Promise.all(messages.map((json) => topic(topicName).publishMessage({ json })));
  try {
    await send();
  } catch (error) {
    if (grpcCode(error) !== NOT_FOUND) throw error;
    await ensureTopic(topicName);
    await send();
  }
}

export function publishTaskReady(messages: readonly TaskReadyMessage[]): Promise<void> {
  return publishJson(TOPICS.taskReady, messages);
}
