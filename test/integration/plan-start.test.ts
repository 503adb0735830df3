/** The plan-created function, through firebase-functions-test against the Firestore and Pub/Sub emulators. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { captureTaskReady, db, deliverPlanCreated, testEnv } from "../support/functions";
import { uniqueId, waitFor } from "../support/emulators";
import { operator, RULES } from "../support/principals";
import { ENGINE_TIMING } from "../../functions/src/config";
import { initialTask } from "../../functions/src/engine/task";
import { applyCommand } from "../../functions/src/runtime/commands";
import { startPlan } from "../../functions/src/runtime/start-plan";
import { acquireLocks } from "../../functions/src/store/locks";
import { acquireStartLease, holdsStartLease } from "../../functions/src/store/plans";
import { writeStartTasks } from "../../functions/src/store/tasks";

afterAll(() => testEnv.cleanup());

const chain = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `t${i}`, run: "noop", needs: i === 0 ? [] : [`t${i - 1}`] }));

async function planState(planId: string) {
  const plan = (await db.collection("plans").doc(planId).get()).data()!;
  const tasks = await db.collection("plans").doc(planId).collection("tasks").get();
  const events = await db.collection("plans").doc(planId).collection("events").get();
  return { plan, tasks: new Map(tasks.docs.map((d) => [d.id, d.data()])), events: events.docs.map((d) => d.data()) };
}

describe("onPlanCreated", () => {
  it("validates, writes every task with its dependents, marks the plan running and publishes the tasks that need nothing", async () => {
    const capture = await captureTaskReady();
    const planId = uniqueId("diamond");
    await db.collection("plans").doc(planId).set({
      name: "diamond",
      tasks: [
        { id: "a", run: "noop" },
        { id: "b", run: "delay", params: { ms: 1 }, needs: ["a"] },
        { id: "c", run: "noop", needs: ["a"] },
        { id: "d", run: "noop", needs: ["b", "c"] },
        { id: "e", run: "noop" },
      ],
    });
    await deliverPlanCreated(planId);

    const { plan, tasks, events } = await planState(planId);
    expect(plan.status).toBe("running");
    expect(plan.compiled).toMatchObject({ form: "tasks", taskCount: 5, edgeCount: 4, levelCount: 3, rootCount: 2, sinkCount: 2 });
    expect(plan.name).toBe("diamond"); // the user's spec is left as written
    expect(Object.fromEntries([...tasks].map(([id, t]) => [id, t.status]))).toEqual({ a: "ready", b: "blocked", c: "blocked", d: "blocked", e: "ready" });
    expect(tasks.get("a")).toMatchObject({ dependents: ["b", "c"], needs: [], attempt: 1, level: 0, timeoutSeconds: 60 });
    expect(tasks.get("d")).toMatchObject({ needs: ["b", "c"], dependents: [], level: 2, needsDone: {} });
    // The history is a path of the plan's state machine: pending → planning → running.
    expect(events.map((e) => [e.type, e.data?.from, e.data?.to])).toEqual([
      ["plan.planning", "pending", "planning"],
      ["plan.started", "planning", "running"],
    ]);

    const published = await waitFor("2 task-ready messages", async () => {
      const mine = capture.messages().filter((m) => m.planId === planId);
      return mine.length >= 2 ? mine : undefined;
    });
    expect(published.sort((x, y) => x.taskId.localeCompare(y.taskId))).toEqual([
      { planId, taskId: "a", attempt: 1, phase: "run" },
      { planId, taskId: "e", attempt: 1, phase: "run" },
    ]);
    await capture.close();
  });

  it("marks a malformed plan invalid with the path of every bad field and writes nothing else", async () => {
    const planId = uniqueId("bad");
    await db.collection("plans").doc(planId).set({
      tasks: [
        { id: "a", run: "teleport" },
        { id: "b", run: "delay", params: { ms: -5 } },
        { id: "c", run: "noop", needs: ["nowhere"], colour: "red" },
      ],
      failurePolicy: "panic",
    });
    await deliverPlanCreated(planId);
    const { plan, tasks, events } = await planState(planId);
    expect(plan.status).toBe("invalid");
    const paths = (plan.errors as Array<{ path: string; message: string }>).map((e) => e.path).sort();
    expect(paths).toEqual(["failurePolicy", "tasks.0.run", "tasks.1.params.ms", "tasks.2"]);
    expect(tasks.size).toBe(0);
    expect(events).toEqual([]);
  });

  it("reports unknown needs and cycles as graph errors with paths", async () => {
    const planId = uniqueId("cycle");
    await db.collection("plans").doc(planId).set({
      tasks: [
        { id: "a", run: "noop", needs: ["c"] },
        { id: "b", run: "noop", needs: ["a"] },
        { id: "c", run: "noop", needs: ["b"] },
      ],
    });
    await deliverPlanCreated(planId);
    const { plan, tasks } = await planState(planId);
    expect(plan).toMatchObject({ status: "invalid", errors: [{ path: "tasks.0.needs", message: "dependency cycle: a → c → b → a (each task needs the next)" }] });
    expect(tasks.size).toBe(0);
  });

  it("starts once when the event is delivered several times, concurrently and later", async () => {
    const capture = await captureTaskReady();
    const planId = uniqueId("dup");
    await db.collection("plans").doc(planId).set({ tasks: chain(30) });
    await Promise.all([deliverPlanCreated(planId, "e1"), deliverPlanCreated(planId, "e2"), deliverPlanCreated(planId, "e3")]);
    await deliverPlanCreated(planId, "e4");
    const { plan, tasks, events } = await planState(planId);
    expect(plan.status).toBe("running");
    expect(tasks.size).toBe(30);
    expect(events.filter((e) => e.type === "plan.started")).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(capture.messages().filter((m) => m.planId === planId)).toEqual([{ planId, taskId: "t0", attempt: 1, phase: "run" }]);
    await capture.close();
  });

  it("writes a 1,200-task plan in batches that stay under Firestore's 500-writes-per-commit limit", async () => {
    const planId = uniqueId("big");
    await db.collection("plans").doc(planId).set({ tasks: chain(1200) });
    await deliverPlanCreated(planId);
    const count = await db.collection("plans").doc(planId).collection("tasks").count().get();
    expect(count.data().count).toBe(1200);
    expect((await db.collection("plans").doc(planId).get()).get("status")).toBe("running");
  });
});

describe("onPlanCreated with environment plans", () => {
  const langTrak = JSON.parse(readFileSync(join(__dirname, "../../examples/lang-trak.json"), "utf8"));

  it("stores the compiled report (chunked, readable back whole) and stops a dry run at `planned` with no tasks", async () => {
    const { compilePlan } = await import("../../functions/src/planner/compile");
    const { readPlanReport } = await import("../../functions/src/store/reports");
    const planId = uniqueId("dry");
    await db.collection("plans").doc(planId).set({ ...langTrak, dryRun: true });
    await deliverPlanCreated(planId);
    const { plan, tasks, events } = await planState(planId);
    expect(plan.status).toBe("planned");
    expect(tasks.size).toBe(0);
    expect(events.map((e) => e.type).sort()).toEqual(["plan.planned", "plan.planning"]);
    const compiled = compilePlan({ ...langTrak, dryRun: true });
    if (!compiled.ok) throw new Error("example must compile");
    expect(plan.compiled).toEqual(compiled.plan.summary);
    expect(await readPlanReport(db, planId)).toEqual(compiled.plan.report);
  });

  it("rejects a plan whose budget is too small, with the reason, and provisions nothing", async () => {
    const planId = uniqueId("poor");
    await db.collection("plans").doc(planId).set({ ...langTrak, constraints: { ...langTrak.constraints, budgetUsdPerMonth: 5 } });
    await deliverPlanCreated(planId);
    const { plan, tasks } = await planState(planId);
    expect(plan.status).toBe("rejected");
    expect(plan.compiled.rejectedReasons.join(" ")).toMatch(/budget/i);
    expect(tasks.size).toBe(0);
  });
});

describe("a start that lost its lease to a cancel", () => {
  const env = () => uniqueId("lostlease").toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20).padEnd(6, "x");
  const firebaseSpec = (projectId: string) => ({ id: "provision", run: "firebase", params: { integration: "environment", action: "verify", environment: "dev", projectId, region: "us-central1", settings: { integrations: [] } } });
  const taskOf = (planId: string, projectId: string) => initialTask({ planId, spec: { ...firebaseSpec(projectId), needs: [], timeoutSeconds: 60 }, dependents: [], level: 0, executorCompensates: true, now: Date.now(), timing: ENGINE_TIMING });
  const cancel = (planId: string) => applyCommand(db, { planId, command: "cancel", by: "ops@example.com", commandId: uniqueId("cancel") }, operator(), RULES);
  const lockOf = async (projectId: string) => (await db.collection("locks").doc(projectId).get()).data();

  it("takes no lock and writes no task once its lease is gone (start-writes-unfenced)", async () => {
    const projectId = env();
    const planId = uniqueId("lost");
    await db.collection("plans").doc(planId).set({ tasks: [firebaseSpec(projectId)] });
    expect(await acquireStartLease(db, planId, "start:slow", Date.now(), 120_000)).toMatchObject({ kind: "acquired" });
    expect(await cancel(planId)).toMatchObject({ applied: true });
    // The slow start goes on: each of its writes reads the plan in its own transaction, and refuses.
    expect(await acquireLocks(db, planId, [projectId], Date.now(), holdsStartLease("start:slow"))).toMatchObject({ kind: "refused" });
    expect(await lockOf(projectId)).toBeUndefined();
    expect(await writeStartTasks(db, planId, [taskOf(planId, projectId)], holdsStartLease("start:slow"))).toBe(false);
    const { plan, tasks } = await planState(planId);
    expect(plan).toMatchObject({ status: "cancelled", effectsPending: false });
    expect(tasks.size).toBe(0);
    // Run again whole by the same owner, it starts nothing: the plan is cancelled.
    expect(await startPlan(db, planId, plan, "start:slow")).toBe("skipped");
    expect((await planState(planId)).tasks.size).toBe(0);
  });

  it("that took its lock and wrote its tasks under its lease, then died, leaves nothing open and no lock once cancelled (start-writes-unfenced)", async () => {
    const projectId = env();
    const planId = uniqueId("died");
    await db.collection("plans").doc(planId).set({ tasks: [firebaseSpec(projectId)] });
    expect(await acquireStartLease(db, planId, "start:dies", Date.now(), 120_000)).toMatchObject({ kind: "acquired" });
    expect(await acquireLocks(db, planId, [projectId], Date.now(), holdsStartLease("start:dies"))).toEqual({ kind: "acquired" });
    expect(await writeStartTasks(db, planId, [taskOf(planId, projectId)], holdsStartLease("start:dies"))).toBe(true);
    // It dies here, before its begin. The cancel that comes next sees what it wrote: its effects
    // cancel the task and free the lock (taken before the cancel's transition).
    expect(await cancel(planId)).toMatchObject({ applied: true });
    const { plan, tasks } = await planState(planId);
    expect(plan).toMatchObject({ status: "cancelled", effectsPending: false });
    expect(tasks.get("provision")).toMatchObject({ status: "cancelled" });
    expect(await lockOf(projectId)).toBeUndefined();
  });
});

describe("a start that takes over from one that died", () => {
  it("runs with exactly the tasks it compiled: a task the dead start wrote that this compile lacks is deleted, so the plan ends", async () => {
    const planId = uniqueId("takeover");
    await db.collection("plans").doc(planId).set({ tasks: chain(2) });
    // The first start wrote a task its compile had (say, a gate the policy asked for then) and died.
    expect(await acquireStartLease(db, planId, "start:dies", Date.now(), 1)).toMatchObject({ kind: "acquired" });
    const leftover = initialTask({ planId, spec: { id: "policy-gate", run: "approval", params: {}, needs: [], timeoutSeconds: 60 }, dependents: [], level: 0, now: Date.now(), timing: ENGINE_TIMING });
    expect(await writeStartTasks(db, planId, [leftover], holdsStartLease("start:dies"))).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    // Another start takes over once the dead one's lease expired.
    const plan = (await db.collection("plans").doc(planId).get()).data()!;
    expect(await startPlan(db, planId, plan, "start:next")).toBe("started");
    const { plan: after, tasks } = await planState(planId);
    expect(after.status).toBe("running");
    expect([...tasks.keys()].sort()).toEqual(["t0", "t1"]);
  });
});
