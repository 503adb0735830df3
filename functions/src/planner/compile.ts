/**
 * The single entry point from a plan document to something the engine can run: validate the
 * user's spec, analyse its graph, and describe the result. Pure: no Firebase, no clock.
 */
import { analyseGraph, type TaskGraph } from "../engine/graph";
import { parseWith, type FieldError } from "../schema/issues";
import { taskPlanSpecSchema, userSpecOf, type TaskPlanSpec, type TaskSpec } from "../schema/plan";

/** What is stored on the plan document as `compiled`: bounded in size whatever the plan's size. */
export interface CompiledSummary {
  form: "tasks";
  taskCount: number;
  edgeCount: number;
  levelCount: number;
  rootCount: number;
  sinkCount: number;
}

export interface CompiledPlan {
  spec: TaskPlanSpec;
  tasks: TaskSpec[];
  graph: TaskGraph;
  summary: CompiledSummary;
}

export type CompileResult = { ok: true; plan: CompiledPlan } | { ok: false; errors: FieldError[] };

export function compilePlan(doc: Record<string, unknown>): CompileResult {
  const parsed = parseWith(taskPlanSpecSchema, userSpecOf(doc));
  if (!parsed.ok) return parsed;
  const spec = parsed.value;
  const analysed = analyseGraph(spec.tasks);
  if (!analysed.ok) return analysed;
  const { graph } = analysed;
  return {
    ok: true,
    plan: {
      spec,
      tasks: spec.tasks,
      graph,
      summary: {
        form: "tasks",
        taskCount: spec.tasks.length,
        edgeCount: graph.edgeCount,
        levelCount: graph.levelCount,
        rootCount: graph.roots.length,
        sinkCount: graph.sinks.length,
      },
    },
  };
}
