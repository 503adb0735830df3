/**
 * The notifier against a real webhook on 127.0.0.1 and the in-memory delivery store: each target
 * hears of each event once, however often Pub/Sub delivers the message; retryable failures are
 * tried again (here, then by redelivery), permanent ones are recorded and left; the egress policy
 * refuses a webhook on the metadata server or a private address without opening a socket; a
 * malformed message is recorded and acknowledged. The URL, a credential, is in no record and no log.
 */
import { parseMessage } from "../../../functions/src/bus/parse";
import { MemoryDeliveryStore } from "../../../functions/src/notify/deliveries";
import { alertEvent, notificationEvent, notificationMessageSchema } from "../../../functions/src/notify/events";
import { announce, handleNotifyMessage, NotDeliveredError, type NotifyReport } from "../../../functions/src/notify/notifier";
import { alertMessageSchema } from "../../../functions/src/schema/health";
import type { NotifyTarget } from "../../../functions/src/notify/targets";
import { alertMessage, gate, gateMessage, pubsubMessage, raised, rig, Webhook } from "./support";

const web = new Webhook();
beforeAll(() => web.start());
afterAll(() => web.stop());
beforeEach(() => web.reset());

const SLACK: NotifyTarget = { kind: "slack", secret: "SLACK_OPS_WEBHOOK" };
const CHAT: NotifyTarget = { kind: "chat", secret: "CHAT_WEBHOOK" };
const HOOK: NotifyTarget = { kind: "webhook", secret: "PAGER_WEBHOOK" };
const ALL = [SLACK, CHAT, HOOK];
const TOKEN = "T000/B000/XXXXsecretXXXX";
const secrets = () => ({ SLACK_OPS_WEBHOOK: web.url(`/slack/${TOKEN}`), CHAT_WEBHOOK: web.url(`/chat?key=${TOKEN}`), PAGER_WEBHOOK: web.url("/hook") });

/** The announcement's report, whether it returned or threw for a redelivery. */
async function reportOf(promise: Promise<NotifyReport | undefined>): Promise<{ report: NotifyReport | undefined; redeliver: boolean }> {
  try {
    return { report: await promise, redeliver: false };
  } catch (error) {
    if (!(error instanceof NotDeliveredError)) throw error;
    return { report: error.report, redeliver: true };
  }
}

describe("the notifier", () => {
  it("posts each target its own format once, with the event's type and idempotency key", async () => {
    const { deps, store } = rig(ALL, secrets());
    const report = await announce(raised, deps);
    expect(report).toEqual({ key: raised.key, delivered: expect.arrayContaining(["SLACK_OPS_WEBHOOK", "CHAT_WEBHOOK", "PAGER_WEBHOOK"]), failed: [], alreadyDelivered: [], pending: [] });
    expect(web.hits).toHaveLength(3);
    const [slack] = web.hitsOf(`/slack/${TOKEN}`);
    expect(slack!.body).toMatchObject({ text: "🚨 [CRITICAL] prod hosting http check is down", blocks: expect.any(Array) });
    expect(web.hitsOf("/chat")[0]!.body).toEqual({ text: expect.stringContaining("*🚨 [CRITICAL] prod hosting http check is down*") });
    expect(web.hitsOf("/hook")[0]!.body).toMatchObject({ type: "alert.raised", id: raised.key, occurredAt: "2026-11-25T12:00:00.000Z" });
    for (const hit of web.hits) {
      expect(hit.headers).toMatchObject({ "x-orchestrator-event": "alert.raised", "idempotency-key": expect.stringMatching(/^[0-9a-f]{64}$/), "content-type": "application/json; charset=utf-8" });
    }
    const record = store.recordOf(raised.key)!;
    expect(Object.fromEntries(Object.entries(record.targets).map(([name, t]) => [name, [t.status, t.attempts, t.httpStatus]]))).toEqual({
      SLACK_OPS_WEBHOOK: ["delivered", 1, 200],
      CHAT_WEBHOOK: ["delivered", 1, 200],
      PAGER_WEBHOOK: ["delivered", 1, 200],
    });
  });

  it("posts nothing to a delivered target when the same message comes again, and only the owed targets after a partial failure", async () => {
    const { deps, store } = rig(ALL, secrets());
    web.script("/hook", { status: 503 }, { status: 503 }, { status: 503 });
    const first = await reportOf(announce(raised, deps));
    expect(first).toMatchObject({ redeliver: true, report: { pending: ["PAGER_WEBHOOK"] } });
    expect(web.hitsOf(`/slack/${TOKEN}`)).toHaveLength(1);
    expect(web.hitsOf("/hook")).toHaveLength(3);

    // Pub/Sub redelivers (another invocation, another owner): only the webhook is tried, and now answers.
    const again = rig(ALL, secrets(), { store, owner: "owner-2" });
    const second = await reportOf(announce(raised, again.deps));
    expect(second).toMatchObject({ redeliver: false, report: { delivered: ["PAGER_WEBHOOK"], alreadyDelivered: expect.arrayContaining(["SLACK_OPS_WEBHOOK", "CHAT_WEBHOOK"]) } });
    expect(web.hitsOf(`/slack/${TOKEN}`)).toHaveLength(1);
    expect(web.hitsOf("/chat")).toHaveLength(1);
    expect(web.hitsOf("/hook")).toHaveLength(4);

    // And once more: nothing left to send.
    const third = rig(ALL, secrets(), { store, owner: "owner-3" });
    expect(await announce(raised, third.deps)).toMatchObject({ delivered: [], alreadyDelivered: expect.arrayContaining(["SLACK_OPS_WEBHOOK", "CHAT_WEBHOOK", "PAGER_WEBHOOK"]) });
    expect(web.hits).toHaveLength(6);
    expect(store.recordOf(raised.key)!.targets.PAGER_WEBHOOK).toMatchObject({ status: "delivered", attempts: 4 });
  });

  it("leaves a target another delivery of the message is sending to, and asks for a redelivery", async () => {
    const store = new MemoryDeliveryStore();
    await store.claim(raised, [HOOK], "someone-else", 0, 60_000);
    const { deps } = rig([SLACK, HOOK], secrets(), { store, now: () => 1_000 });
    const outcome = await reportOf(announce(raised, deps));
    expect(outcome).toMatchObject({ redeliver: true, report: { delivered: ["SLACK_OPS_WEBHOOK"], pending: ["PAGER_WEBHOOK"] } });
    expect(web.hitsOf("/hook")).toHaveLength(0);
    // A claim whose invocation died lapses: the next delivery after its lease sends.
    const later = rig([SLACK, HOOK], secrets(), { store, owner: "owner-2", now: () => 61_001 });
    expect(await announce(raised, later.deps)).toMatchObject({ delivered: ["PAGER_WEBHOOK"], alreadyDelivered: ["SLACK_OPS_WEBHOOK"] });
  });

  it("records nothing over a claim that lapsed and was taken over: the other delivery's outcome stands", async () => {
    const store = new MemoryDeliveryStore();
    await store.claim(raised, [HOOK], "slow", 0, 1_000);
    await store.claim(raised, [HOOK], "fast", 5_000, 1_000);
    expect(await store.settle(raised.key, HOOK.secret, "fast", { ok: true, httpStatus: 200, tries: 1 }, 5_100, 15)).toBe(true);
    expect(await store.settle(raised.key, HOOK.secret, "slow", { ok: false, retryable: true, httpStatus: 503, code: "http_503", error: "HTTP 503", tries: 3 }, 5_200, 15)).toBe(false);
    expect(store.recordOf(raised.key)!.targets.PAGER_WEBHOOK).toMatchObject({ status: "delivered", attempts: 1 });
  });

  it("tries a 5xx again with backoff inside the invocation, and delivers when it recovers", async () => {
    const { deps, waits, store } = rig([HOOK], secrets());
    web.script("/hook", { status: 500 }, { status: 502 });
    expect(await announce(gate, deps)).toMatchObject({ delivered: ["PAGER_WEBHOOK"], pending: [] });
    expect(web.hitsOf("/hook")).toHaveLength(3);
    expect(waits).toEqual([500, 1_500]);
    expect(store.recordOf(gate.key)!.targets.PAGER_WEBHOOK).toMatchObject({ status: "delivered", attempts: 3, httpStatus: 200, error: null });
  });

  it("waits out a 429's Retry-After (capped), and after the tries are spent leaves the target for redelivery", async () => {
    const { deps, waits, store } = rig([SLACK], secrets());
    web.script(`/slack/${TOKEN}`, { status: 429, headers: { "retry-after": "2" }, body: "rate limited" }, { status: 429, headers: { "retry-after": "3600" } }, { status: 429 });
    const outcome = await reportOf(announce(raised, deps));
    expect(outcome).toMatchObject({ redeliver: true, report: { pending: ["SLACK_OPS_WEBHOOK"] } });
    expect(waits).toEqual([2_000, 5_000]);
    expect(store.recordOf(raised.key)!.targets.SLACK_OPS_WEBHOOK).toMatchObject({ status: "retrying", attempts: 3, httpStatus: 429, code: "http_429", error: "HTTP 429" });
  });

  it("records a 4xx other than 429 as failed for good, with its status, and never tries it again", async () => {
    const { deps, waits, store } = rig([SLACK, CHAT], secrets());
    web.script(`/slack/${TOKEN}`, { status: 404, body: "no_service" });
    web.script("/chat", { status: 400, body: '{"error": {"message": "Invalid JSON payload"}}' });
    expect(await announce(raised, deps)).toMatchObject({ delivered: [], failed: expect.arrayContaining(["SLACK_OPS_WEBHOOK", "CHAT_WEBHOOK"]), pending: [] });
    expect(waits).toEqual([]);
    expect(store.recordOf(raised.key)!.targets.SLACK_OPS_WEBHOOK).toMatchObject({ status: "failed", attempts: 1, httpStatus: 404, code: "http_404", error: "HTTP 404: no_service" });
    expect(store.recordOf(raised.key)!.targets.CHAT_WEBHOOK).toMatchObject({ status: "failed", httpStatus: 400, error: 'HTTP 400: {"error": {"message": "Invalid JSON payload"}}' });
    const again = rig([SLACK, CHAT], secrets(), { store, owner: "owner-2" });
    expect(await announce(raised, again.deps)).toMatchObject({ failed: expect.arrayContaining(["SLACK_OPS_WEBHOOK", "CHAT_WEBHOOK"]) });
    expect(web.hits).toHaveLength(2);
  });

  it("does not follow a redirect with the body: it fails for good", async () => {
    const { deps, store } = rig([HOOK], secrets());
    web.script("/hook", { status: 302, headers: { location: "http://127.0.0.1:9/elsewhere" } });
    expect(await announce(raised, deps)).toMatchObject({ failed: ["PAGER_WEBHOOK"] });
    expect(store.recordOf(raised.key)!.targets.PAGER_WEBHOOK).toMatchObject({ status: "failed", httpStatus: 302, code: "redirect" });
    expect(web.hits).toHaveLength(1);
  });

  it("gives a target up for good after its tries over all deliveries are spent", async () => {
    const store = new MemoryDeliveryStore();
    for (let delivery = 1; delivery <= 2; delivery++) {
      web.script("/hook", { status: 503 }, { status: 503 }, { status: 503 });
      const { deps } = rig([HOOK], secrets(), { store, owner: `owner-${delivery}` });
      const outcome = await reportOf(announce(raised, { ...deps, maxAttempts: 6 }));
      expect(outcome.redeliver).toBe(delivery === 1);
    }
    expect(store.recordOf(raised.key)!.targets.PAGER_WEBHOOK).toMatchObject({ status: "failed", attempts: 6, error: "gave up after 6 tries: HTTP 503" });
    const { deps } = rig([HOOK], secrets(), { store, owner: "owner-3" });
    expect(await announce(raised, deps)).toMatchObject({ failed: ["PAGER_WEBHOOK"] });
    expect(web.hits).toHaveLength(6);
  });

  it("tries a refused connection again, then leaves it for redelivery", async () => {
    const { deps, store } = rig([HOOK], { PAGER_WEBHOOK: "http://127.0.0.1:9/nothing-listens" });
    const outcome = await reportOf(announce(raised, deps));
    expect(outcome).toMatchObject({ redeliver: true, report: { pending: ["PAGER_WEBHOOK"] } });
    expect(store.recordOf(raised.key)!.targets.PAGER_WEBHOOK).toMatchObject({ status: "retrying", attempts: 3, code: "network", error: expect.stringContaining("ECONNREFUSED") });
  });

  it.each([
    ["the metadata server", "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token", ["127.0.0.0/8"]],
    ["the metadata server's hostname", "http://metadata.google.internal/hook", ["127.0.0.0/8"]],
    ["a name that resolves to the metadata server", "http://rebind.example.com/hook", ["127.0.0.0/8"]],
    ["a private address", "http://10.0.0.5/hook", ["127.0.0.0/8"]],
    ["a name that resolves to a private address", "http://internal.example.com/hook", ["127.0.0.0/8"]],
    ["loopback, when the allow-list does not name it", "http://127.0.0.1:9/hook", []],
  ])("refuses a webhook on %s without opening a socket, for good", async (_what, url, allow) => {
    const { deps, agent, store } = rig([HOOK], { PAGER_WEBHOOK: url }, { allow });
    expect(await announce(raised, deps)).toMatchObject({ failed: ["PAGER_WEBHOOK"], pending: [] });
    expect(agent.connections).toHaveLength(0);
    expect(store.recordOf(raised.key)!.targets.PAGER_WEBHOOK).toMatchObject({ status: "failed", attempts: 1, code: "egress_refused", httpStatus: null });
  });

  it("records a target whose secret has no value as failed, saying how to set it", async () => {
    const { deps, store } = rig([SLACK, HOOK], { PAGER_WEBHOOK: web.url("/hook") });
    expect(await announce(raised, deps)).toMatchObject({ delivered: ["PAGER_WEBHOOK"], failed: ["SLACK_OPS_WEBHOOK"] });
    expect(store.recordOf(raised.key)!.targets.SLACK_OPS_WEBHOOK).toMatchObject({ status: "failed", attempts: 0, code: "missing_secret", error: expect.stringContaining("firebase functions:secrets:set SLACK_OPS_WEBHOOK") });
  });

  it("never records or logs the webhook URL, its path or its query: targets are named by their secret", async () => {
    const { deps, store, logged } = rig(ALL, secrets());
    web.script(`/slack/${TOKEN}`, { status: 403, body: `invalid token for /slack/${TOKEN}` });
    web.script("/chat", { status: 500, body: `upstream said ${web.url(`/chat?key=${TOKEN}`)}` }, { status: 500 }, { status: 500 });
    await reportOf(announce(raised, deps));
    const unreachable = rig([HOOK], { PAGER_WEBHOOK: `http://10.0.0.5/hooks/${TOKEN}` });
    await announce(gate, unreachable.deps);
    const everything = JSON.stringify([[...store.records.values()], [...unreachable.store.records.values()], logged, unreachable.logged]);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(String(web.port));
    expect(everything).toContain("[redacted]");
    expect(logged.map((l) => `${l.name}:${String(l.args[1])}`).sort()).toEqual(["delivered:PAGER_WEBHOOK", "notDelivered:CHAT_WEBHOOK", "notDelivered:SLACK_OPS_WEBHOOK"]);
  });

  it("does nothing (and records nothing) without targets", async () => {
    const { deps, store } = rig([], {});
    expect(await announce(raised, deps)).toEqual({ key: raised.key, delivered: [], failed: [], alreadyDelivered: [], pending: [] });
    expect(store.records.size).toBe(0);
  });
});

describe("messages from the topics", () => {
  const alerts = (m: { data?: string }) => parseMessage(alertMessageSchema, m);
  const notifications = (m: { data?: string }) => parseMessage(notificationMessageSchema, m);

  it("announces an alert change and a waiting gate as they arrive on their topics", async () => {
    const { deps } = rig([HOOK], secrets());
    expect(await handleNotifyMessage("orchestrator-alerts", pubsubMessage(alertMessage("resolved", { status: "resolved", resolvedAt: Date.now() })), alerts, alertEvent, deps)).toMatchObject({ delivered: ["PAGER_WEBHOOK"] });
    expect(await handleNotifyMessage("orchestrator-notifications", pubsubMessage(gateMessage()), notifications, notificationEvent, deps)).toMatchObject({ delivered: ["PAGER_WEBHOOK"] });
    expect(web.hits.map((h) => (h.body as { type: string }).type)).toEqual(["alert.resolved", "gate.waiting"]);
  });

  it("records a malformed message and acknowledges it (no throw, no post, never retried)", async () => {
    const { deps, store, logged } = rig(ALL, secrets());
    const cases = [
      pubsubMessage("{not json", "m-1"),
      pubsubMessage({ type: "opened", runId: "r", alert: { id: 42 } }, "m-2"),
      pubsubMessage({ type: "gate.approved", planId: "p" }, "m-3"),
    ];
    await expect(handleNotifyMessage("orchestrator-alerts", cases[0]!, alerts, alertEvent, deps)).resolves.toBeUndefined();
    await expect(handleNotifyMessage("orchestrator-alerts", cases[1]!, alerts, alertEvent, deps)).resolves.toBeUndefined();
    await expect(handleNotifyMessage("orchestrator-notifications", cases[2]!, notifications, notificationEvent, deps)).resolves.toBeUndefined();
    expect(web.hits).toHaveLength(0);
    expect(store.records.size).toBe(0);
    expect(store.malformed.map((m) => [m.source, m.messageId, m.reason])).toEqual([
      ["orchestrator-alerts", "m-1", "malformed message"],
      ["orchestrator-alerts", "m-2", "malformed message"],
      ["orchestrator-notifications", "m-3", "malformed message"],
    ]);
    expect(store.malformed[0]!.errors).toEqual([{ path: "", message: "the message body is not JSON" }]);
    expect(store.malformed[1]!.errors.map((e) => e.path)).toEqual(expect.arrayContaining(["alert.id", "alert.key"]));
    expect(store.malformed[2]!.payload).toBe('{"type":"gate.approved","planId":"p"}');
    expect(logged.filter((l) => l.name === "rejected")).toHaveLength(3);
  });

  it("announces the same alert change published twice once", async () => {
    const { deps } = rig([HOOK], secrets());
    const message = alertMessage("opened");
    await handleNotifyMessage("orchestrator-alerts", pubsubMessage(message, "a-1"), alerts, alertEvent, deps);
    await handleNotifyMessage("orchestrator-alerts", pubsubMessage(message, "a-2"), alerts, alertEvent, deps);
    expect(web.hits).toHaveLength(1);
  });

  it("throws for a redelivery only when a target is still owed", async () => {
    const { deps } = rig([HOOK], secrets());
    web.script("/hook", { status: 503 }, { status: 503 }, { status: 503 });
    await expect(handleNotifyMessage("orchestrator-notifications", pubsubMessage(gateMessage()), notifications, notificationEvent, deps)).rejects.toThrow(
      /notification gate\.waiting:rollout-1\/production\.approval#1: 1 target\(s\) not delivered yet \(PAGER_WEBHOOK: HTTP 503\); Pub\/Sub redelivers/,
    );
  });
});
