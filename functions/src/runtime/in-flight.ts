/**
 * The tasks of each plan this process is running (claimed, not yet settled). A finished task with
 * no dependents must find out whether its plan is done: one query for an unfinished task. While
 * another task of the same plan is in flight here, the plan cannot be done, so the query is skipped
 * and owed instead; the last task of the plan to leave pays it, after every completion of this
 * process is committed. So the task that finishes last anywhere still runs the query after its
 * own commit, and a 500-leaf fan-out in one process asks a handful of times instead of 500. A
 * process that dies owing a query leaves the plan to the sweeper's stall check.
 */
const plans = new Map<string, { running: number; owed: boolean }>();

export function enter(planId: string): void {
  const entry = plans.get(planId) ?? { running: 0, owed: false };
  entry.running += 1;
  plans.set(planId, entry);
}

/** For a registered task: true (and the query is owed) when another task of the plan is in flight here. */
export function deferWhileOthersRun(planId: string): boolean {
  const entry = plans.get(planId);
  if (entry === undefined || entry.running <= 1) return false;
  entry.owed = true;
  return true;
}

/** Leaves; returns true when this was the plan's last task here and a query is owed (the caller runs it). */
export function leave(planId: string): boolean {
  const entry = plans.get(planId);
  if (entry === undefined) return false;
  entry.running -= 1;
  if (entry.running > 0) return false;
  plans.delete(planId);
  return entry.owed;
}
