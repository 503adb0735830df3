/**
 * Per-API rate budgets for the Google API calls of the executors, so quota errors do not reach
 * tasks under load (docs/google-apis.md "Rate budgets and quota errors").
 *
 * A budget per key `api/projectId` (the project parsed from the call's resource `projects/<id>/…`;
 * a call without one shares the API's key, and APIs whose quota is charged to the caller's project,
 * like Pub/Sub admin, have one key for every project). Each key has:
 *   - a token bucket for every call (rate refilled continuously, burst capacity) and a cap on the
 *     calls in flight;
 *   - a second, smaller bucket and cap for mutating calls: at most 10 in flight by default, after
 *     Firebase's guidance to deploy functions in groups of at most 10 to avoid 429s.
 * Waiters are FIFO (reads among reads, mutating calls among mutating calls; a mutating call held by
 * its own cap does not hold up a read). A wait respects the attempt's signal and deadline: one that
 * cannot end before the deadline fails at once with a retryable RateBudgetError saying so.
 *
 * Quota answers (HTTP 429, gRPC RESOURCE_EXHAUSTED) are absorbed by `run`: the call is tried again
 * after exponential backoff with full jitter, or after the server's Retry-After / RetryInfo delay,
 * until the attempt's deadline or signal. A 429 is a refusal (nothing was applied), so repeating a
 * mutating call is safe. Each one also drains the key's buckets and halves their rate for a while
 * (AIMD: multiplicative decrease, then an additive step back every few seconds).
 *
 * Buckets are per process (per function instance): the rate all instances together send is bounded
 * by the budget × the tasks function's max instances (config.ts MAX_INSTANCES.tasks), far above any
 * per-project quota, which is why the 429 absorption exists. The budget keeps one instance from
 * causing 429s by itself; the absorption keeps the ones many instances cause from reaching tasks.
 *
 * Pure: no SDK is loaded; the clock, the randomness and the throttle log are passed in.
 */
import { z } from "zod";
import type { ApiCallSite } from "./errors";
import type { CallLimits } from "./google";

export const API_BUDGETS_ENV = "ORCHESTRATOR_API_BUDGETS";

/** One bucket: `perMinute` tokens refilled continuously up to `burst`, and at most `concurrent` calls in flight. */
export interface Rate {
  perMinute: number;
  burst: number;
  concurrent: number;
}

export interface ApiBudget extends Rate {
  /** The mutating calls' own bucket and cap (they also draw on the API's). */
  mutating: Rate;
  /** `project`: a key per project of the call's resource; `api`: one key for every project (quota charged to the caller). */
  scope: "project" | "api";
  /** Retry quota answers inside the call (default true). */
  absorb: boolean;
}

export interface ApiBudgets {
  /** By API (`firebaserules.googleapis.com`); `null`: no budget and no absorption for that API (calls go out as they come). */
  apis: Readonly<Record<string, ApiBudget | null>>;
  /** For an API not in `apis`; `null` when budgets are off. */
  fallback: ApiBudget | null;
}

/** Firebase: "deploy functions in groups of at most 10" to stay clear of 429s; the same bound for every mutating call. */
const MUTATING_IN_FLIGHT = 10;
const READS_IN_FLIGHT = 20;
const budget = (perMinute: number, burst: number, mutatingPerMinute: number, mutatingBurst: number, scope: "project" | "api" = "project"): ApiBudget => ({
  perMinute,
  burst,
  concurrent: READS_IN_FLIGHT,
  mutating: { perMinute: mutatingPerMinute, burst: mutatingBurst, concurrent: MUTATING_IN_FLIGHT },
  scope,
  absorb: true,
});

/**
 * Defaults per API, per key (per project unless noted), per function instance. Where Google
 * publishes a per-project figure it is cited and the default stays below it; elsewhere these are
 * conservative defaults (a quota page lists the project's real figure: IAM & Admin → Quotas).
 * docs/google-apis.md has the same table.
 */
export const DEFAULT_API_BUDGETS: Readonly<Record<string, ApiBudget>> = {
  // Published per project: 1,250 read and 500 write requests per minute.
  "cloudscheduler.googleapis.com": budget(900, 20, 400, 10),
  // Conservative defaults (Monitoring's per-method quotas are listed in the project's console).
  "monitoring.googleapis.com": budget(600, 20, 240, 10),
  // Admin operations are charged to the caller's project, not the topic's: one key for all projects.
  "pubsub.googleapis.com": budget(1200, 40, 600, 10, "api"),
  // Conservative defaults for the Firebase management APIs.
  "firebasehosting.googleapis.com": budget(600, 20, 240, 10),
  "firebaserules.googleapis.com": budget(600, 20, 240, 10),
  // Identity Platform lists 10 account configuration updates per second; the default stays well below.
  "identitytoolkit.googleapis.com": budget(600, 20, 240, 10),
  // Index admin calls (index builds are slow server-side anyway).
  "firestore.googleapis.com": budget(600, 20, 120, 5),
};

/** Any other API. */
export const DEFAULT_FALLBACK_BUDGET: ApiBudget = budget(300, 10, 120, 10);

export const DEFAULT_BUDGETS: ApiBudgets = { apis: DEFAULT_API_BUDGETS, fallback: DEFAULT_FALLBACK_BUDGET };

const withoutRates = (b: ApiBudget): ApiBudget => ({
  ...b,
  perMinute: Number.POSITIVE_INFINITY,
  burst: Number.POSITIVE_INFINITY,
  mutating: { ...b.mutating, perMinute: Number.POSITIVE_INFINITY, burst: Number.POSITIVE_INFINITY },
});

/**
 * Against local endpoints (an ORCHESTRATOR_GOOGLE_*_ENDPOINT set) without ORCHESTRATOR_API_BUDGETS:
 * the in-flight caps, the quota absorption and the servers' Retry-After pauses, but no rates. The
 * rates above are Google's; the local control plane has no quota unless one is set, and its suites
 * send hundreds of calls a second to one project. Set the variable to budget a local run.
 */
export const LOCAL_BUDGETS: ApiBudgets = {
  apis: Object.fromEntries(Object.entries(DEFAULT_API_BUDGETS).map(([api, b]) => [api, withoutRates(b)])),
  fallback: withoutRates(DEFAULT_FALLBACK_BUDGET),
};

// ---- the environment override -------------------------------------------------------------

const rateOverride = z
  .object({
    perMinute: z.number().positive().max(1_000_000).optional(),
    burst: z.number().int().min(1).max(100_000).optional(),
    concurrent: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();

const apiOverride = z.union([
  z.literal(false),
  rateOverride
    .extend({
      mutating: rateOverride.optional(),
      scope: z.enum(["project", "api"]).optional(),
      absorb: z.boolean().optional(),
    })
    .strict(),
]);

const API_NAME = /^(?:[a-z0-9-]+\.)+googleapis\.com$/;
const overridesSchema = z.record(z.string(), apiOverride);

/** A value of ORCHESTRATOR_API_BUDGETS that does not parse: a setup error, raised at startup. */
export class RateBudgetConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RateBudgetConfigError";
  }
}

const merge = (base: ApiBudget, o: Exclude<z.output<typeof apiOverride>, false>): ApiBudget => ({
  perMinute: o.perMinute ?? base.perMinute,
  burst: o.burst ?? base.burst,
  concurrent: o.concurrent ?? base.concurrent,
  mutating: { ...base.mutating, ...(o.mutating ?? {}) },
  scope: o.scope ?? base.scope,
  absorb: o.absorb ?? base.absorb,
});

/**
 * Parses ORCHESTRATOR_API_BUDGETS: absent or empty, the defaults; `off`, no budgets and no
 * absorption anywhere (what the executors did before); otherwise JSON
 * `{ "<api>" | "default": { perMinute?, burst?, concurrent?, mutating?: {perMinute?, burst?, concurrent?}, scope?, absorb? } | false }`,
 * each field replacing the default's (`false`: that API unbudgeted). Throws RateBudgetConfigError.
 */
export function parseApiBudgets(raw: string | undefined): ApiBudgets {
  if (raw === undefined || raw.trim() === "") return DEFAULT_BUDGETS;
  if (raw.trim() === "off") return { apis: {}, fallback: null };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new RateBudgetConfigError(`${API_BUDGETS_ENV} is not JSON (or "off"): ${(error as Error).message}`);
  }
  const parsed = overridesSchema.safeParse(value);
  const badKeys = parsed.success ? Object.keys(parsed.data).filter((k) => k !== "default" && !API_NAME.test(k)) : [];
  if (!parsed.success || badKeys.length > 0) {
    const issues = parsed.success
      ? badKeys.map((k) => `${k}: not an API name like "firebaserules.googleapis.com", nor "default"`).join("; ")
      : parsed.error.issues.map((i) => `${i.path.length === 0 ? "(value)" : i.path.join(".")}: ${i.message}`).join("; ");
    throw new RateBudgetConfigError(`${API_BUDGETS_ENV} is invalid: ${issues}. Expected "off" or {"<api>": {"perMinute": n, "burst": n, "concurrent": n, "mutating": {…}} | false}`);
  }
  const overrides = parsed.data;
  const d = overrides.default;
  const fallback = d === false ? null : d === undefined ? DEFAULT_FALLBACK_BUDGET : merge(DEFAULT_FALLBACK_BUDGET, d);
  const apis: Record<string, ApiBudget | null> = { ...DEFAULT_API_BUDGETS };
  for (const [api, o] of Object.entries(overrides)) {
    if (api === "default") continue;
    apis[api] = o === false ? null : merge(DEFAULT_API_BUDGETS[api] ?? fallback ?? DEFAULT_FALLBACK_BUDGET, o);
  }
  return { apis, fallback };
}

/** ORCHESTRATOR_API_BUDGETS, or without it the defaults (LOCAL_BUDGETS when the clients talk to local endpoints). */
export function apiBudgetsFromEnv(env: NodeJS.ProcessEnv = process.env, options: { local?: boolean } = {}): ApiBudgets {
  const raw = env[API_BUDGETS_ENV];
  if (options.local === true && (raw === undefined || raw.trim() === "")) return LOCAL_BUDGETS;
  return parseApiBudgets(raw);
}

// ---- errors and what a quota answer looks like ---------------------------------------------

/** The wait for a budget could not end before the attempt's deadline: retryable, the call was never sent. */
export class RateBudgetError extends Error {
  constructor(
    readonly key: string,
    readonly waitMs: number,
    message: string,
  ) {
    super(message);
    this.name = "RateBudgetError";
  }
}

const abortError = (key: string): Error => new Error(`aborted while waiting for the rate budget of ${key}`);

/**
 * Whether an answer is a quota refusal: HTTP 429, or gRPC 8 RESOURCE_EXHAUSTED from the server
 * (not grpc-js's own "message larger than max", which it raises after the server answered).
 */
export function isQuotaRefusal(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { httpStatus?: unknown; code?: unknown; details?: unknown; message?: unknown };
  if (typeof e.httpStatus === "number") return e.httpStatus === 429;
  if (e.code !== 8) return false;
  return !/larger than max/i.test(`${String(e.details ?? "")} ${String(e.message ?? "")}`);
}

const durationMs = (d: unknown): number | undefined => {
  if (typeof d === "string") {
    const m = /^(\d+(?:\.\d+)?)s$/.exec(d.trim());
    return m === null ? undefined : Math.round(Number(m[1]) * 1000);
  }
  if (typeof d === "object" && d !== null) {
    const { seconds, nanos } = d as { seconds?: unknown; nanos?: unknown };
    const s = Number(typeof seconds === "object" && seconds !== null ? String(seconds) : (seconds ?? 0));
    const n = Number(nanos ?? 0);
    if (Number.isFinite(s) && Number.isFinite(n)) return Math.round(s * 1000 + n / 1e6);
  }
  return undefined;
};

/**
 * The delay the server asked for: a REST answer's Retry-After (RestApiError.retryAfterMs), or a
 * `google.rpc.RetryInfo` detail (gax decodes gRPC status details into `statusDetails`).
 */
export function retryDelayOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as { retryAfterMs?: unknown; statusDetails?: unknown };
  if (typeof e.retryAfterMs === "number" && Number.isFinite(e.retryAfterMs) && e.retryAfterMs >= 0) return e.retryAfterMs;
  if (Array.isArray(e.statusDetails)) {
    for (const detail of e.statusDetails as unknown[]) {
      if (typeof detail === "object" && detail !== null && "retryDelay" in detail) {
        const ms = durationMs((detail as { retryDelay: unknown }).retryDelay);
        if (ms !== undefined && ms >= 0) return ms;
      }
    }
  }
  return undefined;
}

/** Whether a call changes state: REST by its method, gRPC by its operation's verb (`Cloud Scheduler GetJob` reads). */
export function isMutatingOperation(operation: string): boolean {
  const verb = operation.slice(operation.lastIndexOf(" ") + 1);
  return !/^(?:Get|List|Search|Query|Read|Lookup|BatchGet|Test)/.test(verb);
}

// ---- the clock ------------------------------------------------------------------------------

export interface TimerHandle {
  cancel(): void;
}
export interface Clock {
  now(): number;
  /** Runs `fn` after `ms`; the timer never keeps the process alive on its own. */
  setTimer(fn: () => void, ms: number): TimerHandle;
}
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

// ---- policies -------------------------------------------------------------------------------

export interface AimdPolicy {
  /** Rate multiplier after a quota answer. */
  decrease: number;
  /** The rate never falls below this share of the budget. */
  floor: number;
  /** Quota answers within this long of a decrease drain the buckets but do not decrease again (those calls were already in flight). */
  decreaseCooldownMs: number;
  /** Every this long without a quota answer, the rate climbs back by `step` of the budget. */
  recoverEveryMs: number;
  step: number;
}
export const DEFAULT_AIMD: AimdPolicy = { decrease: 0.5, floor: 0.05, decreaseCooldownMs: 1_000, recoverEveryMs: 2_000, step: 0.1 };

export interface RetryPolicy {
  /** Full jitter: the n-th retry waits a random time in [0, min(capMs, baseMs × 2^n)). */
  baseMs: number;
  capMs: number;
  /** A Retry-After longer than this is taken as this (a misbehaving proxy must not park every call). */
  maxRetryAfterMs: number;
  /** A call is only sent (or a wait only granted) with at least this long left before the deadline. */
  minCallMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { baseMs: 200, capMs: 10_000, maxRetryAfterMs: 60_000, minCallMs: 100 };

// ---- stats (process-wide, for the load test and the benchmark) -------------------------------

export interface RateBudgetKeyStats {
  key: string;
  api: string;
  projectId: string | null;
  /** Calls let through (every try of a retried call counts). */
  calls: number;
  mutatingCalls: number;
  /** Calls that had to wait for a token, a slot or a Retry-After pause. */
  waits: number;
  waitedMs: number;
  maxWaitMs: number;
  /** Quota answers (429 / RESOURCE_EXHAUSTED) received. */
  quotaAnswers: number;
  /** Of those, the ones tried again inside the call (the task never saw them). */
  absorbed: number;
  /** Of those, the ones that reached the caller (the deadline or the signal came first, or absorption is off). */
  surfaced: number;
  /** Waits refused at once because they could not end before the deadline, or that the deadline ended. */
  failedFast: number;
  aborted: number;
  inFlight: number;
  maxInFlight: number;
  queued: number;
  /** The current rate of all calls (lowered after quota answers, recovering). */
  ratePerMinute: number;
}

const STATS = new Map<string, RateBudgetKeyStats>();

function statsOf(key: string, api: string, projectId: string | null, rate: number): RateBudgetKeyStats {
  let s = STATS.get(key);
  if (s === undefined) {
    s = { key, api, projectId, calls: 0, mutatingCalls: 0, waits: 0, waitedMs: 0, maxWaitMs: 0, quotaAnswers: 0, absorbed: 0, surfaced: 0, failedFast: 0, aborted: 0, inFlight: 0, maxInFlight: 0, queued: 0, ratePerMinute: rate };
    STATS.set(key, s);
  }
  return s;
}

type Totals = Omit<RateBudgetKeyStats, "key" | "api" | "projectId" | "ratePerMinute" | "inFlight" | "queued" | "maxInFlight">;

/** Counters per key since the process started (or the last reset), and their totals. */
export function rateBudgetStats(): { keys: RateBudgetKeyStats[]; totals: Totals } {
  const keys = [...STATS.values()].map((s) => ({ ...s })).sort((a, b) => a.key.localeCompare(b.key));
  const totals: Totals = { calls: 0, mutatingCalls: 0, waits: 0, waitedMs: 0, maxWaitMs: 0, quotaAnswers: 0, absorbed: 0, surfaced: 0, failedFast: 0, aborted: 0 };
  for (const s of keys) {
    for (const k of Object.keys(totals) as Array<keyof Totals>) totals[k] = k === "maxWaitMs" ? Math.max(totals[k], s[k]) : totals[k] + s[k];
  }
  return { keys, totals };
}

/** Zeroes the counters (the keys' gauges stay: their calls are still in flight). */
export function resetRateBudgetStats(): void {
  for (const s of STATS.values()) {
    Object.assign(s, { calls: 0, mutatingCalls: 0, waits: 0, waitedMs: 0, maxWaitMs: 0, quotaAnswers: 0, absorbed: 0, surfaced: 0, failedFast: 0, aborted: 0, maxInFlight: s.inFlight });
  }
}

// ---- one bucket -----------------------------------------------------------------------------

/** A token bucket whose rate an AIMD factor lowers after quota answers and raises back in steps (an infinite rate: no bucket). */
export class TokenBucket {
  private readonly unlimited: boolean;
  private tokens: number;
  private last: number;
  private factor = 1;
  private cutAt = Number.NEGATIVE_INFINITY;
  private steppedAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly rate: Rate,
    private readonly aimd: AimdPolicy,
    now: number,
  ) {
    this.unlimited = !Number.isFinite(rate.perMinute);
    this.tokens = this.unlimited ? Number.POSITIVE_INFINITY : rate.burst;
    this.last = now;
  }

  private perMs(): number {
    return (this.rate.perMinute * this.factor) / 60_000;
  }

  /** Refills up to `now` (at the rate in force), then recovers the rate by whole steps. */
  update(now: number): void {
    if (this.unlimited) return;
    if (now > this.last) {
      this.tokens = Math.min(this.rate.burst, this.tokens + (now - this.last) * this.perMs());
      this.last = now;
    }
    if (this.factor < 1) {
      const since = Math.max(this.cutAt, this.steppedAt);
      const steps = Math.floor((now - since) / this.aimd.recoverEveryMs);
      if (steps > 0) {
        this.factor = Math.min(1, this.factor + steps * this.aimd.step);
        this.steppedAt = since + steps * this.aimd.recoverEveryMs;
      }
    }
  }

  get available(): number {
    return this.tokens;
  }

  take(): void {
    if (!this.unlimited) this.tokens -= 1;
  }

  /** How long until `count` tokens are there, at the rate in force. */
  msUntil(count: number): number {
    const missing = count - this.tokens;
    return missing <= 0 ? 0 : Math.ceil(missing / this.perMs());
  }

  /** A quota answer: drains the bucket and (once per cooldown) lowers the rate. */
  penalize(now: number): void {
    if (this.unlimited) return;
    this.update(now);
    this.tokens = Math.min(this.tokens, 0);
    if (now - this.cutAt >= this.aimd.decreaseCooldownMs) {
      this.factor = Math.max(this.aimd.floor, this.factor * this.aimd.decrease);
      this.cutAt = now;
      this.steppedAt = now;
    }
  }

  get ratePerMinute(): number {
    return this.rate.perMinute * this.factor;
  }
}

// ---- one key --------------------------------------------------------------------------------

export interface Permit {
  /** Gives the slot back; `quota`: the answer was a quota refusal (feedback), with the server's delay if it named one. */
  release(feedback?: { quota: true; retryAfterMs?: number }): void;
}

const perMinute = (rate: number): string => (Number.isFinite(rate) ? `${Math.round(rate)}/min` : "no rate limit");

interface Waiter {
  seq: number;
  mutating: boolean;
  since: number;
  grant(): void;
}

export interface ThrottleEvent {
  key: string;
  api: string;
  projectId: string | null;
  reason: "wait" | "quota";
  detail: string;
}

class KeyBudget {
  private readonly all: TokenBucket;
  private readonly writes: TokenBucket;
  private inFlight = 0;
  private inFlightWrites = 0;
  private readonly reads: Waiter[] = [];
  private readonly writesQueue: Waiter[] = [];
  private pausedUntil = 0;
  private timer: TimerHandle | undefined;
  private seq = 0;
  readonly stats: RateBudgetKeyStats;

  constructor(
    readonly key: string,
    readonly api: string,
    readonly projectId: string | null,
    readonly spec: ApiBudget,
    private readonly clock: Clock,
    aimd: AimdPolicy,
    private readonly retry: RetryPolicy,
    private readonly throttled: (event: ThrottleEvent) => void,
  ) {
    const now = clock.now();
    this.all = new TokenBucket(spec, aimd, now);
    this.writes = new TokenBucket(spec.mutating, aimd, now);
    this.stats = statsOf(key, api, projectId, spec.perMinute);
  }

  private refill(now: number): void {
    this.all.update(now);
    this.writes.update(now);
    this.stats.ratePerMinute = this.all.ratePerMinute;
  }

  /** How long a new waiter would wait for tokens (and a pause), behind everyone queued; slots are not foreseeable. */
  private estimate(mutating: boolean, now: number): number {
    let wait = Math.max(0, this.pausedUntil - now, this.all.msUntil(this.reads.length + this.writesQueue.length + 1));
    if (mutating) wait = Math.max(wait, this.writes.msUntil(this.writesQueue.length + 1));
    return wait;
  }

  acquire(mutating: boolean, limits: CallLimits): Promise<Permit> {
    if (limits.signal.aborted) {
      this.stats.aborted += 1;
      return Promise.reject(abortError(this.key));
    }
    const now = this.clock.now();
    this.refill(now);
    const latest = limits.deadline - this.retry.minCallMs;
    const estimate = this.estimate(mutating, now);
    if (estimate > 0 && now + estimate > latest) {
      this.stats.failedFast += 1;
      return Promise.reject(
        new RateBudgetError(
          this.key,
          estimate,
          `the rate budget of ${this.key} would hold this call about ${estimate} ms, past the attempt's deadline (${Math.max(0, limits.deadline - now)} ms left); not sent, try again`,
        ),
      );
    }
    return new Promise<Permit>((resolve, reject) => {
      let settled = false;
      let deadlineTimer: TimerHandle | undefined;
      const waiter: Waiter = {
        seq: ++this.seq,
        mutating,
        since: now,
        grant: () => {
          settled = true;
          cleanup();
          resolve(this.permit(mutating));
        },
      };
      const queue = mutating ? this.writesQueue : this.reads;
      const leave = (error: Error): void => {
        if (settled) return;
        settled = true;
        cleanup();
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        this.stats.queued = this.reads.length + this.writesQueue.length;
        reject(error);
        // Leaving may let the other class's head through.
        this.pump();
      };
      const onAbort = (): void => {
        this.stats.aborted += 1;
        leave(abortError(this.key));
      };
      const cleanup = (): void => {
        deadlineTimer?.cancel();
        limits.signal.removeEventListener("abort", onAbort);
      };
      queue.push(waiter);
      this.stats.queued = this.reads.length + this.writesQueue.length;
      this.pump();
      if (settled) return;
      // It waits: say so once in a while, and bound the wait by the deadline.
      this.stats.waits += 1;
      this.throttled({ key: this.key, api: this.api, projectId: this.projectId, reason: "wait", detail: `calls wait for the budget (${perMinute(this.all.ratePerMinute)}, ${this.spec.concurrent} in flight, ${this.spec.mutating.concurrent} mutating)` });
      limits.signal.addEventListener("abort", onAbort, { once: true });
      deadlineTimer = this.clock.setTimer(() => {
        this.stats.failedFast += 1;
        const waited = this.clock.now() - now;
        leave(new RateBudgetError(this.key, waited, `the rate budget of ${this.key} held this call ${waited} ms, until the attempt's deadline; not sent, try again`));
      }, latest - now);
    });
  }

  private permit(mutating: boolean): Permit {
    let released = false;
    return {
      release: (feedback) => {
        if (released) return;
        released = true;
        this.inFlight -= 1;
        if (mutating) this.inFlightWrites -= 1;
        this.stats.inFlight = this.inFlight;
        if (feedback?.quota) this.penalize(mutating, feedback.retryAfterMs);
        this.pump();
      },
    };
  }

  private penalize(mutating: boolean, retryAfterMs: number | undefined): void {
    const now = this.clock.now();
    this.stats.quotaAnswers += 1;
    this.all.penalize(now);
    if (mutating) this.writes.penalize(now);
    if (retryAfterMs !== undefined) this.pausedUntil = Math.max(this.pausedUntil, now + Math.min(retryAfterMs, this.retry.maxRetryAfterMs));
    this.stats.ratePerMinute = this.all.ratePerMinute;
    this.throttled({
      key: this.key,
      api: this.api,
      projectId: this.projectId,
      reason: "quota",
      detail: `the API answered a quota error; rate ${perMinute(this.all.ratePerMinute)}${retryAfterMs === undefined ? "" : `, paused ${retryAfterMs} ms as asked`}`,
    });
  }

  /** Lets through every head that may go now, in arrival order, then sets the timer for the next. */
  private pump(): void {
    const now = this.clock.now();
    this.refill(now);
    for (;;) {
      const sharedBlocked = now < this.pausedUntil || this.all.available < 1 || this.inFlight >= this.spec.concurrent;
      if (sharedBlocked) break;
      const heads = [this.reads[0], this.writesQueue[0]].filter((w): w is Waiter => w !== undefined).sort((a, b) => a.seq - b.seq);
      const next = heads.find((w) => !w.mutating || (this.writes.available >= 1 && this.inFlightWrites < this.spec.mutating.concurrent));
      if (next === undefined) break;
      (next.mutating ? this.writesQueue : this.reads).shift();
      this.all.take();
      if (next.mutating) this.writes.take();
      this.inFlight += 1;
      if (next.mutating) this.inFlightWrites += 1;
      const waited = now - next.since;
      const s = this.stats;
      s.calls += 1;
      if (next.mutating) s.mutatingCalls += 1;
      s.waitedMs += waited;
      s.maxWaitMs = Math.max(s.maxWaitMs, waited);
      s.inFlight = this.inFlight;
      s.maxInFlight = Math.max(s.maxInFlight, this.inFlight);
      next.grant();
    }
    this.stats.queued = this.reads.length + this.writesQueue.length;
    this.timer?.cancel();
    this.timer = undefined;
    if (this.reads.length === 0 && this.writesQueue.length === 0) return;
    // Slots free on release; tokens and pauses need a timer.
    let wakeAt = Number.POSITIVE_INFINITY;
    if (now < this.pausedUntil) wakeAt = this.pausedUntil;
    else if (this.all.available < 1) wakeAt = now + this.all.msUntil(1);
    else if (this.writesQueue.length > 0 && this.writes.available < 1) wakeAt = now + this.writes.msUntil(1);
    if (Number.isFinite(wakeAt)) this.timer = this.clock.setTimer(() => this.pump(), Math.max(1, wakeAt - now));
  }
}

// ---- the registry ---------------------------------------------------------------------------

export interface RateBudgetOptions {
  budgets?: ApiBudgets;
  clock?: Clock;
  /** In [0, 1): the jitter of the backoff. */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  aimd?: Partial<AimdPolicy>;
  /** Told when a key starts waiting or gets a quota answer; `run` reports at most once per key per `throttleLogEveryMs`. */
  onThrottled?: (event: ThrottleEvent) => void;
  throttleLogEveryMs?: number;
}

/** Where a call's budget is, or nothing when its API is unbudgeted. */
export interface BudgetKey {
  key: string;
  api: string;
  projectId: string | null;
}

const PROJECT = /^projects\/([^/]+)/;
/** Hosting names versions and releases `sites/{site}/…`: the project is learned from `projects/{p}/sites/{site}` calls. */
const PROJECT_SITE = /^projects\/([^/]+)\/sites\/([^/]+)/;
const SITE = /^sites\/([^/]+)/;

/** The budgets of one process: a key per API and project, made on first use. */
export class RateBudgets {
  readonly budgets: ApiBudgets;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly retry: RetryPolicy;
  private readonly aimd: AimdPolicy;
  private readonly keys = new Map<string, KeyBudget>();
  private readonly siteProjects = new Map<string, string>();
  private readonly loggedAt = new Map<string, number>();
  private readonly onThrottled: (event: ThrottleEvent) => void;
  private readonly throttleLogEveryMs: number;

  constructor(options: RateBudgetOptions = {}) {
    this.budgets = options.budgets ?? DEFAULT_BUDGETS;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.aimd = { ...DEFAULT_AIMD, ...options.aimd };
    this.onThrottled = options.onThrottled ?? (() => undefined);
    this.throttleLogEveryMs = options.throttleLogEveryMs ?? 10 * 60_000;
  }

  private specOf(api: string): ApiBudget | null {
    const own = this.budgets.apis[api];
    return own === undefined ? this.budgets.fallback : own;
  }

  /** The key a call to `site` draws on; undefined when its API has no budget. */
  keyOf(site: Pick<ApiCallSite, "api" | "resource">): BudgetKey | undefined {
    const spec = this.specOf(site.api);
    if (spec === null) return undefined;
    if (spec.scope === "api") return { key: site.api, api: site.api, projectId: null };
    const projectSite = PROJECT_SITE.exec(site.resource);
    if (projectSite !== null) {
      if (this.siteProjects.size > 10_000) this.siteProjects.clear();
      this.siteProjects.set(projectSite[2]!, projectSite[1]!);
    }
    const siteMatch = SITE.exec(site.resource);
    const projectId = PROJECT.exec(site.resource)?.[1] ?? (siteMatch === null ? undefined : this.siteProjects.get(siteMatch[1]!)) ?? null;
    return { key: projectId === null ? site.api : `${site.api}/${projectId}`, api: site.api, projectId };
  }

  private budgetOf(k: BudgetKey): KeyBudget {
    let b = this.keys.get(k.key);
    if (b === undefined) {
      b = new KeyBudget(k.key, k.api, k.projectId, this.specOf(k.api)!, this.clock, this.aimd, this.retry, (event) => this.report(event));
      this.keys.set(k.key, b);
    }
    return b;
  }

  private report(event: ThrottleEvent): void {
    const now = this.clock.now();
    const last = this.loggedAt.get(event.key);
    if (last !== undefined && now - last < this.throttleLogEveryMs) return;
    this.loggedAt.set(event.key, now);
    this.onThrottled(event);
  }

  /** A slot for one call to `site` (undefined: unbudgeted). */
  async acquire(site: Pick<ApiCallSite, "api" | "resource">, mutating: boolean, limits: CallLimits): Promise<Permit | undefined> {
    const k = this.keyOf(site);
    return k === undefined ? undefined : this.budgetOf(k).acquire(mutating, limits);
  }

  /** The backoff before the `retry`-th retry (0 first): full jitter, or the server's delay plus a little jitter. */
  backoffMs(retry: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, this.retry.maxRetryAfterMs) + Math.floor(this.random() * this.retry.baseMs);
    return Math.floor(this.random() * Math.min(this.retry.capMs, this.retry.baseMs * 2 ** Math.min(retry, 30)));
  }

  private sleep(ms: number, signal: AbortSignal, key: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(abortError(key));
      const onAbort = (): void => {
        timer.cancel();
        reject(abortError(key));
      };
      const timer = this.clock.setTimer(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Sends one call within its budget, absorbing quota answers: each is retried after its backoff
   * while the attempt's deadline leaves room and its signal has not aborted; the last one reaches
   * the caller as it came (retryable). Other answers pass through at once.
   */
  async run<T>(site: Pick<ApiCallSite, "api" | "resource">, mutating: boolean, limits: CallLimits, send: () => Promise<T>): Promise<T> {
    const k = this.keyOf(site);
    if (k === undefined) return send();
    const budget = this.budgetOf(k);
    let lastQuota: unknown;
    for (let retry = 0; ; retry++) {
      let permit: Permit;
      try {
        permit = await budget.acquire(mutating, limits);
      } catch (error) {
        // A retry the budget cannot fit before the deadline: the task hears the server's answer, as before.
        if (lastQuota === undefined || !(error instanceof RateBudgetError)) throw error;
        budget.stats.surfaced += 1;
        throw lastQuota;
      }
      // The quota answer before this try is absorbed: the caller will not see it.
      if (retry > 0) budget.stats.absorbed += 1;
      try {
        const result = await send();
        permit.release();
        return result;
      } catch (error) {
        if (!isQuotaRefusal(error)) {
          permit.release();
          throw error;
        }
        lastQuota = error;
        const retryAfterMs = retryDelayOf(error);
        permit.release({ quota: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
        const delay = this.backoffMs(retry, retryAfterMs);
        if (!budget.spec.absorb || limits.signal.aborted || this.clock.now() + delay + this.retry.minCallMs > limits.deadline) {
          budget.stats.surfaced += 1;
          throw error;
        }
        await this.sleep(delay, limits.signal, k.key).catch((abort: unknown) => {
          budget.stats.aborted += 1;
          throw abort;
        });
      }
    }
  }
}
