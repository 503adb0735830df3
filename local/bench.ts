/**
 * `npm run bench`: every benchmark, printed as a table and written to bench/results.json as
 * `{ "<name>": { value, unit, goal } }`. Pure benchmarks run in-process; the end-to-end ones start
 * the local stack (Firestore, Pub/Sub, functions emulators) and stop it afterwards.
 *
 *   npm run bench                  everything but the soak
 *   npm run bench -- --pure        only benchmarks that need no emulators
 *   npm run bench -- --only stack  one group: pure | engine | stack | soak (the others keep their last figures)
 *   npm run bench -- --only soak   the model-based fault test at soak size (about 15 minutes)
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchLocalStack } from "../bench/local-stack";
import { benchEngine } from "../bench/engine";
import { benchHealth } from "../bench/health";
import { benchPage } from "../bench/page";
import { benchPlanner, type BenchFigure } from "../bench/planner";
import { benchRefresh } from "../bench/refresh";
import { benchSchedules } from "../bench/schedules";
import { benchSlo } from "../bench/slo";
import { benchSoak } from "../bench/soak";
import { localFirestore } from "./admin";
import { buildFunctions, buildPage } from "./build";
import { ensureChromium } from "./chromium";
import { assertPortsFree, startSuite, type SuiteEmulator } from "./emulators";
import { emulator, ROOT } from "./project";
import { startTicker } from "./scheduler";

const onlyIndex = process.argv.indexOf("--only");
const only = process.argv.includes("--pure") ? "pure" : onlyIndex >= 0 ? process.argv[onlyIndex + 1] : undefined;
const runs = (group: "pure" | "engine" | "stack" | "soak") => (group === "soak" ? only === group : only === undefined || only === group);
const RESULTS = join(ROOT, "bench", "results.json");
const STACK: SuiteEmulator[] = ["firestore", "pubsub", "functions", "auth", "hosting"];

async function withSuite(emulators: SuiteEmulator[], work: () => Promise<void>): Promise<void> {
  await assertPortsFree(emulators);
  const suite = startSuite(emulators);
  onStop.length = 0;
  const onSignal = () => void suite.stop().then(() => process.exit(130));
  process.once("SIGINT", onSignal);
  try {
    await suite.ready;
    await work();
  } finally {
    process.off("SIGINT", onSignal);
    for (const stop of onStop) stop();
    await suite.stop();
  }
}

const results: Record<string, BenchFigure> = {};
const onStop: Array<() => void> = [];

/** Written after every group, so a long run interrupted midway still leaves what it measured. */
function save(): void {
  const previous = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, "utf8")) as Record<string, BenchFigure>) : {};
  writeFileSync(RESULTS, `${JSON.stringify({ ...previous, ...results }, null, 2)}\n`);
}

async function main(): Promise<void> {
  if (runs("pure")) {
    console.log("› planner (pure)…");
    Object.assign(results, await benchPlanner());
    console.log("› health run (in-memory store, local probe servers)…");
    Object.assign(results, await benchHealth());
    console.log("› SLO evaluation (10 environments × 50 SLOs, 30 days of 1-minute history each)…");
    Object.assign(results, await benchSlo());
    console.log("› plan refresh (10 environments × 50 provisions against the local control plane, 20–200 ms per call)…");
    Object.assign(results, await benchRefresh());
    save();
  }
  if (runs("soak")) {
    // The model-based fault test at soak size: the pure layer here, the live layer on Firestore + Pub/Sub.
    await withSuite(["firestore", "pubsub"], async () => {
      localFirestore();
      console.log("› soak: the model-based fault test, 100,000 pure and 1,000 live sequences…");
      Object.assign(results, await benchSoak((line) => console.log(`  ${line}`)));
      save();
    });
  }
  if (runs("engine") || runs("stack")) buildFunctions();
  if (runs("engine")) {
    // The engine alone, in this process, against Firestore and Pub/Sub (no functions emulator, so
    // nothing else runs the plans and every Firestore operation is counted here).
    await withSuite(["firestore", "pubsub"], async () => {
      console.log("› engine (in-process, Firestore + Pub/Sub emulators)…");
      Object.assign(results, await benchEngine(localFirestore(), (line) => console.log(`  ${line}`)));
      save();
    });
  }
  if (runs("stack")) {
    await buildPage();
    ensureChromium();
    await withSuite(STACK, async () => {
      // The sweeper runs as deployed, so a delivery the functions emulator drops under load is recovered.
      const ticker = await startTicker({
        onFire: (fn, status) => {
          if (status instanceof Error || status >= 400) console.log(`  local Cloud Scheduler: ${fn.id} failed: ${status instanceof Error ? status.message : `HTTP ${status}`}`);
        },
      });
      onStop.push(() => ticker.stop());
      console.log("› local stack end to end (functions emulator)…");
      Object.assign(results, await benchLocalStack(localFirestore(), (line) => console.log(`  ${line}`)));
      save();
      console.log("› schedules: tick to run start, fireSchedules fired by the local scheduler (3 ticks, about 4 minutes)…");
      Object.assign(results, await benchSchedules(localFirestore(), (line) => console.log(`  ${line}`)));
      save();
      console.log("› status page in headless Chromium…");
      const hosting = emulator("hosting");
      Object.assign(results, await benchPage(`http://${hosting.host}:${hosting.port}`));
    });
  }

  const width = Math.max(...Object.keys(results).map((k) => k.length));
  console.log(`\n${"benchmark".padEnd(width)}  ${"value".padStart(12)}  unit      goal`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`${name.padEnd(width)}  ${String(r.value).padStart(12)}  ${r.unit.padEnd(8)}  ${r.goal}`);
  }
  save();
  console.log(`\nwrote bench/results.json`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`✗ ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
