/**
 * What an attempt is, decided purely: a gate's short claim and its resumption, an external task's
 * token outbox, a long delay that sleeps durably, the idempotency key of an attempt's intent, a
 * lease expiry as a used attempt, and the timeouts a task may ask for inside one invocation.
 */
import { MAX_IN_INVOCATION_SECONDS, TASK_FUNCTION_TIMEOUT_SECONDS } from "../../../functions/src/config";
import {
  decideClaim,
  decideCompletion,
  decideGiveBack,
  decideReset,
  decideSweep,
  decideTokenPublished,
  decideWait,
  GATE_CLAIM_LEASE_MS,
  idempotencyKey,
  IN_INVOCATION_DELAY_MAX_MS,
  initialTask,
  intentOf,
  type EngineTiming,
  type TaskUpdate,
} from "../../../functions/src/engine/task";
import { delayExecutor } from "../../../functions/src/executors/delay";
import { compilePlan } from "../../../functions/src/planner/compile";
import { DEFAULT_TIMEOUT_SECONDS, EXECUTOR_KINDS, taskSpecSchema } from "../../../functions/src/schema/plan";
import { taskDocSchema, type TaskDoc } from "../../../functions/src/schema/task";

const timing: EngineTiming = { leaseMarginMs: 30_000, redispatchAfterMs: 60_000 };
const T0 = 1_700_000_000_000;
const random = () => 0.5;
const WEEK = 7 * 86_400;

function task(run: string, overrides: Partial<TaskDoc> = {}, params: Record<string, unknown> = {}, timeoutSeconds = 10): TaskDoc {
  const base = initialTask({ planId: "p", spec: { id: "t", run, params, needs: [], timeoutSeconds }, dependents: [], level: 0, now: T0, timing });
  return { ...base, ...overrides };
}

const after = (t: TaskDoc, d: { kind: string; update?: TaskUpdate }): TaskDoc => ({ ...t, ...(d.update ?? {}) });
const claim = (t: TaskDoc, now: number, owner = "run:m1", attempt = t.attempt) => decideClaim({ task: t, planStatus: "running", attempt, phase: "run", owner, now, timing });
const retry = (maxAttempts: number, retryOn?: string[]) => ({ maxAttempts, initialBackoffSeconds: 1, backoffMultiplier: 2, maxBackoffSeconds: 10, jitter: 0, ...(retryOn ? { retryOn } : {}) });

describe("a run-phase claim that did not read its plan", () => {
  it("claims a ready task; a compensation's claim still needs its plan rolling back", () => {
    const ready = task("noop");
    expect(decideClaim({ task: ready, planStatus: undefined, attempt: 1, phase: "run", owner: "run:m1", now: T0, timing })).toMatchObject({ kind: "claim", update: { status: "running" } });
    expect(decideClaim({ task: { ...ready, status: "compensating" }, planStatus: undefined, attempt: 1, phase: "compensate", owner: "run:m1", now: T0, timing })).toMatchObject({ kind: "skip", reason: "plan is undefined, not rolling back" });
  });

  it("is given back unrun, the same attempt ready again, by its own lease holder only", () => {
    const running = after(task("noop"), claim(task("noop"), T0));
    const back = decideGiveBack({ task: running, attempt: 1, owner: "run:m1", reason: "the plan is planning", now: T0 + 10, timing });
    expect(back).toMatchObject({ kind: "give_back", update: { status: "ready", lease: null, startedAt: null, sweepAt: T0 + 10 + timing.redispatchAfterMs } });
    const given = after(running, back);
    expect(given.attempt).toBe(1);
    expect(given.history.at(-1)).toMatchObject({ from: "running", to: "ready", cause: "given back unrun by run:m1: the plan is planning" });
    expect(decideGiveBack({ task: running, attempt: 1, owner: "run:m2", reason: "x", now: T0, timing })).toMatchObject({ kind: "skip" });
    expect(decideGiveBack({ task: running, attempt: 2, owner: "run:m1", reason: "x", now: T0, timing })).toMatchObject({ kind: "skip" });
    expect(decideGiveBack({ task: given, attempt: 1, owner: "run:m1", reason: "x", now: T0, timing })).toMatchObject({ kind: "skip" });
  });
});

describe("the sweeper and a due ready task", () => {
  it("dispatches it again while its plan runs, and cancels it in place once its plan ended", () => {
    const ready = task("noop", { sweepAt: T0 });
    expect(decideSweep(ready, T0 + 1, timing)).toMatchObject({ kind: "redispatch", phase: "run" });
    const cancelled = decideSweep(ready, T0 + 1, timing, "cancelled");
    expect(cancelled).toMatchObject({ kind: "cancel", update: { status: "cancelled", finishedAt: T0 + 1, sweepAt: null } });
    expect(after(ready, cancelled).history.at(-1)).toMatchObject({ from: "ready", to: "cancelled", cause: "plan is cancelled" });
  });
});

describe("a gate's claim", () => {
  it.each(["approval", "external"])("takes a short lease for %s, not one as long as the wait", (run) => {
    const gate = task(run, {}, {}, WEEK);
    const decision = claim(gate, T0);
    expect(decision).toMatchObject({ kind: "claim", update: { status: "running", lease: { owner: "run:m1", expiresAt: T0 + GATE_CLAIM_LEASE_MS + timing.leaseMarginMs }, sweepAt: T0 + GATE_CLAIM_LEASE_MS + timing.leaseMarginMs } });
    // Entering the wait sets the real deadline.
    const running = after(gate, decision);
    expect(decideWait({ task: running, attempt: 1, owner: "run:m1", status: "waiting_approval", tokenHash: null, heartbeatSeconds: null, now: T0 + 5, timing })).toMatchObject({
      update: { waiting: { deadline: T0 + 5 + WEEK * 1000 }, sweepAt: T0 + 5 + WEEK * 1000 },
    });
  });

  it("keeps a work task's lease covering its timeout", () => {
    expect(claim(task("noop", {}, {}, 100), T0)).toMatchObject({ update: { lease: { expiresAt: T0 + 100_000 + timing.leaseMarginMs } } });
  });

  it("resumes for a redelivery to the same worker while its lease lasts; skips for anyone else, after the lease, or for work tasks", () => {
    const running = after(task("approval", {}, {}, WEEK), claim(task("approval", {}, {}, WEEK), T0));
    expect(claim(running, T0 + 1_000)).toMatchObject({ kind: "resume" });
    expect(claim(running, T0 + 1_000, "run:m2")).toEqual({ kind: "skip", reason: "task is running, not ready" });
    expect(claim(running, running.lease!.expiresAt)).toMatchObject({ kind: "skip" });
    expect(claim(running, T0 + 1_000, "run:m1", 2)).toMatchObject({ kind: "skip", reason: expect.stringContaining("stale attempt") });
    expect(decideClaim({ task: running, planStatus: "cancelled", attempt: 1, phase: "run", owner: "run:m1", now: T0 + 1, timing })).toMatchObject({ kind: "skip" });
    const work = after(task("http"), claim(task("http"), T0));
    expect(claim(work, T0 + 1_000)).toMatchObject({ kind: "skip", reason: "task is running, not ready" });
  });

  it("whose short lease expired before the wait began is dispatched again as the same attempt, whatever maxAttempts says", () => {
    const running = after(task("external", {}, {}, WEEK), claim(task("external", {}, {}, WEEK), T0));
    const swept = decideSweep(running, running.lease!.expiresAt, timing);
    expect(swept).toMatchObject({ kind: "expire_lease", failed: false, update: { status: "ready", lease: null, sweepAt: running.lease!.expiresAt + timing.redispatchAfterMs } });
    expect((swept as { update: TaskUpdate }).update.attempt).toBeUndefined();
    // It was due well before the week the wait may take.
    expect(running.sweepAt).toBeLessThan(T0 + 2 * 60_000);
  });
});

describe("an external task's token outbox", () => {
  const running = (heartbeatSeconds: number | null = null) => {
    const t = task("external", {}, heartbeatSeconds === null ? {} : { heartbeatSeconds }, 3_600);
    return { running: after(t, claim(t, T0)), heartbeatSeconds };
  };

  it("waits with the token not yet published, due for the sweeper soon", () => {
    const { running: t } = running();
    const wait = decideWait({ task: t, attempt: 1, owner: "run:m1", status: "waiting_external", tokenHash: "h", heartbeatSeconds: null, now: T0, timing });
    expect(wait).toMatchObject({ kind: "wait", update: { waiting: { tokenHash: "h", deadline: T0 + 3_600_000, tokenPublished: false }, sweepAt: T0 + timing.redispatchAfterMs } });
    // A heartbeat due sooner than that is checked sooner.
    const { running: hb } = running(10);
    expect(decideWait({ task: hb, attempt: 1, owner: "run:m1", status: "waiting_external", tokenHash: "h", heartbeatSeconds: 10, now: T0, timing })).toMatchObject({ update: { sweepAt: T0 + 10_000 } });
    // An approval has no token.
    const gate = after(task("approval", {}, {}, WEEK), claim(task("approval", {}, {}, WEEK), T0));
    const approval = decideWait({ task: gate, attempt: 1, owner: "run:m1", status: "waiting_approval", tokenHash: null, heartbeatSeconds: null, now: T0, timing });
    expect((approval as { update: TaskUpdate }).update.waiting).toEqual({ tokenHash: null, deadline: T0 + WEEK * 1000, heartbeatSeconds: null });
  });

  it("marks the token published once, for this attempt's token only, and is due at the heartbeat or deadline again", () => {
    const { running: t } = running(60);
    const waiting = after(t, decideWait({ task: t, attempt: 1, owner: "run:m1", status: "waiting_external", tokenHash: "h", heartbeatSeconds: 60, now: T0, timing }));
    const marked = decideTokenPublished({ task: waiting, attempt: 1, tokenHash: "h", now: T0 + 100 });
    expect(marked).toEqual({ kind: "published", update: { waiting: { ...waiting.waiting, tokenPublished: true }, sweepAt: T0 + 100 + 60_000 } });
    expect(decideTokenPublished({ task: after(waiting, marked), attempt: 1, tokenHash: "h", now: T0 + 200 })).toMatchObject({ kind: "skip", reason: expect.stringContaining("already") });
    expect(decideTokenPublished({ task: waiting, attempt: 1, tokenHash: "other", now: T0 })).toMatchObject({ kind: "skip" });
    expect(decideTokenPublished({ task: waiting, attempt: 2, tokenHash: "h", now: T0 })).toMatchObject({ kind: "skip" });
    expect(decideTokenPublished({ task: { ...waiting, status: "succeeded", waiting: null }, attempt: 1, tokenHash: "h", now: T0 })).toMatchObject({ kind: "skip" });
  });

  it("has the sweeper publish an unpublished token again until its deadline, then fails the wait", () => {
    const { running: t } = running();
    const waiting = after(t, decideWait({ task: t, attempt: 1, owner: "run:m1", status: "waiting_external", tokenHash: "h", heartbeatSeconds: null, now: T0, timing }));
    expect(decideSweep(waiting, T0 + timing.redispatchAfterMs - 1, timing)).toMatchObject({ kind: "skip" });
    expect(decideSweep(waiting, T0 + timing.redispatchAfterMs, timing)).toEqual({ kind: "republish_token", update: { sweepAt: T0 + 2 * timing.redispatchAfterMs } });
    // Never due later than the deadline, and at the deadline the wait fails as before.
    const deadline = waiting.waiting!.deadline;
    expect(decideSweep({ ...waiting, sweepAt: deadline - 10 }, deadline - 10, timing)).toEqual({ kind: "republish_token", update: { sweepAt: deadline } });
    expect(decideSweep({ ...waiting, sweepAt: deadline }, deadline, timing)).toMatchObject({ kind: "deadline", update: { status: "failed", error: { code: "timeout" } } });
  });

  it("treats a wait written before the outbox (no tokenPublished) as published", () => {
    const old = taskDocSchema.parse({ ...task("external"), status: "waiting_external", waiting: { tokenHash: "h", deadline: T0 + 1000, heartbeatSeconds: null }, sweepAt: T0 + 1000 });
    expect(old.waiting!.tokenPublished).toBeUndefined();
    expect(decideSweep(old, T0 + 1000, timing)).toMatchObject({ kind: "deadline" });
  });
});

describe("a long delay", () => {
  const ms = 3 * 3_600_000;
  const delay = (overrides: Partial<TaskDoc> = {}) => task("delay", overrides, { ms }, 60);

  it("sleeps durably at its first claim: back to ready until its wake-up, recorded in its history", () => {
    const d = claim(delay(), T0);
    expect(d).toMatchObject({ kind: "sleep", until: T0 + ms, update: { delayUntil: { at: T0 + ms, intent: 1 }, notBefore: T0 + ms, sweepAt: T0 + ms } });
    const update = (d as { update: TaskUpdate }).update;
    expect(update.status).toBeUndefined();
    expect(update.lease).toBeUndefined();
    expect(update.history!.at(-1)).toMatchObject({ from: "ready", to: "ready", attempt: 1, cause: expect.stringContaining(`sleeping until ${new Date(T0 + ms).toISOString()}`) });
  });

  it("is not extended by redeliveries, is dispatched by the sweeper when due, and its claim after the wake-up succeeds at once", () => {
    const sleeping = after(delay(), claim(delay(), T0));
    expect(claim(sleeping, T0 + 1_000, "run:m2")).toEqual({ kind: "skip", reason: `sleeping until ${new Date(T0 + ms).toISOString()} (${ms - 1_000} ms)` });
    expect(decideSweep(sleeping, T0 + ms - 1, timing).kind).toBe("skip");
    expect(decideSweep(sleeping, T0 + ms, timing)).toMatchObject({ kind: "redispatch", phase: "run" });
    const woken = claim(sleeping, T0 + ms + 5, "run:m3");
    // An ordinary claim, its lease the attempt's timeout (a minute), not the delay.
    expect(woken).toMatchObject({ kind: "claim", update: { status: "running", lease: { expiresAt: T0 + ms + 5 + 60_000 + timing.leaseMarginMs } } });
    expect(after(sleeping, woken).delayUntil).toEqual({ at: T0 + ms, intent: 1 });
  });

  it("does not sleep again after its woken attempt's worker is lost, but does after a redrive", () => {
    const sleeping = after(delay({ retry: retry(3) }), claim(delay({ retry: retry(3) }), T0));
    const running = after(sleeping, claim(sleeping, T0 + ms));
    const lost = after(running, decideSweep(running, running.lease!.expiresAt, timing));
    expect(lost).toMatchObject({ status: "ready", attempt: 2 });
    expect(claim(lost, lost.readyAt!, "run:m4")).toMatchObject({ kind: "claim" });
    const failed = { ...lost, status: "failed" as const, finishedAt: T0 + ms + 1 };
    const redriven = after(failed, decideReset(failed, new Map(), "ops", T0 + 2 * ms, timing));
    expect(claim(redriven, T0 + 2 * ms)).toMatchObject({ kind: "sleep", until: T0 + 3 * ms });
  });

  it("short enough sleeps in the invocation as before", () => {
    expect(claim(task("delay", {}, { ms: IN_INVOCATION_DELAY_MAX_MS }), T0)).toMatchObject({ kind: "claim" });
    expect(claim(task("delay", {}, { ms: IN_INVOCATION_DELAY_MAX_MS + 1 }), T0)).toMatchObject({ kind: "sleep" });
  });

  it("that reaches the executor anyway (a compensation step) and cannot end before its deadline fails at once", async () => {
    const ctx = { planId: "p", taskId: "t", attempt: 1, idempotencyKey: "p/t/1/compensate", signal: new AbortController().signal, deadline: Date.now() + 1_000 };
    const started = Date.now();
    expect(await delayExecutor.execute({ ms: ms }, ctx)).toMatchObject({ ok: false, error: { code: "delay_too_long", retryable: false } });
    expect(Date.now() - started).toBeLessThan(500);
    expect(await delayExecutor.execute({ ms: 5 }, ctx)).toEqual({ ok: true, output: { waitedMs: 5 } });
  });
});

describe("the idempotency key names the attempt's intent", () => {
  const running = (t: TaskDoc, now: number) => after(t, claim(t, now, `run:${now}`));

  it("stays the same when a lost worker's attempt runs again, however often", () => {
    const t = task("http", { retry: retry(5) });
    expect(idempotencyKey(t, "run")).toBe("p/t/1");
    const once = after(t, decideSweep(running(t, T0), T0 + 1_000_000, timing));
    expect(once).toMatchObject({ attempt: 2, intent: { attempt: 2, since: 1 } });
    expect(idempotencyKey(once, "run")).toBe("p/t/1");
    const twice = after(once, decideSweep(running(once, T0 + 2_000_000), T0 + 3_000_000, timing));
    expect(twice.attempt).toBe(3);
    expect(idempotencyKey(twice, "run")).toBe("p/t/1");
  });

  it("changes when the engine tries again after a reported failure, and after a redrive", () => {
    const t = task("http", { retry: retry(5) });
    const lost = after(t, decideSweep(running(t, T0), T0 + 1_000_000, timing));
    const r = running(lost, T0 + 2_000_000);
    const failed = decideCompletion({ task: r, attempt: 2, owner: r.lease!.owner, outcome: { ok: false, error: { message: "503", code: "http_503", retryable: true } }, now: T0 + 2_000_001, timing, random });
    const retried = after(r, failed);
    expect(retried.attempt).toBe(3);
    expect(intentOf(retried)).toBe(3);
    expect(idempotencyKey(retried, "run")).toBe("p/t/3");
    const done = { ...retried, status: "failed" as const, finishedAt: T0 + 3_000_000 };
    const redriven = after(done, decideReset(done, new Map(), "ops", T0 + 4_000_000, timing));
    expect(idempotencyKey(redriven, "run")).toBe("p/t/4");
  });

  it("has a compensation key of its own", () => {
    expect(idempotencyKey(task("http"), "compensate")).toBe("p/t/1/compensate");
  });
});

describe("a lease expiry uses an attempt", () => {
  const lostAt = (t: TaskDoc) => {
    const r = after(t, claim(t, T0));
    return decideSweep(r, r.lease!.expiresAt, timing);
  };

  it("fails the task with maxAttempts 1 (and without a policy) instead of running it again", () => {
    for (const policy of [null, retry(1)]) {
      expect(lostAt(task("http", { retry: policy }))).toMatchObject({
        kind: "expire_lease",
        failed: true,
        update: { status: "failed", error: { code: "lease_expired", retryable: true }, sweepAt: null, finishedAt: expect.any(Number) },
      });
    }
  });

  it("runs it again while the policy has attempts left, as retryOn says", () => {
    expect(lostAt(task("http", { retry: retry(2) }))).toMatchObject({ failed: false, update: { status: "ready", attempt: 2 } });
    expect(lostAt(task("http", { retry: retry(2, ["http_503"]) }))).toMatchObject({ failed: true });
    expect(lostAt(task("http", { retry: retry(2, ["lease_expired"]) }))).toMatchObject({ failed: false });
    const last = after(task("http", { retry: retry(2) }), { kind: "x", update: { attempt: 2 } });
    expect(lostAt(last)).toMatchObject({ failed: true });
  });
});

describe("timeouts within the function's limit", () => {
  const issues = (spec: Record<string, unknown>) => {
    const r = taskSpecSchema.safeParse(spec);
    return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  };
  const params: Record<string, Record<string, unknown>> = {
    noop: {},
    delay: { ms: 1 },
    http: { url: "https://example.com/hook" },
    firebase: { integration: "database", environment: "dev", projectId: "acme-dev", region: "us-central1" },
  };

  it("keeps the safe part below the function's own limit", () => {
    expect(MAX_IN_INVOCATION_SECONDS).toBeLessThan(TASK_FUNCTION_TIMEOUT_SECONDS);
  });

  it.each(Object.keys(params))("refuses a %s timeout above the safe limit, naming the field", (run) => {
    expect(issues({ id: "a", run, params: params[run], timeoutSeconds: MAX_IN_INVOCATION_SECONDS })).toEqual([]);
    expect(issues({ id: "a", run, params: params[run], timeoutSeconds: MAX_IN_INVOCATION_SECONDS + 1 })).toEqual([{ path: "timeoutSeconds", message: expect.stringContaining(`at most ${MAX_IN_INVOCATION_SECONDS} s`) }]);
  });

  it("reports it with its path in a plan", () => {
    const result = compilePlan({ tasks: [{ id: "a", run: "noop" }, { id: "b", run: "http", params: params.http, timeoutSeconds: 600 }] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([{ path: "tasks.1.timeoutSeconds", message: expect.stringContaining(`at most ${MAX_IN_INVOCATION_SECONDS} s`) }]);
  });

  it("lets waiting kinds wait up to 30 days, and a delay last as long", () => {
    expect(issues({ id: "a", run: "approval", timeoutSeconds: 30 * 86_400 })).toEqual([]);
    expect(issues({ id: "a", run: "external", timeoutSeconds: 30 * 86_400 })).toEqual([]);
    expect(issues({ id: "a", run: "external", timeoutSeconds: 30 * 86_400 + 1 })).toHaveLength(1);
    expect(issues({ id: "a", run: "delay", params: { ms: 30 * 86_400_000 } })).toEqual([]);
  });

  it("has defaults within the limit for every kind that runs inside the invocation", () => {
    for (const kind of EXECUTOR_KINDS.filter((k) => k !== "approval" && k !== "external")) expect({ kind, s: DEFAULT_TIMEOUT_SECONDS[kind] <= MAX_IN_INVOCATION_SECONDS }).toEqual({ kind, s: true });
  });
});
