/**
 * Concurrency limits on the engine (Firestore and Pub/Sub emulators): a plan's `maxParallel`, a
 * named pool shared by plans, priority among the tasks waiting for a slot, a pool that does not
 * exist, and crashes while a slot is held. What ran at once is read back from the tasks' own
 * start and finish times, and every effect is counted at the webhook.
 */
import { uniqueId, waitFor } from "../support/emulators";
import { db, deliverPlanCreated } from "../support/functions";
import { engineHarness } from "../support/engine-harness";
import { forgetPoolSizes } from "../../functions/src/store/pools";

const harness = engineHarness();
const plans = db.collection("plans");

interface Ran {
  id: string;
  status: string;
  startedAt: number | null;
  finishedAt: number | null;
  attempt: number;
}

async function tasksOf(planId: string): Promise<Ran[]> {
  const snap = await plans.doc(planId).collection("tasks").get();
  return snap.docs.map((d) => ({ id: d.id, ...(d.data() as Omit<Ran, "id">) }));
}

/**
 * The most calls the webhook was serving at one instant: a slot is taken after the claim and given
 * back after the completion, so the work (the call), not the task's claim-to-completion span, is what
 * a pool bounds.
 */
function mostAtOnce(ran: ReadonlyArray<{ startedAt: number; finishedAt: number }>): number {
  const edges = ran
    .flatMap((t) => [
      { at: t.startedAt!, step: 1 },
      { at: t.finishedAt!, step: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.step - b.step);
  let now = 0;
  let most = 0;
  for (const e of edges) {
    now += e.step;
    most = Math.max(most, now);
  }
  return most;
}

/** The webhook calls of a test, as spans (a `slow` call answers, and is recorded, `ms` after it arrives). */
const calls = (tag: string, ms: number) => harness.web.effects.filter((e) => e.name.startsWith(tag)).map((e) => ({ startedAt: e.at - ms, finishedAt: e.at }));

const slow = (tag: string, i: number, ms: number) => ({ url: harness.web.url(`slow/${tag}-${i}/${ms}`), method: "POST" });

async function start(spec: Record<string, unknown>, prefix = "pool"): Promise<string> {
  const planId = uniqueId(prefix);
  await plans.doc(planId).set(spec);
  await deliverPlanCreated(planId);
  return planId;
}

async function setPool(id: string, slots: number): Promise<void> {
  await db.collection("pools").doc(id).set({ slots, description: null });
  forgetPoolSizes();
}

/** What a pool holds once its work is done: a slot goes back to the pool when its process left it unused for SLOT_IDLE_MS. */
const leftovers = async (poolId: string) => {
  const slots = async () => (await db.collection("pools").doc(poolId).collection("slots").get()).size;
  await waitFor(`pool ${poolId}'s slots to go back`, async () => ((await slots()) === 0 ? true : undefined));
  return { slots: await slots(), waiters: (await db.collection("pools").doc(poolId).collection("waiters").get()).size };
};

describe("concurrency limits", () => {
  it("maxParallel: a 16-wide fan-out runs at most 3 at once, every task once, and leaves no slot or waiter behind", async () => {
    const tag = uniqueId("mp");
    const width = 16;
    const planId = await start({
      maxParallel: 3,
      tasks: [{ id: "root", run: "noop" }, ...Array.from({ length: width }, (_, i) => ({ id: `w${i}`, run: "http", params: slow(tag, i, 250), needs: ["root"] }))],
    });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    const ran = (await tasksOf(planId)).filter((t) => t.id.startsWith("w"));
    expect(ran.every((t) => t.status === "succeeded" && t.attempt === 1)).toBe(true);
    const most = mostAtOnce(calls(tag, 250));
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThanOrEqual(2);
    expect(harness.web.effects.filter((e) => e.name.startsWith(tag)).length).toBe(width);
    expect(await leftovers(`plan-${planId}`)).toEqual({ slots: 0, waiters: 0 });
    // The compiled plan says how it shares the orchestrator.
    expect((await plans.doc(planId).get()).get("compiled.controls")).toEqual({ maxParallel: 3, priority: 0, deadlineSeconds: null, pools: [], failurePolicy: "stop" });
  });

  it("a named pool bounds three plans together, and a higher priority plan's tasks go first", async () => {
    const pool = uniqueId("p").toLowerCase().replace(/[^a-z0-9-]/g, "-");
    await setPool(pool, 2);
    const ms = 400;
    const tag = uniqueId("np");
    const low = await start({ tasks: Array.from({ length: 8 }, (_, i) => ({ id: `l${i}`, run: "http", params: slow(tag, i, ms), pool })) }, "low");
    const other = await start({ tasks: Array.from({ length: 8 }, (_, i) => ({ id: `o${i}`, run: "http", params: slow(tag, 100 + i, ms), pool })) }, "other");
    // Delivering in the background: once the pool is busy, the urgent plan arrives.
    const urgent = uniqueId("urgent");
    const running = harness.pump.runAll(db, [low, other, urgent]);
    await waitFor("the pool to be busy", async () => ((await db.collection("pools").doc(pool).collection("slots").get()).size === 2 ? true : undefined));
    await plans.doc(urgent).set({ priority: 50, tasks: Array.from({ length: 3 }, (_, i) => ({ id: `u${i}`, run: "http", params: slow(tag, 200 + i, ms), pool })) });
    await deliverPlanCreated(urgent);
    const statuses = await running;
    for (const id of [low, other, urgent]) expect(`${id}: ${statuses.get(id)} ${JSON.stringify((await tasksOf(id)).filter((t) => t.status !== "succeeded"))}`).toBe(`${id}: succeeded []`);
    const all = [...(await tasksOf(low)), ...(await tasksOf(other)), ...(await tasksOf(urgent))];
    expect(mostAtOnce(calls(tag, ms))).toBeLessThanOrEqual(2);
    expect(harness.web.effects.filter((e) => e.name.startsWith(tag)).length).toBe(19);
    // The urgent tasks jumped the queue: each started before the last four of the plans there first.
    const urgentStarts = all.filter((t) => t.id.startsWith("u")).map((t) => t.startedAt!);
    const lastOthers = all.filter((t) => !t.id.startsWith("u")).map((t) => t.startedAt!).sort((a, b) => b - a);
    expect(Math.max(...urgentStarts)).toBeLessThan(lastOthers[3]!);
    expect(await leftovers(pool)).toEqual({ slots: 0, waiters: 0 });
  });

  it("a task naming a pool that does not exist fails, saying how to create it, without running", async () => {
    const tag = uniqueId("missing");
    const planId = await start({ tasks: [{ id: "t", run: "http", params: slow(tag, 0, 1), pool: "no-such-pool" }] });
    expect(await harness.pump.run(db, planId)).toBe("failed");
    const task = (await plans.doc(planId).collection("tasks").doc("t").get()).data()!;
    expect(task.error).toMatchObject({ code: "pool_missing", retryable: false });
    expect(String(task.error.message)).toContain("set-pool no-such-pool");
    expect(harness.web.effects.filter((e) => e.name.startsWith(tag))).toHaveLength(0);
  });

  it("crashes at every step while slots are held: the plan ends, at most one at a time ran, each effect once", async () => {
    const pool = uniqueId("c").toLowerCase().replace(/[^a-z0-9-]/g, "-");
    await setPool(pool, 1);
    const tag = uniqueId("crash");
    const planId = await start({
      tasks: Array.from({ length: 6 }, (_, i) => ({ id: `c${i}`, run: "http", params: slow(tag, i, 50), pool, retry: { maxAttempts: 5, initialBackoffSeconds: 1 } })),
    });
    const steps = ["after_claim", "after_execute", "after_complete", "before_publish", undefined, undefined] as const;
    let n = 0;
    const status = await harness.pump.run(db, planId, { crash: () => steps[n++ % steps.length], maxDeliveries: 2, shuffle: true });
    expect(status).toBe("succeeded");
    // A crash after the work ran loses the answer, not the effect: the webhook saw each key once.
    const keys = new Set(harness.web.effects.filter((e) => e.name.startsWith(tag)).map((e) => e.key));
    expect(keys.size).toBe(6);
    expect((await leftovers(pool)).waiters).toBe(0);
  });
});
