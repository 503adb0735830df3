import type { Firestore } from "firebase-admin/firestore";
import { sharedRead } from "../../../functions/src/store/group-commit";

/** A read whose answer is the store's value when the read is issued, and that finishes when told to. */
function controlledStore() {
  let value = 0;
  const issued: Array<{ saw: number; finish: () => void }> = [];
  const read = () =>
    new Promise<number>((resolve) => {
      const saw = value;
      issued.push({ saw, finish: () => resolve(saw) });
    });
  return { write: () => (value += 1), read, issued };
}

describe("sharedRead", () => {
  it("gives each caller a read issued after it asked, and lets callers that ask during one read share the next", async () => {
    const db = {} as Firestore;
    const store = controlledStore();
    store.write();
    const first = sharedRead(db, "k", store.read);
    expect(store.issued).toHaveLength(1);
    // Two more writers arrive while the first read is in flight: they must not get its answer.
    store.write();
    const second = sharedRead(db, "k", store.read);
    store.write();
    const third = sharedRead(db, "k", store.read);
    expect(store.issued).toHaveLength(1);
    store.issued[0]!.finish();
    expect(await first).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(store.issued).toHaveLength(2);
    store.issued[1]!.finish();
    expect(await second).toBe(3);
    expect(await third).toBe(3);
  });

  it("keeps keys and databases apart, and a failed read fails only those who shared it", async () => {
    const db = {} as Firestore;
    const other = {} as Firestore;
    const store = controlledStore();
    const a = sharedRead(db, "a", store.read);
    const b = sharedRead(db, "b", store.read);
    const c = sharedRead(other, "a", store.read);
    expect(store.issued).toHaveLength(3);
    store.issued.forEach((r) => r.finish());
    await Promise.all([a, b, c]);
    const failing = sharedRead(db, "a", () => Promise.reject(new Error("unavailable")));
    const after = sharedRead(db, "a", async () => 42);
    await expect(failing).rejects.toThrow("unavailable");
    expect(await after).toBe(42);
  });
});
