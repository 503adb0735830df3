/**
 * Pins the Firestore emulator behaviours the engine's guarantees rest on, so an emulator or
 * client upgrade that breaks one fails here, not as a mysterious double execution.
 */
import { FieldValue } from "firebase-admin/firestore";
import { testFirestore, uniqueId } from "../support/emulators";

const db = testFirestore();
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;

describe("Firestore emulator contract", () => {
  it("isolates concurrent read-modify-write transactions: 10 increments give 10", async () => {
    const ref = db.collection("contract").doc(uniqueId("counter"));
    await ref.set({ n: 0 });
    await Promise.all(
      Array.from({ length: 10 }, () =>
        db.runTransaction(async (tx) => {
          const n = (await tx.get(ref)).get("n") as number;
          tx.update(ref, { n: n + 1 });
        }),
      ),
    );
    expect((await ref.get()).get("n")).toBe(10);
  });

  it("create() refuses a document that exists (create-if-absent)", async () => {
    const ref = db.collection("contract").doc(uniqueId("once"));
    await ref.create({ v: 1 });
    await expect(ref.create({ v: 2 })).rejects.toMatchObject({ code: ALREADY_EXISTS });
    expect((await ref.get()).get("v")).toBe(1);
  });

  it("update() with a stale update-time precondition fails and changes nothing", async () => {
    const ref = db.collection("contract").doc(uniqueId("cas"));
    await ref.set({ v: 1 });
    const before = await ref.get();
    await ref.update({ v: 2 });
    await expect(ref.update({ v: 3 }, { lastUpdateTime: before.updateTime! })).rejects.toMatchObject({ code: FAILED_PRECONDITION });
    expect((await ref.get()).get("v")).toBe(2);
  });

  it("answers collection-group range queries and count aggregations the sweeper and plan checks use", async () => {
    const plan = db.collection("contract").doc(uniqueId("plan"));
    await Promise.all([
      plan.collection("tasks").doc("a").set({ status: "ready", sweepAt: 10 }),
      plan.collection("tasks").doc("b").set({ status: "running", sweepAt: 20 }),
      plan.collection("tasks").doc("c").set({ status: "succeeded", sweepAt: null }),
    ]);
    const due = await plan.collection("tasks").where("sweepAt", "<=", 15).orderBy("sweepAt").get();
    expect(due.docs.map((d) => d.id)).toEqual(["a"]);
    const group = await db.collectionGroup("tasks").where("sweepAt", "<=", 20).get();
    expect(group.docs.map((d) => d.ref.path)).toEqual(expect.arrayContaining([`${plan.path}/tasks/a`, `${plan.path}/tasks/b`]));
    const open = await plan.collection("tasks").where("status", "in", ["blocked", "ready", "running"]).count().get();
    expect(open.data().count).toBe(2);
  });

  // The emulator does not enforce production's 500-writes-per-commit limit (a 501-write batch
  // commits here), so the engine's own batching (LIMITS.taskWriteBatch) is what keeps it legal.
  it("commits a 500-write batch", async () => {
    const col = db.collection("contract").doc(uniqueId("batch")).collection("items");
    const batch = db.batch();
    for (let i = 0; i < 500; i++) batch.set(col.doc(`i${i}`), { i, at: FieldValue.serverTimestamp() });
    await batch.commit();
    expect((await col.count().get()).data().count).toBe(500);
  });
});
