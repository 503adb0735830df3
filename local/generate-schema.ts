/**
 * Writes schema/plan.schema.json from the zod schemas (see functions/src/planner/json-schema.ts).
 * Run: `npx tsx local/generate-schema.ts`; `--check` exits 1 when the file is stale instead.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { planJsonSchema } from "../functions/src/planner/json-schema";

const target = join(__dirname, "..", "schema", "plan.schema.json");
const text = `${JSON.stringify(planJsonSchema(), null, 2)}\n`;

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {
    // a missing file is stale
  }
  if (current !== text) {
    console.error("✗ schema/plan.schema.json is out of date: run npx tsx local/generate-schema.ts");
    process.exitCode = 1;
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
