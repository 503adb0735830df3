/**
 * The single entry point from a plan document to something the engine can run, for both forms:
 * an explicit `tasks[]` plan, or an environment plan (goals, constraints, environments; camelCase
 * or the common snake_case shape) that the planner expands into tasks. Validate, expand, analyse
 * the graph, schedule, cost, assess risks and compliance, and describe the result.
 * Pure: no Firebase, no clock, no randomness.
 */
import { applyExpectedState } from "./expected-state";
import { analyseGraph, type TaskGraph } from "../engine/graph";
import { environmentPlanSpecSchema, type EffectiveEnvironmentPlan } from "../schema/environment-plan";
import { parseWith, type FieldError } from "../schema/issues";
import { taskPlanSpecSchema, taskSpecSchema, userSpecOf, type FailurePolicy, type TaskPlanSpec, type TaskSpec } from "../schema/plan";
import { z } from "zod";
import { APPROVAL_WAIT_SECONDS, INTEGRATIONS, VERIFY_INTEGRATION } from "./catalogue";
import { catalogueErrors } from "./checks";
import { assessCompliance, type ComplianceItem } from "./compliance";
import { estimateCost, type CostEstimate } from "./cost";
import { estimateFor, retryRecommendations, statsKey, type DurationStats, type Estimate } from "./estimates";
import { expandEnvironmentPlan, type Catalogue, type TaskMeta } from "./expand";
import { applyProtection, protectionCompliance } from "./protection";
import { EMPTY_POLICY, type ProtectionPolicy } from "../trust/policy";
import { secretBindingErrors, type SecretBindings } from "../egress/config";
import { normaliseEnvironmentPlan } from "./normalise";
import { assessRisks, SEVERITY_RANK, type Risk, type RiskSeverity } from "./risks";
import { buildReport, taskDurationSeconds, type PlanReport } from "./report";
import { scheduleTasks } from "./schedule";
import { recommend, type Recommendation } from "./recommendations";
import { namesTemplate, renderTemplateInstance, type LoadedTemplate } from "./template";

/** `run`: start it; `rejected`: a hard constraint or goal fails, nothing is provisioned; `planned`: dryRun, stop here. */
export type PlanOutcome = "run" | "rejected" | "planned";
export type PlanForm = "tasks" | "environments";

/**
 * What is stored on the plan document as `compiled`: bounded in size whatever the plan's size
 * (counts and totals only; per-task data lives in `report`). Every field is set (no `undefined`),
 * so Firestore accepts it as is.
 */
export interface CompiledSummary {
  form: PlanForm;
  outcome: PlanOutcome;
  taskCount: number;
  edgeCount: number;
  levelCount: number;
  rootCount: number;
  sinkCount: number;
  environmentCount: number;
  /** The Firebase projects it provisions or verifies (the locks it takes), each with its environment's name and tier when the plan names them. */
  environments: Array<{ projectId: string; name: string | null; tier: string | null }>;
  approvalGateCount: number;
  criticalPathSeconds: number;
  criticalPathLength: number;
  monthlyCostUsd: number | null;
  budgetUsdPerMonth: number | null;
  priceTableVersion: string | null;
  riskCount: number;
  highestRiskSeverity: RiskSeverity | null;
  complianceFailures: number;
  /** Why the plan was rejected: at most 10 reasons of at most 300 characters each. */
  rejectedReasons: string[];
  /** The template it was rendered from (a plan document `{template, params}`), at the version rendered; null: written as a plan. */
  template: { id: string; version: number } | null;
  /** How it shares the orchestrator (schema/plan.ts runControlsShape), and the pools its tasks name. */
  controls: { maxParallel: number | null; priority: number; deadlineSeconds: number | null; pools: string[]; failurePolicy: FailurePolicy };
}

export interface CompiledPlan {
  form: PlanForm;
  /** The validated spec: the task plan, or the environment plan with the schema's defaults. */
  spec: TaskPlanSpec | z.output<typeof environmentPlanSpecSchema>;
  tasks: TaskSpec[];
  graph: TaskGraph;
  summary: CompiledSummary;
  report: PlanReport;
  outcome: PlanOutcome;
}

export type CompileResult = { ok: true; plan: CompiledPlan } | { ok: false; errors: FieldError[] };

export interface CompileOptions {
  /** The integration catalogue; tests and benchmarks may pass a larger one. */
  catalogue?: Catalogue;
  /**
   * The deployment's protection policy (`config/protection`): its gates go into every plan that
   * touches a protected project. Absent: nothing is protected (offline `npm run plan` without --policy).
   */
  protection?: ProtectionPolicy;
  /**
   * Which hosts each secret may be sent to (ORCHESTRATOR_SECRET_BINDINGS): an http task that sends a
   * secret anywhere else, or one with no binding, makes the plan invalid. Absent: not checked
   * (offline, where the deployment's bindings are unknown); the executor checks again at run time.
   */
  secretBindings?: SecretBindings;
  /**
   * Durations of earlier runs per `integration@tier` (store/durations.ts): an environment plan's
   * provisions and verifies are planned at their median once there are enough samples. Absent: the
   * catalogue's estimates (offline).
   */
  durationStats?: DurationStats;
  /**
   * The template a plan document `{template, params}` names, loaded by the caller (compiling is
   * pure; store/templates.ts templateForPlan loads the right version). Absent, or another id:
   * the plan is invalid at `template`, "no template named …".
   */
  template?: LoadedTemplate;
}

/**
 * At most this many errors are returned (the last one saying how many were left out): they are
 * written to the plan document, which must stay under Firestore's 1 MiB.
 */
export const MAX_ERRORS = 200;

export function compilePlan(doc: Record<string, unknown>, options: CompileOptions = {}): CompileResult {
  const result = compileAnyForm(doc, options);
  if (result.ok || result.errors.length <= MAX_ERRORS) return result;
  const left = result.errors.length - (MAX_ERRORS - 1);
  return { ok: false, errors: [...result.errors.slice(0, MAX_ERRORS - 1), { path: "", message: `… and ${left} more problems not listed` }] };
}

function compileAnyForm(doc: Record<string, unknown>, options: CompileOptions): CompileResult {
  const spec = userSpecOf(doc);
  if (namesTemplate(spec)) return compileTemplateInstance(spec, options);
  const hasTasks = spec.tasks !== undefined;
  const hasEnvironments = spec.environments !== undefined;
  if (hasTasks && hasEnvironments) {
    return { ok: false, errors: [{ path: "", message: "a plan gives either tasks (a task plan) or environments (an environment plan), not both" }] };
  }
  if (!hasTasks && !hasEnvironments) {
    return { ok: false, errors: [{ path: "", message: "a plan needs either tasks (a task plan) or environments (an environment plan)" }] };
  }
  const protection = options.protection ?? EMPTY_POLICY;
  return hasTasks ? compileTaskPlan(spec, protection, options.secretBindings) : compileEnvironmentPlan(spec, options.catalogue ?? INTEGRATIONS, protection, options.durationStats);
}

/**
 * A template's instance: rendered (planner/template.ts), then compiled as the plan it stands for,
 * its problems located for the instance's author. The summary keeps the template's id and version.
 */
function compileTemplateInstance(spec: Record<string, unknown>, options: CompileOptions): CompileResult {
  const rendered = renderTemplateInstance(spec, options.template);
  if (!rendered.ok) return rendered;
  // The rendered plan names no template (a template's plan may not), so this compiles one of the two forms.
  const compiled = compileAnyForm(rendered.doc, options);
  if (!compiled.ok) return { ok: false, errors: rendered.locate(compiled.errors) };
  compiled.plan.summary.template = rendered.template;
  return compiled;
}

function compileTaskPlan(input: Record<string, unknown>, policy: ProtectionPolicy, secretBindings: SecretBindings | undefined): CompileResult {
  const parsed = parseWith(taskPlanSpecSchema, input);
  if (!parsed.ok) return parsed;
  const spec = parsed.value;
  const misboundSecrets = secretBindings === undefined ? [] : secretBindingErrors(spec.tasks, secretBindings);
  if (misboundSecrets.length > 0) return { ok: false, errors: misboundSecrets };
  // The graph is checked as the author wrote it first, so cycles are reported in their terms.
  const authored = analyseGraph(spec.tasks);
  if (!authored.ok) return authored;
  const protectedPlan = applyProtection(spec.tasks, policy);
  if (!protectedPlan.ok) return protectedPlan;
  const expected = applyExpectedState(protectedPlan.tasks, spec.expectedState, spec.onStale);
  if (!expected.ok) return expected;
  const { tasks } = expected;
  const analysed = analyseGraph(tasks);
  if (!analysed.ok) return analysed;
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const schedule = scheduleTasks(tasks, analysed.graph, (id) => taskDurationSeconds(byId.get(id)!));
  const outcome: PlanOutcome = spec.dryRun ? "planned" : "run";
  const compliance = protectionCompliance(protectedPlan.gates);
  const report = buildReport({ form: "tasks", outcome, outcomeReasons: [], tasks, graph: analysed.graph, schedule, meta: null, catalogue: INTEGRATIONS, effectiveSpec: null, cost: null, risks: [], compliance, recommendations: [], changeSets: expected.report });
  return { ok: true, plan: finish("tasks", spec, tasks, analysed.graph, report) };
}

function compileEnvironmentPlan(input: Record<string, unknown>, catalogue: Catalogue, policy: ProtectionPolicy, durationStats: DurationStats | undefined): CompileResult {
  const normalised = normaliseEnvironmentPlan(input);
  const parsed = parseWith(environmentPlanSpecSchema, normalised.value);
  const errors = [...normalised.errors];
  const located = (list: FieldError[]): FieldError[] => list.map((e) => ({ path: normalised.originalPath(e.path), message: e.message }));
  if (!parsed.ok) errors.push(...located(parsed.errors));
  errors.push(...located(catalogueErrors(normalised.value, catalogue)));
  if (errors.length > 0 || !parsed.ok) return { ok: false, errors };
  const spec = parsed.value;

  const protectedProjects = new Set(policy.protectedEnvironments.map((e) => e.projectId));
  const expansion = expandEnvironmentPlan(spec, catalogue, protectedProjects);
  const tasksParsed = parseWith(z.array(taskSpecSchema), expansion.tasks);
  if (!tasksParsed.ok) {
    // Only reachable with a catalogue whose settings the task schema refuses: a planner bug, reported as such.
    return { ok: false, errors: tasksParsed.errors.map((e) => ({ path: `(generated tasks).${e.path}`, message: e.message })) };
  }
  // Each protected environment's own gate (expand puts one in) is handed to the policy.
  const ownGate = (projectId: string) => {
    const env = expansion.effective.environments.find((e) => e.projectId === projectId && e.approvalGate);
    return env === undefined ? undefined : `${env.name}.approval`;
  };
  const protectedPlan = applyProtection(tasksParsed.value, policy, { ownGate, pathPrefix: "(generated tasks)" });
  if (!protectedPlan.ok) return protectedPlan;
  const expected = applyExpectedState(protectedPlan.tasks, spec.expectedState, spec.onStale);
  if (!expected.ok) return { ok: false, errors: expected.errors.map((e) => ({ path: normalised.originalPath(e.path), message: e.message })) };
  const { tasks } = expected;
  for (const gate of protectedPlan.gates.filter((g) => g.inserted)) {
    const first = expansion.meta.get(gate.gated[0]!);
    expansion.meta.set(gate.taskId, { environment: first?.environment ?? gate.projectId, integration: null, role: "approval", durationSeconds: APPROVAL_WAIT_SECONDS });
  }
  const analysed = analyseGraph(tasks, "(generated tasks)");
  if (!analysed.ok) return analysed;
  const { graph } = analysed;

  const effective = expansion.effective;
  // Provisions and verifies are planned from experience once there is enough of it.
  const tierOf = new Map(effective.environments.map((e) => [e.name, e.tier]));
  const estimates = new Map<string, Estimate>();
  const learnedKeys: Array<{ key: string; taskId: string; timeoutSeconds: number | null }> = [];
  for (const task of tasks) {
    const m = expansion.meta.get(task.id)!;
    const tier = tierOf.get(m.environment);
    if ((m.role !== "provision" && m.role !== "verify") || tier === undefined) continue;
    const key = statsKey(m.integration ?? VERIFY_INTEGRATION, tier);
    const estimate = estimateFor(key, m.durationSeconds, durationStats);
    estimates.set(task.id, estimate);
    m.durationSeconds = estimate.seconds;
    learnedKeys.push({ key, taskId: task.id, timeoutSeconds: task.timeoutSeconds ?? null });
  }
  const schedule = scheduleTasks(tasks, graph, (id) => expansion.meta.get(id)!.durationSeconds);
  const cost = estimateCost(effective, catalogue);
  const risks = assessRisks({
    plan: effective,
    cost,
    criticalPath: schedule.criticalPath,
    criticalPathSeconds: schedule.totalSeconds,
    approvalWaitSeconds: [...expansion.meta.values()].find((m) => m.role === "approval")?.durationSeconds ?? 0,
  });
  const compliance = [...assessCompliance(effective, cost), ...protectionCompliance(protectedPlan.gates)];
  const recommendations = [...recommend(effective, cost, risks, compliance, catalogue), ...retryRecommendations(durationStats, learnedKeys)];
  const failures = compliance.filter((c) => c.status === "fail" && c.hard);
  const outcome: PlanOutcome = failures.length > 0 ? "rejected" : effective.dryRun ? "planned" : "run";
  const report = buildReport({
    form: "environments",
    outcome,
    outcomeReasons: failures.map((f) => `${f.id}: ${f.reason}`),
    tasks,
    graph,
    schedule,
    meta: expansion.meta,
    catalogue,
    effectiveSpec: effective,
    cost,
    risks,
    compliance,
    recommendations,
    changeSets: expected.report,
    estimates,
  });
  return { ok: true, plan: finish("environments", spec, tasks, graph, report) };
}

/** The environments (Firebase projects) a plan provisions or verifies: the locks it needs. */
export function environmentsOf(tasks: readonly TaskSpec[]): string[] {
  const projects = new Set<string>();
  for (const task of tasks) if (task.run === "firebase") projects.add(task.params.projectId);
  return [...projects].sort();
}

function finish(form: PlanForm, spec: CompiledPlan["spec"], tasks: TaskSpec[], graph: TaskGraph, report: PlanReport): CompiledPlan {
  const highest = report.risks.reduce<RiskSeverity | null>((max, r) => (max === null || SEVERITY_RANK[r.severity] > SEVERITY_RANK[max] ? r.severity : max), null);
  const summary: CompiledSummary = {
    form,
    outcome: report.outcome,
    taskCount: tasks.length,
    edgeCount: graph.edgeCount,
    levelCount: graph.levelCount,
    rootCount: graph.roots.length,
    sinkCount: graph.sinks.length,
    environmentCount: report.effectiveSpec?.environments.length ?? 0,
    environments: environmentsOf(tasks).map((projectId) => {
      // An environment plan names its environments; a task plan's firebase tasks name theirs in params.environment.
      const env = report.effectiveSpec?.environments.find((e) => e.projectId === projectId);
      const task = tasks.find((t) => t.run === "firebase" && t.params.projectId === projectId);
      return { projectId, name: env?.name ?? (task?.run === "firebase" ? task.params.environment : null), tier: env?.tier ?? null };
    }),
    approvalGateCount: tasks.filter((t) => t.run === "approval").length,
    criticalPathSeconds: report.criticalPath.durationSeconds,
    criticalPathLength: report.criticalPath.taskIds.length,
    monthlyCostUsd: report.cost?.totalMonthlyUsd ?? null,
    budgetUsdPerMonth: report.cost?.budget?.limitUsd ?? null,
    priceTableVersion: report.cost?.priceTableVersion ?? null,
    riskCount: report.risks.length,
    highestRiskSeverity: highest,
    complianceFailures: report.compliance.filter((c) => c.status === "fail").length,
    rejectedReasons: report.outcomeReasons.slice(0, 10).map((r) => (r.length > 300 ? `${r.slice(0, 299)}…` : r)),
    template: null,
    controls: {
      maxParallel: spec.maxParallel ?? null,
      priority: spec.priority,
      deadlineSeconds: spec.deadlineSeconds ?? null,
      // The policy as compiled: a template's instance has it from its template, not on the document.
      failurePolicy: spec.failurePolicy,
      pools: [...new Set(tasks.flatMap((t) => (t.pool === undefined ? [] : [t.pool])))].sort(),
    },
  };
  return { form, spec, tasks, graph, summary, report, outcome: report.outcome };
}

export type { PlanReport, Risk, ComplianceItem, CostEstimate, Recommendation, EffectiveEnvironmentPlan, TaskMeta };
