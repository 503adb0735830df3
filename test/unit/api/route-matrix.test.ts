/**
 * Every route declared in the router's header comment (functions/src/api/handler.ts) against every
 * kind of caller: anonymous, a garbage token, a revoked session, no role, viewer, operator, and
 * the wrong method. Also: actions verify tokens with revocation checked, reads without, and
 * public routes never look at the token.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { API_ROUTES, type Access } from "../../../functions/src/api/handler";
import { MemoryFirestore, SEEDED, seedApiData, TOKENS, unitApi } from "./support";

interface DeclaredRoute {
  access: Access;
  method: "GET" | "POST";
  path: string;
}

/** `/plans/:id/{a,b}` → `/plans/:id/a`, `/plans/:id/b`. */
const expand = (path: string): string[] => {
  const m = /^(.*)\{([^}]*)\}(.*)$/.exec(path);
  return m === null ? [path] : m[2]!.split(",").flatMap((alt) => expand(`${m[1]}${alt.trim()}${m[3]}`));
};

/** The route list of handler.ts's header comment, as people read it. */
function declaredRoutes(): DeclaredRoute[] {
  const source = readFileSync(join(__dirname, "../../../functions/src/api/handler.ts"), "utf8");
  const header = source.slice(0, source.indexOf("*/"));
  const routes: DeclaredRoute[] = [];
  let current: Omit<DeclaredRoute, "path"> | undefined;
  for (const line of header.split("\n")) {
    const start = /^\s*\*\s+(public\*?|viewer|operator)\s+(GET|POST)\s+(.*)$/.exec(line);
    const more = /^\s*\*\s{8,}(\/.*)$/.exec(line);
    let list: string;
    if (start !== null) {
      current = { access: start[1] === "public*" ? "status" : (start[1] as Access), method: start[2] as "GET" | "POST" };
      list = start[3]!;
    } else if (more !== null && current !== undefined) {
      list = more[1]!;
    } else {
      if (current !== undefined && routes.length > 0) break;
      continue;
    }
    const paths = list.replace(/\(.*\)/, "").split(/,(?![^{]*\})/).map((p) => p.trim()).filter(Boolean);
    for (const path of paths.flatMap(expand)) routes.push({ ...current, path });
  }
  return routes;
}

const key = (r: { method: string; path: string; access: Access }): string => `${r.access} ${r.method} ${r.path.replace(/:[A-Za-z]+/g, ":id")}`;

const declared = declaredRoutes();

describe("the declared routes", () => {
  it("are exactly the routes the router serves", () => {
    expect(declared.length).toBeGreaterThanOrEqual(20);
    expect(declared.map(key).sort()).toEqual(API_ROUTES.map(key).sort());
  });
});

type CallerKind = "anonymous" | "garbage" | "revoked" | "no-role" | "viewer" | "operator";
const CALLERS: Record<CallerKind, string | undefined> = {
  anonymous: undefined,
  garbage: TOKENS.garbage,
  revoked: TOKENS.revoked,
  "no-role": TOKENS.noRole,
  viewer: TOKENS.viewer,
  operator: TOKENS.operator,
};

/** What each caller gets from a route of each access (public status on). The revoked session is an operator's. */
const EXPECTED: Record<Access, Record<CallerKind, "ok" | number>> = {
  public: { anonymous: "ok", garbage: "ok", revoked: "ok", "no-role": "ok", viewer: "ok", operator: "ok" },
  status: { anonymous: "ok", garbage: 401, revoked: "ok", "no-role": "ok", viewer: "ok", operator: "ok" },
  viewer: { anonymous: 401, garbage: 401, revoked: "ok", "no-role": 403, viewer: "ok", operator: "ok" },
  operator: { anonymous: 401, garbage: 401, revoked: 401, "no-role": 403, viewer: 403, operator: "ok" },
};

const concrete = (path: string): string =>
  `/api${path.replace("/plans/:id", `/plans/${SEEDED.planId}`).replace("/environments/:id", `/environments/${SEEDED.environmentId}`).replace("/reports/:id", `/reports/${SEEDED.reportId}`).replace("/windows/:id", `/windows/${SEEDED.windowId}`).replace("/schedules/:id", `/schedules/${SEEDED.scheduleId}`).replace("/templates/:id", `/templates/${SEEDED.templateId}`).replace("/pools/:id", `/pools/${SEEDED.poolId}`)}`;

/** A valid body for each action, and the success status it answers with. */
const ACTION: Record<string, { body: unknown; status: number }> = {
  "/plans": { body: { tasks: [{ id: "a", run: "noop" }] }, status: 201 },
  "/plans/:id/commands": { body: { command: "cancel" }, status: 202 },
  "/health/run": { body: { reason: "matrix" }, status: 202 },
  "/windows": { body: { id: "freeze-1", kind: "freeze", name: "holidays", environments: ["production"], oneTime: [{ start: "2026-12-24T00:00:00Z", end: "2026-12-27T00:00:00Z" }] }, status: 200 },
  "/windows/:id/delete": { body: {}, status: 200 },
  "/schedules": { body: { id: "nightly", cron: "0 3 * * *", timeZone: "Europe/Berlin", plan: { tasks: [{ id: "a", run: "noop" }] } }, status: 200 },
  "/schedules/:id/pause": { body: {}, status: 200 },
  "/schedules/:id/resume": { body: {}, status: 200 },
  "/schedules/:id/backfill": { body: { from: "2027-01-15T07:01:00Z", to: "2027-01-15T07:04:00Z" }, status: 200 },
  "/schedules/:id/delete": { body: {}, status: 200 },
  "/templates": { body: { id: "nightly", params: { region: { type: "string" } }, plan: { tasks: [{ id: "a", run: "noop", name: "in ${params.region}" }] } }, status: 200 },
  "/templates/:id/delete": { body: {}, status: 200 },
  "/pools": { body: { id: "deploys", slots: 8 }, status: 200 },
  "/pools/:id/delete": { body: {}, status: 200 },
};

describe.each(declared.map((r) => [`${r.method} ${r.path} (${r.access})`, r] as const))("%s", (_name, route) => {
  const path = concrete(route.path);
  const success = route.method === "GET" ? 200 : ACTION[route.path]!.status;

  it.each(Object.keys(CALLERS) as CallerKind[])("as %s", async (caller) => {
    const memory = new MemoryFirestore();
    await seedApiData(memory);
    const api = unitApi(memory.db);
    const token = CALLERS[caller];
    const res = await api.call(route.method, path, { token, body: route.method === "POST" ? ACTION[route.path]!.body : undefined });
    const expected = EXPECTED[route.access][caller];
    expect([caller, res.status, res.json.error]).toEqual([caller, expected === "ok" ? success : expected, expected === "ok" ? undefined : expect.anything()]);

    // Actions check revocation; reads do not (and public routes do not verify at all).
    if (route.access === "public" || token === undefined) expect(api.verifications).toEqual([]);
    else expect(api.verifications).toEqual([{ token, checkRevoked: route.method === "POST" }]);
    if (caller === "revoked" && expected !== "ok") expect((res.json.error as { message: string }).message).toMatch(/session was revoked/);
    // A refused action published and wrote nothing.
    if (route.method === "POST" && expected !== "ok") {
      expect(api.published).toEqual([]);
      expect(memory.writes()).toEqual([]);
    }
  });

  it("refuses the other method with 405 before looking at the caller", async () => {
    const other = route.method === "GET" ? "POST" : "GET";
    if (API_ROUTES.some((r) => r.method === other && key({ ...r, access: route.access }) === key({ ...route, method: other }))) return; // /plans takes both
    const memory = new MemoryFirestore();
    const api = unitApi(memory.db);
    for (const token of Object.values(CALLERS)) {
      const res = await api.call(other, path, { token, body: {} });
      expect(res.status).toBe(405);
      expect(res.headers?.Allow).toBe(route.method);
    }
    expect(api.verifications).toEqual([]);
    expect(memory.log).toEqual([]);
  });
});

describe("callers outside the matrix", () => {
  it("keeps the status views for viewers when the deployment makes them private", async () => {
    const memory = new MemoryFirestore();
    await seedApiData(memory);
    const api = unitApi(memory.db, { publicStatus: false });
    for (const route of declared.filter((r) => r.access === "status")) {
      const path = concrete(route.path);
      expect([path, (await api.call("GET", path)).status]).toEqual([path, 401]);
      expect([path, (await api.call("GET", path, { token: TOKENS.noRole })).status]).toEqual([path, 403]);
      expect([path, (await api.call("GET", path, { token: TOKENS.viewer })).status]).toEqual([path, 200]);
    }
  });

  it("refuses every action of a disabled account with 403 saying so, and still lets its session read", async () => {
    const memory = new MemoryFirestore();
    await seedApiData(memory);
    const api = unitApi(memory.db);
    for (const route of declared.filter((r) => r.method === "POST")) {
      const res = await api.call("POST", concrete(route.path), { token: TOKENS.disabled, body: ACTION[route.path]!.body });
      expect(res.status).toBe(403);
      expect((res.json.error as { message: string }).message).toMatch(/disabled/);
    }
    expect((await api.call("GET", `/api/plans/${SEEDED.planId}`, { token: TOKENS.disabled })).status).toBe(200);
    expect(api.published).toEqual([]);
    expect(memory.writes()).toEqual([]);
  });

  it("answers HEAD like GET and OPTIONS (a CORS preflight) with 405 and no CORS headers", async () => {
    const api = unitApi(new MemoryFirestore().db);
    expect((await api.call("HEAD", "/api/ping")).status).toBe(200);
    const preflight = await api.call("OPTIONS", "/api/plans", { token: TOKENS.operator });
    expect(preflight.status).toBe(405);
    expect(preflight.headers).toEqual({ Allow: "GET, POST" });
  });
});
