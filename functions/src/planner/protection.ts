/**
 * Puts the protection policy's gates into a compiled task list (both plan forms): every task that
 * provisions, verifies or compensates in a protected project runs only after a gate whose approvers,
 * approval count, self-approval rule and deadline come from the policy, never from the plan. An
 * environment plan's own gate for that project is taken over (its approvers replaced); anything
 * else gets a gate `protected.<projectId>.approval` inserted before the tasks that touch the project.
 * Pure.
 */
import type { FieldError } from "../schema/issues";
import type { TaskSpec } from "../schema/plan";
import { protectedEnvironmentOf, type ProtectedEnvironment, type ProtectionPolicy } from "../trust/policy";

/** The projects a task changes or reads through Google's APIs, including its compensation's. */
export function projectsTouchedBy(task: TaskSpec): string[] {
  const projects: string[] = [];
  if (task.run === "firebase") projects.push(task.params.projectId);
  if (task.compensate?.run === "firebase") projects.push(task.compensate.params.projectId);
  return projects;
}

export const protectedGateId = (projectId: string): string => `protected.${projectId}.approval`;

/** What a gate that the policy owns carries in its params (on top of the approval params). */
export interface ProtectedGateParams {
  prompt: string;
  approvers: string[];
  requiredApprovals: number;
  allowSelfApproval: boolean;
  /** Marks the gate as the policy's: set only here, never accepted from a plan. */
  protectedProject: string;
}

export interface ProtectedGate {
  projectId: string;
  taskId: string;
  /** Whether the gate was inserted (true) or the plan's own gate was taken over (false). */
  inserted: boolean;
  environment: ProtectedEnvironment;
  /** The tasks it holds back. */
  gated: string[];
}

export type Protection = { ok: true; tasks: TaskSpec[]; gates: ProtectedGate[] } | { ok: false; errors: FieldError[] };

/** Trigger rules under which a failed (rejected) gate would still let a task run. */
const BYPASSING_RULES = new Set(["all_done", "one_failed"]);

export function applyProtection(
  tasks: readonly TaskSpec[],
  policy: ProtectionPolicy,
  options: {
    /** The plan's own gate for a project (an environment plan's `<env>.approval`), to take over. */
    ownGate?: (projectId: string) => string | undefined;
    /** Where a task's errors point: `tasks.<i>` or `(generated tasks).<i>`. */
    pathPrefix?: string;
  } = {},
): Protection {
  const prefix = options.pathPrefix ?? "tasks";
  const touching = new Map<string, number[]>();
  tasks.forEach((task, index) => {
    for (const projectId of new Set(projectsTouchedBy(task))) {
      if (protectedEnvironmentOf(policy, projectId) === undefined) continue;
      touching.set(projectId, [...(touching.get(projectId) ?? []), index]);
    }
  });
  if (touching.size === 0) return { ok: true, tasks: [...tasks], gates: [] };

  const errors: FieldError[] = [];
  const ids = new Set(tasks.map((t) => t.id));
  for (const [projectId, indexes] of touching) {
    if (ids.has(protectedGateId(projectId)) && options.ownGate?.(projectId) !== protectedGateId(projectId)) {
      const at = tasks.findIndex((t) => t.id === protectedGateId(projectId));
      errors.push({ path: `${prefix}.${at}.id`, message: `${protectedGateId(projectId)} is reserved for the gate of protected environment ${projectId}` });
    }
    for (const i of indexes) {
      const rule = tasks[i]!.triggerRule;
      if (BYPASSING_RULES.has(rule)) {
        errors.push({
          path: `${prefix}.${i}.triggerRule`,
          message: `${tasks[i]!.id} changes protected environment ${projectId}, so it runs only after that environment's approval succeeds: use all_success or none_failed, not ${rule}`,
        });
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  const out = tasks.map((t) => ({ ...t, needs: [...t.needs] })) as TaskSpec[];
  const byId = new Map(out.map((t) => [t.id, t]));
  const gates: ProtectedGate[] = [];
  for (const [projectId, indexes] of touching) {
    const environment = protectedEnvironmentOf(policy, projectId)!;
    const gated = indexes.map((i) => out[i]!.id);
    const params: ProtectedGateParams = {
      prompt: `Change protected environment ${projectId}: ${gated.length} task${gated.length === 1 ? "" : "s"} (${gated.slice(0, 5).join(", ")}${gated.length > 5 ? ", …" : ""})?`,
      approvers: [...environment.approvers],
      requiredApprovals: environment.requiredApprovals,
      allowSelfApproval: environment.allowSelfApproval,
      protectedProject: projectId,
    };
    const timeoutSeconds = Math.round(environment.approvalDeadlineHours * 3600);
    const own = options.ownGate?.(projectId);
    const ownTask = own === undefined ? undefined : byId.get(own);
    if (ownTask !== undefined && ownTask.run === "approval" && !("protectedProject" in ownTask.params) && gated.every((id) => isAncestor(byId, own!, id))) {
      const prompt = typeof ownTask.params.prompt === "string" ? `${ownTask.params.prompt} (protected environment ${projectId})` : params.prompt;
      Object.assign(ownTask, { params: { ...params, prompt }, timeoutSeconds });
      gates.push({ projectId, taskId: own!, inserted: false, environment, gated });
      continue;
    }
    const gateId = protectedGateId(projectId);
    const inside = descendantsOf(byId, gated);
    const needs = [...new Set(gated.flatMap((id) => byId.get(id)!.needs))].filter((n) => !inside.has(n));
    const gate = { id: gateId, name: `approve changes to protected environment ${projectId}`, run: "approval", params, needs, timeoutSeconds, triggerRule: "all_success" } as unknown as TaskSpec;
    for (const id of gated) byId.get(id)!.needs.push(gateId);
    out.push(gate);
    byId.set(gateId, gate);
    gates.push({ projectId, taskId: gateId, inserted: true, environment, gated });
  }
  return { ok: true, tasks: out, gates };
}

/** Whether `ancestor` is reached by following `needs` from `task`. */
function isAncestor(byId: ReadonlyMap<string, TaskSpec>, ancestor: string, task: string): boolean {
  const seen = new Set<string>();
  const stack = [...(byId.get(task)?.needs ?? [])];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === ancestor) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(byId.get(id)?.needs ?? []));
  }
  return false;
}

/**
 * The given tasks and everything downstream of them. The inserted gate may only need tasks outside
 * this set: a gate that waited for something downstream of what it holds back would be a cycle.
 */
function descendantsOf(byId: ReadonlyMap<string, TaskSpec>, roots: readonly string[]): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const t of byId.values()) for (const n of t.needs) dependents.set(n, [...(dependents.get(n) ?? []), t.id]);
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(dependents.get(id) ?? []));
  }
  return seen;
}

/** The compliance lines a report shows for the gates, one per protected project. */
export function protectionCompliance(gates: readonly ProtectedGate[]): Array<{ id: string; kind: "constraint"; status: "pass"; hard: true; reason: string }> {
  return gates.map((g) => ({
    id: `policy:protected:${g.projectId}`,
    kind: "constraint",
    status: "pass",
    hard: true,
    reason:
      `${g.projectId} is a protected environment: ${g.taskId} (${g.inserted ? "inserted by the policy" : "the plan's gate, approvers set by the policy"}) needs ` +
      `${g.environment.requiredApprovals} of ${g.environment.approvers.join(", ")}; ` +
      `${g.environment.allowSelfApproval ? "the plan's creator may approve" : "the plan's creator may not approve"}; deadline ${g.environment.approvalDeadlineHours} h`,
  }));
}
