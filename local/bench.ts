/**
 * `npm run bench`: every benchmark, printed as a table and written to bench/results.json as
 * `{ "<name>": { value, unit, goal } }`. Pure benchmarks run in-process; the end-to-end ones start
 * the local stack (Firestore, Pub/Sub, functions emulators) and stop it afterwards.
 *
 *   npm run bench                  everything
 *   npm run bench -- --pure        only benchmarks that need no emulators
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchLocalStack } from "../bench/local-stack";
import { benchHealth } from "../bench/health";
import { benchPlanner, type BenchFigure } from "../bench/planner";
import { localFirestore } from "./admin";
import { buildFunctions } from "./build";
import { assertPortsFree, startSuite, type SuiteEmulator } from "./emulators";
import { ROOT } from "./project";

const pureOnly = process.argv.includes("--pure");
const STACK: SuiteEmulator[] = ["firestore", "pubsub", "functions"];

async function main(): Promise<void> {
  const results: Record<string, BenchFigure> = {};
  console.log("› planner (pure)…");
  Object.assign(results, await benchPlanner());
  console.log("› health run (in-memory store, local probe servers)…");
  Object.assign(results, await benchHealth());

  if (!pureOnly) {
    buildFunctions();
    await assertPortsFree(STACK);
    console.log("› starting the local stack for end-to-end benchmarks…");
    const suite = startSuite(STACK);
    process.on("SIGINT", () => void suite.stop().then(() => process.exit(130)));
    try {
      await suite.ready;
      Object.assign(results, await benchLocalStack(localFirestore(), (line) => console.log(`  ${line}`)));
    } finally {
      await suite.stop();
    }
  }

  const width = Math.max(...Object.keys(results).map((k) => k.length));
  console.log(`\n${"benchmark".padEnd(width)}  ${"value".padStart(12)}  unit      goal`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`${name.padEnd(width)}  ${String(r.value).padStart(12)}  ${r.unit.padEnd(8)}  ${r.goal}`);
  }
  writeFileSync(join(ROOT, "bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote bench/results.json`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`✗ ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
