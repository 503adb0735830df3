/** Shared fixtures for the planner specs: the lang-trak examples and small plan builders. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compilePlan, type CompiledPlan, type CompileOptions } from "../../../functions/src/planner/compile";

export const ROOT = join(__dirname, "..", "..", "..");

export function example(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, "examples", name), "utf8")) as Record<string, unknown>;
}

/** Compiles and fails the test with the errors when the plan is invalid. */
export function compiled(doc: Record<string, unknown>, options?: CompileOptions): CompiledPlan {
  const result = compilePlan(doc, options);
  if (!result.ok) throw new Error(`expected a valid plan, got:\n${result.errors.map((e) => `${e.path}: ${e.message}`).join("\n")}`);
  return result.plan;
}

export function errorsOf(doc: Record<string, unknown>, options?: CompileOptions): Array<{ path: string; message: string }> {
  const result = compilePlan(doc, options);
  if (result.ok) throw new Error("expected an invalid plan");
  return result.errors;
}

const FULL = ["authentication", "database", "storage", "functions", "hosting", "monitoring", "backup", "security"];

/** A minimal environment plan; override any part. */
export function envPlan(overrides: Record<string, unknown> = {}, envOverrides: Record<string, Record<string, unknown>> = {}): Record<string, unknown> {
  const env = (name: string, projectId: string, extra: Record<string, unknown>): Record<string, unknown> => ({
    name,
    projectId,
    region: "us-central1",
    integrations: FULL,
    ...extra,
    ...(envOverrides[name] ?? {}),
  });
  return {
    environments: [
      env("dev", "acme-dev", { autoDeploy: true }),
      env("staging", "acme-staging", { autoDeploy: false }),
      env("prod", "acme-prod", { autoDeploy: false, failoverRegion: "us-east1" }),
    ],
    ...overrides,
  };
}
