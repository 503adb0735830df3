/**
 * The engine under failure, against the Firestore and Pub/Sub emulators: retries, trigger rules,
 * failure policies, approvals, external tasks, commands, duplicate and shuffled delivery, crashes
 * at every lifecycle step, and a wide fan-out/fan-in. Messages are delivered by a pump that plays
 * Pub/Sub (duplicates, shuffles, crashes) and runs the sweeper when nothing is left.
 */
import { prng } from "../support/prng";
import { PubSub, type Message } from "@google-cloud/pubsub";
import { ENGINE_TIMING, TOPICS } from "../../functions/src/config";
import { ensureTopic } from "../../functions/src/bus/publish";
import { applyCommand } from "../../functions/src/runtime/commands";
import { releaseDependent } from "../../functions/src/store/tasks";
import { sweepStalledTasks } from "../../functions/src/runtime/sweep";
import { applyExternalTaskEvent } from "../../functions/src/runtime/task-events";
import { PROJECT_ID, uniqueId, waitFor } from "../support/emulators";
import { db, deliverPlanCreated } from "../support/functions";
import { engineHarness } from "../support/engine-harness";
import { operator, RULES, verified } from "../support/principals";

const harness = engineHarness();

const plans = db.collection("plans");
const task = async (planId: string, id: string) => (await plans.doc(planId).collection("tasks").doc(id).get()).data()!;
const eventTypes = async (planId: string) => (await plans.doc(planId).collection("events").orderBy("at").get()).docs.map((d) => d.get("type") as string);

async function start(spec: Record<string, unknown>): Promise<string> {
  const planId = uniqueId("eng");
  await plans.doc(planId).set(spec);
  await deliverPlanCreated(planId);
  return planId;
}


// The hundred randomised crash runs take about a minute; ORCHESTRATOR_CRASH_RUNS=N runs more (or fewer).
const CRASH_RUNS = Number(process.env.ORCHESTRATOR_CRASH_RUNS ?? 100);
const fast = { maxAttempts: 3, initialBackoffSeconds: 0.01, backoffMultiplier: 2, maxBackoffSeconds: 1, jitter: 0 };

describe("delivery", () => {
  it("with every message delivered 2–5 times and shuffled, each effect happens once and the plan succeeds", async () => {
    const name = uniqueId("dup");
    const planId = await start({
      tasks: [
        { id: "a", run: "http", params: { url: harness.web.url(`ok/${name}-a`) } },
        { id: "b", run: "http", params: { url: harness.web.url(`ok/${name}-b`) }, needs: ["a"] },
        { id: "c", run: "http", params: { url: harness.web.url(`ok/${name}-c`) }, needs: ["a"] },
        { id: "d", run: "http", params: { url: harness.web.url(`ok/${name}-d`) }, needs: ["b", "c"] },
      ],
    });
    const status = await harness.pump.run(db, planId, { maxDeliveries: 5, shuffle: true, random: prng(7) });
    expect(status).toBe("succeeded");
    for (const t of ["a", "b", "c", "d"]) expect(harness.web.effectsOf(`${name}-${t}`)).toHaveLength(1);
  });

  it(`recovers from crashes injected at every lifecycle step, and never runs a task again after it succeeded (${CRASH_RUNS} randomised runs)`, async () => {
    const steps = ["after_claim", "after_execute", "after_complete", "before_publish"] as const;
    for (let seed = 1; seed <= CRASH_RUNS; seed++) {
      const random = prng(seed);
      const name = uniqueId(`crash${seed}`);
      // Every fourth run joins through a wide join (10 needs: arrivals counted in groups).
      const wide = seed % 4 === 0;
      const middle = wide ? Array.from({ length: 10 }, (_, i) => `m${i}`) : ["b", "c", "d"];
      const ids = ["a", ...middle, "e"];
      const planId = await start({
        // A worker that dies counts as a lost attempt: allow enough attempts for the injected deaths.
        tasks: ids.map((id, i) => ({ id, run: "http", params: { url: harness.web.url(`ok/${name}-${id}`) }, retry: { maxAttempts: 10 }, needs: i === 0 ? [] : id === "e" ? middle : ["a"] })),
      });
      const status = await harness.pump.run(db, planId, { maxDeliveries: 2, shuffle: true, random, crash: () => (random() < 0.3 ? steps[Math.floor(random() * steps.length)] : undefined) });
      expect({ seed, status }).toEqual({ seed, status: "succeeded" });
      for (const id of ids) {
        const doc = await task(planId, id);
        const after = harness.web.effectsOf(`${name}-${id}`).filter((e) => e.at > doc.finishedAt);
        expect({ seed, id, ranAfterSuccess: after.length }).toEqual({ seed, id, ranAfterSuccess: 0 });
        expect(harness.web.effectsOf(`${name}-${id}`).length).toBeGreaterThanOrEqual(1);
      }
    }
  }, 600_000);
});

describe("retries and timeouts", () => {
  it("retries a retryable failure with backoff until it succeeds", async () => {
    const name = uniqueId("flaky");
    const planId = await start({ tasks: [{ id: "call", run: "http", params: { url: harness.web.url(`flaky/${name}/2`) }, retry: fast }] });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    const doc = await task(planId, "call");
    expect(doc.attempt).toBe(3);
    expect(doc.history.map((h: { to: string }) => h.to)).toEqual(["ready", "running", "ready", "running", "ready", "running", "succeeded"]);
    expect((await eventTypes(planId)).filter((t) => t === "task.retrying")).toHaveLength(2);
  });

  it("does not retry a non-retryable failure", async () => {
    const planId = await start({ tasks: [{ id: "call", run: "http", params: { url: harness.web.url(`reject/${uniqueId("r")}`) }, retry: fast }] });
    expect(await harness.pump.run(db, planId)).toBe("failed");
    expect(await task(planId, "call")).toMatchObject({ status: "failed", attempt: 1, error: { code: "http_400", retryable: false } });
  });

  it("fails an attempt that passes its timeout", async () => {
    const planId = await start({ tasks: [{ id: "slow", run: "http", params: { url: harness.web.url(`slow/${uniqueId("s")}/3000`) }, timeoutSeconds: 0.3 }] });
    expect(await harness.pump.run(db, planId)).toBe("failed");
    expect((await task(planId, "slow")).error).toMatchObject({ code: "timeout" });
  });
});

describe("trigger rules and failure policies", () => {
  it("continue: runs what does not depend on the failure, skips what cannot run, runs failure handlers, ends failed", async () => {
    const planId = await start({
      failurePolicy: "continue",
      tasks: [
        { id: "bad", run: "http", params: { url: harness.web.url(`reject/${uniqueId("x")}`) } },
        { id: "after", run: "noop", needs: ["bad"] },
        { id: "afterAfter", run: "noop", needs: ["after"] },
        { id: "onFailure", run: "noop", needs: ["bad"], triggerRule: "one_failed" },
        { id: "cleanup", run: "noop", needs: ["bad", "independent"], triggerRule: "all_done" },
        { id: "independent", run: "noop" },
        { id: "safe", run: "noop", needs: ["after", "independent"], triggerRule: "none_failed" },
      ],
    });
    expect(await harness.pump.run(db, planId)).toBe("failed");
    const statuses = Object.fromEntries((await plans.doc(planId).collection("tasks").get()).docs.map((d) => [d.id, d.get("status")]));
    expect(statuses).toEqual({ bad: "failed", after: "skipped", afterAfter: "skipped", onFailure: "succeeded", cleanup: "succeeded", independent: "succeeded", safe: "succeeded" });
    expect((await plans.doc(planId).get()).get("failedTask")).toBe("bad");
  });

  it("applies every trigger rule to wide joins, which count arrivals by group: a failure decides at once where it can", async () => {
    const needs = Array.from({ length: 30 }, (_, i) => `n${i}`);
    const slow = (id: string) => (id === "n17" ? harness.web.url(`reject/${uniqueId("x")}`) : harness.web.url(`slow/${uniqueId(id)}/300`));
    const planId = await start({
      failurePolicy: "continue",
      tasks: [
        ...needs.map((id) => ({ id, run: "http", params: { url: slow(id) } })),
        { id: "allSuccess", run: "noop", needs },
        { id: "allDone", run: "noop", needs, triggerRule: "all_done" },
        { id: "oneFailed", run: "noop", needs, triggerRule: "one_failed" },
        { id: "noneFailed", run: "noop", needs, triggerRule: "none_failed" },
        { id: "afterSkip", run: "noop", needs: [...needs.slice(0, 9), "allSuccess"], triggerRule: "none_failed" },
      ],
    });
    expect(await harness.pump.run(db, planId)).toBe("failed");
    const tasks = Object.fromEntries((await plans.doc(planId).collection("tasks").get()).docs.map((d) => [d.id, d.data()]));
    expect(Object.fromEntries(["allSuccess", "allDone", "oneFailed", "noneFailed", "afterSkip"].map((id) => [id, tasks[id]!.status]))).toEqual({
      allSuccess: "skipped",
      allDone: "succeeded",
      oneFailed: "succeeded",
      noneFailed: "skipped",
      // none_failed runs after a skipped need; this join (10 needs) is wide too.
      afterSkip: "succeeded",
    });
    // The failure decided the joins it could decide without waiting for the slower needs.
    const lastNeedDone = Math.max(...needs.filter((id) => id !== "n17").map((id) => Number(tasks[id]!.finishedAt)));
    for (const id of ["allSuccess", "oneFailed", "noneFailed"]) expect(tasks[id]!.history.some((h: { cause: string }) => h.cause.includes("(after n17)") || h.cause.includes("(last: n17)"))).toBe(true);
    expect(Number(tasks.allDone!.readyAt)).toBeGreaterThanOrEqual(lastNeedDone);
  });

  it("rollback: compensates every succeeded task in reverse topological order, then ends rolled_back", async () => {
    const name = uniqueId("rb");
    const step = (id: string, needs: string[]) => ({ id, run: "noop", needs, compensate: { run: "http", params: { url: harness.web.url(`ok/${name}-undo-${id}`) } } });
    const planId = await start({
      failurePolicy: "rollback",
      tasks: [step("a", []), step("b1", ["a"]), step("b2", ["a"]), step("c", ["b1", "b2"]), { id: "boom", run: "http", params: { url: harness.web.url(`reject/${name}`) }, needs: ["c"] }, step("never", ["boom"])],
    });
    expect(await harness.pump.run(db, planId)).toBe("rolled_back");
    const undo = harness.web.effects.filter((e) => e.name.startsWith(`${name}-undo-`)).map((e) => e.name.slice(`${name}-undo-`.length));
    // One assertion on the whole order, so a failure prints all of it.
    expect({ undo, byLevel: [undo[0], undo.slice(1, 3).sort(), undo[3]] }).toEqual({ undo: expect.any(Array), byLevel: ["c", ["b1", "b2"], "a"] });
    expect(undo).toHaveLength(4);
    expect((await task(planId, "never")).status).toBe("cancelled");
    expect((await task(planId, "a")).status).toBe("compensated");
  });

  it("rollback with a failing compensation ends rollback_failed with the compensation error, not hiding the original failure", async () => {
    const name = uniqueId("rbf");
    const planId = await start({
      failurePolicy: "rollback",
      tasks: [
        { id: "a", run: "noop", compensate: { run: "http", params: { url: harness.web.url(`reject/${name}-undo`) } } },
        { id: "boom", run: "http", params: { url: harness.web.url(`reject/${name}`) }, needs: ["a"] },
      ],
    });
    expect(await harness.pump.run(db, planId)).toBe("rollback_failed");
    expect(await task(planId, "a")).toMatchObject({ status: "failed", compensationError: { code: "http_400" } });
    expect(await task(planId, "boom")).toMatchObject({ status: "failed", error: { code: "http_400" } });
    expect((await plans.doc(planId).get()).data()).toMatchObject({ failedTask: "boom", rollbackError: { taskId: "a" } });
  });
});

describe("approvals", () => {
  it("waits for an approver; a non-approver is refused and recorded; approval moves the plan on", async () => {
    const planId = await start({ approvers: ["ana@example.com"], tasks: [{ id: "gate", run: "approval" }, { id: "deploy", run: "noop", needs: ["gate"] }] });
    expect(await harness.pump.run(db, planId, { until: () => false, maxRounds: 25 }).catch(() => "waiting")).toBe("waiting");
    expect((await task(planId, "gate")).status).toBe("waiting_approval");
    expect(await applyCommand(db, { planId, command: "approve", taskId: "gate", by: "eve@example.com", commandId: uniqueId("c") }, verified("eve@example.com"), RULES)).toMatchObject({ applied: false });
    expect((await task(planId, "gate")).status).toBe("waiting_approval");
    expect(await applyCommand(db, { planId, command: "approve", taskId: "gate", by: "ana@example.com", reason: "ship it", commandId: uniqueId("c") }, verified("ana@example.com"), RULES)).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    const types = await eventTypes(planId);
    expect(types).toContain("command.refused");
    expect(types).toContain("task.approved");
    // The output is kept apart from the task, where only operators read it.
    expect((await task(planId, "gate")).output).toBeUndefined();
    expect((await plans.doc(planId).collection("outputs").doc("gate").get()).get("output")).toEqual({ approvedBy: ["ana@example.com"], reason: "ship it" });
  });

  it("a rejection fails the gate and, under policy stop, the plan", async () => {
    const planId = await start({ approvers: ["ana@example.com"], tasks: [{ id: "gate", run: "approval" }, { id: "deploy", run: "noop", needs: ["gate"] }] });
    await harness.pump.run(db, planId, { until: () => false, maxRounds: 25 }).catch(() => undefined);
    await applyCommand(db, { planId, command: "reject", taskId: "gate", by: "ana@example.com", reason: "freeze", commandId: uniqueId("c") }, verified("ana@example.com"), RULES);
    expect((await plans.doc(planId).get()).data()).toMatchObject({ status: "failed", failedTask: "gate" });
    expect((await task(planId, "deploy")).status).toBe("cancelled");
  });
});

describe("external tasks", () => {
  // Collects the task tokens the engine publishes on orchestrator-external-tasks, as another system would.
  const tokens: Array<{ planId: string; token: string; deadline: number }> = [];
  let sub: ReturnType<PubSub["subscription"]>;
  beforeAll(async () => {
    await ensureTopic(TOPICS.externalTasks);
    [sub] = await new PubSub({ projectId: PROJECT_ID }).topic(TOPICS.externalTasks).createSubscription(uniqueId("ext"));
    sub.on("message", (m: Message) => {
      tokens.push(JSON.parse(m.data.toString("utf8")));
      m.ack();
    });
  });
  afterAll(async () => {
    await sub.close();
    await sub.delete();
  });

  /**
   * Starts a plan, runs it until its external task waits, and returns the token it was given. The
   * pump runs a few rounds at a time, never idle long enough to sweep with its clock moved on
   * (which would pass these tests' deadlines before they get to them).
   */
  async function waitingExternal(spec: Record<string, unknown>): Promise<{ planId: string; token: string; deadline: number }> {
    const planId = await start(spec);
    return waitFor("the task token", async () => {
      await harness.pump.run(db, planId, { until: () => false, maxRounds: 6 }).catch(() => undefined);
      return tokens.find((t) => t.planId === planId);
    });
  }
  const refusals = async (planId: string) => (await plans.doc(planId).collection("events").get()).docs.filter((d) => d.get("type") === "task-event.refused");

  it("completes only with the right token; wrong and reused tokens are refused and recorded without the token", async () => {
    const { planId, token } = await waitingExternal({ tasks: [{ id: "wait", run: "external", params: { description: "deploy done?" } }, { id: "next", run: "noop", needs: ["wait"] }] });
    const stored = await task(planId, "wait");
    expect(stored.status).toBe("waiting_external");
    expect(JSON.stringify(stored)).not.toContain(token);

    const wrong = await applyExternalTaskEvent(db, { type: "completed", planId, taskId: "wait", token: "x".repeat(43), outcome: "succeeded" }, uniqueId("m"));
    expect(wrong).toEqual({ applied: false, reason: "wrong task token" });
    const right = await applyExternalTaskEvent(db, { type: "completed", planId, taskId: "wait", token, outcome: "succeeded", output: { build: 42 } }, uniqueId("m"));
    expect(right).toEqual({ applied: true, kind: "completed" });
    const reused = await applyExternalTaskEvent(db, { type: "completed", planId, taskId: "wait", token, outcome: "failed" }, uniqueId("m"));
    expect(reused.applied).toBe(false);
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect((await plans.doc(planId).collection("outputs").doc("wait").get()).get("output")).toEqual({ build: 42 });
    expect(await refusals(planId)).toHaveLength(2);
    const events = await plans.doc(planId).collection("events").get();
    expect(JSON.stringify(events.docs.map((d) => d.data()))).not.toContain(token);
  });

  it("refuses a completion that comes after the attempt's deadline, and the sweeper fails the attempt as timed out", async () => {
    const { planId, token, deadline } = await waitingExternal({ tasks: [{ id: "wait", run: "external", timeoutSeconds: 30 }] });
    const late = await applyExternalTaskEvent(db, { type: "completed", planId, taskId: "wait", token, outcome: "succeeded" }, uniqueId("m"), () => deadline + 1);
    expect(late).toEqual({ applied: false, reason: "task token expired" });
    expect((await task(planId, "wait")).status).toBe("waiting_external");
    await sweepStalledTasks(db, () => deadline + 1);
    expect(await task(planId, "wait")).toMatchObject({ status: "failed", error: { code: "timeout", message: "no answer within 30 s" } });
    expect((await plans.doc(planId).get()).get("status")).toBe("failed");
    expect(await refusals(planId)).toHaveLength(1);
  });

  it("heartbeats keep a long wait alive; a missed heartbeat fails the attempt, and its token no longer completes it", async () => {
    const { planId, token } = await waitingExternal({ tasks: [{ id: "wait", run: "external", timeoutSeconds: 3_600, params: { heartbeatSeconds: 60 } }] });
    const t0 = Date.now();
    const heartbeat = (at: number) => applyExternalTaskEvent(db, { type: "heartbeat", planId, taskId: "wait", token }, uniqueId("m"), () => at);
    expect(await heartbeat(t0 + 50_000)).toEqual({ applied: true, kind: "heartbeat" });
    // Without that heartbeat the wait would have failed at +60 s; now the next one is due at +110 s.
    await sweepStalledTasks(db, () => t0 + 100_000);
    expect((await task(planId, "wait")).status).toBe("waiting_external");
    await sweepStalledTasks(db, () => t0 + 115_000);
    expect(await task(planId, "wait")).toMatchObject({ status: "failed", error: { code: "timeout", message: "no heartbeat within 60 s" } });
    const late = await applyExternalTaskEvent(db, { type: "completed", planId, taskId: "wait", token, outcome: "succeeded" }, uniqueId("m"), () => t0 + 116_000);
    expect(late.applied).toBe(false);
    expect((await task(planId, "wait")).status).toBe("failed");
  });
});

describe("commands", () => {
  it("cancel stops a running plan: nothing new starts and the plan ends cancelled", async () => {
    const planId = await start({ approvers: ["ana@example.com"], tasks: [{ id: "gate", run: "approval" }, { id: "after", run: "noop", needs: ["gate"] }] });
    await harness.pump.run(db, planId, { until: () => false, maxRounds: 25 }).catch(() => undefined);
    expect(await applyCommand(db, { planId, command: "cancel", by: "ops@example.com", commandId: "cancel-1" }, operator(), RULES)).toMatchObject({ applied: true });
    expect(await applyCommand(db, { planId, command: "cancel", by: "ops@example.com", commandId: "cancel-1" }, operator(), RULES)).toMatchObject({ applied: false });
    expect((await plans.doc(planId).get()).get("status")).toBe("cancelled");
    expect((await task(planId, "gate")).status).toBe("cancelled");
    expect((await task(planId, "after")).status).toBe("cancelled");
  });

  it("retry redrives a failed plan from where it failed, keeping what succeeded", async () => {
    const name = uniqueId("redrive");
    const planId = await start({
      tasks: [
        { id: "a", run: "http", params: { url: harness.web.url(`ok/${name}-a`) } },
        { id: "b", run: "http", params: { url: harness.web.url(`flaky/${name}-b/1`) }, needs: ["a"] },
        { id: "c", run: "http", params: { url: harness.web.url(`ok/${name}-c`) }, needs: ["b"] },
      ],
    });
    expect(await harness.pump.run(db, planId)).toBe("failed");
    expect(await applyCommand(db, { planId, command: "retry", by: "ops@example.com", commandId: uniqueId("c") }, operator(), RULES)).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect(harness.web.effectsOf(`${name}-a`)).toHaveLength(1);
    expect(await task(planId, "b")).toMatchObject({ status: "succeeded", attempt: 2 });
  });

  it("retry through a wide join re-runs only the failed need: the join keeps the arrivals of those that succeeded", async () => {
    const name = uniqueId("widedrive");
    const needs = Array.from({ length: 12 }, (_, i) => `n${i}`);
    const planId = await start({
      tasks: [
        ...needs.map((id) => ({ id, run: "http", params: { url: harness.web.url(id === "n5" ? `flaky/${name}-${id}/1` : `ok/${name}-${id}`) } })),
        { id: "join", run: "http", params: { url: harness.web.url(`ok/${name}-join`) }, needs },
      ],
    });
    expect(await harness.pump.run(db, planId)).toBe("failed");
    // The failure stops the plan (policy `stop`): the join is cancelled with whatever had arrived.
    expect(await task(planId, "join")).toMatchObject({ status: "cancelled", fanIn: true });
    const succeeded = (await plans.doc(planId).collection("tasks").where("status", "==", "succeeded").get()).docs.map((d) => d.id).sort();
    expect(await applyCommand(db, { planId, command: "retry", by: "ops@example.com", commandId: uniqueId("c") }, operator(), RULES)).toMatchObject({ applied: true });
    // 12 needs arrive in 3 groups of 4: n5's group loses its outcome, and fills again when n5 arrives.
    const groups = plans.doc(planId).collection("tasks").doc("join").collection("arrivalGroups");
    const arrivals = await Promise.all([0, 1, 2].map((g) => groups.doc(String(g)).collection("arrivals").get()));
    expect(arrivals.flatMap((a) => a.docs.map((d) => d.id)).sort()).toEqual(succeeded);
    expect((await groups.doc("1").get()).exists).toBe(false);
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    for (const id of needs) expect(harness.web.effectsOf(`${name}-${id}`)).toHaveLength(1);
    expect(harness.web.effectsOf(`${name}-join`)).toHaveLength(1);
    expect(await task(planId, "n5")).toMatchObject({ status: "succeeded", attempt: 2 });
  });
});

describe("wide joins after a redrive", () => {
  // A redrive removes a group's failed arrival and its record while a late arrival of the failed run
  // may be writing that record from an older read: the record then claims a failure that is gone.
  async function joinWithStaleRecord(): Promise<{ planId: string; release: (need: string) => Promise<unknown>; group1: FirebaseFirestore.DocumentReference }> {
    const needs = Array.from({ length: 12 }, (_, i) => `n${i}`);
    const planId = await start({ tasks: [...needs.map((id) => ({ id, run: "approval", params: { approvers: ["nobody@example.com"] } })), { id: "join", run: "noop", needs }] });
    const edges = Object.fromEntries(await Promise.all(needs.map(async (id) => [id, (await task(planId, id)).wideDependents.join] as const)));
    const release = (need: string) => releaseDependent(db, planId, { id: "join", wide: edges[need] }, need, "succeeded", Date.now, ENGINE_TIMING);
    const group1 = plans.doc(planId).collection("tasks").doc("join").collection("arrivalGroups").doc("1");
    // 12 needs: groups of 4; n5 is in group 1, whose stale record says it failed.
    await group1.set({ count: 4, done: 4, succeeded: 3, failed: 1, at: 0 });
    return { planId, release, group1 };
  }

  it("a stale record does not decide: the join runs when the arrivals say every need succeeded", async () => {
    const { planId, release } = await joinWithStaleRecord();
    for (const need of ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10"]) await release(need);
    expect(await task(planId, "join")).toMatchObject({ status: "blocked" });
    expect(await release("n11")).toMatchObject({ became: "ready" });
  });

  it("a stale record of a group that is not full is dropped, and the group's last arrival decides", async () => {
    const { planId, release, group1 } = await joinWithStaleRecord();
    for (const need of ["n0", "n1", "n2", "n3", "n4", "n6", "n7", "n8", "n9", "n10", "n11"]) await release(need);
    expect(await task(planId, "join")).toMatchObject({ status: "blocked" });
    expect((await group1.get()).exists).toBe(false);
    expect(await release("n5")).toMatchObject({ became: "ready" });
    expect((await group1.get()).data()).toMatchObject({ done: 4, succeeded: 4, failed: 0 });
  });
});

describe("scale within Firestore's limits", () => {
  it("runs a 500-wide fan-out into a 500-need fan-in, the join counting arrivals instead of updating itself", async () => {
    const width = 500;
    const planId = await start({
      tasks: [
        { id: "root", run: "noop" },
        ...Array.from({ length: width }, (_, i) => ({ id: `w${i}`, run: "noop", needs: ["root"] })),
        { id: "join", run: "noop", needs: Array.from({ length: width }, (_, i) => `w${i}`) },
      ],
    });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    const join = await task(planId, "join");
    expect(join).toMatchObject({ status: "succeeded", fanIn: true, needsDone: {} });
    // Arrivals are counted in 22 groups of at most 23 (√500 rounded up), each group's outcome on its document.
    const groups = await plans.doc(planId).collection("tasks").doc("join").collection("arrivalGroups").get();
    expect(groups.size).toBe(22);
    expect(groups.docs.reduce((n, g) => n + Number(g.get("succeeded")), 0)).toBe(width);
    expect(groups.docs.find((g) => g.id === "21")!.data()).toMatchObject({ done: 500 - 21 * 23, succeeded: 500 - 21 * 23, failed: 0 });
  });
});

describe("environment locks", () => {
  const firebaseTask = (projectId: string) => ({
    id: `${projectId}.gate`,
    run: "approval",
  });
  // A plan touches an environment when a firebase task targets its project; an approval keeps it running.
  const planFor = (projectId: string) => ({
    approvers: ["ana@example.com"],
    tasks: [
      firebaseTask(projectId),
      { id: "verify", run: "firebase", params: { integration: "environment", action: "verify", environment: "dev", projectId, region: "us-central1", settings: { integrations: [] } }, needs: [`${projectId}.gate`] },
    ],
  });

  it("makes a second plan for the same environment wait, and starts it when the first ends", async () => {
    const projectId = `lock-${Math.random().toString(36).slice(2, 8)}`;
    const first = await start(planFor(projectId));
    expect((await db.collection("locks").doc(projectId).get()).get("owner")).toBe(first);
    const second = await start(planFor(projectId));
    const waiting = (await plans.doc(second).get()).data()!;
    expect(waiting).toMatchObject({ status: "waiting", waitingFor: { lock: projectId, plan: first } });
    expect((await plans.doc(second).collection("tasks").get()).size).toBe(0);

    await harness.pump.run(db, first, { until: () => false, maxRounds: 25 }).catch(() => undefined);
    await applyCommand(db, { planId: first, command: "cancel", by: "ops@example.com", commandId: uniqueId("c") }, operator(), RULES);
    expect((await plans.doc(second).get()).get("status")).toBe("running");
    expect((await db.collection("locks").doc(projectId).get()).get("owner")).toBe(second);
    await applyCommand(db, { planId: second, command: "cancel", by: "ops@example.com", commandId: uniqueId("c") }, operator(), RULES);
    expect((await db.collection("locks").doc(projectId).get()).exists).toBe(false);
  });

  it("frees a lock held by a run that died, through the sweeper, and starts the waiting plan", async () => {
    const projectId = `lock-${Math.random().toString(36).slice(2, 8)}`;
    await db.collection("locks").doc(projectId).set({ owner: "a-plan-that-vanished", expiresAt: Date.now() - 1, acquiredAt: Date.now() - 3_600_000, waiters: [] });
    const planId = uniqueId("eng");
    await plans.doc(planId).set(planFor(projectId));
    await db.collection("locks").doc(projectId).update({ expiresAt: Date.now() + 60_000 });
    await deliverPlanCreated(planId);
    expect((await plans.doc(planId).get()).get("status")).toBe("waiting");
    await sweepStalledTasks(db, () => Date.now() + 3_600_000);
    expect((await plans.doc(planId).get()).get("status")).toBe("running");
    expect((await db.collection("locks").doc(projectId).get()).get("owner")).toBe(planId);
    await applyCommand(db, { planId, command: "cancel", by: "ops@example.com", commandId: uniqueId("c") }, operator(), RULES);
  });
});
