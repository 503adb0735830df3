/**
 * Starts a plan: compile (pure), take the start lease, write every task, mark the plan running,
 * publish the tasks that need nothing. Safe to run twice for the same plan: only the lease holder
 * writes, and a plan past `planning` is left alone.
 */
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING, LIMITS, START_LEASE_MS } from "../config";
import { FAN_IN_THRESHOLD, wideJoinEdge } from "../engine/release";
import type { LockAnswer } from "../engine/plan";
import { initialTask } from "../engine/task";
import { logs } from "../logs";
import { compilePlan, environmentsOf, type CompiledPlan } from "../planner/compile";
import { acquireStartLease, applyPlanInput, finishWithoutRunning, holdsStartLease, markPlanInvalid } from "../store/plans";
import { applyPlanEffects, followThrough } from "./plan-effects";
import { acquireLocks } from "../store/locks";
import { removeTasksNotIn, writeStartTasks } from "../store/tasks";
import { deploymentCompileOptions } from "./deployment";
import { freezeAnswer, freezeOverrideOf, type FreezeOverride } from "./freeze";
import { writePlanReport } from "../store/reports";
import { templateForPlan } from "../store/templates";
import { chunked, inParallel } from "./parallel";
import { executorCompensates } from "../executors/registry";
import { DEFAULT_TIMEOUT_SECONDS, type TaskSpec } from "../schema/plan";
import type { TaskDoc } from "../schema/task";
import { planPoolId } from "../store/pools";

export type StartOutcome = "invalid" | "started" | "rejected" | "planned" | "waiting" | "skipped" | "failed";

/** A start that fails this often (the same error each time) ends the plan instead of trying forever. */
export const MAX_START_ATTEMPTS = 5;

/**
 * pending (or waiting to start, or a start that died) → planning → running | waiting | invalid |
 * rejected | planned. Every write is fenced by the start lease, each in the transaction (or the
 * compare-and-set) that checks it: the locks, every chunk of tasks, the transition. So a starter
 * that lost the lease (a cancel came, or it stalled and another took over) writes nothing more, and
 * what it wrote while it held it is the plan's: cancelled by the cancel's effects, or written again
 * whole by the start that took over (a retry of a plan that never began starts on fresh tasks).
 */
export async function startPlan(
  db: Firestore,
  planId: string,
  doc: Record<string, unknown>,
  owner: string,
  now: () => number = Date.now,
): Promise<StartOutcome> {
  // The deployment's protection policy puts its gates into the plan and its secret bindings are
  // checked; an invalid policy stops the plan (naming the bad field) rather than running it unprotected.
  // A plan document `{template, params}` is compiled from its template, at the version it renders
  // (store/templates.ts: the one it was compiled from before, when this is a start again).
  const [deployment, template] = await Promise.all([deploymentCompileOptions(db), templateForPlan(db, doc)]);
  const compiled = !deployment.ok ? deployment : !template.ok ? template : compilePlan(doc, { ...deployment.options, template: template.template });
  if (!compiled.ok) {
    // Invalid: its status and errors, and nothing else is written (no lease, no tasks, no history).
    if (await markPlanInvalid(db, planId, compiled.errors, now())) logs.planInvalid(planId, compiled.errors);
    return "invalid";
  }
  const lease = await acquireStartLease(db, planId, owner, now(), START_LEASE_MS);
  if (lease.kind === "skip") {
    logs.planStartSkipped(planId, lease.reason);
    return "skipped";
  }
  try {
    return await startLeased(db, planId, compiled.plan, owner, now, freezeOverrideOf(doc));
  } catch (error) {
    // Left in `planning`: its lease expires and the next delivery or the sweeper tries again,
    // until MAX_START_ATTEMPTS, when the plan ends failed with this error.
    if (lease.attempts >= MAX_START_ATTEMPTS) {
      const message = error instanceof Error ? error.message.split("\n")[0]!.slice(0, 500) : String(error);
      await followThrough(db, planId, await applyPlanInput(db, planId, { kind: "start_failed", attempts: lease.attempts, message }, now(), { actor: "orchestrator", guard: holdsStartLease(owner) }), now);
      return "failed";
    }
    throw error;
  }
}

/**
 * The pools an attempt of the task takes a slot in: its plan's own (`maxParallel`) first, then the
 * one it names. Waiting kinds take none (runtime/pools.ts).
 */
function poolsOf(planId: string, spec: TaskSpec, maxParallel: number | undefined): TaskDoc["pools"] {
  if (spec.run === "approval" || spec.run === "external") return [];
  return [...(maxParallel === undefined ? [] : [{ id: planPoolId(planId), slots: maxParallel }]), ...(spec.pool === undefined ? [] : [{ id: spec.pool, slots: null }])];
}

async function startLeased(db: Firestore, planId: string, plan: CompiledPlan, owner: string, now: () => number, override: FreezeOverride | null): Promise<StartOutcome> {
  const { tasks, graph, summary, report, outcome } = plan;
  // The report goes out alongside everything else; the plan leaves `planning` only once it is written.
  const reportWritten = writePlanReport(db, planId, report);
  reportWritten.catch(() => undefined); // awaited below; this keeps an early return from leaving it unhandled
  if (outcome !== "run") {
    await reportWritten;
    // Rejected (a hard constraint failed) or a dry run: the report is the result; nothing is provisioned.
    const done = await followThrough(db, planId, await finishWithoutRunning(db, planId, owner, outcome, summary, now()), now);
    return done.kind === "transition" ? outcome : "skipped";
  }
  // One running plan per environment: wait (status `waiting`) while another plan holds one. Taken
  // only under the start lease: a start that lost it (a cancel came) takes nothing.
  const environments = environmentsOf(tasks);
  // A freeze window on one of them: wait, holding no lock, until it ends or an operator overrides it.
  const frozen = await freezeAnswer(db, summary.environments, override, "start", 1, now());
  let answer: LockAnswer = frozen ?? { granted: true };
  if (frozen === null) {
    const locked = await acquireLocks(db, planId, environments, now(), holdsStartLease(owner));
    if (locked.kind === "refused") {
      logs.planStartSkipped(planId, `start lease lost before the locks were taken: ${locked.reason}`);
      return "skipped";
    }
    if (locked.kind === "busy") answer = { granted: false, lock: locked.lock, holder: locked.holder };
  }
  if (!answer.granted) {
    await reportWritten;
    const why = "freeze" in answer ? { freeze: answer.freeze.window, until: answer.freeze.until } : { lock: answer.lock, holder: answer.holder };
    const waiting = await applyPlanInput(db, planId, { kind: "begin", locks: answer, taskCount: tasks.length, deadlineSeconds: summary.controls.deadlineSeconds }, now(), {
      actor: "orchestrator",
      guard: holdsStartLease(owner),
      data: why,
      also: () => ({ startLease: null, compiled: summary }),
    });
    if (waiting.kind === "transition") logs.planStartSkipped(planId, "freeze" in answer ? `waiting for freeze window ${answer.freeze.window} to end` : `waiting for ${answer.lock}, locked by ${answer.holder}`);
    return waiting.kind === "transition" ? "waiting" : "skipped";
  }
  const startedAt = now();
  // Each wide join's needs by position: a need's arrival group follows from its place.
  const wideJoins = new Map(tasks.filter((t) => t.needs.length > FAN_IN_THRESHOLD).map((t) => [t.id, { needs: t.needs.length, at: new Map(t.needs.map((n, i) => [n, i])) }]));
  const joinEdge = (joinId: string, needId: string) => {
    const join = wideJoins.get(joinId);
    const at = join?.at.get(needId);
    return join === undefined || at === undefined ? undefined : wideJoinEdge(join.needs, at);
  };
  // A few batches in flight at once: a 5,000-task plan is written in a handful of round trips, each
  // under the start lease (store/tasks.ts writeStartTasks).
  let lost = false;
  await inParallel(LIMITS.taskWriteParallelism, chunked(tasks, LIMITS.taskWriteBatch), async (chunk) => {
    if (lost) return;
    const created = chunk.map((spec) =>
      initialTask({
        planId,
        spec: { ...spec, timeoutSeconds: spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS[spec.run] },
        executorCompensates: executorCompensates(spec.run),
        pools: poolsOf(planId, spec, plan.spec.maxParallel),
        priority: plan.spec.priority,
        dependents: graph.dependents.get(spec.id)!,
        joinEdge,
        level: graph.level.get(spec.id)!,
        now: startedAt,
        timing: ENGINE_TIMING,
      }),
    );
    if (!(await writeStartTasks(db, planId, created, holdsStartLease(owner)))) lost = true;
  });
  // An earlier start may have written tasks this compile does not have (the policy changed since).
  if (!lost && !(await removeTasksNotIn(db, planId, new Set(tasks.map((t) => t.id)), holdsStartLease(owner)))) lost = true;
  if (lost) {
    // What it wrote while it held the lease is the plan's: the cancel that took the lease cancels
    // it (its effects run after this start's writes), and a start that took over writes it again.
    logs.planStartSkipped(planId, "start lease lost while the tasks were written");
    return "skipped";
  }
  await reportWritten;
  // Its locks must still be its own: a start whose lease ran out had them freed by lock maintenance.
  const running = await applyPlanInput(db, planId, { kind: "begin", locks: { granted: true }, taskCount: tasks.length, deadlineSeconds: summary.controls.deadlineSeconds }, now(), {
    actor: "orchestrator",
    guard: holdsStartLease(owner),
    data: { ...summary },
    also: () => ({ compiled: summary, startLease: null, waitingFor: null }),
    locks: environments,
  });
  if (running.kind === "skip") {
    // Nothing to undo: every write of this start was fenced by its lease (see above); a plan left
    // in `planning` (its locks freed after its lease ran out) is started again by the sweeper.
    logs.planStartSkipped(planId, `start lease lost before the plan could run: ${running.reason}`);
    return "skipped";
  }
  await applyPlanEffects(db, planId, running, now, graph.roots.map((taskId) => ({ planId, taskId, attempt: 1, phase: "run" as const })));
  logs.planStarted(planId, summary.taskCount, graph.roots.length);
  return "started";
}
