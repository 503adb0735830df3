/**
 * A plan's refresh, like `terraform plan`'s: reads the observed state of every resource the plan's
 * provision tasks manage (each integration's one reader) and diffs it against what the plan wants.
 * Nothing is changed. Every integration is read at once, so a refresh takes about as long as its
 * slowest integration, not the sum of them.
 */
import { setMaxListeners } from "node:events";
import type { GoogleClients } from "../clients/google";
import { addSummary, emptySummary } from "../planner/expected-state";
import type { ExpectedState, TaskSpec } from "../schema/plan";
import { planIntegration } from "./firebase";
import { observedDigests, summarise, type Change, type ChangeSummary } from "./firebase/change-set";
import { createIntegrationIo } from "./firebase/context";

export interface RefreshedTask {
  taskId: string;
  environment: string;
  projectId: string;
  integration: string;
  changes: Change[];
  summary: ChangeSummary;
}

export interface RefreshResult {
  tasks: RefreshedTask[];
  /** Tasks whose state could not be read (permission, API off): the refresh is incomplete. */
  errors: Array<{ taskId: string; message: string }>;
  total: ChangeSummary;
  /** The `expectedState` to write into the plan: what this refresh saw. */
  expectedState: ExpectedState;
}

const provisionTasks = (tasks: readonly TaskSpec[]): Array<Extract<TaskSpec, { run: "firebase" }>> =>
  tasks.filter((t): t is Extract<TaskSpec, { run: "firebase" }> => t.run === "firebase" && (t.params.action ?? "provision") === "provision");

export async function refreshPlan(tasks: readonly TaskSpec[], clients: GoogleClients, options: { timeoutMs?: number; now?: () => number } = {}): Promise<RefreshResult> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const signal = AbortSignal.timeout(timeoutMs);
  // Every call of every integration listens to it at once.
  setMaxListeners(0, signal);
  const io = createIntegrationIo(clients, { signal, deadline: now() + timeoutMs });
  const started = now();
  const results = await Promise.all(
    provisionTasks(tasks).map(async (t) => {
      try {
        const planned = await planIntegration(t.params as unknown as Record<string, unknown>, io);
        if (!planned.ok) return { taskId: t.id, error: planned.error.message };
        const { params, plan } = planned;
        return { task: { taskId: t.id, environment: params.environment, projectId: params.projectId, integration: params.integration, changes: plan.changes, summary: summarise(plan.changes) } };
      } catch (error) {
        return { taskId: t.id, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  const refreshed: RefreshedTask[] = [];
  const errors: RefreshResult["errors"] = [];
  for (const r of results) {
    if ("task" in r && r.task !== undefined) refreshed.push(r.task);
    else errors.push({ taskId: r.taskId!, message: r.error! });
  }
  const total = refreshed.reduce((sum, t) => addSummary(sum, t.summary), emptySummary());
  return {
    tasks: refreshed,
    errors,
    total,
    expectedState: { refreshedAt: started, tasks: Object.fromEntries(refreshed.map((t) => [t.taskId, { resources: observedDigests(t.changes), summary: t.summary }])) },
  };
}
