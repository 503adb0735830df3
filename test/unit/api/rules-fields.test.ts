/** firestore.rules refuses client plans that set what the orchestrator owns: the same list as the engine's. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SYSTEM_PLAN_FIELDS } from "../../../functions/src/schema/plan";

describe("firestore.rules", () => {
  it("names every orchestrator-owned plan field in systemFields()", () => {
    const rules = readFileSync(join(__dirname, "../../../firestore.rules"), "utf8");
    const body = /function systemFields\(\)\s*\{[^}]*?return\s*\[([^\]]*)\]/.exec(rules);
    expect(body).not.toBeNull();
    const listed = [...body![1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...SYSTEM_PLAN_FIELDS].sort());
  });
});
