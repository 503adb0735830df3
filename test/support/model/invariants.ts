/**
 * What must hold of the simulated world (world.ts), checked as it goes and once it is quiet, and a
 * small reference model of how a plan must end. The rules here are written out again on purpose
 * (edge tables, trigger rules, retry accounting), not taken from the engine: a check that reused
 * the engine's own constants would agree with any bug in them.
 *
 * After every step (ids as reported):
 *   history-path, unique-event-ids   each applied transition starts where the last ended, seq + 1,
 *                                    along an edge of the documented machine, generation + 1 per
 *                                    redrive; history record ids never repeat
 *   task-path                        task transitions follow the documented task machine
 *   succeeds-once-per-run            no task succeeds twice within one generation
 *   executes-once                    no attempt's executor runs twice while its worker holds a live
 *                                    lease: not by another live lease holder, not after its outcome
 *                                    was recorded (a worker past its own lease is not held to it)
 *   completion-by-lease-holder       only the lease holder's completion of the current attempt applies
 *   retry-policy                     a task fails only with its attempts spent or a permanent error,
 *                                    and retries only otherwise (completions and lease expiries)
 *   trigger-rule                     a task becomes ready / skipped only as its rule over its
 *                                    recorded needs says
 *   commands                         cancel, retry and rollback are taken exactly from the statuses
 *                                    the machine documents, into the status it documents
 *   locks-while-active,              a plan using its environments (running, redriving, rolling_back)
 *   one-plan-per-environment         holds their locks; no two such plans share one; a plan not
 *                                    active holds none once its release is applied, unless a crash
 *                                    left it (then the sweeper's lock maintenance frees it)
 *   stale-lock-answer                a retry or rollback enters its active status holding its locks
 *   start-writes-unfenced            a start takes locks and writes tasks only under its lease
 *   restart-reuses-lost-start-tasks  a run begins on fresh tasks (none cancelled by an earlier life)
 *   stop-check-cancels-redriven-task no task is cancelled while its plan runs or is redriven, and a
 *   redriven-before-reset            redriven run begins with no task cancelled
 *   stale-rollback-step              rollback_finished commits only with nothing running or compensating
 * Once quiet: nothing-left-planning, every-plan-ends (final within MAX_DRAIN_SWEEPS sweeps of the
 * drain), effects-applied, final-plans-leave-nothing-open, locks-while-active (no lock left); then
 * reference-model. Defects found in the engine have ids of their own (KNOWN_DEFECTS).
 */
import { ACTIVE_PLAN_STATUSES, FINAL_PLAN_STATUSES, LOCKS_NO_LONGER_HELD } from "../../../functions/src/engine/plan";
import type { ExecutionOutcome, Phase } from "../../../functions/src/engine/task";
import type { PlanDecision, PlanInput, PlanMachineState, PlanTransition } from "../../../functions/src/engine/plan";
import type { PlanStatus, TriggerRule } from "../../../functions/src/schema/plan";
import type { TaskDoc, TaskStatus } from "../../../functions/src/schema/task";
import type { CommandKind } from "./generator";
import { LOCK_LEASE_MS, type PlanRecord, type World, type WorldObserver } from "./world";

export class Violation extends Error {
  constructor(
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
  }
}

/**
 * Defects the model found in the engine, by invariant id, still open: counted (and reported)
 * instead of failing the run, each pinned by an `it.failing` test in test/unit/model/findings.test.ts.
 * When one is fixed, its findings test starts passing (and fails as `it.failing`): remove it here
 * too. The ids of defects fixed since (trigger-rule-on-redrive, redrive-with-nothing-to-run,
 * rollback-policy-bypassed, stale-finish-check, rolled-back-leaves-tasks-open, effects-unfenced,
 * stale-lock-answer, restart-reuses-lost-start-tasks, start-writes-unfenced,
 * stop-check-cancels-redriven-task, and redriven-before-reset and stale-rollback-step, found with
 * them) fail the run again.
 */
export const KNOWN_DEFECTS: ReadonlySet<string> = new Set<string>([]);

/** The plan machine's edges as documented in engine/plan.ts (written out again, independently). */
export const PLAN_EDGES: Readonly<Record<PlanStatus, readonly PlanStatus[]>> = {
  pending: ["planning", "invalid", "cancelled", "failed"],
  planning: ["planning", "invalid", "planned", "rejected", "running", "waiting", "cancelled", "failed"],
  waiting: ["planning", "redriving", "rolling_back", "waiting", "cancelled"],
  running: ["succeeded", "failed", "rolling_back", "cancelled", "stale", "paused"],
  // Begun attempts finish while paused: their end can still end the plan.
  paused: ["running", "succeeded", "failed", "rolling_back", "cancelled", "stale"],
  redriving: ["running", "cancelled"],
  // ... and a retry of a plan that never started (no task written) starts it afresh: back to pending.
  failed: ["redriving", "rolling_back", "waiting", "pending"],
  cancelled: ["redriving", "rolling_back", "waiting", "pending"],
  rolled_back: ["redriving", "waiting", "pending"],
  rollback_failed: ["redriving", "rolling_back", "waiting", "pending"],
  stale: ["redriving", "rolling_back", "waiting", "pending"],
  succeeded: ["rolling_back", "waiting"],
  rolling_back: ["rolled_back", "rollback_failed"],
  invalid: [],
  rejected: [],
  planned: [],
};

/** The task machine's edges as documented in engine/task.ts (a status kept is always allowed). */
const TASK_EDGES: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  blocked: ["ready", "skipped", "cancelled"],
  ready: ["running", "cancelled"],
  running: ["succeeded", "failed", "ready", "waiting_approval", "waiting_external", "cancelled"],
  waiting_approval: ["succeeded", "failed", "cancelled"],
  waiting_external: ["succeeded", "failed", "cancelled"],
  succeeded: ["compensating"],
  compensating: ["compensated", "failed"],
  // ... and a run that failed, when its executor undoes what it applied (compensatesFailure).
  // ... and, when a rollback runs again after one whose compensation failed, back to what its run ended as.
  failed: ["ready", "blocked", "skipped", "compensating", "succeeded", "failed"],
  cancelled: ["ready", "blocked", "skipped"],
  skipped: ["ready", "blocked"],
  compensated: ["ready", "blocked", "skipped"],
};

/** Statuses in which a plan uses its environments: it must hold their locks (planning only once granted, so not checked). */
export const USING_ENVIRONMENTS: ReadonlySet<PlanStatus> = new Set(["running", "paused", "redriving", "rolling_back"]);
const CANCELLABLE_TASK: ReadonlySet<TaskStatus> = new Set(["blocked", "ready", "waiting_approval", "waiting_external"]);
const TERMINAL_TASK: ReadonlySet<TaskStatus> = new Set(["succeeded", "failed", "skipped", "cancelled", "compensated"]);
export const OPEN_TASK: ReadonlySet<TaskStatus> = new Set(["blocked", "ready", "running", "waiting_approval", "waiting_external", "compensating"]);

/** Trigger rules over the needs recorded so far, written out again: may the task run / be skipped now? */
export function ruleAllows(rule: TriggerRule, recorded: readonly TaskStatus[], total: number): { run: boolean; skip: boolean } {
  const all = recorded.length >= total;
  const failed = recorded.some((s) => s === "failed");
  const allSucceeded = recorded.every((s) => s === "succeeded");
  switch (rule) {
    case "all_success":
      return { run: all && allSucceeded, skip: !allSucceeded };
    case "all_done":
      return { run: all, skip: false };
    case "one_failed":
      return { run: failed, skip: all && !failed };
    case "none_failed":
      return { run: all && !failed, skip: failed };
  }
}

/** Whether a command must be taken (it changes the plan) from `from`, as the machine documents it. */
export function commandApplies(command: CommandKind, from: PlanStatus, resume: string | null): boolean {
  switch (command) {
    case "cancel":
      return ["pending", "planning", "waiting", "running", "paused", "redriving"].includes(from);
    case "pause":
      return from === "running";
    case "resume":
      return from === "paused";
    case "retry":
      return ["failed", "cancelled", "rolled_back", "rollback_failed", "stale"].includes(from) || (from === "waiting" && resume === "redrive");
    case "rollback":
      return ["failed", "cancelled", "succeeded", "running", "paused", "stale", "rollback_failed"].includes(from) || (from === "waiting" && resume === "rollback");
  }
}

/** Where a command that applies goes: a retry of a plan that never started starts it afresh (pending). */
function commandTargets(command: CommandKind, started: boolean): readonly PlanStatus[] {
  if (command === "cancel") return ["cancelled"];
  if (command === "pause") return ["paused"];
  if (command === "resume") return ["running"];
  if (command === "rollback") return ["rolling_back", "waiting"];
  return started ? ["redriving", "waiting"] : ["pending"];
}

export class Checker implements WorldObserver {
  private readonly eventIds = new Map<string, Set<string>>();
  private readonly successes = new Map<string, number>();
  private readonly claims = new Map<string, Map<string, number>>();
  private readonly executions = new Map<string, Set<string>>();
  private readonly completedKeys = new Set<string>();
  /** Known defects met, by invariant id. */
  readonly known = new Map<string, number>();
  private readonly seenKnown = new Set<string>();
  executionsSeen = 0;

  constructor(private readonly extra?: (world: World) => string | undefined) {}

  fail(invariant: string, detail: string): void {
    if (KNOWN_DEFECTS.has(invariant)) {
      // Counted once per occurrence (a lock held too long is seen again at every step).
      if (this.seenKnown.has(`${invariant}: ${detail}`)) return;
      this.seenKnown.add(`${invariant}: ${detail}`);
      this.known.set(invariant, (this.known.get(invariant) ?? 0) + 1);
      return;
    }
    throw new Violation(invariant, detail);
  }

  // ── as it goes ──────────────────────────────────────────────────────────────────────────────

  planTransition(world: World, plan: PlanRecord, before: PlanMachineState, t: PlanTransition, input: PlanInput): void {
    const where = `plan ${plan.id} ${t.eventId} (${t.from} → ${t.to})`;
    if (before.status === "planning" && t.to === "waiting") {
      // Start leases are owned by `start:{eventId}`: a redelivery's invocation that took the locks
      // shares the name with one still holding a "busy" answer, whose transition then passes the
      // lease guard. The plan waits holding its own locks until the next sweep resumes it. Counted.
      for (const [env, lock] of world.locks) {
        if (lock.owner !== plan.id) continue;
        this.sharedStartOwner += 1;
        this.crashLeftovers.add(`${env}/${lock.owner}/${lock.acquiredAt}`);
      }
    }
    if (input.kind === "begin" && t.to === "running") {
      // A run begins on its tasks as written: one a previous lifecycle touched (cancelled) will never run.
      // A running one was claimed meanwhile (a message the sweeper dispatched while the start was under
      // way): its worker reads the plan after the claim and runs it, or gives it back; a dead one's lease expires.
      const touched = [...plan.tasks.values()].filter((task) => task.status !== "blocked" && task.status !== "ready" && task.status !== "running").map((task) => `${task.id}:${task.status}`);
      if (touched.length > 0) {
        this.fail("restart-reuses-lost-start-tasks", `${where}: the run begins on tasks a start that lost its lease wrote and were cancelled since (${touched.join(", ")}): they never run, nothing settles, the plan never ends`);
      }
    }
    if (input.kind === "command" && (t.to === "redriving" || t.to === "rolling_back") && plan.tasksWritten) {
      // The lock answer the command carries must still hold when its transition commits.
      const missing = plan.envs.filter((env) => world.locks.get(env)?.owner !== plan.id);
      if (missing.length > 0) {
        this.fail("stale-lock-answer", `${where}: ${input.command} entered ${t.to} with locks ${input.locks === "held" ? '"held"' : JSON.stringify(input.locks)} while ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not held: the answer went stale before the compare-and-set`);
      }
    }
    if (input.kind === "all_finished") {
      // The premise of `all_finished` must still hold when it commits: every task finished, and this one failed first.
      const tasks = [...plan.tasks.values()];
      const open = tasks.filter((task) => task.finishedAt === null).map((task) => `${task.id}:${task.status}#${task.attempt}`);
      const failed = tasks.filter((task) => task.status === "failed").map((task) => task.id).sort();
      const wrong = input.failedTask === null ? failed.length > 0 : !failed.includes(input.failedTask);
      if (open.length > 0 || wrong) {
        this.staleFinishes.add(plan.id);
        this.fail("stale-finish-check", `${where}: all_finished (failed task ${input.failedTask ?? "none"}) committed in run ${before.generation} while ${open.length > 0 ? `${open.join(", ")} had not finished` : `the failed tasks are ${failed.join(", ") || "none"}`}: the check was read before a redrive`);
      }
    }
    if (input.kind === "rollback_finished") {
      // Its premise must still hold when it commits: nothing of this rollback runs or compensates any more.
      // A run-phase claim taken while the plan did not run attempts never begins (its worker reads the
      // plan after the claim and ends it cancelled): it is not part of the rollback.
      const unbegun = (task: TaskDoc) => task.status === "running" && this.claimedWhileStopped.has(`${plan.id}/${task.id}/run/${task.attempt}`);
      const busy = [...plan.tasks.values()].filter((task) => (task.status === "running" || task.status === "compensating") && !unbegun(task)).map((task) => `${task.id}:${task.status}#${task.attempt}`);
      if (busy.length > 0) this.fail("stale-rollback-step", `${where}: rollback_finished committed while ${busy.join(", ")}: the step was read in an earlier rollback`);
    }
    if (plan.spec.failurePolicy === "rollback" && input.kind === "all_finished" && input.failedTask !== null && t.to === "failed") {
      this.rollbackBypassed.add(plan.id);
      this.fail("rollback-policy-bypassed", `${where}: plan ${plan.id} (policy rollback) ended failed by all_finished (failed task ${input.failedTask}, its own settle not yet done): nothing is compensated`);
    }
    if (t.from !== before.status) this.fail("history-path", `${where}: from ${t.from}, but the plan was ${before.status}`);
    if (t.seq !== before.seq + 1) this.fail("history-path", `${where}: seq ${t.seq} after ${before.seq}`);
    if (!PLAN_EDGES[before.status].includes(t.to)) this.fail("history-path", `${where}: ${before.status} → ${t.to} is not an edge of the plan machine`);
    const ids = this.eventIds.get(plan.id) ?? new Set<string>();
    this.eventIds.set(plan.id, ids);
    if (ids.has(t.eventId)) this.fail("unique-event-ids", `${where}: history record ${t.eventId} written twice`);
    ids.add(t.eventId);
    // A retry redrives the tasks it finds; a plan stopped before its start wrote them has none, and nothing would ever finish it.
    if (t.to === "redriving" && !plan.tasksWritten) this.unstartedRedrives.add(plan.id);
    // A redrive that leaves nothing to run: nothing settles, so only the quiet repair could finish the plan.
    if (input.kind === "redriven" && [...plan.tasks.values()].every((task) => TERMINAL_TASK.has(task.status))) this.emptyRedrives.add(plan.id);
    // A redrive runs again everything that did not succeed: the new run begins with no task cancelled.
    const cancelled = input.kind === "redriven" ? [...plan.tasks.values()].filter((task) => task.status === "cancelled").map((task) => task.id) : [];
    if (cancelled.length > 0) this.fail("redriven-before-reset", `${where}: run ${plan.state.generation} begins with ${cancelled.join(", ")} cancelled: the redrive's reset passed ${cancelled.length === 1 ? "it" : "them"} (or had not run) and nothing runs ${cancelled.length === 1 ? "it" : "them"} again`);
    // Runs so far: each redrive (entering `redriving`, whether or not it waited for its locks) starts the next.
    const expected = t.to === "redriving" ? before.generation + 1 : before.generation;
    if (plan.state.generation !== expected) this.fail("history-path", `${where}: generation ${plan.state.generation}, expected ${expected}`);
  }

  taskChange(world: World, plan: PlanRecord, before: TaskDoc | undefined, after: TaskDoc, via: string): void {
    const where = `${plan.id}/${after.id} (${via})`;
    if (before === undefined) return;
    if (before.status !== after.status && !TASK_EDGES[before.status].includes(after.status)) this.fail("task-path", `${where}: ${before.status} → ${after.status} is not an edge of the task machine`);
    // A rearm restores what the run had ended as (succeeded) for another rollback: not a new success.
    if (after.status === "succeeded" && before.status !== "succeeded" && via !== "rearm") {
      const key = `${plan.id}/${after.id}@${plan.state.generation}`;
      const n = (this.successes.get(key) ?? 0) + 1;
      this.successes.set(key, n);
      if (n > 1) this.fail("succeeds-once-per-run", `${where} succeeded ${n} times in run ${plan.state.generation}`);
    }
    if (after.status === "cancelled" && before.status !== "cancelled" && (plan.state.status === "running" || plan.state.status === "redriving")) {
      // Only a plan that stopped (or waits without its locks: its redrive resets what is cancelled) cancels a task. One running
      // or redriving does not: a task cancelled there (a worker's stop decided before a retry redrove the plan, after its reset passed the task) is never run again.
      this.fail("stop-check-cancels-redriven-task", `${where}: cancelled while the plan is ${plan.state.status} (run ${plan.state.generation}): the redrive will not reset it, its dependents never run`);
    }
    const max = before.retry?.maxAttempts ?? 1;
    if (via === "complete" && before.status === "running") {
      const error = after.error;
      if (after.status === "failed" && (error === null || (error.retryable && before.attempt < max))) {
        this.fail("retry-policy", `${where}: failed on attempt ${before.attempt} of ${max} with a retryable error`);
      }
      if (after.status === "ready" && (error === null || !error.retryable || before.attempt >= max || after.attempt !== before.attempt + 1)) {
        this.fail("retry-policy", `${where}: retried after attempt ${before.attempt} of ${max} (error ${JSON.stringify(error)}), now attempt ${after.attempt}`);
      }
    }
    if (via === "sweep:expire_lease" && before.run !== "approval" && before.run !== "external") {
      if (after.status === "failed" && before.attempt < max) this.fail("retry-policy", `${where}: lease expiry failed attempt ${before.attempt} of ${max}`);
      if (after.status === "ready" && (before.attempt >= max || after.attempt !== before.attempt + 1)) this.fail("retry-policy", `${where}: lease expiry retried attempt ${before.attempt} of ${max}`);
    }
    if (before.status === "blocked" && (after.status === "ready" || after.status === "skipped")) {
      const recorded = [...world.recordedNeeds(plan, after).values()];
      const allows = ruleAllows(after.triggerRule, recorded, after.needs.length);
      if (after.status === "ready" ? !allows.run : !allows.skip) {
        this.fail("trigger-rule", `${where}: became ${after.status} under ${after.triggerRule} with needs ${JSON.stringify(Object.fromEntries(world.recordedNeeds(plan, after)))} of ${after.needs.length}`);
      }
    }
    if (via === "reset" && plan.state.status !== "redriving") {
      // A redrive's resets belong to it: applied after the plan moved on (a cancel), they reopen tasks nothing will settle.
      this.staleEffects.add(plan.id);
      this.fail("effects-unfenced", `${where}: reset to ${after.status} while the plan is ${plan.state.status}: reset_tasks went on after its transition was superseded`);
    }
    if (via === "reset" && (after.status === "ready" || after.status === "skipped") && after.needs.length > 0) {
      // A reset decides on the needs as it read them, which it records in `needsDone` (a wide join's arrivals too:
      // a need that succeeded and whose settle never reached the join has no arrival, yet it stands).
      const allows = ruleAllows(after.triggerRule, Object.values(after.needsDone), after.needs.length);
      if (after.status === "ready" ? !allows.run : !allows.skip) {
        this.fail("trigger-rule-on-redrive", `${where}: redriven to ${after.status} under ${after.triggerRule} with needs ${JSON.stringify(after.needsDone)}: its rule says otherwise`);
      }
    }
  }

  /** Run-phase claims (plan/task/run/attempt) taken while their plan was neither running nor redriving. */
  private readonly claimedWhileStopped = new Set<string>();

  claimed(_world: World, plan: PlanRecord, task: TaskDoc, phase: Phase, attempt: number, owner: string, expiresAt: number): void {
    const key = `${plan.id}/${task.id}/${phase}/${attempt}`;
    if (phase === "run" && plan.state.status !== "running" && plan.state.status !== "redriving") this.claimedWhileStopped.add(key);
    const owners = this.claims.get(key) ?? new Map<string, number>();
    this.claims.set(key, owners);
    owners.set(owner, expiresAt);
  }

  executed(world: World, plan: PlanRecord, taskId: string, phase: Phase, attempt: number, owner: string, _outcome: ExecutionOutcome): void {
    this.executionsSeen += 1;
    const key = `${plan.id}/${taskId}/${phase}/${attempt}`;
    const owners = this.executions.get(key) ?? new Set<string>();
    this.executions.set(key, owners);
    if (owners.has(owner)) this.fail("executes-once", `${key} executed twice by ${owner}`);
    owners.add(owner);
    const mine = this.claims.get(key)?.get(owner);
    if (mine === undefined || mine <= world.now) return; // a worker past its lease: the engine cannot stop it (the idempotency key does)
    for (const [other, expiresAt] of this.claims.get(key)!) {
      if (other !== owner && expiresAt > world.now && !this.completedKeys.has(key)) this.fail("executes-once", `${key} executed by ${owner} while ${other} holds a live lease on it (until ${expiresAt})`);
    }
    if (this.completedKeys.has(key)) this.fail("executes-once", `${key} executed by ${owner} (live lease) after its outcome was recorded`);
  }

  completed(world: World, plan: PlanRecord, taskId: string, phase: Phase, attempt: number, worker: string, before: TaskDoc): void {
    const key = `${plan.id}/${taskId}/${phase}/${attempt}`;
    // Only the lease holder's completion of the task's current attempt applies (by owner name: all the engine can tell).
    const owner = worker.slice(0, worker.lastIndexOf("@"));
    if (before.lease?.owner !== owner) this.fail("completion-by-lease-holder", `${key}: completion by ${owner} applied while the lease is ${before.lease === null ? "free" : `held by ${before.lease.owner}`}`);
    if (before.attempt !== attempt) this.fail("completion-by-lease-holder", `${key}: completion of attempt ${attempt} applied to attempt ${before.attempt}`);
    const mine = this.claims.get(key)?.get(worker);
    // Lease owners are `run:{messageId}`: a redelivery of the same message that took over an expired
    // compensation lease has the first invocation's name, so that (zombie) invocation's completion is
    // accepted on the new lease. Counted, not a violation: both ran the same intent (one idempotency key).
    if (mine !== undefined && mine <= world.now) {
      this.zombieCompletions += 1;
      return;
    }
    this.completedKeys.add(key);
  }

  gaveBack(_world: World, plan: PlanRecord, taskId: string, phase: Phase, attempt: number, worker: string): void {
    this.claims.get(`${plan.id}/${taskId}/${phase}/${attempt}`)?.delete(worker);
  }

  /** Completions accepted from a worker past its own lease (nobody took over, or a redelivery under the same owner name did). */
  zombieCompletions = 0;
  /** Starts that went waiting holding their own locks, through a start-lease owner shared by two invocations. */
  sharedStartOwner = 0;

  /**
   * An effect applied after its transition was superseded. The runtime fences what could hurt the
   * new run (applyPlanEffects reads `seq` first, cancel_open_tasks is fenced per task, freeLock
   * keeps an active plan's locks), so this is only counted; what would hurt is caught by the
   * invariants on locks and tasks.
   */
  effect(_world: World, plan: PlanRecord, t: { to: PlanStatus; seq: number }): void {
    if (plan.state.seq !== t.seq) this.supersededEffects += 1;
  }

  /** Effects applied after their transition was superseded (counted). */
  supersededEffects = 0;

  /** Locks left behind with a plan that is not active (a crash; a shared start owner): the sweeper frees or uses them. */
  private readonly crashLeftovers = new Set<string>();

  crashed(world: World): void {
    for (const [env, lock] of world.locks) {
      const owner = world.plans.get(lock.owner);
      if (owner === undefined || !ACTIVE_PLAN_STATUSES.has(owner.state.status)) this.crashLeftovers.add(`${env}/${lock.owner}/${lock.acquiredAt}`);
    }
  }

  /** A start takes locks only under its lease (the plan `planning`): one that lost it takes none. */
  locksGranted(_world: World, plan: PlanRecord, envs: readonly string[], starter: string | undefined): void {
    if (starter === undefined || plan.state.status === "planning") return;
    this.fail("start-writes-unfenced", `plan ${plan.id} is ${plan.state.status}, and a start (${starter}) took ${envs.join(", ")} for it: it had lost its lease`);
  }

  /** A start writes tasks only under its lease (the plan `planning`): one that lost it writes none. */
  tasksCreated(_world: World, plan: PlanRecord, ids: readonly string[], starter: string): void {
    if (plan.state.status === "planning") return;
    this.fail("start-writes-unfenced", `plan ${plan.id} is ${plan.state.status}, and a start (${starter}) wrote ${ids.join(", ")}: it had lost its lease, and nothing would settle them`);
  }
  /** Plans whose tasks a superseded redrive reset (a known defect). */
  private readonly staleEffects = new Set<string>();
  /** Plans ended by an `all_finished` whose premise no longer held (a known defect). */
  readonly staleFinishes = new Set<string>();
  /** Plans under policy rollback that ended failed without rolling back (a known defect). */
  readonly rollbackBypassed = new Set<string>();
  /** Plans redriven before their tasks were written (a known defect); what follows from it is counted with it. */
  private readonly unstartedRedrives = new Set<string>();
  /** Plans redriven into `running` with every task already finished. */
  private readonly emptyRedrives = new Set<string>();

  /**
   * A plan stuck `running` after a redrive that left nothing to run (a known defect): no task will
   * settle, and the quiet repair cannot fire (no task ever finished, or `stallCheckedUpTo` already
   * covers the last finish).
   */
  stuckAfterEmptyRedrive(plan: PlanRecord): boolean {
    if (plan.state.status !== "running" || !this.emptyRedrives.has(plan.id)) return false;
    const tasks = [...plan.tasks.values()];
    if (!tasks.every((t) => TERMINAL_TASK.has(t.status))) return false;
    const finishes = tasks.map((t) => t.finishedAt).filter((f): f is number => f !== null);
    return finishes.length === 0 || (plan.stallCheckedUpTo !== null && plan.stallCheckedUpTo >= Math.max(...finishes));
  }

  /** A plan the quiet checks leave unfinished: one of a known defect. */
  toleratedPlan(world: World, plan: PlanRecord, depth = 0): boolean {
    if (KNOWN_DEFECTS.has("redrive-with-nothing-to-run") && this.stuckAfterEmptyRedrive(plan)) return true;
    // Waiting for a lock a plan stuck by a known defect holds: it waits as long as that plan is stuck.
    if (plan.state.status !== "waiting" || depth > world.plans.size) return false;
    return [...world.locks.values()].some((lock) => lock.waiters.includes(plan.id) && lock.owner !== plan.id && this.toleratedPlan(world, world.plan(lock.owner), depth + 1));
  }

  /** An open task the quiet checks leave alone: an orphan of a known defect. */
  tolerated(plan: PlanRecord, task: TaskDoc): boolean {
    if (KNOWN_DEFECTS.has("stale-finish-check") && this.staleFinishes.has(plan.id) && CANCELLABLE_TASK.has(task.status)) return true;
    if (KNOWN_DEFECTS.has("effects-unfenced") && this.staleEffects.has(plan.id) && CANCELLABLE_TASK.has(task.status)) return true;
    return KNOWN_DEFECTS.has("rolled-back-leaves-tasks-open") && plan.state.status === "rolled_back" && plan.cancelOwed && CANCELLABLE_TASK.has(task.status);
  }

  /** The known defect a lock violation of `planId` follows from, if any. */
  private lockCause(planId: string, otherwise: string): string {
    if (this.unstartedRedrives.has(planId)) return "redrive-with-nothing-to-run";
    if (this.staleEffects.has(planId)) return "effects-unfenced";
    return otherwise;
  }

  /** After every step: the environments' mutual exclusion. */
  afterStep(world: World): void {
    const users = new Map<string, string[]>();
    for (const plan of world.plans.values()) {
      if (!plan.tasksWritten || !USING_ENVIRONMENTS.has(plan.state.status)) continue;
      for (const env of plan.envs) {
        const lock = world.locks.get(env);
        if (lock === undefined || lock.owner !== plan.id || lock.expiresAt <= world.now) {
          this.fail(this.lockCause(plan.id, "locks-while-active"), `plan ${plan.id} is ${plan.state.status} without holding ${env} (${lock === undefined ? "free" : `held by ${lock.owner} until ${lock.expiresAt}`})`);
        }
        users.set(env, [...(users.get(env) ?? []), plan.id]);
      }
    }
    for (const [env, plans] of users) {
      if (plans.length > 1) this.fail(plans.map((p) => this.lockCause(p, "")).find((c) => c !== "") ?? "one-plan-per-environment", `plans ${plans.join(", ")} are active together on ${env}`);
    }
    // ... and a plan holds them only while it is active: a plan that left its active statuses gave
    // them back once its effects are applied (release_locks), unless a crash left them behind.
    for (const [env, lock] of world.locks) {
      const owner = world.plans.get(lock.owner);
      if (owner === undefined || ACTIVE_PLAN_STATUSES.has(owner.state.status) || owner.effectsPending) continue;
      // A retry or rollback takes the locks, then applies its transition (enterWithLocks): in between, they are its own.
      if (world.procs.some((p) => p.locking.has(lock.owner))) continue;
      const id = `${env}/${lock.owner}/${lock.acquiredAt}`;
      if (this.crashLeftovers.has(id)) continue;
      this.fail("locks-while-active", `${env} is held by plan ${lock.owner}, which is ${owner?.state.status ?? "gone"} and owes no release`);
    }
    const extra = this.extra?.(world);
    if (extra !== undefined) this.fail("extra", extra);
  }

  /** A command (its probe, or its transition) is taken exactly when the machine documents it, into the status it documents. */
  commandDecided(_world: World, plan: PlanRecord, before: PlanMachineState, input: Extract<PlanInput, { kind: "cancel" | "command" | "pause" | "resume" }>, decision: PlanDecision): void {
    const command: CommandKind = input.kind === "command" ? input.command : input.kind;
    const applies = commandApplies(command, before.status, before.resume);
    const from = `${command} of plan ${plan.id} from ${before.status}${before.resume === null ? "" : ` (resume ${before.resume})`}`;
    // Decided with locks read as held on a plan that has left its active status: the runtime asks again.
    const askAgain = decision.kind === "skip" && decision.reason === LOCKS_NO_LONGER_HELD && input.kind === "command" && input.locks === "held";
    if (applies && !askAgain && (decision.kind === "skip" || !commandTargets(command, before.started).includes(decision.to))) {
      this.fail("commands", `${from} ${decision.kind === "skip" ? `was refused: ${decision.reason}` : `went to ${decision.to}`}`);
    }
    if (!applies && decision.kind === "transition") this.fail("commands", `${from} moved it to ${decision.to}`);
  }

  // ── once quiet ──────────────────────────────────────────────────────────────────────────────

  quiet(world: World): void {
    for (const plan of world.plans.values()) {
      const status = plan.state.status;
      if (this.stuckAfterEmptyRedrive(plan)) {
        this.fail("redrive-with-nothing-to-run", `plan ${plan.id} was redriven with nothing left to run (${plan.tasksWritten ? "every task had finished" : "it stopped before its tasks were written"}); it stays running: nothing settles and the quiet repair ${plan.tasksWritten ? `already covered the last finish (stallCheckedUpTo ${plan.stallCheckedUpTo})` : "needs a finished task"}`);
        continue;
      }
      if (status === "planning" || status === "redriving") this.fail("nothing-left-planning", `plan ${plan.id} is ${status} once the world is quiet`);
      if (!FINAL_PLAN_STATUSES.has(status)) this.fail("every-plan-ends", `plan ${plan.id} is ${status} once the world is quiet`);
      if (plan.effectsPending) this.fail("effects-applied", `plan ${plan.id} (${status}) still has effects pending`);
      const open = [...plan.tasks.values()].filter((t) => OPEN_TASK.has(t.status) && !this.tolerated(plan, t));
      if (FINAL_PLAN_STATUSES.has(status) && open.length > 0) {
        const owed = status === "rolled_back" && plan.cancelOwed && open.every((t) => CANCELLABLE_TASK.has(t.status));
        this.fail(owed ? "rolled-back-leaves-tasks-open" : "final-plans-leave-nothing-open", `plan ${plan.id} is ${status} with ${open.map((t) => `${t.id}:${t.status}`).join(", ")}${owed ? " (its rolling_back transition's cancel_open_tasks was interrupted, and rolled_back does not owe it)" : ""}`);
      }
    }
    for (const [env, lock] of world.locks) {
      const owner = world.plans.get(lock.owner);
      if (owner === undefined || !world.ownerIsLive(owner)) this.fail("locks-while-active", `${env} is held by ${lock.owner}, which is ${owner?.state.status ?? "gone"}`);
    }
  }

  /** After a sweep that did not crash: every lock it had to look at (due within half a lease) belongs to a live plan. */
  afterSweep(world: World): void {
    for (const [env, lock] of world.locks) {
      if (lock.expiresAt > world.now + LOCK_LEASE_MS / 2) continue;
      const owner = world.plans.get(lock.owner);
      if (owner === undefined || !world.ownerIsLive(owner)) this.fail("locks-while-active", `after a sweep, ${env} is still held by ${lock.owner}, which is ${owner?.state.status ?? "gone"}`);
    }
  }
}

// ── the reference model ───────────────────────────────────────────────────────────────────────

export type Reference = { decided: false } | { decided: true; expected: string };

/**
 * How a plan must end, from what happened to it: the outcomes its tasks reached and the commands
 * it received. Decides only where commands leave no doubt: no command at all, or cancels only.
 * Throws a Violation (through `checker`) where the simulation disagrees.
 */
export function checkReference(world: World, plan: PlanRecord, checker: Checker): Reference {
  const commands = world.commands.filter((c) => c.planId === plan.id);
  const status = plan.state.status;
  const where = `plan ${plan.id} (policy ${plan.spec.failurePolicy})`;
  const expect = (expected: string, ok: boolean, detail = ""): Reference => {
    if (!ok) checker.fail("reference-model", `${where} ended ${status}${plan.failedTask === null ? "" : ` (failedTask ${plan.failedTask})`}, expected ${expected}${detail === "" ? "" : `: ${detail}`}`);
    return { decided: true, expected };
  };
  if (commands.length > 0) {
    const cancelled = plan.transitions.some((t) => t.to === "cancelled");
    if (cancelled && commands.every((c) => c.command === "cancel")) return expect("cancelled", status === "cancelled");
    return { decided: false };
  }
  if (checker.toleratedPlan(world, plan)) return { decided: false };
  if (plan.spec.compile !== "run") return expect(plan.spec.compile, status === plan.spec.compile);
  if (checker.rollbackBypassed.has(plan.id) && KNOWN_DEFECTS.has("rollback-policy-bypassed")) return { decided: false };
  if (!plan.tasksWritten) return expect("tasks written", false, "a plan that ran has no tasks");

  const tasks = [...plan.tasks.values()];
  // A run that failed, including one a rollback then compensated (its error stays on the task).
  const runFailed = tasks.filter((t) => (t.status === "failed" && t.compensationError === null) || (t.status === "compensated" && t.error !== null)).map((t) => t.id).sort();
  const compensationFailed = tasks.filter((t) => t.compensationError !== null).map((t) => t.id);
  /** Each task as its trigger rule over its needs' final statuses says it must have ended (all needs settle under `continue` or without failures). */
  const propagation = (): string[] => {
    const problems: string[] = [];
    for (const t of tasks) {
      const needs = t.needs.map((n) => plan.tasks.get(n)!.status);
      const allows = t.needs.length === 0 ? { run: true, skip: false } : ruleAllows(t.triggerRule, needs, t.needs.length);
      const ran = t.status === "succeeded" || t.status === "failed";
      if (allows.run && !ran) problems.push(`${t.id} should have run (${t.triggerRule} over ${needs.join(",")}) but is ${t.status}`);
      if (allows.skip && t.status !== "skipped") problems.push(`${t.id} should be skipped (${t.triggerRule} over ${needs.join(",")}) but is ${t.status}`);
    }
    return problems;
  };

  if (runFailed.length === 0 && compensationFailed.length === 0) {
    const problems = propagation();
    return expect("succeeded", status === "succeeded" && problems.length === 0, problems.join("; "));
  }
  switch (plan.spec.failurePolicy) {
    case "continue": {
      const problems = propagation();
      return expect(`failed with failedTask ${runFailed[0]}`, status === "failed" && plan.failedTask === runFailed[0] && problems.length === 0, problems.join("; "));
    }
    case "stop":
      return expect(`failed with one of ${runFailed.join(", ")}`, status === "failed" && plan.failedTask !== null && runFailed.includes(plan.failedTask));
    case "rollback": {
      if (compensationFailed.length > 0) return expect(`rollback_failed (compensation of ${compensationFailed.join(", ")} failed)`, status === "rollback_failed");
      const left = tasks.filter((t) => (t.status === "succeeded" && t.compensable) || (t.status === "failed" && t.compensatesFailure && t.compensationError === null)).map((t) => t.id);
      return expect("rolled_back, every compensable success compensated", status === "rolled_back" && left.length === 0, left.length > 0 ? `not compensated: ${left.join(", ")}` : "");
    }
  }
}
