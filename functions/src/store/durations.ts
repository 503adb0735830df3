/**
 * What the planner learns from: `stats/taskDurations`, recent finished provisions and verifies per
 * `integration@tier` (planner/estimates.ts), written once per plan run when it ends, and read with
 * the deployment's other compile options. One small document: at most MAX_SAMPLES per key, and a
 * ring of the runs already counted, so an end delivered twice is counted once.
 */
import type { Firestore } from "firebase-admin/firestore";
import { durationAnomaly, MAX_SAMPLES, statsKey, type Anomaly, type DurationSample, type DurationStats } from "../planner/estimates";
import { historyEntrySchema } from "../schema/task";
import { planRef, statsRef, tasksOf } from "./paths";

export const DURATION_STATS_DOC = "taskDurations";
/** Runs remembered as counted (`planId#generation`). */
const COUNTED_RUNS = 200;

const sampleOk = (x: unknown): x is DurationSample => typeof x === "object" && x !== null && typeof (x as DurationSample).s === "number" && typeof (x as DurationSample).a === "number" && typeof (x as DurationSample).at === "number";

/** The stats, with anything malformed left out (a hand-edited document never breaks a compile). */
export async function readDurationStats(db: Firestore): Promise<DurationStats> {
  const samples = (await statsRef(db, DURATION_STATS_DOC).get()).get("samples") as unknown;
  if (typeof samples !== "object" || samples === null) return {};
  return Object.fromEntries(Object.entries(samples as Record<string, unknown>).map(([k, v]) => [k, Array.isArray(v) ? v.filter(sampleOk) : []]));
}

export interface RecordedRun {
  counted: number;
  anomalies: Anomaly[];
}

/**
 * Counts the succeeded firebase tasks of a plan's run (its compiled summary names each project's
 * tier) and answers which took anomalously long next to their history. Idempotent per run.
 */
export async function recordPlanDurations(db: Firestore, planId: string, now: number): Promise<RecordedRun | null> {
  const plan = await planRef(db, planId).get();
  const generation = plan.get("generation") as unknown;
  const envs = (plan.get("compiled.environments") as unknown) ?? [];
  const tierOf = new Map((Array.isArray(envs) ? envs : []).filter((e) => typeof e?.projectId === "string" && typeof e?.tier === "string").map((e: { projectId: string; tier: string }) => [e.projectId, e.tier]));
  if (tierOf.size === 0) return null;
  const run = `${planId}#${typeof generation === "number" ? generation : 1}`;
  const snap = await tasksOf(db, planId).where("run", "==", "firebase").where("status", "==", "succeeded").select("params.integration", "params.projectId", "startedAt", "finishedAt", "attempt", "history").get();
  const fresh: Array<{ key: string; sample: DurationSample }> = [];
  for (const doc of snap.docs) {
    const integration = doc.get("params.integration") as unknown;
    const tier = tierOf.get(doc.get("params.projectId") as string);
    const started = doc.get("startedAt") as unknown;
    const finished = doc.get("finishedAt") as unknown;
    if (typeof integration !== "string" || tier === undefined || typeof started !== "number" || typeof finished !== "number" || finished < started) continue;
    const history = Array.isArray(doc.get("history")) ? (doc.get("history") as unknown[]) : [];
    const timedOut = history.some((h) => historyEntrySchema.safeParse(h).success && /timed out/.test((h as { cause: string }).cause));
    const attempts = typeof doc.get("attempt") === "number" ? (doc.get("attempt") as number) : 1;
    fresh.push({ key: statsKey(integration, tier), sample: { s: Math.round(finished - started) / 1000, a: attempts, ...(timedOut ? { t: true } : {}), at: finished } });
  }
  const ref = statsRef(db, DURATION_STATS_DOC);
  return db.runTransaction(async (tx) => {
    const doc = await tx.get(ref);
    const counted = (Array.isArray(doc.get("runs")) ? (doc.get("runs") as unknown[]) : []).filter((r): r is string => typeof r === "string");
    if (counted.includes(run)) return { counted: 0, anomalies: [] };
    const stored = (typeof doc.get("samples") === "object" && doc.get("samples") !== null ? doc.get("samples") : {}) as Record<string, unknown>;
    const samples: Record<string, DurationSample[]> = Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, Array.isArray(v) ? v.filter(sampleOk) : []]));
    const anomalies: Anomaly[] = [];
    for (const { key, sample } of fresh) {
      const prior = samples[key] ?? [];
      const anomaly = durationAnomaly(key, sample.s, prior);
      if (anomaly !== null) anomalies.push(anomaly);
      samples[key] = [...prior, sample].slice(-MAX_SAMPLES);
    }
    tx.set(ref, { samples, runs: [...counted, run].slice(-COUNTED_RUNS), updatedAt: now });
    return { counted: fresh.length, anomalies };
  });
}
