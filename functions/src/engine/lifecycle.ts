/**
 * The task state machine, as pure decisions: given the stored task (and plan) and an incoming
 * signal, what changes. Every transition is a compare-and-set on (status, attempt, lease owner),
 * so a duplicate, late or out-of-order message decides "skip" with a reason instead of acting twice.
 * The store applies a decision inside one Firestore transaction. No clock or randomness is read
 * here: callers pass `now` and `random`.
 *
 *   blocked ──needs met──> ready ──claim──> running ──> succeeded | failed
 *      │                    ▲ retry (backoff)  │  └──> waiting_approval | waiting_external ──> succeeded | failed
 *      └──rule says no──> skipped              │
 *   blocked | ready | waiting_* ──cancel──> cancelled        succeeded ──rollback──> compensating ──> compensated
 */
import type { PlanStatus, RetryPolicy, TriggerRule } from "../schema/plan";
import type { HistoryEntry, TaskDoc, TaskError, TaskStatus } from "../schema/task";
import { TERMINAL_TASK_STATUSES } from "../schema/task";
import { isCreator, matchesApprover, principalLabel, sameApprover, type PlanCreator, type VerifiedPrincipal } from "../trust/principals";

/** Bounded so a task retried forever cannot grow its document towards Firestore's 1 MiB limit. */
export const MAX_HISTORY_ENTRIES = 50;

/**
 * A join with more needs than this records arrivals in their own documents (no hot document):
 * more needs finishing together than this would queue transactions on the join's lock.
 */
export const FAN_IN_THRESHOLD = 8;

/**
 * Where one need sits among a wide join's arrivals. Arrivals are counted in groups of about
 * √needs (decided by the need's place in the join's `needs`): an arriving need counts only its
 * group, and the arrival that fills a group counts only the filled groups, so a join of n needs
 * costs about n·√n index entries to count instead of n²/2, and each count stays small.
 */
export interface WideJoinEdge {
  needs: number;
  group: number;
  /** Needs in this group (the last group may be smaller). */
  groupNeeds: number;
  groups: number;
}

export function wideJoinEdge(needs: number, index: number): WideJoinEdge {
  const size = Math.ceil(Math.sqrt(needs));
  const group = Math.floor(index / size);
  return { needs, group, groupNeeds: Math.min(size, needs - group * size), groups: Math.ceil(needs / size) };
}

/** Backoffs up to this long are waited out by the worker; longer ones are left to the sweeper. */
export const IN_PROCESS_BACKOFF_MAX_MS = 10_000;

export interface EngineTiming {
  /** Extra lease time beyond the task's own timeout, covering completion writes. */
  leaseMarginMs: number;
  /** A ready task not claimed within this long is re-dispatched by the sweeper (lost message). */
  redispatchAfterMs: number;
}

export type TaskUpdate = Partial<TaskDoc>;
export type Skip = { kind: "skip"; reason: string };
export type ExecutionOutcome = { ok: true; output?: unknown } | { ok: false; error: TaskError };

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_TASK_STATUSES.has(status);
}

export function withHistory(task: Pick<TaskDoc, "history">, entry: HistoryEntry): HistoryEntry[] {
  const history = [...task.history, entry];
  return history.length > MAX_HISTORY_ENTRIES ? history.slice(history.length - MAX_HISTORY_ENTRIES) : history;
}

function transition(task: TaskDoc, to: TaskStatus, now: number, cause: string, attempt = task.attempt): HistoryEntry[] {
  return withHistory(task, { at: now, from: task.status, to, attempt, cause });
}

/** Exponential backoff with jitter for the retry that follows `failedAttempt`. */
export function backoffMs(policy: RetryPolicy, failedAttempt: number, random: () => number): number {
  const base = Math.min(policy.initialBackoffSeconds * policy.backoffMultiplier ** (failedAttempt - 1), policy.maxBackoffSeconds) * 1000;
  const jitter = base * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(base + jitter));
}

/** Whether a failed attempt is retried under the task's policy. */
export function shouldRetry(task: Pick<TaskDoc, "retry" | "attempt">, error: TaskError): boolean {
  const policy = task.retry;
  if (policy === null || task.attempt >= policy.maxAttempts) return false;
  if (policy.retryOn !== undefined) return error.code !== undefined && policy.retryOn.includes(error.code);
  return error.retryable;
}

// ── start ──────────────────────────────────────────────────────────────────────────────────────

export interface InitialTaskSpec {
  id: string;
  name?: string | undefined;
  run: string;
  params: Record<string, unknown>;
  needs: string[];
  timeoutSeconds: number;
  retry?: RetryPolicy | undefined;
  triggerRule?: TriggerRule | undefined;
  compensate?: TaskDoc["compensate"] | undefined;
}

/** A task as written when its plan starts. */
export function initialTask(input: {
  planId: string;
  spec: InitialTaskSpec;
  dependents: string[];
  /** This task's place among a dependent's arrivals, when that dependent is a wide join. */
  joinEdge?: (joinId: string, needId: string) => WideJoinEdge | undefined;
  level: number;
  /** Whether the executor of `spec.run` can undo its own work (e.g. `firebase`). */
  executorCompensates?: boolean;
  now: number;
  timing: EngineTiming;
}): TaskDoc {
  const { planId, spec, dependents, level, now, timing } = input;
  const ready = spec.needs.length === 0;
  return {
    planId,
    id: spec.id,
    name: spec.name ?? null,
    run: spec.run,
    params: spec.params,
    needs: spec.needs,
    dependents,
    needsDone: {},
    fanIn: spec.needs.length > FAN_IN_THRESHOLD,
    wideDependents: Object.fromEntries(
      dependents.flatMap((d) => {
        const edge = input.joinEdge?.(d, spec.id);
        return edge === undefined ? [] : [[d, edge]];
      }),
    ),
    triggerRule: spec.triggerRule ?? "all_success",
    retry: spec.retry ?? null,
    compensable: spec.compensate !== undefined || input.executorCompensates === true,
    compensate: spec.compensate ?? null,
    compensationError: null,
    notBefore: null,
    approvals: [],
    waiting: null,
    level,
    timeoutSeconds: spec.timeoutSeconds,
    status: ready ? "ready" : "blocked",
    attempt: 1,
    lease: null,
    readyAt: ready ? now : null,
    startedAt: null,
    finishedAt: null,
    sweepAt: ready ? now + timing.redispatchAfterMs : null,
    error: null,
    history: [{ at: now, from: null, to: ready ? "ready" : "blocked", attempt: 1, cause: "plan started" }],
  };
}

// ── claim ──────────────────────────────────────────────────────────────────────────────────────

export type Phase = "run" | "compensate";

export interface ClaimInput {
  task: TaskDoc;
  planStatus: PlanStatus;
  attempt: number;
  phase: Phase;
  owner: string;
  now: number;
  timing: EngineTiming;
}

/** ready → running (or a queued compensation → leased): take the lease for this attempt, or say why not. */
export function decideClaim(input: ClaimInput): { kind: "claim"; update: TaskUpdate } | Skip {
  const { task, planStatus, attempt, phase, owner, now, timing } = input;
  if (attempt !== task.attempt) return { kind: "skip", reason: `stale attempt ${attempt} (task is on attempt ${task.attempt})` };
  const expiresAt = now + task.timeoutSeconds * 1000 + timing.leaseMarginMs;
  if (phase === "compensate") {
    if (planStatus !== "rolling_back") return { kind: "skip", reason: `plan is ${planStatus}, not rolling back` };
    if (task.status !== "compensating") return { kind: "skip", reason: `task is ${task.status}, not compensating` };
    if (task.lease !== null && task.lease.expiresAt > now) return { kind: "skip", reason: `compensation is held by ${task.lease.owner}` };
    return { kind: "claim", update: { lease: { owner, expiresAt }, sweepAt: expiresAt } };
  }
  if (planStatus !== "running") return { kind: "skip", reason: `plan is ${planStatus}` };
  if (task.status !== "ready") return { kind: "skip", reason: `task is ${task.status}, not ready` };
  if (task.notBefore !== null && task.notBefore > now) return { kind: "skip", reason: `retry not due for ${task.notBefore - now} ms` };
  return {
    kind: "claim",
    update: {
      status: "running",
      lease: { owner, expiresAt },
      startedAt: now,
      notBefore: null,
      sweepAt: expiresAt,
      history: transition(task, "running", now, `claimed by ${owner}`, attempt),
    },
  };
}

// ── completion ─────────────────────────────────────────────────────────────────────────────────

export interface CompletionInput {
  task: TaskDoc;
  attempt: number;
  owner: string;
  outcome: ExecutionOutcome;
  /** The plan was cancelled while the attempt ran: the task ends cancelled whatever the executor said. */
  planCancelled?: boolean;
  now: number;
  timing: EngineTiming;
  random: () => number;
}

export type Completion =
  | { kind: "complete"; status: TaskStatus; update: TaskUpdate; retryInMs?: number }
  | Skip;

/**
 * running → succeeded | failed | ready (retry), and compensating → compensated | failed, only by the
 * lease holder of this attempt. A finished task leaves the sweeper's due list (`sweepAt: null`): a
 * worker that dies before releasing its dependents is found by the sweeper's stall check on the
 * plan (runtime/sweep.ts), which costs nothing per task, instead of by a second write per task.
 */
export function decideCompletion(input: CompletionInput): Completion {
  const { task, attempt, owner, outcome, now, timing } = input;
  if (attempt !== task.attempt) return { kind: "skip", reason: `stale attempt ${attempt} (task is on attempt ${task.attempt})` };
  if (task.status !== "running" && task.status !== "compensating") return { kind: "skip", reason: `task is ${task.status}, not running` };
  if (task.lease?.owner !== owner) return { kind: "skip", reason: `lease is held by ${task.lease?.owner ?? "nobody"}` };

  if (task.status === "compensating") {
    const status: TaskStatus = outcome.ok ? "compensated" : "failed";
    return {
      kind: "complete",
      status,
      update: {
        status,
        lease: null,
        sweepAt: null,
        compensationError: outcome.ok ? null : outcome.error,
        history: transition(task, status, now, outcome.ok ? "compensation succeeded" : `compensation failed: ${outcome.error.message}`),
      },
    };
  }

  if (input.planCancelled) {
    return {
      kind: "complete",
      status: "cancelled",
      update: { status: "cancelled", lease: null, finishedAt: now, sweepAt: null, output: null, error: null, history: transition(task, "cancelled", now, "plan cancelled while running") },
    };
  }
  if (outcome.ok) {
    return {
      kind: "complete",
      status: "succeeded",
      update: { status: "succeeded", lease: null, finishedAt: now, sweepAt: null, output: outcome.output ?? null, error: null, history: transition(task, "succeeded", now, "executor succeeded") },
    };
  }
  if (shouldRetry(task, outcome.error)) {
    const wait = backoffMs(task.retry!, attempt, input.random);
    const next = attempt + 1;
    return {
      kind: "complete",
      status: "ready",
      retryInMs: wait,
      update: {
        status: "ready",
        attempt: next,
        lease: null,
        error: outcome.error,
        readyAt: now + wait,
        notBefore: now + wait,
        sweepAt: now + wait + timing.redispatchAfterMs,
        history: transition(task, "ready", now, `attempt ${attempt} failed (${outcome.error.message}); retry ${next} of ${task.retry!.maxAttempts} in ${wait} ms`, next),
      },
    };
  }
  return {
    kind: "complete",
    status: "failed",
    update: { status: "failed", lease: null, finishedAt: now, sweepAt: null, output: null, error: outcome.error, history: transition(task, "failed", now, `executor failed: ${outcome.error.message}`) },
  };
}

// ── waiting (approval, external) ───────────────────────────────────────────────────────────────

/** running → waiting_approval | waiting_external: the lease is released; the deadline is the attempt's timeout. */
export function decideWait(input: {
  task: TaskDoc;
  attempt: number;
  owner: string;
  status: "waiting_approval" | "waiting_external";
  tokenHash: string | null;
  heartbeatSeconds: number | null;
  now: number;
}): { kind: "wait"; update: TaskUpdate } | Skip {
  const { task, attempt, owner, status, now } = input;
  if (attempt !== task.attempt || task.status !== "running" || task.lease?.owner !== owner) {
    return { kind: "skip", reason: `task is ${task.status} on attempt ${task.attempt}` };
  }
  const deadline = now + task.timeoutSeconds * 1000;
  const firstCheck = input.heartbeatSeconds === null ? deadline : Math.min(deadline, now + input.heartbeatSeconds * 1000);
  return {
    kind: "wait",
    update: {
      status,
      lease: null,
      waiting: { tokenHash: input.tokenHash, deadline, heartbeatSeconds: input.heartbeatSeconds },
      approvals: [],
      sweepAt: firstCheck,
      history: transition(task, status, now, status === "waiting_approval" ? "waiting for approval" : "waiting for an external system (task token issued)"),
    },
  };
}

/** What a gate asks of its approvers (from its params, or the plan's approvers and the defaults). */
export interface GateRules {
  approvers: readonly string[];
  requiredApprovals: number;
  allowSelfApproval: boolean;
}

/**
 * waiting_approval → succeeded | failed, or one more approval of N: only a verified principal who
 * is one of the gate's approvers (no named approvers: any operator), never the plan's creator
 * unless the gate allows it, and only before the gate's deadline. A bare claim of who sent the
 * command (`principal: null`) is refused. One rejection fails the gate; `requiredApprovals`
 * distinct approvers pass it.
 */
export function decideApproval(input: {
  task: TaskDoc;
  gate: GateRules;
  principal: VerifiedPrincipal | null;
  creator: PlanCreator | null;
  verdict: "approve" | "reject";
  reason: string | undefined;
  now: number;
}): { kind: "decided"; status: TaskStatus; update: TaskUpdate; approvals: number } | Skip {
  const { task, gate, principal, creator, verdict, now } = input;
  if (task.status !== "waiting_approval") return { kind: "skip", reason: `task ${task.id} is ${task.status}, not waiting for approval` };
  if (principal === null) return { kind: "skip", reason: "the command carries no verified credential (a bare `by` is recorded but never passes a gate)" };
  const who = principalLabel(principal);
  if (task.waiting !== null && task.waiting.deadline <= now) {
    return { kind: "skip", reason: `the approval deadline of ${task.id} passed at ${new Date(task.waiting.deadline).toISOString()}` };
  }
  if (gate.approvers.length === 0 ? principal.role !== "operator" : !gate.approvers.some((entry) => matchesApprover(entry, principal))) {
    const listed = gate.approvers.length === 0 ? "no approvers are named, so only operators may approve" : `approvers: ${gate.approvers.join(", ")}`;
    return { kind: "skip", reason: `${who} is not an approver of ${task.id} (${listed})` };
  }
  if (!gate.allowSelfApproval && isCreator(principal, creator)) return { kind: "skip", reason: `${who} created this plan and may not approve its gate ${task.id}` };
  const why = input.reason ? `: ${input.reason}` : "";
  if (verdict === "reject") {
    const end = finishWaiting(task, { ok: false, error: { message: `rejected by ${who}${why}`, code: "rejected", retryable: false } }, `rejected by ${who}${why}`, now);
    return { kind: "decided", ...end, approvals: task.approvals.length };
  }
  const me = { uid: principal.uid, email: principal.emailVerified ? principal.email : null };
  const earlier = task.approvals.find((a) => sameApprover(a, me));
  if (earlier !== undefined) {
    return { kind: "skip", reason: `${who} already approved ${task.id} (${task.approvals.length} of ${gate.requiredApprovals}): the next approval must come from someone else` };
  }
  const approvals = [...task.approvals, { by: who, ...me, at: now }];
  const count = `${approvals.length} of ${gate.requiredApprovals}`;
  if (approvals.length < gate.requiredApprovals) {
    return {
      kind: "decided",
      status: "waiting_approval",
      approvals: approvals.length,
      update: { approvals, history: withHistory(task, { at: now, from: task.status, to: task.status, attempt: task.attempt, cause: `approved by ${who} (${count})${why}` }) },
    };
  }
  const end = finishWaiting(task, { ok: true, output: { approvedBy: approvals.map((a) => a.by), reason: input.reason ?? null } }, `approved by ${who} (${count})${why}`, now);
  return { kind: "decided", ...end, update: { ...end.update, approvals }, approvals: approvals.length };
}

/** waiting_* → succeeded | failed: the shared ending of an approval or an external task. */
function finishWaiting(task: TaskDoc, outcome: ExecutionOutcome, cause: string, now: number): { status: TaskStatus; update: TaskUpdate } {
  const status: TaskStatus = outcome.ok ? "succeeded" : "failed";
  return {
    status,
    update: {
      status,
      waiting: null,
      finishedAt: now,
      sweepAt: null,
      output: outcome.ok ? (outcome.output ?? null) : null,
      error: outcome.ok ? null : outcome.error,
      history: transition(task, status, now, cause),
    },
  };
}

/** An external system's message about a waiting task: completion, heartbeat, or a rejection with the reason. */
export function decideExternalEvent(input: {
  task: TaskDoc;
  tokenHash: string;
  event: { type: "completed" | "heartbeat"; outcome?: "succeeded" | "failed" | undefined; output?: unknown; error?: string | undefined };
  now: number;
}): { kind: "complete"; status: TaskStatus; update: TaskUpdate } | { kind: "heartbeat"; update: TaskUpdate } | Skip {
  const { task, tokenHash, event, now } = input;
  if (task.status !== "waiting_external" || task.waiting === null || task.waiting.tokenHash === null) {
    return { kind: "skip", reason: `task is ${task.status}: the token is not (or no longer) valid` };
  }
  if (task.waiting.tokenHash !== tokenHash) return { kind: "skip", reason: "wrong task token" };
  if (task.waiting.deadline <= now) return { kind: "skip", reason: "task token expired" };
  if (event.type === "heartbeat") {
    const next = task.waiting.heartbeatSeconds === null ? task.waiting.deadline : Math.min(task.waiting.deadline, now + task.waiting.heartbeatSeconds * 1000);
    return { kind: "heartbeat", update: { sweepAt: next } };
  }
  const outcome: ExecutionOutcome =
    event.outcome === "succeeded"
      ? { ok: true, output: event.output ?? null }
      : { ok: false, error: { message: event.error ?? "the external system reported failure", code: "external_failed", retryable: false } };
  return { kind: "complete", ...finishWaiting(task, outcome, `external system reported ${event.outcome === "succeeded" ? "succeeded" : "failed"}`, now) };
}

// ── releasing dependents, trigger rules ────────────────────────────────────────────────────────

export type RuleVerdict = "wait" | "run" | "skip";

/**
 * Airflow-style trigger rules over the needs' final statuses (`done` counts needs that finished).
 * `one_failed` runs as soon as one need failed; the others wait for every need.
 */
export function evaluateTriggerRule(rule: TriggerRule, counts: { total: number; done: number; succeeded: number; failed: number }): RuleVerdict {
  const allDone = counts.done >= counts.total;
  switch (rule) {
    case "all_success":
      if (counts.done > counts.succeeded) return "skip";
      return allDone ? "run" : "wait";
    case "all_done":
      return allDone ? "run" : "wait";
    case "one_failed":
      if (counts.failed > 0) return "run";
      return allDone ? "skip" : "wait";
    case "none_failed":
      if (counts.failed > 0) return "skip";
      return allDone ? "run" : "wait";
  }
}

export function countOutcomes(statuses: Iterable<TaskStatus>, total: number): { total: number; done: number; succeeded: number; failed: number } {
  let done = 0;
  let succeeded = 0;
  let failed = 0;
  for (const s of statuses) {
    done += 1;
    if (s === "succeeded") succeeded += 1;
    if (s === "failed") failed += 1;
  }
  return { total, done, succeeded, failed };
}

/** blocked → ready | skipped, once the trigger rule has its answer. */
export function decideRuleOutcome(dependent: TaskDoc, verdict: RuleVerdict, lastNeed: string, now: number, timing: EngineTiming): TaskUpdate | undefined {
  if (dependent.status !== "blocked" || verdict === "wait") return undefined;
  if (verdict === "run") {
    return {
      status: "ready",
      readyAt: now,
      sweepAt: now + timing.redispatchAfterMs,
      history: transition(dependent, "ready", now, `trigger rule ${dependent.triggerRule} met (last: ${lastNeed})`),
    };
  }
  return {
    status: "skipped",
    finishedAt: now,
    sweepAt: null,
    history: transition(dependent, "skipped", now, `trigger rule ${dependent.triggerRule} cannot be met (after ${lastNeed})`),
  };
}

export interface ReleaseInput {
  dependent: TaskDoc;
  need: string;
  needStatus: TaskStatus;
  now: number;
  timing: EngineTiming;
}

/**
 * Records that one need of `dependent` finished. Idempotent per (need, dependent) edge: a repeat
 * is a no-op, so a redelivered completion cannot release a task twice.
 */
export function decideRelease(input: ReleaseInput): { kind: "release"; became: "ready" | "skipped" | null; update: TaskUpdate } | Skip {
  const { dependent, need, needStatus, now, timing } = input;
  if (dependent.needsDone[need] !== undefined) return { kind: "skip", reason: `${need} already recorded` };
  const needsDone = { ...dependent.needsDone, [need]: needStatus };
  const verdict = evaluateTriggerRule(dependent.triggerRule, countOutcomes(Object.values(needsDone), dependent.needs.length));
  const change = decideRuleOutcome(dependent, verdict, need, now, timing);
  const became = change === undefined ? null : (change.status as "ready" | "skipped");
  return { kind: "release", became, update: { needsDone, ...change } };
}

// ── cancel, reset, sweep ───────────────────────────────────────────────────────────────────────

const CANCELLABLE: ReadonlySet<TaskStatus> = new Set(["blocked", "ready", "waiting_approval", "waiting_external"]);

/** blocked | ready | waiting → cancelled, when the plan stops before the task could finish. */
export function decideCancel(task: TaskDoc, cause: string, now: number): { kind: "cancel"; update: TaskUpdate } | Skip {
  if (!CANCELLABLE.has(task.status)) return { kind: "skip", reason: `task is ${task.status}` };
  return {
    kind: "cancel",
    update: { status: "cancelled", waiting: null, finishedAt: now, sweepAt: null, history: transition(task, "cancelled", now, cause) },
  };
}

/**
 * Redrive (the `retry` command): a task that did not succeed starts again as its next attempt,
 * ready if its needs already satisfy its trigger rule, blocked otherwise.
 */
export function decideReset(task: TaskDoc, needStatuses: ReadonlyMap<string, TaskStatus>, by: string, now: number, timing: EngineTiming): { kind: "reset"; update: TaskUpdate } | Skip {
  if (task.status !== "failed" && task.status !== "cancelled" && task.status !== "skipped") return { kind: "skip", reason: `task is ${task.status}` };
  const needsDone: Record<string, TaskStatus> = {};
  for (const need of task.needs) {
    const s = needStatuses.get(need);
    if (s === "succeeded") needsDone[need] = s;
  }
  const ready = task.needs.every((n) => needsDone[n] !== undefined);
  const attempt = task.attempt + 1;
  const to: TaskStatus = ready ? "ready" : "blocked";
  return {
    kind: "reset",
    update: {
      status: to,
      attempt,
      needsDone,
      lease: null,
      waiting: null,
      approvals: [],
      notBefore: null,
      error: null,
      output: null,
      finishedAt: null,
      readyAt: ready ? now : null,
      sweepAt: ready ? now + timing.redispatchAfterMs : null,
      history: transition(task, to, now, `redriven by ${by}`, attempt),
    },
  };
}

/** succeeded → compensating (queued, no lease yet), when its plan rolls back. */
export function decideStartCompensation(task: TaskDoc, now: number, timing: EngineTiming): { kind: "compensate"; update: TaskUpdate } | Skip {
  if (task.status !== "succeeded" || !task.compensable) return { kind: "skip", reason: `task is ${task.status}` };
  return {
    kind: "compensate",
    update: { status: "compensating", lease: null, sweepAt: now + timing.redispatchAfterMs, history: transition(task, "compensating", now, "rolling back") },
  };
}

export type SweepDecision =
  | { kind: "redispatch"; phase: Phase; update: TaskUpdate }
  | { kind: "settle"; update: TaskUpdate }
  | { kind: "expire_lease"; update: TaskUpdate; failed: boolean }
  | { kind: "deadline"; update: TaskUpdate }
  | Skip;

/**
 * What the sweeper does with a task that came due: re-publish a ready task whose message was lost
 * (or whose backoff ended), settle a finished task whose worker died before releasing its
 * dependents, take back the lease of a dead worker (as the next attempt while attempts remain), or
 * fail a wait that passed its deadline or missed its heartbeat.
 */
export function decideSweep(task: TaskDoc, now: number, timing: EngineTiming): SweepDecision {
  if (task.sweepAt === null || task.sweepAt > now) return { kind: "skip", reason: "not due" };
  const nextCheck = now + timing.redispatchAfterMs;
  if (task.status === "ready") return { kind: "redispatch", phase: "run", update: { sweepAt: nextCheck } };
  if (task.status === "compensating" && (task.lease === null || task.lease.expiresAt <= now)) {
    return { kind: "redispatch", phase: "compensate", update: { lease: null, sweepAt: nextCheck } };
  }
  // Written before finished tasks left the due list: settle once more, then leave it.
  if (isTerminal(task.status)) return { kind: "settle", update: { sweepAt: null } };
  if (task.status === "running" && task.lease !== null && task.lease.expiresAt <= now) {
    const lost = `lease of ${task.lease.owner} expired (attempt ${task.attempt} lost)`;
    const maxAttempts = Math.max(task.retry?.maxAttempts ?? 1, 3);
    if (task.attempt >= maxAttempts) {
      return {
        kind: "expire_lease",
        failed: true,
        update: { status: "failed", lease: null, finishedAt: now, sweepAt: null, error: { message: lost, code: "lease_expired", retryable: false }, history: transition(task, "failed", now, lost) },
      };
    }
    const attempt = task.attempt + 1;
    return {
      kind: "expire_lease",
      failed: false,
      update: { status: "ready", attempt, lease: null, readyAt: now, sweepAt: nextCheck, history: transition(task, "ready", now, lost, attempt) },
    };
  }
  if ((task.status === "waiting_approval" || task.status === "waiting_external") && task.waiting !== null) {
    const heartbeatMissed = task.waiting.heartbeatSeconds !== null && now < task.waiting.deadline;
    const message = heartbeatMissed ? `no heartbeat within ${task.waiting.heartbeatSeconds} s` : `no answer within ${task.timeoutSeconds} s`;
    return {
      kind: "deadline",
      update: { status: "failed", waiting: null, finishedAt: now, sweepAt: null, error: { message, code: "timeout", retryable: false }, history: transition(task, "failed", now, message) },
    };
  }
  return { kind: "skip", reason: `task is ${task.status}` };
}
