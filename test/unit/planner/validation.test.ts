/**
 * What compilePlan refuses and how it says so: every problem at once, with the path of the
 * field to fix; unknown integrations and goals named; cycles with their path. And what it
 * accepts but rejects before anything is provisioned.
 */
import { compilePlan } from "../../../functions/src/planner/compile";
import { INTEGRATIONS } from "../../../functions/src/planner/catalogue";
import { compiled, envPlan, errorsOf } from "./helpers";

describe("plan forms", () => {
  it("still compiles explicit task plans, with a report and no cost", () => {
    const plan = compiled({
      tasks: [
        { id: "a", run: "delay", params: { ms: 2000 } },
        { id: "b", run: "noop", needs: ["a"] },
        { id: "c", run: "delay", params: { ms: 500 }, needs: ["a"] },
        { id: "d", run: "noop", needs: ["b", "c"] },
      ],
    });
    expect(plan.form).toBe("tasks");
    expect(plan.outcome).toBe("run");
    expect(plan.summary).toMatchObject({ form: "tasks", taskCount: 4, edgeCount: 4, levelCount: 3, monthlyCostUsd: null, environmentCount: 0 });
    expect(plan.report.criticalPath).toEqual({ taskIds: ["a", "c", "d"], durationSeconds: 2.5 });
    expect(plan.report.graph.nodes.find((n) => n.id === "b")!.slackSeconds).toBe(0.5);
    expect(plan.report.graph.edges).toEqual([["a", "b"], ["a", "c"], ["b", "d"], ["c", "d"]]);
    expect(plan.report.graph.levels).toEqual([["a"], ["b", "c"], ["d"]]);
    expect(plan.report.cost).toBeNull();
  });

  it("marks a dry-run task plan as planned", () => {
    expect(compiled({ dryRun: true, tasks: [{ id: "a", run: "noop" }] }).outcome).toBe("planned");
  });

  it("refuses a document with neither or both forms", () => {
    expect(errorsOf({})).toEqual([{ path: "", message: "a plan needs either tasks (a task plan) or environments (an environment plan)" }]);
    expect(errorsOf({ tasks: [], environments: [] })[0]!.message).toMatch(/not both/);
  });

  it("ignores the fields the orchestrator owns", () => {
    expect(compiled({ ...envPlan(), status: "pending", createdAt: 1 }).outcome).toBe("run");
  });
});

describe("environment plan errors", () => {
  it("reports every problem at once, each at its path", () => {
    const errors = errorsOf(
      envPlan(
        { goals: [{ id: "uptime" }, { id: "high_availability", targetEnvironments: ["moon"], requiredIntegrations: ["teleport"] }], constraints: { requireApprovalFor: ["qa-env"], budgetUsdPerMonth: "ten" } },
        { dev: { integrations: ["database", "quantum"], region: "Mars" }, staging: { projectId: "x" } },
      ),
    );
    expect(errors.map((e) => e.path)).toEqual([
      "constraints.budgetUsdPerMonth",
      "environments.0.region",
      "environments.1.projectId",
      "environments.0.integrations.1",
      "goals.0.id",
      "goals.1.targetEnvironments.0",
      "goals.1.requiredIntegrations.0",
      "constraints.requireApprovalFor.0",
    ]);
    expect(errors.find((e) => e.path === "environments.0.integrations.1")!.message).toBe(
      'unknown integration "quantum" (known: authentication, database, storage, functions, hosting, monitoring, backup, security)',
    );
    expect(errors.find((e) => e.path === "goals.0.id")!.message).toBe('unknown goal "uptime" (known: high_availability, security_compliance, cost_optimization)');
  });

  it("refuses duplicate environments, duplicate integrations and contradicting flags", () => {
    const doc = envPlan({}, { staging: { name: "dev" }, prod: { integrations: ["database", "database", "monitoring"], monitoring: false } });
    expect(errorsOf(doc).map((e) => [e.path, e.message])).toEqual([
      ["environments.1.name", 'duplicate environment "dev" (first at environments.0)'],
      ["environments.2.integrations.1", '"database" is listed twice'],
      ["environments.2.monitoring", 'monitoring is false but integrations lists "monitoring": remove one of the two'],
    ]);
  });

  it("reports a dependency cycle with its path", () => {
    const catalogue = { ...INTEGRATIONS, database: { ...INTEGRATIONS.database!, needs: ["hosting"] } };
    const errors = errorsOf(envPlan({}, {}), { catalogue });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toBe("dependency cycle: dev.database → dev.hosting → dev.functions → dev.database (each task needs the next)");
  });

  it("reports a cycle in an explicit task plan with its path", () => {
    const errors = errorsOf({ tasks: [{ id: "a", run: "noop", needs: ["c"] }, { id: "b", run: "noop", needs: ["a"] }, { id: "c", run: "noop", needs: ["b"] }] });
    expect(errors).toEqual([{ path: "tasks.0.needs", message: "dependency cycle: a → c → b → a (each task needs the next)" }]);
  });
});

describe("dependencies and defaults", () => {
  it("adds what an integration needs, and recommends listing it", () => {
    const plan = compiled(envPlan({}, { dev: { integrations: ["hosting"] } }));
    expect(plan.report.effectiveSpec!.environments[0]!.integrations).toEqual(["hosting", "functions", "database", "storage"]);
    expect(plan.report.recommendations[0]!.message).toBe(
      "list functions (needed by hosting), database (needed by functions), storage (needed by functions) in dev.integrations: the planner added them as dependencies",
    );
  });

  it("infers tiers from names, and promotes by tier whatever the written order", () => {
    const doc = envPlan();
    const [dev, staging, prod] = doc.environments as Array<Record<string, unknown>>;
    const plan = compiled({ ...doc, environments: [prod, dev, staging] });
    expect(plan.report.effectiveSpec!.environments.map((e) => [e.name, e.tier])).toEqual([["dev", "development"], ["staging", "staging"], ["prod", "production"]]);
    expect(plan.tasks.find((t) => t.id === "prod.approval")!.needs).toEqual(["staging.verify"]);
  });

  it("runs environments of the same tier side by side after the previous tier", () => {
    const doc = envPlan();
    const envs = doc.environments as Array<Record<string, unknown>>;
    const plan = compiled({ ...doc, environments: [...envs, { ...envs[1], name: "staging-eu", projectId: "acme-staging-eu", region: "europe-west1" }] });
    expect(plan.tasks.find((t) => t.id === "staging-eu.approval")!.needs).toEqual(["dev.verify"]);
    expect(plan.tasks.find((t) => t.id === "prod.approval")!.needs).toEqual(["staging.verify", "staging-eu.verify"]);
  });

  it("gives a gate the environment's approvers, else leaves the plan's approvers to apply", () => {
    const plan = compiled(envPlan({ approvers: ["lead@acme.example"] }, { prod: { approvers: ["cto@acme.example"] } }));
    const gateDefaults = { requiredApprovals: 1, allowSelfApproval: false };
    expect(plan.tasks.find((t) => t.id === "prod.approval")!.params).toEqual({ prompt: expect.any(String), approvers: ["cto@acme.example"], ...gateDefaults });
    expect(plan.tasks.find((t) => t.id === "staging.approval")!.params).toEqual({ prompt: expect.any(String), ...gateDefaults });
  });
});

describe("compliance", () => {
  it("rejects a goal with enforce fail that the environments do not meet", () => {
    const plan = compiled(envPlan({ goals: [{ id: "high_availability", targetEnvironments: ["staging"], enforce: "fail" }] }, { staging: { integrations: ["database", "storage"] } }));
    expect(plan.outcome).toBe("rejected");
    expect(plan.report.outcomeReasons).toEqual(['goal:high_availability: staging lacks monitoring, backup, security (enforce is "fail", so the planner did not add them)']);
  });

  it("rejects regions outside the data residency prefix, failover regions included", () => {
    const plan = compiled(envPlan({ constraints: { dataResidency: "us-" } }, { prod: { failoverRegion: "europe-west1" } }));
    expect(plan.outcome).toBe("rejected");
    expect(plan.report.compliance.find((c) => c.id === "constraint:dataResidency")).toEqual({
      id: "constraint:dataResidency",
      kind: "constraint",
      status: "fail",
      hard: true,
      reason: 'outside "us-": prod (europe-west1)',
    });
  });

  it("reports a soft constraint's failure without rejecting", () => {
    const plan = compiled(envPlan({ constraints: { budgetUsdPerMonth: 10, soft: ["budget"] } }));
    expect(plan.outcome).toBe("run");
    expect(plan.report.compliance.find((c) => c.id === "constraint:budget")).toMatchObject({ status: "fail", hard: false });
    expect(plan.summary.complianceFailures).toBe(1);
  });

  it("judges cost_optimization against the budget", () => {
    const over = compiled(envPlan({ goals: [{ id: "cost_optimization" }], constraints: { budgetUsdPerMonth: 100, soft: ["budget"] } }));
    expect(over.report.compliance[0]).toEqual({ id: "goal:cost_optimization", kind: "goal", status: "fail", hard: false, reason: "estimated $114.44/month over the $100.00 budget" });
    const none = compiled(envPlan({ goals: [{ id: "cost_optimization" }] }));
    expect(none.report.compliance[0]!.reason).toBe("no budget set; estimated $114.44/month");
  });
});

describe("result size", () => {
  it("keeps the summary small and the report JSON-serialisable for a 10,000-task plan", () => {
    const tasks = Array.from({ length: 10_000 }, (_, i) => ({ id: `t${i}`, run: "noop", needs: i === 0 ? [] : [`t${Math.floor((i - 1) / 2)}`] }));
    const result = compilePlan({ tasks });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(JSON.stringify(result.plan.summary).length).toBeLessThan(1000);
    const report = JSON.parse(JSON.stringify(result.plan.report)) as typeof result.plan.report;
    expect(report.graph.nodes).toHaveLength(10_000);
    expect(report.timeline).toHaveLength(10_000);
    expect(report.graph.edges).toHaveLength(9_999);
  });
});
