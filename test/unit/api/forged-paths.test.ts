/**
 * Paths built to reach documents the route does not name (`a%2Ftasks%2Fb` read a task through the
 * plan views before ids were checked), reserved or oversized ids, broken percent-encoding, extra
 * and empty segments: each is refused (400 or 404) before anything is read, whoever asks.
 */
import { MemoryFirestore, SEEDED, seedApiData, TOKENS, unitApi, untouchableFirestore } from "./support";

const BIG = "a".repeat(1501);

/** [method, path, status, the segment named in the 400] */
const FORGED: Array<[string, string, 400 | 404, string?]> = [
  ["GET", "/api/plans/a%2Ftasks%2Fb", 400, "planId"],
  ["GET", "/api/plans/a%2ftasks%2fb/summary", 400, "planId"],
  ["GET", "/api/plans/a%2Ftasks%2Fb/events", 400, "planId"],
  ["GET", "/api/plans/a%2Ftasks%2Fb/graph", 400, "planId"],
  ["POST", "/api/plans/a%2Ftasks%2Fb/commands", 400, "planId"],
  ["GET", "/api/plans/a%2Ftasks", 400, "planId"],
  ["GET", "/api/plans/%2e%2e", 400, "planId"],
  ["GET", "/api/plans/%2E", 400, "planId"],
  ["GET", "/api/plans/..", 400, "planId"],
  ["GET", "/api/plans/__x__", 400, "planId"],
  ["GET", "/api/plans/__x__/timeline", 400, "planId"],
  ["GET", "/api/environments/__x__", 400, "environmentId"],
  ["GET", "/api/environments/a%2Fb", 400, "environmentId"],
  ["GET", "/api/reports/%2e%2e", 400, "reportId"],
  ["GET", "/api/reports/__name__", 400, "reportId"],
  ["GET", `/api/plans/${BIG}`, 400, "planId"],
  ["GET", `/api/reports/${BIG}`, 400, "reportId"],
  ["GET", `/api/plans/${"%C3%A9".repeat(751)}`, 400, "planId"],
  ["GET", "/api/plans/%E0%A4%A", 400, "path"],
  ["GET", "/api/plans/%", 400, "path"],
  ["POST", "/api/plans/%E0%A4%A/commands", 400, "path"],
  ["GET", "/api/plans//summary", 400, "planId"],
  ["GET", "/api/plans/x/tasks/b", 404],
  ["GET", "/api/plans/x/summary/extra", 404],
  ["GET", "/api/plans/x/commands/y", 404],
  ["GET", "/api/environments/x/y", 404],
  ["GET", "/api/reports/x/y", 404],
  ["GET", "/api/ping/x", 404],
  ["GET", "/api/config/x", 404],
  ["GET", "/api/goals/x", 404],
  ["POST", "/api/health/run/x", 404],
  ["GET", "/api//plans", 404],
  ["GET", "/api/plans/x//summary", 404],
  ["GET", "/api/plans%2Fx", 404],
  ["GET", "/api/nothing", 404],
  ["GET", "/api", 404],
];

describe("forged and odd paths", () => {
  it.each(FORGED.map(([method, path, status, segment]) => [`${method} ${path.slice(0, 60)}`, method, path, status, segment] as const))("%s", async (_name, method, path, status, segment) => {
    for (const token of [undefined, TOKENS.garbage, TOKENS.viewer, TOKENS.operator]) {
      const trap = untouchableFirestore();
      const api = unitApi(trap.db);
      const res = await api.call(method, path, { token, body: method === "POST" ? { command: "cancel" } : undefined });
      expect([path.slice(0, 60), token, res.status]).toEqual([path.slice(0, 60), token, status]);
      const error = res.json.error as { code: string; message: string; errors?: Array<{ path: string; message: string }> };
      expect(error.code).toBe(status === 400 ? "invalid_argument" : "not_found");
      if (segment !== undefined) expect(error.errors?.map((e) => e.path)).toEqual([segment]);
      expect(trap.touched).toEqual([]);
      expect(api.verifications).toEqual([]);
      expect(api.published).toEqual([]);
    }
  });

  it("quotes a rejected id shortened, and says how to send one", async () => {
    const res = await unitApi(untouchableFirestore().db).call("GET", `/api/plans/${BIG}`, { token: TOKENS.viewer });
    const error = res.json.error as { message: string; errors: Array<{ message: string }> };
    expect(error.message.length).toBeLessThan(300);
    expect(error.message).toMatch(/planId \(path segment 2/);
    expect(error.errors[0]!.message).toMatch(/1501 bytes.*at most 1500/);
  });

  it("reads the document the id names, and only that one, for ids at the limits", async () => {
    const memory = new MemoryFirestore();
    await seedApiData(memory);
    const api = unitApi(memory.db);
    const longest = "é".repeat(750);
    expect((await api.call("GET", `/api/plans/${encodeURIComponent(longest)}`, { token: TOKENS.viewer })).status).toBe(404);
    expect(memory.log.filter((a) => a.op === "get").map((a) => a.path)).toEqual([`plans/${longest}`]);
    // An encoded id that decodes to a valid one is the same id; a trailing slash is forgiven.
    expect((await api.call("GET", `/api/plans/${encodeURIComponent(SEEDED.planId)}/`, { token: TOKENS.viewer })).status).toBe(200);
    expect((await api.call("GET", `/api/plans/plan%2D1`, { token: TOKENS.viewer })).status).toBe(200);
  });

  it("never reads a task through a plan view, even when one exists at the forged path", async () => {
    const memory = new MemoryFirestore();
    await seedApiData(memory);
    const api = unitApi(memory.db);
    const forged = await api.call("GET", `/api/plans/${SEEDED.planId}%2Ftasks%2F${SEEDED.gateTaskId}`, { token: TOKENS.viewer });
    expect(forged.status).toBe(400);
    expect(JSON.stringify(forged.json)).not.toContain("approval");
    expect(memory.log).toEqual([]);
  });
});
