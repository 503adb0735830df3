/**
 * The plan's state machine, as pure decisions (the task's is engine/task.ts): given the
 * plan's stored state and something that happened, the next status, what to record and what the
 * runtime must do about it (effects). Every transition is a compare-and-set on the plan document;
 * its history record's id carries the plan's transition count (`seq`), so it is unique however
 * often a plan fails, is retried and fails again.
 *
 *   pending ─start─> planning ─compiled─> running ──all finished──> succeeded | failed
 *      │                │  │                 │ └──task failed (stop)──> failed
 *      │                │  └─invalid / rejected / planned (dry run)     └──task failed (rollback)──> rolling_back
 *      │                └─locks busy─> waiting ─locks free─> planning | redriving | rolling_back
 *      │                └─a freeze window─> waiting ─window over, or overridden─> planning | redriving
 *   failed | cancelled | rolled_back | rollback_failed ─retry─> redriving ─tasks reset─> running
 *   failed | cancelled | succeeded | stale | rollback_failed ─rollback─> rolling_back ─compensations done─> rolled_back | rollback_failed
 *   pending | planning | waiting | running | paused | redriving ─cancel─> cancelled
 *   running ─pause─> paused ─resume─> running   (paused: nothing new is dispatched; begun attempts finish)
 *   running ─a provision found its state moved since the plan's refresh─> stale   (whatever the policy)
 *
 * Locks: a plan holds its environments' locks exactly while it is active (planning after the locks
 * were granted, running, redriving, rolling_back). Entering running, redriving or rolling_back from
 * anything but another active status asks for them first; when another plan holds one, the plan
 * waits (`waiting`, with what it will do once it has them) instead.
 *
 * Multi-step transitions pass through a state the sweeper can finish: `planning` (start lease),
 * `redriving` (task resets, chunked), `rolling_back` (compensation levels). Every transition whose
 * effects must happen writes `effectsPending: true`; the runtime clears it once they did, and the
 * sweeper applies `effectsOf(status)` again for a plan whose effects were left pending.
 */
import type { FailurePolicy, PlanStatus } from "../schema/plan";

/** What a waiting plan does once it has its locks. */
export type PlanIntent = "start" | "redrive" | "rollback";

/**
 * A targeted redrive: besides what did not succeed (as every redrive), `retry` runs `taskId` and
 * everything downstream of it again even where they succeeded; `succeeded` / `skipped` marks the
 * failed `taskId` so instead (with who and why), and what follows it runs.
 */
export interface RedriveScope {
  taskId: string;
  as: "retry" | "succeeded" | "skipped";
  /** Who asked (as recorded), and why. */
  by: string;
  reason: string | null;
}

/** The orchestrator-owned state of a plan the machine decides on. */
export interface PlanMachineState {
  status: PlanStatus;
  /** Transitions so far: the next history record is `plan.{seq + 1}.{status}`. */
  seq: number;
  /** Runs so far: 1 for the first, +1 for each retry (redrive). */
  generation: number;
  /** While `waiting`: what the plan will do when its locks are free. */
  resume: PlanIntent | null;
  /** Whether its tasks were ever written (it began running once): a retry of one that never did starts it. */
  started: boolean;
  /** While `waiting`: whether it waits for a freeze window to end (not for a lock). */
  frozen: boolean;
  /** The plan's `deadlineSeconds` and when the current run's passes (null once the run ended); absent: no deadline. */
  runDeadline?: RunDeadline | null;
}

/** A run's deadline: `at` is null while no run is under way (it ended), so a retry knows the length to give the next. */
export interface RunDeadline {
  seconds: number;
  at: number | null;
}

/** The deadline of a run that begins `now`. */
function deadlineFrom(seconds: number | null | undefined, now: number): RunDeadline | null {
  return seconds === null || seconds === undefined ? null : { seconds, at: now + seconds * 1000 };
}

export const FINAL_PLAN_STATUSES: ReadonlySet<PlanStatus> = new Set(["succeeded", "failed", "rolled_back", "rollback_failed", "stale", "cancelled", "invalid", "rejected", "planned"]);
/** Statuses in which a plan holds its environments' locks (`planning` holds them once granted). */
export const ACTIVE_PLAN_STATUSES: ReadonlySet<PlanStatus> = new Set(["planning", "running", "paused", "redriving", "rolling_back"]);
/** Statuses in which a plan waits for something outside itself, explicitly: never stuck. */
export const WAITING_PLAN_STATUSES: ReadonlySet<PlanStatus> = new Set(["pending", "waiting"]);
/** Statuses in which a plan's ready tasks stay ready (they run now or once it is running); in any other a late one is cancelled. */
export const PLAN_MAY_RUN_TASKS: ReadonlySet<PlanStatus> = new Set(["pending", "planning", "waiting", "running", "paused", "redriving"]);
/**
 * Statuses in which an attempt already claimed goes on: a redrive does not reset a running task, so
 * one claimed before it runs on as part of the new run. In any other status the plan has stopped
 * (or waits without its locks), and a claimed attempt that has not begun ends cancelled; a redrive
 * that comes later resets it (cancelled is redriven), so only these two must never see it cancelled.
 */
export const PLAN_RUNS_ATTEMPTS: ReadonlySet<PlanStatus> = new Set(["running", "redriving"]);
/**
 * Statuses in which a plan has yet to run its tasks (a start under way, or waiting for its locks):
 * the sweeper dispatches none of them, since a start taken over writes its tasks again, which would
 * overwrite a claim taken meanwhile; the transition to running publishes what is ready. A claim
 * that finds its plan here anyway (a late message) gives its lease back (engine/task.ts decideGiveBack).
 */
export const PLAN_NOT_YET_RUNNING: ReadonlySet<PlanStatus> = new Set(["pending", "planning", "waiting"]);
/**
 * Statuses in which a claimed attempt that has not begun gives its lease back, unrun (the task
 * ready again on the same attempt): a plan that has yet to run, and a paused one, which dispatches
 * nothing new until it is resumed.
 */
export const PLAN_GIVES_CLAIMS_BACK: ReadonlySet<PlanStatus> = new Set([...PLAN_NOT_YET_RUNNING, "paused"]);
/** Statuses in which an attempt that has begun (a gate that began waiting, too) goes on to its end: a pause lets it finish. */
export const PLAN_LETS_ATTEMPTS_FINISH: ReadonlySet<PlanStatus> = new Set([...PLAN_RUNS_ATTEMPTS, "paused"]);
/** Statuses a `retry` redrives from, and a `rollback` command rolls back from. */
export const RETRYABLE_FROM: readonly PlanStatus[] = ["failed", "cancelled", "rolled_back", "rollback_failed", "stale"];
/** A rollback again from rollback_failed runs the compensations that failed once more (store/plans.ts advanceRollback). */
export const ROLLBACK_FROM: readonly PlanStatus[] = ["failed", "cancelled", "succeeded", "running", "paused", "stale", "rollback_failed"];
export const CANCELLABLE_FROM: readonly PlanStatus[] = ["pending", "planning", "waiting", "running", "paused", "redriving"];
/**
 * The plan commands an operator may send a plan in `status` (the page and the command line offer
 * only these). A dry run changes nothing: there is nothing to retry, cancel or roll back. `frozen`:
 * it waits for a freeze window, which an operator may override.
 */
export function applicablePlanCommands(status: PlanStatus, dryRun: boolean, frozen = false): Array<"retry" | "cancel" | "rollback" | "override" | "pause" | "resume"> {
  if (dryRun) return [];
  return [
    ...(status === "waiting" && frozen ? (["override"] as const) : []),
    ...(status === "running" ? (["pause"] as const) : []),
    ...(status === "paused" ? (["resume"] as const) : []),
    ...(RETRYABLE_FROM.includes(status) ? (["retry"] as const) : []),
    ...(CANCELLABLE_FROM.includes(status) ? (["cancel"] as const) : []),
    ...(ROLLBACK_FROM.includes(status) ? (["rollback"] as const) : []),
  ];
}
/** Statuses of a plan not compiled yet (or that never will be): it has no compile report to show. */
export const UNCOMPILED_PLAN_STATUSES: ReadonlySet<PlanStatus> = new Set(["pending", "planning", "invalid"]);

/** A command decided with locks it thought the plan held, on a plan that no longer holds them: ask again. */
export const LOCKS_NO_LONGER_HELD = "the plan no longer holds its locks: take them again";

/** A freeze window that keeps a plan from changing an environment now (store/windows.ts). */
export interface FreezeHit {
  /** `windows/{id}` */
  window: string;
  name: string;
  /** The environment it freezes, as the plan names it (or its project id). */
  environment: string;
  /** When this occurrence of the window ends (epoch ms). */
  until: number;
}

/** Whether a plan may take its environments now: granted, another plan holds one, or a freeze window covers one. */
export type LockAnswer = { granted: true } | { granted: false; lock: string; holder: string } | { granted: false; freeze: FreezeHit };

export type PlanInput =
  /** The start lease was taken (onPlanCreated, the sweeper, or a wake-up). */
  | { kind: "start" }
  | { kind: "invalid"; errors: number }
  /** Compiled, and not to run. */
  | { kind: "compiled"; outcome: "rejected" | "planned"; reasons: string[] }
  /** Compiled to run, the locks asked for, and (when granted) every task written. `deadlineSeconds`: the plan's. */
  | { kind: "begin"; locks: LockAnswer; taskCount: number; deadlineSeconds?: number | null }
  /** A retry or rollback command (or a waiting plan's resumption), with the answer to its lock request. */
  | { kind: "command"; command: "retry" | "rollback"; locks: LockAnswer | "held"; by: string; scope?: RedriveScope }
  | { kind: "cancel"; by: string }
  /** Every task of a redrive was reset. */
  | { kind: "redriven"; ready: number }
  /** `stale`: a provision refused to run because its state moved since the plan's refresh. */
  | { kind: "task_failed"; taskId: string; policy: FailurePolicy; message: string; stale?: boolean }
  /** No task is open: with a failure, the plan's failure policy decides (rollback compensates). */
  | { kind: "all_finished"; failedTask: string | null; policy: FailurePolicy }
  | { kind: "rollback_finished"; failedCompensation: { taskId: string; message: string } | null }
  /** The start failed too often (compile or write errors that do not go away): the plan ends instead of retrying forever. */
  | { kind: "start_failed"; attempts: number; message: string }
  /** An operator lets a plan waiting for a freeze window go ahead, with a reason (recorded). */
  | { kind: "override_freeze"; by: string; reason: string }
  /** Nothing new is dispatched until `resume`; begun attempts finish. */
  | { kind: "pause"; by: string }
  | { kind: "resume"; by: string }
  /** The run's deadline passed (the sweeper looks every minute): the failure policy applies. */
  | { kind: "deadline"; policy: FailurePolicy };

/** What the runtime does after a transition committed (each idempotent; the sweeper may repeat it). */
export type PlanEffect =
  | "start"
  | "publish_ready"
  | "reset_tasks"
  | "cancel_open_tasks"
  | "advance_rollback"
  | "release_locks";

export interface PlanTransition {
  kind: "transition";
  from: PlanStatus;
  to: PlanStatus;
  /** The plan's transition count once this one is applied. */
  seq: number;
  /** Id of the history record written in the same commit. */
  eventId: string;
  type: string;
  message: string;
  /** Fields set on the plan document besides `status`, `seq`, `updatedAt`. */
  update: Record<string, unknown>;
  effects: PlanEffect[];
}

export type PlanDecision = PlanTransition | { kind: "skip"; reason: string };

const skip = (reason: string): PlanDecision => ({ kind: "skip", reason });

/** The effects that leaving a plan in `status` owes: what the sweeper re-applies when they were left pending. */
export function effectsOf(status: PlanStatus): PlanEffect[] {
  switch (status) {
    // Set only by a retry of a plan that never started: start it from its document.
    case "pending":
      return ["start"];
    case "running":
      return ["publish_ready"];
    // Holds its locks and dispatches nothing; resume publishes what became ready meanwhile.
    case "paused":
      return [];
    case "redriving":
      return ["reset_tasks"];
    case "rolling_back":
      return ["cancel_open_tasks", "advance_rollback"];
    // A final status leaves nothing open, whatever an earlier transition's effects left undone.
    case "failed":
    case "cancelled":
    case "succeeded":
    case "rolled_back":
    case "rollback_failed":
    case "stale":
      return ["cancel_open_tasks", "release_locks"];
    // Decided before any lock is asked for: nothing to release.
    case "invalid":
    case "rejected":
    case "planned":
      return [];
    default:
      return [];
  }
}

function go(state: PlanMachineState, to: PlanStatus, type: string, message: string, update: Record<string, unknown> = {}): PlanTransition {
  // A run that ends (or rolls back: a rollback is never cut short) has no deadline to keep.
  const ended = (FINAL_PLAN_STATUSES.has(to) || to === "rolling_back") && typeof state.runDeadline?.at === "number" ? { runDeadline: { seconds: state.runDeadline.seconds, at: null } } : {};
  return { kind: "transition", from: state.status, to, seq: state.seq + 1, eventId: `plan.${state.seq + 1}.${to}`, type, message, update: { resume: null, ...ended, ...update }, effects: effectsOf(to) };
}

/** Statuses a run's deadline ends: everything under way but a rollback. */
export const DEADLINE_ENDS: readonly PlanStatus[] = ["pending", "planning", "waiting", "running", "paused", "redriving"];

/** Where a plan that wants its locks goes: the active status, or `waiting` with the intent kept. */
function withLocks(state: PlanMachineState, locks: LockAnswer | "held", intent: PlanIntent, active: () => PlanTransition, keep: Record<string, unknown> = {}): PlanTransition {
  if (locks === "held" || locks.granted) return active();
  const waiting = (t: PlanTransition): PlanTransition => ({ ...t, update: { ...t.update, ...keep } });
  const then = intent === "start" ? "starts" : intent === "redrive" ? "is retried" : "rolls back";
  if ("freeze" in locks) {
    const { freeze } = locks;
    return waiting(go(state, "waiting", "plan.frozen", `waiting: ${freeze.environment} is frozen by window "${freeze.name}" until ${new Date(freeze.until).toISOString()}; this plan ${then} when it ends, or when an operator overrides it with a reason`, {
      resume: intent,
      waitingFor: { freeze: freeze.window, name: freeze.name, environment: freeze.environment, until: freeze.until },
    }));
  }
  return waiting(go(state, "waiting", "plan.waiting", `waiting: environment ${locks.lock} is locked by plan ${locks.holder}; this plan ${then} when it finishes`, {
    resume: intent,
    waitingFor: { lock: locks.lock, plan: locks.holder },
  }));
}

export function decidePlan(state: PlanMachineState, input: PlanInput, now: number): PlanDecision {
  const { status } = state;
  switch (input.kind) {
    case "start":
      if (status === "pending" || (status === "waiting" && (state.resume ?? "start") === "start") || status === "planning") {
        return go(state, "planning", "plan.planning", "compiling and starting");
      }
      return skip(`plan is ${status}: nothing to start`);

    case "invalid":
      if (status !== "planning" && status !== "pending") return skip(`plan is ${status}`);
      return go(state, "invalid", "plan.invalid", `invalid: ${input.errors} problem${input.errors === 1 ? "" : "s"}`, { finishedAt: now });

    case "compiled":
      if (status !== "planning") return skip(`plan is ${status}, not planning`);
      return input.outcome === "planned"
        ? go(state, "planned", "plan.planned", "planned (dry run, nothing runs)", { finishedAt: now })
        : go(state, "rejected", "plan.rejected", `rejected before anything ran: ${input.reasons.join("; ")}`, { finishedAt: now });

    case "begin": {
      if (status !== "planning") return skip(`plan is ${status}, not planning`);
      // Counted from the first begin (a wait for locks or a freeze counts): a start that resumes keeps it.
      const runDeadline = typeof state.runDeadline?.at === "number" ? state.runDeadline : deadlineFrom(input.deadlineSeconds, now);
      return withLocks(state, input.locks, "start", () => go(state, "running", "plan.started", `started: ${input.taskCount} tasks`, { startedAt: now, waitingFor: null, generation: state.generation, runDeadline }), { runDeadline });
    }

    case "command": {
      // "held" was read before this decision: a plan that left its active status since holds no lock.
      if (input.locks === "held" && !ACTIVE_PLAN_STATUSES.has(status)) return skip(LOCKS_NO_LONGER_HELD);
      if (input.command === "retry") {
        const resuming = status === "waiting" && state.resume === "redrive";
        if (!resuming && !RETRYABLE_FROM.includes(status)) return skip(`plan is ${status}: only ${RETRYABLE_FROM.join(", ")} plans can be retried`);
        if (input.scope !== undefined && !state.started) return skip(`the plan never ran: there is no ${input.scope.taskId} to ${input.scope.as === "retry" ? "retry" : "mark"}; retry the plan whole`);
        // Cancelled before any task was written: there is nothing to redrive; it starts afresh.
        if (!state.started) return go(state, "pending", "plan.retry_start", `retry requested by ${input.by}: the plan never started, so it starts now`, { failedTask: null, failure: null, finishedAt: null, waitingFor: null, startLease: null, startAttempts: 0, runDeadline: null });
        const scope = input.scope;
        const what =
          scope === undefined
            ? "resetting every task that did not succeed"
            : scope.as === "retry"
              ? `running ${scope.taskId} and everything downstream of it again, and every task that did not succeed`
              : `${scope.taskId} marked ${scope.as}${scope.reason ? ` (${scope.reason})` : ""}; what follows it runs, with every other task that did not succeed`;
        // A resumed redrive keeps the scope its command stored; a new one sets (or clears) it. Each
        // retry is a run with a deadline of its own (a resumed one keeps the one it began with).
        const runDeadline = resuming ? (state.runDeadline ?? null) : deadlineFrom(state.runDeadline?.seconds, now);
        const scoped = { ...(resuming && scope === undefined ? {} : { redriveScope: scope ?? null }), runDeadline };
        return withLocks(
          state,
          input.locks,
          "redrive",
          () =>
            go(state, "redriving", "plan.redriving", `retry ${resuming ? "resumed" : `requested by ${input.by}`}: ${what}`, {
              // Counted on entering the redrive (a redrive that waited for its locks did not count yet).
              generation: state.generation + 1,
              failedTask: null,
              failure: null,
              finishedAt: null,
              waitingFor: null,
              ...scoped,
            }),
          scoped,
        );
      }
      const resuming = status === "waiting" && state.resume === "rollback";
      if (!resuming && !ROLLBACK_FROM.includes(status)) return skip(`plan is ${status}: cannot roll back`);
      return withLocks(state, status === "running" || status === "paused" ? "held" : input.locks, "rollback", () =>
        go(state, "rolling_back", "plan.rolling_back", `rollback ${resuming ? "resumed" : `requested by ${input.by}`}`, { finishedAt: null, waitingFor: null }),
      );
    }

    case "cancel":
      if (!CANCELLABLE_FROM.includes(status)) return skip(`plan is ${status}: nothing to cancel`);
      return go(state, "cancelled", "plan.cancelled", `cancelled by ${input.by}`, { finishedAt: now, waitingFor: null, startLease: null });

    case "start_failed":
      if (status !== "planning" && status !== "pending") return skip(`plan is ${status}`);
      return go(state, "failed", "plan.start_failed", `could not start after ${input.attempts} attempts: ${input.message}`, { finishedAt: now, startLease: null });

    case "pause":
      if (status !== "running") return skip(`plan is ${status}: only a running plan can be paused`);
      return go(state, "paused", "plan.paused", `paused by ${input.by}: nothing new is dispatched; attempts already running finish`);

    case "resume":
      if (status !== "paused") return skip(`plan is ${status}, not paused: there is nothing to resume`);
      return go(state, "running", "plan.resumed", `resumed by ${input.by}`);

    case "deadline": {
      const deadline = state.runDeadline;
      if (deadline === null || deadline === undefined || deadline.at === null || deadline.at > now) return skip("the run's deadline has not passed");
      if (!DEADLINE_ENDS.includes(status)) return skip(`plan is ${status}: a deadline ends only a run under way`);
      const message = `deadline passed: a run of this plan may last ${deadline.seconds} s (deadlineSeconds), and this one's ended at ${new Date(deadline.at).toISOString()}`;
      // Tasks ran only in these: under rollback they are undone; anything else stops (what is open is cancelled).
      if (input.policy === "rollback" && (status === "running" || status === "paused")) return go(state, "rolling_back", "plan.deadline_exceeded", `${message}; rolling back`, { failedTask: null, failure: "deadline_exceeded" });
      return go(state, "failed", "plan.deadline_exceeded", message, { finishedAt: now, waitingFor: null, startLease: null, failure: "deadline_exceeded" });
    }

    case "override_freeze":
      if (status !== "waiting" || !state.frozen) return skip(`plan is ${status}${status === "waiting" ? " for a lock" : ""}, not waiting for a freeze window: there is nothing to override`);
      // Still waiting: the runtime resumes it at once (or the sweeper does), and that entry skips freezes.
      return go(state, "waiting", "plan.freeze_overridden", `freeze window overridden by ${input.by}: ${input.reason}`, {
        resume: state.resume,
        freezeOverride: { by: input.by, reason: input.reason, at: now, intent: state.resume ?? "start", generation: state.generation },
      });

    case "redriven":
      if (status !== "redriving") return skip(`plan is ${status}, not redriving`);
      return go(state, "running", "plan.redriven", `redriven: run ${state.generation}, ${input.ready} tasks ready`, { startedAt: now });

    case "task_failed":
      // A paused plan's begun attempts finish, and a failure among them applies the failure policy.
      if (status !== "running" && status !== "paused") return skip(`plan is ${status}`);
      // Like Terraform refusing a saved plan whose state moved: nothing more runs, whatever the policy.
      if (input.stale === true) return go(state, "stale", "plan.stale", input.message, { failedTask: input.taskId, finishedAt: now });
      if (input.policy === "continue") return skip("failure policy continue: the plan goes on");
      if (input.policy === "rollback") return go(state, "rolling_back", "plan.rolling_back", `${input.message}; rolling back`, { failedTask: input.taskId });
      return go(state, "failed", "plan.failed", input.message, { failedTask: input.taskId, finishedAt: now });

    case "all_finished":
      // A paused plan whose last attempts finished has nothing left to resume: it ends.
      if (status !== "running" && status !== "paused") return skip(`plan is ${status}`);
      if (input.failedTask === null) return go(state, "succeeded", "plan.succeeded", "every task finished", { failedTask: null, finishedAt: now });
      // Under rollback a failure compensates, even when the failed task's own settle comes last.
      if (input.policy === "rollback") return go(state, "rolling_back", "plan.rolling_back", `task ${input.failedTask} failed; rolling back`, { failedTask: input.failedTask });
      return go(state, "failed", "plan.failed", `finished with failures (first: ${input.failedTask})`, { failedTask: input.failedTask, finishedAt: now });

    case "rollback_finished":
      if (status !== "rolling_back") return skip(`plan is ${status}, not rolling back`);
      return input.failedCompensation === null
        ? go(state, "rolled_back", "plan.rolled_back", "rolled back: every compensation succeeded", { finishedAt: now })
        : // The plan's cause (failedTask) stays what made it roll back; the rollback's own failure is beside it.
          go(state, "rollback_failed", "plan.rollback_failed", `rollback did not finish: compensation of ${input.failedCompensation.taskId} failed (${input.failedCompensation.message})`, {
            finishedAt: now,
            rollbackError: input.failedCompensation,
          });
  }
}

/** Whether a plan in `status` must hold its locks (used by lock maintenance: a lock whose owner is not active is freed). */
/**
 * A guard for a compare-and-set on the plan: it applies only while the plan is still at transition
 * `seq` (what the caller read, or the transition whose effects it owes); otherwise `refusal`.
 */
export function atTransition(seq: number, refusal?: string): (plan: { seq: number }) => string | undefined {
  return (plan) => (plan.seq === seq ? undefined : (refusal ?? `the plan moved on since transition ${seq} (now ${plan.seq})`));
}

export function holdsLocks(status: PlanStatus): boolean {
  return ACTIVE_PLAN_STATUSES.has(status);
}
