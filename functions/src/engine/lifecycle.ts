/**
 * The task state machine, as pure decisions: given the stored task (and plan) and an incoming
 * signal, what changes. Every transition is a compare-and-set on (status, attempt, lease owner),
 * so a duplicate, late or out-of-order message decides "skip" with a reason instead of acting twice.
 * The store applies a decision inside one Firestore transaction.
 */
import type { PlanStatus } from "../schema/plan";
import type { HistoryEntry, TaskDoc, TaskError, TaskStatus } from "../schema/task";
import { TERMINAL_TASK_STATUSES } from "../schema/task";

/** Bounded so a task retried forever cannot grow its document towards Firestore's 1 MiB limit. */
export const MAX_HISTORY_ENTRIES = 50;

export interface EngineTiming {
  /** Extra lease time beyond the task's own timeout, covering completion writes. */
  leaseMarginMs: number;
  /** A ready task not claimed within this long is re-dispatched by the sweeper (lost message). */
  redispatchAfterMs: number;
}

export type TaskUpdate = Partial<TaskDoc>;
export type Skip = { kind: "skip"; reason: string };

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_TASK_STATUSES.has(status);
}

export function withHistory(task: Pick<TaskDoc, "history">, entry: HistoryEntry): HistoryEntry[] {
  const history = [...task.history, entry];
  return history.length > MAX_HISTORY_ENTRIES ? history.slice(history.length - MAX_HISTORY_ENTRIES) : history;
}

export interface ClaimInput {
  task: TaskDoc;
  planStatus: PlanStatus;
  attempt: number;
  owner: string;
  now: number;
  timing: EngineTiming;
}

/** ready → running: take the lease for this attempt, or say why not. */
export function decideClaim(input: ClaimInput): { kind: "claim"; update: TaskUpdate } | Skip {
  const { task, planStatus, attempt, owner, now, timing } = input;
  if (planStatus !== "running") return { kind: "skip", reason: `plan is ${planStatus}` };
  if (attempt !== task.attempt) return { kind: "skip", reason: `stale attempt ${attempt} (task is on attempt ${task.attempt})` };
  if (task.status !== "ready") return { kind: "skip", reason: `task is ${task.status}, not ready` };
  const expiresAt = now + task.timeoutSeconds * 1000 + timing.leaseMarginMs;
  return {
    kind: "claim",
    update: {
      status: "running",
      lease: { owner, expiresAt },
      startedAt: now,
      sweepAt: expiresAt,
      history: withHistory(task, { at: now, from: "ready", to: "running", attempt, cause: `claimed by ${owner}` }),
    },
  };
}

export type ExecutionOutcome = { ok: true; output?: unknown } | { ok: false; error: TaskError };

export interface CompletionInput {
  task: TaskDoc;
  attempt: number;
  owner: string;
  outcome: ExecutionOutcome;
  now: number;
}

/**
 * running → succeeded | failed, only by the lease holder of this attempt. `sweepAt` stays set as
 * the settle deadline: until the dependents are released (or the plan stopped) and the task marked
 * settled, a crash leaves the task due for the sweeper, which settles it again (idempotently).
 */
export function decideCompletion(input: CompletionInput & { timing: EngineTiming }): { kind: "complete"; status: TaskStatus; update: TaskUpdate } | Skip {
  const { task, attempt, owner, outcome, now, timing } = input;
  if (attempt !== task.attempt) return { kind: "skip", reason: `stale attempt ${attempt} (task is on attempt ${task.attempt})` };
  if (task.status !== "running") return { kind: "skip", reason: `task is ${task.status}, not running` };
  if (task.lease?.owner !== owner) return { kind: "skip", reason: `lease is held by ${task.lease?.owner ?? "nobody"}` };
  const status: TaskStatus = outcome.ok ? "succeeded" : "failed";
  return {
    kind: "complete",
    status,
    update: {
      status,
      lease: null,
      finishedAt: now,
      sweepAt: now + timing.redispatchAfterMs,
      output: outcome.ok ? (outcome.output ?? null) : null,
      error: outcome.ok ? null : outcome.error,
      history: withHistory(task, {
        at: now,
        from: "running",
        to: status,
        attempt,
        cause: outcome.ok ? "executor succeeded" : `executor failed: ${outcome.error.message}`,
      }),
    },
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
export function decideRelease(input: ReleaseInput): { kind: "release"; becameReady: boolean; update: TaskUpdate } | Skip {
  const { dependent, need, needStatus, now, timing } = input;
  if (dependent.needsDone[need] !== undefined) return { kind: "skip", reason: `${need} already recorded` };
  const needsDone = { ...dependent.needsDone, [need]: needStatus };
  const allDone = dependent.needs.every((n) => needsDone[n] !== undefined);
  const allSucceeded = dependent.needs.every((n) => needsDone[n] === "succeeded");
  const becameReady = dependent.status === "blocked" && allDone && allSucceeded;
  const update: TaskUpdate = { needsDone };
  if (becameReady) {
    update.status = "ready";
    update.readyAt = now;
    update.sweepAt = now + timing.redispatchAfterMs;
    update.history = withHistory(dependent, {
      at: now,
      from: "blocked",
      to: "ready",
      attempt: dependent.attempt,
      cause: `all needs succeeded (last: ${need})`,
    });
  }
  return { kind: "release", becameReady, update };
}

/** blocked | ready → cancelled, when the plan stops before the task could run. */
export function decideCancel(task: TaskDoc, cause: string, now: number): { kind: "cancel"; update: TaskUpdate } | Skip {
  if (task.status !== "blocked" && task.status !== "ready") return { kind: "skip", reason: `task is ${task.status}` };
  return {
    kind: "cancel",
    update: {
      status: "cancelled",
      finishedAt: now,
      sweepAt: null,
      history: withHistory(task, { at: now, from: task.status, to: "cancelled", attempt: task.attempt, cause }),
    },
  };
}

export type SweepDecision =
  | { kind: "redispatch"; update: TaskUpdate }
  | { kind: "settle"; update: TaskUpdate }
  | { kind: "expire_lease"; update: TaskUpdate }
  | Skip;

/**
 * What the sweeper does with a task that came due: re-publish a ready task whose message was lost,
 * settle a finished task whose worker died before releasing its dependents, or take back the lease of a running task whose worker died (the attempt is counted as failed and
 * the task goes back to ready as the next attempt, so the dead worker's late completion is stale).
 */
export function decideSweep(task: TaskDoc, now: number, timing: EngineTiming): SweepDecision {
  if (task.sweepAt === null || task.sweepAt > now) return { kind: "skip", reason: "not due" };
  if (task.status === "ready") {
    return { kind: "redispatch", update: { sweepAt: now + timing.redispatchAfterMs } };
  }
  if (task.status === "succeeded" || task.status === "failed") {
    return { kind: "settle", update: { sweepAt: now + timing.redispatchAfterMs } };
  }
  if (task.status === "running" && task.lease !== null && task.lease.expiresAt <= now) {
    const attempt = task.attempt + 1;
    return {
      kind: "expire_lease",
      update: {
        status: "ready",
        attempt,
        lease: null,
        readyAt: now,
        sweepAt: now + timing.redispatchAfterMs,
        history: withHistory(task, {
          at: now,
          from: "running",
          to: "ready",
          attempt,
          cause: `lease of ${task.lease.owner} expired (attempt ${task.attempt} lost)`,
        }),
      },
    };
  }
  return { kind: "skip", reason: `task is ${task.status}` };
}

/** The first task of a plan's graph, as written when the plan starts. */
export function initialTask(input: {
  planId: string;
  spec: { id: string; name?: string | undefined; run: string; params: Record<string, unknown>; needs: string[]; timeoutSeconds: number };
  dependents: string[];
  level: number;
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
