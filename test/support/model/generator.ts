/**
 * Seeded generator of small plans and of fault sequences for the model-based test of the engine
 * (test/unit/model/plan-lifecycle.model.test.ts). Pure data: a scenario (plans, their tasks and
 * policies) and a list of world events, each resolved against the world's state when it is applied
 * (a fraction picks among what is there), so a sequence with events removed still replays: that is
 * what the shrinker relies on. Reusable by an integration layer that drives the real runtime.
 */
import type { FailurePolicy, RetryPolicy, TriggerRule } from "../../../functions/src/schema/plan";
import { prng } from "../prng";

export type SimRun = "noop" | "http" | "firebase" | "approval" | "external";

export interface SimTaskSpec {
  id: string;
  run: SimRun;
  params: Record<string, unknown>;
  needs: string[];
  timeoutSeconds: number;
  retry?: RetryPolicy;
  triggerRule: TriggerRule;
  compensate?: { run: "noop"; params: Record<string, never> };
}

/** How the plan compiles: almost always to run; now and then a dry run, a rejection or an invalid document. */
export type CompileOutcome = "run" | "planned" | "rejected" | "invalid";

export interface SimPlanSpec {
  id: string;
  shape: string;
  failurePolicy: FailurePolicy;
  compile: CompileOutcome;
  tasks: SimTaskSpec[];
}

export interface Scenario {
  seed: number;
  plans: SimPlanSpec[];
  /** How the drain answers the gates still waiting once the random events stop. */
  gates: "approve" | "reject" | "deadline";
}

/** The environments (Firebase projects) a plan locks: as planner/compile.ts environmentsOf. */
export function environmentsOf(tasks: readonly SimTaskSpec[]): string[] {
  const projects = new Set<string>();
  for (const task of tasks) if (task.run === "firebase") projects.add(String(task.params.projectId));
  return [...projects].sort();
}

export const ENVIRONMENTS = ["env-a", "env-b", "env-c"] as const;
export const TRIGGER_RULES: readonly TriggerRule[] = ["all_success", "all_done", "one_failed", "none_failed"];
export const FAILURE_POLICIES: readonly FailurePolicy[] = ["stop", "continue", "rollback"];

/** Attempt timeouts, small enough that a simulated clock passes them (an approval waits 15 minutes). */
export const TIMEOUT_SECONDS: Readonly<Record<SimRun, number>> = { noop: 60, http: 60, firebase: 300, approval: 900, external: 600 };

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (random: Random, p: number): boolean => random() < p;
const int = (random: Random, lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

/** Needs per task, by shape: index i needs only tasks before it, so the graph is acyclic. */
function shapeNeeds(random: Random, shape: string, n: number): number[][] {
  const needs: number[][] = Array.from({ length: n }, () => []);
  switch (shape) {
    case "chain":
      for (let i = 1; i < n; i++) needs[i] = [i - 1];
      break;
    case "diamond":
      for (let i = 1; i < n - 1; i++) needs[i] = [0];
      if (n > 2) needs[n - 1] = Array.from({ length: n - 2 }, (_, i) => i + 1);
      else needs[1] = [0];
      break;
    case "fan-out":
      for (let i = 1; i < n; i++) needs[i] = [0];
      break;
    case "fan-in":
      // Up to 11 needs on one join: more than FAN_IN_THRESHOLD makes it a wide join (arrivals).
      needs[n - 1] = Array.from({ length: n - 1 }, (_, i) => i);
      break;
    case "layers": {
      const width = int(random, 2, 3);
      for (let i = width; i < n; i++) {
        const layerStart = Math.floor(i / width) * width - width;
        const options = Array.from({ length: width }, (_, k) => layerStart + k).filter((k) => k >= 0 && k < i);
        needs[i] = options.filter(() => chance(random, 0.6));
        if (needs[i]!.length === 0) needs[i] = [pick(random, options)];
      }
      break;
    }
    default:
      // random DAG
      for (let i = 1; i < n; i++) {
        const own = new Set<number>();
        const count = int(random, 0, Math.min(3, i));
        for (let k = 0; k < count; k++) own.add(int(random, 0, i - 1));
        needs[i] = [...own].sort((a, b) => a - b);
      }
  }
  return needs;
}

export function generatePlan(random: Random, id: string, envs: readonly string[]): SimPlanSpec {
  const shape = pick(random, ["chain", "diamond", "fan-out", "fan-in", "layers", "random"]);
  const n = shape === "fan-in" ? int(random, 3, 12) : int(random, 2, 12);
  const needs = shapeNeeds(random, shape, n);
  const tasks: SimTaskSpec[] = [];
  for (let i = 0; i < n; i++) {
    const roll = random();
    const run: SimRun = roll < 0.1 ? "approval" : roll < 0.17 ? "external" : roll < 0.35 && envs.length > 0 ? "firebase" : roll < 0.7 ? "noop" : "http";
    const params: Record<string, unknown> =
      run === "firebase" ? { projectId: pick(random, envs) } : run === "approval" ? (chance(random, 0.25) ? { requiredApprovals: 2 } : {}) : {};
    const task: SimTaskSpec = {
      id: `t${String(i).padStart(2, "0")}`,
      run,
      params,
      needs: needs[i]!.map((k) => `t${String(k).padStart(2, "0")}`),
      timeoutSeconds: TIMEOUT_SECONDS[run],
      triggerRule: chance(random, 0.55) ? "all_success" : pick(random, TRIGGER_RULES),
    };
    if (chance(random, 0.5)) {
      task.retry = { maxAttempts: int(random, 1, 3), initialBackoffSeconds: pick(random, [0, 2, 30]), backoffMultiplier: 2, maxBackoffSeconds: 300, jitter: 0.2 };
    }
    if (run !== "approval" && run !== "external" && chance(random, 0.3)) task.compensate = { run: "noop", params: {} };
    tasks.push(task);
  }
  // Every environment chosen is locked: at least one firebase task names it.
  for (const env of envs) {
    if (!tasks.some((t) => t.run === "firebase" && t.params.projectId === env)) {
      const t = tasks[int(random, 0, n - 1)]!;
      t.run = "firebase";
      t.params = { projectId: env };
      t.timeoutSeconds = TIMEOUT_SECONDS.firebase;
    }
  }
  const c = random();
  const compile: CompileOutcome = c < 0.02 ? "planned" : c < 0.04 ? "rejected" : c < 0.06 ? "invalid" : "run";
  return { id, shape, failurePolicy: pick(random, FAILURE_POLICIES), compile, tasks };
}

/** One to three plans; often two of them share an environment (and so its lock). */
export function generateScenario(seed: number): Scenario {
  const random = prng(seed);
  const count = pick(random, [1, 1, 2, 2, 2, 3]);
  const plans: SimPlanSpec[] = [];
  for (let p = 0; p < count; p++) {
    const envs = chance(random, 0.6) ? [...new Set(Array.from({ length: int(random, 1, 2) }, () => pick(random, count > 1 ? ENVIRONMENTS.slice(0, 2) : ENVIRONMENTS)))] : [];
    plans.push(generatePlan(random, `p${p}`, envs));
  }
  return { seed, plans, gates: pick(random, ["approve", "approve", "reject", "deadline"]) };
}

// ── world events ──────────────────────────────────────────────────────────────────────────────

export type CommandKind = "cancel" | "retry" | "rollback" | "pause" | "resume";

/**
 * What happens next in the world. Fractions (`pick`, `outcome`, `crash`) are resolved against the
 * world as it is when the event applies: `pick` chooses among the candidates (queued messages,
 * live workers, waiting gates), `outcome` an executor's result, and `crash` below CRASH_BELOW makes
 * the operation die after a few writes (the rest of it just does not happen).
 */
export type SimEvent =
  | { kind: "deliver"; pick: number; mode: "once" | "duplicate" | "drop" }
  | { kind: "step"; pick: number; outcome: number; crash: number }
  | { kind: "crash"; pick: number }
  | { kind: "sweep"; crash: number }
  | { kind: "clock"; ms: number }
  | { kind: "approve"; pick: number; verdict: "approve" | "reject"; who: 0 | 1 }
  | { kind: "external"; pick: number; outcome: "succeeded" | "failed" }
  | { kind: "command"; plan: number; command: CommandKind; crash: number };

/** A `crash` fraction below this crashes the operation; the fraction picks after how many writes. */
export const CRASH_BELOW = 0.08;

export const CLOCK_STEPS_MS = [1_000, 5_000, 15_000, 61_000, 95_000, 130_000, 400_000] as const;

/** What the world offers right now, so the generator does not waste events on empty choices. */
export interface Offer {
  queued: number;
  runnable: number;
  gates: number;
  externals: number;
  plans: number;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function nextEvent(random: Random, offer: Offer): SimEvent {
  const weights: Array<[SimEvent["kind"], number]> = [
    ["deliver", offer.queued > 0 ? 34 : 0],
    ["step", offer.runnable > 0 ? 34 : 0],
    ["crash", offer.runnable > 0 ? 3 : 0],
    ["sweep", 7],
    ["clock", 9],
    ["approve", offer.gates > 0 ? 6 : 0],
    ["external", offer.externals > 0 ? 4 : 0],
    ["command", 1.6],
  ];
  const total = weights.reduce((s, [, w]) => s + w, 0);
  let x = random() * total;
  let kind: SimEvent["kind"] = "clock";
  for (const [k, w] of weights) {
    if (x < w) {
      kind = k;
      break;
    }
    x -= w;
  }
  switch (kind) {
    case "deliver": {
      const m = random();
      return { kind, pick: r3(random()), mode: m < 0.08 ? "drop" : m < 0.18 ? "duplicate" : "once" };
    }
    case "step":
      return { kind, pick: r3(random()), outcome: r3(random()), crash: r3(random()) };
    case "crash":
      return { kind, pick: r3(random()) };
    case "sweep":
      return { kind, crash: r3(random()) };
    case "clock":
      return { kind, ms: pick(random, CLOCK_STEPS_MS) };
    case "approve":
      return { kind, pick: r3(random()), verdict: chance(random, 0.8) ? "approve" : "reject", who: chance(random, 0.5) ? 0 : 1 };
    case "external":
      return { kind, pick: r3(random()), outcome: chance(random, 0.75) ? "succeeded" : "failed" };
    case "command": {
      const c = random();
      return { kind, plan: r3(random()), command: c < 0.3 ? "cancel" : c < 0.55 ? "retry" : c < 0.75 ? "rollback" : c < 0.88 ? "pause" : "resume", crash: r3(random()) };
    }
  }
}

export function describeEvent(e: SimEvent): string {
  switch (e.kind) {
    case "deliver":
      return `deliver(${e.pick}, ${e.mode})`;
    case "step":
      return `step(${e.pick}, outcome ${e.outcome}${e.crash < CRASH_BELOW ? `, crash ${e.crash}` : ""})`;
    case "crash":
      return `crash(${e.pick})`;
    case "sweep":
      return `sweep(${e.crash < CRASH_BELOW ? `crash ${e.crash}` : ""})`;
    case "clock":
      return `clock(+${e.ms} ms)`;
    case "approve":
      return `${e.verdict}(${e.pick}, by op${e.who})`;
    case "external":
      return `external(${e.pick}, ${e.outcome})`;
    case "command":
      return `${e.command}(plan ${e.plan}${e.crash < CRASH_BELOW ? `, crash ${e.crash}` : ""})`;
  }
}
