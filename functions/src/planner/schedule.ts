/**
 * Critical-path scheduling over an analysed task graph (the classic CPM forward and backward
 * passes): earliest and latest start per task, slack, the critical path and the total duration.
 * Durations are the planner's estimates in seconds; O(tasks + edges).
 */
import type { TaskGraph } from "../engine/graph";

export interface TaskTiming {
  durationSeconds: number;
  earliestStart: number;
  earliestFinish: number;
  latestStart: number;
  latestFinish: number;
  /** How long the task can slip without delaying the plan; 0 on the critical path. */
  slack: number;
}

export interface Schedule {
  timing: Map<string, TaskTiming>;
  /** Task ids from a root to the sink that finishes last, each waiting on the previous. */
  criticalPath: string[];
  totalSeconds: number;
}

export function scheduleTasks(
  tasks: ReadonlyArray<{ id: string; needs: readonly string[] }>,
  graph: TaskGraph,
  durationOf: (id: string) => number,
): Schedule {
  const needsOf = new Map(tasks.map((t) => [t.id, t.needs]));
  const timing = new Map<string, TaskTiming>();
  let totalSeconds = 0;
  for (const id of graph.order) {
    let start = 0;
    for (const need of needsOf.get(id)!) start = Math.max(start, timing.get(need)!.earliestFinish);
    const durationSeconds = durationOf(id);
    const finish = start + durationSeconds;
    timing.set(id, { durationSeconds, earliestStart: start, earliestFinish: finish, latestStart: 0, latestFinish: 0, slack: 0 });
    totalSeconds = Math.max(totalSeconds, finish);
  }
  for (let i = graph.order.length - 1; i >= 0; i--) {
    const id = graph.order[i]!;
    const t = timing.get(id)!;
    let latestFinish = totalSeconds;
    for (const dependent of graph.dependents.get(id)!) latestFinish = Math.min(latestFinish, timing.get(dependent)!.latestStart);
    t.latestFinish = latestFinish;
    t.latestStart = latestFinish - t.durationSeconds;
    t.slack = t.latestStart - t.earliestStart;
  }

  // Walk back from the first task (in topological order) that finishes last, each step through
  // the first need that finishes exactly when the current task can start.
  const criticalPath: string[] = [];
  let current = graph.order.find((id) => graph.dependents.get(id)!.length === 0 && timing.get(id)!.earliestFinish === totalSeconds);
  while (current !== undefined) {
    criticalPath.push(current);
    const start = timing.get(current)!.earliestStart;
    current = needsOf.get(current)!.find((need) => timing.get(need)!.earliestFinish === start);
  }
  criticalPath.reverse();
  return { timing, criticalPath, totalSeconds };
}
