/**
 * The functions runtime named for deploys is one the pinned firebase-tools still deploys today:
 * the CLI refuses a decommissioned runtime (nodejs20 was decommissioned on 2026-10-31), so a
 * stale name here blocks every real deploy. firebase.json and functions/package.json agree.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..", "..");
const readJson = (path: string) => JSON.parse(readFileSync(join(ROOT, path), "utf8"));

// firebase-tools' own table of runtimes and its deploy-time guard (the code `firebase deploy` runs).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const supported = require("firebase-tools/lib/deploy/functions/runtimes/supported") as {
  isRuntime(runtime: string): boolean;
  guardVersionSupport(runtime: string, now?: Date): void;
  RUNTIMES: Record<string, { decommissionDate: string; deprecationDate: string }>;
};

describe("functions runtime", () => {
  const codebases = ([] as { source: string; runtime?: string }[]).concat(readJson("firebase.json").functions);

  it("names a runtime in every functions codebase", () => {
    expect(codebases.length).toBeGreaterThan(0);
    for (const codebase of codebases) expect(codebase.runtime).toMatch(/^nodejs\d+$/);
  });

  it.each(codebases.map((c) => [c.source, c.runtime ?? ""]))("%s deploys on %s with the pinned firebase-tools, today", (_source, runtime) => {
    expect(supported.isRuntime(runtime)).toBe(true);
    expect(() => supported.guardVersionSupport(runtime, new Date())).not.toThrow();
  });

  it("refuses the decommissioned nodejs20 (the guard this test relies on is real)", () => {
    expect(() => supported.guardVersionSupport("nodejs20", new Date("2026-11-01T00:00:00Z"))).toThrow(/decommissioned/);
  });

  it("functions/package.json asks for the same Node major as firebase.json", () => {
    const engines = readJson("functions/package.json").engines as { node: string };
    for (const codebase of codebases) expect(`nodejs${engines.node}`).toBe(codebase.runtime);
  });
});
