/**
 * Operator actions through the API with an in-memory Firestore: commands carry the caller's ID
 * token as `credential` (never echoed back), are attributed by verified email or else uid, and are
 * recorded once, create-only, as `events/api.{commandId}` before they are published.
 */
import { TOPICS } from "../../../functions/src/config";
import { logs } from "../../../functions/src/logs";
import { planCommandSchema } from "../../../functions/src/schema/messages";
import { MemoryFirestore, SEEDED, seedApiData, TOKENS, unitApi } from "./support";

const commandsPath = `/api/plans/${SEEDED.planId}/commands`;
const auditPath = (commandId: string): string => `plans/${SEEDED.planId}/events/api.${commandId}`;

async function setUp() {
  const memory = new MemoryFirestore();
  await seedApiData(memory);
  return { memory, api: unitApi(memory.db) };
}

describe("POST /plans/:id/commands", () => {
  it("forwards the caller's ID token as the command's credential, and never returns it", async () => {
    const { api } = await setUp();
    const res = await api.call("POST", commandsPath, { token: TOKENS.operator, body: { command: "approve", taskId: SEEDED.gateTaskId, reason: "ok", commandId: "c-1" } });
    expect(res.status).toBe(202);
    expect(api.published).toEqual([{ topic: TOPICS.planCommands, message: { planId: SEEDED.planId, command: "approve", taskId: SEEDED.gateTaskId, by: "operator@example.com", reason: "ok", commandId: "c-1", credential: TOKENS.operator } }]);
    expect(planCommandSchema.safeParse(api.published[0]!.message).success).toBe(true);
    expect(res.json.accepted).toEqual({ planId: SEEDED.planId, command: "approve", taskId: SEEDED.gateTaskId, by: "operator@example.com", reason: "ok", commandId: "c-1" });
    expect(JSON.stringify(res)).not.toContain(TOKENS.operator);
  });

  it("attributes a caller whose email is not verified by uid, and still forwards their token", async () => {
    const { api, memory } = await setUp();
    const res = await api.call("POST", commandsPath, { token: TOKENS.unverifiedOperator, body: { command: "cancel", commandId: "c-unverified" } });
    expect(res.status).toBe(202);
    expect(api.published[0]!.message).toMatchObject({ by: "op-unverified", credential: TOKENS.unverifiedOperator });
    expect(memory.docs.get(auditPath("c-unverified"))).toMatchObject({ actor: "op-unverified", actorUid: "op-unverified" });
    expect(JSON.stringify(memory.docs.get(auditPath("c-unverified")))).not.toContain("claims-to-be@example.com");
  });

  it("records the request create-only before publishing, and refuses the same commandId again with 409", async () => {
    const { api, memory } = await setUp();
    const body = { command: "approve", taskId: SEEDED.gateTaskId, reason: "ship it", commandId: "dup-1" };
    expect((await api.call("POST", commandsPath, { token: TOKENS.operator, body })).status).toBe(202);
    expect(memory.docs.get(auditPath("dup-1"))).toEqual({
      at: 1_800_000_000_000,
      type: "command.requested",
      actor: "operator@example.com",
      actorUid: "op-1",
      command: "approve",
      taskId: SEEDED.gateTaskId,
      message: `approve of ${SEEDED.gateTaskId} requested by operator@example.com through the API: ship it`,
    });
    const again = await api.call("POST", commandsPath, { token: TOKENS.operator, body: { ...body, reason: "overwrite the record" } });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({ code: "already_exists", message: expect.stringMatching(/dup-1.*new commandId/) });
    expect(api.published).toHaveLength(1);
    expect(memory.docs.get(auditPath("dup-1"))).toMatchObject({ message: expect.stringMatching(/ship it$/) });
    // Audit records are only ever created, never set or updated.
    const eventWrites = memory.log.filter((a) => a.path.includes("/events/"));
    expect(eventWrites.map((a) => a.op)).toEqual(["create", "create"]);
    // The published commandId is the audit record's.
    expect(api.published[0]!.message.commandId).toBe("dup-1");
  });

  it("gives a command without a commandId a new one, used for the record and the message alike", async () => {
    const { api, memory } = await setUp();
    const res = await api.call("POST", commandsPath, { token: TOKENS.operator, body: { command: "retry" } });
    expect(res.status).toBe(202);
    const commandId = api.published[0]!.message.commandId as string;
    expect(commandId).toBe("id-1");
    expect(memory.docs.has(auditPath(commandId))).toBe(true);
    expect(memory.docs.get(auditPath(commandId))).not.toHaveProperty("taskId");
  });

  it("refuses a body that sets by or credential itself, or a commandId that is not one id, and writes and sends nothing", async () => {
    const { api, memory } = await setUp();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ command: "cancel", credential: "someone-elses-token" }, "credential"],
      [{ command: "cancel", by: "mallory" }, "by"],
      [{ command: "cancel", commandId: "a/b" }, "commandId"],
      [{ command: "cancel", commandId: "x/y/z" }, "commandId"],
      [{ command: "approve" }, "taskId"],
      [{ command: "retry", taskId: "../gate" }, "taskId"],
    ];
    for (const [body, path] of cases) {
      const res = await api.call("POST", commandsPath, { token: TOKENS.operator, body });
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
      expect((res.json.error as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toContain(path);
    }
    expect(api.published).toEqual([]);
    expect(memory.log).toEqual([]);
  });

  it("answers 404 for an unknown plan or task without recording anything", async () => {
    const { api, memory } = await setUp();
    expect((await api.call("POST", "/api/plans/no-such-plan/commands", { token: TOKENS.operator, body: { command: "cancel" } })).status).toBe(404);
    expect((await api.call("POST", commandsPath, { token: TOKENS.operator, body: { command: "approve", taskId: "no-such-task" } })).status).toBe(404);
    expect(memory.writes()).toEqual([]);
    expect(api.published).toEqual([]);
  });

  it("answers 503 when the command cannot be published, keeping the record of the request", async () => {
    const memory = new MemoryFirestore();
    await seedApiData(memory);
    const api = unitApi(memory.db, {
      publish: async () => {
        throw new Error("14 UNAVAILABLE: pubsub is down");
      },
    });
    const logged = jest.spyOn(logs, "unexpected").mockImplementation(() => undefined);
    const res = await api.call("POST", commandsPath, { token: TOKENS.operator, body: { command: "cancel", commandId: "lost-1" } });
    expect(res.status).toBe(503);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(logged.mock.calls, (_k, v: unknown) => (v instanceof Error ? v.message : v))).not.toContain(TOKENS.operator);
    logged.mockRestore();
    expect(res.json.error).toMatchObject({ code: "unavailable", message: expect.stringMatching(/new commandId/) });
    expect(memory.docs.has(auditPath("lost-1"))).toBe(true);
    expect(JSON.stringify(res)).not.toContain(TOKENS.operator);
  });
});

describe("POST /plans", () => {
  it("creates the plan and its submitted event with create() only, recording who from the verified token", async () => {
    const { api, memory } = await setUp();
    const res = await api.call("POST", "/api/plans", { token: TOKENS.operator, body: { name: "n", tasks: [{ id: "a", run: "noop" }] } });
    expect(res.status).toBe(201);
    const id = res.json.id as string;
    expect(memory.log.filter((a) => a.op !== "commit")).toEqual([
      // Validated as the trigger will: with the deployment's protection policy, and what earlier runs took.
      { op: "get", path: "config/protection" },
      { op: "get", path: "stats/taskDurations" },
      { op: "create", path: `plans/${id}` },
      { op: "create", path: `plans/${id}/events/plan.submitted` },
    ]);
    expect(memory.docs.get(`plans/${id}`)).toMatchObject({ createdBy: { uid: "op-1", email: "operator@example.com" } });
    expect(memory.docs.get(`plans/${id}/events/plan.submitted`)).toMatchObject({ type: "plan.submitted", actor: "operator@example.com" });
  });

  it("records no email for a creator whose email is not verified, and refuses a body that sets createdBy", async () => {
    const { api, memory } = await setUp();
    const res = await api.call("POST", "/api/plans", { token: TOKENS.unverifiedOperator, body: { tasks: [{ id: "a", run: "noop" }] } });
    expect(res.status).toBe(201);
    expect(memory.docs.get(`plans/${res.json.id as string}`)).toMatchObject({ createdBy: { uid: "op-unverified", email: null } });
    expect(memory.docs.get(`plans/${res.json.id as string}/events/plan.submitted`)).toMatchObject({ actor: "op-unverified" });
    const forged = await api.call("POST", "/api/plans", { token: TOKENS.operator, body: { createdBy: { uid: "someone" }, tasks: [{ id: "a", run: "noop" }] } });
    expect(forged.status).toBe(400);
    expect((forged.json.error as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toEqual(["createdBy"]);
  });
});

describe("POST /health/run", () => {
  it("names the caller by verified email, else uid", async () => {
    const { api } = await setUp();
    await api.call("POST", "/api/health/run", { token: TOKENS.operator, body: {} });
    await api.call("POST", "/api/health/run", { token: TOKENS.unverifiedOperator, body: {} });
    expect(api.published.map((p) => p.message.requestedBy)).toEqual(["operator@example.com", "op-unverified"]);
  });
});
