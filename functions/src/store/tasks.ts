/**
 * Task transitions, each one Firestore transaction around a pure decision from engine/lifecycle.
 * The transaction re-reads the task, so the compare-and-set holds under any interleaving.
 */
import type { DocumentReference, Firestore } from "firebase-admin/firestore";
import {
  decideCancel,
  decideClaim,
  decideCompletion,
  decideRelease,
  decideSweep,
  type EngineTiming,
  type ExecutionOutcome,
  type SweepDecision,
} from "../engine/lifecycle";
import type { TaskDoc, TaskStatus } from "../schema/task";
import { readPlanState, readTask } from "./converters";
import { recordEvent } from "./events";
import { COLLECTIONS, planRef, taskRef, tasksOf } from "./paths";

export type ClaimResult = { kind: "claimed"; task: TaskDoc } | { kind: "skip"; reason: string };

export async function claimTask(
  db: Firestore,
  ids: { planId: string; taskId: string; attempt: number },
  owner: string,
  now: number,
  timing: EngineTiming,
): Promise<ClaimResult> {
  const ref = taskRef(db, ids.planId, ids.taskId);
  return db.runTransaction(async (tx) => {
    const [taskSnap, planSnap] = await tx.getAll(ref, planRef(db, ids.planId));
    const task = readTask(taskSnap!);
    const plan = readPlanState(planSnap!);
    if (task === undefined || plan === undefined) return { kind: "skip", reason: "unknown plan or task" };
    const decision = decideClaim({ task, planStatus: plan.status, attempt: ids.attempt, owner, now, timing });
    if (decision.kind === "skip") return decision;
    tx.update(ref, decision.update);
    return { kind: "claimed", task: { ...task, ...decision.update } };
  });
}

export type CompleteResult = { kind: "completed"; status: TaskStatus; task: TaskDoc } | { kind: "skip"; reason: string };

/**
 * running → succeeded | failed, plus one event that carries the attempt's transitions: the task's
 * own history lives on its document, and the plan's event feed gets one record per finished attempt.
 */
export async function completeTask(
  db: Firestore,
  ids: { planId: string; taskId: string; attempt: number },
  owner: string,
  outcome: ExecutionOutcome,
  now: number,
  timing: EngineTiming,
): Promise<CompleteResult> {
  const ref = taskRef(db, ids.planId, ids.taskId);
  return db.runTransaction(async (tx) => {
    const task = readTask(await tx.get(ref));
    if (task === undefined) return { kind: "skip", reason: "unknown task" };
    const decision = decideCompletion({ task, attempt: ids.attempt, owner, outcome, now, timing });
    if (decision.kind === "skip") return decision;
    tx.update(ref, decision.update);
    const finished = { ...task, ...decision.update };
    recordEvent(tx, db, ids.planId, `task.${ids.taskId}.${ids.attempt}.${decision.status}`, {
      at: now,
      type: `task.${decision.status}`,
      actor: owner,
      taskId: ids.taskId,
      attempt: ids.attempt,
      message: outcome.ok ? `${ids.taskId} succeeded` : `${ids.taskId} failed: ${outcome.error.message}`,
      data: {
        transitions: finished.history.filter((h) => h.attempt === ids.attempt),
        durationMs: task.startedAt === null ? null : now - task.startedAt,
        ...(outcome.ok ? {} : { error: outcome.error }),
      },
    });
    return { kind: "completed", status: decision.status, task: finished };
  });
}

/** Records one finished need on a dependent; true when that made the dependent ready. */
export async function releaseDependent(
  db: Firestore,
  planId: string,
  dependentId: string,
  need: string,
  needStatus: TaskStatus,
  now: number,
  timing: EngineTiming,
): Promise<boolean> {
  const ref = taskRef(db, planId, dependentId);
  return db.runTransaction(async (tx) => {
    const dependent = readTask(await tx.get(ref));
    if (dependent === undefined) return false;
    const decision = decideRelease({ dependent, need, needStatus, now, timing });
    if (decision.kind === "skip") return false;
    tx.update(ref, decision.update);
    return decision.becameReady;
  });
}

/** The finished task's consequences are all written: the sweeper need not look at it again. */
export async function markSettled(db: Firestore, planId: string, taskId: string): Promise<void> {
  await taskRef(db, planId, taskId).update({ sweepAt: null });
}

/** Cancels every task of the plan that has not started, in small transactions. Returns how many. */
export async function cancelUnstartedTasks(db: Firestore, planId: string, cause: string, now: number, pageSize: number): Promise<number> {
  let cancelled = 0;
  for (;;) {
    const page = await tasksOf(db, planId).where("status", "in", ["blocked", "ready"]).limit(pageSize).get();
    if (page.empty) return cancelled;
    const results = await Promise.all(page.docs.map((doc) => cancelTask(db, doc.ref, cause, now)));
    const changed = results.filter(Boolean).length;
    cancelled += changed;
    if (changed === 0) return cancelled;
  }
}

async function cancelTask(db: Firestore, ref: DocumentReference, cause: string, now: number): Promise<boolean> {
  return db.runTransaction(async (tx) => {
    const task = readTask(await tx.get(ref));
    if (task === undefined) return false;
    const decision = decideCancel(task, cause, now);
    if (decision.kind === "skip") return false;
    tx.update(ref, decision.update);
    return true;
  });
}

/**
 * Tasks whose `sweepAt` has passed, oldest first, across every plan. A collection group matches
 * every collection named `tasks`, so only documents at `plans/{planId}/tasks/{taskId}` count.
 */
export async function dueTasks(db: Firestore, now: number, limit: number): Promise<DocumentReference[]> {
  const snap = await db.collectionGroup(COLLECTIONS.tasks).where("sweepAt", "<=", now).orderBy("sweepAt").limit(limit).get();
  return snap.docs.map((d) => d.ref).filter((ref) => ref.parent.parent?.parent.id === COLLECTIONS.plans && ref.parent.parent.parent.parent === null);
}

export async function sweepTask(
  db: Firestore,
  ref: DocumentReference,
  now: number,
  timing: EngineTiming,
): Promise<{ decision: SweepDecision; task?: TaskDoc }> {
  return db.runTransaction(async (tx) => {
    const task = readTask(await tx.get(ref));
    if (task === undefined) return { decision: { kind: "skip", reason: "gone" } };
    const decision = decideSweep(task, now, timing);
    if (decision.kind !== "skip") tx.update(ref, decision.update);
    return { decision, task: { ...task, ...(decision.kind === "skip" ? {} : decision.update) } };
  });
}
