/**
 * The local stack's notification receiver (local/notify-receiver.ts), fed by the real notifier:
 * one line per notification, in each kind's own shape, on loopback only.
 */
import { announce } from "../../../functions/src/notify/notifier";
import { LOCAL_NOTIFY_TARGETS, localNotifyUrls, notificationLine, startNotifyReceiver, type NotifyReceiver } from "../../../local/notify-receiver";
import { NOTIFY_RECEIVER } from "../../../local/project";
import { gate, raised, rig } from "./support";

let receiver: NotifyReceiver;
const lines: string[] = [];
beforeAll(async () => {
  receiver = await startNotifyReceiver({ port: 0, onNotification: (n) => lines.push(notificationLine(n)) });
});
afterAll(() => receiver.stop());

describe("the local notification receiver", () => {
  it("declares one local target of each kind, each pointing at its path on the receiver's loopback port", () => {
    expect(LOCAL_NOTIFY_TARGETS.map((t) => t.kind)).toEqual(["slack", "chat", "webhook"]);
    expect(localNotifyUrls()).toEqual({
      LOCAL_SLACK_WEBHOOK: `http://127.0.0.1:${NOTIFY_RECEIVER.port}/slack`,
      LOCAL_CHAT_WEBHOOK: `http://127.0.0.1:${NOTIFY_RECEIVER.port}/chat`,
      LOCAL_JSON_WEBHOOK: `http://127.0.0.1:${NOTIFY_RECEIVER.port}/webhook`,
    });
    expect(receiver.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("prints one line per notification, naming the kind, the event type and what happened", async () => {
    const port = Number(new URL(receiver.url).port);
    const { deps } = rig([...LOCAL_NOTIFY_TARGETS], localNotifyUrls({ host: "127.0.0.1", port }));
    await announce(raised, deps);
    await announce(gate, deps);
    await announce(gate, deps);
    expect(lines.sort()).toEqual(
      [
        "🔔 slack   alert.raised     🚨 [CRITICAL] prod hosting http check is down",
        "🔔 chat    alert.raised     🚨 [CRITICAL] prod hosting http check is down",
        "🔔 webhook alert.raised     prod hosting http check is down",
        "🔔 slack   gate.waiting     ✋ Rollout to production: production.approval waits for approval",
        "🔔 chat    gate.waiting     ✋ Rollout to production: production.approval waits for approval",
        "🔔 webhook gate.waiting     Rollout to production: production.approval waits for approval",
      ].sort(),
    );
    expect(receiver.received.find((n) => n.kind === "webhook" && n.type === "gate.waiting")!.body).toMatchObject({ type: "gate.waiting", id: gate.key });
  });

  it("answers anything but a JSON POST to a known path with an error, recording nothing", async () => {
    const before = receiver.received.length;
    expect((await fetch(`${receiver.url}/slack`)).status).toBe(404);
    expect((await fetch(`${receiver.url}/teams`, { method: "POST", body: "{}" })).status).toBe(404);
    expect((await fetch(`${receiver.url}/chat`, { method: "POST", body: "not json" })).status).toBe(400);
    expect(receiver.received.length).toBe(before);
  });
});
