import {
  decideCancel,
  decideClaim,
  decideCompletion,
  decideRelease,
  decideSweep,
  initialTask,
  MAX_HISTORY_ENTRIES,
  withHistory,
  type EngineTiming,
} from "../../../functions/src/engine/lifecycle";
import type { TaskDoc } from "../../../functions/src/schema/task";

const timing: EngineTiming = { leaseMarginMs: 30_000, redispatchAfterMs: 60_000 };
const T0 = 1_700_000_000_000;

function task(overrides: Partial<TaskDoc> = {}): TaskDoc {
  const base = initialTask({
    planId: "p",
    spec: { id: "t", run: "noop", params: {}, needs: [], timeoutSeconds: 10 },
    dependents: [],
    level: 0,
    now: T0,
    timing,
  });
  return { ...base, ...overrides };
}

describe("task lifecycle decisions", () => {
  it("starts a task with no needs as ready (due for re-dispatch later) and one with needs as blocked", () => {
    const ready = task();
    expect(ready.status).toBe("ready");
    expect(ready.sweepAt).toBe(T0 + timing.redispatchAfterMs);
    const blocked = initialTask({ planId: "p", spec: { id: "b", run: "noop", params: {}, needs: ["t"], timeoutSeconds: 10 }, dependents: [], level: 1, now: T0, timing });
    expect(blocked.status).toBe("blocked");
    expect(blocked.sweepAt).toBeNull();
  });

  it("claims a ready task for its current attempt with a lease covering the timeout", () => {
    const decision = decideClaim({ task: task(), planStatus: "running", attempt: 1, owner: "w1", now: T0 + 5, timing });
    expect(decision.kind).toBe("claim");
    if (decision.kind !== "claim") return;
    expect(decision.update.status).toBe("running");
    expect(decision.update.lease).toEqual({ owner: "w1", expiresAt: T0 + 5 + 10_000 + 30_000 });
    expect(decision.update.sweepAt).toBe(T0 + 5 + 40_000);
    expect(decision.update.history!.at(-1)).toMatchObject({ from: "ready", to: "running", attempt: 1 });
  });

  it.each([
    ["a duplicate message for a running task", task({ status: "running" }), "running", 1, "task is running, not ready"],
    ["a message for an older attempt", task({ attempt: 2 }), "running", 1, "stale attempt 1 (task is on attempt 2)"],
    ["a message for a plan that stopped", task(), "failed", 1, "plan is failed"],
    ["a message for a finished task", task({ status: "succeeded" }), "running", 1, "task is succeeded, not ready"],
  ] as const)("skips %s", (_label, t, planStatus, attempt, reason) => {
    expect(decideClaim({ task: t, planStatus, attempt, owner: "w", now: T0, timing })).toEqual({ kind: "skip", reason });
  });

  it("completes only for the lease holder of the current attempt, once", () => {
    const running = task({ status: "running", lease: { owner: "w1", expiresAt: T0 + 1 }, startedAt: T0 });
    const done = decideCompletion({ task: running, attempt: 1, owner: "w1", outcome: { ok: true, output: { x: 1 } }, now: T0 + 7, timing });
    expect(done).toMatchObject({ kind: "complete", status: "succeeded", update: { status: "succeeded", lease: null, finishedAt: T0 + 7, output: { x: 1 } } });
    expect(decideCompletion({ task: running, attempt: 1, owner: "w2", outcome: { ok: true }, now: T0, timing })).toEqual({ kind: "skip", reason: "lease is held by w1" });
    const after = { ...running, ...(done.kind === "complete" ? done.update : {}) } as TaskDoc;
    expect(decideCompletion({ task: after, attempt: 1, owner: "w1", outcome: { ok: true }, now: T0, timing }).kind).toBe("skip");
  });

  it("keeps a finished task due for the sweeper until it is settled", () => {
    const running = task({ status: "running", lease: { owner: "w1", expiresAt: T0 + 1 } });
    const failed = decideCompletion({ task: running, attempt: 1, owner: "w1", outcome: { ok: false, error: { message: "boom", retryable: false } }, now: T0, timing });
    expect(failed).toMatchObject({ kind: "complete", status: "failed", update: { sweepAt: T0 + timing.redispatchAfterMs, error: { message: "boom" } } });
  });

  it("releases a dependent once per need, and makes it ready when the last need succeeded", () => {
    const join = task({ id: "j", status: "blocked", needs: ["a", "b"], sweepAt: null });
    const first = decideRelease({ dependent: join, need: "a", needStatus: "succeeded", now: T0, timing });
    expect(first).toMatchObject({ kind: "release", becameReady: false, update: { needsDone: { a: "succeeded" } } });
    const afterA = { ...join, ...(first.kind === "release" ? first.update : {}) } as TaskDoc;
    expect(decideRelease({ dependent: afterA, need: "a", needStatus: "succeeded", now: T0, timing })).toEqual({ kind: "skip", reason: "a already recorded" });
    const second = decideRelease({ dependent: afterA, need: "b", needStatus: "succeeded", now: T0 + 3, timing });
    expect(second).toMatchObject({ kind: "release", becameReady: true, update: { status: "ready", readyAt: T0 + 3, sweepAt: T0 + 3 + timing.redispatchAfterMs } });
  });

  it("cancels only tasks that have not started", () => {
    expect(decideCancel(task({ status: "blocked" }), "stop", T0).kind).toBe("cancel");
    expect(decideCancel(task({ status: "ready" }), "stop", T0).kind).toBe("cancel");
    expect(decideCancel(task({ status: "running" }), "stop", T0)).toEqual({ kind: "skip", reason: "task is running" });
  });

  it("sweeps: re-dispatches a lost ready task, expires a dead lease as the next attempt, settles finished tasks", () => {
    const lost = task({ sweepAt: T0 });
    expect(decideSweep(lost, T0 - 1, timing).kind).toBe("skip");
    expect(decideSweep(lost, T0, timing)).toEqual({ kind: "redispatch", update: { sweepAt: T0 + timing.redispatchAfterMs } });

    const dead = task({ status: "running", lease: { owner: "w1", expiresAt: T0 }, sweepAt: T0 });
    const expired = decideSweep(dead, T0 + 1, timing);
    expect(expired).toMatchObject({ kind: "expire_lease", update: { status: "ready", attempt: 2, lease: null } });

    const alive = task({ status: "running", lease: { owner: "w1", expiresAt: T0 + 100 }, sweepAt: T0 });
    expect(decideSweep(alive, T0 + 1, timing)).toEqual({ kind: "skip", reason: "task is running" });

    expect(decideSweep(task({ status: "succeeded", sweepAt: T0 }), T0, timing).kind).toBe("settle");
  });

  it("bounds the history a task carries", () => {
    let t = task();
    for (let i = 0; i < MAX_HISTORY_ENTRIES * 3; i++) t = { ...t, history: withHistory(t, { at: i, from: "ready", to: "running", attempt: i, cause: "x" }) };
    expect(t.history).toHaveLength(MAX_HISTORY_ENTRIES);
    expect(t.history.at(-1)!.attempt).toBe(MAX_HISTORY_ENTRIES * 3 - 1);
  });
});
