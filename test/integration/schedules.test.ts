/**
 * Schedules on the Firestore and Pub/Sub emulators: the firing pass (fireSchedules, the core of the
 * scheduled function) driven with its own clock across ticks, each tick's run started through the
 * plan trigger and run by the engine. Each overlap policy against a run waiting at an approval
 * gate, re-fires and a concurrent duplicate pass that create nothing, a backfill done twice, a
 * pause, and the API's schedule handlers.
 */
import type { Principal } from "../../functions/src/api/auth";
import type { ApiContext } from "../../functions/src/api/context";
import { backfill, listSchedules, pauseSchedule, removeSchedule, setSchedule } from "../../functions/src/api/schedules";
import { applyCommand } from "../../functions/src/runtime/commands";
import { runIdOf } from "../../functions/src/schedules/fire";
import { backfillSchedule, deleteSchedule, fireSchedule, fireSchedules, saveSchedule, setSchedulePaused, type ScheduleFiring } from "../../functions/src/schedules/store";
import { scheduleSpecSchema, type ScheduleState } from "../../functions/src/schema/schedule";
import { uniqueId } from "../support/emulators";
import { db, deliverPlanCreated } from "../support/functions";
import { engineHarness } from "../support/engine-harness";
import { operator, RULES } from "../support/principals";

const harness = engineHarness();

const MIN = 60_000;
const plans = db.collection("plans");
const schedules = db.collection("schedules");
/** The operator who writes the schedules; runs are attributed to them (so they may not approve them). */
const AUTHOR = { uid: "uid-scheduler", email: "scheduler@example.com", name: "scheduler@example.com" };
/** A run that stays open until its gate is approved (by an operator who is not the schedule's author). */
const GATE_PLAN = { tasks: [{ id: "gate", run: "approval" }, { id: "after", run: "noop", needs: ["gate"] }] };
const NOOP_PLAN = { tasks: [{ id: "only", run: "noop" }] };

/** Ticks an hour ago, whole minutes: the passes run on this clock, the engine on its own. */
const T0 = Math.floor(Date.now() / MIN) * MIN - 60 * MIN;
const tick = (n: number): number => T0 + n * MIN;

const created: string[] = [];
afterEach(async () => {
  // fireSchedules looks at every schedule: the next test's passes must not fire this one's.
  for (const id of created.splice(0)) await deleteSchedule(db, id);
});

async function newSchedule(spec: Record<string, unknown>): Promise<string> {
  const id = uniqueId("sch").replace(/[^A-Za-z0-9_-]/g, "-");
  created.push(id);
  // Written half a minute before the first tick: tick 0 is its first.
  await saveSchedule(db, id, scheduleSpecSchema.parse({ cron: "* * * * *", plan: GATE_PLAN, ...spec }), AUTHOR, tick(0) - 30_000);
  return id;
}

/** One firing pass at `now`; the runs it started are handed to the plan trigger, as Firestore would. */
async function fireAt(scheduleId: string, now: number): Promise<ScheduleFiring> {
  const summary = await fireSchedules(db, now);
  const firing = summary.firings.find((f) => f.scheduleId === scheduleId)!;
  expect(firing.outcome).not.toBe("failed");
  for (const planId of firing.started) await deliverPlanCreated(planId);
  return firing;
}

const planDoc = async (id: string) => (await plans.doc(id).get()).data();
const stateOf = async (id: string) => (await schedules.doc(id).get()).data() as ScheduleState & Record<string, unknown>;
const runsOf = async (id: string) => (await plans.where("labels.schedule", "==", id).get()).docs.map((d) => d.id).sort();

/** Delivers the run's messages until its gate waits for approval. */
async function untilGateWaits(planId: string): Promise<void> {
  const gateWaits = async () => ((await plans.doc(planId).collection("tasks").doc("gate").get()).get("status") === "waiting_approval" ? "gate" : "running");
  expect(await harness.pump.run(db, planId, { readStatus: gateWaits, until: (s) => s === "gate" })).toBe("gate");
}

async function approveAndFinish(planId: string): Promise<void> {
  expect(await applyCommand(db, { planId, command: "approve", taskId: "gate", by: "ops@example.com", commandId: uniqueId("approve") }, operator(), RULES)).toMatchObject({ applied: true });
  expect(await harness.pump.run(db, planId)).toBe("succeeded");
}

describe("a schedule firing on ticks", () => {
  it("allow_all: one plan per tick with its deterministic id, open at once; re-fires and a duplicate pass create nothing", async () => {
    const id = await newSchedule({ overlap: "allow_all" });
    for (const n of [0, 1, 2]) expect((await fireAt(id, tick(n) + 2_000)).started).toEqual([runIdOf(id, tick(n))]);
    const ids = [0, 1, 2].map((n) => runIdOf(id, tick(n)));
    expect(await runsOf(id)).toEqual(ids);
    expect(ids[0]).toMatch(new RegExp(`^${id}--\\d{8}T\\d{4}Z$`));
    for (const planId of ids) await untilGateWaits(planId);
    for (const planId of ids) expect(await planDoc(planId)).toMatchObject({ status: "running", labels: { schedule: id }, createdBy: { uid: AUTHOR.uid, email: AUTHOR.email } });
    expect((await planDoc(ids[1]!))!.labels.tick).toBe(new Date(tick(1)).toISOString().replace(".000Z", "Z"));
    expect((await plans.doc(ids[0]!).collection("events").doc("plan.submitted").get()).data()).toMatchObject({ actor: `schedule ${id}`, type: "plan.submitted" });

    // The same pass again, a pass on a clock behind, and two passes at once for the next tick.
    expect((await fireAt(id, tick(2) + 5_000)).started).toEqual([]);
    expect((await fireAt(id, tick(1) + 5_000)).started).toEqual([]);
    const both = await Promise.all([fireSchedule(db, id, tick(3) + 1_000), fireSchedule(db, id, tick(3) + 1_500)]);
    expect(both.flatMap((f) => f.started)).toEqual([runIdOf(id, tick(3))]);
    expect(await runsOf(id)).toEqual([...ids, runIdOf(id, tick(3))]);
    const state = await stateOf(id);
    expect(state.lastTick).toBe(tick(3));
    expect(state.recent.map((r) => [r.tick, r.outcome, r.planId])).toEqual([0, 1, 2, 3].map((n) => [tick(n), "started", runIdOf(id, tick(n))]));
    expect(state.open.map((r) => r.planId)).toEqual([...ids, runIdOf(id, tick(3))]);

    for (const planId of [...ids, runIdOf(id, tick(3))]) await applyCommand(db, { planId, command: "cancel", by: "ops@example.com", commandId: uniqueId("c") }, operator(), RULES);
    await fireAt(id, tick(3) + 30_000);
    expect((await stateOf(id)).open).toEqual([]);
  });

  it("skip: the second tick is skipped while the first run waits at its gate; the third starts once it has ended", async () => {
    const id = await newSchedule({ overlap: "skip" });
    const first = runIdOf(id, tick(0));
    expect((await fireAt(id, tick(0) + 1_000)).started).toEqual([first]);
    await untilGateWaits(first);
    const second = await fireAt(id, tick(1) + 1_000);
    expect(second.started).toEqual([]);
    expect(second.records).toEqual([expect.objectContaining({ tick: tick(1), outcome: "skipped", why: `run ${first} (running) is still open (overlap policy skip)` })]);
    await approveAndFinish(first);
    expect((await fireAt(id, tick(2) + 1_000)).started).toEqual([runIdOf(id, tick(2))]);
    expect(await runsOf(id)).toEqual([first, runIdOf(id, tick(2))]);
    expect(await planDoc(runIdOf(id, tick(1)))).toBeUndefined();
  });

  it("buffer_one: the second tick waits for the first run and starts when it ends; the third, while one is buffered, is skipped", async () => {
    const id = await newSchedule({ overlap: "buffer_one" });
    const [first, buffered] = [runIdOf(id, tick(0)), runIdOf(id, tick(1))];
    await fireAt(id, tick(0) + 1_000);
    await untilGateWaits(first);
    expect((await fireAt(id, tick(1) + 1_000)).records).toEqual([expect.objectContaining({ outcome: "buffered", planId: buffered })]);
    expect((await fireAt(id, tick(2) + 1_000)).records).toEqual([expect.objectContaining({ outcome: "skipped", why: expect.stringContaining("is already buffered") })]);
    expect(await planDoc(buffered)).toBeUndefined();
    expect((await stateOf(id)).buffered).toBe(tick(1));

    await approveAndFinish(first);
    const next = await fireAt(id, tick(2) + 30_000);
    expect(next.started).toEqual([buffered]);
    expect((await stateOf(id)).buffered).toBeNull();
    await untilGateWaits(buffered);
    expect(await runsOf(id)).toEqual([first, buffered]);
  });

  it("cancel_other: the next tick's run starts and the first run ends cancelled, by the schedule", async () => {
    const id = await newSchedule({ overlap: "cancel_other" });
    const [first, second] = [runIdOf(id, tick(0)), runIdOf(id, tick(1))];
    await fireAt(id, tick(0) + 1_000);
    await untilGateWaits(first);
    const firing = await fireAt(id, tick(1) + 1_000);
    expect(firing.started).toEqual([second]);
    expect(firing.records).toEqual([expect.objectContaining({ outcome: "started", planId: second, cancelled: [first] })]);
    expect(firing.cancels).toEqual([{ planId: first, applied: true, message: "plan cancelled" }]);
    expect(await harness.pump.run(db, first)).toBe("cancelled");
    const cancelledBy = (await plans.doc(first).collection("events").get()).docs.map((d) => d.data()).find((e) => e.type === "plan.cancelled");
    expect(cancelledBy).toMatchObject({ actor: `schedule ${id}` });
    // The next pass sees it ended and asks for nothing more.
    expect((await fireAt(id, tick(1) + 30_000)).cancels).toEqual([]);
    expect((await stateOf(id)).open.map((r) => r.planId)).toEqual([second]);
    await untilGateWaits(second);
  });

  it("backfill: every tick of the range starts once, a second backfill creates nothing, and the firing pass finds a backfilled tick's run there", async () => {
    const id = await newSchedule({ overlap: "skip", plan: NOOP_PLAN });
    const range = [-5, -4, -3, -2, -1, 0].map((n) => runIdOf(id, tick(n)));
    const done = await backfillSchedule(db, id, tick(-5), tick(0) + 1, tick(0) + 10_000);
    expect(done).toEqual({ ok: true, started: range, existing: [], skipped: [] });
    for (const planId of range) {
      await deliverPlanCreated(planId);
      expect(await harness.pump.run(db, planId)).toBe("succeeded");
    }
    expect(await backfillSchedule(db, id, tick(-5), tick(0) + 1, tick(0) + 20_000)).toEqual({ ok: true, started: [], existing: range, skipped: [] });
    // The schedule's own tick 0 was backfilled: recorded, not started again.
    const firing = await fireAt(id, tick(0) + 30_000);
    expect(firing.started).toEqual([]);
    expect(firing.records).toEqual([expect.objectContaining({ tick: tick(0), outcome: "started", planId: range.at(-1), why: expect.stringContaining("already there") })]);
    expect(await runsOf(id)).toEqual(range);
    expect(await backfillSchedule(db, id, tick(-200), tick(0), tick(0))).toMatchObject({ ok: false, status: 400, errors: [{ path: "from" }] });
    expect(await backfillSchedule(db, "no-such-schedule", tick(-5), tick(0), tick(0))).toMatchObject({ ok: false, status: 404 });
  });

  it("pause: nothing fires while paused; resumed, ticks beyond the catch-up window stay missed", async () => {
    const id = await newSchedule({ overlap: "allow_all", plan: NOOP_PLAN, catchupWindowMinutes: 2 });
    await fireAt(id, tick(0) + 1_000);
    expect(await setSchedulePaused(db, id, true, "ops@example.com", tick(0) + 2_000)).toMatchObject({ ok: true, changed: true });
    for (const n of [1, 2, 5]) expect(await fireAt(id, tick(n) + 1_000)).toMatchObject({ started: [], records: [] });
    expect(await setSchedulePaused(db, id, false, "ops@example.com", tick(10))).toMatchObject({ ok: true, changed: true });
    const resumed = await fireAt(id, tick(10) + 1_000);
    // At 14:10:01 with a 2-minute window: ticks 1 to 8 are missed, 9 and 10 fire.
    expect(resumed.started).toEqual([runIdOf(id, tick(9)), runIdOf(id, tick(10))]);
    expect(resumed.records[0]).toMatchObject({ tick: tick(1), outcome: "skipped", missed: 8 });
    expect(await runsOf(id)).toEqual([0, 9, 10].map((n) => runIdOf(id, tick(n))));
    for (const planId of await runsOf(id)) expect(await harness.pump.run(db, planId)).toBe("succeeded");
  });
});

describe("the API's schedule handlers", () => {
  const principal: Principal = Object.defineProperty({ uid: "uid-op", email: "op@example.com", emailVerified: true, role: "operator" as const, groups: [] as string[], idToken: "" }, "idToken", { value: "token", enumerable: false });
  const ctx = (now: number): ApiContext => ({
    db,
    verifyIdToken: async () => ({ uid: "x" }),
    publish: async () => undefined,
    now: () => now,
    newId: () => uniqueId("id"),
    publicStatus: true,
    web: { projectId: "demo-orchestrator", apiKey: "k", authDomain: "d", emulators: {} },
  });
  const post = (body: unknown) => ({ method: "POST", path: "/schedules", query: {}, body });

  it("set, list, pause, resume, backfill and delete a schedule; 400s name the field", async () => {
    const id = uniqueId("api").replace(/[^A-Za-z0-9_-]/g, "-");
    created.push(id);
    const bad = await setSchedule(ctx(tick(0)), principal, post({ id, cron: "0 25 * * *", timeZone: "Nowhere/Else", plan: { tasks: [{ id: "a", run: "teleport" }] } }));
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { errors: Array<{ path: string }> } }).error.errors.map((e) => e.path)).toEqual(["cron", "timeZone"]);
    const badPlan = await setSchedule(ctx(tick(0)), principal, post({ id, cron: "0 5 * * *", plan: { tasks: [{ id: "a", run: "teleport" }] } }));
    expect((badPlan.body as { error: { errors: Array<{ path: string }> } }).error.errors.map((e) => e.path)).toEqual(["plan.tasks.0.run"]);
    expect((await setSchedule(ctx(tick(0)), principal, post({ id: "a/b", cron: "* * * * *", plan: NOOP_PLAN }))).status).toBe(400);
    expect(await schedules.doc(id).get()).toMatchObject({ exists: false });

    const set = await setSchedule(ctx(tick(0) - 30_000), principal, post({ id, cron: "* * * * *", plan: NOOP_PLAN, overlap: "allow_all" }));
    expect(set).toMatchObject({ status: 200, body: { created: true, schedule: { id, overlap: "allow_all", since: tick(0) - 30_000, nextTick: tick(0), author: { uid: "uid-op", email: "op@example.com" } } } });
    await fireAt(id, tick(0) + 1_000);
    // Set again: the state is kept, so tick 0 does not fire again.
    expect(await setSchedule(ctx(tick(0) + 2_000), principal, post({ id, cron: "* * * * *", plan: NOOP_PLAN, overlap: "skip", description: "again" }))).toMatchObject({ body: { created: false, schedule: { lastTick: tick(0), overlap: "skip" } } });
    const listed = await listSchedules(ctx(tick(0) + 3_000));
    expect((listed.body as { schedules: Array<{ id: string }> }).schedules.find((s) => s.id === id)).toMatchObject({ description: "again", lastTick: tick(0), open: [{ planId: runIdOf(id, tick(0)) }] });

    expect(await pauseSchedule(ctx(tick(0) + 4_000), principal, id, true)).toMatchObject({ status: 200, body: { changed: true, schedule: { paused: true, pausedBy: "op@example.com", nextTick: null } } });
    expect(await pauseSchedule(ctx(tick(0) + 5_000), principal, id, true)).toMatchObject({ body: { changed: false } });
    expect(await pauseSchedule(ctx(tick(0) + 6_000), principal, id, false)).toMatchObject({ body: { changed: true, schedule: { paused: false, pausedAt: null } } });
    expect((await pauseSchedule(ctx(0), principal, "no-such-schedule", true)).status).toBe(404);

    const post2 = (body: unknown) => ({ method: "POST", path: `/schedules/${id}/backfill`, query: {}, body });
    expect(await backfill(ctx(tick(0) + 7_000), id, post2({ from: new Date(tick(-2)).toISOString(), to: new Date(tick(0)).toISOString() }))).toMatchObject({
      status: 200,
      body: { started: [runIdOf(id, tick(-2)), runIdOf(id, tick(-1))], existing: [] },
    });
    expect((await backfill(ctx(tick(0)), id, post2({ from: "yesterday", to: new Date(tick(0)).toISOString() }))).status).toBe(400);

    expect(await removeSchedule(ctx(0), id)).toMatchObject({ status: 200, body: { deleted: id } });
    expect((await removeSchedule(ctx(0), id)).status).toBe(404);
    // Its runs are plans of their own and go on.
    expect(await runsOf(id)).toHaveLength(3);
  });
});
