/**
 * Runs one sequence of the model: a scenario, random (or given) world events, then the drain, in
 * which only the sweeper, deliveries, the clock and answers to gates move the world on, until
 * every plan has ended (or MAX_DRAIN_SWEEPS sweeps passed). Invariants are checked after every
 * step; a violation comes back with its step, and `shrink` cuts the event list down to what still
 * reproduces it.
 */
import { prng } from "../prng";
import { FINAL_PLAN_STATUSES } from "../../../functions/src/engine/plan";
import { CRASH_BELOW, describeEvent, generateScenario, nextEvent, type Offer, type Scenario, type SimEvent } from "./generator";
import { Checker, checkReference, Violation } from "./invariants";
import { World, type PlanRecord } from "./world";

/** The bound of the "every plan ends" invariant: sweeps after the random events stop, not counting those while a gate waits out its deadline. */
export const MAX_DRAIN_SWEEPS = 50;
/** And counting those: a gate whose deadline does not end it. */
const MAX_DRAIN_SWEEPS_WITH_GATES = 2_000;
/** The drain's clock step between two looks at the world (the sweeper runs every minute of it). */
export const DRAIN_SWEEP_EVERY_MS = 60_000;
/** Deliveries and worker steps in one drain pass before it counts as a storm of messages. */
const MAX_DRAIN_ACTIONS = 5_000;

export interface SequenceStats {
  steps: number;
  executions: number;
  drainSweeps: number;
  /** Final status per plan. */
  finals: string[];
  /** Plans whose end the reference model decided (and checked). */
  decided: number;
  commandsApplied: number;
  known: Map<string, number>;
  /** Benign oddities counted, not failed (invariants.ts): completions past the worker's own lease, starts that waited holding their locks. */
  observations: { lateCompletions: number; sharedStartOwner: number };
}

export interface SequenceResult {
  scenario: Scenario;
  events: SimEvent[];
  violation?: { error: Violation; step: number; event: string };
  stats: SequenceStats;
  log?: string[];
}

export interface RunOptions {
  /** Keep the world's log (for a failure report). */
  verbose?: boolean;
  /** An invariant of the caller's, checked after every step (a message: violated). */
  extra?: (world: World) => string | undefined;
}

const sortedIds = (world: World) => [...world.plans.keys()].sort();

function waitingGates(world: World): Array<[PlanRecord, string]> {
  const out: Array<[PlanRecord, string]> = [];
  for (const id of sortedIds(world)) {
    const plan = world.plan(id);
    for (const t of [...plan.tasks.values()].sort((a, b) => a.id.localeCompare(b.id))) if (t.status === "waiting_approval") out.push([plan, t.id]);
  }
  return out;
}

function knownExternals(world: World): Array<[PlanRecord, string, string]> {
  const out: Array<[PlanRecord, string, string]> = [];
  for (const id of sortedIds(world)) {
    const plan = world.plan(id);
    for (const t of [...plan.tasks.values()].sort((a, b) => a.id.localeCompare(b.id))) {
      const token = t.waiting?.tokenHash;
      if (t.status === "waiting_external" && token !== null && token !== undefined && world.tokens.has(token)) out.push([plan, t.id, token]);
    }
  }
  return out;
}

function offer(world: World): Offer {
  return { queued: world.queue.length, runnable: world.runnable().length, gates: waitingGates(world).length, externals: knownExternals(world).length, plans: world.plans.size };
}

/** The item a fraction of an event picks among what is there (a sequence with events removed still replays). */
export const at = <T>(items: readonly T[], fraction: number): T | undefined => (items.length === 0 ? undefined : items[Math.min(items.length - 1, Math.floor(fraction * items.length))]);
const budgetOf = (crash: number, most: number): number | null => (crash < CRASH_BELOW ? 1 + Math.floor((crash / CRASH_BELOW) * most) : null);

export function applyEvent(world: World, checker: Checker, e: SimEvent): void {
  switch (e.kind) {
    case "deliver": {
      const index = Math.min(world.queue.length - 1, Math.floor(e.pick * world.queue.length));
      const msg = world.queue[index];
      if (msg === undefined) return;
      if (e.mode !== "duplicate") world.queue.splice(index, 1);
      if (e.mode === "drop") {
        world.log(`drop m${msg.id}`);
        return;
      }
      if (e.mode === "duplicate") world.log(`m${msg.id} will be delivered again`);
      world.deliver(msg, { outcome: 0.5 }, null);
      return;
    }
    case "step": {
      const proc = at(world.runnable(), e.pick);
      if (proc === undefined) return;
      world.log(`step ${proc.label}`);
      world.stepProc(proc, { outcome: e.outcome }, budgetOf(e.crash, 4));
      return;
    }
    case "crash": {
      const proc = at(world.procs, e.pick);
      if (proc === undefined) return;
      world.log(`crash ${proc.label}`);
      world.kill(proc);
      return;
    }
    case "sweep": {
      // A sweep runs alongside everything else: it starts now and goes on as `step` events advance it.
      world.log("sweep begins");
      const proc = world.spawn(`sweep@${world.now}`, world.sweeper());
      world.stepProc(proc, { outcome: 0.5 }, budgetOf(e.crash, 12));
      return;
    }
    case "clock":
      world.log(`clock +${e.ms} ms`);
      world.advance(e.ms, () => {
        world.sweep();
        checker.afterSweep(world);
      });
      return;
    case "approve": {
      const gate = at(waitingGates(world), e.pick);
      if (gate !== undefined) world.approve(gate[0], gate[1], e.verdict, e.who);
      return;
    }
    case "external": {
      const ext = at(knownExternals(world), e.pick);
      if (ext !== undefined) world.externalEvent(ext[0], ext[1], ext[2], e.outcome);
      return;
    }
    case "command": {
      // A command runs alongside everything else: it starts now and goes on as `step` events advance it.
      const plan = world.plan(at(sortedIds(world), e.plan)!);
      world.commands.push({ planId: plan.id, command: e.command, from: plan.state.status, at: world.now });
      const proc = world.spawn(`${e.command}:${plan.id}@${world.now}`, world.command(plan, e.command));
      world.stepProc(proc, { outcome: 0.5 }, budgetOf(e.crash, 6));
      return;
    }
  }
}

/** The world is quiet: nothing runs or is queued, and every plan ended with nothing left open. */
function quiet(world: World, checker: Checker): boolean {
  if (world.procs.length > 0 || world.queue.length > 0) return false;
  for (const plan of world.plans.values()) {
    if (checker.toleratedPlan(world, plan)) continue;
    if (!FINAL_PLAN_STATUSES.has(plan.state.status) || plan.effectsPending) return false;
    for (const t of plan.tasks.values()) if (!TERMINAL.has(t.status) && !checker.tolerated(plan, t)) return false;
  }
  // A lock a crash left with an ended plan is freed by the sweeper's lock maintenance: wait for it.
  for (const lock of world.locks.values()) if (!world.ownerIsLive(world.plan(lock.owner))) return false;
  return true;
}

const TERMINAL: ReadonlySet<string> = new Set(["succeeded", "failed", "skipped", "cancelled", "compensated"]);

export function runSequence(scenario: Scenario, source: SimEvent[] | { random: () => number; count: number }, options: RunOptions = {}): SequenceResult {
  const checker = new Checker(options.extra);
  const world = new World(scenario.plans, checker, prng(scenario.seed ^ 0x2545f491));
  if (options.verbose) world.logLines = [];
  const events: SimEvent[] = [];
  const stats: SequenceStats = { steps: 0, executions: 0, drainSweeps: 0, finals: [], decided: 0, commandsApplied: 0, known: checker.known, observations: { lateCompletions: 0, sharedStartOwner: 0 } };
  const finish = (violation?: SequenceResult["violation"]): SequenceResult => {
    stats.executions = checker.executionsSeen;
    stats.finals = sortedIds(world).map((id) => world.plan(id).state.status);
    stats.commandsApplied = world.commandTransitions;
    stats.observations = { lateCompletions: checker.zombieCompletions, sharedStartOwner: checker.sharedStartOwner };
    return { scenario, events, stats, ...(violation === undefined ? {} : { violation }), ...(world.logLines === null ? {} : { log: world.logLines }) };
  };
  let current = "start";
  const step = (label: string, action: () => void) => {
    current = label;
    action();
    checker.afterStep(world);
    stats.steps += 1;
  };
  try {
    const count = Array.isArray(source) ? source.length : source.count;
    for (let i = 0; i < count; i++) {
      const e = Array.isArray(source) ? source[i]! : nextEvent(source.random, offer(world));
      events.push(e);
      world.log(`── event ${i}: ${describeEvent(e)}`);
      step(`event ${i}: ${describeEvent(e)}`, () => applyEvent(world, checker, e));
    }
    drain(world, scenario, checker, stats, step);
    current = "quiet checks";
    checker.quiet(world);
    current = "reference model";
    for (const id of sortedIds(world)) if (checkReference(world, world.plan(id), checker).decided) stats.decided += 1;
  } catch (error) {
    if (!(error instanceof Violation)) throw error;
    return finish({ error, step: stats.steps, event: current });
  }
  return finish();
}

/**
 * After the random events: only deliveries (each once, workers run to their end), answers to the
 * gates still waiting (as the scenario says: approve, reject, or let the deadline pass), the clock
 * and sweeps, until the world is quiet; more than MAX_DRAIN_SWEEPS sweeps is a plan that never ends.
 */
function drain(world: World, scenario: Scenario, checker: Checker, stats: SequenceStats, step: (label: string, action: () => void) => void): void {
  const random = prng(scenario.seed ^ 0x68e31da4);
  let totalSweeps = 0;
  const settle = (round: number) => {
    for (let actions = 0; ; actions++) {
      if (actions > MAX_DRAIN_ACTIONS) checker.fail("every-plan-ends", `drain round ${round}: still busy after ${MAX_DRAIN_ACTIONS} deliveries and steps (a message storm)`);
      const proc = world.runnable()[0];
      if (proc !== undefined) {
        step(`drain ${round}: step ${proc.label}`, () => world.stepProc(proc, { outcome: random() * 0.9 }, null));
        continue;
      }
      if (world.procs.length > 0) {
        const wake = Math.min(...world.procs.map((p) => p.wakeAt));
        step(`drain ${round}: clock to ${wake}`, () => world.advance(wake - world.now, () => {
          world.sweep();
          checker.afterSweep(world);
        }));
        continue;
      }
      const msg = world.queue.shift();
      if (msg === undefined) return;
      step(`drain ${round}: deliver m${msg.id}`, () => world.deliver(msg, { outcome: random() * 0.9 }, null));
    }
  };
  for (let round = 0; ; round++) {
    settle(round);
    // An operator resumes what the events paused (a paused plan waits for that, explicitly).
    for (const plan of [...world.plans.values()].filter((p) => p.state.status === "paused")) {
      step(`drain ${round}: resume ${plan.id}`, () => world.runToEnd(world.command(plan, "resume")));
      settle(round);
    }
    if (scenario.gates !== "deadline") {
      for (const [plan, taskId] of waitingGates(world)) {
        step(`drain ${round}: answer gate ${plan.id}/${taskId}`, () => {
          world.approve(plan, taskId, scenario.gates === "approve" ? "approve" : "reject", 0);
          if (plan.tasks.get(taskId)!.status === "waiting_approval") world.approve(plan, taskId, "approve", 1);
        });
      }
      for (const [plan, taskId, token] of knownExternals(world)) {
        step(`drain ${round}: external ${plan.id}/${taskId}`, () => world.externalEvent(plan, taskId, token, scenario.gates === "approve" ? "succeeded" : "failed"));
      }
      settle(round);
    }
    if (quiet(world, checker)) return;
    if (stats.drainSweeps >= MAX_DRAIN_SWEEPS) {
      const open = sortedIds(world).map((id) => {
        const p = world.plan(id);
        const tasks = [...p.tasks.values()].filter((t) => !TERMINAL.has(t.status) && !checker.tolerated(p, t));
        return `${id}: ${p.state.status}${p.effectsPending ? " (effects pending)" : ""}${tasks.length > 0 ? ` [${tasks.map((t) => `${t.id}:${t.status}`).join(", ")}]` : ""}`;
      });
      for (const [env, lock] of world.locks) open.push(`lock ${env} held by ${lock.owner}`);
      checker.fail("every-plan-ends", `not every plan ended within ${MAX_DRAIN_SWEEPS} sweeps: ${open.join("; ")}`);
      return;
    }
    if (totalSweeps >= MAX_DRAIN_SWEEPS_WITH_GATES) checker.fail("every-plan-ends", `gates still waiting after ${totalSweeps} sweeps (their deadlines do not end them)`);
    step(`drain ${round}: clock +${DRAIN_SWEEP_EVERY_MS} ms, sweep`, () => {
      world.advance(DRAIN_SWEEP_EVERY_MS, () => {
        // Sweeps while a gate waits out its deadline (for a person or another system) do not count.
        const gated = [...world.plans.values()].some((p) => [...p.tasks.values()].some((t) => t.status === "waiting_approval" || t.status === "waiting_external"));
        world.sweep();
        checker.afterSweep(world);
        totalSweeps += 1;
        if (!gated) stats.drainSweeps += 1;
      });
    });
  }
}

/** Events per sequence: between MIN and MAX, from the seed. */
export const MIN_EVENTS = 15;
export const MAX_EVENTS = 110;

/** One random sequence, from its seed alone. */
export function runSeed(seed: number, options: RunOptions = {}): SequenceResult {
  const scenario = generateScenario(seed);
  const random = prng(seed ^ 0x1b873593);
  const count = MIN_EVENTS + Math.floor(random() * (MAX_EVENTS - MIN_EVENTS + 1));
  return runSequence(scenario, { random, count }, options);
}

/**
 * Cuts a failing sequence down while the same invariant still breaks: first everything after the
 * failing step, then chunks of halving size, then single events.
 */
export function shrink(result: SequenceResult, options: RunOptions = {}, maxRuns = 4_000): { events: SimEvent[]; runs: number } {
  const invariant = result.violation!.error.invariant;
  let runs = 0;
  const fails = (events: SimEvent[]) => {
    runs += 1;
    return runSequence(result.scenario, events, options).violation?.error.invariant === invariant;
  };
  let current = result.events;
  for (let chunk = Math.max(1, Math.floor(current.length / 2)); chunk >= 1 && runs < maxRuns; ) {
    let removed = false;
    for (let start = 0; start < current.length && runs < maxRuns; ) {
      const candidate = [...current.slice(0, start), ...current.slice(start + chunk)];
      if (fails(candidate)) {
        current = candidate;
        removed = true;
      } else start += chunk;
    }
    if (!removed) chunk = Math.floor(chunk / 2);
    else chunk = Math.min(chunk, Math.max(1, Math.floor(current.length / 2)));
  }
  return { events: current, runs };
}

/** A failure, for a person: the seed, where it broke, the shrunk sequence and what the world did. */
export function report(seed: number, result: SequenceResult, shrunk: { events: SimEvent[]; runs: number }, options: RunOptions = {}): string {
  const replay = runSequence(result.scenario, shrunk.events, { ...options, verbose: true });
  const v = replay.violation ?? result.violation!;
  const plans = result.scenario.plans.map((p) => `  ${p.id}: ${p.shape}, policy ${p.failurePolicy}, compile ${p.compile}; ${p.tasks.map((t) => `${t.id}=${t.run}${t.needs.length > 0 ? `<${t.needs.join("+")}` : ""}[${t.triggerRule}${t.retry ? `,max ${t.retry.maxAttempts}` : ""}${t.compensate ? ",comp" : ""}${t.run === "firebase" ? `,${String(t.params.projectId)}` : ""}]`).join(" ")}`);
  return [
    `model violation (seed ${seed}): ${v.error.message}`,
    `  at step ${v.step} (${v.event}) of the shrunk sequence (first seen at step ${result.violation!.step} of ${result.events.length} events)`,
    `replay: ORCHESTRATOR_MODEL_SEED=${seed} ORCHESTRATOR_MODEL_SEQUENCES=1 npx jest test/unit/model --selectProjects unit`,
    `scenario (gates: ${result.scenario.gates}):`,
    ...plans,
    `shrunk events (${shrunk.events.length} of ${result.events.length}, ${shrunk.runs} replays):`,
    ...shrunk.events.map((e, i) => `  ${i}: ${describeEvent(e)}`),
    `world log of the shrunk sequence:`,
    ...(replay.log ?? []).slice(-400).map((l) => `  ${l}`),
  ].join("\n");
}
