/**
 * Task transitions, each one compare-and-set (or, off the hot path, one transaction) around a
 * pure decision from engine/lifecycle: the write applies only to the state it was decided on, so
 * it holds under any interleaving.
 */
import { AggregateField, FieldPath, GrpcStatus, type CollectionReference, type DocumentReference, type Firestore, type Transaction } from "firebase-admin/firestore";
import {
  decideApproval,
  type GateRules,
  decideCancel,
  decideClaim,
  decideCompletion,
  decideExternalEvent,
  decideRelease,
  decideReset,
  REDRIVEN_STATUSES,
  decideRuleOutcome,
  decideSweep,
  decideTokenPublished,
  decideWait,
  evaluateTriggerRule,
  type EngineTiming,
  type ExecutionOutcome,
  type Phase,
  type SweepDecision,
  type TaskUpdate,
  wideJoinEdge,
  type WideJoinEdge,
} from "../engine/lifecycle";
import type { TaskDoc, TaskStatus } from "../schema/task";
import { taskDocSchema, taskStatusSchema } from "../schema/task";
import { PLAN_STATE_FIELDS, readPlanState, readTask } from "./converters";
import { compareAndSet, isLostRace, retryAborted, type CasDecision, type KnownState, type Readable } from "./firestore";
import { grpcCode } from "../clients/grpc-code";
import { createEventIn, recordEvent } from "./events";
import { groupCommit, sharedRead, WriteList } from "./group-commit";
import { COLLECTIONS, outputRef, planRef, taskRef, tasksOf } from "./paths";
import { chunked, inParallel } from "../runtime/parallel";
import { principalLabel, type PlanCreator, type VerifiedPrincipal } from "../trust/principals";
import { PLAN_MAY_RUN_TASKS } from "../engine/plan";

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

/** What a claim reads of the task and of its plan, in one masked read. */
const CLAIM_FIELDS = [...new Set([...Object.keys(taskDocSchema.shape), ...PLAN_STATE_FIELDS])];

/**
 * `stored`: the task as the claim wrote it, and when: the completion's first guess, saving a read.
 * `resumed`: a redelivery to the gate's own worker, which goes on entering the wait (nothing written).
 * `sleeping`: a long delay's first claim recorded its wake-up; nothing runs until then.
 */
export type ClaimResult = { kind: "claimed"; task: TaskDoc; stored?: KnownState; resumed?: true } | { kind: "sleeping"; until: number; task: TaskDoc } | Skipped;

/**
 * Takes the lease of one attempt: a compare-and-set on the task, with the plan's state read in the
 * same round trip (one field mask serves both: the task's fields and the plan's state, never the
 * plan's spec). The plan is not guarded: every task of a 5,000-wide fan-out claims at once, and
 * guarding the one plan document would serialise them all. Stopping a plan cancels its unstarted
 * tasks with compare-and-sets of their own, so the per-task check still decides.
 */
export async function claimTask(db: Firestore, ids: Ids, phase: Phase, owner: string, now: number, timing: EngineTiming): Promise<ClaimResult> {
  let stored: KnownState | undefined;
  const result = await compareAndSet(
    db,
    taskRef(db, ids.planId, ids.taskId),
    (snap, [planSnap]): CasDecision<ClaimResult> => {
      const plan = readPlanState(planSnap!);
      if (plan === undefined) return { result: { kind: "skip", reason: `unknown plan ${ids.planId}`, unknown: true } };
      const task = readTask(snap);
      if (task === undefined) return { result: { kind: "skip", reason: `unknown task ${ids.taskId}`, unknown: true } };
      const decision = decideClaim({ task, planStatus: plan.status, attempt: ids.attempt, phase, owner, now, timing });
      if (decision.kind === "skip") {
        // A task that became ready after its plan stopped (a late release) is cancelled, not left to the sweeper.
        const stopped = phase === "run" && !PLAN_MAY_RUN_TASKS.has(plan.status);
        const cancel = stopped && ids.attempt === task.attempt ? decideCancel(task, `plan is ${plan.status}`, now) : undefined;
        return { result: decision, ...(cancel?.kind === "cancel" ? { update: cancel.update } : {}) };
      }
      if (decision.kind === "resume") return { result: { kind: "claimed", task, resumed: true } };
      if (decision.kind === "sleep") return { result: { kind: "sleeping", until: decision.until, task: { ...task, ...decision.update } }, update: decision.update };
      return { result: { kind: "claimed", task: { ...task, ...decision.update } }, update: decision.update };
    },
    { readWith: [planRef(db, ids.planId)], fieldMask: CLAIM_FIELDS, committed: (state) => (stored = state) },
  );
  return result.kind === "claimed" && stored !== undefined ? { ...result, stored } : result;
}

export type CompleteResult = { kind: "completed"; status: TaskStatus; task: TaskDoc; retryInMs?: number } | Skipped;

/**
 * Applies an attempt's outcome, plus one event that carries the attempt's transitions, in one
 * atomic commit: the task's own history lives on its document, and the plan's event feed gets one
 * record per finished attempt.
 */
export async function completeTask(
  db: Firestore,
  ids: Ids,
  owner: string,
  outcome: ExecutionOutcome,
  options: { now: number; timing: EngineTiming; random: () => number; planCancelled?: boolean; claimed?: KnownState },
): Promise<CompleteResult> {
  const { claimed, ...decisionOptions } = options;
  const decide = (snap: Readable): CasDecision<CompleteResult> => {
    const task = readTask(snap);
    if (task === undefined) return { result: { kind: "skip", reason: "unknown task", unknown: true } };
    const decision = decideCompletion({ task, attempt: ids.attempt, owner, outcome, ...decisionOptions });
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
  // The worker wrote the task last (its claim): that state is tried before reading it back.
  return compareAndSet(db, taskRef(db, ids.planId, ids.taskId), decide, claimed === undefined ? {} : { known: claimed });
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
    // here): it is cancelled instead, in the same transaction.
    const [planSnap] = await tx.getAll(planRef(db, ids.planId), { fieldMask: ["status"] });
    const planStatus = readPlanState(planSnap!)?.status;
    if (planStatus !== "running") {
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

/** A gate's rules as stored on its task, the plan's approvers standing in when it names none. */
export function gateRulesOf(params: Record<string, unknown>, planApprovers: unknown): GateRules {
  const own = Array.isArray(params.approvers) ? params.approvers.map(String) : undefined;
  return {
    approvers: own ?? (Array.isArray(planApprovers) ? planApprovers.map(String) : []),
    requiredApprovals: typeof params.requiredApprovals === "number" && params.requiredApprovals >= 1 ? params.requiredApprovals : 1,
    allowSelfApproval: params.allowSelfApproval === true,
  };
}

/**
 * Who wrote a plan: `createdBy` (set by the API from the caller's verified token), or the uid the
 * security rules required in `labels.submittedBy` of a plan written from a client SDK.
 */
export function creatorOf(plan: { get(field: string): unknown }): PlanCreator | null {
  const createdBy = plan.get("createdBy") as { uid?: unknown; email?: unknown } | undefined;
  if (createdBy !== undefined && createdBy !== null && typeof createdBy === "object") {
    return { uid: typeof createdBy.uid === "string" ? createdBy.uid : null, email: typeof createdBy.email === "string" ? createdBy.email : null };
  }
  const labels = plan.get("labels") as { submittedBy?: unknown } | undefined;
  return typeof labels?.submittedBy === "string" ? { uid: labels.submittedBy, email: null } : null;
}

/**
 * An approve/reject for an approval task, from a verified principal (engine/lifecycle.ts
 * decideApproval says who may). The command is recorded in the same transaction; its id makes a
 * repeat a no-op. An approval that is not yet the last of N keeps the gate waiting.
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
    const decision = decideApproval({ task, gate, principal: cmd.principal, creator: creatorOf(planSnap!), verdict: cmd.verdict, reason: cmd.reason, now });
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
 * dependents keep their finished needs in `needsDone`; wide joins count arrivals (releaseWideJoin).
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

/**
 * A wide join records each arrival in its own document instead of updating itself (thousands of
 * needs finishing at once would otherwise contend on one document), under its need's group
 * (engine/lifecycle.ts wideJoinEdge): `tasks/{join}/arrivalGroups/{group}/arrivals/{need}`.
 * An arrival counts only its own group; the one that fills the group writes the group's outcome
 * to the group document and counts the filled groups; the one that finds every group filled adds
 * up the groups' outcomes and decides. A need that did not succeed may decide at once: the trigger
 * rules are monotone, so what one failure or skip decides, later arrivals cannot undo. The join's
 * own transition is a compare-and-set: of the last arrivals that all find it decidable, only the
 * first write applies.
 */
async function releaseWideJoin(db: Firestore, ref: DocumentReference, wide: WideJoinEdge, need: string, needStatus: TaskStatus, clock: () => number, timing: EngineTiming): Promise<Released> {
  const groups = ref.collection(COLLECTIONS.arrivalGroups);
  const group = groups.doc(String(wide.group));
  const arrivals = group.collection(COLLECTIONS.arrivals);
  // Created once: settling the need again (after a crash) writes nothing and goes on to decide.
  const outcome = { done: 1, succeeded: needStatus === "succeeded" ? 1 : 0, failed: needStatus === "failed" ? 1 : 0 };
  await createOnce(arrivals.doc(need), { status: needStatus, ...outcome, at: clock() });
  if (needStatus !== "succeeded") {
    const early = await decideWideJoin(db, ref, outcome, need, clock, timing);
    if (early.became !== null) return early;
  }
  // One aggregation read gives the group's count and outcome from one snapshot.
  const inGroup = await sumOutcomes(arrivals);
  if (inGroup.done < wide.groupNeeds) return { became: null, attempt: 0 };
  // The group is full, and a full group's arrivals do not change (until a redrive, which stops the plan first).
  await createOnce(group, { ...inGroup, at: clock() });
  const all = await sumOutcomes(groups);
  if (all.count < wide.groups) return { became: null, attempt: 0 };
  if (all.done === all.succeeded) return decideWideJoin(db, ref, all, need, clock, timing);
  const checked = await recheckGroupsWithFailures(groups);
  return checked === undefined ? { became: null, attempt: 0 } : decideWideJoin(db, ref, checked, need, clock, timing);
}

/**
 * A group's record is written once, from a full group. A redrive removes the arrivals that did
 * not succeed (and their groups' records) while late arrivals of the failed run may still be
 * settling, so a record written from a read just before the removal can claim a failure that is
 * gone. Before a failure or skip decides a join, the groups that report one are summed again from
 * their arrivals: a group no longer full loses its record (its last arrival writes it again) and
 * the join waits; otherwise the fresh sums decide. Successful joins never pay for this.
 */
async function recheckGroupsWithFailures(groups: CollectionReference): Promise<{ done: number; succeeded: number; failed: number } | undefined> {
  const records = (await groups.get()).docs;
  const counts = { done: 0, succeeded: 0, failed: 0 };
  let full = true;
  await inParallel(8, records, async (record) => {
    const stored = { done: Number(record.get("done")), succeeded: Number(record.get("succeeded")), failed: Number(record.get("failed")) };
    const sums = stored.done === stored.succeeded ? stored : await sumOutcomes(record.ref.collection(COLLECTIONS.arrivals));
    if (sums.done < stored.done) {
      full = false;
      // Only the stale record: one written again since (by the group's last arrival) stays.
      await record.ref.delete({ lastUpdateTime: record.updateTime }).catch((error: unknown) => {
        if (!isLostRace(error) && grpcCode(error) !== GrpcStatus.NOT_FOUND) throw error;
      });
      return;
    }
    for (const k of ["done", "succeeded", "failed"] as const) counts[k] += sums[k];
  });
  return full ? counts : undefined;
}

/**
 * Documents in `collection`, and the sums of their `done`, `succeeded` and `failed`: one
 * aggregation, issued after the call. Arrivals of one group that finish together in one process
 * share it (group-commit.ts sharedRead): a 5,000-way fan-in's neighbours run at once and land in the
 * same groups, so most of them count in one read instead of one each.
 */
function sumOutcomes(collection: CollectionReference): Promise<{ count: number; done: number; succeeded: number; failed: number }> {
  return sharedRead(collection.firestore, collection.path, async () => {
    const snap = await collection
      .aggregate({ count: AggregateField.count(), done: AggregateField.sum("done"), succeeded: AggregateField.sum("succeeded"), failed: AggregateField.sum("failed") })
      .get();
    const data = snap.data();
    return { count: data.count, done: Number(data.done), succeeded: Number(data.succeeded), failed: Number(data.failed) };
  });
}

/** The join's trigger rule over what has arrived (all of it, or a lower bound): a compare-and-set. */
function decideWideJoin(db: Firestore, ref: DocumentReference, counts: { done: number; succeeded: number; failed: number }, need: string, clock: () => number, timing: EngineTiming): Promise<Released> {
  return compareAndSet(db, ref, (snap): CasDecision<Released> => {
    const now = clock();
    const join = readTask(snap);
    if (join === undefined) return { result: { became: null, attempt: 0 } };
    const change = decideRuleOutcome(join, evaluateTriggerRule(join.triggerRule, { total: join.needs.length, ...counts }), need, now, timing);
    if (change === undefined) return { result: { became: null, attempt: join.attempt } };
    return { result: { became: change.status as "ready" | "skipped", attempt: join.attempt, task: { ...join, ...change } }, update: change };
  });
}

/** Creates a document unless it exists (a repeated settle finds it there); in a group commit. */
async function createOnce(ref: DocumentReference, data: Record<string, unknown>): Promise<void> {
  await retryAborted(() => groupCommit(ref.firestore, new WriteList().create(ref, data).writes)).catch((error: unknown) => {
    if (grpcCode(error) !== GrpcStatus.ALREADY_EXISTS) throw error;
  });
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
 */
export async function resetUnsucceededTasks(
  db: Firestore,
  planId: string,
  by: string,
  now: number,
  timing: EngineTiming,
  /** Only while the plan is still at this transition (its `redriving`): a cancel during the redrive stops the resets. */
  fence?: { seq: number },
): Promise<{ ready: TaskDoc[]; skipped: TaskDoc[] }> {
  const all = await tasksOf(db, planId).select("status", "fanIn").get();
  const statuses = new Map(all.docs.map((d) => [d.id, taskStatusSchema.parse(d.get("status"))]));
  const targets = all.docs.filter((d) => REDRIVEN_STATUSES.has(String(d.get("status")) as TaskStatus));
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
      const decision = task === undefined ? undefined : decideReset(task, statuses, by, now, timing);
      if (decision?.kind !== "reset") return undefined;
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

export async function sweepTask(db: Firestore, ref: DocumentReference, now: number, timing: EngineTiming): Promise<{ decision: SweepDecision; task?: TaskDoc }> {
  return db.runTransaction(async (tx) => {
    const task = readTask(await tx.get(ref));
    if (task === undefined) return { decision: { kind: "skip", reason: "gone" } };
    const decision = decideSweep(task, now, timing);
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
 * Creates a plan's task documents, never overwriting one: a start that resumes (or a stalled
 * starter that wakes after another took over) finds some already there, and those may have moved
 * on. One batch of creates; a batch that meets an existing task is created one by one.
 */
export async function createTasks(db: Firestore, planId: string, tasks: readonly TaskDoc[]): Promise<void> {
  const batch = db.batch();
  for (const task of tasks) batch.create(taskRef(db, planId, task.id), task);
  try {
    await retryAborted(() => batch.commit());
  } catch (error) {
    if (grpcCode(error) !== GrpcStatus.ALREADY_EXISTS) throw error;
    await inParallel(TASK_WRITES_IN_FLIGHT, tasks, async (task) => {
      await retryAborted(() => taskRef(db, planId, task.id).create(task)).catch((e: unknown) => {
        if (grpcCode(e) !== GrpcStatus.ALREADY_EXISTS) throw e;
      });
    });
  }
}
