/** The task-ready function and the sweeper, through firebase-functions-test against the emulators. */
import * as deployed from "../../functions/src/index";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { sweepStalledTasks } from "../../functions/src/runtime/sweep";
import { captureTaskReady, db, deliverPlanCreated, deliverTaskReady, testEnv } from "../support/functions";
import { uniqueId } from "../support/emulators";

afterAll(() => testEnv.cleanup());

const plans = db.collection("plans");
const taskOf = async (planId: string, taskId: string) => (await plans.doc(planId).collection("tasks").doc(taskId).get()).data()!;

async function startPlan(tasks: unknown[]): Promise<string> {
  const planId = uniqueId("run");
  await plans.doc(planId).set({ tasks });
  await deliverPlanCreated(planId);
  return planId;
}

describe("onTaskReady", () => {
  it("deploys to serve many deliveries per instance, so their claims and completions can share commits", () => {
    expect(deployed.onTaskReady.__endpoint).toMatchObject({ concurrency: 80, cpu: 1, availableMemoryMb: 512, timeoutSeconds: 540 });
  });

  it("runs a task, records its transitions, releases its dependent and finishes the plan", async () => {
    const capture = await captureTaskReady();
    const planId = await startPlan([
      { id: "a", run: "noop" },
      { id: "b", run: "noop", needs: ["a"] },
    ]);
    await deliverTaskReady({ planId, taskId: "a", attempt: 1 });
    const a = await taskOf(planId, "a");
    expect(a).toMatchObject({ status: "succeeded", lease: null, sweepAt: null, error: null });
    expect(a.history.map((h: { to: string }) => h.to)).toEqual(["ready", "running", "succeeded"]);
    expect(await taskOf(planId, "b")).toMatchObject({ status: "ready", needsDone: { a: "succeeded" } });

    await deliverTaskReady({ planId, taskId: "b", attempt: 1 });
    const plan = (await plans.doc(planId).get()).data()!;
    expect(plan.status).toBe("succeeded");
    const events = await plans.doc(planId).collection("events").orderBy("at").get();
    expect(events.docs.map((d) => d.get("type"))).toEqual(["plan.planning", "plan.started", "task.succeeded", "task.succeeded", "plan.succeeded"]);
    await new Promise((r) => setTimeout(r, 300));
    expect(capture.messages().filter((m) => m.planId === planId).map((m) => m.taskId).sort()).toEqual(["a", "b"]);
    await capture.close();
  });

  it("treats duplicate and stale deliveries as no-ops: the executor's effect happens once", async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls += 1;
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const planId = await startPlan([{ id: "hook", run: "http", params: { url } }]);
    const msg = { planId, taskId: "hook", attempt: 1 };
    await Promise.all([deliverTaskReady(msg), deliverTaskReady(msg), deliverTaskReady(msg)]);
    await deliverTaskReady(msg);
    await deliverTaskReady({ ...msg, attempt: 7 });
    server.close();
    expect(calls).toBe(1);
    expect(await taskOf(planId, "hook")).toMatchObject({ status: "succeeded", attempt: 1 });
    expect((await plans.doc(planId).get()).get("status")).toBe("succeeded");
  });

  it("fails the plan at a failing task and cancels what had not started (policy stop)", async () => {
    const planId = await startPlan([
      { id: "bad", run: "http", params: { url: "http://127.0.0.1:9/unreachable" }, timeoutSeconds: 5 },
      { id: "after", run: "noop", needs: ["bad"] },
      { id: "other", run: "noop" },
    ]);
    await deliverTaskReady({ planId, taskId: "bad", attempt: 1 });
    const plan = (await plans.doc(planId).get()).data()!;
    expect(plan).toMatchObject({ status: "failed", failedTask: "bad" });
    expect(await taskOf(planId, "bad")).toMatchObject({ status: "failed", error: { code: "network", retryable: true } });
    expect((await taskOf(planId, "after")).status).toBe("cancelled");
    expect((await taskOf(planId, "other")).status).toBe("cancelled");
    // A late message for a cancelled task changes nothing.
    await deliverTaskReady({ planId, taskId: "other", attempt: 1 });
    expect((await taskOf(planId, "other")).status).toBe("cancelled");
  });

  it("acknowledges malformed and unknown messages, recording malformed ones as dead letters", async () => {
    await expect(deliverTaskReady("{not json", "poison-1")).resolves.toBeUndefined();
    await expect(deliverTaskReady({ planId: "x", taskId: "has/slash", attempt: 0 }, "poison-2")).resolves.toBeUndefined();
    await expect(deliverTaskReady({ planId: "no-such-plan", taskId: "t", attempt: 1 }, "unknown-1")).resolves.toBeUndefined();
    const poison1 = (await db.collection("deadLetters").doc("poison-1").get()).data()!;
    expect(poison1).toMatchObject({ source: "orchestrator-task-ready", reason: "malformed message", payload: "{not json" });
    const poison2 = (await db.collection("deadLetters").doc("poison-2").get()).data()!;
    expect(poison2.errors.map((e: { path: string }) => e.path).sort()).toEqual(["attempt", "taskId"]);
    expect((await db.collection("deadLetters").doc("unknown-1").get()).data()).toMatchObject({ reason: "unknown plan no-such-plan" });
  });

  it("refuses an external task's output over 256 KiB (it would not fit its task document) as a dead letter naming the field", async () => {
    const onTaskEvent = testEnv.wrap(deployed.onTaskEvent);
    const body = { planId: "any-plan", taskId: "t", token: "t".repeat(32), outcome: "succeeded", output: { blob: "y".repeat(300 * 1024) } };
    const data = Buffer.from(JSON.stringify(body)).toString("base64");
    await expect(onTaskEvent({ data: { message: { data, messageId: "big-output-1", attributes: {} }, subscription: "test" } })).resolves.toBeUndefined();
    const dead = (await db.collection("deadLetters").doc("big-output-1").get()).data()!;
    expect(dead.errors).toEqual([expect.objectContaining({ path: "output", message: expect.stringContaining("at most 262144") })]);
  });
});

describe("sweepStalledTasks", () => {
  it("re-publishes a ready task whose message was lost, and only once it is due", async () => {
    const capture = await captureTaskReady();
    const planId = await startPlan([{ id: "lost", run: "noop" }]);
    const sweepAt = (await taskOf(planId, "lost")).sweepAt as number;
    await sweepStalledTasks(db, () => sweepAt - 1);
    await new Promise((r) => setTimeout(r, 300));
    const before = capture.messages().filter((m) => m.planId === planId).length;
    await sweepStalledTasks(db, () => sweepAt + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(capture.messages().filter((m) => m.planId === planId).length).toBe(before + 1);
    expect((await taskOf(planId, "lost")).sweepAt).toBeGreaterThan(sweepAt);
    await capture.close();
  });

  it("takes back the lease of a dead worker as the next attempt, and the dead worker's completion is then stale", async () => {
    // A lost worker uses an attempt: the policy must allow another (maxAttempts 1 fails it: gates-and-reruns.test.ts).
    const planId = await startPlan([{ id: "t", run: "noop", timeoutSeconds: 1, retry: { maxAttempts: 2 } }]);
    // A worker claims, then "dies": simulate by claiming through the store and never completing.
    const { claimTask } = await import("../../functions/src/store/tasks");
    const { ENGINE_TIMING } = await import("../../functions/src/config");
    const claimed = await claimTask(db, { planId, taskId: "t", attempt: 1 }, "run", "dead-worker", Date.now(), ENGINE_TIMING);
    expect(claimed.kind).toBe("claimed");
    const lease = (await taskOf(planId, "t")).lease;
    await sweepStalledTasks(db, () => lease.expiresAt + 1);
    expect(await taskOf(planId, "t")).toMatchObject({ status: "ready", attempt: 2, lease: null });
    const { completeTask } = await import("../../functions/src/store/tasks");
    expect((await completeTask(db, { planId, taskId: "t", attempt: 1 }, "dead-worker", { ok: true }, { now: Date.now(), timing: ENGINE_TIMING, random: Math.random })).kind).toBe("skip");
    await deliverTaskReady({ planId, taskId: "t", attempt: 2 });
    expect(await taskOf(planId, "t")).toMatchObject({ status: "succeeded", attempt: 2 });
    expect((await plans.doc(planId).get()).get("status")).toBe("succeeded");
  });

  it("settles what a worker that died after completing left behind, once the plan is quiet, once", async () => {
    const capture = await captureTaskReady();
    const planId = await startPlan([
      { id: "a", run: "noop" },
      { id: "b", run: "noop", needs: ["a"] },
    ]);
    const { claimTask, completeTask } = await import("../../functions/src/store/tasks");
    const { ENGINE_TIMING } = await import("../../functions/src/config");
    // The worker completes `a` and dies before releasing `b`.
    await claimTask(db, { planId, taskId: "a", attempt: 1 }, "run", "dying-worker", Date.now(), ENGINE_TIMING);
    await completeTask(db, { planId, taskId: "a", attempt: 1 }, "dying-worker", { ok: true }, { now: Date.now(), timing: ENGINE_TIMING, random: Math.random });
    const a = await taskOf(planId, "a");
    expect(a).toMatchObject({ status: "succeeded", sweepAt: null });

    // Not quiet for long enough yet: nothing moves.
    await sweepStalledTasks(db, () => a.finishedAt + ENGINE_TIMING.redispatchAfterMs - 1);
    expect(await taskOf(planId, "b")).toMatchObject({ status: "blocked" });

    await sweepStalledTasks(db, () => a.finishedAt + ENGINE_TIMING.redispatchAfterMs + 1);
    const b = await taskOf(planId, "b");
    expect(b).toMatchObject({ status: "ready", needsDone: { a: "succeeded" } });
    expect((await plans.doc(planId).get()).get("stallCheckedUpTo")).toBe(a.finishedAt);
    await new Promise((r) => setTimeout(r, 300));
    expect(capture.messages().filter((m) => m.planId === planId && m.taskId === "b")).toHaveLength(1);

    // The same quiet spell is not checked twice.
    await sweepStalledTasks(db, () => a.finishedAt + 2 * ENGINE_TIMING.redispatchAfterMs);
    expect((await taskOf(planId, "b")).history).toEqual(b.history);

    await deliverTaskReady({ planId, taskId: "b", attempt: 1 });
    expect((await plans.doc(planId).get()).get("status")).toBe("succeeded");
    await capture.close();
  });
});
