/**
 * The records poison leaves behind: dead letters stay bounded whatever was sent, and the plan's
 * stand-alone history records (refused commands and task events) are created, never overwritten: a
 * reused id keeps both records, a redelivery stays one. Firestore is the in-memory fake of the API
 * tests (create() refuses an existing document with ALREADY_EXISTS, like Firestore); the same
 * behaviour against the emulator is in test/integration/poison-input.test.ts.
 */
import type { Firestore } from "firebase-admin/firestore";
import { boundErrors, DEAD_LETTER_LIMITS, recordDeadLetter } from "../../../functions/src/runtime/dead-letters";
import { refusalEventId } from "../../../functions/src/runtime/task-events";
import type { FieldError } from "../../../functions/src/schema/issues";
import { documentIdProblem } from "../../../functions/src/schema/storable";
import { appendEvent, createEventIn, DERIVED_HASH_CHARS, derivedEventId, eventContentHash, eventIdCandidates, sameEventContent, type PlanEvent } from "../../../functions/src/store/events";
import { MemoryFirestore } from "../api/support";

const refusal = (actor: string, at = 1_000): PlanEvent => ({ at, type: "command.refused", actor, taskId: "gate", message: `approve refused: not an approver (${actor})` });

describe("choosing the id of a reused event id's newcomer (pure)", () => {
  it("derives `${eventId}.${16 hex of the content's SHA-256}`", () => {
    const id = derivedEventId("command.c-1.refused", refusal("bob"));
    expect(id).toMatch(new RegExp(`^command\\.c-1\\.refused\\.[0-9a-f]{${DERIVED_HASH_CHARS}}$`));
    expect(id).toBe(`command.c-1.refused.${eventContentHash(refusal("bob")).slice(0, DERIVED_HASH_CHARS)}`);
    expect(documentIdProblem(id)).toBeUndefined();
  });

  it("is the same for a redelivery (only `at` differs) and differs for other content", () => {
    expect(derivedEventId("e", refusal("bob", 1))).toBe(derivedEventId("e", refusal("bob", 2)));
    expect(derivedEventId("e", refusal("bob"))).not.toBe(derivedEventId("e", refusal("eve")));
    expect(derivedEventId("e", refusal("bob"))).not.toBe(derivedEventId("e", { ...refusal("bob"), data: { n: 1 } }));
  });

  it("ignores key order and undefined fields, as a record read back from Firestore has them", () => {
    const event: PlanEvent = { at: 1, type: "t", actor: "a", message: "m", taskId: undefined, data: { b: 1, a: [{ y: 1, x: 2 }] } };
    const stored = { message: "m", data: { a: [{ x: 2, y: 1 }], b: 1 }, actor: "a", type: "t", at: 99 };
    expect(sameEventContent(stored, event)).toBe(true);
    expect(eventContentHash(stored)).toBe(eventContentHash(event));
    expect(sameEventContent(stored, { ...event, data: { b: 1, a: [{ y: 1, x: 3 }] } })).toBe(false);
  });

  it("tries the event's own id, then the short derived one, then the full hash", () => {
    const hash = eventContentHash(refusal("bob"));
    expect(eventIdCandidates("e", refusal("bob"))).toEqual(["e", `e.${hash.slice(0, DERIVED_HASH_CHARS)}`, `e.${hash}`]);
  });
});

describe("appendEvent: create-only", () => {
  const planId = "p1";
  const events = (memory: MemoryFirestore) => [...memory.docs.entries()].filter(([path]) => path.startsWith(`plans/${planId}/events/`)).map(([path, data]) => [path.slice(`plans/${planId}/events/`.length), data] as const);

  it("records an event once, and a redelivery of it (later `at`) leaves it as it is", async () => {
    const memory = new MemoryFirestore();
    await appendEvent(memory.db, planId, "command.c-1.refused", refusal("ana", 1));
    await appendEvent(memory.db, planId, "command.c-1.refused", refusal("ana", 2));
    expect(events(memory)).toEqual([["command.c-1.refused", refusal("ana", 1)]]);
    expect(memory.log.filter((a) => a.op === "set")).toEqual([]);
  });

  it("keeps another operator's record when an id is reused: the newcomer goes under the derived id", async () => {
    const memory = new MemoryFirestore();
    await appendEvent(memory.db, planId, "command.c-1.refused", refusal("ana"));
    await appendEvent(memory.db, planId, "command.c-1.refused", refusal("bob"));
    // bob's redelivered: still two records.
    await appendEvent(memory.db, planId, "command.c-1.refused", refusal("bob", 5_000));
    expect(events(memory)).toEqual([
      ["command.c-1.refused", refusal("ana")],
      [derivedEventId("command.c-1.refused", refusal("bob")), refusal("bob")],
    ]);
  });

  it("keeps a third and a fourth user of the same id apart too", async () => {
    const memory = new MemoryFirestore();
    for (const actor of ["ana", "bob", "cyd", "dan"]) await appendEvent(memory.db, planId, "task-event.7.refused", refusal(actor));
    expect(events(memory).map(([, data]) => data.actor).sort()).toEqual(["ana", "bob", "cyd", "dan"]);
  });

  it("rethrows what is not ALREADY_EXISTS", async () => {
    const unavailable = Object.assign(new Error("14 UNAVAILABLE"), { code: 14 });
    const db = { collection: () => ({ doc: () => ({ collection: () => ({ doc: () => ({ create: async () => Promise.reject(unavailable) }) }) }) }) } as unknown as Firestore;
    await expect(appendEvent(db, planId, "e", refusal("ana"))).rejects.toBe(unavailable);
  });

  it("createEventIn creates in the caller's transaction or batch", async () => {
    const memory = new MemoryFirestore();
    const batch = memory.db.batch();
    createEventIn(batch, memory.db, planId, "command.c-2", refusal("ana"));
    await batch.commit();
    expect(events(memory)).toEqual([["command.c-2", refusal("ana")]]);
    const again = memory.db.batch();
    createEventIn(again, memory.db, planId, "command.c-2", refusal("bob"));
    await expect(again.commit()).rejects.toMatchObject({ code: 6 });
    expect(events(memory)).toEqual([["command.c-2", refusal("ana")]]);
  });
});

describe("task-event refusals' ids", () => {
  it("are `task-event.{messageId}.refused` for Pub/Sub's ids, and a hash for any id that is not safe", () => {
    expect(refusalEventId("1234567890")).toBe("task-event.1234567890.refused");
    for (const odd of ["a/b", "", "a b", "x".repeat(5000)]) {
      const id = refusalEventId(odd);
      expect(id).toMatch(/^task-event\.sha256-[0-9a-f]{32}\.refused$/);
      expect(documentIdProblem(id)).toBeUndefined();
    }
    // Inside the prefix and suffix, these are safe as they are.
    for (const fragment of ["..", "__x__"]) expect(documentIdProblem(refusalEventId(fragment))).toBeUndefined();
    expect(refusalEventId("a/b")).not.toBe(refusalEventId("a/c"));
  });
});

describe("dead letters stay bounded", () => {
  const many = (n: number, path = "tasks.0.params", message = "bad"): FieldError[] => Array.from({ length: n }, (_, i) => ({ path: `${path}.${i}`, message: `${message} ${i}` }));

  it("keep every error up to the limit", () => {
    expect(boundErrors(many(DEAD_LETTER_LIMITS.errors))).toEqual(many(DEAD_LETTER_LIMITS.errors));
  });

  it("keep 50 entries at most, the last saying how many more were left out", () => {
    const bounded = boundErrors(many(10_000));
    expect(bounded).toHaveLength(50);
    expect(bounded.slice(0, 49)).toEqual(many(49));
    expect(bounded[49]).toEqual({ path: "", message: "9951 more errors left out (10000 in all; the first 49 are above)" });
  });

  it("clip each path and message, and redact credentials in them", () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    const [one] = boundErrors([{ path: "k".repeat(100_000), message: `bad token ${jwt} ${"m".repeat(100_000)}` }]);
    expect(one!.path).toHaveLength(DEAD_LETTER_LIMITS.pathChars);
    expect(one!.path.endsWith("…")).toBe(true);
    expect(one!.message).toHaveLength(DEAD_LETTER_LIMITS.messageChars);
    expect(one!.message).toMatch(/^bad token \[redacted\] m+…$/);
  });

  it("are written bounded, under the message id, or an automatic id when the message id cannot name a document", async () => {
    const written: Array<{ id: string | null; data: Record<string, unknown> }> = [];
    const collection = {
      doc: (id: string) => ({ set: async (data: Record<string, unknown>) => void written.push({ id, data }) }),
      add: async (data: Record<string, unknown>) => void written.push({ id: null, data }),
    };
    const db = { collection: () => collection } as unknown as Firestore;
    const entry = { source: "orchestrator-task-events", reason: "malformed message", errors: many(500), payload: `{"token":"secret-task-token","x":"${"p".repeat(50_000)}"}` };
    await recordDeadLetter(db, { ...entry, messageId: "42" }, 7);
    await recordDeadLetter(db, { ...entry, messageId: "a/b" }, 7);
    expect(written.map((w) => w.id)).toEqual(["42", null]);
    const data = written[0]!.data as { errors: FieldError[]; payload: string; at: number };
    expect(data.errors).toHaveLength(50);
    expect(data.payload.length).toBeLessThanOrEqual(10_000);
    expect(data.payload).toMatch(/^\{"token":"\[redacted\]"/);
    expect(Buffer.byteLength(JSON.stringify(data))).toBeLessThan(100_000);
    expect(data.at).toBe(7);
  });
});
