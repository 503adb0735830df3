/**
 * The demo plans. `demoEnvironmentPlan()` is what `npm start` runs: the lang-trak
 * rollout as an environment plan (examples/lang-trak.json), provisioned by the `firebase` executor
 * against the local control plane, with the demo operator as its approver. `demoTaskPlan()` is the
 * same shape as an explicit task list of short delays, for benchmarks that measure the engine alone.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEMO_ACCOUNTS } from "./demo-accounts";
import { ROOT } from "./project";

export function demoEnvironmentPlan(): Record<string, unknown> {
  const plan = JSON.parse(readFileSync(join(ROOT, "examples", "lang-trak.json"), "utf8")) as Record<string, unknown>;
  return { ...plan, approvers: [DEMO_ACCOUNTS.operator.email] };
}
interface DemoTask {
  id: string;
  name: string;
  run: "delay" | "noop";
  params: Record<string, unknown>;
  needs: string[];
}

const ENVIRONMENTS = [
  { key: "dev", projectId: "lang-trak-dev", integrations: ["authentication", "database", "storage", "functions", "hosting"] },
  { key: "staging", projectId: "lang-trak-staging", integrations: ["authentication", "database", "storage", "functions", "hosting", "monitoring"] },
  { key: "production", projectId: "lang-trak-prod", integrations: ["authentication", "database", "storage", "functions", "hosting", "monitoring", "backup", "security"] },
] as const;

/** Which integrations each integration needs inside one environment. */
const INTEGRATION_NEEDS: Record<string, string[]> = {
  authentication: [],
  database: [],
  storage: [],
  functions: ["database", "storage"],
  hosting: ["functions"],
  monitoring: ["hosting"],
  backup: ["database"],
  security: ["database", "storage"],
};

export function demoTaskPlan(stepMs = 400): { name: string; description: string; tasks: DemoTask[] } {
  const tasks: DemoTask[] = [];
  let previousVerify: string | undefined;
  for (const env of ENVIRONMENTS) {
    for (const integration of env.integrations) {
      const needs = INTEGRATION_NEEDS[integration]!.map((n) => `${env.key}.${n}`);
      // An environment starts only after the previous one is verified (promotion order).
      if (needs.length === 0 && previousVerify) needs.push(previousVerify);
      tasks.push({ id: `${env.key}.${integration}`, name: `${env.projectId}: provision ${integration}`, run: "delay", params: { ms: stepMs }, needs });
    }
    const verify = `${env.key}.verify`;
    tasks.push({ id: verify, name: `${env.projectId}: verify environment`, run: "noop", params: {}, needs: env.integrations.map((i) => `${env.key}.${i}`) });
    previousVerify = verify;
  }
  return {
    name: "lang-trak rollout",
    description: "dev → staging → production for lang-trak (us-central1)",
    tasks,
  };
}
