/**
 * Trust boundaries on the whole local stack (functions as deployed, real Pub/Sub, the Auth
 * emulator's ID tokens, service-account ID tokens signed by the local control plane and verified by
 * google-auth-library inside the command function):
 *   - a bare Pub/Sub approve leaves the gate waiting and records the refusal;
 *   - the plan's creator cannot approve their own gate;
 *   - a task plan that touches a protected project gets the policy's gate, which needs two distinct
 *     approvers of three, one of them a service account whose signed command passes.
 */
import { getAuth } from "firebase-admin/auth";
import { publishJson } from "../../functions/src/bus/publish";
import { TOPICS } from "../../functions/src/config";
import { INTEGRATIONS } from "../../functions/src/planner/catalogue";
import { commandAudience } from "../../functions/src/trust/verifiers";
import { createDemoAccounts, idToken, type DemoAccount } from "../../local/demo-accounts";
import { followPlan } from "../../local/progress";
import { emulator } from "../../local/project";
import { testFirestore, uniqueId, waitFor } from "../support/emulators";

const db = testFirestore();
const hosting = `http://${emulator("hosting").host}:${emulator("hosting").port}`;
const controlPlane = process.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT!;
const PROTECTED = "trust-e2e-prod";
const DEPLOYER = "deployer@demo-orchestrator.iam.gserviceaccount.com";
const ana = { email: "ana@example.com", password: "ana-trust-e2e" };
const bob = { email: "bob@example.com", password: "bob-trust-e2e" };
let operator: DemoAccount;

const plan = (id: string) => db.collection("plans").doc(id);
const taskOf = async (planId: string, taskId: string) => (await plan(planId).collection("tasks").doc(taskId).get()).data() ?? {};
const events = async (planId: string) => (await plan(planId).collection("events").orderBy("at").get()).docs.map((d) => d.data());
const waitForStatus = (planId: string, taskId: string, status: string) =>
  waitFor(`${taskId} ${status}`, async () => ((await taskOf(planId, taskId)).status === status ? true : undefined), 60_000);
/** Waits until the plan's history has an event matching `test` (commands are applied asynchronously). */
const waitForEvent = (planId: string, what: string, test: (e: Record<string, unknown>) => boolean) =>
  waitFor(what, async () => (await events(planId)).find(test), 30_000);

async function serviceAccountToken(serviceAccount: string): Promise<string> {
  // What `gcloud auth print-identity-token --impersonate-service-account=... --include-email` calls.
  const res = await fetch(`${controlPlane}/v1/projects/-/serviceAccounts/${serviceAccount}:generateIdToken`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ audience: commandAudience(), includeEmail: true }),
  });
  return ((await res.json()) as { token: string }).token;
}

async function api(path: string, token: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${hosting}${path}`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

beforeAll(async () => {
  ({ operator } = await createDemoAccounts());
  for (const user of [ana, bob]) {
    await getAuth()
      .createUser({ ...user, emailVerified: true })
      .catch(async () => getAuth().updateUser((await getAuth().getUserByEmail(user.email)).uid, { password: user.password, emailVerified: true }));
  }
  await db.collection("config").doc("protection").set({
    protectedEnvironments: [{ projectId: PROTECTED, approvers: [ana.email, bob.email, DEPLOYER], requiredApprovals: 2, approvalDeadlineHours: 1 }],
  });
});

afterAll(async () => {
  await db.collection("config").doc("protection").delete();
});

describe("approvals over Pub/Sub", () => {
  it("refuses a bare approve naming the listed approver, leaves the gate waiting and records why", async () => {
    const planId = uniqueId("bare");
    await plan(planId).set({ approvers: [operator.email], tasks: [{ id: "gate", run: "approval" }, { id: "after", run: "noop", needs: ["gate"] }] });
    await waitForStatus(planId, "gate", "waiting_approval");
    await publishJson(TOPICS.planCommands, [{ planId, command: "approve", taskId: "gate", by: operator.email, commandId: `${planId}-bare` }]);
    const refused = await waitForEvent(planId, "the refusal", (e) => e.type === "command.refused");
    expect(refused).toMatchObject({ actor: `${operator.email} (unverified)`, message: expect.stringContaining("no verified credential") });
    // A credential that is not one fails the same way, with its own reason.
    await publishJson(TOPICS.planCommands, [{ planId, command: "approve", taskId: "gate", by: operator.email, credential: "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2V2aWwifQ.", commandId: `${planId}-forged` }]);
    await waitForEvent(planId, "the second refusal", (e) => e.type === "command.refused" && String(e.message).includes("neither Firebase Auth nor Google"));
    expect((await taskOf(planId, "gate")).status).toBe("waiting_approval");
    await publishJson(TOPICS.planCommands, [{ planId, command: "approve", taskId: "gate", by: operator.email, credential: await idToken(operator) }]);
    expect(await followPlan(db, planId, { print: false, timeoutMs: 60_000 })).toMatchObject({ status: "succeeded" });
  });

  it("refuses the plan's creator on their own gate (no self-approval by default)", async () => {
    const token = await idToken(operator);
    const created = await api("/api/plans", token, { approvers: [operator.email], tasks: [{ id: "gate", run: "approval" }] });
    expect(created.status).toBe(201);
    const planId = created.json.id as string;
    await waitForStatus(planId, "gate", "waiting_approval");
    expect((await api(`/api/plans/${planId}/commands`, token, { command: "approve", taskId: "gate" })).status).toBe(202);
    const refused = await waitForEvent(planId, "the refusal", (e) => e.type === "command.refused");
    expect(refused.message).toContain(`${operator.email} created this plan and may not approve its gate gate`);
    expect((await taskOf(planId, "gate")).status).toBe("waiting_approval");
    expect((await api(`/api/plans/${planId}/commands`, token, { command: "cancel" })).status).toBe(202);
    expect(await followPlan(db, planId, { print: false, timeoutMs: 60_000 })).toMatchObject({ status: "cancelled" });
  });
});

describe("a protected environment", () => {
  it("gates a task plan that touches it, and its 2-of-3 gate needs two distinct approvers, a signed service account among them", async () => {
    const planId = uniqueId("protected");
    await plan(planId).set({
      name: "straight to production, no gate of its own",
      approvers: ["mallory@example.com"],
      tasks: [
        { id: "rules", run: "firebase", params: { integration: "database", environment: "production", projectId: PROTECTED, region: "us-central1", settings: INTEGRATIONS.database!.settings("production") } },
      ],
    });
    const gate = `protected.${PROTECTED}.approval`;
    await waitForStatus(planId, gate, "waiting_approval");
    expect(await taskOf(planId, "rules")).toMatchObject({ status: "blocked", needs: [gate] });

    const send = async (account: { email: string; password: string }) =>
      publishJson(TOPICS.planCommands, [{ planId, command: "approve", taskId: gate, by: account.email, credential: await idToken(account) }]);
    await send(ana);
    await waitFor("ana's approval", async () => ((await taskOf(planId, gate)).approvals?.length === 1 ? true : undefined));
    // The same approver again counts once; someone who is not listed counts not at all.
    await send(ana);
    await waitForEvent(planId, "ana's second approval refused", (e) => e.type === "command.refused" && String(e.message).includes("already approved"));
    await send(operator);
    await waitForEvent(planId, "the operator refused", (e) => e.type === "command.refused" && String(e.message).includes(`${operator.email} is not an approver`));
    expect(await taskOf(planId, gate)).toMatchObject({ status: "waiting_approval", approvals: [expect.objectContaining({ by: ana.email })] });

    await publishJson(TOPICS.planCommands, [{ planId, command: "approve", taskId: gate, by: "ci", reason: "release train", credential: await serviceAccountToken(DEPLOYER) }]);
    expect(await followPlan(db, planId, { print: false, timeoutMs: 90_000 })).toMatchObject({ status: "succeeded" });
    expect((await taskOf(planId, gate)).approvals.map((a: { by: string }) => a.by)).toEqual([ana.email, DEPLOYER]);
    const approved = (await events(planId)).find((e) => e.type === "task.approved");
    expect(approved).toMatchObject({ actor: DEPLOYER, data: { via: "google-oidc" } });
  });
});
