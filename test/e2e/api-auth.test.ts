/**
 * The API through the Hosting rewrite with real Firebase Auth ID tokens from the Auth emulator
 * (verified by firebase-admin inside the functions emulator): roles from custom claims, and an
 * operator's approval reaching the engine and being recorded with their name.
 */
import { createDemoAccounts, type DemoAccount } from "../../local/demo-accounts";
import { followPlan } from "../../local/progress";
import { emulator } from "../../local/project";
import { idToken } from "../support/auth";
import { testFirestore, waitFor } from "../support/emulators";

const db = testFirestore();
const hosting = `http://${emulator("hosting").host}:${emulator("hosting").port}`;
let operator: DemoAccount;
let viewer: DemoAccount;


async function call(path: string, token: string | null, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${hosting}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { ...(token === null ? {} : { Authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

beforeAll(async () => {
  ({ operator, viewer } = await createDemoAccounts());
});

describe("the API with real ID tokens", () => {
  it("tells the page how to sign in and serves the public status without a token", async () => {
    const config = await call("/api/config", null);
    expect(config.status).toBe(200);
    expect(config.json).toMatchObject({ publicStatus: true, emulators: { auth: `http://${emulator("auth").host}:${emulator("auth").port}` } });
    expect((await call("/api/overview", null)).status).toBe(200);
  });

  it("refuses the anonymous and forged tokens, and keeps operator actions from viewers", async () => {
    expect((await call("/api/plans", null)).status).toBe(401);
    expect((await call("/api/plans", "not-a-token")).status).toBe(401);
    const viewerToken = await idToken(viewer);
    expect((await call("/api/plans", viewerToken)).status).toBe(200);
    expect((await call("/api/plans", viewerToken, { tasks: [{ id: "a", run: "noop" }] })).status).toBe(403);
    expect((await call("/api/health/run", viewerToken, {})).status).toBe(403);
  });

  it("creates a plan for an operator, which the engine runs, and refuses an invalid one with paths", async () => {
    const token = await idToken(operator);
    const bad = await call("/api/plans", token, { tasks: [{ id: "x", run: "delay", params: { ms: -1 } }] });
    expect(bad.status).toBe(400);
    expect((bad.json.error as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toContain("tasks.0.params.ms");
    const good = await call("/api/plans", token, { name: "e2e via api", tasks: [{ id: "a", run: "noop" }, { id: "b", run: "noop", needs: ["a"] }] });
    expect(good.status).toBe(201);
    const outcome = await followPlan(db, good.json.id as string, { print: false, timeoutMs: 60_000 });
    expect(outcome.status).toBe("succeeded");
  });

  it("passes an operator's approval to the engine, attributed to them", async () => {
    const token = await idToken(operator);
    const created = await call("/api/plans", token, {
      name: "e2e gate",
      approvers: [operator.email],
      // The operator wrote this plan: its gate must allow self-approval for them to pass it.
      tasks: [{ id: "gate", run: "approval", params: { allowSelfApproval: true } }, { id: "after", run: "noop", needs: ["gate"] }],
    });
    expect(created.status).toBe(201);
    const planId = created.json.id as string;
    await waitFor("the gate to wait for approval", async () => ((await db.collection("plans").doc(planId).collection("tasks").doc("gate").get()).get("status") === "waiting_approval" ? true : undefined));
    const sent = await call(`/api/plans/${planId}/commands`, token, { command: "approve", taskId: "gate", reason: "e2e" });
    expect(sent.status).toBe(202);
    expect(sent.json.accepted).toMatchObject({ by: operator.email, command: "approve" });
    const outcome = await followPlan(db, planId, { print: false, timeoutMs: 60_000 });
    expect(outcome.status).toBe("succeeded");
    const events = await db.collection("plans").doc(planId).collection("events").get();
    expect(events.docs.some((e) => e.get("actor") === operator.email && String(e.get("type")).includes("approv"))).toBe(true);
  });
});
