/**
 * Gates, external tokens, long delays and reruns against the Firestore and Pub/Sub emulators: a
 * gate claimed with a short lease and resumed by its own redelivery, an external task's token kept
 * in its outbox until it is published, a long delay that sleeps durably instead of in an
 * invocation, the idempotency key of a lost worker's rerun, and a lease expiry as a used attempt.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { PubSub, type Message } from "@google-cloud/pubsub";
import { ENGINE_TIMING, TOPICS } from "../../functions/src/config";
import { ensureTopic } from "../../functions/src/bus/publish";
import { GATE_CLAIM_LEASE_MS } from "../../functions/src/engine/task";
import { hashToken, runTask, type RunDeps } from "../../functions/src/runtime/run-task";
import { sweepStalledTasks } from "../../functions/src/runtime/sweep";
import { applyExternalTaskEvent } from "../../functions/src/runtime/task-events";
import { claimTask } from "../../functions/src/store/tasks";
import { PROJECT_ID, uniqueId, waitFor } from "../support/emulators";
import { captureTaskReady, db, deliverPlanCreated, deliverTaskReady, testEnv } from "../support/functions";

afterAll(() => testEnv.cleanup());

const plans = db.collection("plans");
const taskOf = async (planId: string, taskId: string) => (await plans.doc(planId).collection("tasks").doc(taskId).get()).data()!;
const outboxOf = async (planId: string, taskId: string) => (await plans.doc(planId).collection("outbox").doc(taskId).get()).data();
const crashAt = (at: Parameters<NonNullable<RunDeps["crashAt"]>>[0]): Partial<RunDeps> => ({
  crashAt: (step) => {
    if (step === at) throw new Error(`injected crash ${step}`);
  },
});

async function startPlan(tasks: unknown[], extra: Record<string, unknown> = {}): Promise<string> {
  const planId = uniqueId("gr");
  await plans.doc(planId).set({ ...extra, tasks });
  await deliverPlanCreated(planId);
  return planId;
}

describe("gates", () => {
  const gatePlan = () => startPlan([{ id: "gate", run: "approval" }, { id: "deploy", run: "noop", needs: ["gate"] }], { approvers: ["ana@example.com"] });

  it("claims a gate with a short lease, not one as long as its wait, and a redelivery of the same message resumes it into the wait", async () => {
    const planId = await gatePlan();
    const before = Date.now();
    await expect(runTask(db, { planId, taskId: "gate", attempt: 1, phase: "run" }, "run:m-gate", crashAt("after_claim"))).rejects.toThrow("injected crash");
    const claimed = await taskOf(planId, "gate");
    expect(claimed).toMatchObject({ status: "running", attempt: 1, lease: { owner: "run:m-gate" } });
    expect(claimed.lease.expiresAt).toBeLessThanOrEqual(Date.now() + GATE_CLAIM_LEASE_MS + ENGINE_TIMING.leaseMarginMs);
    expect(claimed.sweepAt).toBe(claimed.lease.expiresAt);

    // Pub/Sub delivers the same message again (the same message id: the same worker owner).
    await deliverTaskReady({ planId, taskId: "gate", attempt: 1 }, "m-gate");
    const waiting = await taskOf(planId, "gate");
    expect(waiting).toMatchObject({ status: "waiting_approval", attempt: 1, lease: null });
    expect(waiting.waiting.deadline).toBeGreaterThanOrEqual(before + 7 * 86_400_000);
    // Another message for it changes nothing.
    await deliverTaskReady({ planId, taskId: "gate", attempt: 1 }, "m-other");
    expect((await taskOf(planId, "gate")).history).toEqual(waiting.history);
  });

  it("has the sweeper dispatch a gate whose worker died before its wait again, after the short lease, as the same attempt", async () => {
    const capture = await captureTaskReady();
    const planId = await gatePlan();
    await expect(runTask(db, { planId, taskId: "gate", attempt: 1, phase: "run" }, "run:dead", crashAt("after_claim"))).rejects.toThrow("injected crash");
    const { lease } = await taskOf(planId, "gate");
    await sweepStalledTasks(db, () => lease.expiresAt - 1);
    expect((await taskOf(planId, "gate")).status).toBe("running");
    await sweepStalledTasks(db, () => lease.expiresAt + 1);
    expect(await taskOf(planId, "gate")).toMatchObject({ status: "ready", attempt: 1, lease: null });
    await waitFor("the gate's message", async () => capture.messages().find((m) => m.planId === planId && m.taskId === "gate"));
    await deliverTaskReady({ planId, taskId: "gate", attempt: 1 });
    expect(await taskOf(planId, "gate")).toMatchObject({ status: "waiting_approval", attempt: 1 });
    await capture.close();
  });
});

describe("external task tokens", () => {
  const published: Array<{ planId: string; taskId: string; attempt: number; token: string; deadline: number }> = [];
  let sub: ReturnType<PubSub["subscription"]>;
  beforeAll(async () => {
    await ensureTopic(TOPICS.externalTasks);
    [sub] = await new PubSub({ projectId: PROJECT_ID }).topic(TOPICS.externalTasks).createSubscription(uniqueId("ext-outbox"));
    sub.on("message", (m: Message) => {
      published.push(JSON.parse(m.data.toString("utf8")));
      m.ack();
    });
  });
  afterAll(async () => {
    await sub.close();
    await sub.delete();
  });
  const tokensOf = (planId: string) => published.filter((m) => m.planId === planId);

  it("publishes the token and marks it published, in the task and in its outbox", async () => {
    const planId = await startPlan([{ id: "ext", run: "external", timeoutSeconds: 3_600, params: { description: "deploy done?" } }]);
    expect(await runTask(db, { planId, taskId: "ext", attempt: 1, phase: "run" }, "run:ext-1")).toEqual({ kind: "waiting", status: "waiting_external" });
    const message = await waitFor("the token", async () => tokensOf(planId)[0]);
    expect(message).toMatchObject({ planId, taskId: "ext", attempt: 1, description: "deploy done?", heartbeatSeconds: null });
    const task = await taskOf(planId, "ext");
    expect(task.waiting).toMatchObject({ tokenHash: hashToken(message.token), tokenPublished: true, deadline: message.deadline });
    expect(task.sweepAt).toBe(message.deadline);
    expect(JSON.stringify(task)).not.toContain(message.token);
    expect(await outboxOf(planId, "ext")).toMatchObject({ token: message.token, attempt: 1, published: true });
  });

  it("keeps a token whose publish never happened in the outbox, and the sweeper publishes it again, the same token, which completes the task", async () => {
    const planId = await startPlan([{ id: "ext", run: "external", timeoutSeconds: 3_600 }, { id: "next", run: "noop", needs: ["ext"] }]);
    // The worker entered the wait, then died before publishing the token.
    await expect(runTask(db, { planId, taskId: "ext", attempt: 1, phase: "run" }, "run:ext-2", crashAt("before_publish"))).rejects.toThrow("injected crash");
    const waiting = await taskOf(planId, "ext");
    expect(waiting).toMatchObject({ status: "waiting_external", waiting: { tokenPublished: false } });
    expect(waiting.sweepAt).toBeLessThanOrEqual(Date.now() + ENGINE_TIMING.redispatchAfterMs);
    const outbox = (await outboxOf(planId, "ext"))!;
    expect(outbox).toMatchObject({ planId, taskId: "ext", attempt: 1, published: false, deadline: waiting.waiting.deadline });
    expect(hashToken(outbox.token)).toBe(waiting.waiting.tokenHash);
    await new Promise((r) => setTimeout(r, 300));
    expect(tokensOf(planId)).toHaveLength(0);

    await sweepStalledTasks(db, () => waiting.sweepAt - 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(tokensOf(planId)).toHaveLength(0);
    await sweepStalledTasks(db, () => waiting.sweepAt + 1);
    const message = await waitFor("the token, published again", async () => tokensOf(planId)[0]);
    expect(message).toMatchObject({ planId, taskId: "ext", attempt: 1, token: outbox.token, deadline: waiting.waiting.deadline });
    expect((await taskOf(planId, "ext")).waiting.tokenPublished).toBe(true);
    expect((await taskOf(planId, "ext")).sweepAt).toBe(waiting.waiting.deadline);
    expect(await outboxOf(planId, "ext")).toMatchObject({ published: true });
    // Marked: the next sweep publishes nothing more.
    await sweepStalledTasks(db, () => waiting.sweepAt + ENGINE_TIMING.redispatchAfterMs + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(tokensOf(planId)).toHaveLength(1);

    expect(await applyExternalTaskEvent(db, { type: "completed", planId, taskId: "ext", token: message.token, outcome: "succeeded" }, uniqueId("m"))).toEqual({ applied: true, kind: "completed" });
    expect(await taskOf(planId, "ext")).toMatchObject({ status: "succeeded" });
    expect((await taskOf(planId, "next")).status).toBe("ready");
  });
});

describe("long delays", () => {
  it("sleep durably: the worker returns at once, the sweeper dispatches the task at its wake-up, and that claim succeeds at once", async () => {
    const capture = await captureTaskReady();
    const hour = 3_600_000;
    const planId = await startPlan([{ id: "nap", run: "delay", params: { ms: hour } }, { id: "after", run: "noop", needs: ["nap"] }]);
    const msg = { planId, taskId: "nap", attempt: 1, phase: "run" as const };
    const t0 = Date.now();
    const slept = await runTask(db, msg, "run:nap-1");
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(slept).toMatchObject({ kind: "sleeping" });
    const sleeping = await taskOf(planId, "nap");
    const at = sleeping.delayUntil.at as number;
    expect(at).toBeGreaterThanOrEqual(t0 + hour);
    expect(sleeping).toMatchObject({ status: "ready", lease: null, attempt: 1, notBefore: at, sweepAt: at, delayUntil: { at, intent: 1 } });
    expect(sleeping.history.at(-1)).toMatchObject({ from: "ready", to: "ready", cause: expect.stringContaining(`sleeping until ${new Date(at).toISOString()}`) });

    // A redelivery does not extend it.
    expect(await runTask(db, msg, "run:nap-2")).toMatchObject({ kind: "skipped", reason: expect.stringContaining("sleeping until") });
    expect((await taskOf(planId, "nap")).delayUntil).toEqual({ at, intent: 1 });

    await sweepStalledTasks(db, () => at - 1);
    await new Promise((r) => setTimeout(r, 300));
    const before = capture.messages().filter((m) => m.planId === planId && m.taskId === "nap").length;
    await sweepStalledTasks(db, () => at + 1);
    await waitFor("the wake-up message", async () => (capture.messages().filter((m) => m.planId === planId && m.taskId === "nap").length > before ? true : undefined));

    const woke = Date.now();
    expect(await runTask(db, msg, "run:nap-3", { now: () => at + 2 })).toMatchObject({ kind: "finished", status: "succeeded" });
    expect(Date.now() - woke).toBeLessThan(5_000);
    const done = await taskOf(planId, "nap");
    expect(done).toMatchObject({ status: "succeeded", attempt: 1 });
    expect(done.history.map((h: { to: string }) => h.to)).toEqual(["ready", "ready", "running", "succeeded"]);
    expect((await taskOf(planId, "after")).status).toBe("ready");
    await capture.close();
  });
});

describe("reruns", () => {
  it("sends the same idempotency key when a lost worker's attempt runs again, and a new one for a retry after a reported failure", async () => {
    const keys: string[] = [];
    const answers = [200, 503, 200];
    const server = createServer((req, res) => {
      keys.push(String(req.headers["idempotency-key"]));
      res.statusCode = answers[keys.length - 1] ?? 200;
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const planId = await startPlan([{ id: "call", run: "http", params: { url }, retry: { maxAttempts: 3, initialBackoffSeconds: 0.01, jitter: 0 } }]);
      // Attempt 1 calls the far side, and its worker dies before recording the outcome.
      await expect(runTask(db, { planId, taskId: "call", attempt: 1, phase: "run" }, "run:c1", crashAt("after_execute"))).rejects.toThrow("injected crash");
      const { lease } = await taskOf(planId, "call");
      await sweepStalledTasks(db, () => lease.expiresAt + 1);
      expect(await taskOf(planId, "call")).toMatchObject({ status: "ready", attempt: 2, intent: { attempt: 2, since: 1 } });
      // Attempt 2 does it again (the far side can tell) and is told 503: a retry, a new intent.
      expect(await runTask(db, { planId, taskId: "call", attempt: 2, phase: "run" }, "run:c2", { sleep: async () => undefined })).toMatchObject({ status: "ready" });
      // The retry's 10 ms backoff passes before attempt 3 is delivered (the no-op sleep above did not wait it out).
      await new Promise((r) => setTimeout(r, 50));
      expect(await runTask(db, { planId, taskId: "call", attempt: 3, phase: "run" }, "run:c3")).toMatchObject({ kind: "finished", status: "succeeded" });
      expect(keys).toEqual([`${planId}/call/1`, `${planId}/call/1`, `${planId}/call/3`]);
    } finally {
      server.close();
    }
  });

  it("with maxAttempts 1, fails a task whose worker was lost (lease_expired) instead of running it again", async () => {
    const planId = await startPlan([{ id: "once", run: "noop", timeoutSeconds: 1 }, { id: "after", run: "noop", needs: ["once"] }]);
    expect((await claimTask(db, { planId, taskId: "once", attempt: 1 }, "run", "dead-worker", Date.now(), ENGINE_TIMING)).kind).toBe("claimed");
    const { lease } = await taskOf(planId, "once");
    await sweepStalledTasks(db, () => lease.expiresAt + 1);
    expect(await taskOf(planId, "once")).toMatchObject({ status: "failed", attempt: 1, lease: null, error: { code: "lease_expired", retryable: true } });
    await waitFor("the plan to fail", async () => ((await plans.doc(planId).get()).get("status") === "failed" ? true : undefined));
    expect((await taskOf(planId, "after")).status).toBe("cancelled");
  });
});
