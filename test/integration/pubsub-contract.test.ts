/** Pins the Pub/Sub emulator behaviours the bus relies on, through the official client. */
import { PubSub } from "@google-cloud/pubsub";
import { ensureTopic, publishJson } from "../../functions/src/bus/publish";
import { requireEmulators, uniqueId } from "../support/emulators";

requireEmulators("PUBSUB_EMULATOR_HOST");
const pubsub = new PubSub();
const NOT_FOUND = 5;

async function pullAll(subscription: string, expected: number, timeoutMs = 10_000): Promise<unknown[]> {
  const received: unknown[] = [];
  const sub = pubsub.subscription(subscription);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`received ${received.length} of ${expected}`)), timeoutMs);
    sub.on("message", (m) => {
      received.push(JSON.parse(m.data.toString("utf8")));
      m.ack();
      if (received.length >= expected) {
        clearTimeout(timer);
        resolve();
      }
    });
    sub.on("error", reject);
  });
  await sub.close();
  return received;
}

describe("Pub/Sub emulator contract", () => {
  it("refuses to publish to a topic nobody created", async () => {
    await expect(pubsub.topic(uniqueId("missing")).publishMessage({ json: {} })).rejects.toMatchObject({ code: NOT_FOUND });
  });

  it("publishJson creates a missing topic and delivers every message of a batch", async () => {
    const topic = uniqueId("bus");
    await ensureTopic(topic);
    const [sub] = await pubsub.topic(topic).createSubscription(`${topic}-sub`);
    const messages = Array.from({ length: 250 }, (_, i) => ({ i }));
    await publishJson(topic, messages);
    const received = (await pullAll(sub.name, 250)) as Array<{ i: number }>;
    expect(received.map((m) => m.i).sort((a, b) => a - b)).toEqual(messages.map((m) => m.i));
  });

  it("publishJson to a topic that does not exist yet creates it instead of failing", async () => {
    const topic = uniqueId("late");
    await expect(publishJson(topic, [{ hello: "world" }])).resolves.toBeUndefined();
    const [exists] = await pubsub.topic(topic).exists();
    expect(exists).toBe(true);
  });
});
