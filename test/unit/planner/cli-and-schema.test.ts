/**
 * The `npm run plan` text and the generated JSON Schema: the text shows what a reviewer needs
 * (order, gates, critical path, cost vs budget, risks, compliance, outcome), and the schema
 * file on disk is exactly what the zod schemas generate today.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatDuration, formatErrors, formatPlan } from "../../../functions/src/planner/format";
import { planJsonSchema, templateJsonSchema } from "../../../functions/src/planner/json-schema";
import { compilePlan } from "../../../functions/src/planner/compile";
import { compiled, example, ROOT } from "./helpers";

describe("npm run plan output", () => {
  it("summarises the lang-trak plan like terraform plan", () => {
    const text = formatPlan(compiled(example("lang-trak.json")));
    const lines = text.split("\n");
    expect(lines[0]).toBe("Plan: lang-trak rollout");
    expect(text).toContain("  2. staging (staging) lang-trak-staging in us-central1: manual deploy, approval gate, monitoring, backup");
    expect(text).toMatch(/⏸ approval\s+production\.approval {2}\(critical\)/);
    expect(text).toContain("Critical path: 2 h 33 min (16 tasks)");
    expect(text).toMatch(/ {2}TOTAL\s+114\.24/);
    expect(text).toContain("  budget 150.00: within, headroom 35.76 (margin 10 %)");
    expect(text).toContain("  ✓ constraint:budget: estimated $114.24/month is within the $150.00 budget (headroom $35.76)");
    expect(lines[lines.length - 1]).toBe("Outcome: ready to run: 26 tasks, 3 start at once");
  });

  it("says REJECTED with the reasons when a hard constraint fails", () => {
    const doc = example("lang-trak.json");
    const text = formatPlan(compiled({ ...doc, constraints: { ...(doc.constraints as object), budgetUsdPerMonth: 50 } }));
    expect(text).toContain("Outcome: REJECTED: nothing would be provisioned\n  ✗ constraint:budget: estimated $114.24/month exceeds the $50.00 budget by $64.24");
  });

  it("lists every error with its path", () => {
    const result = compilePlan({ tasks: [{ id: "a", run: "delay", params: {} }] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatErrors(result.errors)).toBe("✗ invalid plan: 1 problem\n  tasks.0.params.ms: Invalid input: expected number, received undefined");
  });

  it("formats durations for people", () => {
    expect([0, 59, 60, 150, 3600, 9180].map(formatDuration)).toEqual(["0 s", "59 s", "1 min", "2 min 30 s", "1 h 00 min", "2 h 33 min"]);
  });
});

describe("schema/plan.schema.json", () => {
  it("is up to date with the zod schemas (regenerate with npx tsx local/generate-schema.ts)", () => {
    const onDisk = JSON.parse(readFileSync(join(ROOT, "schema", "plan.schema.json"), "utf8")) as unknown;
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(planJsonSchema())));
  });

  it("describes both forms and a template's instance", () => {
    const schema = planJsonSchema() as { anyOf: Array<{ required?: string[] }> };
    expect(schema.anyOf.map((s) => s.required)).toEqual([["tasks"], ["environments"], ["template"]]);
  });
});

describe("schema/template.schema.json", () => {
  it("is up to date with the zod schemas (regenerate with npx tsx local/generate-schema.ts)", () => {
    const onDisk = JSON.parse(readFileSync(join(ROOT, "schema", "template.schema.json"), "utf8")) as unknown;
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(templateJsonSchema())));
  });
});
