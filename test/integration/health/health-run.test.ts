/**
 * Health runs end to end on the Firestore and Pub/Sub emulators (FIRESTORE_EMULATOR_HOST,
 * PUBSUB_EMULATOR_HOST from `npm test`), probing a local control plane: environments and plans
 * read from Firestore, reports, alerts, rollups and the lease written there, alert changes
 * published on `orchestrator-alerts`.
 */
import { PubSub, type Message } from "@google-cloud/pubsub";
import type { Firestore } from "firebase-admin/firestore";
import { startControlPlane, type ControlPlane } from "../../../local/control-plane";
import { TOPICS } from "../../../functions/src/config";
import { ensureTopic } from "../../../functions/src/bus/publish";
import { scheduledRunId } from "../../../functions/src/health/run";
import { alertSchema, healthReportSchema, type AlertMessage } from "../../../functions/src/schema/health";
import { HEALTH_COLLECTIONS, HEALTH_LOCK_ID } from "../../../functions/src/store/health";
import { handleHealthRunRequest, handleScheduledHealthRun, runHealth } from "../../../functions/src/triggers/health-run";
import { planContext, provisionInControlPlane } from "../../unit/health/support";
import { requireEmulators, testFirestore } from "../../support/emulators";

requireEmulators("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST");
const db: Firestore = testFirestore();
const PROD = "health-it-prod";
const DEV = "health-it-dev";
const PLAN = "health-it-plan";
const INTEGRATIONS = ["hosting", "functions", "database", "backup", "monitoring"];
const T0 = Date.parse("2026-11-25T12:00:00.000Z");

let cp: ControlPlane;
let saved: NodeJS.ProcessEnv;

async function deleteCollection(name: string): Promise<void> {
  const snap = await db.collection(name).get();
  await Promise.all(snap.docs.map((d) => d.ref.delete()));
}

async function seed(): Promise<void> {
  const prod = planContext(PROD, "production", INTEGRATIONS);
  const dev = planContext(DEV, "development", ["hosting"]);
  await db.collection("plans").doc(PLAN).set({ status: "succeeded", createdAt: Date.now() + 10_000_000, compiled: { form: "environments", outcome: "run" } });
  await db
    .collection("plans")
    .doc(PLAN)
    .collection("report")
    .doc("overview")
    .set({ effectiveSpec: { goals: prod.goals, constraints: prod.constraints, environments: [prod.environment, dev.environment], approvers: [] } });
  const state = (observed: unknown) => ({ desired: null, observed, drift: [], inSync: true, action: "provision", at: 1 });
  await db
    .collection("environments")
    .doc(PROD)
    .set({
      integrations: Object.fromEntries(INTEGRATIONS.map((i) => [i, state(i === "hosting" ? { site: { defaultUrl: `https://${PROD}.web.app` } } : {})])),
      updatedAt: 1,
    });
  // A document the health run cannot make sense of: reported, never fatal.
  await db.collection("environments").doc(DEV).set({ integrations: "not a map", updatedAt: 1 });
  provisionInControlPlane(cp, PROD, INTEGRATIONS);
}

beforeAll(async () => {
  cp = await startControlPlane();
  saved = { ...process.env };
  Object.assign(process.env, cp.env, cp.probeEnv, {
    ORCHESTRATOR_HEALTH_CHECK_TIMEOUT_MS: "2000",
    ORCHESTRATOR_HEALTH_SLOW_MS: "1000",
    ORCHESTRATOR_HEALTH_DRIFT: "off",
  });
  await ensureTopic(TOPICS.alerts);
});
afterAll(async () => {
  process.env = saved;
  await cp.stop();
});
beforeEach(async () => {
  cp.reset();
  await Promise.all(["environments", HEALTH_COLLECTIONS.reports, HEALTH_COLLECTIONS.alerts, HEALTH_COLLECTIONS.state, HEALTH_COLLECTIONS.probes].map(deleteCollection));
  await db.collection(HEALTH_COLLECTIONS.locks).doc("health-run").delete();
  await seed();
});

async function listenAlerts(): Promise<{ messages: AlertMessage[]; close(): Promise<void> }> {
  const pubsub = new PubSub();
  const [sub] = await pubsub.topic(TOPICS.alerts).createSubscription(`health-it-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`);
  const messages: AlertMessage[] = [];
  sub.on("message", (m: Message) => {
    messages.push(JSON.parse(m.data.toString("utf8")) as AlertMessage);
    m.ack();
  });
  return {
    messages,
    close: async () => {
      await sub.close();
      await sub.delete();
    },
  };
}

const tick = (i: number) => ({ scheduleTime: new Date(T0 + i * 300_000).toISOString(), jobName: "test" }) as Parameters<typeof handleScheduledHealthRun>[0];

describe("health runs on the emulators", () => {
  it("writes one valid report, environment health and rollups, and a Firestore probe; a broken environment is an entry, not a failure", async () => {
    await handleScheduledHealthRun(tick(0));
    const runId = scheduledRunId(T0);
    const report = healthReportSchema.parse((await db.collection("reports").doc(runId).get()).data());
    const prod = report.environments.find((e) => e.environmentId === PROD)!;
    expect(prod.checks.map((c) => `${c.integration}/${c.kind}=${c.status}`)).toEqual([
      "backup/scheduler=ok",
      "database/firestore=ok",
      "functions/http=ok",
      "hosting/http=ok",
      "monitoring/uptime=ok",
    ]);
    expect(prod.planId).toBe(PLAN);
    const dev = report.environments.find((e) => e.environmentId === DEV)!;
    expect(dev.configError).toContain(`environments/${DEV} is malformed`);
    expect(report.goals).toHaveLength(1);
    expect(report.goals[0]).toMatchObject({ goalId: "high_availability", environmentId: PROD, status: "met" });
    // Its availability SLO (implied by its uptime target): evaluated, and the series kept in its own document.
    expect(report.goals[0]!.slos).toEqual([expect.objectContaining({ key: "availability", objectivePercent: 99.9, sliPercent: 100, firing: null })]);
    expect((await db.collection("environments").doc(PROD).collection("slo").doc("availability").get()).get("series.coarseTotal")).toEqual([5]);

    const env = (await db.collection("environments").doc(PROD).get()).data()!;
    expect(env.health).toMatchObject({ status: "ok", availability: "up", runId });
    expect(Object.values(env.uptimeDays as Record<string, { samples: number; upMinutes: number }>)).toEqual([expect.objectContaining({ samples: 1, upMinutes: 5 })]);
    expect(env.integrations.hosting.action).toBe("provision"); // the executors' fields are left alone
    expect((await db.collection(HEALTH_COLLECTIONS.probes).doc(PROD).get()).exists).toBe(true);
    expect((await db.collection("locks").doc("health-run").get()).exists).toBe(false);

    // The same tick delivered again writes nothing.
    await handleScheduledHealthRun(tick(0));
    expect((await db.collection("reports").get()).size).toBe(1);
    expect((await db.collection("environments").doc(PROD).get()).get("health.checkedAt")).toBe(env.health.checkedAt);
  });

  it("opens an alert once after 3 failing runs, publishes it, and resolves it once after 2 healthy runs", async () => {
    const listener = await listenAlerts();
    try {
      cp.chaos({ environment: PROD, integration: "hosting", mode: "down" });
      for (let i = 1; i <= 4; i++) await handleScheduledHealthRun(tick(i));
      let alerts = (await db.collection("alerts").where("key", "==", `check:${PROD}/hosting/http`).get()).docs.map((d) => alertSchema.parse(d.data()));
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ status: "open", severity: "critical", openedAfterFailures: 3 });

      cp.chaos({ environment: PROD, integration: "hosting", mode: "up" });
      for (let i = 5; i <= 7; i++) await handleScheduledHealthRun(tick(i));
      alerts = (await db.collection("alerts").where("key", "==", `check:${PROD}/hosting/http`).get()).docs.map((d) => alertSchema.parse(d.data()));
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ status: "resolved", resolvedByRun: scheduledRunId(T0 + 6 * 300_000) });

      await new Promise((r) => setTimeout(r, 500));
      const hosting = listener.messages.filter((m) => m.alert.key === `check:${PROD}/hosting/http`).map((m) => m.type);
      expect(hosting).toEqual(["opened", "resolved"]);
    } finally {
      await listener.close();
    }
  });

  it("skips a run that overlaps a live run's lease, and runs once the lease has expired", async () => {
    // A run that is still going holds the lease (written as it would leave it mid-run).
    const lease = db.collection(HEALTH_COLLECTIONS.locks).doc(HEALTH_LOCK_ID);
    await lease.set({ owner: "it-overlap-a", expiresAt: Date.now() + 60_000, acquiredAt: Date.now() });
    const reportsBefore = (await db.collection("reports").get()).size;
    const overlapping = await runHealth({ runId: "it-overlap-b", trigger: "request", requestedBy: "b" });
    expect(overlapping.kind).toBe("skipped");
    expect((await db.collection("reports").get()).size).toBe(reportsBefore);
    // The first run died without releasing: once its lease expires the next run goes ahead.
    await lease.set({ owner: "it-overlap-a", expiresAt: Date.now() - 1, acquiredAt: Date.now() - 60_000 });
    const next = await runHealth({ runId: "it-overlap-c", trigger: "request", requestedBy: "c" });
    expect(next.kind).toBe("done");
    expect((await db.collection("reports").get()).size).toBe(reportsBefore + 1);
  });

  it("prunes reports past retention; a malformed request is recorded as a dead letter", async () => {
    await db.collection("reports").doc("ancient").set({ runId: "ancient", startedAt: Date.now() - 30 * 86_400_000 });
    const outcome = await runHealth({ runId: "it-prune", trigger: "request", requestedBy: "test" });
    expect(outcome).toMatchObject({ kind: "done", pruned: 1 });
    expect((await db.collection("reports").doc("ancient").get()).exists).toBe(false);

    const messageId = `bad-${Date.now()}`;
    await handleHealthRunRequest({ data: { message: { data: Buffer.from('{"nope":1}').toString("base64"), messageId, publishTime: new Date().toISOString() } } } as unknown as Parameters<typeof handleHealthRunRequest>[0]);
    expect((await db.collection("deadLetters").doc(messageId).get()).get("source")).toBe(TOPICS.healthRuns);
  });
});
