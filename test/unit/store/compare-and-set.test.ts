/**
 * Ambiguous commits, against a fake Firestore: a commit that applied but answered
 * DEADLINE_EXCEEDED (or that the client sent again, to find its own write there) is the write that
 * was decided, not a lost race; a true lost race still reads and decides again; a group commit
 * whose answer was lost never hands its members a lost race.
 */
import type { DocumentReference, Firestore } from "firebase-admin/firestore";
import { CAS_WRITE_FIELD, compareAndSet, type CasDecision, type Readable } from "../../../functions/src/store/firestore";
import { groupCommit } from "../../../functions/src/store/group-commit";

const DEADLINE_EXCEEDED = 4;
const FAILED_PRECONDITION = 9;

class Version {
  constructor(readonly n: number) {}
  isEqual(other: Version): boolean {
    return other.n === this.n;
  }
}

type Data = Record<string, unknown>;
type Op = { op: "update" | "set" | "create"; ref: DocumentReference; data: Data; lastUpdateTime?: Version };

/** A document reference with the parents compareAndSet looks at, and nothing else. */
function refOf(path: string): DocumentReference {
  const parts = path.split("/");
  const parentDoc = parts.length > 2 ? refOf(parts.slice(0, -2).join("/")) : null;
  return { path, id: parts.at(-1), parent: { id: parts.at(-2), parent: parentDoc } } as unknown as DocumentReference;
}

/**
 * Documents in memory, batched commits with update-time preconditions. `onCommit` may say what a
 * commit does instead: apply it and then throw (the answer lost), or throw without applying.
 */
function fakeFirestore(onCommit: (ops: Op[], commitNo: number) => { apply: boolean; error?: unknown } = () => ({ apply: true })) {
  const docs = new Map<string, { data: Data; version: number }>();
  let version = 0;
  let commits = 0;
  const sizes: number[] = [];
  const snapshot = (ref: DocumentReference) => {
    const doc = docs.get(ref.path);
    return { ref, id: ref.id, exists: doc !== undefined, data: () => (doc === undefined ? undefined : structuredClone(doc.data)), updateTime: doc === undefined ? undefined : new Version(doc.version) };
  };
  const apply = (ops: Op[]) => {
    for (const w of ops) {
      const doc = docs.get(w.ref.path);
      if (w.op === "update" && (doc === undefined || (w.lastUpdateTime !== undefined && w.lastUpdateTime.n !== doc.version))) {
        throw Object.assign(new Error(`precondition failed on ${w.ref.path}`), { code: doc === undefined ? 5 : FAILED_PRECONDITION });
      }
      if (w.op === "create" && doc !== undefined) throw Object.assign(new Error("exists"), { code: 6 });
    }
    version += 1;
    for (const w of ops) docs.set(w.ref.path, { data: w.op === "update" ? { ...docs.get(w.ref.path)!.data, ...w.data } : { ...w.data }, version });
    return ops.map(() => ({ writeTime: new Version(version) }));
  };
  const db = {
    getAll: async (...args: unknown[]) => args.filter((a): a is DocumentReference => typeof (a as { path?: unknown }).path === "string").map(snapshot),
    batch: () => {
      const ops: Op[] = [];
      const batch = {
        update: (ref: DocumentReference, data: Data, pre?: { lastUpdateTime: Version }) => (ops.push({ op: "update", ref, data, ...(pre ? { lastUpdateTime: pre.lastUpdateTime } : {}) }), batch),
        set: (ref: DocumentReference, data: Data) => (ops.push({ op: "set", ref, data }), batch),
        create: (ref: DocumentReference, data: Data) => (ops.push({ op: "create", ref, data }), batch),
        commit: async () => {
          await new Promise((r) => setTimeout(r, 1));
          sizes.push(ops.length);
          const what = onCommit(ops, ++commits);
          const results = what.apply ? apply(ops) : [];
          if (what.error !== undefined) throw what.error;
          return results;
        },
      };
      return batch;
    },
  };
  return { db: db as unknown as Firestore, docs, sizes, seed: (path: string, data: Data) => docs.set(path, { data, version: ++version }) };
}

const lost = (code: number) => Object.assign(new Error(`code ${code}`), { code });

/** A claim-like decision: running → done, once; a second decision on a done document skips. */
function finishOnce(calls: string[]) {
  return (snap: Readable): CasDecision<string> => {
    const status = snap.data()?.status;
    calls.push(String(status));
    if (status !== "running") return { result: `skip: ${String(status)}` };
    const id = String(snap.data()?.id);
    return { result: "finished", update: { status: "done" }, alongside: (w) => void w.set(refOf(`plans/p/events/${id}.done`), { type: "done" }) };
  };
}

describe("compareAndSet after an ambiguous commit", () => {
  const TASK = "plans/p/tasks/t";

  it("takes a commit that applied but answered DEADLINE_EXCEEDED as committed, and says so", async () => {
    const fake = fakeFirestore((_ops, n) => (n === 1 ? { apply: true, error: lost(DEADLINE_EXCEEDED) } : { apply: true }));
    fake.seed(TASK, { id: "t", status: "running" });
    const calls: string[] = [];
    const committed = jest.fn();
    await expect(compareAndSet(fake.db, refOf(TASK), finishOnce(calls), { committed })).resolves.toBe("finished");
    // Decided once: the read after the error found this call's own write, not a state to decide on.
    expect(calls).toEqual(["running"]);
    expect(committed).toHaveBeenCalledTimes(1);
    expect(committed.mock.calls[0][0].data).toMatchObject({ status: "done" });
    expect(fake.docs.get(TASK)!.data).toMatchObject({ status: "done", [CAS_WRITE_FIELD]: expect.any(String) });
    expect(fake.docs.get("plans/p/events/t.done")!.data).toEqual({ type: "done" });
  });

  it("takes a failed precondition on its own applied write (the client sent it again) as committed too", async () => {
    // The first send applies and its answer is lost; the client's resend finds the precondition gone.
    const fake = fakeFirestore((_ops, n) => (n === 1 ? { apply: true, error: lost(FAILED_PRECONDITION) } : { apply: true }));
    fake.seed(TASK, { id: "t", status: "running" });
    const calls: string[] = [];
    await expect(compareAndSet(fake.db, refOf(TASK), finishOnce(calls))).resolves.toBe("finished");
    expect(calls).toEqual(["running"]);
  });

  it("writes again when the ambiguous commit did not apply", async () => {
    const fake = fakeFirestore((_ops, n) => (n === 1 ? { apply: false, error: lost(DEADLINE_EXCEEDED) } : { apply: true }));
    fake.seed(TASK, { id: "t", status: "running" });
    const calls: string[] = [];
    await expect(compareAndSet(fake.db, refOf(TASK), finishOnce(calls))).resolves.toBe("finished");
    expect(calls).toEqual(["running", "running"]);
    expect(fake.docs.get(TASK)!.data.status).toBe("done");
  });

  it("still treats a true lost race as one: it reads and decides again on the other write", async () => {
    const fake = fakeFirestore((_ops, n) => {
      if (n === 1) fake.seed(TASK, { status: "cancelled" });
      return { apply: true };
    });
    fake.seed(TASK, { id: "t", status: "running" });
    const calls: string[] = [];
    await expect(compareAndSet(fake.db, refOf(TASK), finishOnce(calls))).resolves.toBe("skip: cancelled");
    expect(calls).toEqual(["running", "cancelled"]);
  });

  it("marks no plan document (its fields are the user's spec) and does not guess about one", async () => {
    const fake = fakeFirestore((_ops, n) => (n === 1 ? { apply: true, error: lost(DEADLINE_EXCEEDED) } : { apply: true }));
    fake.seed("plans/p", { status: "running" });
    await expect(compareAndSet(fake.db, refOf("plans/p"), finishOnce([]))).rejects.toMatchObject({ code: DEADLINE_EXCEEDED });
    expect(fake.docs.get("plans/p")!.data).toEqual({ status: "done" });
  });
});

describe("group commit after an ambiguous answer", () => {
  it("gives each member of a group that may have applied the ambiguous error, never a lost race", async () => {
    // A group (more than one member's writes in one commit) applies and loses its answer; the
    // members' own commits then find their preconditions gone.
    const fake = fakeFirestore((ops) => (ops.length > 1 ? { apply: true, error: lost(DEADLINE_EXCEEDED) } : { apply: true }));
    const paths = ["plans/p/tasks/a", "plans/p/tasks/b", "plans/p/tasks/c", "plans/p/tasks/d"];
    paths.forEach((p) => fake.seed(p, { status: "running" }));
    const versions = new Map(paths.map((p) => [p, new Version(fake.docs.get(p)!.version)]));
    const outcomes = await Promise.all(
      paths.map((p) =>
        groupCommit(fake.db, [{ op: "update", ref: refOf(p), data: { status: "done" }, lastUpdateTime: versions.get(p) as never }]).then(
          () => "ok",
          (e: { code: number }) => e.code,
        ),
      ),
    );
    // The first two go out alone (two commits in flight); the last two share one.
    expect(outcomes).toEqual(["ok", "ok", DEADLINE_EXCEEDED, DEADLINE_EXCEEDED]);
    expect(fake.sizes).toEqual([1, 1, 2, 1, 1]);
    for (const p of paths) expect(fake.docs.get(p)!.data.status).toBe("done");
  });

  it("lets compare-and-sets in such a group find that their writes applied", async () => {
    const fake = fakeFirestore((ops) => (ops.length > 2 ? { apply: true, error: lost(DEADLINE_EXCEEDED) } : { apply: true }));
    const paths = ["plans/p/tasks/a", "plans/p/tasks/b", "plans/p/tasks/c", "plans/p/tasks/d"];
    paths.forEach((p) => fake.seed(p, { id: p.split("/").at(-1), status: "running" }));
    const calls: string[] = [];
    const results = await Promise.all(paths.map((p) => compareAndSet(fake.db, refOf(p), finishOnce(calls))));
    expect(results).toEqual(["finished", "finished", "finished", "finished"]);
    expect(fake.sizes.some((n) => n > 2)).toBe(true);
    expect(calls.filter((c) => c !== "running")).toEqual([]);
  });
});
