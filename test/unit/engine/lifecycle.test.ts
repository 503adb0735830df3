import { arrivalOutcome, decideRelease, decideWideJoinRelease, evaluateTriggerRule, wideJoinEdge } from "../../../functions/src/engine/release";
import {
  backoffMs,
  creatorOf,
  decideApproval,
  decideExternalEvent,
  decideReset,
  decideRearmCompensation,
  decideStartCompensation,
  decideWait,
  shouldRetry,
  decideCancel,
  decideClaim,
  decideCompletion,
  decideSweep,
  PAUSED_RECHECK_MS,
  gateRulesOf,
  initialTask,
  type GateRules,
  MAX_HISTORY_ENTRIES,
  withHistory,
  type EngineTiming,
} from "../../../functions/src/engine/task";
import type { TriggerRule } from "../../../functions/src/schema/plan";
import type { TaskDoc, TaskStatus } from "../../../functions/src/schema/task";
import { person } from "../../support/principals";

const timing: EngineTiming = { leaseMarginMs: 30_000, redispatchAfterMs: 60_000 };
const T0 = 1_700_000_000_000;
const random = () => 0.5;

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
    const decision = decideClaim({ task: task(), planStatus: "running", attempt: 1, phase: "run", owner: "w1", now: T0 + 5, timing });
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
    expect(decideClaim({ task: t, planStatus, attempt, phase: "run", owner: "w", now: T0, timing })).toEqual({ kind: "skip", reason });
  });

  it("completes only for the lease holder of the current attempt, once", () => {
    const running = task({ status: "running", lease: { owner: "w1", expiresAt: T0 + 1 }, startedAt: T0 });
    const done = decideCompletion({ task: running, attempt: 1, owner: "w1", outcome: { ok: true, output: { x: 1 } }, now: T0 + 7, timing, random });
    expect(done).toMatchObject({ kind: "complete", status: "succeeded", update: { status: "succeeded", lease: null, finishedAt: T0 + 7, output: { x: 1 } } });
    expect(decideCompletion({ task: running, attempt: 1, owner: "w2", outcome: { ok: true }, now: T0, timing, random })).toEqual({ kind: "skip", reason: "lease is held by w1" });
    const after = { ...running, ...(done.kind === "complete" ? done.update : {}) } as TaskDoc;
    expect(decideCompletion({ task: after, attempt: 1, owner: "w1", outcome: { ok: true }, now: T0, timing, random }).kind).toBe("skip");
  });

  it("takes a finished task off the sweeper's due list in the completing write", () => {
    const running = task({ status: "running", lease: { owner: "w1", expiresAt: T0 + 1 }, sweepAt: T0 + 1 });
    const failed = decideCompletion({ task: running, attempt: 1, owner: "w1", outcome: { ok: false, error: { message: "boom", retryable: false } }, now: T0, timing, random });
    expect(failed).toMatchObject({ kind: "complete", status: "failed", update: { sweepAt: null, error: { message: "boom" } } });
    const done = decideCompletion({ task: running, attempt: 1, owner: "w1", outcome: { ok: true }, now: T0, timing, random });
    expect(done).toMatchObject({ kind: "complete", status: "succeeded", update: { sweepAt: null } });
  });

  it("releases a dependent once per need, and makes it ready when the last need succeeded", () => {
    const join = task({ id: "j", status: "blocked", needs: ["a", "b"], sweepAt: null });
    const first = decideRelease({ dependent: join, need: "a", needStatus: "succeeded", now: T0, timing });
    expect(first).toMatchObject({ kind: "release", became: null, update: { needsDone: { a: "succeeded" } } });
    const afterA = { ...join, ...(first.kind === "release" ? first.update : {}) } as TaskDoc;
    expect(decideRelease({ dependent: afterA, need: "a", needStatus: "succeeded", now: T0, timing })).toEqual({ kind: "skip", reason: "a already recorded" });
    const second = decideRelease({ dependent: afterA, need: "b", needStatus: "succeeded", now: T0 + 3, timing });
    expect(second).toMatchObject({ kind: "release", became: "ready", update: { status: "ready", readyAt: T0 + 3, sweepAt: T0 + 3 + timing.redispatchAfterMs } });
  });

  it("cancels only tasks that have not started", () => {
    expect(decideCancel(task({ status: "blocked" }), "stop", T0).kind).toBe("cancel");
    expect(decideCancel(task({ status: "ready" }), "stop", T0).kind).toBe("cancel");
    expect(decideCancel(task({ status: "waiting_approval" }), "stop", T0).kind).toBe("cancel");
    expect(decideCancel(task({ status: "running" }), "stop", T0)).toEqual({ kind: "skip", reason: "task is running" });
  });

  it("sweeps: re-dispatches a lost ready task, expires a dead lease as the next attempt, settles finished tasks", () => {
    const lost = task({ sweepAt: T0 });
    expect(decideSweep(lost, T0 - 1, timing).kind).toBe("skip");
    expect(decideSweep(lost, T0, timing)).toEqual({ kind: "redispatch", phase: "run", update: { sweepAt: T0 + timing.redispatchAfterMs } });

    // A lease expiry uses an attempt: only a policy with attempts left runs it again.
    const dead = task({ status: "running", lease: { owner: "w1", expiresAt: T0 }, sweepAt: T0, retry: { maxAttempts: 3, initialBackoffSeconds: 5, backoffMultiplier: 2, maxBackoffSeconds: 300, jitter: 0 } });
    const expired = decideSweep(dead, T0 + 1, timing);
    expect(expired).toMatchObject({ kind: "expire_lease", failed: false, update: { status: "ready", attempt: 2, lease: null } });
    const spent = decideSweep({ ...dead, attempt: 3 }, T0 + 1, timing);
    expect(spent).toMatchObject({ kind: "expire_lease", failed: true, update: { status: "failed", error: { code: "lease_expired" } } });

    const alive = task({ status: "running", lease: { owner: "w1", expiresAt: T0 + 100 }, sweepAt: T0 });
    expect(decideSweep(alive, T0 + 1, timing)).toEqual({ kind: "skip", reason: "task is running" });

    expect(decideSweep(task({ status: "succeeded", sweepAt: T0 }), T0, timing).kind).toBe("settle");
  });

  it("parks a paused plan's ready tasks instead of dispatching them, and still expires a dead lease there", () => {
    expect(decideSweep(task({ sweepAt: T0 }), T0, timing, undefined, true)).toEqual({ kind: "park", update: { sweepAt: T0 + PAUSED_RECHECK_MS } });
    const dead = task({ status: "running", lease: { owner: "w1", expiresAt: T0 }, sweepAt: T0, retry: { maxAttempts: 3, initialBackoffSeconds: 5, backoffMultiplier: 2, maxBackoffSeconds: 300, jitter: 0 } });
    expect(decideSweep(dead, T0 + 1, timing, undefined, true)).toMatchObject({ kind: "expire_lease", failed: false });
  });

  it("bounds the history a task carries", () => {
    let t = task();
    for (let i = 0; i < MAX_HISTORY_ENTRIES * 3; i++) t = { ...t, history: withHistory(t, { at: i, from: "ready", to: "running", attempt: i, cause: "x" }) };
    expect(t.history).toHaveLength(MAX_HISTORY_ENTRIES);
    expect(t.history.at(-1)!.attempt).toBe(MAX_HISTORY_ENTRIES * 3 - 1);
  });
});

describe("retries", () => {
  const policy = { maxAttempts: 3, initialBackoffSeconds: 2, backoffMultiplier: 3, maxBackoffSeconds: 10, jitter: 0 };
  const running = (attempt: number, retryOn?: string[]) =>
    task({ status: "running", attempt, lease: { owner: "w", expiresAt: T0 + 1 }, retry: { ...policy, ...(retryOn ? { retryOn } : {}) } });
  const fail = (retryable: boolean, code = "x") => ({ ok: false as const, error: { message: "boom", code, retryable } });

  it("backs off exponentially up to the maximum, with bounded jitter", () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(policy, a, () => 0.5))).toEqual([2000, 6000, 10000, 10000]);
    const jittered = { ...policy, jitter: 0.5 };
    expect(backoffMs(jittered, 1, () => 0)).toBe(1000);
    expect(backoffMs(jittered, 1, () => 1)).toBe(3000);
  });

  it("sends a retryable failure back to ready as the next attempt, not before its backoff", () => {
    const decision = decideCompletion({ task: running(1), attempt: 1, owner: "w", outcome: fail(true), now: T0, timing, random });
    expect(decision).toMatchObject({ kind: "complete", status: "ready", retryInMs: 2000, update: { status: "ready", attempt: 2, notBefore: T0 + 2000 } });
    const retried = { ...running(1), ...(decision.kind === "complete" ? decision.update : {}) } as TaskDoc;
    expect(decideClaim({ task: retried, planStatus: "running", attempt: 2, phase: "run", owner: "w2", now: T0 + 1999, timing })).toEqual({ kind: "skip", reason: "retry not due for 1 ms" });
    expect(decideClaim({ task: retried, planStatus: "running", attempt: 2, phase: "run", owner: "w2", now: T0 + 2000, timing }).kind).toBe("claim");
  });

  it("fails for good when attempts are spent, the error is not retryable, or its code is not in retryOn", () => {
    expect(decideCompletion({ task: running(3), attempt: 3, owner: "w", outcome: fail(true), now: T0, timing, random })).toMatchObject({ status: "failed" });
    expect(decideCompletion({ task: running(1), attempt: 1, owner: "w", outcome: fail(false), now: T0, timing, random })).toMatchObject({ status: "failed" });
    expect(shouldRetry(running(1, ["http_503"]), { message: "", code: "http_500", retryable: true })).toBe(false);
    expect(shouldRetry(running(1, ["http_503"]), { message: "", code: "http_503", retryable: false })).toBe(true);
  });
});

describe("trigger rules", () => {
  const cases: Array<[TriggerRule, { done: number; succeeded: number; failed: number }, string]> = [
    ["all_success", { done: 1, succeeded: 1, failed: 0 }, "wait"],
    ["all_success", { done: 2, succeeded: 2, failed: 0 }, "run"],
    ["all_success", { done: 1, succeeded: 0, failed: 1 }, "skip"],
    ["all_done", { done: 1, succeeded: 0, failed: 1 }, "wait"],
    ["all_done", { done: 2, succeeded: 0, failed: 2 }, "run"],
    ["one_failed", { done: 1, succeeded: 0, failed: 1 }, "run"],
    ["one_failed", { done: 2, succeeded: 2, failed: 0 }, "skip"],
    ["none_failed", { done: 2, succeeded: 1, failed: 0 }, "run"],
    ["none_failed", { done: 1, succeeded: 0, failed: 1 }, "skip"],
  ];
  it.each(cases)("%s with %j of 2 needs → %s", (rule, counts, verdict) => {
    expect(evaluateTriggerRule(rule, { total: 2, ...counts })).toBe(verdict);
  });

  it("skips a dependent whose rule can no longer be met", () => {
    const join = task({ id: "j", status: "blocked", needs: ["a", "b"], sweepAt: null });
    expect(decideRelease({ dependent: join, need: "a", needStatus: "failed", now: T0, timing })).toMatchObject({ became: "skipped", update: { status: "skipped" } });
    const cleanup = { ...join, triggerRule: "all_done" as const };
    expect(decideRelease({ dependent: cleanup, need: "a", needStatus: "failed", now: T0, timing })).toMatchObject({ became: null });
  });
});

describe("approvals and external tasks", () => {
  const waitingApproval = () =>
    task({ id: "gate", run: "approval", status: "waiting_approval", waiting: { tokenHash: null, deadline: T0 + 1000, heartbeatSeconds: null } });

  it("parks a claimed approval task until its deadline", () => {
    const running = task({ status: "running", lease: { owner: "w", expiresAt: T0 + 5 }, timeoutSeconds: 100 });
    expect(decideWait({ task: running, attempt: 1, owner: "w", status: "waiting_approval", tokenHash: null, heartbeatSeconds: null, now: T0 })).toMatchObject({
      kind: "wait",
      update: { status: "waiting_approval", lease: null, sweepAt: T0 + 100_000, waiting: { deadline: T0 + 100_000 } },
    });
  });

  const one = (approvers: string[]): GateRules => ({ approvers, requiredApprovals: 1, allowSelfApproval: false });
  const approve = (input: Partial<Parameters<typeof decideApproval>[0]>) =>
    decideApproval({ task: waitingApproval(), gate: one(["ana@x"]), principal: person("ana@x"), creator: null, verdict: "approve", reason: undefined, now: T0, ...input });

  it("counts only approvers, and records who decided", () => {
    expect(approve({ principal: person("eve@x") })).toEqual({ kind: "skip", reason: "eve@x is not an approver of gate (approvers: ana@x)" });
    expect(approve({ reason: "LGTM" })).toMatchObject({ status: "succeeded", update: { output: { approvedBy: ["ana@x"], reason: "LGTM" } } });
    expect(approve({ verdict: "reject", reason: "not today" })).toMatchObject({
      status: "failed",
      update: { error: { message: "rejected by ana@x: not today", code: "rejected" } },
    });
  });

  it("never lets a bare claim pass: no verified principal, no approval", () => {
    expect(approve({ principal: null })).toMatchObject({ kind: "skip", reason: expect.stringContaining("no verified credential") });
    expect(approve({ principal: null, verdict: "reject" })).toMatchObject({ kind: "skip" });
  });

  it("matches an email only when it was verified, and uids and groups as such", () => {
    expect(approve({ principal: person("ana@x", { emailVerified: false }) })).toMatchObject({ kind: "skip", reason: expect.stringContaining("is not an approver") });
    expect(approve({ gate: one(["ANA@x"]) })).toMatchObject({ status: "succeeded" });
    expect(approve({ gate: one(["uid:uid-ana"]) })).toMatchObject({ status: "succeeded" });
    expect(approve({ gate: one(["uid-ana"]), principal: person("ana@x") })).toMatchObject({ status: "succeeded" });
    expect(approve({ gate: one(["group:release"]), principal: person("zed@x", { groups: ["release"] }) })).toMatchObject({ status: "succeeded" });
    expect(approve({ gate: one(["group:release"]), principal: person("zed@x", { groups: ["ops"] }) })).toMatchObject({ kind: "skip" });
  });

  it("with no named approvers, only operators may approve", () => {
    expect(approve({ gate: one([]), principal: person("zed@x") })).toMatchObject({ kind: "skip", reason: expect.stringContaining("only operators may approve") });
    expect(approve({ gate: one([]), principal: person("zed@x", { role: "operator" }) })).toMatchObject({ status: "succeeded" });
  });

  it("refuses the plan's creator unless the gate allows self-approval", () => {
    const creator = { uid: "uid-ana", email: null };
    expect(approve({ creator })).toMatchObject({ kind: "skip", reason: "ana@x created this plan and may not approve its gate gate" });
    expect(approve({ creator: { uid: null, email: "Ana@x" } })).toMatchObject({ kind: "skip" });
    expect(approve({ creator, gate: { ...one(["ana@x"]), allowSelfApproval: true } })).toMatchObject({ status: "succeeded" });
  });

  it("reads a gate's rules from its params, the plan's approvers standing in, and the creator from createdBy or labels.submittedBy", () => {
    expect(gateRulesOf({}, ["ops@x"])).toEqual({ approvers: ["ops@x"], requiredApprovals: 1, allowSelfApproval: false });
    expect(gateRulesOf({ approvers: ["ana@x"], requiredApprovals: 2, allowSelfApproval: true }, ["ops@x"])).toEqual({ approvers: ["ana@x"], requiredApprovals: 2, allowSelfApproval: true });
    expect(gateRulesOf({ requiredApprovals: 0 }, undefined)).toEqual({ approvers: [], requiredApprovals: 1, allowSelfApproval: false });
    expect(creatorOf({ createdBy: { uid: "u1", email: "a@x" }, labels: { submittedBy: "u2" } })).toEqual({ uid: "u1", email: "a@x" });
    expect(creatorOf({ labels: { submittedBy: "u2" } })).toEqual({ uid: "u2", email: null });
    expect(creatorOf({ createdBy: null, labels: {} })).toBeNull();
  });

  it("refuses approvals after the gate's deadline", () => {
    expect(approve({ now: T0 + 1000 })).toMatchObject({ kind: "skip", reason: expect.stringContaining("approval deadline of gate passed") });
  });

  it("needs N distinct approvers of M: the same person twice counts once; one rejection fails the gate", () => {
    const gate: GateRules = { approvers: ["ana@x", "bob@x", "cyd@x"], requiredApprovals: 2, allowSelfApproval: false };
    const first = approve({ gate });
    expect(first).toMatchObject({ kind: "decided", status: "waiting_approval", approvals: 1 });
    const afterFirst = { ...waitingApproval(), ...(first as { update: Partial<TaskDoc> }).update } as TaskDoc;
    expect(approve({ gate, task: afterFirst, now: T0 + 1 })).toMatchObject({ kind: "skip", reason: expect.stringContaining("already approved gate (1 of 2)") });
    // The same person by email alone (another sign-in method) is still the same approver.
    expect(approve({ gate, task: afterFirst, principal: person("ana@x", { uid: "other-uid" }) })).toMatchObject({ kind: "skip" });
    expect(approve({ gate, task: afterFirst, principal: person("bob@x") })).toMatchObject({ status: "succeeded", update: { output: { approvedBy: ["ana@x", "bob@x"] } } });
    expect(approve({ gate, task: afterFirst, principal: person("cyd@x"), verdict: "reject" })).toMatchObject({ status: "failed" });
  });

  it("starts each wait (and each redrive) with no approvals", () => {
    const withApprovals = { ...waitingApproval(), approvals: [{ by: "ana@x", uid: "uid-ana", email: "ana@x", at: T0 }] };
    expect(decideReset({ ...withApprovals, status: "failed", finishedAt: T0 }, new Map(), "me", T0, timing)).toMatchObject({ update: { approvals: [] } });
    const running = { ...withApprovals, status: "running" as const, lease: { owner: "w", expiresAt: T0 + 10_000 } };
    expect(decideWait({ task: running, attempt: 1, owner: "w", status: "waiting_approval", tokenHash: null, heartbeatSeconds: null, now: T0 })).toMatchObject({ update: { approvals: [] } });
  });

  it("accepts an external completion only with the right, unexpired, unused token", () => {
    const waiting = task({ id: "ext", run: "external", status: "waiting_external", waiting: { tokenHash: "h1", deadline: T0 + 1000, heartbeatSeconds: 10 } });
    const done = { type: "completed" as const, outcome: "succeeded" as const, output: { ok: 1 } };
    expect(decideExternalEvent({ task: waiting, tokenHash: "h2", event: done, now: T0 })).toEqual({ kind: "skip", reason: "wrong task token" });
    expect(decideExternalEvent({ task: waiting, tokenHash: "h1", event: done, now: T0 + 1000 })).toEqual({ kind: "skip", reason: "task token expired" });
    const ok = decideExternalEvent({ task: waiting, tokenHash: "h1", event: done, now: T0 });
    expect(ok).toMatchObject({ kind: "complete", status: "succeeded", update: { waiting: null, output: { ok: 1 } } });
    const after = { ...waiting, ...(ok.kind === "complete" ? ok.update : {}) } as TaskDoc;
    expect(decideExternalEvent({ task: after, tokenHash: "h1", event: done, now: T0 }).kind).toBe("skip");
    expect(decideExternalEvent({ task: waiting, tokenHash: "h1", event: { type: "heartbeat" }, now: T0 + 100 })).toEqual({ kind: "heartbeat", update: { sweepAt: T0 + 1000 } });
  });

  it("fails a wait that passed its deadline", () => {
    const waiting = { ...waitingApproval(), sweepAt: T0 + 1000 };
    expect(decideSweep(waiting, T0 + 1000, timing)).toMatchObject({ kind: "deadline", update: { status: "failed", error: { code: "timeout" } } });
  });
});

describe("redrive and rollback", () => {
  it("resets a failed task as its next attempt, ready only if its needs succeeded", () => {
    const failed = task({ id: "b", status: "failed", needs: ["a"], attempt: 2, error: { message: "x", retryable: false } });
    expect(decideReset(failed, new Map([["a", "succeeded"]]), "ops", T0, timing)).toMatchObject({ update: { status: "ready", attempt: 3, error: null, needsDone: { a: "succeeded" } } });
    expect(decideReset(failed, new Map([["a", "failed"]]), "ops", T0, timing)).toMatchObject({ update: { status: "blocked", needsDone: {} } });
    expect(decideReset(task({ status: "succeeded" }), new Map(), "ops", T0, timing).kind).toBe("skip");
  });

  it("compensates a failed run too when its executor undoes what the run applied, unless that compensation failed", () => {
    const failedRun = { status: "failed" as const, compensable: true, error: { message: "half applied", retryable: false } };
    expect(decideStartCompensation(task({ ...failedRun, compensatesFailure: true }), T0, timing)).toMatchObject({ kind: "compensate", update: { status: "compensating" } });
    // An explicit compensation step undoes a success only.
    expect(decideStartCompensation(task({ ...failedRun, compensatesFailure: false }), T0, timing).kind).toBe("skip");
    expect(decideStartCompensation(task({ ...failedRun, compensatesFailure: true, compensationError: { message: "denied", retryable: false } }), T0, timing).kind).toBe("skip");
  });

  it("rearms a failed compensation for another rollback as a new attempt, back to what its run ended as", () => {
    const denied = { message: "denied", retryable: false };
    expect(decideRearmCompensation(task({ status: "failed", attempt: 1, error: null, compensationError: denied }), T0)).toMatchObject({ kind: "rearm", update: { status: "succeeded", attempt: 2, compensationError: null, intent: null } });
    expect(decideRearmCompensation(task({ status: "failed", attempt: 3, error: { message: "run failed", retryable: false }, compensationError: denied }), T0)).toMatchObject({ update: { status: "failed", attempt: 4 } });
    expect(decideRearmCompensation(task({ status: "failed", compensationError: null }), T0).kind).toBe("skip");
    expect(decideRearmCompensation(task({ status: "compensated" }), T0).kind).toBe("skip");
  });

  it("compensates only succeeded tasks that have something to undo, under a lease", () => {
    expect(decideStartCompensation(task({ status: "succeeded", compensable: false }), T0, timing).kind).toBe("skip");
    const queued = decideStartCompensation(task({ status: "succeeded", compensable: true }), T0, timing);
    expect(queued).toMatchObject({ kind: "compensate", update: { status: "compensating", lease: null } });
    const compensating = task({ status: "compensating", compensable: true, lease: null });
    expect(decideClaim({ task: compensating, planStatus: "running", attempt: 1, phase: "compensate", owner: "w", now: T0, timing }).kind).toBe("skip");
    const claim = decideClaim({ task: compensating, planStatus: "rolling_back", attempt: 1, phase: "compensate", owner: "w", now: T0, timing });
    expect(claim.kind).toBe("claim");
    const leased = { ...compensating, ...(claim.kind === "claim" ? claim.update : {}) } as TaskDoc;
    expect(decideCompletion({ task: leased, attempt: 1, owner: "w", outcome: { ok: true }, now: T0, timing, random })).toMatchObject({ status: "compensated" });
    expect(decideCompletion({ task: leased, attempt: 1, owner: "w", outcome: { ok: false, error: { message: "no", retryable: true } }, now: T0, timing, random })).toMatchObject({
      status: "failed",
      update: { compensationError: { message: "no" } },
    });
  });
});

describe("wide join arrival groups", () => {
  it.each([9, 10, 12, 100, 500, 4_999, 5_000])("places each of %i needs in exactly one group, the groups' sizes adding up", (needs) => {
    const edges = Array.from({ length: needs }, (_, i) => wideJoinEdge(needs, i));
    const groups = edges[0]!.groups;
    const members = new Map<number, number>();
    for (const e of edges) {
      expect(e).toMatchObject({ needs, groups });
      expect(e.group).toBeLessThan(groups);
      members.set(e.group, (members.get(e.group) ?? 0) + 1);
    }
    expect(members.size).toBe(groups);
    for (const e of edges) expect(e.groupNeeds).toBe(members.get(e.group));
    // Small counts both ways: no group, and no count of filled groups, much over √needs.
    expect(Math.max(...members.values())).toBeLessThanOrEqual(Math.ceil(Math.sqrt(needs)));
    expect(groups).toBeLessThanOrEqual(Math.ceil(Math.sqrt(needs)) + 1);
  });

  it("decides a join over what has arrived: a failure may decide early, successes only once all are in", () => {
    const join = task({ id: "join", needs: Array.from({ length: 20 }, (_, i) => `n${i}`), status: "blocked" });
    const add = (...statuses: TaskStatus[]) => statuses.map(arrivalOutcome).reduce((a, b) => ({ done: a.done + b.done, succeeded: a.succeeded + b.succeeded, failed: a.failed + b.failed }));
    expect(arrivalOutcome("skipped")).toEqual({ done: 1, succeeded: 0, failed: 0 });
    expect(decideWideJoinRelease(join, add(...Array<TaskStatus>(19).fill("succeeded")), "n18", T0, timing)).toBeUndefined();
    expect(decideWideJoinRelease(join, add(...Array<TaskStatus>(20).fill("succeeded")), "n19", T0, timing)).toMatchObject({ became: "ready", update: { status: "ready", readyAt: T0 } });
    expect(decideWideJoinRelease(join, arrivalOutcome("failed"), "n3", T0, timing)).toMatchObject({ became: "skipped", update: { status: "skipped", finishedAt: T0 } });
    expect(decideWideJoinRelease({ ...join, status: "ready" }, arrivalOutcome("failed"), "n3", T0, timing)).toBeUndefined();
  });
});

describe("what the engine's queries rely on", () => {
  // store/tasks.ts anyUnfinishedTask finds open tasks by `finishedAt == null`, and the sweeper's
  // stall check orders finished tasks by `finishedAt`: every transition must keep the two in step.
  const FINAL = new Set(["succeeded", "failed", "skipped", "cancelled"]);
  const running = task({ status: "running", lease: { owner: "w1", expiresAt: T0 + 10 }, sweepAt: T0 + 10, startedAt: T0 });
  const retrying = { ...running, retry: { maxAttempts: 3, initialBackoffSeconds: 1, backoffMultiplier: 2, maxBackoffSeconds: 10, jitter: 0 } };
  const waiting = task({ id: "ext", run: "external", status: "waiting_external", waiting: { tokenHash: "h", deadline: T0 + 1000, heartbeatSeconds: null }, sweepAt: T0 + 1000 });
  const gate = task({ id: "gate", run: "approval", status: "waiting_approval", waiting: { tokenHash: null, deadline: T0 + 1000, heartbeatSeconds: null }, sweepAt: T0 + 1000 });
  const join = task({ id: "j", status: "blocked", needs: ["a", "b"] });
  const boom = { ok: false as const, error: { message: "boom", retryable: true } };
  const updates = [
    decideClaim({ task: task(), planStatus: "running", attempt: 1, phase: "run", owner: "w1", now: T0, timing }),
    decideCompletion({ task: running, attempt: 1, owner: "w1", outcome: { ok: true }, now: T0, timing, random }),
    decideCompletion({ task: running, attempt: 1, owner: "w1", outcome: boom, now: T0, timing, random }),
    decideCompletion({ task: retrying, attempt: 1, owner: "w1", outcome: boom, now: T0, timing, random }),
    decideCompletion({ task: running, attempt: 1, owner: "w1", outcome: { ok: true }, now: T0, timing, random, planCancelled: true }),
    decideExternalEvent({ task: waiting, tokenHash: "h", event: { type: "completed", outcome: "failed" }, now: T0 }),
    decideApproval({ task: gate, gate: { approvers: ["a@x"], requiredApprovals: 1, allowSelfApproval: false }, principal: person("a@x"), creator: null, verdict: "approve", reason: undefined, now: T0 }),
    decideRelease({ dependent: join, need: "a", needStatus: "failed", now: T0, timing }),
    decideRelease({ dependent: { ...join, needsDone: { a: "succeeded" } }, need: "b", needStatus: "succeeded", now: T0, timing }),
    decideCancel(task(), "stop", T0),
    decideReset(task({ status: "failed", finishedAt: T0 }), new Map(), "me", T0, timing),
    decideSweep(running, T0 + 10, timing),
    decideSweep({ ...running, attempt: 3 }, T0 + 10, timing),
    decideSweep(waiting, T0 + 1000, timing),
  ];

  it.each(updates.map((u, i) => [i, u] as const))("transition %i sets finishedAt exactly when it enters a final status", (_i, decision) => {
    expect(decision.kind).not.toBe("skip");
    const update = (decision as { update: Partial<TaskDoc> }).update;
    if (update.status === undefined) return;
    if (FINAL.has(update.status)) expect(typeof update.finishedAt).toBe("number");
    else expect(update.finishedAt ?? null).toBeNull();
  });
});
