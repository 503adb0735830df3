/**
 * Schedules in Firestore (`schedules/{id}`, schema/schedule.ts): the firing pass, backfills, and
 * the writes the API makes. The decisions are schedules/fire.ts's; this file reads what they need
 * and commits what they decide.
 *
 * One tick never starts two plans: a tick's run has a deterministic id, and it is created with
 * `create()` in the same transaction that records the tick on the schedule (`lastTick`, `recent`),
 * after reading in that transaction whether the run is already there. So a second pass, a duplicate
 * scheduler delivery or a backfill of the same tick finds the schedule or the run moved on and
 * creates nothing; there is no moment at which a run exists and its tick is unrecorded, or the
 * reverse. What happens after the commit (cancel_other's cancel) is repeated by every pass until
 * the cancelled run has ended, with one command id, so a crash in between loses nothing.
 */
import { FieldPath, type DocumentReference, type Firestore, type Transaction } from "firebase-admin/firestore";
import { PLAN_STATUSES, type PlanStatus } from "../schema/plan";
import { parseScheduleDoc, scheduleStateSchema, type ScheduleDoc, type ScheduleMeta, type ScheduleSpec, type ScheduleState, type TickRecord } from "../schema/schedule";
import type { FieldError } from "../schema/issues";
import { scheduleRunErrors } from "../schema/schedule";
import type { CompileOptions } from "../planner/compile";
import { deploymentCompileOptions } from "../runtime/deployment";
import { templateForPlan } from "../store/templates";
import { applyCommand, type CommandSender } from "../runtime/commands";
import { chunked, inParallel } from "../runtime/parallel";
import { eventsOf, planRef } from "../store/paths";
import { parseCron } from "./cron";
import { backfillTicks, decideBackfill, decideFiring, MAX_TICKS_PER_PASS, runDocument, runIdOf, tickIso, tickWindow, type ExistingRun, type RunStart } from "./fire";

/** `schedules/{scheduleId}`; store/paths.ts is where the other collections live. */
export const SCHEDULES_COLLECTION = "schedules";
export const schedulesOf = (db: Firestore) => db.collection(SCHEDULES_COLLECTION);
export const scheduleRef = (db: Firestore, scheduleId: string): DocumentReference => schedulesOf(db).doc(scheduleId);

/** Schedules one pass fires, in pages of this many ids. */
const LIST_PAGE = 200;
/** Beyond this many schedules a pass stops listing (and says so): the deployment needs sharding first. */
export const MAX_SCHEDULES = 10_000;
/** Schedules fired at once by one pass (each is a transaction of its own). */
const FIRING_CONCURRENCY = 8;

/** How the runs and their history name the schedule. */
export const scheduleActor = (scheduleId: string): string => `schedule ${scheduleId}`;

/**
 * The orchestrator itself, cancelling a run for a schedule whose operator chose cancel_other: an
 * operator by construction, never an identity taken from a message or a token. Its label (the uid)
 * is what the plan's history records as the actor: `schedule <id>`.
 */
const scheduleSender = (scheduleId: string): CommandSender => ({
  principal: { uid: scheduleActor(scheduleId), email: null, emailVerified: false, groups: [], role: "operator", via: "firebase" },
});
const OWN_RULES = { allowUnverified: false, commandSenders: [] };

type CompileCheck = Awaited<ReturnType<typeof deploymentCompileOptions>>;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The options a schedule's runs are compiled with: the deployment's, and for a template schedule
 * the template's current version (store/templates.ts). `spec` may be unparsed (the API's body):
 * only `template.id` is read.
 */
export async function scheduleCompileOptions(db: Firestore, spec: unknown, deployment?: CompileCheck): Promise<{ ok: true; options: CompileOptions } | { ok: false; errors: FieldError[] }> {
  const checked = deployment ?? (await deploymentCompileOptions(db));
  if (!checked.ok) return checked;
  const templateId = isRecord(spec) && isRecord(spec.template) ? spec.template.id : undefined;
  if (templateId === undefined) return checked;
  const template = await templateForPlan(db, { template: templateId });
  if (!template.ok) return { ok: false, errors: template.errors.map((e) => ({ ...e, path: "template.id" })) };
  return { ok: true, options: { ...checked.options, template: template.template } };
}

/** What a check of the schedule's runs found: its problems, and the template version its runs are pinned to (a template schedule's). */
interface RunCheck {
  errors: FieldError[];
  templateVersion: number | undefined;
}

async function checkRuns(db: Firestore, schedule: ScheduleDoc, deployment: CompileCheck): Promise<RunCheck> {
  const options = await scheduleCompileOptions(db, schedule.spec, deployment);
  if (!options.ok) return { errors: options.errors, templateVersion: undefined };
  return { errors: scheduleRunErrors(schedule.spec, options.options), templateVersion: options.options.template?.version };
}

/** Why the schedule's runs cannot run with the deployment's options, or null. */
function problemOf(errors: readonly FieldError[]): string | null {
  if (errors.length === 0) return null;
  const first = `${errors[0]!.path || "(plan)"}: ${errors[0]!.message}`;
  return errors.length === 1 ? first : `${first} (and ${errors.length - 1} more)`;
}

const asStatus = (value: unknown): PlanStatus => (PLAN_STATUSES.includes(value as PlanStatus) ? (value as PlanStatus) : "pending");

/** `plans/{id}.status` of each run (a plan not started yet has none: pending); runs whose document is gone are left out. */
async function runStatuses(db: Firestore, planIds: readonly string[]): Promise<Map<string, PlanStatus>> {
  const statuses = new Map<string, PlanStatus>();
  if (planIds.length === 0) return statuses;
  const snaps = await db.getAll(...planIds.map((id) => planRef(db, id)), { fieldMask: ["status"] });
  for (const snap of snaps) if (snap.exists) statuses.set(snap.id, asStatus(snap.get("status")));
  return statuses;
}

/** Firestore refuses `undefined`; the state goes through JSON, where an absent optional is absent. */
const storable = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Reads the candidate runs in the transaction: which exist, in what status, and whether each is this schedule's run for its tick. */
async function existingRuns(tx: Transaction, db: Firestore, scheduleId: string, ticks: readonly number[]): Promise<Map<string, ExistingRun>> {
  const found = new Map<string, ExistingRun>();
  if (ticks.length === 0) return found;
  const snaps = await tx.getAll(...ticks.map((t) => planRef(db, runIdOf(scheduleId, t))), { fieldMask: ["status", "labels"] });
  for (const [i, snap] of snaps.entries()) {
    if (!snap.exists) continue;
    const labels = snap.get("labels") as Record<string, unknown> | undefined;
    found.set(snap.id, { status: asStatus(snap.get("status")), ours: labels?.schedule === scheduleId && labels?.tick === tickIso(ticks[i]!) });
  }
  return found;
}

/**
 * Creates each run with its `plan.submitted` record: `create()`, so the commit fails rather than
 * overwrite a plan. A template schedule's runs are pinned to `templateVersion`, the version checked.
 */
function createRuns(tx: Transaction, db: Firestore, schedule: ScheduleDoc, starts: readonly RunStart[], now: number, backfill: boolean, templateVersion: number | undefined): void {
  const template = schedule.spec.template === undefined || templateVersion === undefined ? undefined : { id: schedule.spec.template.id, version: templateVersion };
  for (const { planId, tick } of starts) {
    tx.create(planRef(db, planId), storable(runDocument(schedule, tick, now, template?.version)));
    tx.create(eventsOf(db, planId).doc("plan.submitted"), {
      at: now,
      type: "plan.submitted",
      actor: scheduleActor(schedule.id),
      message: `started by schedule ${schedule.id} for its tick ${tickIso(tick)}${backfill ? " (a backfill)" : ""}${template === undefined ? "" : ` from template ${template.id}, version ${template.version}`}; the schedule was written by ${schedule.meta.author.name}`,
      data: { schedule: schedule.id, tick, backfill, ...(template === undefined ? {} : { template }) },
    });
  }
}

export interface ScheduleFiring {
  scheduleId: string;
  outcome: "fired" | "unchanged" | "unreadable" | "gone" | "failed";
  started: string[];
  records: TickRecord[];
  /** cancel_other: the cancels sent after the commit, and what the engine answered. */
  cancels: Array<{ planId: string; applied: boolean; message: string }>;
  problem?: string;
}

/** One schedule's firing pass at `now`, in one transaction; then the cancels it owes. */
export async function fireSchedule(db: Firestore, scheduleId: string, now: number, deployment?: CompileCheck): Promise<ScheduleFiring> {
  let options = deployment;
  // Checked once per call, not once per attempt of the transaction (a template's versions do not change once written).
  const checks = new Map<string, RunCheck>();
  const result = await db.runTransaction(async (tx) => {
    const snap = await tx.get(scheduleRef(db, scheduleId));
    if (!snap.exists) return { outcome: "gone" as const };
    const parsed = parseScheduleDoc(scheduleId, snap.data()!);
    if (!parsed.ok) return { outcome: "unreadable" as const, problem: parsed.problem };
    const schedule = parsed.schedule;
    const cron = parseCron(schedule.spec.cron);
    if (!cron.ok) return { outcome: "unreadable" as const, problem: `cron: ${cron.message}` };
    const window = tickWindow(cron.cron, schedule.spec, schedule.state, now);
    // Read outside the transaction: a run that ends between this read and the commit is seen as
    // open a pass longer, which delays a tick by a pass at worst and locks no plan document.
    const statuses = await runStatuses(db, schedule.state.open.map((r) => r.planId));
    const candidates = schedule.spec.paused ? [] : [...(schedule.state.buffered === null ? [] : [schedule.state.buffered]), ...window.due];
    const existing = await existingRuns(tx, db, scheduleId, candidates);
    const cacheKey = JSON.stringify(schedule.spec.plan ?? schedule.spec.template);
    if (candidates.length > 0 && !checks.has(cacheKey)) {
      options ??= await deploymentCompileOptions(db);
      checks.set(cacheKey, await checkRuns(db, schedule, options));
    }
    const check = checks.get(cacheKey);
    const decision = decideFiring({ schedule, now, window, statuses, existing, planProblem: problemOf(check?.errors ?? []) });
    if (decision.changed) {
      createRuns(tx, db, schedule, decision.starts, now, false, check?.templateVersion);
      tx.update(scheduleRef(db, scheduleId), storable(decision.state));
    }
    return { outcome: decision.changed ? ("fired" as const) : ("unchanged" as const), decision };
  });
  if (result.outcome === "gone") return { scheduleId, outcome: "gone", started: [], records: [], cancels: [] };
  if (result.outcome === "unreadable") return { scheduleId, outcome: "unreadable", started: [], records: [], cancels: [], problem: result.problem };
  const { decision } = result;
  const cancels: ScheduleFiring["cancels"] = [];
  for (const { planId, replacedBy } of decision.cancels) {
    const answer = await applyCommand(
      db,
      { planId, command: "cancel", by: scheduleActor(scheduleId), commandId: `schedule.cancel.${planId}`, reason: `replaced by ${replacedBy} (schedule ${scheduleId}, overlap policy cancel_other)` },
      scheduleSender(scheduleId),
      OWN_RULES,
    );
    cancels.push({ planId, applied: answer.applied, message: answer.applied ? answer.message : answer.reason });
  }
  return { scheduleId, outcome: result.outcome, started: decision.starts.map((s) => s.planId), records: decision.records, cancels };
}

export interface FiringSummary {
  schedules: number;
  started: number;
  firings: ScheduleFiring[];
  /** Set when there were more schedules than one pass lists. */
  truncated: boolean;
}

/** Every schedule's id, in pages (ids only: the plans inside are read by each schedule's transaction). */
async function scheduleIds(db: Firestore): Promise<{ ids: string[]; truncated: boolean }> {
  const ids: string[] = [];
  for (;;) {
    let q = schedulesOf(db).orderBy(FieldPath.documentId()).select().limit(LIST_PAGE);
    if (ids.length > 0) q = q.startAfter(ids.at(-1)!);
    const page = await q.get();
    ids.push(...page.docs.map((d) => d.id));
    if (page.size < LIST_PAGE) return { ids, truncated: false };
    if (ids.length >= MAX_SCHEDULES) return { ids: ids.slice(0, MAX_SCHEDULES), truncated: true };
  }
}

/**
 * The firing pass: every schedule at `now` (the scheduled function's clock; tests pass their own).
 * One schedule that fails is reported and does not stop the others; the next pass tries it again.
 */
export async function fireSchedules(db: Firestore, now: number): Promise<FiringSummary> {
  const { ids, truncated } = await scheduleIds(db);
  const firings: ScheduleFiring[] = [];
  if (ids.length === 0) return { schedules: 0, started: 0, firings, truncated };
  const deployment = await deploymentCompileOptions(db);
  await inParallel(FIRING_CONCURRENCY, ids, async (id) => {
    try {
      firings.push(await fireSchedule(db, id, now, deployment));
    } catch (error) {
      firings.push({ scheduleId: id, outcome: "failed", started: [], records: [], cancels: [], problem: error instanceof Error ? error.message.split("\n")[0]! : String(error) });
    }
  });
  firings.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
  return { schedules: ids.length, started: firings.reduce((n, f) => n + f.started.length, 0), firings, truncated };
}

export type BackfillOutcome =
  | { ok: true; started: string[]; existing: string[]; skipped: TickRecord[] }
  | { ok: false; status: 400 | 404; message: string; errors: FieldError[] };

async function readSchedule(db: Firestore, scheduleId: string): Promise<{ ok: true; schedule: ScheduleDoc } | { ok: false; status: 400 | 404; message: string; errors: FieldError[] }> {
  const snap = await scheduleRef(db, scheduleId).get();
  if (!snap.exists) return { ok: false, status: 404, message: `there is no schedule "${scheduleId}"`, errors: [] };
  const parsed = parseScheduleDoc(scheduleId, snap.data()!);
  if (!parsed.ok) return { ok: false, status: 400, message: `schedule "${scheduleId}" cannot be read: set it again`, errors: [{ path: "", message: parsed.problem }] };
  return parsed;
}

/**
 * Starts a run for every tick in [from, to), whatever the catch-up window, `startAt`/`endAt`, a
 * pause or the overlap policy say (fire.ts decideBackfill), each with its deterministic id: a
 * backfill done twice creates nothing the second time. The ticks are committed a few at a time,
 * each commit with the schedule's state.
 */
export async function backfillSchedule(db: Firestore, scheduleId: string, from: number, to: number, now: number): Promise<BackfillOutcome> {
  const read = await readSchedule(db, scheduleId);
  if (!read.ok) return read;
  const cron = parseCron(read.schedule.spec.cron);
  if (!cron.ok) return { ok: false, status: 400, message: `schedule "${scheduleId}" has an unreadable cron expression: set it again`, errors: [{ path: "cron", message: cron.message }] };
  const ticks = backfillTicks(cron.cron, read.schedule.spec.timeZone, from, to, now);
  if (!ticks.ok) return { ok: false, status: 400, message: "the backfill range is not valid; nothing was started", errors: ticks.errors };
  const checked = await checkRuns(db, read.schedule, await deploymentCompileOptions(db));
  if (checked.errors.length > 0) return { ok: false, status: 400, message: `the schedule's ${read.schedule.spec.template === undefined ? "plan" : "template instance"} does not compile; nothing was started`, errors: checked.errors };
  const checkedKey = JSON.stringify(read.schedule.spec.plan ?? read.schedule.spec.template);

  const outcome = { ok: true as const, started: [] as string[], existing: [] as string[], skipped: [] as TickRecord[] };
  for (const chunk of chunked(ticks.ticks, MAX_TICKS_PER_PASS)) {
    const decided = await db.runTransaction(async (tx) => {
      const snap = await tx.get(scheduleRef(db, scheduleId));
      const parsed = snap.exists ? parseScheduleDoc(scheduleId, snap.data()!) : undefined;
      if (parsed === undefined || !parsed.ok) return undefined;
      const decision = decideBackfill({ schedule: parsed.schedule, now, ticks: chunk, existing: await existingRuns(tx, db, scheduleId, chunk) });
      // Pinned to the version checked, unless the schedule was set to run something else meanwhile.
      const same = JSON.stringify(parsed.schedule.spec.plan ?? parsed.schedule.spec.template) === checkedKey;
      createRuns(tx, db, parsed.schedule, decision.starts, now, true, same ? checked.templateVersion : undefined);
      if (decision.records.length > 0 || decision.starts.length > 0) tx.update(scheduleRef(db, scheduleId), storable(decision.state));
      return decision;
    });
    if (decided === undefined) return { ok: false, status: 404, message: `schedule "${scheduleId}" was deleted during the backfill`, errors: [] };
    outcome.started.push(...decided.starts.map((s) => s.planId));
    outcome.existing.push(...decided.existing);
    outcome.skipped.push(...decided.records.filter((r) => r.outcome === "skipped"));
  }
  return outcome;
}

/** Bounded: the API lists schedules whole. */
export const MAX_LISTED_SCHEDULES = 500;

export interface StoredSchedules {
  schedules: ScheduleDoc[];
  unreadable: Array<{ id: string; problem: string }>;
}

export async function readSchedules(db: Firestore): Promise<StoredSchedules> {
  const snap = await schedulesOf(db).limit(MAX_LISTED_SCHEDULES + 1).get();
  const result: StoredSchedules = { schedules: [], unreadable: [] };
  for (const doc of snap.docs.slice(0, MAX_LISTED_SCHEDULES)) {
    const parsed = parseScheduleDoc(doc.id, doc.data());
    if (parsed.ok) result.schedules.push(parsed.schedule);
    else result.unreadable.push({ id: doc.id, problem: parsed.problem });
  }
  if (snap.size > MAX_LISTED_SCHEDULES) result.unreadable.push({ id: "(schedules)", problem: `more than ${MAX_LISTED_SCHEDULES} schedules: only the first are listed` });
  return result;
}

export type ScheduleAuthor = ScheduleMeta["author"];

/**
 * Creates or replaces a schedule's spec. Its firing state is kept (a schedule set again does not
 * fire its past ticks again); a new one starts with no tick before `now`.
 */
export async function saveSchedule(db: Firestore, scheduleId: string, spec: ScheduleSpec, author: ScheduleAuthor, now: number): Promise<{ created: boolean; schedule: ScheduleDoc }> {
  return db.runTransaction(async (tx) => {
    const ref = scheduleRef(db, scheduleId);
    const snap = await tx.get(ref);
    const before = snap.exists ? snap.data()! : undefined;
    const kept = before === undefined ? undefined : scheduleStateSchema.safeParse(before);
    const state: ScheduleState = kept?.success ? kept.data : { since: now, lastTick: null, open: [], buffered: null, recent: [] };
    const wasPaused = before?.paused === true;
    const meta: ScheduleMeta = {
      createdAt: typeof before?.createdAt === "number" ? before.createdAt : now,
      updatedAt: now,
      author,
      pausedAt: spec.paused ? (wasPaused && typeof before?.pausedAt === "number" ? before.pausedAt : now) : null,
      pausedBy: spec.paused ? (wasPaused && typeof before?.pausedBy === "string" ? before.pausedBy : author.name) : null,
    };
    tx.set(ref, storable({ ...spec, ...state, ...meta }));
    return { created: before === undefined, schedule: { id: scheduleId, spec, state, meta } };
  });
}

/** Pauses or resumes; `changed` is false when it already was. */
export async function setSchedulePaused(
  db: Firestore,
  scheduleId: string,
  paused: boolean,
  by: string,
  now: number,
): Promise<{ ok: true; changed: boolean; schedule: ScheduleDoc } | { ok: false; status: 400 | 404; message: string; errors: FieldError[] }> {
  return db.runTransaction(async (tx) => {
    const ref = scheduleRef(db, scheduleId);
    const snap = await tx.get(ref);
    if (!snap.exists) return { ok: false as const, status: 404 as const, message: `there is no schedule "${scheduleId}"`, errors: [] };
    const parsed = parseScheduleDoc(scheduleId, snap.data()!);
    if (!parsed.ok) return { ok: false as const, status: 400 as const, message: `schedule "${scheduleId}" cannot be read: set it again`, errors: [{ path: "", message: parsed.problem }] };
    const { schedule } = parsed;
    if (schedule.spec.paused === paused) return { ok: true as const, changed: false, schedule };
    const change = { paused, pausedAt: paused ? now : null, pausedBy: paused ? by : null };
    tx.update(ref, change);
    return { ok: true as const, changed: true, schedule: { ...schedule, spec: { ...schedule.spec, paused }, meta: { ...schedule.meta, pausedAt: change.pausedAt, pausedBy: change.pausedBy } } };
  });
}

/** Deletes a schedule (its runs are plans of their own and go on); false when there was none. */
export async function deleteSchedule(db: Firestore, scheduleId: string): Promise<boolean> {
  const ref = scheduleRef(db, scheduleId);
  if (!(await ref.get()).exists) return false;
  await ref.delete();
  return true;
}
