/**
 * Estimates learned from history on the Firestore emulator: an environment plan's end records its
 * provisions' durations once (however often the end is delivered), an anomalously slow one is
 * recorded in its plan's history with its numbers, and the next plan's compile (as the engine
 * and the API compile) plans from them.
 */
import { deploymentCompileOptions } from "../../functions/src/runtime/deployment";
import { learnFromRun } from "../../functions/src/runtime/learn";
import { compilePlan } from "../../functions/src/planner/compile";
import { DURATION_STATS_DOC, readDurationStats, recordPlanDurations } from "../../functions/src/store/durations";
import { uniqueId } from "../support/emulators";
import { db } from "../support/functions";

const stats = db.collection("stats").doc(DURATION_STATS_DOC);
const T = Date.parse("2026-12-01T10:00:00Z");

/** A finished run of an environment plan as the engine leaves it: hosting and verify on one production project. */
async function finishedRun(hostingSeconds: number, extra: { attempt?: number; timedOut?: boolean } = {}): Promise<string> {
  const planId = uniqueId("learn");
  const plan = db.collection("plans").doc(planId);
  await plan.set({ status: "succeeded", generation: 1, compiled: { form: "environments", environments: [{ projectId: "learn-prod", name: "production", tier: "production" }] } });
  const task = (id: string, integration: string, seconds: number, more: Record<string, unknown> = {}) =>
    plan.collection("tasks").doc(id).set({ run: "firebase", status: "succeeded", params: { integration, projectId: "learn-prod" }, startedAt: T, finishedAt: T + seconds * 1000, attempt: 1, history: [], ...more });
  await task("production.hosting", "hosting", hostingSeconds, {
    attempt: extra.attempt ?? 1,
    history: extra.timedOut ? [{ at: T - 1, from: "running", to: "ready", attempt: 1, cause: "executor failed: attempt timed out after 300000 ms" }] : [],
  });
  await task("production.verify", "environment", 2);
  // Not counted: a failed task and a task of another kind.
  await plan.collection("tasks").doc("other").set({ run: "noop", status: "succeeded", startedAt: T, finishedAt: T + 1 });
  await plan.collection("tasks").doc("broken").set({ run: "firebase", status: "failed", params: { integration: "storage", projectId: "learn-prod" }, startedAt: T, finishedAt: T + 1 });
  return planId;
}

beforeEach(async () => {
  await stats.delete();
});
// What these runs taught the planner must not change other suites' compiles.
afterAll(async () => {
  await stats.delete();
});

it("records a run's provisions once, per integration × tier", async () => {
  const planId = await finishedRun(12, { attempt: 2, timedOut: true });
  expect(await recordPlanDurations(db, planId, T)).toEqual({ counted: 2, anomalies: [] });
  // The end delivered again: counted once.
  expect(await recordPlanDurations(db, planId, T)).toEqual({ counted: 0, anomalies: [] });
  expect(await readDurationStats(db)).toEqual({ "hosting@production": [{ s: 12, a: 2, t: true, at: T + 12_000 }], "environment@production": [{ s: 2, a: 1, at: T + 2_000 }] });
});

it("flags a run that took anomalously long in its plan's history, and the next compile plans from the median", async () => {
  for (const s of [10, 11, 12, 11, 10]) await learnFromRun(db, await finishedRun(s), T);
  const slow = await finishedRun(45);
  await learnFromRun(db, slow, T);
  const events = (await db.collection("plans").doc(slow).collection("events").get()).docs.map((d) => d.data());
  expect(events).toEqual([expect.objectContaining({ type: "task.duration_anomaly", message: expect.stringMatching(/^hosting@production took 45 s; its last 5 runs took a median of 11 s \(MAD 1 s\)/), data: expect.objectContaining({ robustZ: 22.9 }) })]);

  const options = await deploymentCompileOptions(db);
  if (!options.ok) throw new Error("no compile options");
  const compiled = compilePlan({ environments: [{ name: "production", projectId: "learn-prod", region: "europe-west1", integrations: ["hosting"] }] }, options.options);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  expect(compiled.plan.report.graph.nodes.find((n) => n.id === "production.hosting")!.estimate).toEqual({ source: "history", seconds: 11, samples: 6, medianSeconds: 11, p90Seconds: expect.any(Number), madSeconds: expect.any(Number) });
});
