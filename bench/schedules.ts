/**
 * `engine.schedule_tick_lag_ms`, on the local stack: how long after a schedule's tick its run
 * starts, with everything as deployed — the functions emulator runs `fireSchedules` when the local
 * Cloud Scheduler (local/scheduler.ts) fires it, every 60 s, and the run is started by the plan
 * trigger. A schedule `* * * * *` (allow_all, a one-task plan) is written, and for each of its
 * next ticks the run's `startedAt` (its tasks written, the plan running) minus the tick is taken;
 * the figure is the median. A tick waits for the next firing pass (up to one period, depending on
 * where in the minute the scheduler fires) and then for the trigger and the start; the goal is two
 * periods. Three ticks: about four minutes.
 */
import type { Firestore } from "firebase-admin/firestore";
import { runIdOf, tickIso } from "../functions/src/schedules/fire";
import { deleteSchedule, saveSchedule } from "../functions/src/schedules/store";
import { scheduleSpecSchema } from "../functions/src/schema/schedule";
import type { BenchFigure } from "./planner";

const MIN = 60_000;
const TICKS = 3;
/** The local scheduler's period for `fireSchedules` ("every 1 minutes"). */
const SCHEDULER_PERIOD_MS = 60_000;
/** A tick whose run has not started this long after it has failed the benchmark, not just its goal. */
const GIVE_UP_AFTER_MS = 4 * SCHEDULER_PERIOD_MS;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** When the run's plan began running (`startedAt`), polled; the engine writes it, so polling does not move it. */
async function startedAt(db: Firestore, planId: string, tick: number): Promise<number> {
  for (;;) {
    const started = (await db.collection("plans").doc(planId).get()).get("startedAt") as unknown;
    if (typeof started === "number") return started;
    if (Date.now() > tick + GIVE_UP_AFTER_MS) {
      throw new Error(`the run of tick ${tickIso(tick)} (plans/${planId}) had not started ${GIVE_UP_AFTER_MS / 1000} s after it: is the local scheduler firing fireSchedules?`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function benchSchedules(db: Firestore, log: (line: string) => void): Promise<Record<string, BenchFigure>> {
  const id = `bench-ticks-${Date.now().toString(36)}`;
  const now = Date.now();
  const spec = scheduleSpecSchema.parse({ cron: "* * * * *", plan: { tasks: [{ id: "only", run: "noop" }] }, overlap: "allow_all", description: "npm run bench: tick-to-start lag" });
  await saveSchedule(db, id, spec, { uid: "bench", email: null, name: "npm run bench" }, now);
  const lags: number[] = [];
  try {
    const first = Math.floor(now / MIN) * MIN + MIN;
    for (let i = 0; i < TICKS; i++) {
      const tick = first + i * MIN;
      const lag = (await startedAt(db, runIdOf(id, tick), tick)) - tick;
      lags.push(lag);
      log(`tick ${tickIso(tick)}: its run started ${(lag / 1000).toFixed(1)} s later`);
    }
  } finally {
    // Gone before the next benchmarks: no more runs of it start while they measure.
    await deleteSchedule(db, id);
  }
  return {
    "engine.schedule_tick_lag_ms": { value: Math.round(median(lags)), unit: "ms", goal: `< ${2 * SCHEDULER_PERIOD_MS} ms (2 × the local scheduler's ${SCHEDULER_PERIOD_MS / 1000} s period); median of ${TICKS} ticks` },
  };
}
