/**
 * Starts a plan: compile (pure), take the start lease, write every task, mark the plan running,
 * publish the tasks that need nothing. Safe to run twice for the same plan: only the lease holder
 * writes, and a plan past `planning` is left alone.
 */
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING, LIMITS, START_LEASE_MS } from "../config";
import { FAN_IN_THRESHOLD, initialTask, wideJoinEdge } from "../engine/lifecycle";
import { publishTaskReady } from "../bus/publish";
import { logs } from "../logs";
import { compilePlan } from "../planner/compile";
import { acquireStartLease, finishPlanning, markPlanInvalid, markPlanWaiting } from "../store/plans";
import { acquireLocks } from "../store/locks";
import { deploymentCompileOptions } from "./deployment";
import { writePlanReport } from "../store/reports";
import { taskRef } from "../store/paths";
import { retryAborted } from "../store/firestore";
import { chunked, inParallel } from "./parallel";
import { executorCompensates } from "../executors/registry";
import { DEFAULT_TIMEOUT_SECONDS, type TaskSpec } from "../schema/plan";

/** The environments (Firebase projects) a plan provisions or verifies: the locks it needs. */
export function environmentsOf(tasks: readonly TaskSpec[]): string[] {
  const projects = new Set<string>();
  for (const task of tasks) if (task.run === "firebase") projects.add(task.params.projectId);
  return [...projects].sort();
}

export type StartOutcome = "invalid" | "started" | "rejected" | "planned" | "waiting" | "skipped";

export async function startPlan(
  db: Firestore,
  planId: string,
  doc: Record<string, unknown>,
  owner: string,
  now: () => number = Date.now,
): Promise<StartOutcome> {
  // The deployment's protection policy puts its gates into the plan and its secret bindings are
  // checked; an invalid policy stops the plan (naming the bad field) rather than running it unprotected.
  const deployment = await deploymentCompileOptions(db);
  const compiled = deployment.ok ? compilePlan(doc, deployment.options) : deployment;
  if (!compiled.ok) {
    if (await markPlanInvalid(db, planId, compiled.errors, now())) logs.planInvalid(planId, compiled.errors);
    return "invalid";
  }
  const lease = await acquireStartLease(db, planId, owner, now(), START_LEASE_MS);
  if (lease.kind === "skip") {
    logs.planStartSkipped(planId, lease.reason);
    return "skipped";
  }

  const { tasks, graph, summary, report, outcome } = compiled.plan;
  // The report goes out alongside everything else; the plan leaves `planning` only once it is written.
  const reportWritten = writePlanReport(db, planId, report);
  reportWritten.catch(() => undefined); // awaited below; this keeps an early return from leaving it unhandled
  if (outcome !== "run") {
    await reportWritten;
    // Rejected (a hard constraint failed) or a dry run: the report is the result; nothing is provisioned.
    const status = outcome === "rejected" ? "rejected" : "planned";
    if (!(await finishPlanning(db, planId, owner, status, summary, now()))) return "skipped";
    logs.planFinished(planId, status);
    return status;
  }
  // One running plan per environment: wait (status `waiting`) while another plan holds one.
  const locked = await acquireLocks(db, planId, environmentsOf(tasks), now());
  if (locked.kind === "busy") {
    await reportWritten;
    if (await markPlanWaiting(db, planId, owner, locked.lock, locked.holder, now())) logs.planStartSkipped(planId, `waiting for ${locked.lock}, locked by ${locked.holder}`);
    return "waiting";
  }
  const startedAt = now();
  // Each wide join's needs by position: a need's arrival group follows from its place.
  const wideJoins = new Map(tasks.filter((t) => t.needs.length > FAN_IN_THRESHOLD).map((t) => [t.id, { needs: t.needs.length, at: new Map(t.needs.map((n, i) => [n, i])) }]));
  const joinEdge = (joinId: string, needId: string) => {
    const join = wideJoins.get(joinId);
    const at = join?.at.get(needId);
    return join === undefined || at === undefined ? undefined : wideJoinEdge(join.needs, at);
  };
  // A few batches in flight at once: a 5,000-task plan is written in a handful of round trips.
  await inParallel(LIMITS.taskWriteParallelism, chunked(tasks, LIMITS.taskWriteBatch), async (chunk) => {
    const batch = db.batch();
    for (const spec of chunk) {
      const task = initialTask({
        planId,
        spec: { ...spec, timeoutSeconds: spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS[spec.run] },
        executorCompensates: executorCompensates(spec.run),
        dependents: graph.dependents.get(spec.id)!,
        joinEdge,
        level: graph.level.get(spec.id)!,
        now: startedAt,
        timing: ENGINE_TIMING,
      });
      batch.set(taskRef(db, planId, spec.id), task);
    }
    await retryAborted(() => batch.commit());
  });
  await reportWritten;
  if (!(await finishPlanning(db, planId, owner, "running", summary, now()))) {
    logs.planStartSkipped(planId, "start lease lost before the plan could run");
    return "skipped";
  }
  await publishTaskReady(graph.roots.map((taskId) => ({ planId, taskId, attempt: 1, phase: "run" as const })));
  logs.planStarted(planId, summary.taskCount, graph.roots.length);
  return "started";
}

