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
import { createIntegrationIo, InvalidSettingsError, type FirebaseParams, type IntegrationModule } from "./firebase/context";
import { INTEGRATION_NAMES, INTEGRATIONS } from "./firebase/index";
import type { DriftReport, ExecutionContext, Executor, FirebaseProvisionOutput, VerifyOutcome } from "./types";

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

function toTaskError(error: unknown, ctx: ExecutionContext): TaskError {
  if (error instanceof ApiCallError) return taskErrorFromApiError(error.site, error.cause, ctx.signal.aborted);
  if (error instanceof InvalidSettingsError) return { message: error.message, code: "invalid_settings", retryable: false };
  if (ctx.signal.aborted) return { message: "aborted (attempt timed out or was cancelled)", code: "aborted", retryable: true };
  return { message: error instanceof Error ? error.message : String(error), code: "executor_error", retryable: false };
}

async function record(ctx: ExecutionContext, p: FirebaseParams, action: string, desired: unknown, observed: unknown, drift: DriftReport["drift"]): Promise<void> {
  await ctx.recordEnvironmentState?.(environmentIdOf(p), p.integration, { desired, observed, drift, action, at: Date.now() });
}

const summary = (p: FirebaseParams): Pick<FirebaseProvisionOutput, "integration" | "environment" | "projectId"> => ({
  integration: p.integration,
  environment: p.environment,
  projectId: p.projectId,
});

export function createFirebaseExecutor(clients: () => GoogleClients = () => googleClients()): Executor {
  async function verify(raw: Record<string, unknown>, ctx: ExecutionContext): Promise<VerifyOutcome> {
    const r = resolve(raw);
    if (!r.ok) return r;
    try {
      const io = createIntegrationIo(clients(), ctx);
      const seen = await r.module.observe(r.params, io);
      await record(ctx, r.params, "verify", seen.desired, seen.observed, seen.drift);
      return { ok: true, report: { ...summary(r.params), inSync: seen.drift.length === 0, drift: seen.drift, desired: seen.desired, observed: seen.observed } };
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
        const result = await r.module.provision(r.params, io);
        await record(ctx, r.params, "provision", result.desired, result.observed, []);
        const output: FirebaseProvisionOutput = {
          ...summary(r.params),
          changed: result.changes.some((c) => c.kind !== "unchanged"),
          changes: result.changes,
          outputs: result.outputs,
        };
        return { ok: true, output };
      } catch (error) {
        return { ok: false, error: toTaskError(error, ctx) };
      }
    },

    async compensate(raw, ctx): Promise<ExecutionOutcome> {
      // Verifying changed nothing, so there is nothing to undo.
      if (raw.integration === ENVIRONMENT_INTEGRATION) return { ok: true, output: null };
      const r = resolve(raw);
      if (!r.ok) return r;
      try {
        const changes = await r.module.compensate(r.params, createIntegrationIo(clients(), ctx));
        await record(ctx, r.params, "compensate", null, null, []);
        const output: FirebaseProvisionOutput = { ...summary(r.params), changed: changes.some((c) => c.kind !== "unchanged"), changes };
        return { ok: true, output };
      } catch (error) {
        return { ok: false, error: toTaskError(error, ctx) };
      }
    },

    verify,
  };
}

export const firebaseExecutor: Executor = createFirebaseExecutor();
