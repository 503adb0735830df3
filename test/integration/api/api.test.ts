/**
 * The status page's API against the Firestore emulator: status codes, roles, validation with field
 * paths, ids from the path checked before any read, nothing partial written, pagination, ETags, and
 * commands recorded once (create-only) and published to Pub/Sub with the caller's token as
 * `credential`. ID tokens are checked by an injected verifier here; test/e2e/api-auth.test.ts uses
 * real Auth-emulator tokens.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PubSub, type Message } from "@google-cloud/pubsub";
import { TOPICS } from "../../../functions/src/config";
import { ensureTopic, publishJson } from "../../../functions/src/bus/publish";
import { encodeCursor } from "../../../functions/src/api/http";
import { PROJECT_ID, requireEmulators, testFirestore, uniqueId } from "../../support/emulators";
import { testApi } from "./context";
import { seedAlert, seedCompiledPlan, seedEnvironments } from "./fixtures";

requireEmulators("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST");
const db = testFirestore();
const langTrak = JSON.parse(readFileSync(join(__dirname, "../../../examples/lang-trak.json"), "utf8")) as Record<string, unknown>;
const OP = "operator-token";
const VIEWER = "viewer-token";

describe("the API's access rules", () => {
  const api = testApi();

  it("serves the page's config and a ping to anyone", async () => {
    const config = await api.call("GET", "/api/config");
    expect(config.status).toBe(200);
    expect(config.json).toMatchObject({ firebase: { projectId: "demo-orchestrator" }, publicStatus: true, emulators: { auth: "http://127.0.0.1:9099" } });
    expect((await api.call("GET", "/api/ping")).status).toBe(200);
  });

  it("answers 401 without a token or with a bad one, 403 without the role, 200 with it", async () => {
    expect((await api.call("GET", "/api/plans")).status).toBe(401);
    expect((await api.call("GET", "/api/plans", { token: "forged" })).status).toBe(401);
    expect((await api.call("GET", "/api/plans", { token: "no-role-token" })).status).toBe(403);
    expect((await api.call("GET", "/api/plans", { token: VIEWER })).status).toBe(200);
    expect((await api.call("POST", "/api/plans", { token: VIEWER, body: { tasks: [{ id: "a", run: "noop" }] } })).status).toBe(403);
    expect((await api.call("POST", "/api/health/run", { token: VIEWER, body: {} })).status).toBe(403);
    expect((await api.call("POST", "/api/plans/x/commands", { token: "no-role-token", body: { command: "cancel" } })).status).toBe(403);
  });

  it("answers 404 for unknown routes and ids, 405 for wrong methods", async () => {
    expect((await api.call("GET", "/api/nothing", { token: VIEWER })).status).toBe(404);
    for (const view of ["", "/summary", "/graph", "/timeline", "/cost", "/risks", "/compliance", "/events", "/report"]) {
      const res = await api.call("GET", `/api/plans/no-such-plan${view}`, { token: VIEWER });
      expect([view, res.status]).toEqual([view, 404]);
    }
    expect((await api.call("GET", "/api/environments/no-such-env", { token: VIEWER })).status).toBe(404);
    expect((await api.call("GET", "/api/reports/no-such-report", { token: VIEWER })).status).toBe(404);
    expect((await api.call("DELETE", "/api/plans", { token: OP })).status).toBe(405);
    expect((await api.call("GET", "/api/plans/x/commands", { token: OP })).status).toBe(405);
  });

  it("refuses ids that are not one document id with 400, never reading through them", async () => {
    const planId = uniqueId("api-forged");
    await seedCompiledPlan(db, planId, { tasks: [{ id: "secret", run: "noop" }] }, Date.now());
    expect((await db.collection("plans").doc(planId).collection("tasks").doc("secret").get()).exists).toBe(true);
    for (const path of [`/api/plans/${planId}%2Ftasks%2Fsecret`, "/api/plans/a%2Ftasks%2Fb", `/api/plans/${planId}%2Ftasks%2Fsecret/summary`, "/api/plans/__x__", "/api/plans/%2e%2e", `/api/plans/${"a".repeat(1501)}`, "/api/environments/__x__", "/api/reports/a%2Fb"]) {
      const res = await api.call("GET", path, { token: VIEWER });
      expect([path.slice(0, 80), res.status, (res.json.error as { code: string }).code]).toEqual([path.slice(0, 80), 400, "invalid_argument"]);
      expect(JSON.stringify(res.json)).not.toContain('"run":"noop"');
    }
    expect((await api.call("POST", `/api/plans/${planId}%2Ftasks%2Fsecret/commands`, { token: OP, body: { command: "cancel" } })).status).toBe(400);
    expect((await api.call("GET", "/api/plans/%E0%A4%A", { token: VIEWER })).status).toBe(400);
    expect((await api.call("GET", `/api/plans/${planId}/tasks/secret`, { token: VIEWER })).status).toBe(404);
  });
});

describe("POST /api/plans", () => {
  const api = testApi();

  it("creates a valid plan attributed to the caller, in one batch with its submitted event", async () => {
    const res = await api.call("POST", "/api/plans", { token: OP, body: { name: "api-created", tasks: [{ id: "a", run: "noop" }, { id: "b", run: "noop", needs: ["a"] }] } });
    expect(res.status).toBe(201);
    const id = res.json.id as string;
    expect(res.headers?.Location).toBe(`/api/plans/${id}`);
    expect(res.json.summary).toMatchObject({ taskCount: 2, edgeCount: 1, outcome: "run" });
    const doc = await db.collection("plans").doc(id).get();
    expect(doc.data()).toMatchObject({ name: "api-created", tasks: [{ id: "a" }, { id: "b" }] });
    expect(typeof doc.get("createdAt")).toBe("number");
    expect(doc.get("status")).toBeUndefined();
    expect(doc.get("createdBy")).toEqual({ uid: "op-1", email: "operator@example.com" });
    const submitted = await db.collection("plans").doc(id).collection("events").doc("plan.submitted").get();
    expect(submitted.data()).toMatchObject({ type: "plan.submitted", actor: "operator@example.com" });
  });

  it("refuses an invalid plan with every field path and writes nothing", async () => {
    const before = api.ids.length;
    const res = await api.call("POST", "/api/plans", { token: OP, body: { tasks: [{ id: "x", run: "delay", params: { ms: "soon" } }, { id: "y", run: "noop", needs: ["missing"] }], surprise: 1 } });
    expect(res.status).toBe(400);
    const error = res.json.error as { code: string; errors: Array<{ path: string; message: string }> };
    expect(error.code).toBe("invalid_argument");
    expect(error.errors.map((e) => e.path)).toEqual(expect.arrayContaining(["tasks.0.params.ms"]));
    expect(error.errors.every((e) => typeof e.message === "string" && e.message.length > 0)).toBe(true);
    expect(api.ids.length).toBe(before);
  });

  it("refuses fields the orchestrator owns, a cycle, a body that is not an object, and validates without writing on request", async () => {
    const system = await api.call("POST", "/api/plans", { token: OP, body: { status: "succeeded", compiled: {}, tasks: [{ id: "a", run: "noop" }] } });
    expect(system.status).toBe(400);
    expect((system.json.error as { errors: Array<{ path: string }> }).errors.map((e) => e.path).sort()).toEqual(["compiled", "status"]);
    const cycle = await api.call("POST", "/api/plans", { token: OP, body: { tasks: [{ id: "a", run: "noop", needs: ["b"] }, { id: "b", run: "noop", needs: ["a"] }] } });
    expect(cycle.status).toBe(400);
    expect(JSON.stringify(cycle.json)).toMatch(/cycle/i);
    expect((await api.call("POST", "/api/plans", { token: OP, body: [1, 2] })).status).toBe(400);
    expect((await api.call("POST", "/api/plans", { token: OP, body: "{not json" })).status).toBe(400);
    const before = api.ids.length;
    const dry = await api.call("POST", "/api/plans", { token: OP, body: langTrak, query: { validateOnly: "true" } });
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ valid: true, summary: { form: "environments", environmentCount: 3 } });
    expect(api.ids.length).toBe(before);
  });
});

describe("plan views", () => {
  const api = testApi();
  const planId = uniqueId("api-views");
  beforeAll(() => seedCompiledPlan(db, planId, langTrak, Date.now()));

  it("serves the summary, graph, timeline, cost, risks and compliance from the stored report", async () => {
    const summary = await api.call("GET", `/api/plans/${planId}/summary`, { token: VIEWER });
    expect(summary.status).toBe(200);
    const compiled = (summary.json.plan as { compiled: { taskCount: number } }).compiled;
    expect(summary.json.taskCounts).toEqual({ blocked: compiled.taskCount });

    const graph = (await api.call("GET", `/api/plans/${planId}/graph`, { token: VIEWER })).json as { nodes: Array<{ id: string }>; edges: Array<{ from: string; to: string }>; criticalPath: { taskIds: string[] } };
    expect(graph.nodes).toHaveLength(compiled.taskCount);
    expect(graph.edges.length).toBeGreaterThan(0);
    expect(graph.criticalPath.taskIds.length).toBeGreaterThan(1);

    const timeline = (await api.call("GET", `/api/plans/${planId}/timeline`, { token: VIEWER })).json as { rows: Array<{ id: string; status: string | null; actualStartSeconds: number | null }> };
    expect(timeline.rows).toHaveLength(compiled.taskCount);
    expect(timeline.rows.every((r) => r.status === "blocked" && r.actualStartSeconds === null)).toBe(true);

    const cost = (await api.call("GET", `/api/plans/${planId}/cost`, { token: VIEWER })).json as { cost: { totalMonthlyUsd: number; rows: unknown[] } };
    expect(cost.cost.totalMonthlyUsd).toBeGreaterThan(0);
    const risks = (await api.call("GET", `/api/plans/${planId}/risks`, { token: VIEWER })).json as { risks: Array<{ severity: string; mitigation: string }> };
    expect(risks.risks.every((r) => r.mitigation.length > 0)).toBe(true);
    const compliance = (await api.call("GET", `/api/plans/${planId}/compliance`, { token: VIEWER })).json as { compliance: Array<{ id: string; status: string }> };
    expect(compliance.compliance.map((c) => c.id)).toContain("goal:high_availability");
  });

  it("pages through a plan's tasks and events with cursors", async () => {
    const page1 = await api.call("GET", `/api/plans/${planId}`, { token: VIEWER, query: { limit: "5" } });
    expect(page1.status).toBe(200);
    expect(page1.json.tasks).toHaveLength(5);
    expect(page1.json.tasksTruncated).toBe(true);
    const page2 = await api.call("GET", `/api/plans/${planId}`, { token: VIEWER, query: { limit: "5", cursor: page1.json.nextCursor as string } });
    const ids = [...(page1.json.tasks as Array<{ id: string }>), ...(page2.json.tasks as Array<{ id: string }>)].map((t) => t.id);
    expect(new Set(ids).size).toBe(10);
    expect([...ids].sort()).toEqual(ids);

    const events = db.collection("plans").doc(planId).collection("events");
    await Promise.all(Array.from({ length: 7 }, (_, i) => events.doc(`e${i}`).set({ at: 1000 + i, type: "test", actor: "t", message: `event ${i}` })));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const res = await api.call("GET", `/api/plans/${planId}/events`, { token: VIEWER, query: { limit: "3", ...(cursor ? { cursor } : {}) } });
      seen.push(...(res.json.events as Array<{ id: string }>).map((e) => e.id));
      cursor = (res.json.nextCursor as string | null) ?? undefined;
      if (cursor === undefined) break;
    }
    expect(seen).toEqual(["e0", "e1", "e2", "e3", "e4", "e5", "e6"]);
    const latest = await api.call("GET", `/api/plans/${planId}/events`, { token: VIEWER, query: { limit: "2", order: "latest" } });
    expect((latest.json.events as Array<{ id: string }>).map((e) => e.id)).toEqual(["e6", "e5"]);
  });

  it("pages the plan list newest first, filters by status, and refuses forged cursors", async () => {
    const far = 9e15;
    const mine = Array.from({ length: 5 }, (_, i) => uniqueId(`page${i}`));
    await Promise.all(mine.map((id, i) => db.collection("plans").doc(id).set({ tasks: [{ id: "a", run: "noop" }], status: i % 2 === 0 ? "succeeded" : "failed", createdAt: far + i })));
    const first = await api.call("GET", "/api/plans", { token: VIEWER, query: { limit: "2" } });
    const second = await api.call("GET", "/api/plans", { token: VIEWER, query: { limit: "2", cursor: first.json.nextCursor as string } });
    const third = await api.call("GET", "/api/plans", { token: VIEWER, query: { limit: "2", cursor: second.json.nextCursor as string } });
    const listed = [first, second, third].flatMap((r) => (r.json.plans as Array<{ id: string }>).map((p) => p.id));
    expect(listed.slice(0, 5)).toEqual([...mine].reverse());

    const failed = await api.call("GET", "/api/plans", { token: VIEWER, query: { status: "failed", limit: "100" } });
    const failedIds = (failed.json.plans as Array<{ id: string; status: string }>).filter((p) => mine.includes(p.id));
    expect(failedIds.map((p) => p.id)).toEqual([mine[3], mine[1]]);
    expect((await api.call("GET", "/api/plans", { token: VIEWER, query: { status: "bogus" } })).status).toBe(400);
    expect((await api.call("GET", "/api/plans", { token: VIEWER, query: { cursor: "garbage" } })).status).toBe(400);
    expect((await api.call("GET", "/api/plans", { token: VIEWER, query: { cursor: encodeCursor(["x"]) } })).status).toBe(400);
    const capped = await api.call("GET", "/api/plans", { token: VIEWER, query: { limit: "100000" } });
    expect((capped.json.plans as unknown[]).length).toBeLessThanOrEqual(100);
  });

  it("answers an unchanged view with 304 to If-None-Match", async () => {
    const first = await api.call("GET", `/api/plans/${planId}/graph`, { token: VIEWER });
    const etag = first.headers!.ETag!;
    const again = await api.call("GET", `/api/plans/${planId}/graph`, { token: VIEWER, headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(again.body).toBeNull();
  });
});

describe("operator commands", () => {
  const api = testApi();
  const planId = uniqueId("api-cmd");
  beforeAll(() => seedCompiledPlan(db, planId, { tasks: [{ id: "build", run: "noop" }, { id: "gate", run: "approval", needs: ["build"] }] }, Date.now()));

  it("publishes a valid command with `by` taken from the verified token and the token itself as `credential`", async () => {
    const res = await api.call("POST", `/api/plans/${planId}/commands`, { token: OP, body: { command: "approve", taskId: "gate", reason: "looks good", commandId: "c-1" } });
    expect(res.status).toBe(202);
    expect(api.published.at(-1)).toEqual({ topic: TOPICS.planCommands, message: { planId, command: "approve", taskId: "gate", by: "operator@example.com", reason: "looks good", commandId: "c-1", credential: OP } });
    expect(JSON.stringify(res.json)).not.toContain(OP);
    const cancel = await api.call("POST", `/api/plans/${planId}/commands`, { token: OP, body: { command: "cancel" } });
    expect(cancel.status).toBe(202);
    expect((api.published.at(-1)!.message as { commandId: string }).commandId).toMatch(/^api-/);
  });

  it("records each accepted command once, create-only, and refuses the same commandId again with 409", async () => {
    const commandId = uniqueId("audit");
    const audit = db.collection("plans").doc(planId).collection("events").doc(`api.${commandId}`);
    const first = await api.call("POST", `/api/plans/${planId}/commands`, { token: OP, body: { command: "approve", taskId: "gate", reason: "first", commandId } });
    expect(first.status).toBe(202);
    const record = await audit.get();
    expect(record.data()).toEqual({
      at: expect.any(Number),
      type: "command.requested",
      actor: "operator@example.com",
      actorUid: "op-1",
      command: "approve",
      taskId: "gate",
      message: "approve of gate requested by operator@example.com through the API: first",
    });
    const published = api.published.filter((p) => (p.message as { commandId?: string }).commandId === commandId);
    expect(published).toHaveLength(1);
    expect(published[0]!.message).toMatchObject({ commandId, credential: OP, by: "operator@example.com" });

    const count = api.published.length;
    const again = await api.call("POST", `/api/plans/${planId}/commands`, { token: OP, body: { command: "reject", taskId: "gate", reason: "second", commandId } });
    expect(again.status).toBe(409);
    expect((again.json.error as { code: string }).code).toBe("already_exists");
    expect(api.published.length).toBe(count);
    const after = await audit.get();
    expect(after.get("message")).toBe(record.get("message"));
    expect(after.updateTime?.isEqual(record.updateTime!)).toBe(true);
  });

  it("names a caller whose email is not verified by uid, and still forwards their token", async () => {
    const res = await api.call("POST", `/api/plans/${planId}/commands`, { token: "unverified-operator-token", body: { command: "retry" } });
    expect(res.status).toBe(202);
    expect(api.published.at(-1)!.message).toMatchObject({ by: "op-unverified", credential: "unverified-operator-token" });
  });

  it("refuses actions of a revoked session (revocation is checked for actions only)", async () => {
    const count = api.published.length;
    const res = await api.call("POST", `/api/plans/${planId}/commands`, { token: "revoked-token", body: { command: "cancel" } });
    expect(res.status).toBe(401);
    expect((res.json.error as { message: string }).message).toMatch(/session was revoked/);
    expect(api.published.length).toBe(count);
    expect((await api.call("GET", `/api/plans/${planId}/summary`, { token: "revoked-token" })).status).toBe(200);
  });

  it("refuses bad commands with field paths and publishes nothing", async () => {
    const count = api.published.length;
    const cases: Array<[unknown, string]> = [
      [{ command: "approve" }, "taskId"],
      [{ command: "explode" }, "command"],
      [{ command: "cancel", by: "someone-else" }, "by"],
      [{ command: "cancel", credential: "someone-elses-token" }, "credential"],
      [{ command: "cancel", commandId: "a/b" }, "commandId"],
      [{ command: "cancel", planId: "another" }, "planId"],
      [{ command: "cancel", extra: true }, ""],
      [{ command: "retry", taskId: "bad/id" }, "taskId"],
    ];
    for (const [body, path] of cases) {
      const res = await api.call("POST", `/api/plans/${planId}/commands`, { token: OP, body });
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
      expect((res.json.error as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toContain(path);
    }
    expect((await api.call("POST", `/api/plans/no-such-plan/commands`, { token: OP, body: { command: "cancel" } })).status).toBe(404);
    expect((await api.call("POST", `/api/plans/${planId}/commands`, { token: OP, body: { command: "approve", taskId: "no-such-task" } })).status).toBe(404);
    expect(api.published.length).toBe(count);
  });

  it("asks for a health run attributed to the caller", async () => {
    const res = await api.call("POST", "/api/health/run", { token: OP, body: { reason: "after the deploy" } });
    expect(res.status).toBe(202);
    expect(api.published.at(-1)).toEqual({ topic: TOPICS.healthRuns, message: { requestedBy: "operator@example.com", reason: "after the deploy" } });
    expect((await api.call("POST", "/api/health/run", { token: OP })).status).toBe(202);
    const forged = await api.call("POST", "/api/health/run", { token: OP, body: { requestedBy: "mallory" } });
    expect(forged.status).toBe(400);
    expect((await api.call("POST", "/api/health/run", { token: OP, body: { reason: 5 } })).status).toBe(400);
  });

  it("reaches Pub/Sub through the real publisher", async () => {
    await ensureTopic(TOPICS.planCommands);
    const pubsub = new PubSub({ projectId: PROJECT_ID });
    const [sub] = await pubsub.topic(TOPICS.planCommands).createSubscription(uniqueId("api-capture"));
    const received = new Promise<Record<string, unknown>>((resolve) =>
      sub.on("message", (m: Message) => {
        m.ack();
        const body = JSON.parse(m.data.toString("utf8")) as Record<string, unknown>;
        if (body.planId === planId && body.commandId === "real-1") resolve(body);
      }),
    );
    const real = testApi({ publish: publishJson });
    expect((await real.call("POST", `/api/plans/${planId}/commands`, { token: OP, body: { command: "retry", commandId: "real-1" } })).status).toBe(202);
    expect(await received).toMatchObject({ command: "retry", by: "operator@example.com", commandId: "real-1", credential: OP });
    await sub.close();
    await sub.delete();
  });
});

describe("status views", () => {
  const now = Date.now();
  const prefix = `${uniqueId("st")}-`;
  const alertId = uniqueId("alert");
  beforeAll(async () => {
    await seedEnvironments(db, now, { prefix });
    await seedAlert(db, alertId, now + 1e12);
    await seedAlert(db, `${alertId}-resolved`, now, { status: "resolved", resolvedAt: now });
  });

  it("shows the public environment health, 90-day uptime and open incidents without signing in", async () => {
    const res = await testApi().call("GET", "/api/overview");
    expect(res.status).toBe(200);
    const body = res.json as { scope: string; environments: Array<Record<string, unknown> & { id: string; uptime: unknown[] }>; alerts: Array<Record<string, unknown>>; goals?: unknown };
    expect(body.scope).toBe("public");
    const prod = body.environments.find((e) => e.id === `${prefix}lang-trak-prod`)!;
    expect(prod).toMatchObject({ name: "production", tier: "production", status: "degraded", availability: "up" });
    // In promotion order, each named as its plan names it (the project id is its id).
    const mine = body.environments.filter((e) => e.id.startsWith(prefix)).map((e) => [e.name, e.id.slice(prefix.length)]);
    expect(mine).toEqual([["development", "lang-trak-dev"], ["staging", "lang-trak-staging"], ["production", "lang-trak-prod"]]);
    expect(prod.uptime).toHaveLength(90);
    expect(prod.goals).toBeUndefined();
    expect(body.goals).toBeUndefined();
    const alert = body.alerts.find((a) => a.id === alertId)!;
    expect(alert).toMatchObject({ title: "lang-trak-prod monitoring is slow", severity: "warning" });
    expect(alert.message).toBeUndefined();
    expect(body.alerts.some((a) => a.id === `${alertId}-resolved`)).toBe(false);
  });

  it("keeps the status private when the deployment says so", async () => {
    const api = testApi({ publicStatus: false });
    expect((await api.call("GET", "/api/overview")).status).toBe(401);
    expect((await api.call("GET", "/api/environments")).status).toBe(401);
    expect((await api.call("GET", "/api/overview", { token: "forged" })).status).toBe(401);
    expect((await api.call("GET", "/api/overview", { token: VIEWER })).status).toBe(200);
  });

  it("gives viewers goals with error budgets, alert detail, reports and environment detail", async () => {
    const api = testApi();
    const res = await api.call("GET", "/api/overview", { token: VIEWER });
    const body = res.json as { scope: string; goals: Array<{ environmentId: string; errorBudgetLeftMinutes: number }>; alerts: Array<{ id: string; message: string }> };
    expect(body.scope).toBe("viewer");
    expect(body.goals.filter((g) => g.environmentId.startsWith(prefix)).map((g) => g.environmentId).sort()).toEqual([`${prefix}lang-trak-prod`, `${prefix}lang-trak-staging`]);
    expect(body.alerts.find((a) => a.id === alertId)?.message).toMatch(/1.4 s/);
    const resolved = await api.call("GET", "/api/alerts", { token: VIEWER, query: { status: "resolved", limit: "200" } });
    expect((resolved.json.alerts as Array<{ id: string }>).map((a) => a.id)).toContain(`${alertId}-resolved`);
    expect((await api.call("GET", "/api/alerts", { token: VIEWER, query: { status: "weird" } })).status).toBe(400);
    const detail = await api.call("GET", `/api/environments/${prefix}lang-trak-dev`, { token: VIEWER });
    expect(detail.status).toBe(200);
    expect((await api.call("GET", "/api/goals", { token: VIEWER })).status).toBe(200);
    expect((await api.call("GET", "/api/reports", { token: VIEWER })).status).toBe(200);
    expect((await api.call("GET", "/api/goals")).status).toBe(401);
  });
});
