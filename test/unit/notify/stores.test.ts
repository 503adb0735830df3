/**
 * The delivery records' semantics, the same in memory and in Firestore (against a fake Firestore
 * with transactions, here): the record is created on first sight, final states stay final, a live
 * claim is left to its owner, and the document id is the event key's hash (keys hold `/`).
 */
import type { Firestore } from "firebase-admin/firestore";
import { deliveryId, MemoryDeliveryStore, type DeliveryStore } from "../../../functions/src/notify/deliveries";
import { firestoreDeliveryStore, NOTIFICATIONS_COLLECTION } from "../../../functions/src/notify/firestore-store";
import type { NotifyTarget } from "../../../functions/src/notify/targets";
import { gate, raised } from "./support";

type Data = Record<string, unknown>;

/** Documents in memory; a transaction's writes apply when its function resolves, `create` failing on an existing document. */
function fakeFirestore() {
  const docs = new Map<string, Data>();
  const writes: Array<{ op: string; path: string }> = [];
  const ref = (path: string) => ({ path, set: async (data: Data) => void docs.set(path, structuredClone(data)) });
  const db = {
    collection: (name: string) => ({ doc: (id: string) => ref(`${name}/${id}`), add: async (data: Data) => void docs.set(`${name}/auto-${docs.size}`, data) }),
    runTransaction: async <T>(fn: (tx: unknown) => Promise<T>): Promise<T> => {
      const pending: Array<() => void> = [];
      const tx = {
        get: async (r: { path: string }) => ({ exists: docs.has(r.path), data: () => structuredClone(docs.get(r.path)) }),
        set: (r: { path: string }, data: Data) => pending.push(() => (writes.push({ op: "set", path: r.path }), docs.set(r.path, structuredClone(data)))),
        create: (r: { path: string }, data: Data) =>
          pending.push(() => {
            if (docs.has(r.path)) throw Object.assign(new Error("already exists"), { code: 6 });
            writes.push({ op: "create", path: r.path });
            docs.set(r.path, structuredClone(data));
          }),
      };
      const result = await fn(tx);
      for (const apply of pending) apply();
      return result;
    },
  };
  return { db: db as unknown as Firestore, docs, writes };
}

const HOOK: NotifyTarget = { kind: "webhook", secret: "PAGER_WEBHOOK" };
const SLACK: NotifyTarget = { kind: "slack", secret: "SLACK_OPS_WEBHOOK" };

describe.each<[string, () => { store: DeliveryStore; read: (key: string) => Data | undefined }]>([
  ["memory", () => {
    const store = new MemoryDeliveryStore();
    return { store, read: (key) => store.recordOf(key) };
  }],
  ["Firestore", () => {
    const { db, docs } = fakeFirestore();
    return { store: firestoreDeliveryStore(db), read: (key) => docs.get(`${NOTIFICATIONS_COLLECTION}/${deliveryId(key)}`) };
  }],
])("delivery records (%s)", (_name, make) => {
  it("claims every target on first sight, and none that is delivered or failed afterwards", async () => {
    const { store, read } = make();
    expect(await store.claim(raised, [HOOK, SLACK], "a", 0, 60_000)).toEqual({ send: [{ target: HOOK, attempts: 0 }, { target: SLACK, attempts: 0 }], settled: [], busy: [] });
    expect(read(raised.key)).toMatchObject({ key: raised.key, type: "alert.raised", summary: "prod hosting http check is down", createdAt: 0, targets: { PAGER_WEBHOOK: { status: "sending", lease: { owner: "a", expiresAt: 60_000 } } } });
    expect(await store.settle(raised.key, HOOK.secret, "a", { ok: true, httpStatus: 204, tries: 1 }, 10, 15)).toBe(true);
    expect(await store.settle(raised.key, SLACK.secret, "a", { ok: false, retryable: false, httpStatus: 410, code: "http_410", error: "HTTP 410", tries: 1 }, 10, 15)).toBe(true);
    expect(await store.claim(raised, [HOOK, SLACK], "b", 20, 60_000)).toEqual({ send: [], settled: [{ target: HOOK, status: "delivered" }, { target: SLACK, status: "failed" }], busy: [] });
    expect(read(raised.key)!.targets).toMatchObject({ PAGER_WEBHOOK: { status: "delivered", attempts: 1, httpStatus: 204, lease: null }, SLACK_OPS_WEBHOOK: { status: "failed", httpStatus: 410, error: "HTTP 410" } });
  });

  it("leaves a live claim to its owner, takes over a lapsed one, and tries a retrying target again with its count", async () => {
    const { store } = make();
    await store.claim(gate, [HOOK], "a", 0, 1_000);
    expect(await store.claim(gate, [HOOK], "b", 500, 1_000)).toMatchObject({ send: [], busy: [HOOK] });
    expect(await store.claim(gate, [HOOK], "b", 1_500, 1_000)).toMatchObject({ send: [{ target: HOOK, attempts: 0 }] });
    expect(await store.settle(gate.key, HOOK.secret, "a", { ok: true, httpStatus: 200, tries: 1 }, 1_600, 15)).toBe(false);
    expect(await store.settle(gate.key, HOOK.secret, "b", { ok: false, retryable: true, httpStatus: 503, code: "http_503", error: "HTTP 503", tries: 3 }, 1_700, 15)).toBe(true);
    expect(await store.claim(gate, [HOOK], "c", 1_800, 1_000)).toMatchObject({ send: [{ target: HOOK, attempts: 3 }] });
  });

  it("adds a target configured later to an existing record", async () => {
    const { store, read } = make();
    await store.claim(raised, [HOOK], "a", 0, 1_000);
    await store.settle(raised.key, HOOK.secret, "a", { ok: true, httpStatus: 200, tries: 1 }, 1, 15);
    expect(await store.claim(raised, [HOOK, SLACK], "b", 2, 1_000)).toMatchObject({ send: [{ target: SLACK }], settled: [{ target: HOOK, status: "delivered" }] });
    expect(Object.keys(read(raised.key)!.targets as Data).sort()).toEqual(["PAGER_WEBHOOK", "SLACK_OPS_WEBHOOK"]);
  });
});

describe("the Firestore delivery store", () => {
  it("creates the record (never overwrites one it did not read), then updates it in transactions", async () => {
    const { db, writes } = fakeFirestore();
    const store = firestoreDeliveryStore(db);
    await store.claim(raised, [HOOK], "a", 0, 1_000);
    await store.settle(raised.key, HOOK.secret, "a", { ok: true, httpStatus: 200, tries: 1 }, 1, 15);
    await store.claim(raised, [HOOK], "b", 2, 1_000);
    const path = `notifications/${deliveryId(raised.key)}`;
    expect(writes).toEqual([{ op: "create", path }, { op: "set", path }]);
    expect(deliveryId(raised.key)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("records a malformed message as a dead letter named by its message id", async () => {
    const { db, docs } = fakeFirestore();
    await firestoreDeliveryStore(db).recordMalformed({ source: "orchestrator-alerts", reason: "malformed message", errors: [{ path: "", message: "the message body is not JSON" }], payload: "{not json", messageId: "77" }, 5);
    expect(docs.get("deadLetters/77")).toMatchObject({ source: "orchestrator-alerts", reason: "malformed message", payload: "{not json", at: 5 });
  });
});
