/**
 * Releasing a task's dependents, as pure decisions: when a need finishes, what its dependent's
 * trigger rule says (wait, run, skip) and the dependent's move blocked → ready | skipped. An
 * ordinary dependent keeps its finished needs on its own document (decideRelease); a wide join
 * counts arrivals in documents of their own, in groups (wideJoinEdge), and decides over the counts
 * (decideWideJoinRelease; store/wide-join.ts does the counting). The rest of the task machine is
 * engine/task.ts.
 */
import type { TriggerRule } from "../schema/plan";
import type { TaskDoc, TaskStatus } from "../schema/task";
// engine/task.ts imports this module as well (FAN_IN_THRESHOLD, the trigger rules): neither module
// uses the other's values while it loads, only inside its functions, so the two may load in either order.
import { transition, type EngineTiming, type Skip, type TaskUpdate } from "./task";

// ── trigger rules ──────────────────────────────────────────────────────────────────────────────

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

// ── wide joins ─────────────────────────────────────────────────────────────────────────────────

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

/** Finished needs counted by outcome: one arrival's, one group's, or a whole join's. */
export interface ArrivalCounts {
  done: number;
  succeeded: number;
  failed: number;
}

/** What one need's arrival counts for (its arrival document records it; the group and join sums add these up). */
export function arrivalOutcome(needStatus: TaskStatus): ArrivalCounts {
  return { done: 1, succeeded: needStatus === "succeeded" ? 1 : 0, failed: needStatus === "failed" ? 1 : 0 };
}

/**
 * A wide join's trigger rule over what has arrived (all of it, or a lower bound: the rules are
 * monotone, so what one failure or skip decides, later arrivals cannot undo): blocked → ready |
 * skipped, or undefined while it waits (or when it is not blocked any more).
 */
export function decideWideJoinRelease(join: TaskDoc, counts: ArrivalCounts, lastNeed: string, now: number, timing: EngineTiming): { became: "ready" | "skipped"; update: TaskUpdate } | undefined {
  const update = decideRuleOutcome(join, evaluateTriggerRule(join.triggerRule, { total: join.needs.length, ...counts }), lastNeed, now, timing);
  return update === undefined ? undefined : { became: update.status as "ready" | "skipped", update };
}
