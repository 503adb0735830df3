/**
 * The full compiled plan as plain JSON (no Maps, no undefined): what the status page draws and
 * `npm run plan -- --json` prints. Per-task arrays live here, never in the bounded summary, so
 * a 10,000-task report stays serialisable and the caller decides where to store it.
 */
import type { ChangeSetReport } from "./expected-state";
import type { TaskGraph } from "../engine/graph";
import type { EffectiveEnvironmentPlan } from "../schema/environment-plan";
import type { TaskSpec } from "../schema/plan";
import { APPROVAL_WAIT_SECONDS, VERIFY_DURATION_SECONDS, VERIFY_INTEGRATION, integrationEntry } from "./catalogue";
import type { ComplianceItem } from "./compliance";
import type { CostEstimate } from "./cost";
import type { Estimate } from "./estimates";
import type { Catalogue, TaskMeta, TaskRole } from "./expand";
import type { Recommendation } from "./recommendations";
import type { Risk } from "./risks";
import type { Schedule } from "./schedule";

export interface ReportNode {
  id: string;
  name: string | null;
  run: TaskSpec["run"];
  environment: string | null;
  integration: string | null;
  role: TaskRole | null;
  level: number;
  durationSeconds: number;
  earliestStartSeconds: number;
  latestStartSeconds: number;
  slackSeconds: number;
  critical: boolean;
  /** Where its planned duration came from: the catalogue, or its history (median, p90, samples); null: a fixed wait or a task plan's own. */
  estimate: Estimate | null;
  /** What rollback does for this task (environment plans), from the catalogue. */
  compensation: string | null;
  healthChecks: string[];
}

export interface Milestone {
  /** `<env>.ready` */
  id: string;
  environment: string;
  /** The task whose completion is the milestone (the environment's verify task). */
  taskId: string;
  atSeconds: number;
}

export interface PlanReport {
  form: "tasks" | "environments";
  outcome: "run" | "rejected" | "planned";
  outcomeReasons: string[];
  effectiveSpec: EffectiveEnvironmentPlan | null;
  graph: {
    nodes: ReportNode[];
    /** `[need, dependent]`: the dependent starts after the need. */
    edges: Array<[string, string]>;
    /** Task ids per topological level (level 0 needs nothing). */
    levels: string[][];
  };
  criticalPath: { taskIds: string[]; durationSeconds: number };
  /** Earliest start and finish of every task, ordered by start (a Gantt chart's rows). */
  timeline: Array<{ id: string; startSeconds: number; finishSeconds: number }>;
  milestones: Milestone[];
  totalDurationSeconds: number;
  durationAssumptions: string[];
  cost: CostEstimate | null;
  risks: Risk[];
  compliance: ComplianceItem[];
  recommendations: Recommendation[];
  /** What the plan's refresh found it would change, per environment (null: compiled without a refresh). */
  changeSets: ChangeSetReport | null;
}

export const DURATION_ASSUMPTIONS: readonly string[] = [
  "firebase tasks: the catalogue's estimate per integration (provision) and 60 s per environment verify; unknown integrations 60 s.",
  `approval tasks: ${APPROVAL_WAIT_SECONDS / 60} min for a person to answer (replace with your team's median).`,
  "delay tasks: their ms; http: 5 s; external: its timeoutSeconds, at most 1 h; noop: 0 s.",
];

/** Expected duration of an explicit task, for the critical path of task plans. */
export function taskDurationSeconds(task: TaskSpec): number {
  switch (task.run) {
    case "noop":
      return 0;
    case "delay":
      return task.params.ms / 1000;
    case "http":
      return 5;
    case "approval":
      return APPROVAL_WAIT_SECONDS;
    case "external":
      return Math.min(task.timeoutSeconds ?? 3600, 3600);
    case "firebase":
      if (task.params.action === "verify") return VERIFY_DURATION_SECONDS;
      return integrationEntry(task.params.integration)?.durationSeconds ?? 60;
  }
}

export interface ReportInput {
  form: PlanReport["form"];
  outcome: PlanReport["outcome"];
  outcomeReasons: string[];
  tasks: readonly TaskSpec[];
  graph: TaskGraph;
  schedule: Schedule;
  meta: ReadonlyMap<string, TaskMeta> | null;
  catalogue: Catalogue;
  effectiveSpec: EffectiveEnvironmentPlan | null;
  cost: CostEstimate | null;
  risks: Risk[];
  compliance: ComplianceItem[];
  recommendations: Recommendation[];
  changeSets?: ChangeSetReport | null;
  /** Where each provision's and verify's planned duration came from (environment plans). */
  estimates?: ReadonlyMap<string, Estimate>;
}

/** Seconds rounded to milliseconds: float noise from fractional delays never reaches the report. */
const secs = (value: number): number => Math.round(value * 1000) / 1000;

/** What the estimates learned from history say, in one line with their numbers. */
function learnedAssumption(estimates: ReadonlyMap<string, Estimate> | undefined): string[] {
  const learned = [...(estimates?.entries() ?? [])].filter((e): e is [string, Extract<Estimate, { source: "history" }>] => e[1].source === "history");
  if (learned.length === 0) return [];
  return [`${learned.length} task${learned.length === 1 ? "" : "s"} planned from earlier runs (median of their finished attempts, per integration × tier): ${learned.map(([id, e]) => `${id} ${e.medianSeconds} s (p90 ${e.p90Seconds} s, ${e.samples} runs)`).join("; ")}.`];
}

export function buildReport(input: ReportInput): PlanReport {
  const { tasks, graph, schedule, meta, catalogue } = input;
  const critical = new Set(schedule.criticalPath);
  const nodes: ReportNode[] = [];
  const edges: Array<[string, string]> = [];
  const levels: string[][] = Array.from({ length: graph.levelCount }, () => []);
  for (const task of tasks) {
    const t = schedule.timing.get(task.id)!;
    const m = meta?.get(task.id) ?? null;
    const level = graph.level.get(task.id)!;
    const entry = m?.integration ? catalogue[m.integration] : undefined;
    nodes.push({
      id: task.id,
      name: task.name ?? null,
      run: task.run,
      environment: m?.environment ?? null,
      integration: m?.integration ?? (task.run === "firebase" && task.params.integration !== VERIFY_INTEGRATION ? task.params.integration : null),
      role: m?.role ?? null,
      level,
      durationSeconds: secs(t.durationSeconds),
      earliestStartSeconds: secs(t.earliestStart),
      latestStartSeconds: secs(t.latestStart),
      slackSeconds: secs(t.slack),
      critical: critical.has(task.id),
      estimate: input.estimates?.get(task.id) ?? null,
      compensation: entry?.compensation ?? null,
      healthChecks: entry ? [...entry.healthChecks] : [],
    });
    for (const need of task.needs) edges.push([need, task.id]);
    levels[level]!.push(task.id);
  }
  const timeline = graph.order
    .map((id) => ({ id, startSeconds: secs(schedule.timing.get(id)!.earliestStart), finishSeconds: secs(schedule.timing.get(id)!.earliestFinish) }))
    .sort((a, b) => a.startSeconds - b.startSeconds);
  const milestones: Milestone[] = (input.effectiveSpec?.environments ?? []).map((env) => ({
    id: `${env.name}.ready`,
    environment: env.name,
    taskId: `${env.name}.verify`,
    atSeconds: secs(schedule.timing.get(`${env.name}.verify`)!.earliestFinish),
  }));
  return {
    form: input.form,
    outcome: input.outcome,
    outcomeReasons: input.outcomeReasons,
    effectiveSpec: input.effectiveSpec,
    graph: { nodes, edges, levels },
    criticalPath: { taskIds: schedule.criticalPath, durationSeconds: secs(schedule.totalSeconds) },
    timeline,
    milestones,
    totalDurationSeconds: secs(schedule.totalSeconds),
    durationAssumptions: [...DURATION_ASSUMPTIONS, ...learnedAssumption(input.estimates)],
    cost: input.cost,
    risks: input.risks,
    compliance: input.compliance,
    recommendations: input.recommendations,
    changeSets: input.changeSets ?? null,
  };
}
