/**
 * An in-memory world built only from the engine's pure decisions (engine/plan.ts, task.ts, release.ts,
 * graph.ts): plan documents with their machine state and history, task documents, environment
 * locks with waiters, a message queue, workers, a sweeper and a simulated clock. The composition
 * follows the runtime (runtime/start-plan.ts, run-task.ts, settle.ts, plan-effects.ts, commands.ts,
 * locks.ts, sweep.ts, sweep-plans.ts and store/plans.ts, tasks.ts, locks.ts) step by step, with
 * Firestore replaced by maps: each `op()` stands for one atomic write (a transaction or a
 * compare-and-set) and is where a crash can strike, so what a crash leaves behind is exactly what
 * the writes before it wrote.
 *
 * Workers and starters are generators: they yield where the runtime makes a separate round trip
 * (after a claim, after the executor ran, after the completion committed, before a publish), so
 * other events interleave there, and a worker dropped at a yield is a worker that crashed there.
 */
import { analyseGraph, type TaskGraph } from "../../../functions/src/engine/graph";
import { decideRelease, decideRuleOutcome, evaluateTriggerRule, FAN_IN_THRESHOLD, wideJoinEdge } from "../../../functions/src/engine/release";
import {
  decideApproval,
  decideCancel,
  decideClaim,
  decideGiveBack,
  decideCompletion,
  decideExternalEvent,
  decideReset,
  decideRearmCompensation,
  decideStartCompensation,
  rollbackCompensates,
  decideSweep,
  decideTokenPublished,
  decideWait,
  IN_PROCESS_BACKOFF_MAX_MS,
  initialTask,
  isGate,
  REDRIVEN_STATUSES,
  type EngineTiming,
  type ExecutionOutcome,
  type Phase,
  type TaskUpdate,
} from "../../../functions/src/engine/task";
import { decidePlan, effectsOf, FINAL_PLAN_STATUSES, holdsLocks, LOCKS_NO_LONGER_HELD, PLAN_GIVES_CLAIMS_BACK, PLAN_LETS_ATTEMPTS_FINISH, PLAN_NOT_YET_RUNNING, PLAN_RUNS_ATTEMPTS, type LockAnswer, type PlanDecision, type PlanEffect, type PlanInput, type PlanIntent, type PlanMachineState, type PlanTransition } from "../../../functions/src/engine/plan";
import type { PlanStatus } from "../../../functions/src/schema/plan";
import type { TaskDoc, TaskStatus } from "../../../functions/src/schema/task";
import type { VerifiedPrincipal } from "../../../functions/src/trust/principals";
import { environmentsOf, type CommandKind, type SimPlanSpec, type SimTaskSpec } from "./generator";

/** The deployment's defaults (functions/src/config.ts, store/locks.ts, runtime/start-plan.ts). */
export const TIMING: EngineTiming = { leaseMarginMs: 30_000, redispatchAfterMs: 60_000 };
export const START_LEASE_MS = 120_000;
export const LOCK_LEASE_MS = 10 * 60_000;
export const SWEEP_BATCH = 500;
/** The sweeper's schedule (functions/src/config.ts SWEEP_SCHEDULE: every minute). */
export const SCHEDULED_SWEEP_EVERY_MS = 60_000;

export const OPERATORS: readonly VerifiedPrincipal[] = [0, 1].map((i) => ({ uid: `op${i}`, email: `op${i}@example.com`, emailVerified: true, groups: [], role: "operator", via: "firebase" as const }));

/** A crash: the process dies here; nothing after this write happens. */
export class Crash extends Error {
  constructor(where: string) {
    super(`crashed before ${where}`);
  }
}

export type Message =
  | { id: number; kind: "task"; planId: string; taskId: string; attempt: number; phase: Phase }
  | { id: number; kind: "plan_created"; planId: string };
export type MessageBody = { planId: string; taskId: string; attempt: number; phase: Phase };

export interface Lock {
  owner: string;
  expiresAt: number;
  acquiredAt: number;
  waiters: string[];
  /** The owner's `seq` when it took the lock, or the transition that relied on it since: a release owed by an earlier transition leaves it. */
  seq: number;
}

export interface PlanRecord {
  id: string;
  spec: SimPlanSpec;
  graph: TaskGraph;
  /** The environments its firebase tasks name: the locks it needs. */
  envs: string[];
  /** A plan document as written has no status until its first transition (the sweeper starts such a plan). */
  statusWritten: boolean;
  state: PlanMachineState;
  failedTask: string | null;
  effectsPending: boolean;
  createdAt: number;
  updatedAt: number;
  startLease: { owner: string; expiresAt: number } | null;
  startAttempts: number;
  /** Set when it began running (its tasks were written): `started` of its machine state. */
  startedAt: number | null;
  stallCheckedUpTo: number | null;
  waitingFor: unknown;
  rollbackLevel: number | null;
  /** store/plans.ts advanceRollback: the rollback whose earlier failed compensations were set to run again. */
  rollbackArmedSeq: number | null;
  tasksWritten: boolean;
  tasks: Map<string, TaskDoc>;
  /** A wide join's arrivals (store/wide-join.ts releaseWideJoin): need → its final status, created once. */
  arrivals: Map<string, Map<string, TaskStatus>>;
  /** Every transition applied, in order. */
  transitions: PlanTransition[];
  /** A `cancel_open_tasks` effect began and did not finish (a crash): for the invariants' bookkeeping only. */
  cancelOwed: boolean;
}

/** What the world reports as it goes, for the invariants (invariants.ts). */
export interface WorldObserver {
  planTransition(world: World, plan: PlanRecord, before: PlanMachineState, t: PlanTransition, input: PlanInput): void;
  /** The machine decided a cancel, retry or rollback (a command's probe or its transition). */
  commandDecided(world: World, plan: PlanRecord, before: PlanMachineState, input: Extract<PlanInput, { kind: "cancel" | "command" | "pause" | "resume" }>, decision: PlanDecision): void;
  taskChange(world: World, plan: PlanRecord, before: TaskDoc | undefined, after: TaskDoc, via: string): void;
  /** `worker`: the lease owner and the process (two invocations of one message share an owner). */
  claimed(world: World, plan: PlanRecord, task: TaskDoc, phase: Phase, attempt: number, worker: string, expiresAt: number): void;
  executed(world: World, plan: PlanRecord, taskId: string, phase: Phase, attempt: number, worker: string, outcome: ExecutionOutcome): void;
  /** `before`: the task as the completion found it. */
  completed(world: World, plan: PlanRecord, taskId: string, phase: Phase, attempt: number, worker: string, before: TaskDoc): void;
  /** A claim was given back unrun (its plan has yet to run): the worker holds no lease any more. */
  gaveBack(world: World, plan: PlanRecord, taskId: string, phase: Phase, attempt: number, worker: string): void;
  /** Something died mid-way (a process, or an operation cut short): what it held stays held. */
  crashed(world: World): void;
  /** Locks were granted: by a plan's starter (`starter`: its owner) or by a command or a resumption. */
  locksGranted(world: World, plan: PlanRecord, envs: readonly string[], starter: string | undefined): void;
  /** An effect of transition `t` is about to be applied (the plan may have moved on since). */
  effect(world: World, plan: PlanRecord, t: { to: PlanStatus; seq: number }, effect: PlanEffect): void;
  /** A starter created task documents. */
  tasksCreated(world: World, plan: PlanRecord, ids: readonly string[], starter: string): void;
}

/** What a worker's current step is told by the event that advances it. */
export interface StepChoice {
  /** A fraction choosing the executor's outcome. */
  outcome: number;
}

export interface Proc {
  id: number;
  label: string;
  gen: Generator<void, void, void>;
  /** Not runnable before this (a worker waiting out a short backoff). */
  wakeAt: number;
  choice: StepChoice;
  /** Plans whose locks this process took and has not yet moved into an active status (enterWithLocks). */
  locking: Set<string>;
}

export type TransitionCause = {
  actor: string;
  guard?: (plan: PlanRecord) => string | undefined;
  also?: (plan: PlanRecord) => { startLease?: { owner: string; expiresAt: number } | null; startAttempts?: number; waitingFor?: null };
  /** The environments whose locks a granted answer counts on: entering an active status, each must still be the plan's (store/plans.ts TransitionCause `locks`). */
  locks?: readonly string[];
};

/** A fence on the plan, read in the same atomic write (e.g. the start lease); a reason refuses. */
export type PlanFence = (plan: PlanRecord) => string | undefined;

const OPEN_FOR_CANCEL: ReadonlySet<TaskStatus> = new Set(["blocked", "ready", "waiting_approval", "waiting_external"]);

export class World {
  now = 1_700_000_000_000;
  readonly plans = new Map<string, PlanRecord>();
  readonly locks = new Map<string, Lock>();
  queue: Message[] = [];
  procs: Proc[] = [];
  /** Task tokens the external system has received (published). */
  readonly tokens = new Set<string>();
  /** Commands sent (the reference model leaves plans with commands alone). */
  readonly commands: Array<{ planId: string; command: CommandKind; from: PlanStatus; at: number }> = [];
  /** Transitions a command (cancel, retry, rollback, or a waiting plan's resumption) applied. */
  commandTransitions = 0;
  /** Writes left before the current operation crashes (null: it does not). */
  budget: number | null = null;
  logLines: string[] | null = null;
  /** The process being stepped (a worker reads its step's choice and sets its wake-up through it). */
  currentProc: Proc | undefined;
  private nextMessageId = 1;
  private nextProcId = 1;
  private lastScheduledSweep: number;

  constructor(
    specs: readonly SimPlanSpec[],
    readonly observer: WorldObserver,
    /** Backoff jitter and the like (decideCompletion's `random`). */
    readonly random: () => number,
  ) {
    this.lastScheduledSweep = this.now;
    for (const spec of specs) {
      const analysed = analyseGraph(spec.tasks);
      if (!analysed.ok) throw new Error(`generated plan ${spec.id} is not a DAG: ${JSON.stringify(analysed.errors)}`);
      this.plans.set(spec.id, {
        id: spec.id,
        spec,
        graph: analysed.graph,
        envs: environmentsOf(spec.tasks),
        statusWritten: false,
        state: { status: "pending", seq: 0, generation: 1, resume: null, started: false, frozen: false },
        failedTask: null,
        effectsPending: false,
        createdAt: this.now,
        updatedAt: this.now,
        startLease: null,
        startAttempts: 0,
        startedAt: null,
        stallCheckedUpTo: null,
        waitingFor: null,
        rollbackLevel: null,
        rollbackArmedSeq: null,
        tasksWritten: false,
        tasks: new Map(),
        arrivals: new Map(),
        transitions: [],
        cancelOwed: false,
      });
      // onPlanCreated: the document trigger, delivered like any message (it may be lost or repeated).
      this.queue.push({ id: this.nextMessageId++, kind: "plan_created", planId: spec.id });
    }
  }

  log(line: string): void {
    this.logLines?.push(`[${this.now - 1_700_000_000_000}ms] ${line}`);
  }

  /** One atomic write; a crash strikes here when the operation's budget is spent. */
  op(what: string): void {
    if (this.budget === null) return;
    this.budget -= 1;
    if (this.budget <= 0) {
      this.budget = null;
      this.log(`  CRASH before ${what}`);
      throw new Crash(what);
    }
  }

  plan(id: string): PlanRecord {
    const plan = this.plans.get(id);
    if (plan === undefined) throw new Error(`unknown plan ${id}`);
    return plan;
  }

  /** Runs `action` so that it crashes after `budget` writes (null: it does not); true when it crashed. */
  withBudget(budget: number | null, action: () => void): boolean {
    this.budget = budget;
    try {
      action();
      return false;
    } catch (error) {
      if (error instanceof Crash) {
        this.observer.crashed(this);
        return true;
      }
      throw error;
    } finally {
      this.budget = null;
    }
  }

  // ── the clock ───────────────────────────────────────────────────────────────────────────────

  /**
   * Time passes, with the sweeper running every minute as deployed (runtime/sweep.ts on Cloud
   * Scheduler). `sweep` is called for each minute boundary crossed (the caller checks after each).
   */
  advance(ms: number, sweep: () => void = () => this.sweep()): void {
    const until = this.now + ms;
    while (this.lastScheduledSweep + SCHEDULED_SWEEP_EVERY_MS <= until) {
      this.lastScheduledSweep += SCHEDULED_SWEEP_EVERY_MS;
      this.now = Math.max(this.now, this.lastScheduledSweep);
      sweep();
    }
    this.now = until;
  }

  // ── messages and processes ──────────────────────────────────────────────────────────────────

  publish(messages: readonly MessageBody[]): void {
    if (messages.length === 0) return;
    this.op("publish");
    for (const m of messages) {
      const msg: Message = { id: this.nextMessageId++, kind: "task", ...m };
      this.queue.push(msg);
      this.log(`  publish m${msg.id} ${m.planId}/${m.taskId}#${m.attempt} ${m.phase}`);
    }
  }

  spawn(label: string, gen: Generator<void, void, void>): Proc {
    const proc: Proc = { id: this.nextProcId++, label, gen, wakeAt: 0, choice: { outcome: 0.5 }, locking: new Set() };
    this.procs.push(proc);
    return proc;
  }

  /** Runs the process up to its next yield (or its end); a crash inside removes it. Returns false when it crashed. */
  stepProc(proc: Proc, choice: StepChoice, budget: number | null): boolean {
    proc.choice = choice;
    let done = false;
    const outer = this.currentProc;
    this.currentProc = proc;
    const crashed = this.withBudget(budget, () => {
      done = proc.gen.next().done === true;
    });
    this.currentProc = outer;
    if (crashed || done) this.procs = this.procs.filter((p) => p !== proc);
    if (crashed) this.log(`  process ${proc.label} died`);
    return !crashed;
  }

  runnable(): Proc[] {
    return this.procs.filter((p) => p.wakeAt <= this.now);
  }

  /** A process dies where it stands (at a yield). */
  kill(proc: Proc): void {
    this.procs = this.procs.filter((p) => p !== proc);
    this.log(`  process ${proc.label} killed`);
    this.observer.crashed(this);
  }

  /** A delivery of `msg`: the subscriber's invocation, up to its first yield. */
  deliver(msg: Message, choice: StepChoice, budget: number | null): void {
    if (msg.kind === "plan_created") {
      this.log(`deliver m${msg.id} onPlanCreated ${msg.planId}`);
      const proc = this.spawn(`start:${msg.id}`, this.startPlan(this.plan(msg.planId), `start:m${msg.id}`));
      this.stepProc(proc, choice, budget);
      return;
    }
    this.log(`deliver m${msg.id} ${msg.planId}/${msg.taskId}#${msg.attempt} ${msg.phase}`);
    const proc = this.spawn(`run:m${msg.id}`, this.runTask(msg, `run:m${msg.id}`));
    this.stepProc(proc, choice, budget);
  }

  /** Runs a generator to its end, here and now (a starter called by the sweeper or a wake-up). */
  runToEnd(gen: Generator<void, void, void>): void {
    while (gen.next().done !== true);
  }

  // ── tasks ───────────────────────────────────────────────────────────────────────────────────

  applyTask(plan: PlanRecord, id: string, update: TaskUpdate, via: string): TaskDoc {
    const before = plan.tasks.get(id)!;
    const { output: _output, ...rest } = update;
    const after = { ...before, ...rest } as TaskDoc;
    plan.tasks.set(id, after);
    if (before.status !== after.status || before.attempt !== after.attempt) this.log(`  ${plan.id}/${id}: ${before.status}#${before.attempt} → ${after.status}#${after.attempt} (${via})`);
    this.observer.taskChange(this, plan, before, after, via);
    return after;
  }

  /** The needs a task has recorded: `needsDone`, or a wide join's arrivals. */
  recordedNeeds(plan: PlanRecord, task: TaskDoc): Map<string, TaskStatus> {
    return task.fanIn ? new Map(plan.arrivals.get(task.id) ?? []) : new Map(Object.entries(task.needsDone));
  }

  // ── plan transitions (store/plans.ts applyPlanInput, clearPlanEffects) ───────────────────────

  /** The machine's decision on the plan as stored, reported to the observer when it is a command's. */
  decide(plan: PlanRecord, input: PlanInput): PlanDecision {
    const before = { ...plan.state };
    const decision = decidePlan(before, input, this.now);
    if (input.kind === "cancel" || input.kind === "command" || input.kind === "pause" || input.kind === "resume") this.observer.commandDecided(this, plan, before, input, decision);
    return decision;
  }

  applyPlanInput(plan: PlanRecord, input: PlanInput, cause: TransitionCause): PlanDecision {
    this.op(`plan ${plan.id} ${input.kind}`);
    const refusal = cause.guard?.(plan);
    if (refusal !== undefined) return { kind: "skip", reason: refusal };
    const before = { ...plan.state };
    const decision = this.decide(plan, input);
    if (decision.kind === "skip") return decision;
    // A granted lock answer is checked in the same commit: each lock read with the plan must still be its own (store/locks.ts locksStillHeld).
    const relied = cause.locks !== undefined && holdsLocks(decision.to) ? [...new Set(cause.locks)].sort() : [];
    if (relied.some((env) => this.locks.get(env)?.owner !== plan.id)) {
      this.log(`  plan ${plan.id} ${input.kind}: the locks it was granted are no longer its own`);
      return { kind: "skip", reason: LOCKS_NO_LONGER_HELD };
    }
    for (const env of relied) Object.assign(this.locks.get(env)!, { seq: decision.seq, expiresAt: this.now + LOCK_LEASE_MS });
    const also = cause.also?.(plan) ?? {};
    const u = decision.update;
    if ("failedTask" in u) plan.failedTask = (u.failedTask as string | null) ?? null;
    if ("startLease" in u) plan.startLease = null;
    if (typeof u.startAttempts === "number") plan.startAttempts = u.startAttempts;
    if (typeof u.startedAt === "number") plan.startedAt = u.startedAt;
    if ("waitingFor" in u) plan.waitingFor = u.waitingFor;
    if (also.startLease !== undefined) plan.startLease = also.startLease;
    if (also.startAttempts !== undefined) plan.startAttempts = also.startAttempts;
    if (also.waitingFor !== undefined) plan.waitingFor = also.waitingFor;
    plan.state = {
      status: decision.to,
      seq: before.seq + 1,
      generation: typeof u.generation === "number" ? u.generation : before.generation,
      resume: (u.resume as PlanIntent | null | undefined) ?? null,
      started: plan.startedAt !== null,
      // The model has no freeze windows (their door is tested on the engine: test/integration/freeze-windows.test.ts).
      frozen: false,
    };
    plan.statusWritten = true;
    plan.effectsPending = decision.effects.length > 0;
    plan.updatedAt = this.now;
    plan.transitions.push(decision);
    if (input.kind === "cancel" || input.kind === "command") this.commandTransitions += 1;
    this.log(`  plan ${plan.id}: ${decision.from} → ${decision.to} (${decision.eventId}; ${decision.message})${decision.effects.length > 0 ? ` effects ${decision.effects.join(",")}` : ""}`);
    this.observer.planTransition(this, plan, before, decision, input);
    return decision;
  }

  clearPlanEffects(plan: PlanRecord, seq: number): void {
    this.op(`clear effects of ${plan.id}`);
    if (plan.state.seq !== seq || !plan.effectsPending) return;
    plan.effectsPending = false;
    plan.updatedAt = this.now;
  }

  // ── effects (runtime/plan-effects.ts) ───────────────────────────────────────────────────────

  /** Applies a transition's effects, unless the plan moved on since (its `seq`, read first). */
  *applyPlanEffects(plan: PlanRecord, t: { to: PlanStatus; seq: number; effects: readonly PlanEffect[] }, ready?: readonly MessageBody[]): Generator<void, void, void> {
    if (plan.state.seq !== t.seq) return;
    for (const effect of t.effects) {
      yield;
      this.observer.effect(this, plan, t, effect);
      switch (effect) {
        case "start":
          // A retry of a plan that never started: it starts from its document.
          yield* this.startPlan(plan, `retry:${plan.id}:${t.seq}`);
          return;
        case "publish_ready":
          this.publish(ready ?? this.readyTasks(plan));
          // A run that begins with nothing left to run ends here, before the effects are cleared (runtime/plan-effects.ts).
          if (ready === undefined) yield* this.finishPlanIfDone(plan);
          break;
        case "reset_tasks": {
          const reset = this.resetUnsucceededTasks(plan, t.seq);
          yield;
          // Only this redrive's (its seq): a later redrive resets its own tasks first (runtime/plan-effects.ts).
          const running = this.applyPlanInput(plan, { kind: "redriven", ready: reset.ready.length }, { actor: "orchestrator", guard: (p) => (p.state.seq === t.seq ? undefined : `the plan moved on since transition ${t.seq}`) });
          this.clearPlanEffects(plan, t.seq);
          if (running.kind !== "transition") return;
          yield* this.applyPlanEffects(plan, running);
          // What the reset skipped is settled like any skip; a redrive with nothing to run ends here.
          for (const task of reset.skipped) yield* this.settleFinishedTask(plan, task);
          yield* this.finishPlanIfDone(plan);
          return;
        }
        case "cancel_open_tasks":
          plan.cancelOwed = true;
          this.cancelOpenTasks(plan, `plan is ${t.to}`, t.seq);
          plan.cancelOwed = false;
          break;
        case "advance_rollback":
          yield* this.continueRollback(plan);
          break;
        case "release_locks":
          // Only what this transition owes: a lock a retry took back since is the retry's (runtime/plan-effects.ts).
          yield* this.onPlanFinished(plan.id, { seq: t.seq });
          break;
      }
    }
    this.clearPlanEffects(plan, t.seq);
  }

  *followThrough(plan: PlanRecord, outcome: PlanDecision): Generator<void, PlanDecision, void> {
    if (outcome.kind === "transition") yield* this.applyPlanEffects(plan, outcome);
    return outcome;
  }

  readyTasks(plan: PlanRecord): MessageBody[] {
    return [...plan.tasks.values()].filter((t) => t.status === "ready").map((t) => ({ planId: plan.id, taskId: t.id, attempt: t.attempt, phase: "run" as const }));
  }

  /**
   * store/tasks.ts resetUnsucceededTasks: statuses read once, then one transaction per task. A task
   * still running or ready is left to go on, touched in its transaction (there, so that a stop
   * decided before the redrive fails its precondition; here every write is atomic with its checks).
   */
  resetUnsucceededTasks(plan: PlanRecord, fenceSeq?: number): { ready: TaskDoc[]; skipped: TaskDoc[] } {
    const statuses = new Map([...plan.tasks].map(([id, t]) => [id, t.status]));
    const targets = [...plan.tasks.values()].filter((t) => REDRIVEN_STATUSES.has(t.status) || t.status === "running" || t.status === "ready").map((t) => t.id);
    for (const id of targets) {
      const arrivals = plan.arrivals.get(id);
      if (!plan.tasks.get(id)!.fanIn || arrivals === undefined) continue;
      this.op(`delete arrivals of ${id}`);
      for (const need of [...arrivals.keys()]) if (statuses.get(need) !== "succeeded") arrivals.delete(need);
    }
    const ready: TaskDoc[] = [];
    const skipped: TaskDoc[] = [];
    for (const id of targets) {
      this.op(`reset ${id}`);
      // Fenced by the redrive's transition: a cancel during the redrive stops the resets.
      if (fenceSeq !== undefined && plan.state.seq !== fenceSeq) break;
      const decision = decideReset(plan.tasks.get(id)!, statuses, "redrive", this.now, TIMING);
      if (decision.kind !== "reset") continue;
      const after = this.applyTask(plan, id, decision.update, "reset");
      if (after.status === "ready") ready.push(after);
      if (after.status === "skipped") skipped.push(after);
    }
    return { ready, skipped };
  }

  /** One transaction per open task; with `fence`, only while the plan is still at that transition. */
  cancelOpenTasks(plan: PlanRecord, cause: string, fence?: number): void {
    for (const id of [...plan.tasks.keys()].sort()) {
      if (!OPEN_FOR_CANCEL.has(plan.tasks.get(id)!.status)) continue;
      this.op(`cancel ${id}`);
      if (fence !== undefined && plan.state.seq !== fence) return;
      const decision = decideCancel(plan.tasks.get(id)!, cause, this.now);
      if (decision.kind === "cancel") this.applyTask(plan, id, decision.update, "cancel");
    }
  }

  // ── rollback (store/plans.ts advanceRollback, runtime/settle.ts continueRollback) ────────────

  /** One step of the rollback (one transaction), then, when it is over, the plan's transition (another round trip). */
  *continueRollback(plan: PlanRecord): Generator<void, void, void> {
    this.op(`advance rollback of ${plan.id}`);
    if (plan.state.status !== "rolling_back") return;
    const tasks = [...plan.tasks.values()];
    if (tasks.some((t) => t.status === "running" || t.status === "compensating")) return;
    if (plan.rollbackArmedSeq !== plan.state.seq) {
      // Once per rollback: compensations that failed in an earlier one run again (then the rollback proper, as the runtime loops).
      for (const task of tasks.filter((t) => t.compensationError !== null).sort((a, b) => a.id.localeCompare(b.id))) {
        const decision = decideRearmCompensation(task, this.now);
        if (decision.kind === "rearm") this.applyTask(plan, task.id, decision.update, "rearm");
      }
      plan.rollbackArmedSeq = plan.state.seq;
      plan.updatedAt = this.now;
      yield;
      yield* this.continueRollback(plan);
      return;
    }
    const next = tasks.filter(rollbackCompensates);
    if (next.length > 0) {
      const level = Math.max(...next.map((t) => t.level));
      const queued: MessageBody[] = [];
      for (const task of next.filter((t) => t.level === level).sort((a, b) => a.id.localeCompare(b.id))) {
        const decision = decideStartCompensation(task, this.now, TIMING);
        if (decision.kind !== "compensate") continue;
        this.applyTask(plan, task.id, decision.update, "compensate");
        queued.push({ planId: plan.id, taskId: task.id, attempt: task.attempt, phase: "compensate" });
      }
      plan.rollbackLevel = level;
      plan.updatedAt = this.now;
      yield;
      this.publish(queued);
      return;
    }
    const failed = tasks.filter((t) => t.compensationError !== null).sort((a, b) => a.id.localeCompare(b.id))[0];
    const failedCompensation = failed === undefined ? null : { taskId: failed.id, message: failed.compensationError!.message };
    const seq = plan.state.seq;
    yield;
    // Only this rollback's (the seq read with its tasks): a later rollback is not ended by it (runtime/settle.ts).
    const guard = (p: PlanRecord) => (p.state.seq === seq ? undefined : "the rollback moved on since its tasks were read");
    yield* this.followThrough(plan, this.applyPlanInput(plan, { kind: "rollback_finished", failedCompensation }, { actor: "orchestrator", guard }));
  }

  // ── locks (store/locks.ts, runtime/locks.ts) ────────────────────────────────────────────────

  /** One transaction, reading the plan too: `fence` refuses on a plan that moved on ("refused": nothing taken); each lock taken is stamped with the plan's `seq`. */
  acquireLocks(planId: string, environments: readonly string[], starter?: string, fence?: PlanFence): LockAnswer | "refused" {
    if (environments.length === 0) return { granted: true };
    this.op(`acquire locks for ${planId}`);
    const refusal = fence?.(this.plan(planId));
    if (refusal !== undefined) {
      this.log(`  ${planId} takes no lock: ${refusal}`);
      return "refused";
    }
    const envs = [...new Set(environments)].sort();
    for (const env of envs) {
      const lock = this.locks.get(env);
      if (lock !== undefined && lock.owner !== planId && lock.expiresAt > this.now) {
        if (!lock.waiters.includes(planId)) lock.waiters.push(planId);
        this.log(`  ${planId} waits for ${env} (held by ${lock.owner})`);
        return { granted: false, lock: env, holder: lock.owner };
      }
    }
    for (const env of envs) {
      const waiters = (this.locks.get(env)?.waiters ?? []).filter((w) => w !== planId);
      this.locks.set(env, { owner: planId, expiresAt: this.now + LOCK_LEASE_MS, acquiredAt: this.now, waiters, seq: this.plan(planId).state.seq });
    }
    this.log(`  ${planId} locks ${envs.join(", ")}`);
    this.observer.locksGranted(this, this.plan(planId), envs, starter);
    return { granted: true };
  }

  /** With `fence`: the release transition `fence.seq` owes, which leaves a lock taken (or relied on) at or after it. */
  releaseLocks(planId: string, fence?: { seq: number }): string[] {
    const woken: string[] = [];
    for (const env of [...this.locks.keys()].sort()) {
      if (this.locks.get(env)?.owner !== planId) continue;
      woken.push(...this.freeLock(env, planId, fence));
    }
    return [...new Set(woken)];
  }

  /** Frees the lock if `owner` still holds it, unless that plan still needs it (store/locks.ts ownerIsLive: active again, or a live start) or a newer transition than `fence` took it. */
  freeLock(env: string, owner: string, fence?: { seq: number }): string[] {
    this.op(`free lock ${env}`);
    const lock = this.locks.get(env);
    if (lock === undefined || lock.owner !== owner) return [];
    if (fence !== undefined && lock.seq >= fence.seq) return [];
    const plan = this.plans.get(owner);
    if (plan !== undefined && this.ownerIsLive(plan)) return [];
    this.locks.delete(env);
    this.log(`  ${owner} frees ${env}${lock.waiters.length > 0 ? ` (waiters ${lock.waiters.join(", ")})` : ""}`);
    return lock.waiters;
  }

  ownerIsLive(plan: PlanRecord): boolean {
    const status = plan.state.status;
    if (!holdsLocks(status)) return false;
    return status !== "planning" || (plan.startLease !== null && plan.startLease.expiresAt > this.now);
  }

  maintainLocks(): string[] {
    const woken: string[] = [];
    for (const env of [...this.locks.keys()].sort()) {
      const lock = this.locks.get(env)!;
      if (lock.expiresAt > this.now + LOCK_LEASE_MS / 2) continue;
      const owner = this.plans.get(lock.owner);
      if (owner !== undefined && this.ownerIsLive(owner)) {
        this.op(`renew lock ${env}`);
        lock.expiresAt = this.now + LOCK_LEASE_MS;
      } else {
        woken.push(...this.freeLock(env, lock.owner));
      }
    }
    return woken;
  }

  *onPlanFinished(planId: string, fence?: { seq: number }): Generator<void, void, void> {
    for (const waiter of this.releaseLocks(planId, fence)) {
      yield;
      yield* this.resumeWaitingPlan(waiter);
    }
  }

  *resumeWaitingPlan(planId: string): Generator<void, void, void> {
    const plan = this.plan(planId);
    if (plan.state.status !== "waiting") return;
    const intent = plan.state.resume ?? "start";
    this.log(`  wake ${planId} (${intent})`);
    if (intent === "start") {
      yield* this.startPlan(plan, `wake:${planId}:${this.now}`);
      return;
    }
    yield* this.enterWithLocks(plan, { command: intent === "redrive" ? "retry" : "rollback", by: "the orchestrator (locks free)" });
  }

  lockKeysOf(plan: PlanRecord): string[] {
    return [...new Set([...plan.tasks.values()].filter((t) => t.run === "firebase").map((t) => String(t.params.projectId)))].sort();
  }

  // ── commands (runtime/commands.ts) ──────────────────────────────────────────────────────────

  /** The probe on the plan as read, the locks asked for when it holds none, then the transition (each a round trip). */
  *enterWithLocks(plan: PlanRecord, request: { command: "retry" | "rollback"; by: string }): Generator<void, PlanDecision, void> {
    const proc = this.currentProc;
    // Up to three rounds, as the runtime does: locks read as held may be gone by the commit.
    // ... and the locks taken may be freed before the commit, which checks them (TransitionCause `locks`): then they are taken again.
    let decided: PlanDecision = { kind: "skip", reason: LOCKS_NO_LONGER_HELD };
    let asked = false;
    for (let round = 0; round < 3 && decided.kind === "skip" && decided.reason === LOCKS_NO_LONGER_HELD; round++) {
      const read = { ...plan.state };
      const probe = this.decide(plan, { kind: "command", ...request, locks: { granted: true } });
      if (probe.kind === "skip") {
        // Refused on what it reads (in a later round, locks taken in an earlier one are given back below).
        decided = probe;
        break;
      }
      yield;
      let locks: LockAnswer | "held" = "held";
      const envs = holdsLocks(read.status) ? [] : this.lockKeysOf(plan);
      if (!holdsLocks(read.status)) {
        // Taken only for the plan as probed (its seq): one that moved on since is read again first.
        const taken = this.acquireLocks(plan.id, envs, undefined, (p) => (p.state.seq === read.seq ? undefined : LOCKS_NO_LONGER_HELD));
        if (taken === "refused") continue;
        asked = true;
        locks = taken;
      }
      if (locks !== "held" && locks.granted) proc?.locking.add(plan.id);
      yield;
      // An answer is one for the plan as probed (its seq): a plan that moved on since is read again; a granted one must still hold.
      const probed = (p: PlanRecord) => (p.state.seq === read.seq ? undefined : LOCKS_NO_LONGER_HELD);
      decided = this.applyPlanInput(plan, { kind: "command", ...request, locks }, locks === "held" ? { actor: request.by } : { actor: request.by, guard: probed, ...(locks.granted ? { locks: envs } : {}) });
    }
    if (decided.kind === "transition") proc?.locking.delete(plan.id);
    const outcome = yield* this.followThrough(plan, decided);
    if (outcome.kind === "skip" && asked && !holdsLocks(plan.state.status)) yield* this.onPlanFinished(plan.id);
    proc?.locking.delete(plan.id);
    return outcome;
  }

  *command(plan: PlanRecord, command: CommandKind): Generator<void, void, void> {
    this.log(`command ${command} ${plan.id} (plan is ${plan.state.status})`);
    if (command === "cancel" || command === "pause" || command === "resume") {
      yield* this.followThrough(plan, this.applyPlanInput(plan, { kind: command, by: "op0" }, { actor: "op0" }));
      return;
    }
    yield* this.enterWithLocks(plan, { command, by: "op0" });
  }

  approve(plan: PlanRecord, taskId: string, verdict: "approve" | "reject", who: 0 | 1): void {
    this.op(`${verdict} ${taskId}`);
    const task = plan.tasks.get(taskId)!;
    const required = typeof task.params.requiredApprovals === "number" ? task.params.requiredApprovals : 1;
    const decision = decideApproval({ task, gate: { approvers: [], requiredApprovals: required, allowSelfApproval: false }, principal: OPERATORS[who]!, creator: null, verdict, reason: undefined, now: this.now });
    this.log(`${verdict} ${plan.id}/${taskId} by op${who}: ${decision.kind === "skip" ? `skip (${decision.reason})` : decision.status}`);
    if (decision.kind === "skip") return;
    const after = this.applyTask(plan, taskId, decision.update, "approval");
    if (decision.status !== "waiting_approval") this.runToEnd(this.settleFinishedTask(plan, after));
  }

  externalEvent(plan: PlanRecord, taskId: string, token: string, outcome: "succeeded" | "failed"): void {
    this.op(`external event for ${taskId}`);
    const decision = decideExternalEvent({ task: plan.tasks.get(taskId)!, tokenHash: token, event: { type: "completed", outcome }, now: this.now });
    this.log(`external ${outcome} ${plan.id}/${taskId}: ${decision.kind === "skip" ? `skip (${decision.reason})` : decision.kind}`);
    if (decision.kind !== "complete") return;
    this.runToEnd(this.settleFinishedTask(plan, this.applyTask(plan, taskId, decision.update, "external")));
  }

  // ── starting a plan (runtime/start-plan.ts) ─────────────────────────────────────────────────

  *startPlan(plan: PlanRecord, owner: string): Generator<void, void, void> {
    const holdsStartLease = (p: PlanRecord) => (p.state.status === "planning" && p.startLease?.owner === owner ? undefined : `the start lease is not held by ${owner} (plan is ${p.state.status})`);
    const compile = plan.spec.compile;
    if (compile === "invalid") {
      // markPlanInvalid: its status and errors only (no lease, no tasks, no history record).
      this.applyPlanInput(plan, { kind: "invalid", errors: 1 }, { actor: "orchestrator", also: () => ({ startLease: null }) });
      return;
    }
    const lease = this.applyPlanInput(plan, { kind: "start" }, {
      actor: "orchestrator",
      guard: (p) => {
        const l = p.startLease;
        return p.state.status === "planning" && l !== null && l.owner !== owner && l.expiresAt > this.now ? `start in progress by ${l.owner}` : undefined;
      },
      also: (p) => ({ startLease: { owner, expiresAt: this.now + START_LEASE_MS }, startAttempts: p.startLease?.owner === owner ? p.startAttempts : p.startAttempts + 1 }),
    });
    if (lease.kind === "skip") {
      this.log(`  start of ${plan.id} by ${owner} skipped: ${lease.reason}`);
      return;
    }
    yield;
    if (compile !== "run") {
      yield* this.followThrough(plan, this.applyPlanInput(plan, { kind: "compiled", outcome: compile, reasons: ["generated"] }, { actor: "orchestrator", guard: holdsStartLease, also: () => ({ startLease: null }) }));
      return;
    }
    // Every write of the start is fenced by its lease, in the same atomic write: a start that lost
    // it writes nothing more, and what it wrote before is the plan's (the cancel's effects, or the
    // start that took over, see to it). Nothing is left to undo.
    const locks = this.acquireLocks(plan.id, plan.envs, owner, holdsStartLease);
    if (locks === "refused") return;
    // Until it moves the plan on, the locks it took are this start's.
    if (locks.granted) this.currentProc?.locking.add(plan.id);
    yield;
    if (!locks.granted) {
      this.applyPlanInput(plan, { kind: "begin", locks, taskCount: plan.spec.tasks.length }, { actor: "orchestrator", guard: holdsStartLease, also: () => ({ startLease: null }) });
      return;
    }
    if (!this.writeStartTasks(plan, owner, holdsStartLease)) return;
    yield;
    // Its locks must still be its own (a start whose lease ran out had them freed by lock maintenance).
    const running = this.applyPlanInput(plan, { kind: "begin", locks: { granted: true }, taskCount: plan.spec.tasks.length }, { actor: "orchestrator", guard: holdsStartLease, also: () => ({ startLease: null, waitingFor: null }), locks: plan.envs });
    if (running.kind === "skip") return;
    yield* this.applyPlanEffects(plan, running, plan.graph.roots.map((taskId) => ({ planId: plan.id, taskId, attempt: 1, phase: "run" as const })));
  }

  /**
   * store/tasks.ts writeStartTasks: only under the start lease (read in the same write), each task
   * written whole, over whatever an earlier start left (under the lease nothing of this start has
   * moved on). False: the lease is lost, nothing written.
   */
  writeStartTasks(plan: PlanRecord, owner: string, fence: PlanFence): boolean {
    this.op(`write tasks of ${plan.id}`);
    const refusal = fence(plan);
    if (refusal !== undefined) {
      this.log(`  ${owner} writes no task of ${plan.id}: ${refusal}`);
      return false;
    }
    const wide = new Map(plan.spec.tasks.filter((t) => t.needs.length > FAN_IN_THRESHOLD).map((t) => [t.id, new Map(t.needs.map((n, i) => [n, i]))]));
    const joinEdge = (joinId: string, needId: string) => {
      const at = wide.get(joinId)?.get(needId);
      return at === undefined ? undefined : wideJoinEdge(wide.get(joinId)!.size, at);
    };
    const created: string[] = [];
    for (const spec of plan.spec.tasks) {
      created.push(spec.id);
      const task = initialTask({
        planId: plan.id,
        spec: specForEngine(spec),
        executorCompensates: spec.run === "firebase",
        dependents: plan.graph.dependents.get(spec.id)!,
        joinEdge,
        level: plan.graph.level.get(spec.id)!,
        now: this.now,
        timing: TIMING,
      });
      plan.tasks.set(spec.id, task);
      this.observer.taskChange(this, plan, undefined, task, "create");
    }
    plan.tasksWritten = true;
    if (created.length > 0) this.observer.tasksCreated(this, plan, created, owner);
    return true;
  }

  // ── running a task (runtime/run-task.ts) ────────────────────────────────────────────────────

  *runTask(msg: Extract<Message, { kind: "task" }>, owner: string): Generator<void, void, void> {
    const plan = this.plan(msg.planId);
    this.op(`claim ${msg.taskId}`);
    const task = plan.tasks.get(msg.taskId);
    if (task === undefined) return;
    // A run-phase claim reads the task alone; the plan is read after it commits (store/tasks.ts claimTask).
    const decision = decideClaim({ task, planStatus: msg.phase === "run" ? undefined : plan.state.status, attempt: msg.attempt, phase: msg.phase, owner, now: this.now, timing: TIMING });
    if (decision.kind === "skip") {
      this.log(`  claim skipped: ${decision.reason}`);
      return;
    }
    if (decision.kind === "sleep") {
      this.applyTask(plan, task.id, decision.update, "sleep");
      return;
    }
    const claimed = decision.kind === "claim" ? this.applyTask(plan, task.id, decision.update, "claim") : task;
    // Two invocations of one message share its owner name: the invariants tell workers apart by process.
    const worker = `${owner}@${this.currentProc?.id ?? 0}`;
    if (claimed.lease !== null) this.observer.claimed(this, plan, claimed, msg.phase, msg.attempt, worker, claimed.lease.expiresAt);
    yield; // after_claim
    // The plan's status read after the claim committed: a stop in between ends the attempt cancelled, unrun.
    // A redrive does not reset a running task: one claimed before it runs on (runtime/run-task.ts).
    const read = plan.state.status;
    if (msg.phase === "run" && !PLAN_RUNS_ATTEMPTS.has(read)) {
      yield; // the read's round trip; then the completion, which reads the plan again with the task
      this.op(`complete ${msg.taskId} (stopped)`);
      const current = plan.state.status;
      // A retry redrove the plan since (its reset passed this running task): the attempt goes on (store/tasks.ts `stopped`).
      if (PLAN_RUNS_ATTEMPTS.has(current)) this.log(`  ${plan.id}/${msg.taskId}: the plan is ${current} again, the attempt goes on`);
      else if (PLAN_GIVES_CLAIMS_BACK.has(current)) {
        // Not running yet (a start under way, or waiting for locks), or paused: the claim is given back, unrun.
        const back = decideGiveBack({ task: plan.tasks.get(msg.taskId)!, attempt: msg.attempt, owner, reason: `the plan is ${current}`, now: this.now, timing: TIMING });
        if (back.kind === "give_back") {
          this.applyTask(plan, msg.taskId, back.update, "give_back");
          this.observer.gaveBack(this, plan, msg.taskId, msg.phase, msg.attempt, worker);
        }
        return;
      } else {
        const stopped = decideCompletion({ task: plan.tasks.get(msg.taskId)!, attempt: msg.attempt, owner, outcome: { ok: false, error: { message: `not started: the plan is ${read}`, code: "cancelled", retryable: false } }, planCancelled: true, now: this.now, timing: TIMING, random: this.random });
        if (stopped.kind === "skip") return;
        const before = plan.tasks.get(msg.taskId)!;
        const finished = this.applyTask(plan, msg.taskId, stopped.update, "complete:stopped");
        this.observer.completed(this, plan, msg.taskId, "run", msg.attempt, worker, before);
        yield* this.settleFinishedTask(plan, finished);
        return;
      }
    }
    if (msg.phase === "run" && isGate(claimed.run)) {
      yield; // the status read, then the wait's transaction
      yield* this.startWaiting(plan, msg, owner, claimed);
      return;
    }
    const outcome = executorOutcome(this.procChoice().outcome, msg.phase);
    this.op(`execute ${msg.taskId}`);
    this.log(`  ${owner} executes ${plan.id}/${msg.taskId}#${msg.attempt} ${msg.phase}: ${outcome.ok ? "ok" : `${outcome.error.code} (retryable ${outcome.error.retryable})`}`);
    this.observer.executed(this, plan, msg.taskId, msg.phase, msg.attempt, worker, outcome);
    yield; // after_execute
    this.op(`complete ${msg.taskId}`);
    const current = plan.tasks.get(msg.taskId)!;
    // The cancellation watcher notices a cancelled plan (most of the time: it starts after a second).
    const planCancelled = plan.state.status === "cancelled" && this.procChoice().outcome < 0.7;
    const completion = decideCompletion({ task: current, attempt: msg.attempt, owner, outcome, planCancelled, now: this.now, timing: TIMING, random: this.random });
    if (completion.kind === "skip") {
      this.log(`  completion skipped: ${completion.reason}`);
      return;
    }
    const phase: Phase = current.status === "compensating" ? "compensate" : "run";
    const finished = this.applyTask(plan, msg.taskId, completion.update, "complete");
    this.observer.completed(this, plan, msg.taskId, phase, msg.attempt, worker, current);
    yield; // after_complete
    if (completion.status === "ready") {
      if (completion.retryInMs !== undefined && completion.retryInMs <= IN_PROCESS_BACKOFF_MAX_MS) {
        this.currentProc!.wakeAt = this.now + completion.retryInMs;
        yield; // sleeping out the backoff; then before_publish
        this.publish([{ planId: plan.id, taskId: msg.taskId, attempt: finished.attempt, phase: "run" }]);
      }
      return;
    }
    yield* this.settleFinishedTask(plan, finished);
  }

  private procChoice(): StepChoice {
    return this.currentProc?.choice ?? { outcome: 0.5 };
  }

  /** store/tasks.ts enterWaiting: one transaction that reads the plan too; a gate whose plan stopped meanwhile is cancelled instead of waiting. */
  *startWaiting(plan: PlanRecord, msg: MessageBody, owner: string, task: TaskDoc): Generator<void, void, void> {
    if (!PLAN_LETS_ATTEMPTS_FINISH.has(plan.state.status)) {
      this.op(`wait ${task.id}`);
      const stop = decideCompletion({ task: plan.tasks.get(task.id)!, attempt: msg.attempt, owner, outcome: { ok: true }, planCancelled: true, now: this.now, timing: TIMING, random: this.random });
      if (stop.kind === "complete") this.applyTask(plan, task.id, stop.update, "wait:stopped");
      return;
    }
    if (task.run === "approval") {
      this.op(`wait ${task.id}`);
      const waited = decideWait({ task: plan.tasks.get(task.id)!, attempt: msg.attempt, owner, status: "waiting_approval", tokenHash: null, heartbeatSeconds: null, now: this.now, timing: TIMING });
      if (waited.kind === "wait") this.applyTask(plan, task.id, waited.update, "wait");
      return;
    }
    const token = `token:${plan.id}/${task.id}#${msg.attempt}:${owner}`;
    this.op(`wait ${task.id}`);
    const waited = decideWait({ task: plan.tasks.get(task.id)!, attempt: msg.attempt, owner, status: "waiting_external", tokenHash: token, heartbeatSeconds: null, now: this.now, timing: TIMING });
    if (waited.kind !== "wait") return;
    this.applyTask(plan, task.id, waited.update, "wait");
    yield; // before_publish
    this.publishToken(plan, task.id, msg.attempt, token);
  }

  /** The external task's message goes out (the system learns the token), then it is marked published. */
  publishToken(plan: PlanRecord, taskId: string, attempt: number, token: string): void {
    this.op(`publish token of ${taskId}`);
    this.tokens.add(token);
    this.op(`mark token of ${taskId} published`);
    const marked = decideTokenPublished({ task: plan.tasks.get(taskId)!, attempt, tokenHash: token, now: this.now });
    if (marked.kind === "published") this.applyTask(plan, taskId, marked.update, "token");
  }

  // ── settling (runtime/settle.ts) ────────────────────────────────────────────────────────────

  *settleFinishedTask(plan: PlanRecord, first: TaskDoc): Generator<void, void, void> {
    const queue: TaskDoc[] = [first];
    for (let task = queue.shift(); task !== undefined; task = queue.shift()) yield* this.settleOne(plan, task, queue);
  }

  private *settleOne(plan: PlanRecord, task: TaskDoc, skipped: TaskDoc[]): Generator<void, void, void> {
    switch (task.status) {
      case "succeeded":
      case "skipped":
        yield* this.releaseAndMaybeFinish(plan, task, skipped);
        return;
      case "compensated":
        yield* this.continueRollback(plan);
        return;
      case "failed":
        if (task.compensationError !== null) {
          yield* this.continueRollback(plan);
          return;
        }
        yield* this.applyFailurePolicy(plan, task, skipped);
        return;
      default:
        return;
    }
  }

  private *releaseAndMaybeFinish(plan: PlanRecord, task: TaskDoc, skipped: TaskDoc[]): Generator<void, void, void> {
    this.releaseDependents(plan, task, skipped);
    if (task.dependents.length === 0) {
      yield;
      yield* this.finishPlanIfDone(plan);
    }
  }

  private releaseDependents(plan: PlanRecord, task: TaskDoc, skipped: TaskDoc[]): void {
    const messages: MessageBody[] = [];
    const note = (id: string, became: "ready" | "skipped" | null, after: TaskDoc) => {
      if (became === "ready") messages.push({ planId: plan.id, taskId: id, attempt: after.attempt, phase: "run" });
      if (became === "skipped") skipped.push(after);
    };
    for (const id of task.dependents.filter((d) => task.wideDependents[d] === undefined)) {
      this.op(`release ${id} (need ${task.id})`);
      const decision = decideRelease({ dependent: plan.tasks.get(id)!, need: task.id, needStatus: task.status, now: this.now, timing: TIMING });
      if (decision.kind === "skip") continue;
      note(id, decision.became, this.applyTask(plan, id, decision.update, "release"));
    }
    this.publish(messages.splice(0));
    for (const id of Object.keys(task.wideDependents)) this.releaseWideJoin(plan, id, task.id, task.status, note);
    this.publish(messages);
  }

  /** A wide join counts arrivals, created once; the trigger rule decides over what has arrived (store/wide-join.ts releaseWideJoin). */
  private releaseWideJoin(plan: PlanRecord, joinId: string, need: string, needStatus: TaskStatus, note: (id: string, became: "ready" | "skipped" | null, after: TaskDoc) => void): void {
    this.op(`arrival of ${need} at ${joinId}`);
    const arrivals = plan.arrivals.get(joinId) ?? new Map<string, TaskStatus>();
    plan.arrivals.set(joinId, arrivals);
    if (!arrivals.has(need)) arrivals.set(need, needStatus);
    let succeeded = 0;
    let failed = 0;
    for (const s of arrivals.values()) {
      if (s === "succeeded") succeeded += 1;
      if (s === "failed") failed += 1;
    }
    this.op(`decide wide join ${joinId}`);
    const join = plan.tasks.get(joinId)!;
    const change = decideRuleOutcome(join, evaluateTriggerRule(join.triggerRule, { total: join.needs.length, done: arrivals.size, succeeded, failed }), need, this.now, TIMING);
    if (change === undefined) return;
    note(joinId, change.status as "ready" | "skipped", this.applyTask(plan, joinId, change, "release"));
  }

  /**
   * As runtime/settle.ts: the plan's state and policy read first (only a running plan finishes),
   * then is any task open, which failed first (each a round trip), then the transition, guarded
   * by the generation and seq read first (a redrive in between must not let it end the new run).
   */
  *finishPlanIfDone(plan: PlanRecord): Generator<void, void, void> {
    const open = () => [...plan.tasks.values()].some((t) => t.finishedAt === null);
    // A first probe alone when another task is open; the one that counts follows the plan's read.
    if (open()) return;
    yield;
    const read = { ...plan.state };
    if (read.status !== "running" && read.status !== "paused") return;
    yield;
    if (open()) return;
    yield;
    const failed = [...plan.tasks.values()].filter((t) => t.status === "failed").map((t) => t.id).sort()[0] ?? null;
    yield;
    const outcome = this.applyPlanInput(plan, { kind: "all_finished", failedTask: failed, policy: plan.spec.failurePolicy }, {
      actor: "orchestrator",
      guard: (p) => (p.state.generation === read.generation && p.state.seq === read.seq ? undefined : "the plan moved on since its tasks were read"),
    });
    yield* this.followThrough(plan, outcome);
  }

  /** Reads the plan's status and policy, then acts on what it read. */
  private *applyFailurePolicy(plan: PlanRecord, task: TaskDoc, skipped: TaskDoc[]): Generator<void, void, void> {
    const status = plan.state.status;
    yield;
    if (status === "rolling_back") {
      yield* this.continueRollback(plan);
      return;
    }
    const policy = plan.spec.failurePolicy;
    if (policy === "continue") {
      yield* this.releaseAndMaybeFinish(plan, task, skipped);
      return;
    }
    const message = `task ${task.id} failed: ${task.error?.message ?? "unknown error"}`;
    yield* this.followThrough(plan, this.applyPlanInput(plan, { kind: "task_failed", taskId: task.id, policy, message }, { actor: "orchestrator" }));
  }

  /** runtime/settle.ts repairQuietPlan: a quiet running plan's finished tasks are settled again. */
  *repairQuietPlan(plan: PlanRecord, checkedUpTo: number | null): Generator<void, void, void> {
    const finishes = [...plan.tasks.values()].map((t) => t.finishedAt).filter((f): f is number => f !== null);
    const last = finishes.length === 0 ? null : Math.max(...finishes);
    if (last === null || this.now - last < TIMING.redispatchAfterMs || (checkedUpTo !== null && checkedUpTo >= last)) return;
    const outline = new Map([...plan.tasks].map(([id, t]) => [id, { status: t.status, dependents: t.dependents }]));
    const unsettled = [...outline].filter(([, t]) => t.status === "failed" || ((t.status === "succeeded" || t.status === "skipped") && t.dependents.some((d) => outline.get(d)?.status === "blocked")));
    for (const [id] of unsettled) {
      yield;
      yield* this.settleFinishedTask(plan, plan.tasks.get(id)!);
    }
    yield* this.finishPlanIfDone(plan);
    this.op(`stall check of ${plan.id}`);
    plan.stallCheckedUpTo = last;
  }

  // ── the sweeper (runtime/sweep.ts, sweep-plans.ts) ──────────────────────────────────────────

  /** One sweep, here and now (the scheduled one, every minute of the clock). */
  sweep(): void {
    this.runToEnd(this.sweeper());
  }

  /** runtime/sweep.ts sweepStalledTasks, then sweep-plans.ts sweepPlans; yields between its round trips. */
  *sweeper(): Generator<void, void, void> {
    this.log("sweep");
    const due: Array<[PlanRecord, TaskDoc]> = [];
    for (const plan of this.plans.values()) for (const task of plan.tasks.values()) if (task.sweepAt !== null && task.sweepAt <= this.now) due.push([plan, task]);
    due.sort((a, b) => a[1].sweepAt! - b[1].sweepAt! || a[0].id.localeCompare(b[0].id) || a[1].id.localeCompare(b[1].id));
    const toPublish: MessageBody[] = [];
    const batch = due.slice(0, SWEEP_BATCH);
    yield; // the plans' statuses, one read: one that has yet to run is left alone, one that ended has its ready tasks cancelled
    const statuses = new Map(batch.map(([plan]) => [plan.id, plan.state.status]));
    for (const [plan, { id }] of batch) {
      const status = statuses.get(plan.id)!;
      if (PLAN_NOT_YET_RUNNING.has(status)) continue;
      yield;
      this.op(`sweep ${plan.id}/${id}`);
      // A status read as final is read again in the task's transaction (store/tasks.ts sweepTask).
      const ended = FINAL_PLAN_STATUSES.has(status) && FINAL_PLAN_STATUSES.has(plan.state.status) ? plan.state.status : undefined;
      // A paused plan (as the batch read it) has its ready tasks parked, not dispatched.
      const decision = decideSweep(plan.tasks.get(id)!, this.now, TIMING, ended, status === "paused");
      if (decision.kind === "skip") continue;
      const after = this.applyTask(plan, id, decision.update, `sweep:${decision.kind}`);
      if (decision.kind === "park") continue;
      if (decision.kind === "redispatch") toPublish.push({ planId: plan.id, taskId: id, attempt: after.attempt, phase: decision.phase });
      else if (decision.kind === "expire_lease" && !decision.failed) toPublish.push({ planId: plan.id, taskId: id, attempt: after.attempt, phase: "run" });
      else if (decision.kind === "republish_token") {
        const token = after.waiting?.tokenHash;
        if (token !== null && token !== undefined) this.publishToken(plan, id, after.attempt, token);
      } else yield* this.settleFinishedTask(plan, after);
    }
    yield;
    this.publish(toPublish);
    yield* this.sweepPlans();
  }

  private *sweepPlans(): Generator<void, void, void> {
    const grace = TIMING.redispatchAfterMs;
    const byStatus = (status: PlanStatus) => [...this.plans.values()].filter((p) => p.statusWritten && p.state.status === status).map((p) => ({ plan: p, snapshot: { ...p.state, startLease: p.startLease, stallCheckedUpTo: p.stallCheckedUpTo } }));

    for (const { plan, snapshot } of byStatus("planning")) {
      if (snapshot.startLease !== null && snapshot.startLease.expiresAt > this.now) continue;
      yield;
      yield* this.startPlan(plan, `sweep:${plan.id}:${this.now}`);
    }
    const pending = [...this.plans.values()].filter((p) => p.effectsPending).map((p) => ({ plan: p, snapshot: { ...p.state, updatedAt: p.updatedAt } }));
    for (const { plan, snapshot } of pending) {
      if (snapshot.updatedAt > this.now - grace) continue;
      yield;
      this.log(`  effects of ${plan.id} (${snapshot.status}, seq ${snapshot.seq}) applied again`);
      yield* this.applyPlanEffects(plan, { to: snapshot.status, seq: snapshot.seq, effects: effectsOf(snapshot.status) });
    }
    for (const { plan, snapshot } of byStatus("running")) {
      yield;
      yield* this.repairQuietPlan(plan, snapshot.stallCheckedUpTo);
    }
    for (const { plan } of byStatus("rolling_back")) {
      yield;
      yield* this.continueRollback(plan);
    }
    yield;
    const woken = this.maintainLocks();
    const waiting = byStatus("waiting").map(({ plan }) => plan.id);
    for (const id of new Set([...woken, ...waiting])) {
      yield;
      yield* this.resumeWaitingPlan(id);
    }
    for (const plan of this.plans.values()) {
      if (plan.statusWritten || plan.createdAt > this.now - grace) continue;
      yield;
      yield* this.startPlan(plan, `sweep:${plan.id}:${this.now}`);
    }
  }
}

/** A generated task as initialTask takes it. */
export function specForEngine(spec: SimTaskSpec) {
  return {
    id: spec.id,
    run: spec.run,
    params: spec.params,
    needs: spec.needs,
    timeoutSeconds: spec.timeoutSeconds,
    triggerRule: spec.triggerRule,
    ...(spec.retry === undefined ? {} : { retry: spec.retry }),
    ...(spec.compensate === undefined ? {} : { compensate: spec.compensate }),
  };
}

/** What the executor returns, by a fraction: mostly success; failures retryable or not; timeouts. */
export function executorOutcome(x: number, phase: Phase): ExecutionOutcome {
  if (phase === "compensate") return x < 0.88 ? { ok: true } : { ok: false, error: { message: "compensation failed", code: "compensation_failed", retryable: false } };
  if (x < 0.76) return { ok: true, output: { x } };
  if (x < 0.86) return { ok: false, error: { message: "transient failure", code: "unavailable", retryable: true } };
  if (x < 0.93) return { ok: false, error: { message: "permanent failure", code: "invalid_argument", retryable: false } };
  return { ok: false, error: { message: "attempt timed out", code: "timeout", retryable: true } };
}
