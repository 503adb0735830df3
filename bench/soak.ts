/**
 * The model-based fault test at soak size (`npm run bench -- --only soak`): 100,000 pure sequences
 * (the engine's decisions composed as the runtime composes them, test/support/model/run.ts) and
 * 1,000 sequences on the Firestore and Pub/Sub emulators (the real engine, runtime and store,
 * test/support/model/live.ts), from seeds past those `npm test` runs. Goal: no violation. A
 * violation is reported with its seed, so `npm test` can replay it
 * (ORCHESTRATOR_MODEL_SEED / ORCHESTRATOR_MODEL_LIVE_SEED).
 *
 *   ORCHESTRATOR_SOAK_PURE=N, ORCHESTRATOR_SOAK_LIVE=N   other sizes (the goal stays the same)
 */
import { performance } from "node:perf_hooks";
import { LiveHarness } from "../test/support/model/live";
import { runSeed } from "../test/support/model/run";
import type { BenchFigure } from "./planner";

const PURE = Number(process.env.ORCHESTRATOR_SOAK_PURE ?? 100_000);
const LIVE = Number(process.env.ORCHESTRATOR_SOAK_LIVE ?? 1_000);
/** Seeds after those of `npm test` (10,000 pure, 150 live from seed 1). */
const PURE_FIRST_SEED = 10_001;
const LIVE_FIRST_SEED = 151;
const LANES = 4;

export async function benchSoak(log: (line: string) => void): Promise<Record<string, BenchFigure>> {
  const violations: string[] = [];
  let started = performance.now();
  for (let i = 0; i < PURE; i++) {
    const seed = PURE_FIRST_SEED + i;
    const result = runSeed(seed);
    if (result.violation !== undefined) violations.push(`pure seed ${seed}: ${result.violation.error.message}`);
    if ((i + 1) % 20_000 === 0) log(`pure: ${i + 1} sequences, ${violations.length} violations, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const pureSeconds = (performance.now() - started) / 1000;
  log(`pure: ${PURE} sequences in ${pureSeconds.toFixed(1)} s`);

  started = performance.now();
  const harness = await LiveHarness.open(LANES);
  let live = 0;
  let crashes = 0;
  try {
    await harness.runSeeds(LIVE_FIRST_SEED, LIVE, (result) => {
      live += 1;
      crashes += result.stats.crashes;
      if (result.violation !== undefined) violations.push(`live seed ${result.seed}: ${result.violation.message} (at ${result.violation.event})`);
      if (live % 100 === 0) log(`live: ${live} sequences, ${violations.length} violations, ${((performance.now() - started) / 1000).toFixed(0)} s`);
      return undefined;
    });
  } finally {
    await harness.close();
  }
  const liveSeconds = (performance.now() - started) / 1000;
  log(`live: ${live} sequences in ${liveSeconds.toFixed(1)} s, ${crashes} operations died at a commit`);
  for (const v of violations.slice(0, 20)) log(`violation: ${v}`);

  return {
    "engine.model_sequences": { value: PURE + live, unit: "sequences", goal: "100,000 pure + 1,000 on the emulators" },
    "engine.model_violations": { value: violations.length, unit: "count", goal: "0" },
    "engine.model_pure_sequences_per_s": { value: Math.round(PURE / pureSeconds), unit: "seq/s", goal: "informational" },
    "engine.model_live_s_per_sequence": { value: +(liveSeconds / Math.max(1, live)).toFixed(2), unit: "s", goal: `informational (${LANES} sequences side by side)` },
  };
}
