/**
 * The load test of operator controls: 50 plans over 5 environments at once, their provisions in a
 * shared pool and each plan limited by `maxParallel`, while the local control plane answers 429
 * past a per-project quota on the APIs they call. Every plan ends (succeeded), no attempt of any
 * task saw a quota error (the rate budgets absorb the 429s the server gave), tasks waited for the
 * pool without spending an attempt, and each environment's lock passed from plan to plan. (That a
 * pool is never exceeded is test/integration/pools.test.ts.)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { refusedByQuota } from "../../local/control-plane";
import { controlPlaneInEnv } from "../support/control-plane-env";
import { engineHarness } from "../support/engine-harness";
import { db, deliverPlanCreated } from "../support/functions";
import { uniqueId } from "../support/emulators";
import { rateBudgetStats, resetRateBudgetStats } from "../../functions/src/clients/rate-budget";
import { forgetPoolSizes } from "../../functions/src/store/pools";

const harness = engineHarness();
const local = controlPlaneInEnv();
const PLANS = 50;
const ENVIRONMENTS = 5;
const POOL_SLOTS = 4;

describe("50 plans over 5 environments under a quota", () => {
  it("all end succeeded, with no quota error reaching a task", async () => {
    const run = uniqueId("load").toLowerCase().replace(/[^a-z0-9]/g, "").slice(-8);
    const pool = `load-${run}`;
    await db.collection("pools").doc(pool).set({ slots: POOL_SLOTS, description: "load test" });
    forgetPoolSizes();
    local.cp.reset();
    // 3 calls a second per project on each API the provisions call: well under what they ask for at once.
    for (const api of ["firebaserules.googleapis.com", "cloudscheduler.googleapis.com", "pubsub.googleapis.com"]) local.cp.addQuota({ api, limit: 3, windowMs: 1_000 });
    resetRateBudgetStats();
    const projectOf = (i: number) => `load-${run}-${i % ENVIRONMENTS}`;
    const provision = (id: string, projectId: string, integration: string, settings: Record<string, unknown>) => ({
      id,
      run: "firebase",
      pool,
      retry: { maxAttempts: 3, initialBackoffSeconds: 1 },
      params: { integration, action: "provision", environment: projectId, projectId, region: "us-central1", settings },
    });
    const ids = Array.from({ length: PLANS }, (_, i) => `${run}-plan-${String(i).padStart(2, "0")}`);
    await Promise.all(
      ids.map(async (planId, i) => {
        const projectId = projectOf(i);
        await db.collection("plans").doc(planId).set({
          maxParallel: 2,
          priority: i % 3,
          tasks: [
            provision("rules", projectId, "storage", { bucket: `${projectId}-bucket-${i}` }),
            provision("backup", projectId, "backup", {}),
            provision("topics", projectId, "functions", { topics: [{ topic: `orders-${i}`, subscriptions: [`orders-${i}-worker`] }] }),
            { id: "done", run: "noop", needs: ["rules", "backup", "topics"] },
          ],
        });
        await deliverPlanCreated(planId);
      }),
    );
    const began = Date.now();
    const statuses = await harness.pump.runAll(db, ids, { maxRounds: 20_000 });
    expect([...statuses.values()].filter((s) => s !== "succeeded")).toEqual([]);

    const tasks = (await Promise.all(ids.map(async (id) => (await db.collection("plans").doc(id).collection("tasks").get()).docs.map((d) => d.data())))).flat();
    expect(tasks).toHaveLength(PLANS * 4);
    // No attempt of any task failed on a quota: not its error, not a line of its history.
    const quotaSeen = tasks.filter((t) => /resource_exhausted|\bHTTP 429\b|quota/i.test(JSON.stringify([t.error, (t.history as Array<{ cause: string }>).map((h) => h.cause)])));
    expect(quotaSeen.map((t) => `${t.planId}/${t.id}`)).toEqual([]);
    // The server did refuse calls past its quota: the budgets absorbed every one.
    const refused = local.cp.calls().filter(refusedByQuota).length;
    expect(rateBudgetStats().totals.surfaced).toBe(0);
    expect(rateBudgetStats().totals.absorbed).toBe(refused);
    expect(refused).toBeGreaterThan(0);
    // The pool was in play: attempts found it full and waited their turn (their claims given back unrun, no attempt spent).
    const waited = tasks.filter((t) => (t.history as Array<{ cause: string }>).some((h) => h.cause.includes(`pool ${pool} has all ${POOL_SLOTS} in use`)));
    expect(waited.length).toBeGreaterThan(0);
    expect(tasks.every((t) => t.attempt === 1)).toBe(true);
    // Every environment ran its ten plans one at a time: its lock is free now.
    for (let e = 0; e < ENVIRONMENTS; e++) expect((await db.collection("locks").doc(projectOf(e)).get()).exists).toBe(false);
    // The run's figures, for whoever reads the result (the suite runs silent).
    const figures = { plans: PLANS, environments: ENVIRONMENTS, tasks: tasks.length, poolSlots: POOL_SLOTS, refusedByQuota: refused, absorbed: rateBudgetStats().totals.absorbed, surfaced: rateBudgetStats().totals.surfaced, tasksThatWaitedForASlot: waited.length, seconds: (Date.now() - began) / 1000 };
    mkdirSync(join(__dirname, "..", "artifacts"), { recursive: true });
    writeFileSync(join(__dirname, "..", "artifacts", "load-50-plans.json"), `${JSON.stringify(figures, null, 2)}\n`);
  }, 600_000);
});
