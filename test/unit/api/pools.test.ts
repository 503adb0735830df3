/**
 * Named pools through the API with an in-memory Firestore: listed with what is in use and waiting,
 * created and resized by operators (a resize without a description keeps the pool's), refused with
 * the bad field's path, deleted.
 */
import { MemoryFirestore, SEEDED, seedApiData, TOKENS, unitApi } from "./support";

async function setUp() {
  const memory = new MemoryFirestore();
  await seedApiData(memory);
  return { memory, api: unitApi(memory.db) };
}

describe("/pools", () => {
  it("lists a pool with its slots in use and tasks waiting", async () => {
    const { memory, api } = await setUp();
    memory.seed(`pools/${SEEDED.poolId}/slots/0`, { owner: "process-1", planId: "p", taskId: "t", attempt: 1, expiresAt: Date.now() + 60_000, at: 1 });
    memory.seed(`pools/${SEEDED.poolId}/slots/1`, { owner: "process-2", planId: "p", taskId: "u", attempt: 1, expiresAt: Date.now() - 1, at: 1 });
    memory.seed(`pools/${SEEDED.poolId}/waiters/p~v`, { planId: "p", taskId: "v", attempt: 1, priority: 0, since: 1 });
    const res = await api.call("GET", "/api/pools", { token: TOKENS.viewer });
    expect(res.status).toBe(200);
    // An expired slot (its process stopped renewing it) is not in use.
    expect(res.json.pools).toEqual([expect.objectContaining({ id: SEEDED.poolId, slots: 4, inUse: 1, waiting: 1, description: "deploys" })]);
  });

  it("resizes a pool, keeping its description when none is given, and creates a new one", async () => {
    const { memory, api } = await setUp();
    const resized = await api.call("POST", "/api/pools", { token: TOKENS.operator, body: { id: SEEDED.poolId, slots: 9 } });
    expect(resized.status).toBe(200);
    expect(memory.docs.get(`pools/${SEEDED.poolId}`)).toMatchObject({ slots: 9, description: "deploys", updatedBy: "operator@example.com" });
    const created = await api.call("POST", "/api/pools", { token: TOKENS.operator, body: { id: "exports", slots: 2, description: "nightly exports" } });
    expect(created.json.pool).toMatchObject({ id: "exports", slots: 2, description: "nightly exports" });
  });

  it("refuses a bad pool with the field's path, writing nothing", async () => {
    const { memory, api } = await setUp();
    for (const [body, path] of [
      [{ id: SEEDED.poolId, slots: 0 }, "slots"],
      [{ id: "plan-mine", slots: 2 }, "id"],
      [{ id: "Deploys", slots: 2 }, "id"],
      [{ id: "x", slots: 2, colour: "red" }, ""],
    ] as const) {
      const res = await api.call("POST", "/api/pools", { token: TOKENS.operator, body });
      expect(res.status).toBe(400);
      expect(((res.json.error as { errors: Array<{ path: string }> }).errors).map((e) => e.path)).toContain(path);
    }
    expect(memory.docs.get(`pools/${SEEDED.poolId}`)).toMatchObject({ slots: 4 });
    expect(memory.docs.has("pools/plan-mine")).toBe(false);
  });

  it("deletes a pool, and answers 404 for one that is not there", async () => {
    const { memory, api } = await setUp();
    expect((await api.call("POST", `/api/pools/${SEEDED.poolId}/delete`, { token: TOKENS.operator, body: {} })).status).toBe(200);
    expect(memory.docs.has(`pools/${SEEDED.poolId}`)).toBe(false);
    expect((await api.call("POST", `/api/pools/${SEEDED.poolId}/delete`, { token: TOKENS.operator, body: {} })).status).toBe(404);
  });
});
