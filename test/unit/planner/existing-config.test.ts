/**
 * A configuration in the style existing setups write (snake_case, environments and goals as maps,
 * numeric priorities with 1 the highest, names and descriptions for people), pasted verbatim: it
 * plans, its descriptive fields are kept, and the command line compiles the file as it is.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compilePlan } from "../../../functions/src/planner/compile";
import { ROOT } from "../../../local/project";

// Pasted as it was written; do not tidy it.
const PASTED = String.raw`{
  "name": "LangTrak Firebase orchestration",
  "description": "Goal-driven rollout of the LangTrak app across three Firebase projects",
  "goals": {
    "high_availability": {
      "name": "High Availability",
      "description": "Keep the app reachable: 99.9% monthly uptime",
      "priority": 1,
      "target_environments": ["staging", "production"],
      "required_integrations": ["monitoring", "backup"],
      "success_criteria": { "uptime_percentage": 99.9, "max_downtime_minutes": 43.8 }
    },
    "security_compliance": {
      "name": "Security Compliance",
      "description": "Rules deployed, auth hardened, audit logging on in production",
      "priority": 2,
      "target_environments": ["production"],
      "required_integrations": ["security", "authentication"]
    },
    "cost_optimization": {
      "name": "Cost Optimization",
      "description": "Stay inside the monthly budget",
      "priority": 3,
      "target_environments": ["development", "staging", "production"]
    }
  },
  "constraints": {
    "budget_usd_per_month": 200,
    "require_approval_for": ["production"]
  },
  "environments": {
    "development": {
      "name": "development",
      "description": "Developers' sandbox",
      "project_id": "langtrak-dev",
      "region": "us-central1",
      "integrations": ["authentication", "database", "storage", "functions", "hosting"],
      "auto_deploy": true,
      "monitoring_enabled": false,
      "backup_enabled": false
    },
    "staging": {
      "description": "Pre-production, mirrors prod",
      "project_id": "langtrak-staging",
      "region": "us-central1",
      "integrations": ["authentication", "database", "storage", "functions", "hosting", "monitoring", "backup"],
      "auto_deploy": false,
      "monitoring_enabled": true,
      "backup_enabled": true
    },
    "production": {
      "description": "Live",
      "project_id": "langtrak-prod",
      "region": "us-central1",
      "integrations": ["authentication", "database", "storage", "functions", "hosting", "monitoring", "backup", "security"],
      "auto_deploy": false,
      "monitoring_enabled": true,
      "backup_enabled": true
    }
  }
}`;

describe("an existing snake_case config, verbatim", () => {
  const result = compilePlan(JSON.parse(PASTED) as Record<string, unknown>);

  it("plans, with its numeric priorities ranked and its promotion order kept", () => {
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.plan.outcome).toBe("run");
    const spec = result.plan.report.effectiveSpec!;
    expect(spec.goals.map((g) => [g.id, g.priority])).toEqual([["high_availability", "critical"], ["security_compliance", "high"], ["cost_optimization", "medium"]]);
    expect(spec.environments.map((e) => [e.name, e.projectId])).toEqual([["development", "langtrak-dev"], ["staging", "langtrak-staging"], ["production", "langtrak-prod"]]);
    expect(result.plan.tasks.some((t) => t.id === "production.approval")).toBe(true);
  });

  it("keeps the descriptive fields for people", () => {
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const spec = result.plan.report.effectiveSpec!;
    expect(spec.goals[0]).toMatchObject({ name: "High Availability", description: "Keep the app reachable: 99.9% monthly uptime" });
    expect(spec.environments.map((e) => e.description)).toEqual(["Developers' sandbox", "Pre-production, mirrors prod", "Live"]);
    expect(spec.name).toBe("LangTrak Firebase orchestration");
    expect(spec.description).toBe("Goal-driven rollout of the LangTrak app across three Firebase projects");
  });

  it("compiles from the file with the command line, exit 0", () => {
    const file = join(mkdtempSync(join(tmpdir(), "pasted-")), "orchestration.json");
    writeFileSync(file, PASTED);
    const out = execFileSync(process.execPath, ["--import", "tsx", join(ROOT, "local", "orchestrator.ts"), "plan", file], { cwd: ROOT, encoding: "utf8" });
    expect(out).toContain("Plan: LangTrak Firebase orchestration");
    expect(out).toContain("3. production (production) langtrak-prod in us-central1");
  });
});
