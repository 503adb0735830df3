/**
 * Notifications end to end on the local stack: health runs (requested on Pub/Sub, run by the
 * deployed function) raise and then resolve an alert, and a plan's approval gate starts waiting;
 * the notifier functions post each event to the local receiver (local/notify-receiver.ts, on the
 * port the local stack wrote into functions/.secret.local), once per target, in each target's format.
 */
import { publishJson } from "../../functions/src/bus/publish";
import { TOPICS } from "../../functions/src/config";
import { deliveryId } from "../../functions/src/notify/deliveries";
import { HEALTH_COLLECTIONS, HEALTH_LOCK_ID } from "../../functions/src/store/health";
import { createDemoAccounts, idToken, type DemoAccount } from "../../local/demo-accounts";
import { startNotifyReceiver, type NotifyReceiver, type ReceivedNotification } from "../../local/notify-receiver";
import { followPlan } from "../../local/progress";
import { emulator } from "../../local/project";
import { testFirestore, uniqueId, waitFor } from "../support/emulators";

const db = testFirestore();
const statusPage = `http://${emulator("hosting").host}:${emulator("hosting").port}/`;
let receiver: NotifyReceiver;
let operator: DemoAccount;

beforeAll(async () => {
  receiver = await startNotifyReceiver();
  ({ operator } = await createDemoAccounts());
});
afterAll(() => receiver.stop());

/** What arrived for one event (named by the idempotency key every notification carries), by kind. */
const arrivedFor = (eventKey: string): ReceivedNotification[] => receiver.received.filter((n) => n.idempotencyKey === deliveryId(eventKey));

/** Waits for one notification of each kind for the event, then a little longer, so a second one would be seen. */
async function eachKindOnce(eventKey: string): Promise<Record<string, ReceivedNotification>> {
  await waitFor(`${eventKey} at the slack, chat and webhook receivers`, async () => (new Set(arrivedFor(eventKey).map((n) => n.kind)).size === 3 ? true : undefined), 60_000);
  await new Promise((r) => setTimeout(r, 3_000));
  const arrived = arrivedFor(eventKey);
  expect(arrived.map((n) => n.kind).sort()).toEqual(["chat", "slack", "webhook"]);
  return Object.fromEntries(arrived.map((n) => [n.kind, n]));
}

/** One health run through the deployed function, once no other run holds the lease; resolves when its report is written. */
async function healthRun(requestedBy: string): Promise<void> {
  const lease = db.collection(HEALTH_COLLECTIONS.locks).doc(HEALTH_LOCK_ID);
  await waitFor("the health-run lease to be free", async () => {
    const snap = await lease.get();
    return !snap.exists || Number(snap.get("expiresAt") ?? 0) < Date.now() ? true : undefined;
  }, 60_000);
  await publishJson(TOPICS.healthRuns, [{ requestedBy, reason: "notify e2e" }]);
  await waitFor(`the report of ${requestedBy}`, async () => ((await db.collection(HEALTH_COLLECTIONS.reports).where("requestedBy", "==", requestedBy).limit(1).get()).empty ? undefined : true), 60_000);
}

describe("notifications on the local stack", () => {
  it("announces an alert a health run raises, and its resolution, once to each target in its format", async () => {
    // An environment whose site nobody serves: its hosting check is down (404 from the local control plane).
    const envId = uniqueId("notify-e2e");
    await db.collection("environments").doc(envId).set({
      integrations: { hosting: { desired: null, observed: { site: { defaultUrl: `https://${envId}.web.app` } }, inSync: true, action: "provision", at: 1 } },
      updatedAt: 1,
    });
    // The alert opens after three failing runs in a row.
    for (let run = 1; run <= 3; run++) await healthRun(`${envId}-run-${run}`);
    const alert = await waitFor("the hosting alert to open", async () => {
      const snap = await db.collection(HEALTH_COLLECTIONS.alerts).where("key", "==", `check:${envId}/hosting/http`).where("status", "==", "open").get();
      return snap.docs[0]?.data() as { id: string; title: string; severity: string } | undefined;
    });

    const raised = await eachKindOnce(`alert.raised:${alert.id}`);
    expect(raised.slack!.type).toBe("alert.raised");
    expect(raised.slack!.body).toEqual({
      text: `🚨 [${alert.severity.toUpperCase()}] ${alert.title}`,
      blocks: [
        { type: "section", text: { type: "mrkdwn", text: expect.stringContaining(`<${statusPage}|Open the status page>`) } },
        { type: "context", elements: [{ type: "mrkdwn", text: expect.stringContaining(`alert.raised · `) }] },
      ],
    });
    expect(raised.chat!.body).toEqual({ text: expect.stringMatching(new RegExp(`^\\*🚨 \\[${alert.severity.toUpperCase()}\\] ${envId} hosting http check is down\\*\n`)) });
    expect(raised.webhook!.body).toMatchObject({
      type: "alert.raised",
      id: `alert.raised:${alert.id}`,
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      summary: alert.title,
      link: statusPage,
      alert: { id: alert.id, environmentId: envId, integration: "hosting", kind: "check", resolvedAt: null },
    });

    // Gone from the environments, the key counts as healthy: two runs later the alert resolves.
    await db.collection("environments").doc(envId).delete();
    for (let run = 4; run <= 5; run++) await healthRun(`${envId}-run-${run}`);
    const resolved = await eachKindOnce(`alert.resolved:${alert.id}`);
    expect(resolved.slack!.body).toMatchObject({ text: `✅ Resolved: ${alert.title}` });
    expect(resolved.chat!.body).toEqual({ text: expect.stringContaining(`*✅ Resolved: ${alert.title}*\nOpen for `) });
    expect(resolved.webhook!.body).toMatchObject({ type: "alert.resolved", alert: { id: alert.id, resolvedAt: expect.any(String) } });
    expect(arrivedFor(`alert.raised:${alert.id}`)).toHaveLength(3);

    const record = await db.collection("notifications").doc(deliveryId(`alert.raised:${alert.id}`)).get();
    expect(Object.values(record.get("targets") as Record<string, { status: string }>).map((t) => t.status)).toEqual(["delivered", "delivered", "delivered"]);
    expect(JSON.stringify(record.data())).not.toContain(String(receiver.url));
  }, 300_000);

  it("announces an approval gate that starts waiting, once to each target, linking to its plan", async () => {
    const planId = uniqueId("notify-gate");
    const name = `notify e2e ${planId}`;
    await db.collection("plans").doc(planId).set({ name, approvers: [operator.email], tasks: [{ id: "gate", run: "approval", params: { prompt: "Ship it?" } }, { id: "after", run: "noop", needs: ["gate"] }] });
    const outcome = followPlan(db, planId, { print: false, timeoutMs: 120_000 });

    const gate = await eachKindOnce(`gate.waiting:${planId}/gate#1`);
    const link = `${statusPage}?plan=${planId}`;
    expect(gate.slack!.body).toMatchObject({ text: `✋ ${name}: gate waits for approval`, blocks: [{ type: "section", text: { text: expect.stringContaining(`Ship it?\nNeeds 1 of ${operator.email} by `) } }, { type: "context" }] });
    expect((gate.slack!.body as { blocks: Array<{ text?: { text: string } }> }).blocks[0]!.text!.text).toContain(`<${link}|Open the plan>`);
    expect(gate.chat!.body).toEqual({ text: expect.stringContaining(`*✋ ${name}: gate waits for approval*\nShip it?\nNeeds 1 of ${operator.email} by `) });
    expect(gate.webhook!.body).toMatchObject({
      type: "gate.waiting",
      id: `gate.waiting:${planId}/gate#1`,
      link,
      gate: { planId, planName: name, taskId: "gate", attempt: 1, approvers: [operator.email], requiredApprovals: 1, prompt: "Ship it?", deadline: expect.any(String) },
    });

    await publishJson(TOPICS.planCommands, [{ planId, command: "approve", taskId: "gate", by: operator.email, credential: await idToken(operator), reason: "notify e2e" }]);
    expect(await outcome).toMatchObject({ status: "succeeded" });
    expect(arrivedFor(`gate.waiting:${planId}/gate#1`)).toHaveLength(3);
  }, 180_000);
});
