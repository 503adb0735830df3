/**
 * A plan's `expectedState` (written by `npm run plan -- --refresh --apply`): each provision task
 * gets the digests of what it was planned against (`params.expect`), so at run time it can tell
 * whether the live state moved; the report keeps the change-set summary per environment.
 */
import type { ChangeSummary } from "../executors/firebase/change-set";
import type { FieldError } from "../schema/issues";
import type { ExpectedState, TaskSpec } from "../schema/plan";

export interface ChangeSetReport {
  /** Epoch ms of the refresh. */
  refreshedAt: number;
  total: ChangeSummary;
  environments: Array<{ environment: string; projectId: string; summary: ChangeSummary; tasks: Array<{ taskId: string; integration: string; summary: ChangeSummary }> }>;
}

const isProvision = (t: TaskSpec): t is Extract<TaskSpec, { run: "firebase" }> => t.run === "firebase" && (t.params.action ?? "provision") === "provision";

/** Per environment, at most this many tasks are listed in the report (the summary counts them all). */
const MAX_TASKS_LISTED = 200;

export const emptySummary = (): ChangeSummary => ({ create: 0, update: 0, replace: 0, noop: 0 });

export function addSummary(into: ChangeSummary, s: ChangeSummary): ChangeSummary {
  into.create += s.create;
  into.update += s.update;
  into.replace += s.replace;
  into.noop += s.noop;
  return into;
}

export function applyExpectedState(
  tasks: TaskSpec[],
  expected: ExpectedState | undefined,
  onStale: "stop" | "replan",
): { ok: true; tasks: TaskSpec[]; report: ChangeSetReport | null } | { ok: false; errors: FieldError[] } {
  if (expected === undefined) return { ok: true, tasks, report: null };
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const errors: FieldError[] = Object.keys(expected.tasks)
    .filter((id) => {
      const t = byId.get(id);
      return t === undefined || !isProvision(t);
    })
    .map((id) => ({ path: `expectedState.tasks.${id}`, message: `no provision task ${id} in this plan: the expected state was refreshed for another plan (refresh again)` }));
  if (errors.length > 0) return { ok: false, errors };
  const envs = new Map<string, ChangeSetReport["environments"][number]>();
  const total = emptySummary();
  const out = tasks.map((t): TaskSpec => {
    const seen = expected.tasks[t.id];
    if (seen === undefined || !isProvision(t)) return t;
    const { environment, projectId, integration } = t.params;
    const env = envs.get(projectId) ?? { environment, projectId, summary: emptySummary(), tasks: [] };
    envs.set(projectId, env);
    addSummary(env.summary, seen.summary);
    addSummary(total, seen.summary);
    // Kept small (the report's overview is one document): the summary per environment is whole.
    if (env.tasks.length < MAX_TASKS_LISTED) env.tasks.push({ taskId: t.id, integration, summary: seen.summary });
    return { ...t, params: { ...t.params, expect: { resources: seen.resources, onStale } } };
  });
  return { ok: true, tasks: out, report: { refreshedAt: expected.refreshedAt, total, environments: [...envs.values()] } };
}
