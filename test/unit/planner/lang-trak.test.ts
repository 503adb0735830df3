/**
 * The lang-trak demo plan compiled end to end: its graph, promotion order, gates, cost
 * totals and compliance are the planner's reference output.
 */
import { compilePlan } from "../../../functions/src/planner/compile";
import { PRICE_TABLE } from "../../../functions/src/planner/prices";
import { compiled, example } from "./helpers";

const plan = compiled(example("lang-trak.json"));
const idsOf = (env: string): string[] => plan.tasks.filter((t) => t.id.startsWith(`${env}.`)).map((t) => t.id);
const needs = (id: string): string[] => plan.tasks.find((t) => t.id === id)!.needs;

describe("the lang-trak environment plan", () => {
  it("compiles to 26 tasks in promotion order development → staging → production", () => {
    expect(plan.outcome).toBe("run");
    expect(plan.tasks.map((t) => t.id)).toEqual([
      ...["authentication", "database", "storage", "functions", "hosting", "verify"].map((i) => `development.${i}`),
      ...["approval", "authentication", "database", "storage", "functions", "hosting", "monitoring", "backup", "security", "verify"].map((i) => `staging.${i}`),
      ...["approval", "authentication", "database", "storage", "functions", "hosting", "monitoring", "backup", "security", "verify"].map((i) => `production.${i}`),
    ]);
    expect(plan.summary).toMatchObject({ form: "environments", taskCount: 26, edgeCount: 35, levelCount: 16, rootCount: 3, sinkCount: 1, approvalGateCount: 2 });
  });

  it("wires integration dependencies inside each environment", () => {
    expect(needs("production.functions")).toEqual(["production.database", "production.storage"]);
    expect(needs("production.hosting")).toEqual(["production.functions"]);
    expect(needs("production.monitoring")).toEqual(["production.hosting"]);
    expect(needs("production.backup")).toEqual(["production.database"]);
    expect(needs("production.security")).toEqual(["production.database", "production.storage"]);
    expect(needs("production.verify")).toEqual(["production.authentication", "production.monitoring", "production.backup", "production.security"]);
  });

  it("gates staging and production behind approvals that wait for the previous environment's verify", () => {
    expect(needs("development.database")).toEqual([]);
    expect(plan.tasks.filter((t) => t.run === "approval").map((t) => [t.id, t.needs])).toEqual([
      ["staging.approval", ["development.verify"]],
      ["production.approval", ["staging.verify"]],
    ]);
    expect(needs("staging.database")).toEqual(["staging.approval"]);
    expect(idsOf("development")).not.toContain("development.approval");
  });

  it("emits firebase provision and verify tasks the engine schema accepts", () => {
    const functions = plan.tasks.find((t) => t.id === "production.functions")!;
    expect(functions).toMatchObject({
      run: "firebase",
      params: { integration: "functions", action: "provision", environment: "production", projectId: "lang-trak-prod", region: "us-central1" },
      retry: { maxAttempts: 3 },
      triggerRule: "all_success",
    });
    const verify = plan.tasks.find((t) => t.id === "staging.verify")!;
    expect(verify.run === "firebase" && verify.params.action).toBe("verify");
  });

  it("adds the integrations high_availability requires to staging and says so", () => {
    const staging = plan.report.effectiveSpec!.environments[1]!;
    expect(staging.added).toEqual([
      { integration: "backup", reason: "required by goal high_availability" },
      { integration: "security", reason: "required by goal high_availability" },
    ]);
    expect(plan.report.recommendations[0]!.message).toBe("add backup, security to staging.integrations to meet high_availability explicitly (the planner added them)");
  });

  it("finds the critical path through both gates, 2 h 33 min long, with one milestone per environment", () => {
    expect(plan.report.criticalPath).toEqual({
      taskIds: [
        "development.database", "development.functions", "development.hosting", "development.verify",
        "staging.approval", "staging.database", "staging.functions", "staging.hosting", "staging.monitoring", "staging.verify",
        "production.approval", "production.database", "production.functions", "production.hosting", "production.monitoring", "production.verify",
      ],
      durationSeconds: 9180,
    });
    expect(plan.report.milestones.map((m) => [m.id, m.atSeconds])).toEqual([
      ["development.ready", 600],
      ["staging.ready", 4890],
      ["production.ready", 9180],
    ]);
    const slack = Object.fromEntries(plan.report.graph.nodes.map((n) => [n.id, n.slackSeconds]));
    expect(slack["development.storage"]).toBe(60);
    expect(slack["development.authentication"]).toBe(480);
    expect(slack["production.backup"]).toBe(450);
    expect(plan.report.graph.nodes.filter((n) => n.critical)).toHaveLength(16);
  });

  it("estimates the monthly cost per environment with the versioned price table", () => {
    const cost = plan.report.cost!;
    expect(cost.priceTableVersion).toBe(PRICE_TABLE.version);
    expect(cost.environments).toEqual([
      { environment: "development", tier: "development", monthlyUsd: 0.13 },
      { environment: "staging", tier: "staging", monthlyUsd: 5.17 },
      { environment: "production", tier: "production", monthlyUsd: 108.94 },
    ]);
    expect(cost.totalMonthlyUsd).toBe(114.24);
    expect(cost.budget).toEqual({ limitUsd: 150, margin: 0.1, headroomUsd: 35.76, status: "within" });
    expect(cost.rows.find((r) => r.taskId === "production.hosting")!.monthlyUsd).toBe(43.36);
    // The table adds up: rows → environments → total, in whole cents.
    const cents = (usd: number): number => Math.round(usd * 100);
    for (const env of cost.environments) {
      expect(cost.rows.filter((r) => r.environment === env.environment).reduce((s, r) => s + cents(r.monthlyUsd), 0)).toBe(cents(env.monthlyUsd));
    }
  });

  it("passes every goal and constraint, with reasons", () => {
    expect(plan.report.compliance.map((c) => [c.id, c.status, c.reason])).toEqual([
      ["goal:high_availability", "pass", "staging, production have monitoring, backup, security for 99.9 % uptime (≤ 43.8 min downtime a month); the planner added backup, security to staging"],
      ["constraint:budget", "pass", "estimated $114.24/month is within the $150.00 budget (headroom $35.76)"],
      ["constraint:dataResidency", "pass", 'every region starts with "us-"'],
      ["constraint:requireApprovalFor", "pass", "approval gates before staging, production"],
    ]);
  });

  it("reports only the single-region risk of its HA environments", () => {
    expect(plan.report.risks.map((r) => [r.id, r.severity, r.affectedTasks[0]])).toEqual([
      ["single-region-ha", "medium", "staging.authentication"],
      ["single-region-ha", "medium", "production.authentication"],
    ]);
  });

  it("is rejected, with the reason, when the budget is too small", () => {
    const doc = example("lang-trak.json");
    const result = compilePlan({ ...doc, constraints: { ...(doc.constraints as object), budgetUsdPerMonth: 50 } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.plan.outcome).toBe("rejected");
    expect(result.plan.summary.outcome).toBe("rejected");
    expect(result.plan.report.outcomeReasons).toEqual(["constraint:budget: estimated $114.24/month exceeds the $50.00 budget by $64.24"]);
    expect(result.plan.summary.rejectedReasons).toEqual(result.plan.report.outcomeReasons);
    expect(result.plan.report.recommendations.map((r) => r.message)).toContain(
      "cut $64.24/month to meet the $50.00 budget, or raise it; the largest items are production.hosting ($43.36), production.database ($25.24), production.backup ($20.61)",
    );
  });

  it("is planned only when dryRun is true", () => {
    expect(compiled({ ...example("lang-trak.json"), dryRun: true }).outcome).toBe("planned");
  });
});

describe("the snake_case shape", () => {
  it("gives exactly the same effective spec, tasks and report as the canonical form", () => {
    const snake = compiled(example("lang-trak-snake-case.json"));
    expect(snake.report.effectiveSpec).toEqual(plan.report.effectiveSpec);
    expect(snake.tasks).toEqual(plan.tasks);
    expect(snake.report).toEqual(plan.report);
  });

  it("accepts the $schema key editors use, in both forms, and changes nothing else", () => {
    const doc = example("lang-trak.json");
    expect(doc.$schema).toBe("../schema/plan.schema.json");
    const { $schema: _schema, ...bare } = doc;
    expect(compiled(doc).tasks).toEqual(compiled(bare).tasks);
    const taskPlan = compilePlan({ $schema: "https://example.com/plan.schema.json", tasks: [{ id: "a", run: "noop" }] });
    expect(taskPlan.ok).toBe(true);
    const notText = compilePlan({ $schema: 7, tasks: [{ id: "a", run: "noop" }] });
    expect(notText.ok).toBe(false);
    if (!notText.ok) expect(notText.errors.map((e) => e.path)).toContain("$schema");
  });

  it("accepts numeric goal priorities as existing configs write them (1 = highest)", () => {
    const doc = example("lang-trak-snake-case.json");
    const goals = doc.goals as Record<string, Record<string, unknown>>;
    const withRank = (priority: unknown) => compilePlan({ ...doc, goals: { high_availability: { ...goals.high_availability, priority } } });
    const ranked = [1, 2, 3, 4].map((rank) => {
      const result = withRank(rank);
      expect(result.ok).toBe(true);
      return result.ok ? result.plan.report.effectiveSpec!.goals[0]!.priority : undefined;
    });
    expect(ranked).toEqual(["critical", "high", "medium", "low"]);
    // The same plan as the word for it.
    const two = withRank(2);
    expect(two.ok && two.plan.tasks).toEqual(plan.tasks);
    for (const bad of [0, 1.5, -1]) {
      const result = withRank(bad);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors.map((e) => e.path)).toEqual(["goals.high_availability.priority"]);
    }
  });

  it("points errors at the user's own field names", () => {
    const doc = example("lang-trak-snake-case.json");
    const environments = doc.environments as Record<string, Record<string, unknown>>;
    const result = compilePlan({
      ...doc,
      environments: { ...environments, production: { ...environments.production, project_id: "Bad_Id", integrations: ["database", "warp-drive"] } },
      goals: { ...(doc.goals as object), uptime_forever: {} },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.path)).toEqual(["environments.production.project_id", "environments.production.integrations.1", "goals.uptime_forever"]);
    expect(result.errors[1]!.message).toMatch(/^unknown integration "warp-drive" \(known: authentication, database/);
    expect(result.errors[2]!.message).toMatch(/^unknown goal "uptime_forever"/);
  });
});

describe("the effective spec", () => {
  it("fills defaults without touching the user's document", () => {
    const doc = example("lang-trak.json");
    const before = JSON.stringify(doc);
    const effective = compiled(doc).report.effectiveSpec!;
    expect(JSON.stringify(doc)).toBe(before);
    expect(effective.constraints).toEqual({ budgetUsdPerMonth: 150, budgetMargin: 0.1, requireApprovalFor: ["staging", "production"], dataResidency: "us-", maxCriticalPathMinutes: 480, soft: [] });
    expect(effective.goals[0]).toEqual({
      id: "high_availability",
      name: "High availability",
      description: "Keep staging and production up: 99.9 % monthly uptime, at most 43.8 minutes of downtime",
      priority: "high",
      targetEnvironments: ["staging", "production"],
      requiredIntegrations: ["monitoring", "backup", "security"],
      successCriteria: { uptimePercent: 99.9, maxDowntimeMinutes: 43.8 },
      // The uptime target implies an availability SLO over 30 days, alerting on the SRE Workbook's tiers.
      slos: [
        {
          sli: { kind: "availability" },
          objectivePercent: 99.9,
          window: { rolling: { days: 30 } },
          alertTiers: [
            { name: "page-1h", severity: "page", burnRate: 14.4, longWindowMinutes: 60, shortWindowMinutes: 5 },
            { name: "page-6h", severity: "page", burnRate: 6, longWindowMinutes: 360, shortWindowMinutes: 30 },
            { name: "ticket-3d", severity: "ticket", burnRate: 1, longWindowMinutes: 4320, shortWindowMinutes: 360 },
          ],
        },
      ],
      enforce: "add",
    });
    expect(effective.environments.map((e) => [e.name, e.tier, e.autoDeploy, e.approvalGate, e.monitoring, e.backup])).toEqual([
      ["development", "development", true, false, false, false],
      ["staging", "staging", false, true, true, true],
      ["production", "production", false, true, true, true],
    ]);
  });
});

describe("a goal's SLOs", () => {
  it("are the goal's own when it states them, checked field by field", () => {
    const latency = { sli: { kind: "latency", thresholdMs: 300, percentile: 95 }, window: { calendar: "month" }, alertTiers: [{ name: "slow", severity: "ticket", burnRate: 2, longWindowMinutes: 360, shortWindowMinutes: 30 }] };
    const doc = { ...example("lang-trak.json"), goals: [{ id: "high_availability", successCriteria: { uptimePercent: 99.5 }, slos: [latency] }] };
    const goal = compiled(doc).report.effectiveSpec!.goals[0]!;
    expect(goal.slos).toEqual([{ sli: { kind: "latency", thresholdMs: 300, percentile: 95 }, objectivePercent: 95, window: { calendar: "month" }, alertTiers: latency.alertTiers }]);
    const bad = compilePlan({ ...doc, goals: [{ id: "high_availability", slos: [{ sli: { kind: "availability" } }, { ...latency, alertTiers: [{ ...latency.alertTiers[0], shortWindowMinutes: 400 }] }] }] });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.errors.map((e) => e.path)).toEqual(["goals.0.slos.0.objectivePercent", expect.stringMatching(/^goals\.0\.slos\.1\.alertTiers\.0/)]);
  });
});

describe("a bake", () => {
  it("watches an environment after its verify, and the next tier waits for it", () => {
    const doc = example("lang-trak.json") as { environments: Array<Record<string, unknown>> };
    const baked = { ...doc, environments: doc.environments.map((e) => (e.name === "staging" ? { ...e, bakeMinutes: 30 } : e)) };
    const plan = compiled(baked);
    const bake = plan.tasks.find((t) => t.id === "staging.bake")!;
    expect(bake).toMatchObject({ run: "external", needs: ["staging.verify"], timeoutSeconds: 30 * 60 + 15 * 60 });
    // The strictest availability SLO of the goals that target staging: the 99.9 % high-availability goal.
    expect(bake.params).toMatchObject({ bake: { projectId: "lang-trak-staging", environment: "staging", minutes: 30, slo: { sli: { kind: "availability" }, objectivePercent: 99.9 } } });
    expect(plan.tasks.find((t) => t.id === "production.approval")!.needs).toEqual(["staging.bake"]);
    expect(plan.report.graph.nodes.find((n) => n.id === "staging.bake")).toMatchObject({ role: "bake", durationSeconds: 1800 });
    // Without one, production follows staging's verify as before.
    expect(compiled(doc).tasks.find((t) => t.id === "production.approval")!.needs).toEqual(["staging.verify"]);
  });
});
