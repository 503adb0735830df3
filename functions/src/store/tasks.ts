/**
 * Task transitions, each one compare-and-set (or, off the hot path, one transaction) around a
 * pure decision from engine/task.ts (or engine/release.ts): the write applies only to the state it
 * was decided on, so it holds under any interleaving. A wide join's release is store/wide-join.ts.
 */
import { randomBytes } from "node:crypto";
import { FieldPath, GrpcStatus, type DocumentReference, type Firestore, type Transaction } from "firebase-admin/firestore";
import { decideRelease, wideJoinEdge, type WideJoinEdge } from "../engine/release";
import {
  creatorOf,
  decideApproval,
  decideCancel,
  decideClaim,
  decideCompletion,
  decideExternalEvent,
  decideGiveBack,
  decideMark,
  decideReset,
  REDRIVEN_STATUSES,
  STILL_OPEN_ON_REDRIVE,
  decideSweep,
  decideTokenPublished,
  decideWait,
  gateRulesOf,
  type EngineTiming,
  type ExecutionOutcome,
  type Phase,
  type SweepDecision,
  type TaskUpdate,
} from "../engine/task";
import type { TaskDoc, TaskStatus } from "../schema/task";
import { taskDocSchema, taskStatusSchema } from "../schema/task";
import { PLAN_STATE_FIELDS, readPlanState, readTask } from "./converters";
import { CAS_WRITE_FIELD, compareAndSet, isLostRace, retryAborted, type CasDecision, type KnownState, type Readable } from "./firestore";
import { grpcCode } from "../clients/grpc-code";
import { createEventIn, recordEvent } from "./events";
import { COLLECTIONS, outputRef, planRef, taskRef, tasksOf } from "./paths";
import { chunked, inParallel } from "../runtime/parallel";
import { principalLabel, type VerifiedPrincipal } from "../trust/principals";
import { FINAL_PLAN_STATUSES, PLAN_GIVES_CLAIMS_BACK, PLAN_LETS_ATTEMPTS_FINISH, PLAN_RUNS_ATTEMPTS, type RedriveScope } from "../engine/plan";
import type { PlanState, PlanStatus } from "../schema/plan";
import { releaseWideJoin } from "./wide-join";

type Ids = { planId: string; taskId: string; attempt: number };
export type Skipped = { kind: "skip"; reason: string; unknown?: boolean };

/**
 * A task's output is not kept on its document: viewers read task documents (the page's graph),
 * and an output can hold what only operators may see (a captured response body, an external
 * system's payload). It goes to `plans/{planId}/outputs/{taskId}` in the same atomic write instead.
 */
export function withoutOutput(update: TaskUpdate): TaskUpdate {
  if (!("output" in update)) return update;
  const { output: _output, ...rest } = update;
  return rest;
}

/** Adds the output record of `update` (if it carries a non-null output) to the same transaction or batch. */
export function writeOutput(writer: { set(ref: DocumentReference, data: Record<string, unknown>): unknown }, db: Firestore, planId: string, task: Pick<TaskDoc, "id" | "attempt">, update: TaskUpdate, now: number): void {
  if (update.output === undefined || update.output === null) return;
  writer.set(outputRef(db, planId, task.id), { planId, taskId: task.id, attempt: update.attempt ?? task.attempt, at: now, output: update.output });
}

/** What a claim reads of its task, and a compensation's claim of the task and its plan, in one masked read. */
const TASK_FIELDS = Object.keys(taskDocSchema.shape);
const CLAIM_FIELDS = [...new Set([...TASK_FIELDS, ...PLAN_STATE_FIELDS])];

/**
 * `stored`: the task as the claim wrote it, and when: the completion's first guess, saving a read.
 * `resumed`: a redelivery to the gate's own worker, which goes on entering the wait (nothing written).
 * `sleeping`: a long delay's first claim recorded its wake-up; nothing runs until then.
 */
export type ClaimResult = { kind: "claimed"; task: TaskDoc; stored?: KnownState; resumed?: true } | { kind: "sleeping"; until: number; task: TaskDoc } | Skipped;

/**
 * Takes the lease of one attempt: a compare-and-set on the task. A compensation reads the plan's
 * state in the same round trip (one field mask serves both: the task's fields and the plan's
 * state, never the plan's spec), since it runs only while the plan rolls back. A run-phase claim
 * reads the task alone: its worker reads the plan after the claim commits and before anything
 * runs (runtime/run-task.ts runClaimed), so a stop committed before that read is always seen and
 * one committed after it finds the attempt running; a read before the claim as well decided
 * nothing that read does not, at a read per task. The plan is never guarded: every task of a
 * 5,000-wide fan-out claims at once, and guarding the one plan document would serialise them all.
 */
export async function claimTask(db: Firestore, ids: Ids, phase: Phase, owner: string, now: number, timing: EngineTiming): Promise<ClaimResult> {
  let stored: KnownState | undefined;
  const readsPlan = phase === "compensate";
  const result = await compareAndSet(
    db,
    taskRef(db, ids.planId, ids.taskId),
    (snap, [planSnap]): CasDecision<ClaimResult> => {
      const plan = readsPlan ? readPlanState(planSnap!) : undefined;
      if (readsPlan && plan === undefined) return { result: { kind: "skip", reason: `unknown plan ${ids.planId}`, unknown: true } };
      const task = readTask(snap);
      if (task === undefined) return { result: { kind: "skip", reason: `unknown task ${ids.taskId}`, unknown: true } };
      const decision = decideClaim({ task, planStatus: plan?.status, attempt: ids.attempt, phase, owner, now, timing });
      if (decision.kind === "skip") return { result: decision };
      if (decision.kind === "resume") return { result: { kind: "claimed", task, resumed: true } };
      if (decision.kind === "sleep") return { result: { kind: "sleeping", until: decision.until, task: { ...task, ...decision.update } }, update: decision.update };
      return { result: { kind: "claimed", task: { ...task, ...decision.update } }, update: decision.update };
    },
    { readWith: readsPlan ? [planRef(db, ids.planId)] : [], fieldMask: readsPlan ? CLAIM_FIELDS : TASK_FIELDS, committed: (state) => (stored = state) },
  );
  if (result.kind === "skip" && result.unknown === true && !readsPlan) {
    // A message naming no task: say whether its plan is unknown too (a read only for such a message).
    const plan = await planRef(db, ids.planId).get();
    if (!plan.exists) return { kind: "skip", reason: `unknown plan ${ids.planId}`, unknown: true };
  }
  return result.kind === "claimed" && stored !== undefined ? { ...result, stored } : result;
}

/** `runsAgain`: a `stopped` completion found the plan running attempts again; nothing was written, the attempt goes on. */
export type CompleteResult = { kind: "completed"; status: TaskStatus; task: TaskDoc; retryInMs?: number } | (Skipped & { runsAgain?: true });

/**
 * Applies an attempt's outcome, plus one event that carries the attempt's transitions, in one
 * atomic commit: the task's own history lives on its document, and the plan's event feed gets one
 * record per finished attempt.
 *
 * A completion that ends the task because of its plan (`planCancelled`, `stopped`) reads the plan
 * with the task, in one snapshot, and decides on the plan as it is then: a retry may have redriven
 * it since the worker looked, and the redrive's reset passed this task (it was running) and goes
 * on without it. The reset touches such a task (resetUnsucceededTasks), so a completion read before
 * the redrive fails its precondition and is decided again on the redriven plan.
 */
export async function completeTask(
  db: Firestore,
  ids: Ids,
  owner: string,
  outcome: ExecutionOutcome,
  options: {
    now: number;
    timing: EngineTiming;
    random: () => number;
    /** The worker saw the plan cancelled while the attempt ran: the task ends cancelled only while the plan still is; otherwise the attempt's own outcome applies. */
    planCancelled?: boolean;
    /**
     * The attempt did not begin, its plan not running attempts (the post-claim check): it ends
     * cancelled, unless the plan runs attempts again (PLAN_RUNS_ATTEMPTS: nothing is written,
     * `runsAgain`) or has yet to run them, or is paused (pending, planning, waiting, paused: the
     * claim is given back, the task ready again on the same attempt).
     */
    stopped?: boolean;
    claimed?: KnownState;
  },
): Promise<CompleteResult> {
  const { claimed, planCancelled: sawCancelled, stopped, ...decisionOptions } = options;
  const fenced = sawCancelled === true || stopped === true;
  const decide = (snap: Readable, [planSnap]: Readable[]): CasDecision<CompleteResult> => {
    const task = readTask(snap);
    if (task === undefined) return { result: { kind: "skip", reason: "unknown task", unknown: true } };
    const planStatus = fenced ? readPlanState(planSnap!)?.status : undefined;
    if (stopped === true && planStatus !== undefined && PLAN_RUNS_ATTEMPTS.has(planStatus)) return { result: { kind: "skip", reason: `the plan is ${planStatus} again: the attempt goes on`, runsAgain: true } };
    if (stopped === true && planStatus !== undefined && PLAN_GIVES_CLAIMS_BACK.has(planStatus)) {
      // Not running yet (a start under way, or waiting for locks), or paused: the claim is given back, unrun.
      const back = decideGiveBack({ task, attempt: ids.attempt, owner, reason: `the plan is ${planStatus}`, now: options.now, timing: options.timing });
      return back.kind === "skip" ? { result: back } : { result: { kind: "skip", reason: `given back unrun: the plan is ${planStatus}` }, update: back.update };
    }
    const planCancelled = stopped === true || (sawCancelled === true && (planStatus === undefined || planStatus === "cancelled"));
    const decision = decideCompletion({ task, attempt: ids.attempt, owner, outcome, planCancelled, ...decisionOptions });
    if (decision.kind === "skip") return { result: decision };
    const finished = { ...task, ...decision.update };
    const phase = task.status === "compensating" ? "compensation" : "attempt";
    return {
      result: { kind: "completed", status: decision.status, task: finished, ...(decision.retryInMs === undefined ? {} : { retryInMs: decision.retryInMs }) },
      update: withoutOutput(decision.update),
      alongside: (batch) => {
        writeOutput(batch, db, ids.planId, task, decision.update, options.now);
        recordEvent(batch, db, ids.planId, `task.${ids.taskId}.${ids.attempt}.${phase}.${decision.status}`, {
          at: options.now,
          type: task.status === "compensating" ? `task.compensation.${decision.status}` : decision.status === "ready" ? "task.retrying" : `task.${decision.status}`,
          actor: owner,
          taskId: ids.taskId,
          attempt: ids.attempt,
          message: outcome.ok ? `${ids.taskId} ${decision.status}` : `${ids.taskId} ${decision.status === "ready" ? "will retry" : decision.status}: ${outcome.error.message}`,
          data: {
            transitions: finished.history.filter((h) => h.attempt === ids.attempt || h.attempt === ids.attempt + 1),
            durationMs: task.startedAt === null ? null : options.now - task.startedAt,
            ...(outcome.ok ? {} : { error: outcome.error }),
          },
        });
      },
    };
  };
  // The worker wrote the task last (its claim): that state is tried before reading it back; a
  // completion that depends on its plan reads the plan with the task instead (its state only).
  if (fenced) return compareAndSet(db, taskRef(db, ids.planId, ids.taskId), decide, { readWith: [planRef(db, ids.planId)], fieldMask: CLAIM_FIELDS });
  return compareAndSet(db, taskRef(db, ids.planId, ids.taskId), decide, claimed === undefined ? {} : { known: claimed });
}

/**
 * running → ready on the same attempt, unrun, by the claim's owner: a claimed attempt that could
 * not begin (a pool with no free slot). `recheckMs`: when the sweeper looks at it again.
 */
export async function giveBackClaim(db: Firestore, ids: Ids, owner: string, reason: string, options: { now: number; timing: EngineTiming; recheckMs?: number; claimed?: KnownState }): Promise<boolean> {
  return compareAndSet(
    db,
    taskRef(db, ids.planId, ids.taskId),
    (snap): CasDecision<boolean> => {
      const task = readTask(snap);
      if (task === undefined) return { result: false };
      const back = decideGiveBack({ task, attempt: ids.attempt, owner, reason, now: options.now, timing: options.timing, ...(options.recheckMs === undefined ? {} : { recheckMs: options.recheckMs }) });
      return back.kind === "skip" ? { result: false } : { result: true, update: back.update };
    },
    options.claimed === undefined ? {} : { known: options.claimed },
  );
}

/** The task as it waits now, and (for an external task) the message that hands its token on. */
export type WaitResult = { kind: "waiting"; task: TaskDoc; message?: ExternalTaskMessage } | Skipped;

/**
 * running → waiting_approval | waiting_external for the claimed attempt. An external task's plain
 * token goes to its outbox (`plans/{planId}/outbox/{taskId}`, functions only) in the same
 * transaction, with the message that publishes it: a publish that fails loses nothing, the
 * sweeper publishes the outbox again (the same token) until it is marked published.
 */
export async function enterWaiting(
  db: Firestore,
  ids: Ids,
  owner: string,
  status: "waiting_approval" | "waiting_external",
  token: { hash: string | null; heartbeatSeconds: number | null; plain?: string; description?: string | null },
  now: number,
  timing?: EngineTiming,
): Promise<WaitResult> {
  const ref = taskRef(db, ids.planId, ids.taskId);
  return db.runTransaction(async (tx): Promise<WaitResult> => {
    const task = readTask(await tx.get(ref));
    if (task === undefined) return { kind: "skip", reason: `unknown task ${ids.taskId}`, unknown: true };
    // A gate never starts waiting in a plan that stopped meanwhile (a cancel between its claim and
    // here): it is cancelled instead, in the same transaction. One whose plan a retry redrove since
    // waits as part of the new run (the redrive did not reset it: it was running), and one whose plan
    // was paused since waits too (it began before the pause: begun attempts finish).
    const [planSnap] = await tx.getAll(planRef(db, ids.planId), { fieldMask: ["status"] });
    const planStatus = readPlanState(planSnap!)?.status;
    if (planStatus === undefined || !PLAN_LETS_ATTEMPTS_FINISH.has(planStatus)) {
      const stop = decideCompletion({ task, attempt: ids.attempt, owner, outcome: { ok: true }, planCancelled: true, now, timing: timing ?? { leaseMarginMs: 0, redispatchAfterMs: 0 }, random: () => 0 });
      if (stop.kind === "complete") tx.update(ref, withoutOutput(stop.update));
      return { kind: "skip", reason: `plan is ${planStatus ?? "gone"}: the gate was cancelled instead of waiting` };
    }
    const decision = decideWait({ task, attempt: ids.attempt, owner, status, tokenHash: token.hash, heartbeatSeconds: token.heartbeatSeconds, now, ...(timing === undefined ? {} : { timing }) });
    if (decision.kind === "skip") return decision;
    tx.update(ref, decision.update);
    const waiting = { ...task, ...decision.update };
    if (status !== "waiting_external" || token.plain === undefined) return { kind: "waiting", task: waiting };
    const message: ExternalTaskMessage = {
      planId: ids.planId,
      taskId: ids.taskId,
      attempt: ids.attempt,
      token: token.plain,
      deadline: waiting.waiting!.deadline,
      description: token.description ?? null,
      heartbeatSeconds: token.heartbeatSeconds,
    };
    tx.set(outboxRef(db, ids.planId, ids.taskId), { ...message, published: false, at: now });
    return { kind: "waiting", task: waiting, message };
  });
}

export type DecisionResult = { kind: "applied"; status: TaskStatus; task: TaskDoc } | { kind: "heartbeat" } | Skipped;

/**
 * An approve/reject for an approval task, from a verified principal (engine/task.ts
 * decideApproval says who may, under the gate's rules, gateRulesOf, and the plan's creator,
 * creatorOf). The command is recorded in the same transaction; its id makes a repeat a no-op. An
 * approval that is not yet the last of N keeps the gate waiting.
 */
export async function applyApproval(
  db: Firestore,
  cmd: { planId: string; taskId: string; principal: VerifiedPrincipal | null; verdict: "approve" | "reject"; reason?: string | undefined; commandId: string },
  now: number,
): Promise<DecisionResult> {
  return approvalTransaction(db, cmd, now).catch((error: unknown): DecisionResult => {
    if (grpcCode(error) === GrpcStatus.ALREADY_EXISTS) return { kind: "skip", reason: `command id ${cmd.commandId} was used already` };
    throw error;
  });
}

function approvalTransaction(
  db: Firestore,
  cmd: { planId: string; taskId: string; principal: VerifiedPrincipal | null; verdict: "approve" | "reject"; reason?: string | undefined; commandId: string },
  now: number,
): Promise<DecisionResult> {
  const ref = taskRef(db, cmd.planId, cmd.taskId);
  return db.runTransaction(async (tx): Promise<DecisionResult> => {
    const [taskSnap, planSnap] = await tx.getAll(ref, planRef(db, cmd.planId));
    const task = readTask(taskSnap!);
    if (task === undefined || !planSnap!.exists) return { kind: "skip", reason: `unknown task ${cmd.taskId}`, unknown: true };
    const gate = gateRulesOf(task.params, planSnap!.get("approvers"));
    const decision = decideApproval({ task, gate, principal: cmd.principal, creator: creatorOf({ createdBy: planSnap!.get("createdBy"), labels: planSnap!.get("labels") }), verdict: cmd.verdict, reason: cmd.reason, now });
    if (decision.kind === "skip") return decision;
    tx.update(ref, withoutOutput(decision.update));
    writeOutput(tx, db, cmd.planId, task, decision.update, now);
    const who = principalLabel(cmd.principal!);
    const partial = decision.status === "waiting_approval";
    // Created, never overwritten: a command id reused by someone else fails this transaction instead.
    createEventIn(tx, db, cmd.planId, `command.${cmd.commandId}`, {
      at: now,
      type: cmd.verdict === "reject" ? "task.rejected" : partial ? "task.approval_recorded" : "task.approved",
      actor: who,
      taskId: cmd.taskId,
      message: `${cmd.taskId} ${cmd.verdict === "approve" ? "approved" : "rejected"} by ${who}${partial ? ` (${decision.approvals} of ${gate.requiredApprovals})` : ""}${cmd.reason ? `: ${cmd.reason}` : ""}`,
      data: { via: cmd.principal!.via, uid: cmd.principal!.uid },
    });
    return { kind: "applied", status: decision.status, task: { ...task, ...decision.update } };
  });
}

/** A completion or heartbeat from another system, checked against the stored token hash. */
export async function applyTaskEvent(
  db: Firestore,
  event: { planId: string; taskId: string; type: "completed" | "heartbeat"; outcome?: "succeeded" | "failed" | undefined; output?: unknown; error?: string | undefined },
  tokenHash: string,
  now: number,
): Promise<DecisionResult> {
  const ref = taskRef(db, event.planId, event.taskId);
  return db.runTransaction(async (tx): Promise<DecisionResult> => {
    const task = readTask(await tx.get(ref));
    if (task === undefined) return { kind: "skip", reason: `unknown task ${event.taskId}`, unknown: true };
    const decision = decideExternalEvent({ task, tokenHash, event, now });
    if (decision.kind === "skip") return decision;
    tx.update(ref, withoutOutput(decision.update));
    writeOutput(tx, db, event.planId, task, decision.update, now);
    if (decision.kind === "heartbeat") return { kind: "heartbeat" };
    return { kind: "applied", status: decision.status, task: { ...task, ...decision.update } };
  });
}

/**
 * What recording a need did to the dependent, the attempt the dependent is on (for its message),
 * and the dependent as written when it changed (a skipped one is settled from it, without a read).
 */
export type Released = { became: "ready" | "skipped" | null; attempt: number; task?: TaskDoc };

/**
 * Records one finished need on a dependent; says whether that made it ready or skipped. Ordinary
 * dependents keep their finished needs in `needsDone`; wide joins count arrivals (store/wide-join.ts releaseWideJoin).
 */
export async function releaseDependent(
  db: Firestore,
  planId: string,
  /** `wide`: the need's place among a wide join's arrivals (undefined for an ordinary dependent). */
  dependent: { id: string; wide?: WideJoinEdge | undefined },
  need: string,
  needStatus: TaskStatus,
  /** Read when the decision is made: a wide join may decide after waiting for a count that later arrivals share. */
  clock: () => number,
  timing: EngineTiming,
): Promise<Released> {
  const ref = taskRef(db, planId, dependent.id);
  if (dependent.wide !== undefined) return releaseWideJoin(db, ref, dependent.wide, need, needStatus, clock, timing);
  return compareAndSet(db, ref, (snap) => releaseDecision(snap, need, needStatus, clock(), timing));
}

/** What recording `need` does to an ordinary dependent as read: one compare-and-set, alone or in a chunk. */
function releaseDecision(snap: Readable, need: string, needStatus: TaskStatus, now: number, timing: EngineTiming): CasDecision<Released> {
  const task = readTask(snap);
  if (task === undefined) return { result: { became: null, attempt: 0 } };
  const decision = decideRelease({ dependent: task, need, needStatus, now, timing });
  if (decision.kind === "skip") return { result: { became: null, attempt: task.attempt } };
  return { result: { became: decision.became, attempt: task.attempt, task: { ...task, ...decision.update } }, update: decision.update };
}

/** A dependent after its release, by id. */
export type ReleasedDependent = Released & { id: string };

/** How a fan-out's release is cut: dependents per chunk, chunks in flight, and what to do as each chunk lands. */
export interface ReleaseChunking {
  chunkSize: number;
  inFlight: number;
  /** Called with each chunk's dependents once they are committed (e.g. to publish the ready ones at once). */
  onChunk: (released: ReleasedDependent[]) => Promise<void>;
}

/**
 * Records one finished need on many ordinary dependents at once (a fan-out): one read of a chunk
 * of them and one atomic commit with an update-time precondition on each. If any dependent of the
 * chunk changed since the read (a concurrent release), the commit fails as a whole and that chunk
 * is released one compare-and-set at a time. A few chunks are in flight at once, and each one is
 * handed on as soon as it is committed: the first dependents of a 5,000-way fan-out start running
 * while the rest are still being released.
 */
export async function releaseDependentsTogether(
  db: Firestore,
  planId: string,
  ids: readonly string[],
  need: string,
  needStatus: TaskStatus,
  /** Read as each chunk decides: later chunks wait for a slot. */
  clock: () => number,
  timing: EngineTiming,
  chunking: ReleaseChunking,
): Promise<void> {
  await inParallel(chunking.inFlight, chunked(ids, chunking.chunkSize), async (chunk) => {
    const snaps = await db.getAll(...chunk.map((id) => taskRef(db, planId, id)));
    const now = clock();
    const batch = db.batch();
    const decided: ReleasedDependent[] = [];
    let writes = 0;
    for (const snap of snaps) {
      const decision = releaseDecision(snap, need, needStatus, now, timing);
      decided.push({ id: snap.id, ...decision.result });
      if (decision.update === undefined) continue;
      batch.update(snap.ref, decision.update, { lastUpdateTime: snap.updateTime! });
      writes += 1;
    }
    try {
      if (writes > 0) await batch.commit();
    } catch (error) {
      if (!isLostRace(error)) throw error;
      decided.length = 0;
      for (const id of chunk) decided.push({ id, ...(await releaseDependent(db, planId, { id }, need, needStatus, clock, timing)) });
    }
    await chunking.onChunk(decided);
  });
}

/**
 * Cancels every task of the plan that has not finished and is not running, in small transactions,
 * page by page in id order until none is left (a page whose tasks all moved on meanwhile does not
 * end the walk: the next page still has its own).
 */
export async function cancelOpenTasks(
  db: Firestore,
  planId: string,
  cause: string,
  now: number,
  pageSize: number,
  /** Only while the plan is still at this transition: effects of a transition a retry superseded cancel nothing of the new run. */
  fence?: { seq: number },
): Promise<number> {
  let cancelled = 0;
  let after: string | undefined;
  let superseded = false;
  for (;;) {
    let q = tasksOf(db, planId).where("status", "in", ["blocked", "ready", "waiting_approval", "waiting_external"]).orderBy(FieldPath.documentId()).limit(pageSize);
    if (after !== undefined) q = q.startAfter(after);
    const page = await q.get();
    if (page.empty) return cancelled;
    const results = await Promise.all(
      page.docs.map((doc) =>
        db.runTransaction(async (tx) => {
          const task = readTask(await tx.get(doc.ref));
          if (!(await stillAtTransition(tx, db, planId, fence))) {
            superseded = true;
            return false;
          }
          const decision = task === undefined ? undefined : decideCancel(task, cause, now);
          if (decision?.kind !== "cancel") return false;
          tx.update(doc.ref, decision.update);
          return true;
        }),
      ),
    );
    cancelled += results.filter(Boolean).length;
    if (page.size < pageSize || superseded) return cancelled;
    after = page.docs.at(-1)!.id;
  }
}

/** One task, validated; undefined when it does not exist. */
export async function readTaskOf(db: Firestore, planId: string, taskId: string): Promise<TaskDoc | undefined> {
  return readTask(await taskRef(db, planId, taskId).get());
}

/** The plan's ready tasks (to publish after a redrive or a sweep found their messages owed). */
export async function readyTasks(db: Firestore, planId: string): Promise<Array<{ id: string; attempt: number }>> {
  const snap = await tasksOf(db, planId).where("status", "==", "ready").select("attempt").get();
  return snap.docs.map((d) => ({ id: d.id, attempt: Number(d.get("attempt")) }));
}

/** The Firebase projects a plan's tasks provision or verify: the environment locks it needs. */
export async function lockKeysOf(db: Firestore, planId: string): Promise<string[]> {
  const snap = await tasksOf(db, planId).where("run", "==", "firebase").select("params.projectId").get();
  return [...new Set(snap.docs.map((d) => d.get("params.projectId") as unknown).filter((p): p is string => typeof p === "string"))].sort();
}

// What a redrive leaves to go on (engine/task.ts STILL_OPEN_ON_REDRIVE) is touched, so no stop decided before it applies.

/** Per-task transactions (or creates) in flight at once when a whole plan's tasks are written or reset. */
const TASK_WRITES_IN_FLIGHT = 50;

/**
 * Inside a transaction: whether the plan is still at the transition `fence` names (its `seq`), so
 * the effects of a transition a later one superseded (a retry after a cancel) touch nothing.
 */
async function stillAtTransition(tx: Transaction, db: Firestore, planId: string, fence: { seq: number } | undefined): Promise<boolean> {
  if (fence === undefined) return true;
  const [plan] = await tx.getAll(planRef(db, planId), { fieldMask: ["seq"] });
  return readPlanState(plan!)?.seq === fence.seq;
}

/**
 * Redrive: every task that did not succeed starts again as its next attempt. Returns the tasks
 * that are ready at once (their needs already succeeded).
 *
 * A task of the old run still running (or ready) is left to go on as part of the new run, but it
 * is touched in the same fence (a write of its `casWrite`): a worker that read the plan stopped
 * before the redrive and is about to end it cancelled (run-task.ts, the claim of a late-ready task)
 * then fails its precondition and decides again on the redriven plan; one that committed first
 * left it cancelled, and it is reset here like any other.
 */
export async function resetUnsucceededTasks(
  db: Firestore,
  planId: string,
  by: string,
  now: number,
  timing: EngineTiming,
  /** Only while the plan is still at this transition (its `redriving`): a cancel during the redrive stops the resets. */
  fence?: { seq: number },
  /** A targeted redrive (engine/plan.ts RedriveScope): its task and downstream run again, or its task is marked. */
  scope?: RedriveScope | null,
): Promise<{ ready: TaskDoc[]; skipped: TaskDoc[] }> {
  const all = await tasksOf(db, planId).select("status", "fanIn", "dependents", "wideDependents").get();
  const statuses = new Map(all.docs.map((d) => [d.id, taskStatusSchema.parse(d.get("status"))]));
  // What the scope runs again (its task and all downstream), and what it marks.
  const forced = new Set<string>();
  const standing = new Set<string>();
  if (scope !== undefined && scope !== null && statuses.has(scope.taskId)) {
    if (scope.as === "retry") {
      const dependentsOf = new Map(all.docs.map((d) => [d.id, [...((d.get("dependents") as string[] | undefined) ?? []), ...Object.keys((d.get("wideDependents") as Record<string, unknown> | undefined) ?? {})]]));
      for (let queue = [scope.taskId]; queue.length > 0; ) {
        const id = queue.pop()!;
        if (forced.has(id)) continue;
        forced.add(id);
        queue = [...queue, ...(dependentsOf.get(id) ?? [])];
      }
    } else if (statuses.get(scope.taskId) === "failed") {
      standing.add(scope.taskId);
      statuses.set(scope.taskId, scope.as);
    }
  }
  // A task run again does not stand for its dependents, even where it had succeeded.
  for (const id of forced) if (statuses.get(id) === "succeeded") statuses.set(id, "blocked");
  const targets = all.docs.filter((d) => !standing.has(d.id) && (forced.has(d.id) || REDRIVEN_STATUSES.has(String(d.get("status")) as TaskStatus) || STILL_OPEN_ON_REDRIVE.has(String(d.get("status")) as TaskStatus)));
  if (standing.size > 0) {
    const marked = taskRef(db, planId, scope!.taskId);
    await db.runTransaction(async (tx) => {
      const task = readTask(await tx.get(marked));
      if (task === undefined || !(await stillAtTransition(tx, db, planId, fence))) return;
      const decision = decideMark(task, scope!.as as "succeeded" | "skipped", scope!.by, scope!.reason, now);
      if (decision.kind === "mark") tx.update(marked, withoutOutput(decision.update));
    });
  }
  // A wide join keeps the arrivals of needs that succeeded (they will not run again); the others go,
  // with the outcome of their groups. In chunked batches first: a join's arrivals can be many more
  // than one transaction may write, and nothing arrives at a join before its needs run again.
  const deletions: DocumentReference[] = [];
  for (const doc of targets.filter((d) => d.get("fanIn") === true)) {
    const needs = ((await doc.ref.get()).get("needs") as string[]).length;
    const groups = doc.ref.collection(COLLECTIONS.arrivalGroups);
    await inParallel(8, Array.from({ length: wideJoinEdge(needs, 0).groups }, (_, g) => g), async (g) => {
      const gone = (await groups.doc(String(g)).collection(COLLECTIONS.arrivals).get()).docs.filter((a) => statuses.get(a.id) !== "succeeded");
      if (gone.length > 0) deletions.push(...gone.map((a) => a.ref), groups.doc(String(g)));
    });
  }
  await inParallel(4, chunked(deletions, 500), async (refs) => {
    const batch = db.batch();
    refs.forEach((ref) => batch.delete(ref));
    await retryAborted(() => batch.commit());
  });
  // A bounded number at once: a 20,000-task redrive must not open 20,000 transactions together.
  // Each reset is its own transaction and idempotent, so a redrive that dies midway is finished by
  // running it again (the plan stays `redriving` until then).
  const ready: TaskDoc[] = [];
  const skipped: TaskDoc[] = [];
  await inParallel(TASK_WRITES_IN_FLIGHT, targets, async (doc) => {
    const reset = await db.runTransaction(async (tx) => {
      const task = readTask(await tx.get(doc.ref));
      if (!(await stillAtTransition(tx, db, planId, fence))) return undefined;
      const decision = task === undefined ? undefined : decideReset(task, statuses, by, now, timing, { force: forced.has(doc.id), standing });
      if (decision?.kind !== "reset") {
        if (task !== undefined && STILL_OPEN_ON_REDRIVE.has(task.status)) tx.update(doc.ref, { [CAS_WRITE_FIELD]: randomBytes(12).toString("base64url") });
        return undefined;
      }
      tx.update(doc.ref, withoutOutput(decision.update));
      return { ...task!, ...decision.update };
    });
    if (reset?.status === "ready") ready.push(reset);
    if (reset?.status === "skipped") skipped.push(reset);
  });
  return { ready, skipped };
}

/**
 * Whether any of a plan's tasks has not finished: one read, whatever the plan's size. A task has
 * `finishedAt` exactly while it is in a final status (a redrive clears it), so one equality does
 * what a filter on six statuses would (which the emulator runs several times slower).
 */
export async function anyUnfinishedTask(db: Firestore, planId: string): Promise<boolean> {
  const snap = await tasksOf(db, planId).where("finishedAt", "==", null).select().limit(1).get();
  return !snap.empty;
}

/** When the plan's most recent task finished (null: none has). */
export async function lastFinishOf(db: Firestore, planId: string): Promise<number | null> {
  const snap = await tasksOf(db, planId).orderBy("finishedAt", "desc").select("finishedAt").limit(1).get();
  const at = snap.docs[0]?.get("finishedAt") as unknown;
  return typeof at === "number" ? at : null;
}

/** Every task's status and dependents, one read per task: the map a stall repair works from. */
export async function taskOutline(db: Firestore, planId: string): Promise<Map<string, { status: string; dependents: string[] }>> {
  const snap = await tasksOf(db, planId).select("status", "dependents").get();
  return new Map(snap.docs.map((d) => [d.id, { status: String(d.get("status")), dependents: (d.get("dependents") as string[] | undefined) ?? [] }]));
}

/** One task of the plan in this status, if any (e.g. the failure to name on a failed plan). */
export async function firstTaskIn(db: Firestore, planId: string, status: TaskStatus): Promise<string | undefined> {
  const snap = await tasksOf(db, planId).where("status", "==", status).limit(1).get();
  return snap.docs[0]?.id;
}

/**
 * Tasks whose `sweepAt` has passed, oldest first, across every plan. A collection group matches
 * every collection named `tasks`, so only documents at `plans/{planId}/tasks/{taskId}` count.
 */
export async function dueTasks(db: Firestore, now: number, limit: number): Promise<DocumentReference[]> {
  const snap = await db.collectionGroup(COLLECTIONS.tasks).where("sweepAt", "<=", now).orderBy("sweepAt").limit(limit).get();
  return snap.docs.map((d) => d.ref).filter((ref) => ref.parent.parent?.parent.id === COLLECTIONS.plans && ref.parent.parent.parent.parent === null);
}

/**
 * The statuses of the plans of `refs` (due tasks), each read once: the sweeper dispatches nothing
 * for a plan that has yet to run and cancels the ready tasks of one that ended (engine/task.ts
 * decideSweep), so it hands out messages only for plans that run.
 */
export async function planStatusesOf(db: Firestore, refs: readonly DocumentReference[]): Promise<Map<string, PlanStatus | undefined>> {
  const planIds = [...new Set(refs.map((ref) => ref.parent.parent!.id))];
  if (planIds.length === 0) return new Map();
  const plans = await db.getAll(...planIds.map((id) => planRef(db, id)), { fieldMask: ["status"] });
  return new Map(plans.map((snap) => [snap.id, readPlanState(snap)?.status]));
}

/**
 * Sweeps one due task in a transaction. `planStatus`: its plan's status as the sweep read it; when
 * that was final, the plan is read again in the transaction, so a ready task is cancelled only
 * while its plan has ended (a retry may have redriven it since).
 */
export async function sweepTask(db: Firestore, ref: DocumentReference, now: number, timing: EngineTiming, planStatus?: PlanStatus): Promise<{ decision: SweepDecision; task?: TaskDoc }> {
  const ended = planStatus !== undefined && FINAL_PLAN_STATUSES.has(planStatus);
  const paused = planStatus === "paused";
  return db.runTransaction(async (tx) => {
    const [taskSnap, planSnap] = ended ? await tx.getAll(ref, ref.parent.parent!, { fieldMask: CLAIM_FIELDS }) : [await tx.get(ref)];
    const task = readTask(taskSnap!);
    if (task === undefined) return { decision: { kind: "skip", reason: "gone" } };
    const status = planSnap === undefined ? undefined : readPlanState(planSnap)?.status;
    const decision = decideSweep(task, now, timing, status !== undefined && FINAL_PLAN_STATUSES.has(status) ? status : undefined, paused);
    if (decision.kind !== "skip") tx.update(ref, withoutOutput(decision.update));
    return { decision, task: { ...task, ...(decision.kind === "skip" ? {} : decision.update) } };
  });
}

// ── the external tasks' outbox ─────────────────────────────────────────────────────────────────

/** What `orchestrator-external-tasks` carries: the task token, for the system that completes the task. */
export interface ExternalTaskMessage {
  planId: string;
  taskId: string;
  attempt: number;
  token: string;
  deadline: number;
  description: string | null;
  heartbeatSeconds: number | null;
}

/**
 * `plans/{planId}/outbox/{taskId}`: an external task's message with its plain token, written with
 * the wait, `published` once it went out. Functions only: firestore.rules name no `outbox`, so
 * clients can neither read nor write it. One per task: a later attempt's wait replaces it.
 */
export function outboxRef(db: Firestore, planId: string, taskId: string): DocumentReference {
  return planRef(db, planId).collection(COLLECTIONS.outbox).doc(taskId);
}

/** The outbox message of a task, if it has one (and whether it was marked published). */
export async function readOutbox(db: Firestore, planId: string, taskId: string): Promise<{ message: ExternalTaskMessage; published: boolean } | undefined> {
  const snap = await outboxRef(db, planId, taskId).get();
  if (!snap.exists) return undefined;
  const d = snap.data()!;
  const message: ExternalTaskMessage = {
    planId: String(d.planId),
    taskId: String(d.taskId),
    attempt: Number(d.attempt),
    token: String(d.token),
    deadline: Number(d.deadline),
    description: typeof d.description === "string" ? d.description : null,
    heartbeatSeconds: typeof d.heartbeatSeconds === "number" ? d.heartbeatSeconds : null,
  };
  return { message, published: d.published === true };
}

/**
 * After the token of `ids.attempt` was published: the task's wait is marked published (and due at
 * its heartbeat or deadline again) and so is the outbox, in one commit, a compare-and-set on the
 * task. False when there was nothing to mark: another token, another attempt, already marked.
 */
export async function markTokenPublished(db: Firestore, ids: Ids, tokenHash: string, now: number): Promise<boolean> {
  return compareAndSet(db, taskRef(db, ids.planId, ids.taskId), (snap): CasDecision<boolean> => {
    const task = readTask(snap);
    if (task === undefined) return { result: false };
    const decision = decideTokenPublished({ task, attempt: ids.attempt, tokenHash, now });
    if (decision.kind === "skip") return { result: false };
    return { result: true, update: decision.update, alongside: (writes) => writes.update(outboxRef(db, ids.planId, ids.taskId), { published: true, publishedAt: now }) };
  });
}

/**
 * Writes a chunk of a start's task documents in one transaction that reads the plan first: only
 * while `fence` (the start lease: runtime/start-plan.ts) lets it, else nothing (false). A start that
 * lost its lease writes nothing more, and what it wrote before is visible to whatever took the lease
 * (a cancel's effects cancel it). Under the lease the plan is `planning`, so no task it has can have
 * moved on in this start (nothing is claimed before the plan runs): each is written whole, over
 * whatever an earlier start left, so a plan started again (a retry of one cancelled while its start
 * wrote its tasks) runs on fresh tasks, not on the cancelled ones.
 */
/**
 * Deletes the plan's task documents that are not in `keep`: tasks an earlier start of the plan
 * wrote that this start's compile does not have (the deployment's policy changed between them). A
 * plan runs with exactly its own tasks, or its completion probe would wait on a leftover forever.
 * One aggregation tells whether there is any (almost always none, and nothing more is read); each
 * deletion is fenced like the start's writes. False when the fence refused.
 */
export async function removeTasksNotIn(db: Firestore, planId: string, keep: ReadonlySet<string>, fence: (plan: PlanState) => string | undefined): Promise<boolean> {
  if ((await tasksOf(db, planId).count().get()).data().count <= keep.size) return true;
  const extra: string[] = [];
  for (let after: string | undefined; ; ) {
    let q = tasksOf(db, planId).orderBy(FieldPath.documentId()).select().limit(1_000);
    if (after !== undefined) q = q.startAfter(after);
    const page = await q.get();
    extra.push(...page.docs.map((d) => d.id).filter((id) => !keep.has(id)));
    if (page.size < 1_000) break;
    after = page.docs.at(-1)!.id;
  }
  for (let i = 0; i < extra.length; i += 400) {
    const ok = await db.runTransaction(async (tx) => {
      const [plan] = await tx.getAll(planRef(db, planId), { fieldMask: PLAN_STATE_FIELDS });
      const state = readPlanState(plan!);
      if (state === undefined || fence(state) !== undefined) return false;
      for (const id of extra.slice(i, i + 400)) tx.delete(taskRef(db, planId, id));
      return true;
    });
    if (!ok) return false;
  }
  return true;
}

export async function writeStartTasks(db: Firestore, planId: string, tasks: readonly TaskDoc[], fence: (plan: PlanState) => string | undefined): Promise<boolean> {
  return db.runTransaction(async (tx) => {
    const [plan] = await tx.getAll(planRef(db, planId), { fieldMask: PLAN_STATE_FIELDS });
    const state = readPlanState(plan!);
    if (state === undefined || fence(state) !== undefined) return false;
    for (const task of tasks) tx.set(taskRef(db, planId, task.id), task);
    return true;
  });
}
