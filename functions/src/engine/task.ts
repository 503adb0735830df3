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
 *   blocked | ready | waiting_* ──cancel──> cancelled        succeeded ──rollback──> compensating ──> compensated | failed
 *                                                            failed ──rollback (compensatesFailure)──> compensating
 *
 * Here: the start, claim, completion, waits and gates (approvers included), cancel, redrive,
 * compensation and sweep. Releasing dependents (blocked → ready | skipped: trigger rules, wide
 * joins) is engine/release.ts; the plan's own machine is engine/plan.ts.
 */
import type { PlanStatus, RetryPolicy, TriggerRule } from "../schema/plan";
import type { HistoryEntry, TaskDoc, TaskError, TaskStatus } from "../schema/task";
import { TERMINAL_TASK_STATUSES } from "../schema/task";
import { isCreator, matchesApprover, principalLabel, sameApprover, type PlanCreator, type VerifiedPrincipal } from "../trust/principals";
import { countOutcomes, evaluateTriggerRule, FAN_IN_THRESHOLD, type WideJoinEdge } from "./release";

/** Bounded so a task retried forever cannot grow its document towards Firestore's 1 MiB limit. */
export const MAX_HISTORY_ENTRIES = 50;

/** Backoffs up to this long are waited out by the worker; longer ones are left to the sweeper. */
export const IN_PROCESS_BACKOFF_MAX_MS = 10_000;

/**
 * A gate (`approval`, `external`) runs nothing while claimed: it only enters its wait. Its claim
 * takes this short lease (plus the lease margin), not one as long as its wait (an approval waits a
 * week); entering the wait sets the real deadline. A worker that dies between the two strands the
 * gate for about a minute and a half, not for the whole wait.
 */
export const GATE_CLAIM_LEASE_MS = 60_000;

/**
 * A `delay` up to this long sleeps inside the invocation. A longer one sleeps durably: its claim
 * records the wake-up time and puts the task back to ready until then, the sweeper dispatches it
 * when due, and the claim after the wake-up succeeds at once (decideClaim).
 */
export const IN_INVOCATION_DELAY_MAX_MS = 10_000;

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

/** The history of `task` with its move to `to` recorded (engine/release.ts records releases with it too). */
export function transition(task: TaskDoc, to: TaskStatus, now: number, cause: string, attempt = task.attempt): HistoryEntry[] {
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
  /** The pools its attempts take slots in, and its plan's priority (schema/task.ts). */
  pools?: TaskDoc["pools"];
  priority?: number;
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
    // An explicit compensation step undoes a success only; the executor's own replays what was applied.
    compensatesFailure: spec.compensate === undefined && input.executorCompensates === true,
    compensate: spec.compensate ?? null,
    compensationError: null,
    notBefore: null,
    approvals: [],
    waiting: null,
    intent: null,
    delayUntil: null,
    pools: input.pools ?? [],
    priority: input.priority ?? 0,
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
  /**
   * The plan's status, read with the task. `undefined` for a run-phase claim that did not read it:
   * the worker reads the plan after the claim commits and before any work starts (runtime/run-task.ts
   * runClaimed), which is what makes a stop exact, so a read before it only cost a read per task.
   */
  planStatus: PlanStatus | undefined;
  attempt: number;
  phase: Phase;
  owner: string;
  now: number;
  timing: EngineTiming;
}

/** Gates run nothing while claimed: they wait, for a command or another system, outside any invocation. */
export function isGate(run: string): boolean {
  return run === "approval" || run === "external";
}

/**
 * The attempt whose intent this attempt carries out: the number in its idempotency key. An attempt
 * that runs again what a lost worker was doing (lease expiry) carries on that attempt's intent; any
 * other attempt (the first, a retry after a reported failure, a redrive) begins its own. decideReset
 * and the retry in decideCompletion need not know: they move `attempt` on, and `intent` names only
 * the attempt it was written for.
 */
export function intentOf(task: Pick<TaskDoc, "attempt" | "intent">): number {
  return task.intent !== null && task.intent.attempt === task.attempt ? task.intent.since : task.attempt;
}

/**
 * The idempotency key an attempt hands its executor (`http` sends it as `Idempotency-Key`):
 * `{planId}/{taskId}/{N}`, and `{planId}/{taskId}/{N}/compensate` for a compensation, where N is
 * intentOf(task). What the far side can deduplicate with it: the same key comes again when an
 * attempt whose worker was lost (lease expiry: a crash, a killed invocation, a lost network) runs
 * again, since the engine cannot know whether the far side acted; a new key comes when the engine
 * decides to try again (a retry after a reported failure, a redrive), because the far side must act
 * again. N is the attempt that began the intent, so the first run's key is `{planId}/{taskId}/1`.
 */
export function idempotencyKey(task: Pick<TaskDoc, "planId" | "id" | "attempt" | "intent">, phase: Phase): string {
  return `${task.planId}/${task.id}/${intentOf(task)}${phase === "compensate" ? "/compensate" : ""}`;
}

/** A `delay` long enough to sleep durably: its length (ms), or undefined. */
export function durableDelayMs(task: Pick<TaskDoc, "run" | "params">): number | undefined {
  const ms = task.run === "delay" ? task.params.ms : undefined;
  return typeof ms === "number" && ms > IN_INVOCATION_DELAY_MAX_MS ? ms : undefined;
}

/** When this intent's durable delay wakes (set by its first claim), or undefined if it has not slept yet. */
export function wakeUpOf(task: Pick<TaskDoc, "attempt" | "intent" | "delayUntil">): number | undefined {
  return task.delayUntil !== null && task.delayUntil.intent === intentOf(task) ? task.delayUntil.at : undefined;
}

export type ClaimDecision =
  | { kind: "claim"; update: TaskUpdate }
  /** A redelivery to the gate's own worker, whose claim has not entered the wait yet: go on entering it. */
  | { kind: "resume"; reason: string }
  /** A long delay's first claim: back to ready until `until`, the worker returns. */
  | { kind: "sleep"; until: number; update: TaskUpdate }
  | Skip;

/**
 * ready → running (or a queued compensation → leased): take the lease for this attempt, or say why
 * not. A gate takes a short lease (GATE_CLAIM_LEASE_MS): its wait has a deadline of its own. A
 * long delay does not run at its first claim: it records its wake-up and sleeps as ready.
 */
export function decideClaim(input: ClaimInput): ClaimDecision {
  const { task, planStatus, attempt, phase, owner, now, timing } = input;
  if (attempt !== task.attempt) return { kind: "skip", reason: `stale attempt ${attempt} (task is on attempt ${task.attempt})` };
  const gate = phase === "run" && isGate(task.run);
  const expiresAt = now + (gate ? GATE_CLAIM_LEASE_MS : task.timeoutSeconds * 1000) + timing.leaseMarginMs;
  if (phase === "compensate") {
    if (planStatus !== "rolling_back") return { kind: "skip", reason: `plan is ${planStatus}, not rolling back` };
    if (task.status !== "compensating") return { kind: "skip", reason: `task is ${task.status}, not compensating` };
    if (task.lease !== null && task.lease.expiresAt > now) return { kind: "skip", reason: `compensation is held by ${task.lease.owner}` };
    return { kind: "claim", update: { lease: { owner, expiresAt }, sweepAt: expiresAt } };
  }
  if (planStatus !== undefined && planStatus !== "running") return { kind: "skip", reason: `plan is ${planStatus}` };
  if (gate && task.status === "running" && task.lease !== null && task.lease.owner === owner && task.lease.expiresAt > now) {
    return { kind: "resume", reason: `${owner} claimed this gate and had not entered its wait: resuming` };
  }
  if (task.status !== "ready") return { kind: "skip", reason: `task is ${task.status}, not ready` };
  const wakeUp = wakeUpOf(task);
  if (task.notBefore !== null && task.notBefore > now) {
    const left = task.notBefore - now;
    return { kind: "skip", reason: wakeUp === task.notBefore ? `sleeping until ${new Date(wakeUp).toISOString()} (${left} ms)` : `retry not due for ${left} ms` };
  }
  const delayMs = durableDelayMs(task);
  if (delayMs !== undefined && wakeUp === undefined) {
    // Set once per intent: a redelivery finds it set (and not due), a re-claim after it finds it passed.
    const until = now + delayMs;
    return {
      kind: "sleep",
      until,
      update: {
        delayUntil: { at: until, intent: intentOf(task) },
        notBefore: until,
        sweepAt: until,
        history: transition(task, "ready", now, `sleeping until ${new Date(until).toISOString()} (delay of ${delayMs} ms, claimed by ${owner})`, attempt),
      },
    };
  }
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

/**
 * running → ready, the same attempt, unrun: a run-phase claim (which reads only its task) whose
 * plan turns out not to run attempts yet (pending, planning, or waiting for its locks) gives its
 * lease back, so the attempt runs once the plan does. Only the lease holder of this attempt can.
 */
export function decideGiveBack(input: {
  task: TaskDoc;
  attempt: number;
  owner: string;
  reason: string;
  now: number;
  timing: EngineTiming;
  /** When the sweeper looks again (default: the usual redispatch delay); a task waiting for a pool slot is woken by the slot's release instead. */
  recheckMs?: number;
}): { kind: "give_back"; update: TaskUpdate } | Skip {
  const { task, attempt, owner, reason, now, timing } = input;
  if (task.status !== "running" || task.attempt !== attempt || task.lease?.owner !== owner) return { kind: "skip", reason: `not this claim's to give back (task is ${task.status}#${task.attempt})` };
  return {
    kind: "give_back",
    update: { status: "ready", lease: null, startedAt: null, sweepAt: now + (input.recheckMs ?? timing.redispatchAfterMs), history: transition(task, "ready", now, `given back unrun by ${owner}: ${reason}`, attempt) },
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
    // The next attempt begins an intent of its own (a new idempotency key: see intentOf).
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

/**
 * running → waiting_approval | waiting_external: the lease is released; the deadline is the
 * attempt's timeout, from now. An external task's token is written to its outbox in the same
 * transaction and is not published yet (`tokenPublished: false`): the task is due for the sweeper
 * after `timing.redispatchAfterMs` (at once without `timing`), which publishes it again unless the
 * worker's publish was marked first (decideTokenPublished).
 */
export function decideWait(input: {
  task: TaskDoc;
  attempt: number;
  owner: string;
  status: "waiting_approval" | "waiting_external";
  tokenHash: string | null;
  heartbeatSeconds: number | null;
  now: number;
  timing?: EngineTiming;
}): { kind: "wait"; update: TaskUpdate } | Skip {
  const { task, attempt, owner, status, now } = input;
  if (attempt !== task.attempt || task.status !== "running" || task.lease?.owner !== owner) {
    return { kind: "skip", reason: `task is ${task.status} on attempt ${task.attempt}` };
  }
  const deadline = now + task.timeoutSeconds * 1000;
  const firstCheck = input.heartbeatSeconds === null ? deadline : Math.min(deadline, now + input.heartbeatSeconds * 1000);
  const external = status === "waiting_external";
  return {
    kind: "wait",
    update: {
      status,
      lease: null,
      waiting: { tokenHash: input.tokenHash, deadline, heartbeatSeconds: input.heartbeatSeconds, ...(external ? { tokenPublished: false } : {}) },
      approvals: [],
      sweepAt: external ? Math.min(firstCheck, now + (input.timing?.redispatchAfterMs ?? 0)) : firstCheck,
      history: transition(task, status, now, status === "waiting_approval" ? "waiting for approval" : "waiting for an external system (task token issued)"),
    },
  };
}

/**
 * An external task's token was published: its wait is due again at its next heartbeat (counted
 * from now: the other system has had the token only since now) or its deadline. Only for the
 * token this attempt stored, once: a compare-and-set on the task.
 */
export function decideTokenPublished(input: { task: TaskDoc; attempt: number; tokenHash: string; now: number }): { kind: "published"; update: TaskUpdate } | Skip {
  const { task, attempt, tokenHash, now } = input;
  const waiting = task.waiting;
  if (task.status !== "waiting_external" || attempt !== task.attempt || waiting === null) return { kind: "skip", reason: `task is ${task.status} on attempt ${task.attempt}` };
  if (waiting.tokenHash !== tokenHash) return { kind: "skip", reason: "the task waits with another token" };
  if (waiting.tokenPublished !== false) return { kind: "skip", reason: "the token is already marked published" };
  const next = waiting.heartbeatSeconds === null ? waiting.deadline : Math.min(waiting.deadline, now + waiting.heartbeatSeconds * 1000);
  return { kind: "published", update: { waiting: { ...waiting, tokenPublished: true }, sweepAt: next } };
}

/** What a gate asks of its approvers (from its params, or the plan's approvers and the defaults). */
export interface GateRules {
  approvers: readonly string[];
  requiredApprovals: number;
  allowSelfApproval: boolean;
}

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
 * security rules required in `labels.submittedBy` of a plan written from a client SDK. `plan`
 * holds the two fields as stored (absent ones undefined).
 */
export function creatorOf(plan: { createdBy?: unknown; labels?: unknown }): PlanCreator | null {
  const createdBy = plan.createdBy as { uid?: unknown; email?: unknown } | undefined;
  if (createdBy !== undefined && createdBy !== null && typeof createdBy === "object") {
    return { uid: typeof createdBy.uid === "string" ? createdBy.uid : null, email: typeof createdBy.email === "string" ? createdBy.email : null };
  }
  const labels = plan.labels as { submittedBy?: unknown } | undefined;
  return typeof labels?.submittedBy === "string" ? { uid: labels.submittedBy, email: null } : null;
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
 * What a redrive runs again: everything that did not succeed, including what a rollback undid
 * (compensated, or failed while compensating): its effect is gone, so it must run again for its
 * dependents to see it.
 */
export const REDRIVEN_STATUSES: ReadonlySet<TaskStatus> = new Set(["failed", "cancelled", "skipped", "compensated"]);
/** What a redrive leaves to go on as part of the new run (a running attempt, a ready one not yet claimed). */
export const STILL_OPEN_ON_REDRIVE: ReadonlySet<TaskStatus> = new Set(["running", "ready"]);
/** Statuses in which a rollback's step waits: an attempt or a compensation is still under way. */
export const ROLLBACK_WAITS_FOR: readonly TaskStatus[] = ["running", "compensating"];

/**
 * Redrive (the `retry` command): a task that did not succeed starts again as its next attempt,
 * ready if its needs already satisfy its trigger rule, blocked otherwise.
 */
export function decideReset(
  task: TaskDoc,
  needStatuses: ReadonlyMap<string, TaskStatus>,
  by: string,
  now: number,
  timing: EngineTiming,
  /** A targeted redrive: `force` runs it again even if it succeeded; `standing` needs count as they are (a need marked skipped). */
  scoped: { force?: boolean; standing?: ReadonlySet<string> } = {},
): { kind: "reset"; update: TaskUpdate } | Skip {
  if (!REDRIVEN_STATUSES.has(task.status) && !(scoped.force === true && task.status === "succeeded")) return { kind: "skip", reason: `task is ${task.status}` };
  const needsDone: Record<string, TaskStatus> = {};
  for (const need of task.needs) {
    const s = needStatuses.get(need);
    if (s === "succeeded" || (s !== undefined && scoped.standing?.has(need) === true)) needsDone[need] = s;
  }
  const allIn = task.needs.every((n) => needsDone[n] !== undefined);
  // Every need stands (it succeeded and is not run again): the trigger rule decides now, as it would
  // have on release, so a `one_failed` task whose needs all succeeded is skipped, not run.
  const verdict = allIn ? evaluateTriggerRule(task.triggerRule, countOutcomes(Object.values(needsDone), task.needs.length)) : "wait";
  const ready = verdict === "run";
  const attempt = task.attempt + 1;
  const to: TaskStatus = verdict === "run" ? "ready" : verdict === "skip" ? "skipped" : "blocked";
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
      compensationError: null,
      output: null,
      finishedAt: to === "skipped" ? now : null,
      readyAt: ready ? now : null,
      sweepAt: ready ? now + timing.redispatchAfterMs : null,
      history: transition(task, to, now, to === "skipped" ? `redriven by ${by}: trigger rule ${task.triggerRule} cannot be met` : `redriven by ${by}`, attempt),
    },
  };
}

/**
 * A targeted redrive marks a failed task succeeded or skipped instead of running it again, with who
 * and why in its history; what follows it is reset with it standing as marked.
 */
export function decideMark(task: TaskDoc, as: "succeeded" | "skipped", by: string, reason: string | null, now: number): { kind: "mark"; update: TaskUpdate } | Skip {
  if (task.status !== "failed") return { kind: "skip", reason: `task is ${task.status}, not failed` };
  return {
    kind: "mark",
    update: { status: as, lease: null, waiting: null, sweepAt: null, finishedAt: now, history: transition(task, as, now, `marked ${as} by ${by}${reason ? `: ${reason}` : ""} (it had failed: ${task.error?.message ?? "unknown error"})`) },
  };
}

/**
 * Whether a rollback compensates the task now: it succeeded and can be undone, or its run failed
 * and its executor undoes what the run applied (`compensatesFailure`), unless that compensation
 * failed already in this rollback.
 */
export function rollbackCompensates(task: Pick<TaskDoc, "status" | "compensable" | "compensatesFailure" | "compensationError">): boolean {
  if (task.status === "succeeded") return task.compensable;
  return task.status === "failed" && task.compensatesFailure && task.compensationError === null;
}

/**
 * A rollback that starts again after one that did not finish (rollback_failed): a task whose
 * compensation failed gets it again. Its run had succeeded (no run error) → succeeded; a failed run
 * its executor undoes → failed; either way without the compensation's error.
 */
export function decideRearmCompensation(task: TaskDoc, now: number): { kind: "rearm"; update: TaskUpdate } | Skip {
  if (task.status !== "failed" || task.compensationError === null) return { kind: "skip", reason: `task is ${task.status}${task.compensationError === null ? "" : " with a compensation error"}` };
  const to: TaskStatus = task.error === null ? "succeeded" : "failed";
  // A new attempt: the compensation that failed was reported, so trying it again is a new intent
  // with a new idempotency key (the far side must act again, not answer with the first failure).
  const attempt = task.attempt + 1;
  return { kind: "rearm", update: { status: to, attempt, intent: null, compensationError: null, history: transition(task, to, now, "rolled back again: its compensation runs again", attempt) } };
}

/** succeeded (or failed, see rollbackCompensates) → compensating (queued, no lease yet), when its plan rolls back. */
export function decideStartCompensation(task: TaskDoc, now: number, timing: EngineTiming): { kind: "compensate"; update: TaskUpdate } | Skip {
  if (!rollbackCompensates(task)) return { kind: "skip", reason: `task is ${task.status}` };
  return {
    kind: "compensate",
    update: { status: "compensating", lease: null, sweepAt: now + timing.redispatchAfterMs, history: transition(task, "compensating", now, "rolling back") },
  };
}

/** How long a ready task of a paused plan stays out of the sweeper's due list before it is looked at again. */
export const PAUSED_RECHECK_MS = 10 * 60_000;

export type SweepDecision =
  | { kind: "redispatch"; phase: Phase; update: TaskUpdate }
  | { kind: "settle"; update: TaskUpdate }
  | { kind: "expire_lease"; update: TaskUpdate; failed: boolean }
  | { kind: "deadline"; update: TaskUpdate }
  /** A ready task of a plan that ended: cancelled in place, never dispatched. */
  | { kind: "cancel"; update: TaskUpdate }
  /** A ready task of a paused plan: not dispatched, looked at again later (a resume publishes it). */
  | { kind: "park"; update: TaskUpdate }
  /** An external task's token may not have reached the other system: publish its outbox message again. */
  | { kind: "republish_token"; update: TaskUpdate }
  | Skip;

/**
 * What the sweeper does with a task that came due: re-publish a ready task whose message was lost
 * (or whose backoff ended), settle a finished task whose worker died before releasing its
 * dependents, take back the lease of a dead worker (as the next attempt while attempts remain), or
 * fail a wait that passed its deadline or missed its heartbeat.
 *
 * A lease expiry counts as a used attempt: it is a failure (`lease_expired`, retryable) that the
 * task's retry policy retries or not like any other (`maxAttempts: 1` means one run; a `retryOn`
 * list retries it only if it names `lease_expired`), with no backoff; the next attempt carries on
 * the lost one's intent (the same idempotency key). A gate's short claim lease is different: the
 * gate ran nothing and never entered its wait, so it is dispatched again as the same attempt.
 * An external task whose token is not known to be published has its outbox message published
 * again (the same token) until it is, or its deadline passes.
 *
 * `planPaused`: a ready task of a paused plan is parked (looked at again in PAUSED_RECHECK_MS),
 * not dispatched; the resume publishes every ready task. Its other tasks are swept as usual: begun
 * attempts finish, so a lost lease or a gate's deadline is dealt with while it is paused too.
 *
 * `planEnded`: the plan's final status, when it has one. A ready task of an ended plan is
 * cancelled here rather than dispatched, so the sweeper never hands out a message for a plan that
 * is not running: a plan that ended before it ever ran starts afresh on a retry, writing its tasks
 * again, and a claim taken from such a message would be overwritten under its worker.
 */
export function decideSweep(task: TaskDoc, now: number, timing: EngineTiming, planEnded?: string, planPaused = false): SweepDecision {
  if (task.sweepAt === null || task.sweepAt > now) return { kind: "skip", reason: "not due" };
  const nextCheck = now + timing.redispatchAfterMs;
  if (task.status === "ready" && planEnded !== undefined) {
    return { kind: "cancel", update: { status: "cancelled", waiting: null, finishedAt: now, sweepAt: null, history: transition(task, "cancelled", now, `plan is ${planEnded}`) } };
  }
  // Out of the due list for a while, so a large paused plan never crowds out others' due tasks.
  if (task.status === "ready" && planPaused) return { kind: "park", update: { sweepAt: now + PAUSED_RECHECK_MS } };
  if (task.status === "ready") return { kind: "redispatch", phase: "run", update: { sweepAt: nextCheck } };
  if (task.status === "compensating" && (task.lease === null || task.lease.expiresAt <= now)) {
    return { kind: "redispatch", phase: "compensate", update: { lease: null, sweepAt: nextCheck } };
  }
  // Written before finished tasks left the due list: settle once more, then leave it.
  if (isTerminal(task.status)) return { kind: "settle", update: { sweepAt: null } };
  if (task.status === "running" && task.lease !== null && task.lease.expiresAt <= now) {
    if (isGate(task.run)) {
      const cause = `claim of ${task.lease.owner} expired before the wait began (nothing ran): dispatched again`;
      return { kind: "expire_lease", failed: false, update: { status: "ready", lease: null, readyAt: now, sweepAt: nextCheck, history: transition(task, "ready", now, cause) } };
    }
    const lost = `lease of ${task.lease.owner} expired (attempt ${task.attempt} lost)`;
    const error: TaskError = { message: lost, code: "lease_expired", retryable: true };
    if (!shouldRetry(task, error)) {
      return {
        kind: "expire_lease",
        failed: true,
        update: { status: "failed", lease: null, finishedAt: now, sweepAt: null, error, history: transition(task, "failed", now, lost) },
      };
    }
    const attempt = task.attempt + 1;
    return {
      kind: "expire_lease",
      failed: false,
      update: {
        status: "ready",
        attempt,
        lease: null,
        readyAt: now,
        sweepAt: nextCheck,
        intent: { attempt, since: intentOf(task) },
        history: transition(task, "ready", now, `${lost}; attempt ${attempt} of ${task.retry!.maxAttempts} runs it again`, attempt),
      },
    };
  }
  if (task.status === "waiting_external" && task.waiting !== null && task.waiting.tokenPublished === false && now < task.waiting.deadline) {
    return { kind: "republish_token", update: { sweepAt: Math.min(nextCheck, task.waiting.deadline) } };
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
