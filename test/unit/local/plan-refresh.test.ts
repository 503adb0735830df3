/**
 * `npm run plan -- <file> --refresh`: the diff against the live state, read through the official
 * clients from a local control plane the demo plan was provisioned into. Zero changes on the
 * provisioned demo; one changed setting shows exactly that change; rules diff as text.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startControlPlane, isMutating, type ControlPlane } from "../../../local/control-plane";
import { createGoogleClients, googleClientConfigFromEnv, type GoogleClients } from "../../../functions/src/clients/google";
import { compilePlan } from "../../../functions/src/planner/compile";
import { provisionDirectly } from "../../../local/provision";

const ROOT = join(__dirname, "..", "..", "..");
const EXAMPLE = join(ROOT, "examples", "lang-trak.json");

let cp: ControlPlane;
let clients: GoogleClients;
const dir = mkdtempSync(join(tmpdir(), "plan-refresh-"));

/** The CLI as a child process (asynchronously: the control plane answers from this process). */
function plan(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "local", "plan.ts"), ...args], { cwd: ROOT, env: { ...process.env, ...cp.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** The example with production's settings for one integration changed. */
function withProductionSettings(name: string, settings: Record<string, Record<string, unknown>>): string {
  const doc = JSON.parse(readFileSync(EXAMPLE, "utf8")) as { environments: Array<Record<string, unknown>> };
  doc.environments.find((e) => e.name === "production")!.settings = settings;
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

beforeAll(async () => {
  cp = await startControlPlane();
  clients = createGoogleClients(googleClientConfigFromEnv(cp.env));
  // The demo, provisioned: every provision task of the compiled example, in plan order.
  const compiled = compilePlan(JSON.parse(readFileSync(EXAMPLE, "utf8")) as Record<string, unknown>);
  if (!compiled.ok) throw new Error("the example does not compile");
  await provisionDirectly(compiled.plan.tasks, clients, "demo");
}, 60_000);

afterAll(async () => {
  await clients.close();
  await cp.stop();
});

describe("npm run plan -- --refresh", () => {
  it("on the provisioned demo: 0 changes, exit 0 with --detailed-exitcode, and nothing is changed", async () => {
    cp.clearCalls();
    const out = await plan([EXAMPLE, "--refresh", "--detailed-exitcode"]);
    expect(out.stderr).toBe("");
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/Plan: 0 to create, 0 to change, \d+ unchanged\./);
    expect(out.stdout).not.toMatch(/^\s+(\+|~|-\/\+) /m);
    expect(cp.calls().filter(isMutating)).toEqual([]);
  }, 60_000);

  it("one changed setting shows exactly that change, and --detailed-exitcode exits 4", async () => {
    const out = await plan([withProductionSettings("backup", { backup: { schedule: "0 4 * * *" } }), "--refresh", "--detailed-exitcode"]);
    expect(out.status).toBe(4);
    const changed = out.stdout.split("\n").filter((l) => /^\s+(\+|~|-\/\+) /.test(l));
    expect(changed).toEqual([expect.stringMatching(/~ backup\s+projects\/lang-trak-prod\/locations\/us-central1\/jobs\/orchestrator-firestore-backup {2}\(update\)$/)]);
    expect(out.stdout).toContain('schedule: "0 3 * * *" → "0 4 * * *"');
    expect(out.stdout).toMatch(/Plan: 0 to create, 1 to change, \d+ unchanged\./);
  }, 60_000);

  it("rules show as a unified diff, and --json carries the change sets", async () => {
    const rules = "rules_version = '2';\nservice cloud.firestore {\n  match /databases/{database}/documents {\n    match /{document=**} {\n      allow read: if request.auth != null;\n    }\n  }\n}\n";
    const file = withProductionSettings("rules", { database: { rules, indexes: [{ collectionGroup: "words", fields: [{ fieldPath: "lang", order: "ASCENDING" }, { fieldPath: "createdAt", order: "DESCENDING" }] }] } });
    const text = await plan([file, "--refresh"]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/~ database\s+projects\/lang-trak-prod\/releases\/cloud\.firestore/);
    expect(text.stdout).toContain("--- before");
    expect(text.stdout).toContain("+      allow read: if request.auth != null;");

    const json = await plan([file, "--refresh", "--json"]);
    const parsed = JSON.parse(json.stdout) as { refresh: { total: Record<string, number>; tasks: Array<{ taskId: string; changes: Array<{ type: string; action: string; fields: Array<{ field: string }> }> }> } };
    const database = parsed.refresh.tasks.find((t) => t.taskId === "production.database")!;
    expect(database.changes.find((c) => c.type === "rules.release")).toMatchObject({ action: "update", fields: [{ field: "source" }] });
    expect(parsed.refresh.total.update).toBe(1);
  }, 60_000);

  it("without a control plane it says how to get one, and exits 1", async () => {
    const child = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const env = { ...process.env };
      for (const key of Object.keys(cp.env)) delete env[key];
      // A port offset no stack runs on: no control-plane file for it.
      const p = spawn(process.execPath, ["--import", "tsx", join(ROOT, "local", "plan.ts"), EXAMPLE, "--refresh"], { cwd: ROOT, env: { ...env, ORCHESTRATOR_PORT_OFFSET: "7771" } });
      let stderr = "";
      p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      p.on("close", (status) => resolve({ status, stderr }));
    });
    expect(child.status).toBe(1);
    expect(child.stderr).toMatch(/no local control plane to refresh against: start the stack \(npm start\), or pass --project/);
  }, 60_000);
});
