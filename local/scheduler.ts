/**
 * Cloud Scheduler for the local stack. The functions emulator loads `onSchedule` functions but
 * never fires them; this ticker discovers them from the emulator (`/backends`), fires each on its
 * own schedule the way Cloud Scheduler does (an HTTP POST with `X-CloudScheduler-JobName`), and can
 * fire one on demand. Trigger keys carry a generation that changes when functions reload, so keys
 * are discovered from the emulator's answer, not assumed.
 */
import { CronExpressionParser } from "cron-parser";
import { emulator, PROJECT_ID } from "./project";

export interface ScheduledFunction {
  /** e.g. `us-central1-sweepStalledTasks` */
  id: string;
  name: string;
  schedule: string;
  timeZone: string;
}

interface BackendTrigger {
  id: string;
  name: string;
  schedule?: { schedule: string; timeZone?: string };
}

const functionsBase = () => `http://${emulator("functions").host}:${emulator("functions").port}`;
/** A call the busy emulator never answers must not stop the ticker: it fails, and the next tick tries again. */
const CALL_TIMEOUT_MS = 60_000;

export async function discoverScheduledFunctions(): Promise<ScheduledFunction[]> {
  const response = await fetch(`${functionsBase()}/backends`, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  const { backends } = (await response.json()) as { backends: Array<{ functionTriggers: BackendTrigger[] }> };
  return backends
    .flatMap((b) => b.functionTriggers)
    .filter((t) => t.schedule?.schedule)
    .map((t) => ({ id: t.id, name: t.name, schedule: t.schedule!.schedule, timeZone: t.schedule!.timeZone ?? "UTC" }));
}

/**
 * When a schedule next fires after `from`. Accepts both forms Cloud Scheduler accepts through
 * firebase-functions: App Engine style (`every 5 minutes`, `every 1 hours`) and unix cron.
 * `speed` > 1 compresses time for demos (every 5 minutes at speed 10 fires every 30 s).
 */
export function nextFireTime(schedule: string, from: Date, timeZone = "UTC", speed = 1): Date {
  const every = /^every\s+(\d+)?\s*(minute|minutes|mins|hour|hours)$/i.exec(schedule.trim());
  if (every) {
    const n = Number(every[1] ?? 1);
    const unitMs = every[2]!.toLowerCase().startsWith("h") ? 3_600_000 : 60_000;
    return new Date(from.getTime() + (n * unitMs) / speed);
  }
  const next = CronExpressionParser.parse(schedule, { currentDate: from, tz: timeZone }).next().toDate();
  return new Date(from.getTime() + (next.getTime() - from.getTime()) / speed);
}

/** The emulator's current key for a trigger id: `<id>-<generation>`, read from its own list. */
async function currentTriggerKey(id: string): Promise<string> {
  const response = await fetch(`${functionsBase()}/functions/projects/${PROJECT_ID}/triggers/__list_triggers__`, {
    method: "POST",
    body: "{}",
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const text = await response.text();
  const keys = (text.split("valid functions are:")[1] ?? "").split(",").map((k) => k.trim());
  const matching = keys.filter((k) => k.startsWith(`${id}-`)).sort((a, b) => Number(b.slice(id.length + 1)) - Number(a.slice(id.length + 1)));
  if (matching.length === 0) throw new Error(`the functions emulator does not know ${id} (it knows: ${keys.join(", ")})`);
  return matching[0]!;
}

/** Fires one scheduled function now, as Cloud Scheduler would. Resolves with the HTTP status. */
export async function fireScheduledFunction(fn: Pick<ScheduledFunction, "id">): Promise<number> {
  const key = await currentTriggerKey(fn.id);
  const response = await fetch(`${functionsBase()}/functions/projects/${PROJECT_ID}/triggers/${key}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CloudScheduler-JobName": `local-${fn.id}`, "X-CloudScheduler-ScheduleTime": new Date().toISOString() },
    body: "{}",
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  await response.text();
  return response.status;
}

export interface Ticker {
  /** The scheduled functions known so far (re-discovered periodically, as functions reload). */
  functions(): ScheduledFunction[];
  stop(): void;
}

const REDISCOVER_MS = 5_000;

export async function startTicker(
  options: { speed?: number | ((fn: ScheduledFunction) => number); onFire?: (fn: ScheduledFunction, status: number | Error) => void } = {},
): Promise<Ticker> {
  const speedOf = (fn: ScheduledFunction) => (typeof options.speed === "function" ? options.speed(fn) : (options.speed ?? 1));
  const known = new Map<string, ScheduledFunction>();
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  const plan = (fn: ScheduledFunction) => {
    if (stopped) return;
    const now = new Date();
    const wait = nextFireTime(fn.schedule, now, fn.timeZone, speedOf(fn)).getTime() - now.getTime();
    timers.set(
      fn.id,
      setTimeout(async () => {
        try {
          options.onFire?.(fn, await fireScheduledFunction(fn));
        } catch (error) {
          options.onFire?.(fn, error as Error);
        }
        plan(known.get(fn.id) ?? fn);
      }, Math.max(wait, 1_000)),
    );
  };
  const discover = async () => {
    try {
      for (const fn of await discoverScheduledFunctions()) {
        const before = known.get(fn.id);
        known.set(fn.id, fn);
        if (before === undefined) plan(fn);
      }
    } catch {
      // The emulator is restarting or reloading; the next round will see it.
    }
  };
  await discover();
  const rediscover = setInterval(() => void discover(), REDISCOVER_MS);
  return {
    functions: () => [...known.values()],
    stop() {
      stopped = true;
      clearInterval(rediscover);
      for (const t of timers.values()) clearTimeout(t);
    },
  };
}
