/**
 * The `firebase-orchestrator` command line as a user runs it (a child process), against the whole
 * local stack: a plan applied from a file, its gate refused to its creator and approved by another
 * operator signed in with --email, followed to its end as NDJSON, its history, the list, a refused
 * command on a finished plan, a viewer kept from acting, and a command sent over Pub/Sub instead of
 * the API.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAuth } from "firebase-admin/auth";
import { createDemoAccounts } from "../../local/demo-accounts";
import { ROOT } from "../../local/project";
import { testFirestore, waitFor } from "../support/emulators";

const db = testFirestore();
const ana = { email: "ana.cli@example.com", password: "ana-cli-e2e" };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command line as `npm run orchestrator` does (node with tsx), with `env` added. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", join(ROOT, "local", "orchestrator.ts"), ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr });
    });
  });
}

const asAna = { ORCHESTRATOR_PASSWORD: ana.password };
const gateStatus = async (planId: string) => (await db.collection("plans").doc(planId).collection("tasks").doc("gate").get()).get("status") as string | undefined;

let file: string;

beforeAll(async () => {
  await createDemoAccounts();
  const auth = getAuth();
  const user = await auth.getUserByEmail(ana.email).catch(() => auth.createUser({ email: ana.email, password: ana.password, emailVerified: true }));
  await auth.setCustomUserClaims(user.uid, { role: "operator" });
  const dir = mkdtempSync(join(tmpdir(), "cli-e2e-"));
  file = join(dir, "gated.json");
  writeFileSync(file, JSON.stringify({ name: "cli gated", approvers: ["operator@example.com", ana.email], tasks: [{ id: "build", run: "noop" }, { id: "gate", run: "approval", needs: ["build"] }, { id: "ship", run: "noop", needs: ["gate"] }] }));
});

describe("firebase-orchestrator on the local stack", () => {
  it("applies a plan, refuses its gate to the creator, lets another operator approve it, and follows it to success", async () => {
    const applied = await cli(["apply", file, "--detach", "--json"]);
    expect(applied).toMatchObject({ code: 0 });
    const planId = (JSON.parse(applied.stdout) as { planId: string }).planId;
    await waitFor("the gate to wait", async () => ((await gateStatus(planId)) === "waiting_approval" ? true : undefined), 60_000);

    const status = await cli(["status", planId]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`waiting  gate for approval: firebase-orchestrator approve ${planId} gate`);
    expect(status.stderr).toContain("as operator@example.com");

    // The demo operator wrote the plan: the engine refuses its own approval (no self-approval).
    const self = await cli(["approve", planId, "gate"]);
    expect(self.code).toBe(2);
    expect(self.stdout).toContain("✗ approve refused: operator@example.com created this plan and may not approve its gate gate");

    const approved = await cli(["approve", planId, "gate", "--email", ana.email, "--reason", "release notes read"], asAna);
    expect(approved.stderr).toContain(`as ${ana.email}`);
    expect(approved).toMatchObject({ code: 0 });
    expect(approved.stdout).toContain(`gate approved by ${ana.email}: release notes read`);

    const watched = await cli(["status", planId, "--watch", "--json", "--timeout", "90"]);
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ kind: "end", status: "succeeded", exitCode: 0 });
    expect(lines.some((l) => l.kind === "event" && l.id === "plan.submitted")).toBe(true);
    expect(lines.some((l) => l.kind === "task" && l.taskId === "ship")).toBe(true);

    const history = await cli(["history", planId]);
    expect(history.code).toBe(0);
    expect(history.stdout).toContain(`approve refused`);
    expect(history.stdout).toContain(`gate approved by ${ana.email}: release notes read`);

    const listed = await cli(["list", "--json", "--limit", "20"]);
    expect((JSON.parse(listed.stdout) as { plans: Array<{ id: string; status: string }> }).plans).toContainEqual(expect.objectContaining({ id: planId, status: "succeeded" }));

    // A finished plan cannot be cancelled: refused, with the engine's reason.
    const cancel = await cli(["cancel", planId, "--reason", "too late"]);
    expect(cancel.code).toBe(2);
    expect(cancel.stdout).toContain("cancel refused");

    // A viewer reads but does not act.
    expect((await cli(["status", planId, "--as", "viewer", "--json"])).code).toBe(0);
    const viewer = await cli(["rollback", planId, "--as", "viewer"]);
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toContain('this needs role "operator"');
  });

  it("sends a command over Pub/Sub with the signed-in identity as its credential (--via pubsub)", async () => {
    const applied = await cli(["apply", file, "--detach", "--json", "--via", "pubsub"]);
    expect(applied).toMatchObject({ code: 0 });
    const planId = (JSON.parse(applied.stdout) as { planId: string }).planId;
    await waitFor("the gate to wait", async () => ((await gateStatus(planId)) === "waiting_approval" ? true : undefined), 60_000);
    const approved = await cli(["approve", planId, "gate", "--via", "pubsub", "--email", ana.email], asAna);
    expect(approved.stderr).toContain("Firestore and Pub/Sub");
    expect(approved).toMatchObject({ code: 0 });
    const ended = await cli(["status", planId, "--watch", "--via", "pubsub", "--timeout", "90"]);
    expect(ended.code).toBe(0);
    expect(ended.stdout).toMatch(/status +succeeded/);
  });

  it("reports usage mistakes and unknown plans with their exit codes", async () => {
    expect((await cli(["status"])).code).toBe(64);
    const missing = await cli(["status", "no-such-plan"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no plan "no-such-plan"');
    const badId = await cli(["status", "a/b"]);
    expect(badId.code).toBe(1);
  });
});
