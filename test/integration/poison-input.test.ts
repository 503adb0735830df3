/**
 * Poison input against the emulators: messages that used to validate and then make their handler
 * throw (Pub/Sub redelivers those for seven days) are dead-lettered once instead, outputs the
 * schema accepts are ones Firestore stores, and the plan's stand-alone history records are
 * created, never overwritten (a reused id keeps both records; a redelivery stays one).
 */
import * as deployed from "../../functions/src/index";
import { applyExternalTaskEvent } from "../../functions/src/runtime/task-events";
import { storableProblem } from "../../functions/src/schema/storable";
import { appendEvent, createEventIn, derivedEventId, type PlanEvent } from "../../functions/src/store/events";
import { uniqueId } from "../support/emulators";
import { db, testEnv } from "../support/functions";

afterAll(() => testEnv.cleanup());

const ALREADY_EXISTS = 6;
const TOKEN = "t".repeat(32);
const plans = db.collection("plans");
const eventsOf = async (planId: string) => (await plans.doc(planId).collection("events").get()).docs.map((d) => [d.id, d.data()] as const).sort(([a], [b]) => a.localeCompare(b));
const refusal = (actor: string, at = 1_000): PlanEvent => ({ at, type: "command.refused", actor, taskId: "gate", message: `approve refused: not an approver (${actor})` });

async function deliver(trigger: "onPlanCommand" | "onTaskEvent", body: unknown, messageId: string): Promise<void> {
  const wrapped = testEnv.wrap(deployed[trigger]);
  const data = Buffer.from(JSON.stringify(body)).toString("base64");
  await wrapped({ data: { message: { data, messageId, attributes: {} }, subscription: "test" } });
}

describe("poison messages are dead-lettered once, not thrown", () => {
  it("a command whose commandId contains '/' (it used to throw on `command.a/b`, leaving no record)", async () => {
    const planId = uniqueId("poison");
    await plans.doc(planId).set({ tasks: [] });
    const messageId = uniqueId("cmd-slash");
    await expect(deliver("onPlanCommand", { planId, command: "cancel", by: "ops@example.com", commandId: "a/b" }, messageId)).resolves.toBeUndefined();
    const dead = (await db.collection("deadLetters").doc(messageId).get()).data()!;
    expect(dead).toMatchObject({ source: "orchestrator-plan-commands", reason: "malformed message" });
    expect(dead.errors).toEqual([{ path: "commandId", message: expect.stringContaining("contains '/'") }]);
  });

  it("an output with an array directly inside an array, naming its path", async () => {
    const messageId = uniqueId("nested-array");
    await expect(deliver("onTaskEvent", { planId: "any-plan", taskId: "t", token: TOKEN, outcome: "succeeded", output: { rows: [{}, {}, {}, [1]] } }, messageId)).resolves.toBeUndefined();
    const dead = (await db.collection("deadLetters").doc(messageId).get()).data()!;
    expect(dead.errors).toEqual([{ path: "output.rows.3", message: "an array directly inside an array cannot be stored in Firestore; wrap it in an object" }]);
  });

  it("an output nested 100,000 levels deep (it used to overflow the stack in the size check)", async () => {
    const messageId = uniqueId("deep");
    const depth = 100_000;
    const raw = `{"planId":"any-plan","taskId":"t","token":"${TOKEN}","outcome":"succeeded","output":${"{\"a\":".repeat(depth)}1${"}".repeat(depth)}}`;
    const wrapped = testEnv.wrap(deployed.onTaskEvent);
    await expect(wrapped({ data: { message: { data: Buffer.from(raw).toString("base64"), messageId, attributes: {} }, subscription: "test" } })).resolves.toBeUndefined();
    const dead = (await db.collection("deadLetters").doc(messageId).get()).data()!;
    expect(dead.errors).toEqual([{ path: `output${".a".repeat(20)}`, message: expect.stringMatching(/level 21/) }]);
    expect((dead.payload as string).length).toBeLessThanOrEqual(10_000);
  });

  it("a dead letter's field errors stay bounded (10,000 unknown keys are one 89 KB zod message)", async () => {
    const messageId = uniqueId("many-keys");
    const extra = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`x${i}`, i]));
    await deliver("onTaskEvent", { planId: "a/b", taskId: "c/d", token: "short", ...extra }, messageId);
    const dead = (await db.collection("deadLetters").doc(messageId).get()).data()!;
    const errors = dead.errors as Array<{ path: string; message: string }>;
    expect(errors.map((e) => e.path).sort()).toEqual(["", "outcome", "planId", "taskId", "token"]);
    for (const e of errors) expect(e.message.length).toBeLessThanOrEqual(1_000);
  });
});

describe("what the schema lets through, Firestore stores", () => {
  it("20 levels of maps and arrays, arrays in maps in arrays, dotted and odd field names", async () => {
    // `output` is level 1; `deep` adds 19 more: the 20 levels Firestore allows, all used.
    let deep: unknown = "leaf";
    for (let i = 0; i < 19; i++) deep = i % 2 === 0 ? { a: deep } : [deep];
    const output = { deep, rows: [{ cells: [1, 2] }, { cells: [] }], "a.b": { "c d": null, é: true } };
    expect(storableProblem(output, "output")).toBeNull();
    const ref = db.collection("contract").doc(uniqueId("storable"));
    await ref.set({ output });
    expect((await ref.get()).get("output")).toEqual(output);
  });
});

describe("appendEvent against Firestore: create-only", () => {
  it("a redelivery stays one record; a reused id keeps both, the newcomer under the derived id", async () => {
    const planId = uniqueId("events");
    await appendEvent(db, planId, "command.c-1.refused", refusal("ana", 1));
    await appendEvent(db, planId, "command.c-1.refused", refusal("ana", 2));
    await appendEvent(db, planId, "command.c-1.refused", refusal("bob", 3));
    await appendEvent(db, planId, "command.c-1.refused", refusal("bob", 4));
    expect(await eventsOf(planId)).toEqual(
      [
        ["command.c-1.refused", refusal("ana", 1)],
        [derivedEventId("command.c-1.refused", refusal("bob")), refusal("bob", 3)],
      ].sort(([a], [b]) => (a as string).localeCompare(b as string)),
    );
  });

  it("concurrent users of one id all keep their records", async () => {
    const planId = uniqueId("events");
    await Promise.all(["ana", "bob", "cyd", "dan", "eve"].map((actor) => appendEvent(db, planId, "task-event.1.refused", refusal(actor))));
    expect((await eventsOf(planId)).map(([, data]) => data.actor).sort()).toEqual(["ana", "bob", "cyd", "dan", "eve"]);
  });

  it("createEventIn fails the whole transaction when the id is taken, and overwrites nothing", async () => {
    const planId = uniqueId("events");
    await appendEvent(db, planId, "command.c-2", refusal("ana"));
    const other = plans.doc(planId).collection("events").doc("other");
    await expect(
      db.runTransaction(async (tx) => {
        tx.set(other, { v: 1 });
        createEventIn(tx, db, planId, "command.c-2", refusal("bob"));
      }),
    ).rejects.toMatchObject({ code: ALREADY_EXISTS });
    expect(await eventsOf(planId)).toEqual([["command.c-2", refusal("ana")]]);
  });
});

describe("task-event refusals are not lost to a reused message id", () => {
  it("two refused events under one message id make two records; each redelivered, still two", async () => {
    const planId = uniqueId("refusals");
    await plans.doc(planId).set({ tasks: [] });
    const event = (taskId: string) => ({ type: "completed" as const, planId, taskId, token: TOKEN, outcome: "succeeded" as const });
    for (const taskId of ["first", "second", "first", "second"]) {
      expect(await applyExternalTaskEvent(db, event(taskId), "reused-1")).toMatchObject({ applied: false, reason: `unknown task ${taskId}` });
    }
    const records = await eventsOf(planId);
    expect(records.map(([, data]) => data.message).sort()).toEqual(["completed for first refused: unknown task first", "completed for second refused: unknown task second"]);
    expect(records.map(([id]) => id)).toContain("task-event.reused-1.refused");
  });
});
