/** Plan-level transitions, each one transaction that checks the status it expects. */
import type { Firestore } from "firebase-admin/firestore";
import type { FieldError } from "../schema/issues";
import type { PlanStatus } from "../schema/plan";
import type { CompiledSummary } from "../planner/compile";
import { PLAN_STATE_FIELDS, readPlanState, readTask } from "./converters";
import { decideStartCompensation, type EngineTiming } from "../engine/lifecycle";
import { eventRef, recordEvent } from "./events";
import { compareAndSet, type CasDecision } from "./firestore";
import { planRef, tasksOf } from "./paths";

export type StartLeaseResult = { kind: "acquired" } | { kind: "skip"; reason: string };

/**
 * pending → planning. Only the holder of the start lease writes the tasks; a duplicate delivery of
 * the plan-created event finds the lease held (or the plan started) and stops.
 */
export async function acquireStartLease(db: Firestore, planId: string, owner: string, now: number, leaseMs: number): Promise<StartLeaseResult> {
  return compareAndSet(
    db,
    planRef(db, planId),
    (snap): CasDecision<StartLeaseResult> => {
      const plan = readPlanState(snap);
      if (plan === undefined) return { result: { kind: "skip", reason: "plan document was deleted" } };
      const leaseFree = plan.startLease === undefined || plan.startLease === null || plan.startLease.expiresAt <= now;
      if (plan.status === "planning" && !leaseFree) return { result: { kind: "skip", reason: `start in progress by ${plan.startLease?.owner}` } };
      if (plan.status !== "pending" && plan.status !== "planning" && plan.status !== "waiting") return { result: { kind: "skip", reason: `plan is already ${plan.status}` } };
      return { result: { kind: "acquired" }, update: { status: "planning", startLease: { owner, expiresAt: now + leaseMs }, createdAt: plan.createdAt ?? now, updatedAt: now } };
    },
    { fieldMask: PLAN_STATE_FIELDS },
  );
}

/** pending → invalid, with every field error. Writes nothing else: no tasks, no events. */
export async function markPlanInvalid(db: Firestore, planId: string, errors: FieldError[], now: number): Promise<boolean> {
  return db.runTransaction(async (tx) => {
    const plan = readPlanState(await tx.get(planRef(db, planId)));
    if (plan === undefined || (plan.status !== "pending" && plan.status !== "planning")) return false;
    tx.update(planRef(db, planId), { status: "invalid", errors, startLease: null, createdAt: plan.createdAt ?? now, updatedAt: now, finishedAt: now });
    return true;
  });
}

/**
 * planning → running (every task document exists), rejected (a hard constraint failed) or planned
 * (dry run), by the start-lease holder only.
 */
export async function finishPlanning(
  db: Firestore,
  planId: string,
  owner: string,
  status: Extract<PlanStatus, "running" | "rejected" | "planned">,
  summary: CompiledSummary,
  now: number,
): Promise<boolean> {
  return compareAndSet(
    db,
    planRef(db, planId),
    (snap): CasDecision<boolean> => {
      const plan = readPlanState(snap);
      if (plan?.status !== "planning" || plan.startLease?.owner !== owner) return { result: false };
      const update: Record<string, unknown> = { status, compiled: summary, startLease: null, updatedAt: now };
      if (status === "running") {
        update.startedAt = now;
        update.waitingFor = null;
      } else update.finishedAt = now;
      const counts = `${summary.taskCount} tasks, ${summary.edgeCount} dependencies, ${summary.levelCount} levels`;
      const message =
        status === "running"
          ? `started: ${counts}`
          : status === "planned"
            ? `planned (dry run, nothing runs): ${counts}`
            : `rejected before anything ran: ${summary.rejectedReasons.join("; ")}`;
      return {
        result: true,
        update,
        alongside: (batch) =>
          recordEvent(batch, db, planId, `plan.${status === "running" ? "started" : status}`, {
            at: now,
            type: `plan.${status === "running" ? "started" : status}`,
            actor: "orchestrator",
            message,
            data: { ...summary },
          }),
      };
    },
    // The plan document carries its whole spec: the decision needs only its state.
    { fieldMask: PLAN_STATE_FIELDS },
  );
}

/** planning → waiting: another plan holds one of its environments' locks. */
export async function markPlanWaiting(db: Firestore, planId: string, owner: string, lock: string, holder: string, now: number): Promise<boolean> {
  return db.runTransaction(async (tx) => {
    const plan = readPlanState(await tx.get(planRef(db, planId)));
    if (plan?.status !== "planning" || plan.startLease?.owner !== owner) return false;
    tx.update(planRef(db, planId), { status: "waiting", waitingFor: { lock, plan: holder }, startLease: null, updatedAt: now });
    recordEvent(tx, db, planId, `plan.waiting.${holder}`, {
      at: now,
      type: "plan.waiting",
      actor: "orchestrator",
      message: `waiting: environment ${lock} is locked by plan ${holder}; this plan starts when it finishes`,
      data: { lock, holder },
    });
    return true;
  });
}

/**
 * Moves the plan from one of `from` to `to`, with its event, in one commit guarded by the plan's
 * update time (compare-and-set). Returns false (and writes nothing) when the plan is not in
 * `from`, or when the event id was used already (a command delivered twice).
 */
export async function transitionPlan(
  db: Firestore,
  planId: string,
  from: readonly PlanStatus[],
  to: PlanStatus,
  now: number,
  event: { id: string; type: string; actor: string; message: string; taskId?: string; extra?: Record<string, unknown> },
): Promise<boolean> {
  const ref = planRef(db, planId);
  const terminal = ["succeeded", "failed", "rolled_back", "cancelled"].includes(to);
  return compareAndSet(
    db,
    ref,
    (planSnap, [eventSnap]): CasDecision<boolean> => {
      const plan = readPlanState(planSnap);
      if (plan === undefined || !from.includes(plan.status) || eventSnap!.exists) return { result: false };
      return {
        result: true,
        update: { status: to, updatedAt: now, ...(terminal ? { finishedAt: now } : { finishedAt: null }), ...event.extra },
        alongside: (batch) =>
          recordEvent(batch, db, planId, event.id, {
            at: now,
            type: event.type,
            actor: event.actor,
            message: event.message,
            ...(event.taskId === undefined ? {} : { taskId: event.taskId }),
          }),
      };
    },
    // Only the status decides: the many last tasks of a wide plan that all try to finish it read a few bytes each.
    { fieldMask: ["status"], readWith: [eventRef(db, planId, event.id)] },
  );
}

/** running → succeeded | failed. Returns false when the plan had already left `running`. */
export async function finishPlan(
  db: Firestore,
  planId: string,
  status: Extract<PlanStatus, "succeeded" | "failed">,
  now: number,
  detail: { failedTask?: string; message: string },
): Promise<boolean> {
  return transitionPlan(db, planId, ["running"], status, now, {
    id: `plan.${status}`,
    type: `plan.${status}`,
    actor: "orchestrator",
    message: detail.message,
    ...(detail.failedTask === undefined ? {} : { taskId: detail.failedTask }),
    extra: { failedTask: detail.failedTask ?? null },
  });
}

export type RollbackStep = { kind: "wait" } | { kind: "compensate"; tasks: Array<{ id: string; attempt: number }>; level: number } | { kind: "finished"; status: PlanStatus } | { kind: "skip" };

/**
 * One step of a rollback, serialised on the plan document: wait while anything still runs or
 * compensates; otherwise queue the compensations of the highest level left (reverse topological
 * order); when none is left, finish `rolled_back`, or `failed` if a compensation failed.
 */
export async function advanceRollback(db: Firestore, planId: string, now: number, timing: EngineTiming, batchLimit: number): Promise<RollbackStep> {
  const ref = planRef(db, planId);
  const tasks = tasksOf(db, planId);
  return db.runTransaction(async (tx): Promise<RollbackStep> => {
    const plan = readPlanState(await tx.get(ref));
    if (plan?.status !== "rolling_back") return { kind: "skip" };
    const busy = await tx.get(tasks.where("status", "in", ["running", "compensating"]).limit(1));
    if (!busy.empty) return { kind: "wait" };
    const next = await tx.get(tasks.where("status", "==", "succeeded").where("compensable", "==", true).orderBy("level", "desc").limit(batchLimit));
    if (!next.empty) {
      const level = next.docs[0]!.get("level") as number;
      const queued: Array<{ id: string; attempt: number }> = [];
      for (const doc of next.docs) {
        const task = readTask(doc);
        if (task === undefined || task.level !== level) continue;
        const decision = decideStartCompensation(task, now, timing);
        if (decision.kind !== "compensate") continue;
        tx.update(doc.ref, decision.update);
        queued.push({ id: task.id, attempt: task.attempt });
      }
      // Written on the plan, so two rollback steps racing from different workers conflict here and run one after the other.
      tx.update(ref, { rollbackLevel: level, updatedAt: now });
      return { kind: "compensate", tasks: queued, level };
    }
    const failedCompensation = await tx.get(tasks.where("compensationError", "!=", null).limit(1));
    const status: PlanStatus = failedCompensation.empty ? "rolled_back" : "failed";
    const message = failedCompensation.empty
      ? "rolled back: every compensation succeeded"
      : `rollback incomplete: compensation of ${failedCompensation.docs[0]!.id} failed (${(failedCompensation.docs[0]!.get("compensationError") as { message?: string })?.message ?? "unknown error"})`;
    tx.update(ref, { status, finishedAt: now, updatedAt: now });
    recordEvent(tx, db, planId, `plan.${status}.${now}`, { at: now, type: `plan.${status}`, actor: "orchestrator", message });
    return { kind: "finished", status };
  });
}

