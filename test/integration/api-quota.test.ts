/**
 * Quota errors under load (clients/rate-budget.ts): the local control plane answers 429 past a
 * per-project quota on the Firebase Rules API, and many provisions at once go through the real
 * `firebase` executor. With the rate budgets on, no attempt fails with a quota error: a budget
 * under the quota gets no 429 at all; one over it (or the local defaults) gets 429s that are all
 * absorbed inside the calls. With the budgets off, the same load does fail attempts. Last, a
 * plan through the engine ends with every task done in its first attempt.
 */
import { refusedByQuota } from "../../local/control-plane";
import { controlPlaneInEnv } from "../support/control-plane-env";
import { engineHarness } from "../support/engine-harness";
import { db, deliverPlanCreated } from "../support/functions";
import { uniqueId } from "../support/emulators";
import { firebaseParams, MemoryJournals } from "../unit/executors/harness";
import { createGoogleClients, googleClientConfigFromEnv } from "../../functions/src/clients/google";
import { API_BUDGETS_ENV, rateBudgetStats, resetRateBudgetStats } from "../../functions/src/clients/rate-budget";
import { createFirebaseExecutor } from "../../functions/src/executors/firebase";
import type { ExecutionOutcome } from "../../functions/src/engine/task";

const harness = engineHarness();
const local = controlPlaneInEnv();
const RULES = "firebaserules.googleapis.com";
const PROJECTS = ["quota-a", "quota-b", "quota-c", "quota-d"];
/** 10 storage rules releases per project, each its own bucket: 6 Rules calls each, 60 per project at once. */
const PER_PROJECT = 10;

beforeEach(() => {
  local.cp.reset();
  // 20 calls per second per project on the Rules API.
  local.cp.addQuota({ api: RULES, limit: 20, windowMs: 1_000 });
  resetRateBudgetStats();
});

interface Load {
  outcomes: ExecutionOutcome[];
  /** 429s the server gave. */
  refused: number;
  quotaFailures: number;
}

/** 40 provisions at once through the executor, with ORCHESTRATOR_API_BUDGETS as given (undefined: the local defaults). */
async function provisionAtOnce(budgets: string | undefined): Promise<Load> {
  const clients = createGoogleClients(googleClientConfigFromEnv({ ...local.cp.env, ...(budgets === undefined ? {} : { [API_BUDGETS_ENV]: budgets }) }));
  const executor = createFirebaseExecutor(() => clients);
  const journals = new MemoryJournals();
  try {
    const runs = PROJECTS.flatMap((projectId) => Array.from({ length: PER_PROJECT }, (_, i) => ({ projectId, bucket: `${projectId}-bucket-${i}` })));
    const outcomes = await Promise.all(
      runs.map(({ projectId, bucket }, i) =>
        executor.execute(firebaseParams("storage", { projectId, environment: projectId, settings: { bucket } }), {
          planId: "quota",
          taskId: `t${i}`,
          attempt: 1,
          idempotencyKey: `quota/t${i}/1`,
          journal: journals.for(`t${i}`, `quota/t${i}/1`),
          signal: new AbortController().signal,
          deadline: Date.now() + 60_000,
          recordEnvironmentState: async () => undefined,
        }),
      ),
    );
    const quotaFailures = outcomes.filter((o) => !o.ok && o.error.code === "resource_exhausted").length;
    return { outcomes, refused: local.cp.calls().filter(refusedByQuota).length, quotaFailures };
  } finally {
    await clients.close();
  }
}

const failures = (outcomes: ExecutionOutcome[]): string[] => outcomes.flatMap((o) => (o.ok ? [] : [`${o.error.code}: ${o.error.message}`]));
const releases = (): number => Object.keys(local.cp.state().rulesReleases).length;

describe("many provisions against a per-project quota", () => {
  it("with a budget under the quota: no 429 is given, every provision succeeds", async () => {
    // 9 calls/s with a burst of 8: at most 17 in any second, under the 20 allowed.
    const load = await provisionAtOnce(JSON.stringify({ [RULES]: { perMinute: 540, burst: 8 } }));
    expect(failures(load.outcomes)).toEqual([]);
    expect(load.refused).toBe(0);
    expect(releases()).toBe(PROJECTS.length * PER_PROJECT);
    const stats = rateBudgetStats();
    expect(stats.totals.waits).toBeGreaterThan(0);
    expect(stats.keys.filter((k) => k.api === RULES).map((k) => k.projectId).sort()).toEqual(PROJECTS);
  });

  it("with a budget over the quota: the server gives 429s, and every one is absorbed before the task", async () => {
    const load = await provisionAtOnce(JSON.stringify({ [RULES]: { perMinute: 60_000, burst: 500, concurrent: 100 } }));
    expect(failures(load.outcomes)).toEqual([]);
    expect(load.refused).toBeGreaterThan(0);
    expect(rateBudgetStats().totals).toMatchObject({ quotaAnswers: load.refused, absorbed: load.refused, surfaced: 0 });
    expect(releases()).toBe(PROJECTS.length * PER_PROJECT);
  });

  it("with the local defaults (no rates, in-flight caps, Retry-After pauses): 429s are given and absorbed", async () => {
    const load = await provisionAtOnce(undefined);
    expect(failures(load.outcomes)).toEqual([]);
    expect(load.refused).toBeGreaterThan(0);
    expect(rateBudgetStats().totals).toMatchObject({ absorbed: load.refused, surfaced: 0 });
  });

  it("with the budgets off, the same load fails attempts with quota errors (what the budgets prevent)", async () => {
    const load = await provisionAtOnce("off");
    expect(load.refused).toBeGreaterThan(0);
    expect(load.quotaFailures).toBeGreaterThan(0);
    const failed = load.outcomes.find((o) => !o.ok && o.error.code === "resource_exhausted");
    expect(failed).toMatchObject({ ok: false, error: { retryable: true } });
    expect(rateBudgetStats().totals.calls).toBe(0);
  });
});

describe("a plan through the engine against a quota", () => {
  it("ends with every task succeeded in its first attempt, the 429s absorbed", async () => {
    local.cp.clearQuotas();
    local.cp.addQuota({ api: RULES, limit: 4, windowMs: 1_000 });
    const tasks = PROJECTS.slice(0, 3).flatMap((projectId) =>
      Array.from({ length: 4 }, (_, i) => ({
        id: `${projectId}-storage-${i}`,
        run: "firebase",
        params: { integration: "storage", action: "provision", environment: projectId, projectId, region: "us-central1", settings: { bucket: `${projectId}-bucket-${i}` } },
      })),
    );
    const planId = uniqueId("quota");
    await db.collection("plans").doc(planId).set({ tasks });
    await deliverPlanCreated(planId);
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    const docs = (await db.collection("plans").doc(planId).collection("tasks").get()).docs.map((d) => d.data());
    expect(docs.map((t) => [t.status, t.attempt])).toEqual(tasks.map(() => ["succeeded", 1]));
    const refused = local.cp.calls().filter(refusedByQuota).length;
    expect(refused).toBeGreaterThan(0);
    expect(rateBudgetStats().totals).toMatchObject({ absorbed: refused, surfaced: 0 });
  });
});
