/**
 * Plan transitions: each one a compare-and-set on the plan document around a pure decision of the
 * plan state machine (engine/plan.ts), with its history record in the same commit. The store only
 * applies decisions; what to do afterwards (the effects) is the runtime's (runtime/plan-effects.ts).
 */
import type { DocumentReference, Firestore } from "firebase-admin/firestore";
import type { FieldError } from "../schema/issues";
import type { CompiledSummary } from "../planner/compile";
import { PLAN_STATE_FIELDS, readPlanState, readTask } from "./converters";
import { ACTIVE_PLAN_STATUSES, decidePlan, LOCKS_NO_LONGER_HELD, type PlanDecision, type PlanInput, type PlanMachineState, type PlanTransition } from "../engine/plan";
import { decideRearmCompensation, decideStartCompensation, ROLLBACK_WAITS_FOR, type EngineTiming } from "../engine/task";
import { failurePolicySchema, type FailurePolicy, type PlanState } from "../schema/plan";
import { eventRef, recordEvent } from "./events";
import { compareAndSet, type CasDecision } from "./firestore";
import { sharedRead } from "./group-commit";
import { LOCK_FIELDS, lockRefs, locksStillHeld } from "./locks";
import { COLLECTIONS, planRef, tasksOf } from "./paths";

export type PlanOutcome = PlanTransition | { kind: "skip"; reason: string };

export const machineState = (plan: PlanState): PlanMachineState => ({
  status: plan.status,
  seq: plan.seq,
  generation: plan.generation,
  resume: plan.resume,
  started: typeof plan.startedAt === "number",
  frozen: typeof plan.waitingFor?.freeze === "string",
  runDeadline: plan.runDeadline ?? null,
});

/** Who or what caused a transition, recorded on its history record. */
export interface TransitionCause {
  actor: string;
  taskId?: string;
  data?: Record<string, unknown>;
  /** A command's id: its record `command.{commandId}` is written too, and a repeat of it is a no-op. */
  commandId?: string;
  /** An extra condition on the stored plan (e.g. the start lease's owner); a reason refuses. */
  guard?: (plan: PlanState) => string | undefined;
  /** More fields written in the same commit (e.g. the start lease, the compiled summary). */
  also?: (plan: PlanState) => Record<string, unknown>;
  /** False: no history record (an invalid plan gets its status and errors and nothing else). */
  record?: boolean;
  /**
   * The environments whose locks the transition counts on (its lock answer was `granted`): read
   * with the plan, and when the plan enters an active status each must still be its own, renewed
   * and stamped in the same commit (store/locks.ts locksStillHeld); one that is not refuses with
   * LOCKS_NO_LONGER_HELD, and the caller asks for them again. An answer read before the commit may
   * have gone stale: a release its previous transition still owed, or another caller's, freed it.
   */
  locks?: readonly string[];
}

/**
 * Decides `input` on the stored plan and applies the transition: status, `seq` + 1, the decision's
 * fields and `effectsPending` when the new status owes effects, plus its history record, in one
 * commit guarded by the plan's update time. A lost race decides again on what is stored.
 */
export async function applyPlanInput(db: Firestore, planId: string, input: PlanInput, now: number, cause: TransitionCause): Promise<PlanOutcome> {
  const commandRef: DocumentReference | undefined = cause.commandId === undefined ? undefined : eventRef(db, planId, `command.${cause.commandId}`);
  const lockDocs = lockRefs(db, cause.locks ?? []);
  const readWith = [...(commandRef === undefined ? [] : [commandRef]), ...lockDocs];
  return compareAndSet(
    db,
    planRef(db, planId),
    (snap, others): CasDecision<PlanOutcome> => {
      const commandSnap = commandRef === undefined ? undefined : others[0];
      const lockSnaps = others.slice(commandRef === undefined ? 0 : 1);
      const plan = readPlanState(snap);
      if (plan === undefined) return { result: { kind: "skip", reason: `unknown plan ${planId}` } };
      if (commandSnap?.exists) return { result: { kind: "skip", reason: `command ${cause.commandId} was applied already` } };
      const refusal = cause.guard?.(plan);
      if (refusal !== undefined) return { result: { kind: "skip", reason: refusal } };
      const decision: PlanDecision = decidePlan(machineState(plan), input, now);
      if (decision.kind === "skip") return { result: decision };
      const locks = lockDocs.length > 0 && ACTIVE_PLAN_STATUSES.has(decision.to) ? locksStillHeld(planId, lockSnaps, decision.seq, now) : undefined;
      if (locks?.held === false) return { result: { kind: "skip", reason: LOCKS_NO_LONGER_HELD } };
      const record = {
        at: now,
        type: decision.type,
        actor: cause.actor,
        message: decision.message,
        ...(cause.taskId === undefined ? {} : { taskId: cause.taskId }),
        data: { from: decision.from, to: decision.to, generation: (decision.update.generation as number | undefined) ?? plan.generation, ...cause.data },
      };
      return {
        result: decision,
        update: {
          ...decision.update,
          ...cause.also?.(plan),
          status: decision.to,
          seq: plan.seq + 1,
          updatedAt: now,
          effectsPending: decision.effects.length > 0,
          createdAt: plan.createdAt ?? now,
        },
        alongside: (batch) => {
          if (cause.record !== false) recordEvent(batch, db, planId, decision.eventId, record);
          if (commandRef !== undefined) batch.set(commandRef, { ...record, type: `command.${input.kind === "command" ? input.command : input.kind}` });
          locks?.confirm(batch);
        },
      };
    },
    // The plan document carries its whole spec: a decision needs only its state (and the locks' fields).
    { fieldMask: lockDocs.length === 0 ? PLAN_STATE_FIELDS : [...new Set([...PLAN_STATE_FIELDS, ...LOCK_FIELDS])], writeId: true, ...(readWith.length === 0 ? {} : { readWith }) },
  );
}

/** The effects of transition `seq` were all applied: clears `effectsPending`, unless the plan moved on since. */
export async function clearPlanEffects(db: Firestore, planId: string, seq: number, now: number): Promise<void> {
  await compareAndSet(
    db,
    planRef(db, planId),
    (snap): CasDecision<void> => {
      const plan = readPlanState(snap);
      if (plan === undefined || plan.seq !== seq || !plan.effectsPending) return { result: undefined };
      return { result: undefined, update: { effectsPending: false, updatedAt: now } };
    },
    { fieldMask: PLAN_STATE_FIELDS, writeId: true },
  );
}

export type StartLeaseResult = { kind: "acquired"; attempts: number } | { kind: "skip"; reason: string };

/**
 * pending | waiting (to start) | planning → planning, with the start lease. Only the lease holder
 * writes the tasks. A redelivery of the same start (the same owner) resumes it; another owner waits
 * until the lease expires (a start that died is taken over by the next delivery or the sweeper).
 */
export async function acquireStartLease(db: Firestore, planId: string, owner: string, now: number, leaseMs: number): Promise<StartLeaseResult> {
  let attempts = 0;
  const outcome = await applyPlanInput(db, planId, { kind: "start" }, now, {
    actor: "orchestrator",
    guard: (plan) => {
      const lease = plan.startLease;
      if (plan.status === "planning" && lease !== null && lease !== undefined && lease.owner !== owner && lease.expiresAt > now) return `start in progress by ${lease.owner}`;
      return undefined;
    },
    also: (plan) => {
      // A redelivery of the same start resumes it without counting as another attempt.
      attempts = plan.startLease?.owner === owner ? plan.startAttempts : plan.startAttempts + 1;
      return { startLease: { owner, expiresAt: now + leaseMs }, startAttempts: attempts };
    },
  });
  return outcome.kind === "skip" ? outcome : { kind: "acquired", attempts };
}

/** Whether `owner` still holds the start lease: every write of a start is fenced by it. */
export const holdsStartLease = (owner: string) => (plan: PlanState): string | undefined =>
  plan.status === "planning" && plan.startLease?.owner === owner ? undefined : `the start lease is not held by ${owner} (plan is ${plan.status})`;

/** planning → invalid, with every field error. Writes nothing else: no tasks. */
export async function markPlanInvalid(db: Firestore, planId: string, errors: FieldError[], now: number, owner?: string): Promise<boolean> {
  const outcome = await applyPlanInput(db, planId, { kind: "invalid", errors: errors.length }, now, {
    actor: "orchestrator",
    ...(owner === undefined ? {} : { guard: holdsStartLease(owner) }),
    also: () => ({ errors, startLease: null }),
    record: false,
  });
  return outcome.kind === "transition";
}

/** planning → rejected | planned (nothing runs), by the start-lease holder. */
export async function finishWithoutRunning(db: Firestore, planId: string, owner: string, outcome: "rejected" | "planned", summary: CompiledSummary, now: number): Promise<PlanOutcome> {
  return applyPlanInput(db, planId, { kind: "compiled", outcome, reasons: summary.rejectedReasons }, now, {
    actor: "orchestrator",
    guard: holdsStartLease(owner),
    data: { ...summary },
    also: () => ({ compiled: summary, startLease: null }),
  });
}

/** `finished.seq`: the rollback's transition, as read with its tasks: the `rollback_finished` it leads to is that rollback's only. */
export type RollbackStep = { kind: "wait" } | { kind: "rearmed"; count: number } | { kind: "compensate"; tasks: Array<{ id: string; attempt: number }>; level: number } | { kind: "finished"; seq: number; failedCompensation: { taskId: string; message: string } | null } | { kind: "skip" };

/**
 * One step of a rollback, serialised on the plan document: wait while anything still runs or
 * compensates; otherwise queue the compensations of the highest level left (reverse topological
 * order); when none is left, say how it ended (the caller applies `rollback_finished`).
 */
export async function advanceRollback(db: Firestore, planId: string, now: number, timing: EngineTiming, batchLimit: number): Promise<RollbackStep> {
  const ref = planRef(db, planId);
  const tasks = tasksOf(db, planId);
  return db.runTransaction(async (tx): Promise<RollbackStep> => {
    const plan = readPlanState(await tx.get(ref));
    if (plan?.status !== "rolling_back") return { kind: "skip" };
    const busy = await tx.get(tasks.where("status", "in", [...ROLLBACK_WAITS_FOR]).limit(1));
    if (!busy.empty) return { kind: "wait" };
    // First, once per rollback: compensations that failed in an earlier one (rollback_failed) run again.
    if ((plan.rollbackArmedSeq ?? null) !== plan.seq) {
      const failedBefore = await tx.get(tasks.where("compensationError", "!=", null).limit(batchLimit));
      for (const doc of failedBefore.docs) {
        const task = readTask(doc);
        const decision = task === undefined ? undefined : decideRearmCompensation(task, now);
        if (decision?.kind === "rearm") tx.update(doc.ref, decision.update);
      }
      if (failedBefore.size < batchLimit) tx.update(ref, { rollbackArmedSeq: plan.seq, updatedAt: now });
      return { kind: "rearmed", count: failedBefore.size };
    }
    // What succeeded, and what failed after its run may have applied part of its changes (engine/task.ts rollbackCompensates).
    const [succeeded, failedRuns] = await Promise.all([
      tx.get(tasks.where("status", "==", "succeeded").where("compensable", "==", true).orderBy("level", "desc").limit(batchLimit)),
      tx.get(tasks.where("status", "==", "failed").where("compensatesFailure", "==", true).where("compensationError", "==", null).orderBy("level", "desc").limit(batchLimit)),
    ]);
    const next = [...succeeded.docs, ...failedRuns.docs];
    if (next.length > 0) {
      const level = Math.max(...next.map((d) => d.get("level") as number));
      const queued: Array<{ id: string; attempt: number }> = [];
      for (const doc of next) {
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
    const failed = failedCompensation.docs[0];
    return {
      kind: "finished",
      seq: plan.seq,
      failedCompensation: failed === undefined ? null : { taskId: failed.id, message: (failed.get("compensationError") as { message?: string } | null)?.message ?? "unknown error" },
    };
  });
}

/**
 * The plan's status as of now, read after a claim committed: a cancel (or any stop) that committed
 * before this read is seen, so no attempt starts work after its plan was stopped. Concurrent claims
 * of one plan in one process share the read (issued after each of them asked).
 */
export function planStatusNow(db: Firestore, planId: string): Promise<PlanState["status"] | undefined> {
  const ref = planRef(db, planId);
  return sharedRead(db, `${ref.path}#status`, async () => {
    const [snap] = await db.getAll(ref, { fieldMask: ["status"] });
    return readPlanState(snap!)?.status;
  });
}

/**
 * The plan's orchestrator-owned state (its spec left unread), or undefined when there is no such
 * plan. With a narrower `fields`, only those are read: the others come back as their defaults.
 */
export async function readPlanStateOf(db: Firestore, planId: string, fields: readonly string[] = PLAN_STATE_FIELDS): Promise<PlanState | undefined> {
  const [snap] = await db.getAll(planRef(db, planId), { fieldMask: [...fields] });
  return readPlanState(snap!);
}

/** The whole plan document (its spec too: a start compiles it), with its state; undefined when absent. */
export async function readPlanDocument(db: Firestore, planId: string): Promise<{ doc: Record<string, unknown>; state: PlanState } | undefined> {
  const snap = await planRef(db, planId).get();
  const state = readPlanState(snap);
  return state === undefined ? undefined : { doc: snap.data()!, state };
}

/** The plan's compiled summary (planner/compile.ts CompiledSummary), unvalidated: its readers check what they use. */
export async function readCompiled(db: Firestore, planId: string): Promise<unknown> {
  const [snap] = await db.getAll(planRef(db, planId), { fieldMask: ["compiled"] });
  return snap!.get("compiled") as unknown;
}

/** The failure policy the plan's author chose (a field of the spec, read alone). */
export async function readFailurePolicy(db: Firestore, planId: string): Promise<{ state: PlanState; policy: FailurePolicy } | undefined> {
  const [snap] = await db.getAll(planRef(db, planId), { fieldMask: [...PLAN_STATE_FIELDS, "failurePolicy", "compiled.controls.failurePolicy"] });
  const state = readPlanState(snap!);
  // The compiled policy (a template's instance has its policy from the template); the document's for plans compiled before it was kept.
  // What cannot be read stops (the default policy).
  return state === undefined ? undefined : { state, policy: failurePolicySchema.catch("stop").parse(snap!.get("compiled.controls.failurePolicy") ?? snap!.get("failurePolicy") ?? "stop") };
}

/**
 * Plans in the order they go when they wait for the same thing (a lock): highest `priority` first
 * (the compiled plan's), then the longest waiting (its last transition, entering `waiting`).
 */
export async function inPriorityOrder(db: Firestore, planIds: readonly string[]): Promise<string[]> {
  if (planIds.length < 2) return [...planIds];
  const snaps = await db.getAll(...planIds.map((id) => planRef(db, id)), { fieldMask: ["compiled.controls.priority", "updatedAt"] });
  const rank = new Map(snaps.map((snap) => [snap.id, { priority: Number(snap.get("compiled.controls.priority") ?? 0) || 0, since: Number(snap.get("updatedAt") ?? 0) || 0 }]));
  return [...planIds].sort((a, b) => rank.get(b)!.priority - rank.get(a)!.priority || rank.get(a)!.since - rank.get(b)!.since);
}

/** Plans whose run's deadline has passed (engine/plan.ts `deadline`): a run that ended has none (`at` null). */
export async function plansPastDeadline(db: Firestore, now: number, limit: number): Promise<string[]> {
  const snap = await db.collection(COLLECTIONS.plans).where("runDeadline.at", "<=", now).orderBy("runDeadline.at").limit(limit).select().get();
  return snap.docs.map((d) => d.id);
}

/** A stall check covered the plan's quiet spell up to `last` (the next check starts after it). */
export async function markStallChecked(db: Firestore, planId: string, last: number): Promise<void> {
  await planRef(db, planId).update({ stallCheckedUpTo: last });
}

/** Calls `onCancelled` once the plan's status becomes `cancelled`; returns the unsubscribe. */
export function watchPlanCancelled(db: Firestore, planId: string, onCancelled: () => void): () => void {
  return planRef(db, planId).onSnapshot(
    (snap) => {
      if (snap.get("status") === "cancelled") onCancelled();
    },
    () => undefined,
  );
}

/** A plan document that still has no status and was last written before `before`: its trigger never ran. */
export async function readUntriggeredPlan(db: Firestore, planId: string, before: number): Promise<Record<string, unknown> | undefined> {
  const snap = await planRef(db, planId).get();
  if (!snap.exists || snap.get("status") !== undefined || snap.updateTime!.toMillis() > before) return undefined;
  return snap.data();
}
