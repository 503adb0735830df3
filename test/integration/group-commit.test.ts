/**
 * The group commit and grouped reads under the engine's compare-and-sets: members that arrive
 * while a commit is in flight share one atomic commit, yet each keeps the outcome it would have
 * alone (a lost race or a refused write fails only its own member), and writes to one document
 * stay in order.
 */
import { Timestamp } from "firebase-admin/firestore";
import { groupCommit, groupRead, WriteList } from "../../functions/src/store/group-commit";
import { testFirestore, uniqueId } from "../support/emulators";

const db = testFirestore();
const FAILED_PRECONDITION = 9;
const NOT_FOUND = 5;

describe("group commit", () => {
  it("commits concurrent members together: fewer commits than members, every write applied", async () => {
    const col = db.collection(uniqueId("group"));
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => groupCommit(db, new WriteList().set(col.doc(`d${i}`), { i }).create(col.doc(`e${i}`), { i }).writes)));
    expect(results.every((r) => r.length === 2)).toBe(true);
    // A group is one commit: all its writes carry its commit time.
    const commits = new Set(results.map((r) => r[0]!.writeTime.toMillis() * 1e6 + r[0]!.writeTime.nanoseconds));
    expect(commits.size).toBeLessThan(40);
    const docs = await col.get();
    expect(docs.size).toBe(80);
  });

  it("fails only the member whose precondition failed; the others commit", async () => {
    const col = db.collection(uniqueId("group"));
    const written = await Promise.all(Array.from({ length: 10 }, (_, i) => col.doc(`d${i}`).set({ v: 0 })));
    const stale = Timestamp.fromMillis(written[3]!.writeTime.toMillis() - 1_000);
    const outcomes = await Promise.allSettled(
      written.map((w, i) =>
        groupCommit(db, new WriteList().update(col.doc(`d${i}`), { v: 1 }, { lastUpdateTime: i === 3 ? stale : w.writeTime }).set(col.doc(`event${i}`), { i }).writes),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(written.map((_, i) => (i === 3 ? "rejected" : "fulfilled")));
    expect((outcomes[3] as PromiseRejectedResult).reason).toMatchObject({ code: FAILED_PRECONDITION });
    const after = await db.getAll(...written.map((_, i) => col.doc(`d${i}`)));
    expect(after.map((s) => s.get("v"))).toEqual(written.map((_, i) => (i === 3 ? 0 : 1)));
    // The failed member's other write did not happen either: a member is atomic.
    expect((await col.doc("event3").get()).exists).toBe(false);
    expect((await col.doc("event4").get()).exists).toBe(true);
  });

  it("gives a refused write its own error (an update of a missing document)", async () => {
    const col = db.collection(uniqueId("group"));
    const outcomes = await Promise.allSettled([
      groupCommit(db, new WriteList().set(col.doc("a"), { v: 1 }).writes),
      groupCommit(db, new WriteList().update(col.doc("missing"), { v: 1 }).writes),
      groupCommit(db, new WriteList().set(col.doc("b"), { v: 1 }).writes),
      groupCommit(db, new WriteList().set(col.doc("c"), { v: 1 }).writes),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: NOT_FOUND });
  });

  it("keeps writes to one document in the order they were asked for, each in its own commit", async () => {
    const ref = db.collection(uniqueId("group")).doc("one");
    await ref.set({ n: -1, seen: [] });
    const results = await Promise.all(Array.from({ length: 8 }, (_, n) => groupCommit(db, new WriteList().update(ref, { n }).writes)));
    expect((await ref.get()).get("n")).toBe(7);
    const times = results.map((r) => r[0]!.writeTime);
    for (let i = 1; i < times.length; i++) expect(times[i]!.valueOf() > times[i - 1]!.valueOf()).toBe(true);
  });

  it("splits a burst larger than one commit's 500 writes into several commits", async () => {
    const col = db.collection(uniqueId("group"));
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => groupCommit(db, new WriteList().set(col.doc(`d${i}`), { i }).set(col.doc(`e${i}`), { i }).writes)));
    expect(results).toHaveLength(300);
    expect((await col.count().get()).data().count).toBe(600);
  });
});

describe("grouped reads", () => {
  it("answers each caller with its own documents in order, sharing reads of the same document", async () => {
    const col = db.collection(uniqueId("read"));
    await Promise.all([col.doc("plan").set({ status: "running", spec: { big: "x".repeat(1_000) } }), ...Array.from({ length: 20 }, (_, i) => col.doc(`t${i}`).set({ status: "ready", i, extra: "kept out" }))]);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => groupRead(db, [col.doc(`t${i}`), col.doc("plan")], ["status", "i"])));
    answers.forEach(([task, plan], i) => {
      expect(task!.id).toBe(`t${i}`);
      expect(task!.data()).toEqual({ status: "ready", i });
      expect(plan!.data()).toEqual({ status: "running" });
    });
    const [missing] = await groupRead(db, [col.doc("nope")]);
    expect(missing!.exists).toBe(false);
  });

  it("keeps callers with different field masks apart", async () => {
    const ref = db.collection(uniqueId("read")).doc("d");
    await ref.set({ a: 1, b: 2 });
    const [[onlyA], [onlyB], [whole]] = await Promise.all([groupRead(db, [ref], ["a"]), groupRead(db, [ref], ["b"]), groupRead(db, [ref])]);
    expect(onlyA!.data()).toEqual({ a: 1 });
    expect(onlyB!.data()).toEqual({ b: 2 });
    expect(whole!.data()).toEqual({ a: 1, b: 2 });
  });
});
