/**
 * `firebase`: provisions, verifies and compensates one integration of one environment through
 * Google's APIs, dispatching on `params.integration` and `params.action`. Every module is
 * idempotent (create if absent, converge what differs), so a retried attempt is harmless.
 * API failures come back as task errors that say which call, which IAM role and whether to retry.
 */
import { ApiCallError, taskErrorFromApiError } from "../clients/errors";
import { googleClients, type GoogleClients } from "../clients/google";
import type { ExecutionOutcome } from "../engine/task";
import { firebaseParamsSchema } from "../schema/plan";
import type { TaskError } from "../schema/task";
import { changesSomething, movedSince, summarise, type Change, type ChangeJournal, type JournalEntry, type Made, type UndoOutcome } from "./firebase/change-set";
import { createIntegrationIo, InvalidSettingsError, type FirebaseParams, type IntegrationIo, type IntegrationModule, type IntegrationPlan } from "./firebase/context";
import { INTEGRATION_NAMES, INTEGRATIONS } from "./firebase/index";
import type { AppliedChange, DriftItem, DriftReport, ExecutionContext, Executor, FirebaseProvisionOutput, VerifyOutcome } from "./types";

/** The pseudo-integration of the planner's per-environment verify task (planner/catalogue.ts VERIFY_INTEGRATION). */
export const ENVIRONMENT_INTEGRATION = "environment";

/** The environment document id for a project (one Firebase project per environment). */
export const environmentIdOf = (p: Pick<FirebaseParams, "projectId">): string => p.projectId;

type Resolved = { ok: true; params: FirebaseParams; module: IntegrationModule } | { ok: false; error: TaskError };

function resolve(raw: Record<string, unknown>): Resolved {
  const parsed = firebaseParamsSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(params)"}: ${i.message}`).join("; ");
    return { ok: false, error: { message: `firebase params are invalid: ${issues}`, code: "invalid_params", retryable: false } };
  }
  const module = INTEGRATIONS[parsed.data.integration];
  if (module === undefined) {
    return {
      ok: false,
      error: { message: `unknown integration "${parsed.data.integration}" (known: ${INTEGRATION_NAMES.join(", ")})`, code: "unknown_integration", retryable: false },
    };
  }
  return { ok: true, params: parsed.data, module };
}

/** The orchestrator's own store (the change journal, `environments/{id}`) failed: not the plan's fault, so the attempt may try again. */
class StoreError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "StoreError";
  }
}

async function stored<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new StoreError(what, error);
  }
}

/** The journal, with its failures as StoreErrors (retryable), never as the executor's own. */
function guardedJournal(journal: ChangeJournal): ChangeJournal {
  return {
    intend: (change, index) => stored(`recording the intent for ${change.resource} in the change journal`, () => journal.intend(change, index)),
    applied: (id, made) => stored("recording a change's result in the change journal", () => journal.applied(id, made)),
    pending: () => stored("reading the change journal", () => journal.pending()),
    settle: (id, status, outcome) => stored(`recording the rollback of ${outcome.resource} in the change journal`, () => journal.settle(id, status, outcome)),
  };
}

function toTaskError(error: unknown, ctx: ExecutionContext): TaskError {
  if (error instanceof ApiCallError) return taskErrorFromApiError(error.site, error.cause, ctx.signal.aborted);
  if (error instanceof StoreError) return { message: error.message, code: "store_unavailable", retryable: true };
  if (error instanceof InvalidSettingsError) return { message: error.message, code: "invalid_settings", retryable: false };
  if (ctx.signal.aborted) return { message: "aborted (attempt timed out or was cancelled)", code: "aborted", retryable: true };
  return { message: error instanceof Error ? error.message : String(error), code: "executor_error", retryable: false };
}

async function record(ctx: ExecutionContext, p: FirebaseParams, action: string, desired: unknown, observed: unknown, drift: DriftReport["drift"], changes?: AppliedChange[]): Promise<void> {
  const write = ctx.recordEnvironmentState;
  if (write === undefined) return;
  await stored(`recording environments/${environmentIdOf(p)}`, () => write(environmentIdOf(p), p.integration, { desired, observed, drift, action, at: Date.now(), ...(changes === undefined ? {} : { changeSet: changes }) }));
}

const NO_RECORD = "no change set was recorded for this task, so nothing was changed (nothing it applied is known)";

const rawSummary = (raw: Record<string, unknown>): Record<string, unknown> => ({ integration: raw.integration ?? null, environment: raw.environment ?? null, projectId: raw.projectId ?? null });

const summary = (p: FirebaseParams): Pick<FirebaseProvisionOutput, "integration" | "environment" | "projectId"> => ({
  integration: p.integration,
  environment: p.environment,
  projectId: p.projectId,
});

/** A change set read as drift: every resource that is not as desired, field by field. */
export function driftOf(changes: readonly Change[]): DriftItem[] {
  return changes.flatMap((c): DriftItem[] => {
    if (c.action === "noop" || c.supports !== undefined) return [];
    if (c.action === "create") return [{ resource: c.resource, field: "(resource)", desired: "present", observed: "absent" }];
    return c.fields.map((f) => ({ resource: c.resource, field: f.field, desired: f.after, observed: f.before }));
  });
}

/** What one integration would change now, read with its one reader: the refresh's and verify's diff. */
export async function planIntegration(raw: Record<string, unknown>, io: IntegrationIo): Promise<{ ok: true; params: FirebaseParams; plan: IntegrationPlan } | { ok: false; error: TaskError }> {
  const r = resolve(raw);
  if (!r.ok) return r;
  return { ok: true, params: r.params, plan: await r.module.plan(r.params, io) };
}

/**
 * The resources whose observed state moved since the plan's refresh, apart from what this task's
 * own earlier attempts changed (a retry after a partial apply sees its own changes, not someone else's).
 */
async function movedByOthers(expected: Readonly<Record<string, string>>, changes: readonly Change[], journal: ChangeJournal | undefined): Promise<string[]> {
  const moved = movedSince(expected, changes);
  if (moved.length === 0 || journal === undefined) return moved;
  const own = new Set((await journal.pending()).flatMap((e) => [e.change.resource, ...(e.made?.name === undefined ? [] : [e.made.name])]));
  return moved.filter((name) => !own.has(name));
}

/**
 * Applies a change set write-ahead: each change that is not a noop is recorded in the journal
 * before its mutating call and its result after, so a crash between the two leaves an intent a
 * compensation can still undo.
 */
async function applyChanges(module: IntegrationModule, p: FirebaseParams, plan: IntegrationPlan, io: IntegrationIo, journal: ChangeJournal | undefined): Promise<{ applied: AppliedChange[]; made: Map<string, Made> }> {
  const made = new Map<string, Made>();
  const applied: AppliedChange[] = [];
  for (const [index, change] of plan.changes.entries()) {
    if (change.action === "noop") {
      applied.push(publicChange(change));
      continue;
    }
    const entryId = await journal?.intend(change, index);
    const result = await module.apply(p, change, io, made);
    made.set(change.resource, result);
    if (entryId !== undefined) await journal!.applied(entryId, result);
    applied.push(publicChange(change, result.name));
  }
  return { applied, made };
}

/** Longest value kept per field in outputs and `environments/{id}` (the journal keeps it whole). */
const SHOWN_VALUE_CHARS = 4_000;
const shown = (v: unknown): unknown => {
  const text = typeof v === "string" ? v : JSON.stringify(v ?? null);
  return text.length <= SHOWN_VALUE_CHARS ? v : `${text.slice(0, SHOWN_VALUE_CHARS)}… (${text.length} chars)`;
};

/**
 * A change as outputs and the environment document show it: the fields before → after, without
 * the whole before- and after-images (a rules source can be 256 kB; the journal keeps them).
 */
export function publicChange(c: Change, name?: string): AppliedChange {
  return {
    resource: c.resource,
    type: c.type,
    action: c.action,
    fields: c.fields.map((f) => ({ field: f.field, before: shown(f.before), after: shown(f.after) })),
    existed: c.before !== null,
    ...(c.supports === undefined ? {} : { supports: c.supports }),
    ...(name === undefined ? {} : { name }),
  };
}



/**
 * Replays the journal backwards. A conflict (someone changed the resource after the apply) is
 * left as it is and fails the compensation once everything else is undone; so does an undo that
 * throws, after recording which resource it was.
 */
async function undoChanges(module: IntegrationModule, p: FirebaseParams, io: IntegrationIo, entries: readonly JournalEntry[], journal: ChangeJournal, ctx: ExecutionContext): Promise<ExecutionOutcome> {
  const undone: UndoOutcome[] = [];
  for (const entry of [...entries].reverse()) {
    let outcome: UndoOutcome;
    try {
      outcome = await module.undo(p, entry, io);
    } catch (error) {
      const failed = toTaskError(error, ctx);
      await journal.settle(entry.id, "failed", { resource: entry.change.resource, result: "left", detail: failed.message });
      return { ok: false, error: { ...failed, message: `rollback of ${entry.change.resource} failed: ${failed.message}` } };
    }
    await journal.settle(entry.id, outcome.result === "conflict" ? "conflict" : "undone", outcome);
    undone.push(outcome);
  }
  const conflicts = undone.filter((u) => u.result === "conflict");
  if (conflicts.length > 0) {
    const named = conflicts.map((c) => `${c.resource}${c.detail ? ` (${c.detail})` : ""}`).join("; ");
    return { ok: false, error: { message: `changed by someone else after this plan applied it, so left as it is: ${named}`, code: "conflict", retryable: false } };
  }
  return { ok: true, output: { ...summary(p), changed: undone.some((u) => u.result === "deleted" || u.result === "restored"), undone } };
}

export function createFirebaseExecutor(clients: () => GoogleClients = () => googleClients()): Executor {
  async function verify(raw: Record<string, unknown>, ctx: ExecutionContext): Promise<VerifyOutcome> {
    try {
      const planned = await planIntegration(raw, createIntegrationIo(clients(), ctx));
      if (!planned.ok) return planned;
      const { params, plan } = planned;
      const drift = driftOf(plan.changes);
      await record(ctx, params, "verify", plan.desired, plan.observed, drift);
      return { ok: true, report: { ...summary(params), inSync: drift.length === 0, drift, desired: plan.desired, observed: plan.observed } };
    } catch (error) {
      return { ok: false, error: toTaskError(error, ctx) };
    }
  }

  /**
   * The planner's `<env>.verify` task (integration `environment`): the promotion gate between
   * environments. It verifies every integration named in `settings.integrations` and passes only
   * when all are in sync.
   */
  async function verifyEnvironment(raw: Record<string, unknown>, ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const settings = (raw.settings ?? {}) as { integrations?: unknown; integrationSettings?: Record<string, Record<string, unknown>> };
    const names = settings.integrations;
    if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
      return { ok: false, error: { message: "environment verify needs settings.integrations: a list of integration names", code: "invalid_settings", retryable: false } };
    }
    const reports: DriftReport[] = [];
    for (const integration of names as string[]) {
      const v = await verify({ ...raw, integration, settings: settings.integrationSettings?.[integration] ?? {} }, ctx);
      if (!v.ok) return v;
      reports.push(v.report);
    }
    const drifted = reports.filter((r) => !r.inSync);
    if (drifted.length === 0) return { ok: true, output: { environment: raw.environment, projectId: raw.projectId, verified: names, inSync: true } };
    const first = drifted.slice(0, 3).map((r) => `${r.integration} (${r.drift.length})`).join(", ");
    return { ok: false, error: { message: `${String(raw.projectId)} is not ready: ${drifted.length} integration(s) drifted: ${first}`, code: "drift", retryable: false } };
  }

  return {
    async execute(raw, ctx): Promise<ExecutionOutcome> {
      if (raw.integration === ENVIRONMENT_INTEGRATION && raw.action === "verify") return verifyEnvironment(raw, ctx);
      const r = resolve(raw);
      if (!r.ok) return r;
      if (r.params.action === "verify") {
        const v = await verify(raw, ctx);
        if (!v.ok) return v;
        if (v.report.inSync) return { ok: true, output: v.report };
        const first = v.report.drift.slice(0, 3).map((d) => `${d.resource} ${d.field}`).join("; ");
        return {
          ok: false,
          error: { message: `${r.params.projectId} ${r.params.integration} drifted in ${v.report.drift.length} place(s): ${first}. Run provision to converge.`, code: "drift", retryable: false },
        };
      }
      try {
        const io = createIntegrationIo(clients(), ctx);
        const journal = ctx.journal === undefined ? undefined : guardedJournal(ctx.journal);
        const plan = await r.module.plan(r.params, io);
        const moved = r.params.expect === undefined ? [] : await movedByOthers(r.params.expect.resources, plan.changes, journal);
        if (moved.length > 0 && r.params.expect?.onStale !== "replan") {
          return {
            ok: false,
            error: {
              message: `${r.params.projectId} ${r.params.integration} changed since the plan was refreshed, so this plan is stale and nothing was changed: ${moved.slice(0, 5).join(", ")}${moved.length > 5 ? ` and ${moved.length - 5} more` : ""}. Refresh the plan again (npm run plan -- <file> --refresh), or set onStale: "replan".`,
              code: "stale",
              retryable: false,
            },
          };
        }
        const { applied, made } = await applyChanges(r.module, r.params, plan, io, journal);
        // What is there now: read again when something changed (the record is what the page and health runs see).
        const now = changesSomething(plan.changes) ? await r.module.plan(r.params, io) : plan;
        await record(ctx, r.params, "provision", now.desired, now.observed, driftOf(now.changes), applied);
        const output: FirebaseProvisionOutput = {
          ...summary(r.params),
          changed: changesSomething(plan.changes),
          summary: summarise(plan.changes),
          changeSet: applied,
          // onStale replan: the state had moved; this change set was diffed again against it.
          ...(moved.length > 0 ? { replanned: moved } : {}),
          outputs: r.module.outputs(r.params, plan, made),
        };
        return { ok: true, output };
      } catch (error) {
        return { ok: false, error: toTaskError(error, ctx) };
      }
    },

    async compensate(raw, ctx): Promise<ExecutionOutcome> {
      // Verifying changed nothing, so there is nothing to undo.
      if (raw.integration === ENVIRONMENT_INTEGRATION) return { ok: true, output: null };
      try {
        // The record decides, not the params: a run that applied nothing (bad params, a crash before
        // its first intent) has nothing to undo.
        const journal = ctx.journal === undefined ? undefined : guardedJournal(ctx.journal);
        const entries = (await journal?.pending()) ?? [];
        if (journal === undefined || entries.length === 0) return { ok: true, output: { ...rawSummary(raw), changed: false, undone: [], note: NO_RECORD } };
        const r = resolve(raw);
        if (!r.ok) return r;
        const io = createIntegrationIo(clients(), ctx);
        const outcome = await undoChanges(r.module, r.params, io, entries, journal, ctx);
        if (outcome.ok) {
          // What is there now, read again: a rollback that restored what existed before leaves the
          // integration in place (`rollback`); one that removed everything it made leaves nothing (`compensate`).
          const now = await r.module.plan(r.params, io);
          const present = now.changes.some((c) => c.supports === undefined && c.action !== "create");
          await record(ctx, r.params, present ? "rollback" : "compensate", now.desired, now.observed, driftOf(now.changes));
        }
        return outcome;
      } catch (error) {
        return { ok: false, error: toTaskError(error, ctx) };
      }
    },

    verify,
  };
}

export const firebaseExecutor: Executor = createFirebaseExecutor();
