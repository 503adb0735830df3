/**
 * Firestore side of the health runs (health/run.ts decides, this stores):
 *   healthLeases/health-run   the run lease {owner, expiresAt}: one run at a time
 *   reports/{runId}           one per run, created once (a duplicate delivery cannot write twice)
 *   alerts/{alertId}          one per incident of a dedup key
 *   environments/{envId}      fields `health` (latest run) and `uptimeDays.<YYYY-MM-DD>` (daily rollups)
 *   healthState/alerts        hysteresis streaks per alert key
 *   healthState/series        the last runs' figures, for forecasts (bounded ring)
 *   healthProbes/{envId}      the Firestore read/write probe's document
 * Goals and constraints come from environment plans: the newest (by createdAt) of the last
 * PLAN_SCAN environment plans that lists the project wins.
 */
import { getApps, initializeApp, type App } from "firebase-admin/app";
import { FieldPath, FieldValue, getFirestore, type DocumentData, type Firestore, type WriteBatch } from "firebase-admin/firestore";
import { z } from "zod";
import type { Probes } from "../health/checks";
import type { EnvironmentInput, IntegrationState, PlanContext } from "../health/environments";
import type { BeginResult, HealthStore, RunCommit, RunState } from "../health/run";
import type { EffectiveEnvironmentPlan } from "../schema/environment-plan";
import { occurrenceAt, windowCovers } from "../engine/windows";
import { sloSeriesSchema, type SloSeries } from "../schema/slo";
import { SLO_SUBCOLLECTION, sloSeriesRef } from "./slo";
import { readWindows } from "./windows";
import { alertSchema, environmentHealthSchema, seriesSchema, trackerStateSchema, uptimeDaySchema, type Alert, type UptimeDay } from "../schema/health";
import { ENVIRONMENTS_COLLECTION } from "./environments";
import { COLLECTIONS, planRef } from "./paths";

export const HEALTH_COLLECTIONS = {
  reports: "reports",
  alerts: "alerts",
  /** The run lease lives apart from the environment locks (`locks/{projectId}`), which the sweeper manages. */
  locks: "healthLeases",
  state: "healthState",
  probes: "healthProbes",
} as const;
export const HEALTH_LOCK_ID = "health-run";
const PLAN_SCAN = 50;
/** Writes per batch (Firestore allows 500 per commit). */
const BATCH = 400;
/** Reports above this many bytes keep only the checks that are not ok (1 MiB per document). */
const REPORT_SOFT_LIMIT = 900_000;

const integrationStateSchema = z
  .object({ desired: z.unknown(), observed: z.unknown(), inSync: z.boolean().nullish(), action: z.string().nullish(), at: z.number().nullish() })
  .passthrough();
const environmentDocSchema = z.object({ integrations: z.record(z.string(), integrationStateSchema).default({}) }).passthrough();

const effectiveEnvironmentSchema = z
  .object({
    name: z.string(),
    tier: z.enum(["development", "staging", "production"]),
    projectId: z.string(),
    region: z.string(),
    failoverRegion: z.string().nullable().default(null),
    integrations: z.array(z.string()),
    added: z.array(z.object({ integration: z.string(), reason: z.string() })).default([]),
    autoDeploy: z.boolean().default(false),
    approvalGate: z.boolean(),
    monitoring: z.boolean().default(false),
    backup: z.boolean().default(false),
    approvers: z.array(z.string()).default([]),
  })
  .passthrough();
const effectiveSpecSchema = z
  .object({
    goals: z.array(
      z
        .object({
          id: z.enum(["high_availability", "security_compliance", "cost_optimization"]),
          name: z.string().default(""),
          priority: z.enum(["low", "medium", "high", "critical"]).default("medium"),
          targetEnvironments: z.array(z.string()),
          requiredIntegrations: z.array(z.string()),
          successCriteria: z.object({ uptimePercent: z.number().nullable(), maxDowntimeMinutes: z.number().nullable() }),
          enforce: z.enum(["add", "fail"]).default("add"),
        })
        .passthrough(),
    ),
    constraints: z
      .object({
        budgetUsdPerMonth: z.number().nullable(),
        budgetMargin: z.number().default(0.1),
        requireApprovalFor: z.array(z.string()).default([]),
        dataResidency: z.string().nullable().default(null),
        maxCriticalPathMinutes: z.number().default(480),
        soft: z.array(z.enum(["budget", "dataResidency"])).default([]),
      })
      .passthrough(),
    environments: z.array(effectiveEnvironmentSchema),
    approvers: z.array(z.string()).default([]),
  })
  .passthrough();

function parseDays(raw: unknown): Record<string, UptimeDay> {
  const out: Record<string, UptimeDay> = {};
  if (raw === null || typeof raw !== "object") return out;
  for (const [date, value] of Object.entries(raw as Record<string, unknown>)) {
    const day = uptimeDaySchema.safeParse(value);
    if (day.success && day.data.date === date) out[date] = day.data;
  }
  return out;
}

const issues = (error: z.ZodError): string =>
  error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join(".") || "(document)"}: ${i.message}`)
    .join("; ");

interface PlanEntry {
  planId: string;
  createdAt: number;
  spec: EffectiveEnvironmentPlan;
}

async function loadPlans(db: Firestore): Promise<{ plans: PlanEntry[]; unreadable: string[] }> {
  const snap = await db.collection(COLLECTIONS.plans).where("compiled.form", "==", "environments").select("status", "createdAt", "compiled.outcome").limit(PLAN_SCAN * 4).get();
  const candidates = snap.docs
    .filter((d) => d.get("compiled.outcome") === "run" && !["invalid", "rejected", "planned"].includes(String(d.get("status"))))
    .map((d) => ({ planId: d.id, createdAt: Number(d.get("createdAt") ?? 0) }))
    .sort((a, b) => b.createdAt - a.createdAt)
    .slice(0, PLAN_SCAN);
  const unreadable: string[] = [];
  const plans = await Promise.all(
    candidates.map(async (c): Promise<PlanEntry | undefined> => {
      const overview = await planRef(db, c.planId).collection("report").doc("overview").get();
      const parsed = effectiveSpecSchema.safeParse(overview.get("effectiveSpec"));
      if (!parsed.success) {
        unreadable.push(`${c.planId} (${overview.exists ? issues(parsed.error) : "no report/overview"})`);
        return undefined;
      }
      return { ...c, spec: parsed.data as unknown as EffectiveEnvironmentPlan };
    }),
  );
  return { plans: plans.filter((p): p is PlanEntry => p !== undefined), unreadable };
}

function planContextFor(projectId: string, plans: readonly PlanEntry[]): PlanContext | null {
  for (const p of plans) {
    const environment = p.spec.environments.find((e) => e.projectId === projectId);
    if (environment === undefined) continue;
    const goals = p.spec.goals.filter((g) => g.targetEnvironments.includes(environment.name) || g.targetEnvironments.includes(environment.tier));
    return { planId: p.planId, environment, goals, constraints: p.spec.constraints, approvers: p.spec.approvers };
  }
  return null;
}

export function toEnvironmentInput(id: string, data: DocumentData, plan: PlanContext | null, noPlanReason: string | null): EnvironmentInput {
  const parsed = environmentDocSchema.safeParse(data);
  const integrations: Record<string, IntegrationState> = {};
  if (parsed.success) {
    for (const [name, s] of Object.entries(parsed.data.integrations)) {
      integrations[name] = { desired: s.desired ?? null, observed: s.observed ?? null, inSync: s.inSync ?? null, action: s.action ?? null, at: s.at ?? null };
    }
  }
  const health = environmentHealthSchema.safeParse(data.health);
  const configError = !parsed.success
    ? `environments/${id} is malformed (${issues(parsed.error)}): only what could be read is checked`
    : plan === null
      ? (noPlanReason ?? `no environment plan provisions ${id}: no goals, constraints or drift checks`)
      : null;
  return { id, integrations, health: health.success ? health.data : null, uptimeDays: parseDays(data.uptimeDays), plan, configError };
}

/** Firestore probe: write a nonce, read it back. Locally (emulator) in the orchestrator's own database. */
export function firestoreProbe(dbFor: (projectId: string) => Firestore, runId: () => string): Probes["firestore"] {
  return async (spec) => {
    const ref = dbFor(spec.projectId).collection(HEALTH_COLLECTIONS.probes).doc(spec.projectId);
    const nonce = `${runId()}-${Math.random().toString(36).slice(2, 10)}`;
    try {
      await ref.set({ nonce, at: Date.now(), by: "firebase-orchestrator health run" });
      const back = await ref.get();
      if (back.get("nonce") !== nonce) return { status: "down", message: `Firestore of ${spec.projectId}: read back a different value than written` };
      return { status: "ok", message: null };
    } catch (error) {
      return { status: "down", message: `Firestore of ${spec.projectId}: ${(error instanceof Error ? error.message : String(error)).slice(0, 200)}` };
    }
  };
}

const projectApps = new Map<string, App>();

/** The environment project's database in production; the emulator's (one project) locally. */
export function environmentFirestore(own: () => Firestore): (projectId: string) => Firestore {
  return (projectId) => {
    if (process.env.FIRESTORE_EMULATOR_HOST) return own();
    let app = projectApps.get(projectId) ?? getApps().find((a) => a.name === `env-${projectId}`);
    if (app === undefined) app = initializeApp({ projectId }, `env-${projectId}`);
    projectApps.set(projectId, app);
    return getFirestore(app);
  };
}

export function firestoreHealthStore(db: Firestore): HealthStore {
  const lockRef = db.collection(HEALTH_COLLECTIONS.locks).doc(HEALTH_LOCK_ID);
  const reportRef = (runId: string) => db.collection(HEALTH_COLLECTIONS.reports).doc(runId);
  const trackerRef = db.collection(HEALTH_COLLECTIONS.state).doc("alerts");
  const seriesRef = db.collection(HEALTH_COLLECTIONS.state).doc("series");

  return {
    async begin(runId: string, now: number, leaseMs: number): Promise<BeginResult> {
      return db.runTransaction(async (tx) => {
        const [lock, report] = await Promise.all([tx.get(lockRef), tx.get(reportRef(runId))]);
        if (report.exists) return { ok: false, reason: `run ${runId} already reported` };
        const owner = lock.get("owner") as string | undefined;
        const expiresAt = Number(lock.get("expiresAt") ?? 0);
        if (lock.exists && owner !== undefined && owner !== runId && expiresAt > now) return { ok: false, reason: `run ${owner} holds locks/${HEALTH_LOCK_ID} until ${new Date(expiresAt).toISOString()}` };
        tx.set(lockRef, { owner: runId, expiresAt: now + leaseMs, acquiredAt: now });
        return { ok: true };
      });
    },

    async loadEnvironments(): Promise<EnvironmentInput[]> {
      const [envSnap, { plans, unreadable }, sloSnap, { windows }] = await Promise.all([db.collection(ENVIRONMENTS_COLLECTION).get(), loadPlans(db), db.collectionGroup(SLO_SUBCOLLECTION).get(), readWindows(db)]);
      const noPlan = unreadable.length > 0 ? (id: string) => `no readable environment plan provisions ${id} (unreadable: ${unreadable.slice(0, 3).join(", ")})` : () => null;
      const series = new Map<string, Record<string, SloSeries>>();
      for (const d of sloSnap.docs) {
        const env = d.ref.parent.parent;
        const parsed = sloSeriesSchema.safeParse(d.get("series"));
        if (env === null || env.parent.id !== ENVIRONMENTS_COLLECTION || !parsed.success) continue;
        (series.get(env.id) ?? series.set(env.id, {}).get(env.id)!)[d.id] = parsed.data;
      }
      const now = Date.now();
      return envSnap.docs.map((d) => {
        const input = toEnvironmentInput(d.id, d.data(), planContextFor(d.id, plans), noPlan(d.id));
        const target = { projectId: d.id, name: input.plan?.environment.name ?? null, tier: input.plan?.environment.tier ?? null };
        const on = windows.find((w) => w.kind === "maintenance" && windowCovers(w, target) && occurrenceAt(w, now) !== null);
        return { ...input, slo: series.get(d.id) ?? {}, maintenance: on === undefined ? null : { window: on.id, name: on.name } };
      });
    },

    async loadState(): Promise<RunState> {
      const [tracker, series, open] = await Promise.all([trackerRef.get(), seriesRef.get(), db.collection(HEALTH_COLLECTIONS.alerts).where("status", "==", "open").get()]);
      const t = trackerStateSchema.safeParse(tracker.data());
      const s = seriesSchema.safeParse(series.data());
      const openAlerts: Alert[] = [];
      for (const d of open.docs) {
        const a = alertSchema.safeParse(d.data());
        if (a.success) openAlerts.push(a.data);
      }
      return { tracker: t.success ? t.data : { keys: {} }, openAlerts, series: s.success ? s.data.points : [] };
    },

    async commit(c: RunCommit): Promise<void> {
      let report = c.report;
      if (Buffer.byteLength(JSON.stringify(report)) > REPORT_SOFT_LIMIT) {
        report = { ...report, environments: report.environments.map((e) => ({ ...e, checks: e.checks.filter((k) => k.status !== "ok") })) };
      }
      type Write = (batch: WriteBatch) => void;
      const writes: Write[] = [
        // First, so a run id that already reported fails the first batch and writes nothing.
        (b) => b.create(reportRef(report.runId), report),
        (b) => b.set(trackerRef, c.tracker),
        (b) => b.set(seriesRef, { points: c.series }),
      ];
      for (const env of c.environments) {
        const data: Record<string, unknown> = { health: env.health, uptimeDays: {} };
        const fields: Array<string | FieldPath> = ["health"];
        const days = data.uptimeDays as Record<string, unknown>;
        for (const d of env.days) {
          days[d.date] = d;
          fields.push(new FieldPath("uptimeDays", d.date));
        }
        for (const d of env.removeDays) {
          days[d] = FieldValue.delete();
          fields.push(new FieldPath("uptimeDays", d));
        }
        writes.push((b) => b.set(db.collection(ENVIRONMENTS_COLLECTION).doc(env.id), data, { mergeFields: fields }));
        for (const [key, series] of Object.entries(env.slo ?? {})) writes.push((b) => b.set(sloSeriesRef(db, env.id, key), { series, updatedAt: c.report.finishedAt }));
      }
      for (const a of c.alerts) writes.push((b) => b.set(db.collection(HEALTH_COLLECTIONS.alerts).doc(a.id), a));
      for (let i = 0; i < writes.length; i += BATCH) {
        const batch = db.batch();
        for (const w of writes.slice(i, i + BATCH)) w(batch);
        await batch.commit();
      }
    },

    async pruneReports(before: number, limit: number): Promise<number> {
      const old = await db.collection(HEALTH_COLLECTIONS.reports).where("startedAt", "<", before).orderBy("startedAt").limit(limit).select().get();
      if (old.empty) return 0;
      const batch = db.batch();
      for (const d of old.docs) batch.delete(d.ref);
      await batch.commit();
      return old.size;
    },

    async end(runId: string): Promise<void> {
      await db.runTransaction(async (tx) => {
        const lock = await tx.get(lockRef);
        if (lock.get("owner") === runId) tx.delete(lockRef);
      });
    },
  };
}
