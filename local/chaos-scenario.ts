/**
 * `npm run chaos -- scenario`: on the running local stack (`npm start` in another terminal, its
 * demo finished), drives the SRE side of the orchestrator visibly, step by step, with the numbers:
 *
 *   1. an outage pages: production's hosting goes down; its availability SLO's page tier fires
 *      within a few health runs (every 30 s locally), and the incident opens;
 *   2. a maintenance window keeps the budget: staging goes down inside one; nothing is recorded
 *      against its SLO and nothing pages;
 *   3. a freeze makes a plan wait: a plan that touches staging during a freeze waits, naming it,
 *      until an operator overrides it with a reason;
 *   4. a bake rolls back: a plan bakes staging for 3 minutes, staging goes down during the bake,
 *      the page tier fails the bake, and the plan's failure policy rolls it back.
 *
 * It talks to the stack as the demo operator, through the same API as the page and the command
 * line, and to the local control plane's chaos endpoint; it puts back what it changed.
 */
import type { ApiResponse } from "../functions/src/api/http";
import type { Backend } from "./cli/backend";
import { resolveBackend } from "./cli/target";

type Json = Record<string, unknown>;
const PROD = "lang-trak-prod";
const STAGING = "lang-trak-staging";
const started = Date.now();
const stamp = (): string => `[${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s]`;
const say = (line: string): void => console.log(`${stamp()} ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function body(res: ApiResponse, what: string): Json {
  if (res.status >= 200 && res.status < 300) return res.body as Json;
  throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting ${Math.round(timeoutMs / 1000)} s for ${what}`);
    await sleep(2_000);
  }
}

async function chaos(controlPlane: string, environment: string, integration: string, mode: string): Promise<void> {
  const res = await fetch(`${controlPlane}/__control/chaos`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ environment, integration, mode }) });
  if (!res.ok) throw new Error(`chaos ${environment} ${integration} ${mode}: HTTP ${res.status}`);
}

interface Alert {
  id: string;
  key: string;
  title: string;
  message: string;
  severity: string;
  firstSeen: number;
  budgetCost?: { minutes: number; fraction: number | null } | null;
}

const openAlert = async (api: Backend, key: string): Promise<Alert | undefined> => ((body(await api.get("/alerts", { status: "open", limit: "200" }), "alerts").alerts as Alert[]).find((a) => a.key === key));

interface GoalView {
  goalId: string;
  environmentId: string;
  slos?: Array<{ key: string; errorBudgetLeftFraction: number; sliPercent: number | null; firing: string | null }>;
}
const availabilitySlo = async (api: Backend, envId: string) => ((body(await api.get("/goals"), "goals").goals as GoalView[]).find((g) => g.environmentId === envId)?.slos ?? []).find((s) => s.key === "availability");

async function planStatus(api: Backend, planId: string): Promise<{ status: string; plan: Json; tasks: Json[] }> {
  const b = body(await api.get(`/plans/${encodeURIComponent(planId)}`), `plan ${planId}`);
  return { status: String((b.plan as Json).status), plan: b.plan as Json, tasks: b.tasks as Json[] };
}

async function command(api: Backend, planId: string, command: string, reason?: string): Promise<void> {
  body(await api.post(`/plans/${encodeURIComponent(planId)}/commands`, { command, ...(reason === undefined ? {} : { reason }) }), `${command} of ${planId}`);
}

async function outagePages(api: Backend, cp: string): Promise<void> {
  say("1. An outage pages. production's hosting goes down now…");
  const key = `slo:high_availability:availability:${PROD}:page`;
  const earlier = await openAlert(api, key);
  const downAt = Date.now();
  await chaos(cp, PROD, "hosting", "down");
  if (earlier !== undefined) {
    // An earlier outage's page is still open (it resolves once its short windows are clean): it is the same incident.
    say(`   production was already paged (since ${new Date(earlier.firstSeen).toISOString()}): the page stays open through this outage`);
  }
  const alert = earlier ?? (await until("production's page", () => openAlert(api, key), 5 * 60_000));
  if (earlier === undefined) say(`   ✓ paged ${Math.max(0, Math.round((alert.firstSeen - downAt) / 1000))} s after the outage began: "${alert.title}" (${alert.severity})`);
  await sleep(35_000);
  const now = await openAlert(api, key);
  say(`     ${now?.message ?? alert.message}`);
  await chaos(cp, PROD, "hosting", "up");
  say("   production's hosting is back up; the page resolves once its short windows are clean (5 min for the 1 h tier, 30 min for the 6 h tier).");
}

async function maintenanceKeepsBudget(api: Backend, cp: string): Promise<void> {
  say("2. A maintenance window keeps the budget. staging goes down inside one…");
  const before = await availabilitySlo(api, STAGING);
  const now = Date.now();
  body(await api.post("/windows", { id: "chaos-maintenance", kind: "maintenance", name: "staging database upgrade", environments: ["staging"], oneTime: [{ start: now - 60_000, end: now + 10 * 60_000 }] }), "the maintenance window");
  await chaos(cp, STAGING, "hosting", "down");
  try {
    // Three health runs (30 s apart locally) see staging down inside the window.
    await sleep(100_000);
    const after = await availabilitySlo(api, STAGING);
    const paged = await openAlert(api, `slo:high_availability:availability:${STAGING}:page`);
    say(`   ✓ staging was down for 100 s in the window: budget left ${after?.errorBudgetLeftFraction ?? "—"} (before ${before?.errorBudgetLeftFraction ?? "—"}), availability ${after?.sliPercent ?? "—"} %, ${paged === undefined ? "no page" : `PAGED: ${paged.title}`}`);
  } finally {
    await chaos(cp, STAGING, "hosting", "up");
    body(await api.post("/windows/chaos-maintenance/delete", {}), "deleting the maintenance window");
  }
}

async function freezeMakesPlanWait(api: Backend): Promise<void> {
  say("3. A freeze makes a plan wait. staging is frozen; a plan that verifies it is applied…");
  const now = Date.now();
  body(await api.post("/windows", { id: "chaos-freeze", kind: "freeze", name: "release freeze", reason: "chaos scenario", environments: ["staging"], oneTime: [{ start: now - 60_000, end: now + 60 * 60_000 }] }), "the freeze window");
  try {
    const created = body(await api.post("/plans", { name: "chaos: verify staging during a freeze", tasks: [{ id: "verify", run: "firebase", params: { integration: "environment", action: "verify", environment: "staging", projectId: STAGING, region: "us-central1", settings: { integrations: [] } } }] }), "the frozen plan");
    const planId = String(created.id);
    const waiting = await until("the plan to wait for the freeze", async () => {
      const p = await planStatus(api, planId);
      return p.status === "waiting" ? p.plan : undefined;
    }, 60_000);
    const w = waiting.waitingFor as { name?: string; environment?: string; until?: number };
    say(`   ✓ plan ${planId} waits: ${w.environment} is frozen by "${w.name}" until ${new Date(w.until ?? 0).toISOString()}`);
    await command(api, planId, "override", "chaos scenario: the fix must ship");
    const end = await until("the overridden plan to finish", async () => {
      const p = await planStatus(api, planId);
      return ["succeeded", "failed", "cancelled"].includes(p.status) ? p.status : undefined;
    }, 120_000);
    say(`   ✓ overridden by the operator with a reason (recorded in its history): the plan ${end}`);
  } finally {
    body(await api.post("/windows/chaos-freeze/delete", {}), "deleting the freeze window");
  }
}

async function bakeRollsBack(api: Backend, cp: string): Promise<void> {
  say("4. A bake rolls back. A plan provisions staging's hosting, then bakes staging for 3 minutes…");
  const plan = {
    name: "chaos: bake staging",
    failurePolicy: "rollback",
    environments: [{ name: "staging", projectId: STAGING, region: "us-central1", integrations: ["hosting"], autoDeploy: true, bakeMinutes: 3 }],
  };
  const planId = String(body(await api.post("/plans", plan), "the baking plan").id);
  await until("the bake to start watching", async () => {
    const p = await planStatus(api, planId);
    return p.tasks.some((t) => t.id === "staging.bake" && t.status === "waiting_external") ? true : undefined;
  }, 120_000);
  say("   the bake watches staging; staging's hosting goes down…");
  await chaos(cp, STAGING, "hosting", "down");
  try {
    const end = await until("the bake's verdict and the rollback", async () => {
      const p = await planStatus(api, planId);
      return ["rolled_back", "rollback_failed", "failed", "succeeded"].includes(p.status) ? p : undefined;
    }, 6 * 60_000);
    const bake = end.tasks.find((t) => t.id === "staging.bake") as { error?: { message?: string } } | undefined;
    say(`   ✓ the bake failed: ${bake?.error?.message ?? "(no error recorded)"}`);
    say(`   ✓ the plan's failure policy applied: plan ${planId} is ${end.status}`);
  } finally {
    await chaos(cp, STAGING, "hosting", "up");
  }
}

export async function runScenario(controlPlane: string): Promise<number> {
  const api = resolveBackend({});
  try {
    say(`on the local stack (${api.describe}); health runs every 30 s`);
    await outagePages(api, controlPlane);
    await maintenanceKeepsBudget(api, controlPlane);
    await freezeMakesPlanWait(api);
    await bakeRollsBack(api, controlPlane);
    say("done: see the overview's incidents, the plans' histories, and /api/incidents.atom.");
    return 0;
  } finally {
    await api.close();
  }
}
