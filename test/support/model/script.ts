/**
 * Hand-written sequences on the model world (world.ts), for tests that replay one precise
 * interleaving (test/unit/model/findings.test.ts): small plan builders, delivering one chosen
 * message, stepping one worker, and letting time pass with the sweeper running every minute.
 */
import type { FailurePolicy, TriggerRule } from "../../../functions/src/schema/plan";
import { TIMEOUT_SECONDS, type CommandKind, type SimPlanSpec, type SimRun, type SimTaskSpec } from "./generator";
import { World, type Message, type PlanRecord, type Proc, type WorldObserver } from "./world";

/** An observer that checks nothing: the test asserts what it means to. */
export const NO_CHECKS: WorldObserver = {
  planTransition: () => undefined,
  commandDecided: () => undefined,
  taskChange: () => undefined,
  claimed: () => undefined,
  executed: () => undefined,
  completed: () => undefined,
  gaveBack: () => undefined,
  locksGranted: () => undefined,
  tasksCreated: () => undefined,
  effect: () => undefined,
  crashed: () => undefined,
};

export function task(id: string, run: SimRun, needs: string[] = [], extra: Partial<SimTaskSpec> = {}): SimTaskSpec {
  const params = run === "firebase" ? { projectId: "env-a" } : {};
  return { id, run, params, needs, timeoutSeconds: TIMEOUT_SECONDS[run], triggerRule: "all_success" as TriggerRule, ...extra };
}

export function plan(id: string, failurePolicy: FailurePolicy, tasks: SimTaskSpec[]): SimPlanSpec {
  return { id, shape: "scripted", failurePolicy, compile: "run", tasks };
}

export function scriptedWorld(plans: SimPlanSpec[], observer: WorldObserver = NO_CHECKS): World {
  return new World(plans, observer, () => 0.5);
}

/** Outcome fractions for `step` (world.ts executorOutcome): success, a permanent failure. */
export const SUCCEED = 0.1;
export const FAIL = 0.9;
/** At a completion of a cancelled plan: the cancellation watcher did not notice. */
export const UNNOTICED = 0.9;

/** A cancel, retry or rollback, applied here and now to its end (`crashAfter` writes: it dies there). */
export function command(world: World, plan: PlanRecord, kind: CommandKind, crashAfter: number | null = null): void {
  world.withBudget(crashAfter, () => world.runToEnd(world.command(plan, kind)));
}

/** Takes the first queued message that matches and delivers it (its worker runs up to its first yield). */
export function deliver(world: World, match: (m: Message) => boolean, outcome = SUCCEED): Proc | undefined {
  const index = world.queue.findIndex(match);
  if (index < 0) throw new Error(`no queued message matches (queue: ${world.queue.map((m) => (m.kind === "task" ? `${m.taskId}#${m.attempt}` : m.kind)).join(", ")})`);
  const [msg] = world.queue.splice(index, 1);
  const before = new Set(world.procs);
  world.deliver(msg!, { outcome }, null);
  return world.procs.find((p) => !before.has(p));
}

export const created = (planId: string) => (m: Message) => m.kind === "plan_created" && m.planId === planId;
export const taskMessage = (taskId: string, phase: "run" | "compensate" = "run") => (m: Message) => m.kind === "task" && m.taskId === taskId && m.phase === phase;

/** Advances one worker to its next yield (`times` times); `crashAfter` writes: it dies there. */
export function step(world: World, proc: Proc, outcome = SUCCEED, times = 1, crashAfter: number | null = null): void {
  for (let i = 0; i < times && world.procs.includes(proc); i++) world.stepProc(proc, { outcome }, crashAfter);
}

/** Runs every worker to its end and delivers every queued message (each once), until nothing is left. */
export function settleAll(world: World, outcome = SUCCEED): void {
  for (let i = 0; i < 10_000; i++) {
    const proc = world.runnable()[0];
    if (proc !== undefined) {
      world.stepProc(proc, { outcome }, null);
      continue;
    }
    if (world.procs.length > 0) {
      world.advance(Math.min(...world.procs.map((p) => p.wakeAt)) - world.now);
      continue;
    }
    const msg = world.queue.shift();
    if (msg === undefined) return;
    world.deliver(msg, { outcome }, null);
  }
  throw new Error("the world does not settle");
}

/** Lets `minutes` pass, a minute at a time (a sweep each), settling everything in between. */
export function passMinutes(world: World, minutes: number, outcome = SUCCEED): void {
  for (let i = 0; i < minutes; i++) {
    world.advance(60_000);
    settleAll(world, outcome);
  }
}
