/**
 * Pure dependency-graph analysis of a task list: structural errors (duplicate ids, unknown or
 * self needs, cycles with their path), dependents, topological levels and order.
 * No Firebase imports: this runs in the planner CLI, the triggers and the unit tests alike.
 */
import type { FieldError } from "../schema/issues";

export interface GraphInput {
  id: string;
  needs: readonly string[];
}

export interface TaskGraph {
  /** Task ids in a topological order (every task after all it needs). */
  order: string[];
  /** Longest-path depth from a root: roots are level 0. */
  level: Map<string, number>;
  dependents: Map<string, string[]>;
  roots: string[];
  sinks: string[];
  edgeCount: number;
  levelCount: number;
}

export type GraphResult = { ok: true; graph: TaskGraph } | { ok: false; errors: FieldError[] };

/** Validates the graph and computes its shape in O(tasks + edges). */
export function analyseGraph(tasks: readonly GraphInput[], basePath = "tasks"): GraphResult {
  const errors: FieldError[] = [];
  const indexOf = new Map<string, number>();
  tasks.forEach((task, i) => {
    if (indexOf.has(task.id)) {
      errors.push({ path: `${basePath}.${i}.id`, message: `duplicate task id "${task.id}" (first at ${basePath}.${indexOf.get(task.id)})` });
    } else {
      indexOf.set(task.id, i);
    }
  });

  const dependents = new Map<string, string[]>();
  for (const task of tasks) dependents.set(task.id, []);
  const inDegree = new Map<string, number>();
  let edgeCount = 0;
  tasks.forEach((task, i) => {
    if (indexOf.get(task.id) !== i) return;
    const seen = new Set<string>();
    let degree = 0;
    task.needs.forEach((need, j) => {
      const path = `${basePath}.${i}.needs.${j}`;
      if (need === task.id) errors.push({ path, message: `task "${task.id}" cannot need itself` });
      else if (!indexOf.has(need)) errors.push({ path, message: `unknown task "${need}"` });
      else if (seen.has(need)) errors.push({ path, message: `"${need}" is listed twice` });
      else {
        seen.add(need);
        dependents.get(need)!.push(task.id);
        degree += 1;
        edgeCount += 1;
      }
    });
    inDegree.set(task.id, degree);
  });
  if (errors.length > 0) return { ok: false, errors };

  // Kahn's algorithm; the level is the longest path from a root, i.e. when a task can start at the earliest.
  const level = new Map<string, number>();
  const queue: string[] = [];
  for (const task of tasks) {
    if (inDegree.get(task.id) === 0) {
      queue.push(task.id);
      level.set(task.id, 0);
    }
  }
  const roots = [...queue];
  const order: string[] = [];
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    order.push(id);
    const next = level.get(id)! + 1;
    for (const dependent of dependents.get(id)!) {
      if (next > (level.get(dependent) ?? 0)) level.set(dependent, next);
      const remaining = inDegree.get(dependent)! - 1;
      inDegree.set(dependent, remaining);
      if (remaining === 0) queue.push(dependent);
    }
  }

  if (order.length < tasks.length) {
    const cycle = findCycle(tasks, new Set(order));
    const first = indexOf.get(cycle[0]!)!;
    return {
      ok: false,
      errors: [{ path: `${basePath}.${first}.needs`, message: `dependency cycle: ${cycle.join(" → ")} (each task needs the next)` }],
    };
  }

  let levelCount = 0;
  for (const value of level.values()) levelCount = Math.max(levelCount, value + 1);
  const sinks = tasks.filter((t) => dependents.get(t.id)!.length === 0).map((t) => t.id);
  return { ok: true, graph: { order, level, dependents, roots, sinks, edgeCount, levelCount } };
}

/**
 * Finds one cycle among the tasks Kahn's algorithm could not order, as a closed path
 * (`a → b → a`) following `needs` edges. Iterative, so a 10,000-task cycle cannot overflow the stack.
 */
function findCycle(tasks: readonly GraphInput[], ordered: ReadonlySet<string>): string[] {
  const needsOf = new Map(tasks.map((t) => [t.id, t.needs.filter((n) => !ordered.has(n))]));
  const state = new Map<string, "open" | "done">();
  for (const start of tasks) {
    if (ordered.has(start.id) || state.has(start.id)) continue;
    const stack: Array<{ id: string; next: number }> = [{ id: start.id, next: 0 }];
    state.set(start.id, "open");
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const needs = needsOf.get(frame.id)!;
      if (frame.next >= needs.length) {
        state.set(frame.id, "done");
        stack.pop();
        continue;
      }
      const need = needs[frame.next++]!;
      if (state.get(need) === "open") {
        const from = stack.findIndex((f) => f.id === need);
        return [...stack.slice(from).map((f) => f.id), need];
      }
      if (!state.has(need)) {
        state.set(need, "open");
        stack.push({ id: need, next: 0 });
      }
    }
  }
  return [];
}
