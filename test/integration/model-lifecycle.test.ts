/**
 * Model-based fault test, integration layer: the pure layer's generator (test/support/model)
 * drives the real engine, runtime and store on the Firestore and Pub/Sub emulators, with crashes
 * at every commit, ambiguous commits, duplicated, dropped and reordered messages, commands at
 * random moments, competing plans and sweeps (test/support/model/live.ts). Every plan must end.
 *
 *   ORCHESTRATOR_MODEL_LIVE_SEQUENCES=N   sequences to run (default 150)
 *   ORCHESTRATOR_MODEL_LIVE_SEED=S        first seed (default 1); with SEQUENCES=1, replays one seed
 */
import { LiveHarness, liveReport, type LiveResult } from "../support/model/live";
import { testEnv } from "../support/functions";

const SEQUENCES = Number(process.env.ORCHESTRATOR_MODEL_LIVE_SEQUENCES ?? 150);
const FIRST_SEED = Number(process.env.ORCHESTRATOR_MODEL_LIVE_SEED ?? 1);
/** Sequences side by side, each in its own emulator project. */
const LANES = Number(process.env.ORCHESTRATOR_MODEL_LIVE_LANES ?? 4);

let harness: LiveHarness;
beforeAll(async () => {
  harness = await LiveHarness.open(LANES);
});
afterAll(async () => {
  await harness.close();
  testEnv.cleanup();
});

describe("the real engine under faults (model, on the emulators)", () => {
  it(`keeps every invariant over ${SEQUENCES} random sequences, and ends every plan`, async () => {
    const started = performance.now();
    const results: LiveResult[] = [];
    let failed: LiveResult | undefined;
    await harness.runSeeds(FIRST_SEED, SEQUENCES, (result) => {
      results.push(result);
      if (result.violation === undefined) return undefined;
      failed ??= result;
      return "stop";
    });
    if (failed !== undefined) throw new Error(liveReport(failed, await harness.shrink(harness.lanes[0]!, failed)));
    const sum = (f: (r: LiveResult) => number) => results.reduce((s, r) => s + f(r), 0);
    const finals = new Map<string, number>();
    for (const r of results) for (const f of r.stats.finals) finals.set(f, (finals.get(f) ?? 0) + 1);
    console.log(
      [
        `live model: ${results.length} sequences in ${((performance.now() - started) / 1000).toFixed(1)} s, ${sum((r) => r.stats.events)} events, ${sum((r) => r.stats.deliveries)} deliveries, ${sum((r) => r.stats.executorCalls)} executor calls`,
        `  faults: ${sum((r) => r.stats.crashes)} operations died at a commit, ${sum((r) => r.stats.ambiguous)} ambiguous commits; ${sum((r) => r.stats.commandsApplied)} commands applied; ${sum((r) => r.stats.handlerErrors)} handler errors redelivered`,
        `  final statuses: ${[...finals].sort().map(([k, n]) => `${k} ${n}`).join(", ")}; at most ${Math.max(...results.map((r) => r.stats.drainSweeps))} drain sweeps`,
        `  time by kind (ms, summed over lanes): ${JSON.stringify(Object.fromEntries([...new Set(results.flatMap((r) => Object.keys(r.stats.time)))].map((k) => [k, Math.round(sum((r) => r.stats.time[k] ?? 0))])))}`,
        ...results.flatMap((r) => r.log.filter((l) => l.includes(" threw: ")).map((l) => `  seed ${r.seed}:${l}`)).slice(0, 5),
      ].join("\n"),
    );
    expect(results).toHaveLength(SEQUENCES);
    // The sequences did what they are for: faults happened and plans ended in more than one way.
    if (SEQUENCES >= 50) {
      expect(sum((r) => r.stats.crashes)).toBeGreaterThan(0);
      expect(finals.size).toBeGreaterThan(2);
    }
  }, 20 * 60_000);
});
