/** Plan-level transitions, each one transaction that checks the status it expects. */
import type { Firestore } from "firebase-admin/firestore";
import type { FieldError } from "../schema/issues";
import type { PlanStatus } from "../schema/plan";
import type { CompiledSummary } from "../planner/compile";
import { readPlanState } from "./converters";
import { recordEvent } from "./events";
import { planRef, tasksOf } from "./paths";

export type StartLeaseResult = { kind: "acquired" } | { kind: "skip"; reason: string };

/**
 * pending → planning. Only the holder of the start lease writes the tasks; a duplicate delivery of
 * the plan-created event finds the lease held (or the plan started) and stops.
 */
export async function acquireStartLease(db: Firestore, planId: string, owner: string, now: number, leaseMs: number): Promise<StartLeaseResult> {
  return db.runTransaction(async (tx) => {
    const plan = readPlanState(await tx.get(planRef(db, planId)));
    if (plan === undefined) return { kind: "skip", reason: "plan document was deleted" };
    const leaseFree = plan.startLease === undefined || plan.startLease === null || plan.startLease.expiresAt <= now;
    if (plan.status === "planning" && !leaseFree) return { kind: "skip", reason: `start in progress by ${plan.startLease?.owner}` };
    if (plan.status !== "pending" && plan.status !== "planning") return { kind: "skip", reason: `plan is already ${plan.status}` };
    tx.update(planRef(db, planId), { status: "planning", startLease: { owner, expiresAt: now + leaseMs }, createdAt: plan.createdAt ?? now, updatedAt: now });
    return { kind: "acquired" };
  });
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
  return db.runTransaction(async (tx) => {
    const plan = readPlanState(await tx.get(planRef(db, planId)));
    if (plan?.status !== "planning" || plan.startLease?.owner !== owner) return false;
    const update: Record<string, unknown> = { status, compiled: summary, startLease: null, updatedAt: now };
    if (status === "running") update.startedAt = now;
    else update.finishedAt = now;
    tx.update(planRef(db, planId), update);
    const counts = `${summary.taskCount} tasks, ${summary.edgeCount} dependencies, ${summary.levelCount} levels`;
    const message =
      status === "running"
        ? `started: ${counts}`
        : status === "planned"
          ? `planned (dry run, nothing runs): ${counts}`
          : `rejected before anything ran: ${summary.rejectedReasons.join("; ")}`;
    recordEvent(tx, db, planId, `plan.${status === "running" ? "started" : status}`, {
      at: now,
      type: `plan.${status === "running" ? "started" : status}`,
      actor: "orchestrator",
      message,
      data: { ...summary },
    });
    return true;
  });
}

/** running → a final status. Returns false when the plan had already left `running`. */
export async function finishPlan(
  db: Firestore,
  planId: string,
  status: Extract<PlanStatus, "succeeded" | "failed">,
  now: number,
  detail: { failedTask?: string; message: string },
): Promise<boolean> {
  return db.runTransaction(async (tx) => {
    const plan = readPlanState(await tx.get(planRef(db, planId)));
    if (plan?.status !== "running") return false;
    tx.update(planRef(db, planId), { status, finishedAt: now, updatedAt: now, failedTask: detail.failedTask ?? null });
    recordEvent(tx, db, planId, `plan.${status}`, {
      at: now,
      type: `plan.${status}`,
      actor: "orchestrator",
      message: detail.message,
      ...(detail.failedTask === undefined ? {} : { taskId: detail.failedTask }),
    });
    return true;
  });
}

/**
 * True when no task of the plan can still change on its own. Counted with an aggregation query
 * rather than a counter on the plan document, so the plan never becomes a hot document.
 */
export async function allTasksFinished(db: Firestore, planId: string): Promise<boolean> {
  const open = await tasksOf(db, planId).where("status", "in", ["blocked", "ready", "running"]).count().get();
  return open.data().count === 0;
}
