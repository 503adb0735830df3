/**
 * Writes schema/plan.schema.json and schema/template.schema.json from the zod schemas (see
 * functions/src/planner/json-schema.ts). Run: `npx tsx local/generate-schema.ts`; `--check` exits
 * 1 when a file is stale instead.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { planJsonSchema, templateJsonSchema } from "../functions/src/planner/json-schema";

const FILES: ReadonlyArray<{ name: string; schema: () => Record<string, unknown> }> = [
  { name: "plan.schema.json", schema: planJsonSchema },
  { name: "template.schema.json", schema: templateJsonSchema },
];

for (const { name, schema } of FILES) {
  const target = join(__dirname, "..", "schema", name);
  const text = `${JSON.stringify(schema(), null, 2)}\n`;
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(target, "utf8");
    } catch {
      // a missing file is stale
    }
    if (current !== text) {
      console.error(`✗ schema/${name} is out of date: run npx tsx local/generate-schema.ts`);
      process.exitCode = 1;
    }
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}
