/**
 * The per-API rate budgets (functions/src/clients/rate-budget.ts) on a fake clock: rate, burst,
 * the in-flight caps, FIFO order, the deadline and the abort signal, AIMD after quota answers and
 * the recovery, the absorption of quota answers by `run`, keys, stats and the environment variable.
 */
import { GoogleError, grpc } from "google-gax";
import {
  apiBudgetsFromEnv,
  DEFAULT_API_BUDGETS,
  DEFAULT_BUDGETS,
  isMutatingOperation,
  isQuotaRefusal,
  LOCAL_BUDGETS,
  parseApiBudgets,
  RateBudgetConfigError,
  RateBudgetError,
  RateBudgets,
  rateBudgetStats,
  resetRateBudgetStats,
  retryDelayOf,
  type ApiBudget,
  type Clock,
  type Permit,
  type RateBudgetOptions,
  type ThrottleEvent,
} from "../../../functions/src/clients/rate-budget";
import { retryInfoStatus } from "../../../local/control-plane/quota";

/** Time moves only when a test says so; due timers fire in order, with promises settling between. */
class FakeClock implements Clock {
  t = 1_000_000;
  private timers: Array<{ at: number; id: number; fn: () => void }> = [];
  private ids = 0;
  now = (): number => this.t;
  setTimer = (fn: () => void, ms: number) => {
    const timer = { at: this.t + Math.max(0, ms), id: ++this.ids, fn };
    this.timers.push(timer);
    return { cancel: () => void (this.timers = this.timers.filter((x) => x !== timer)) };
  };
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
    await flush();
  }
}
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const API = "firebaserules.googleapis.com";
const SITE = { api: API, resource: "projects/p1/releases/cloud.firestore" };

function budget(overrides: Partial<ApiBudget> = {}, mutating: Partial<ApiBudget["mutating"]> = {}): ApiBudget {
  return {
    perMinute: 60,
    burst: 2,
    concurrent: 100,
    scope: "project",
    absorb: true,
    ...overrides,
    mutating: { perMinute: 6_000, burst: 100, concurrent: 100, ...mutating },
  };
}

function setup(spec: ApiBudget, options: Omit<RateBudgetOptions, "clock" | "budgets"> = {}) {
  const clock = new FakeClock();
  const budgets = new RateBudgets({ budgets: { apis: { [API]: spec }, fallback: null }, clock, random: () => 0.5, ...options });
  const limits = (deadlineInMs = 600_000, signal: AbortSignal = new AbortController().signal) => ({ signal, deadline: clock.now() + deadlineInMs });
  /** Starts an acquire and tracks what became of it. */
  const take = (mutating = false, l = limits()) => {
    const state: { permit?: Permit; error?: unknown; at?: number } = {};
    const promise = budgets.acquire(SITE, mutating, l).then(
      (p) => {
        state.permit = p;
        state.at = clock.now();
      },
      (e: unknown) => {
        state.error = e;
        state.at = clock.now();
      },
    );
    return Object.assign(state, { promise });
  };
  return { clock, budgets, limits, take };
}

const granted = (xs: Array<{ permit?: Permit }>): number => xs.filter((x) => x.permit !== undefined).length;

beforeEach(() => resetRateBudgetStats());

describe("token bucket", () => {
  it("lets a burst through at once, then one call per token as the rate refills", async () => {
    const { clock, take } = setup(budget({ perMinute: 60, burst: 2 }));
    const calls = Array.from({ length: 5 }, () => take());
    await flush();
    expect(granted(calls)).toBe(2);
    await clock.advance(999);
    expect(granted(calls)).toBe(2);
    await clock.advance(1);
    expect(granted(calls)).toBe(3);
    await clock.advance(2_000);
    expect(granted(calls)).toBe(5);
    expect(calls.map((c) => c.at! - 1_000_000)).toEqual([0, 0, 1_000, 2_000, 3_000]);
  });

  it("never saves up more than its burst while idle", async () => {
    const { clock, take } = setup(budget({ perMinute: 60, burst: 3 }));
    await clock.advance(60_000);
    const calls = Array.from({ length: 5 }, () => take());
    await flush();
    expect(granted(calls)).toBe(3);
  });

  it("an API without a budget is not held at all", async () => {
    const clock = new FakeClock();
    const budgets = new RateBudgets({ budgets: { apis: { [API]: null }, fallback: null }, clock });
    expect(budgets.keyOf(SITE)).toBeUndefined();
    await expect(budgets.acquire(SITE, true, { signal: new AbortController().signal, deadline: clock.now() + 10 })).resolves.toBeUndefined();
  });
});

describe("in-flight caps", () => {
  it("holds mutating calls past their cap until one is released, without holding reads", async () => {
    const { take } = setup(budget({ perMinute: 60_000, burst: 1_000, concurrent: 5 }, { concurrent: 2 }));
    const writes = [take(true), take(true), take(true)];
    const read = take(false);
    await flush();
    expect(granted(writes)).toBe(2);
    // The third mutating call waits for its own cap; the read behind it goes.
    expect(read.permit).toBeDefined();
    writes[0]!.permit!.release();
    await flush();
    expect(granted(writes)).toBe(3);
  });

  it("caps every call of the key (reads too)", async () => {
    const { take } = setup(budget({ perMinute: 60_000, burst: 1_000, concurrent: 2 }));
    const reads = [take(), take(), take()];
    await flush();
    expect(granted(reads)).toBe(2);
    reads[1]!.permit!.release();
    reads[1]!.permit!.release(); // a second release is a no-op
    await flush();
    expect(granted(reads)).toBe(3);
    const fourth = take();
    await flush();
    expect(fourth.permit).toBeUndefined();
  });

  it("defaults follow Firebase's deploy guidance: at most 10 mutating calls in flight per key", () => {
    for (const b of Object.values(DEFAULT_API_BUDGETS)) expect(b.mutating.concurrent).toBe(10);
    for (const b of Object.values(LOCAL_BUDGETS.apis)) expect(b!.mutating.concurrent).toBe(10);
  });
});

describe("order, deadline and signal", () => {
  it("lets waiters through first come, first served", async () => {
    const { clock, take } = setup(budget({ perMinute: 60, burst: 1 }));
    const order: number[] = [];
    const calls = Array.from({ length: 4 }, (_, i) => take(i % 2 === 1));
    calls.forEach((c, i) => void c.promise.then(() => order.push(i)));
    await clock.advance(5_000);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it("fails fast, with a retryable budget error, a wait that cannot end before the deadline", async () => {
    const { clock, take, limits } = setup(budget({ perMinute: 60, burst: 1 }));
    take();
    const late = take(false, limits(500));
    await flush();
    expect(late.error).toBeInstanceOf(RateBudgetError);
    expect(String((late.error as Error).message)).toMatch(/past the attempt's deadline/);
    expect(late.at).toBe(clock.now());
    // One that can wait long enough does.
    const patient = take(false, limits(5_000));
    await clock.advance(1_000);
    expect(patient.permit).toBeDefined();
    expect(rateBudgetStats().totals.failedFast).toBe(1);
  });

  it("gives up a wait for a slot when the deadline comes, leaving room for the next", async () => {
    const { clock, take, limits } = setup(budget({ perMinute: 60_000, burst: 1_000, concurrent: 1 }));
    const first = take();
    const bounded = take(false, limits(1_000));
    const next = take();
    await clock.advance(899);
    expect(bounded.error).toBeUndefined();
    await clock.advance(1); // deadline minus the 100 ms a call needs at least
    expect(bounded.error).toBeInstanceOf(RateBudgetError);
    first.permit!.release();
    await flush();
    expect(next.permit).toBeDefined();
  });

  it("stops waiting as soon as the signal aborts, and an aborted waiter holds no one up", async () => {
    const { clock, take, limits } = setup(budget({ perMinute: 60, burst: 1 }));
    take();
    const controller = new AbortController();
    const aborted = take(false, limits(60_000, controller.signal));
    const behind = take();
    await clock.advance(100);
    controller.abort();
    await flush();
    expect(String((aborted.error as Error).message)).toMatch(/aborted/);
    await clock.advance(900);
    expect(behind.permit).toBeDefined();
    const already = take(false, limits(60_000, controller.signal));
    await flush();
    expect(String((already.error as Error).message)).toMatch(/aborted/);
  });
});

describe("feedback from quota answers (AIMD)", () => {
  it("drains the bucket and halves the rate, once per cooldown, then climbs back in steps", async () => {
    const { clock, take, budgets } = setup(budget({ perMinute: 600, burst: 5 }));
    const rate = () => rateBudgetStats().keys.find((k) => k.key === `${API}/p1`)!.ratePerMinute;
    const a = take();
    const b = take();
    await flush();
    a.permit!.release({ quota: true });
    expect(rate()).toBe(300);
    // Another answer from a call already in flight: drains, but does not halve again.
    b.permit!.release({ quota: true });
    expect(rate()).toBe(300);
    // Drained: the next call waits for a token at the halved rate (300/min: 200 ms).
    const c = take();
    await clock.advance(199);
    expect(c.permit).toBeUndefined();
    await clock.advance(1);
    expect(c.permit).toBeDefined();
    c.permit!.release();
    await clock.advance(1_000);
    const d = take();
    await flush();
    d.permit!.release({ quota: true });
    expect(rate()).toBe(150);
    // Without quota answers the rate comes back by a tenth of the budget every 2 s.
    await clock.advance(2_000);
    take().permit?.release();
    expect(rate()).toBe(210);
    await clock.advance(20_000);
    take().permit?.release();
    expect(rate()).toBe(600);
    expect(budgets.keyOf(SITE)).toEqual({ key: `${API}/p1`, api: API, projectId: "p1" });
  });

  it("pauses the key for the delay the server asked for", async () => {
    const { clock, take } = setup(budget({ perMinute: 60_000, burst: 100 }));
    const a = take();
    await flush();
    a.permit!.release({ quota: true, retryAfterMs: 3_000 });
    const b = take();
    await clock.advance(2_999);
    expect(b.permit).toBeUndefined();
    await clock.advance(1);
    expect(b.permit).toBeDefined();
  });
});

describe("run: quota answers absorbed inside the call", () => {
  const quota = (extra: Record<string, unknown> = {}) => Object.assign(new Error("HTTP 429"), { httpStatus: 429, ...extra });

  it("tries again after a backoff and returns the answer; the caller never sees the 429s", async () => {
    const { clock, budgets, limits } = setup(budget({ perMinute: 60_000, burst: 100 }));
    let tries = 0;
    const send = jest.fn(async () => {
      tries += 1;
      if (tries <= 2) throw quota();
      return "ok";
    });
    const result = budgets.run(SITE, true, limits(), send);
    await clock.advance(5_000);
    await expect(result).resolves.toBe("ok");
    expect(send).toHaveBeenCalledTimes(3);
    expect(rateBudgetStats().totals).toMatchObject({ quotaAnswers: 2, absorbed: 2, surfaced: 0, calls: 3 });
  });

  it("waits at least the Retry-After (REST) or the RetryInfo delay (gRPC) the server named", async () => {
    const { clock, budgets, limits } = setup(budget({ perMinute: 60_000, burst: 100 }));
    for (const error of [quota({ retryAfterMs: 2_000 }), Object.assign(new Error("8 RESOURCE_EXHAUSTED"), { code: 8, statusDetails: [{ retryDelay: { seconds: 1, nanos: 500_000_000 } }] })]) {
      const times: number[] = [];
      let first = true;
      const done = budgets.run(SITE, false, limits(), async () => {
        times.push(clock.now());
        if (first) {
          first = false;
          throw error;
        }
        return 1;
      });
      await clock.advance(10_000);
      await done;
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(retryDelayOf(error)!);
      expect(times[1]! - times[0]!).toBeLessThan(retryDelayOf(error)! + 200);
    }
  });

  it("lets the last quota answer through, retryable as before, when the deadline leaves no room to retry", async () => {
    const { clock, budgets, limits } = setup(budget({ perMinute: 60_000, burst: 100 }));
    const error = quota();
    const send = jest.fn(async () => {
      throw error;
    });
    const result = budgets.run(SITE, true, limits(3_000), send).catch((e: unknown) => e);
    await clock.advance(10_000);
    expect(await result).toBe(error);
    expect(send.mock.calls.length).toBeGreaterThan(2);
    expect(rateBudgetStats().totals.surfaced).toBe(1);
  });

  it("when the drained budget cannot fit the retry before the deadline, the task hears the server's 429, not a budget error", async () => {
    const { clock, budgets, limits } = setup(budget({ perMinute: 60, burst: 1 }));
    const error = quota();
    const send = jest.fn(async () => Promise.reject(error));
    // After the 429 the rate is 30/min: the next token is 2 s away, past this deadline.
    const result = budgets.run(SITE, false, limits(2_000), send).catch((e: unknown) => e);
    await clock.advance(5_000);
    expect(await result).toBe(error);
    expect(send).toHaveBeenCalledTimes(1);
    expect(rateBudgetStats().totals).toMatchObject({ quotaAnswers: 1, absorbed: 0, surfaced: 1, failedFast: 1 });
  });

  it("does not retry other errors, nor quota answers where absorption is off", async () => {
    const { budgets, limits } = setup(budget({ absorb: false }));
    const unavailable = Object.assign(new Error("unavailable"), { code: 14 });
    await expect(budgets.run(SITE, false, limits(), async () => Promise.reject(unavailable))).rejects.toBe(unavailable);
    const q = quota();
    const send = jest.fn(async () => Promise.reject(q));
    await expect(budgets.run(SITE, false, limits(), send)).rejects.toBe(q);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it("stops a backoff when the signal aborts", async () => {
    const { clock, budgets, limits } = setup(budget({ perMinute: 60_000, burst: 100 }));
    const controller = new AbortController();
    const result = budgets.run(SITE, false, limits(60_000, controller.signal), async () => Promise.reject(quota({ retryAfterMs: 30_000 }))).catch((e: unknown) => e);
    await clock.advance(1_000);
    controller.abort();
    await clock.advance(1);
    expect(String(((await result) as Error).message)).toMatch(/aborted/);
  });

  it("backs off with full jitter, capped", () => {
    const budgets = new RateBudgets({ random: () => 0.999 });
    expect(budgets.backoffMs(0, undefined)).toBeLessThan(200);
    expect(budgets.backoffMs(3, undefined)).toBe(1_598);
    expect(budgets.backoffMs(20, undefined)).toBe(9_990);
    expect(new RateBudgets({ random: () => 0 }).backoffMs(5, undefined)).toBe(0);
    expect(budgets.backoffMs(0, 5_000)).toBe(5_199);
    expect(budgets.backoffMs(0, 3_600_000)).toBe(60_199);
  });
});

describe("what a quota answer is, and which calls mutate", () => {
  it.each([
    [{ httpStatus: 429 }, true],
    [{ httpStatus: 503 }, false],
    [{ code: 8, details: "Quota exceeded" }, true],
    [{ code: 8, details: "Received message larger than max (5000000 vs. 4194304)" }, false],
    [{ code: 14 }, false],
    [new Error("x"), false],
  ])("%j is a quota refusal: %s", (error, expected) => {
    expect(isQuotaRefusal(error)).toBe(expected);
  });

  it("reads the RetryInfo the local control plane sends, as gax decodes it", () => {
    const metadata = new grpc.Metadata();
    metadata.set("grpc-status-details-bin", retryInfoStatus(8, "quota", 1_250));
    const error = GoogleError.parseGRPCStatusDetails(Object.assign(new GoogleError("8 RESOURCE_EXHAUSTED: quota"), { code: 8, metadata }));
    expect(retryDelayOf(error)).toBe(1_250);
  });

  it.each([
    ["Cloud Scheduler GetJob", false],
    ["Cloud Monitoring ListUptimeCheckConfigs", false],
    ["Cloud Scheduler CreateJob", true],
    ["Pub/Sub DeleteTopic", true],
    ["Firebase Hosting PatchVersion", true],
  ])("%s mutates: %s", (operation, expected) => {
    expect(isMutatingOperation(operation)).toBe(expected);
  });
});

describe("keys", () => {
  it("one per API and project; calls without a project share the API's; Pub/Sub admin is charged to the caller", () => {
    const budgets = new RateBudgets();
    expect(budgets.keyOf({ api: API, resource: "projects/p1/rulesets/abc" })?.key).toBe(`${API}/p1`);
    expect(budgets.keyOf({ api: API, resource: "projects/p2" })?.key).toBe(`${API}/p2`);
    expect(budgets.keyOf({ api: "monitoring.googleapis.com", resource: "something/else" })?.key).toBe("monitoring.googleapis.com");
    expect(budgets.keyOf({ api: "pubsub.googleapis.com", resource: "projects/p1/topics/t" })?.key).toBe("pubsub.googleapis.com");
    expect(budgets.keyOf({ api: "example.googleapis.com", resource: "projects/p1" })?.key).toBe("example.googleapis.com/p1");
  });

  it("learns a Hosting site's project from the calls that name both", () => {
    const budgets = new RateBudgets();
    const hosting = "firebasehosting.googleapis.com";
    expect(budgets.keyOf({ api: hosting, resource: "sites/web-1/versions/v1" })?.key).toBe(hosting);
    expect(budgets.keyOf({ api: hosting, resource: "projects/p9/sites/web-1" })?.key).toBe(`${hosting}/p9`);
    expect(budgets.keyOf({ api: hosting, resource: "sites/web-1/releases" })?.key).toBe(`${hosting}/p9`);
  });
});

describe("stats and the throttle log", () => {
  it("counts calls and waits per key, and reports a throttled key once per window", async () => {
    const events: ThrottleEvent[] = [];
    const { clock, take } = setup(budget({ perMinute: 60, burst: 1 }), { onThrottled: (e) => events.push(e) });
    const calls = Array.from({ length: 3 }, () => take());
    await clock.advance(2_000);
    calls[0]!.permit!.release({ quota: true });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ key: `${API}/p1`, reason: "wait" });
    const { keys, totals } = rateBudgetStats();
    expect(keys.find((k) => k.key === `${API}/p1`)).toMatchObject({ api: API, projectId: "p1", calls: 3, waits: 2, waitedMs: 3_000, maxWaitMs: 2_000, quotaAnswers: 1 });
    expect(totals).toMatchObject({ calls: 3, waits: 2 });
    resetRateBudgetStats();
    expect(rateBudgetStats().totals.calls).toBe(0);
  });
});

describe("ORCHESTRATOR_API_BUDGETS", () => {
  it("absent: Google's defaults, or no rates against local endpoints; off: nothing budgeted", () => {
    expect(parseApiBudgets(undefined)).toBe(DEFAULT_BUDGETS);
    expect(apiBudgetsFromEnv({}, { local: true })).toBe(LOCAL_BUDGETS);
    expect(LOCAL_BUDGETS.apis[API]).toMatchObject({ perMinute: Infinity, concurrent: 20, absorb: true });
    expect(apiBudgetsFromEnv({ ORCHESTRATOR_API_BUDGETS: "{}" }, { local: true })).toEqual(DEFAULT_BUDGETS);
    expect(parseApiBudgets("off")).toEqual({ apis: {}, fallback: null });
  });

  it("overrides field by field, per API and for the rest", () => {
    const parsed = parseApiBudgets(JSON.stringify({ [API]: { perMinute: 1200, mutating: { concurrent: 4 } }, "cloudscheduler.googleapis.com": false, default: { burst: 3 } }));
    expect(parsed.apis[API]).toEqual({ ...DEFAULT_API_BUDGETS[API], perMinute: 1200, mutating: { ...DEFAULT_API_BUDGETS[API]!.mutating, concurrent: 4 } });
    expect(parsed.apis["cloudscheduler.googleapis.com"]).toBeNull();
    expect(parsed.fallback?.burst).toBe(3);
  });

  it.each([
    ["{not json", /is not JSON/],
    [JSON.stringify({ [API]: { perMinute: -1 } }), /firebaserules\.googleapis\.com\.perMinute/],
    [JSON.stringify({ [API]: { burst: 1.5 } }), /burst/],
    [JSON.stringify({ [API]: { perMinut: 10 } }), /perMinut/],
    [JSON.stringify({ rules: { perMinute: 10 } }), /an API name/],
    [JSON.stringify([1]), /invalid/],
  ])("%s is a setup error naming what is wrong", (raw, message) => {
    expect(() => parseApiBudgets(raw)).toThrow(RateBudgetConfigError);
    expect(() => parseApiBudgets(raw)).toThrow(message);
    expect(() => parseApiBudgets(raw)).toThrow(/ORCHESTRATOR_API_BUDGETS/);
  });
});
