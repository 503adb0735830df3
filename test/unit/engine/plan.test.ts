/**
 * The plan state machine (engine/plan.ts): transitions, their guards, the locks they ask for and
 * the effects they owe, and history ids that stay unique however often a plan fails and is retried.
 */
import { decidePlan, effectsOf, FINAL_PLAN_STATUSES, LOCKS_NO_LONGER_HELD, type PlanInput, type PlanMachineState, type PlanTransition } from "../../../functions/src/engine/plan";
import { PLAN_STATUSES, type PlanStatus } from "../../../functions/src/schema/plan";

const T = 1_700_000_000_000;
const state = (status: PlanStatus, over: Partial<PlanMachineState> = {}): PlanMachineState => ({ status, seq: 3, generation: 1, resume: null, started: true, frozen: false, ...over });
const granted = { granted: true } as const;
const busy = { granted: false, lock: "lang-trak-prod", holder: "other-plan" } as const;

function apply(s: PlanMachineState, input: PlanInput): PlanMachineState {
  const d = decidePlan(s, input, T);
  if (d.kind === "skip") throw new Error(`skipped: ${d.reason}`);
  return { status: d.to, seq: d.seq, generation: (d.update.generation as number | undefined) ?? s.generation, resume: (d.update.resume as PlanMachineState["resume"]) ?? null, started: s.started || d.to === "running", frozen: d.to === "waiting" && typeof (d.update.waitingFor as { freeze?: unknown } | undefined)?.freeze === "string" };
}

describe("the plan state machine", () => {
  it("fails, is retried, fails again, and again: every transition has its own history id and the plan always ends", () => {
    // The defect this replaces: fixed ids `plan.failed` refused the second failure, so a retried
    // plan whose task failed again stayed `running` forever.
    let s = state("running", { seq: 0 });
    const ids: string[] = [];
    const step = (input: PlanInput) => {
      const d = decidePlan(s, input, T) as PlanTransition;
      expect(d.kind).toBe("transition");
      ids.push(d.eventId);
      s = apply(s, input);
    };
    for (let run = 1; run <= 4; run++) {
      step({ kind: "task_failed", taskId: "t", policy: "stop", message: "boom" });
      expect(s.status).toBe("failed");
      step({ kind: "command", command: "retry", locks: granted, by: "ops" });
      expect(s).toMatchObject({ status: "redriving", generation: run + 1 });
      step({ kind: "redriven", ready: 1 });
      expect(s.status).toBe("running");
    }
    step({ kind: "task_failed", taskId: "t", policy: "rollback", message: "boom" });
    step({ kind: "rollback_finished", failedCompensation: { taskId: "t", message: "nope" } });
    expect(s.status).toBe("rollback_failed");
    step({ kind: "command", command: "retry", locks: granted, by: "ops" });
    step({ kind: "redriven", ready: 1 });
    step({ kind: "task_failed", taskId: "t", policy: "rollback", message: "boom" });
    step({ kind: "rollback_finished", failedCompensation: null });
    expect(s.status).toBe("rolled_back");
    step({ kind: "command", command: "retry", locks: granted, by: "ops" });
    expect(new Set(ids).size).toBe(ids.length);
    expect(s.seq).toBe(ids.length);
  });

  it("asks for the locks on every entry into redriving or rolling_back from a finished plan, and waits with the intent when one is held", () => {
    for (const command of ["retry", "rollback"] as const) {
      const from = state("failed");
      const waiting = decidePlan(from, { kind: "command", command, locks: busy, by: "ops" }, T);
      expect(waiting).toMatchObject({ kind: "transition", to: "waiting", update: { resume: command === "retry" ? "redrive" : "rollback", waitingFor: { lock: "lang-trak-prod", plan: "other-plan" } } });
      const resumed = apply(from, { kind: "command", command, locks: busy, by: "ops" });
      // Once the lock frees, the waiting plan resumes what it meant to do, and only that.
      expect(decidePlan(resumed, { kind: "command", command, locks: granted, by: "orchestrator" }, T)).toMatchObject({ to: command === "retry" ? "redriving" : "rolling_back" });
      expect(decidePlan(resumed, { kind: "command", command: command === "retry" ? "rollback" : "retry", locks: granted, by: "x" }, T)).toMatchObject({ kind: "skip" });
      expect(decidePlan(resumed, { kind: "start" }, T)).toMatchObject({ kind: "skip" });
    }
    // A running plan holds its locks: rolling back needs no new ones.
    expect(decidePlan(state("running"), { kind: "command", command: "rollback", locks: busy, by: "ops" }, T)).toMatchObject({ to: "rolling_back" });
  });

  it("keeps the generation when a waiting redrive resumes, and counts it once", () => {
    const waiting = apply(state("failed", { generation: 2 }), { kind: "command", command: "retry", locks: busy, by: "ops" });
    expect(waiting.generation).toBe(2);
    expect(apply(waiting, { kind: "command", command: "retry", locks: granted, by: "orchestrator" }).generation).toBe(3);
  });

  it("starts: planning resumes, a busy lock waits, and only a planning plan begins", () => {
    expect(decidePlan(state("pending"), { kind: "start" }, T)).toMatchObject({ to: "planning" });
    expect(decidePlan(state("planning"), { kind: "start" }, T)).toMatchObject({ to: "planning" });
    expect(decidePlan(state("waiting", { resume: "start" }), { kind: "start" }, T)).toMatchObject({ to: "planning" });
    expect(decidePlan(state("running"), { kind: "start" }, T)).toMatchObject({ kind: "skip" });
    expect(decidePlan(state("planning"), { kind: "begin", locks: busy, taskCount: 3 }, T)).toMatchObject({ to: "waiting", update: { resume: "start" } });
    expect(decidePlan(state("planning"), { kind: "begin", locks: granted, taskCount: 3 }, T)).toMatchObject({ to: "running", effects: ["publish_ready"] });
    expect(decidePlan(state("cancelled"), { kind: "begin", locks: granted, taskCount: 3 }, T)).toMatchObject({ kind: "skip" });
    expect(decidePlan(state("planning"), { kind: "start_failed", attempts: 5, message: "x" }, T)).toMatchObject({ to: "failed", effects: ["cancel_open_tasks", "release_locks"] });
  });

  it("cancels only what is not over, and a cancel during a redrive stops it", () => {
    for (const status of PLAN_STATUSES) {
      const d = decidePlan(state(status), { kind: "cancel", by: "ops" }, T);
      expect({ status, cancels: d.kind === "transition" }).toEqual({ status, cancels: ["pending", "planning", "waiting", "running", "paused", "redriving"].includes(status) });
    }
    expect(decidePlan(state("cancelled"), { kind: "redriven", ready: 1 }, T)).toMatchObject({ kind: "skip" });
  });

  it("pauses only a running plan and resumes only a paused one; a paused plan holds its locks, and its begun attempts can still end it", () => {
    for (const status of PLAN_STATUSES) {
      expect({ status, pauses: decidePlan(state(status), { kind: "pause", by: "ops" }, T).kind === "transition" }).toEqual({ status, pauses: status === "running" });
      expect({ status, resumes: decidePlan(state(status), { kind: "resume", by: "ops" }, T).kind === "transition" }).toEqual({ status, resumes: status === "paused" });
    }
    expect(decidePlan(state("running"), { kind: "pause", by: "ops@example.com" }, T)).toMatchObject({ to: "paused", type: "plan.paused", effects: [] });
    // Resuming publishes what became ready meanwhile.
    expect(decidePlan(state("paused"), { kind: "resume", by: "ops" }, T)).toMatchObject({ to: "running", effects: ["publish_ready"] });
    expect(decidePlan(state("paused"), { kind: "all_finished", failedTask: null, policy: "stop" }, T)).toMatchObject({ to: "succeeded" });
    expect(decidePlan(state("paused"), { kind: "task_failed", taskId: "t", policy: "stop", message: "boom" }, T)).toMatchObject({ to: "failed" });
    // A rollback of a paused plan keeps the locks it holds.
    expect(decidePlan(state("paused"), { kind: "command", command: "rollback", locks: busy, by: "ops" }, T)).toMatchObject({ to: "rolling_back" });
  });

  it("owes effects exactly for what a status must do, and final statuses release their locks", () => {
    // A final status leaves nothing open and holds no lock, whatever an earlier transition left undone.
    for (const status of ["succeeded", "failed", "rolled_back", "rollback_failed", "stale", "cancelled"] as const) expect(effectsOf(status)).toEqual(["cancel_open_tasks", "release_locks"]);
    // Decided before any lock was asked for.
    for (const status of ["invalid", "rejected", "planned"] as const) expect(effectsOf(status)).toEqual([]);
    expect([...FINAL_PLAN_STATUSES].sort()).toEqual(["cancelled", "failed", "invalid", "planned", "rejected", "rollback_failed", "rolled_back", "stale", "succeeded"]);
    expect(effectsOf("redriving")).toEqual(["reset_tasks"]);
    expect(effectsOf("rolling_back")).toEqual(["cancel_open_tasks", "advance_rollback"]);
    expect(effectsOf("waiting")).toEqual([]);
  });

  it("leaves a plan under policy continue running after a failure", () => {
    expect(decidePlan(state("running"), { kind: "task_failed", taskId: "t", policy: "continue", message: "x" }, T)).toMatchObject({ kind: "skip" });
    expect(decidePlan(state("running"), { kind: "all_finished", failedTask: "t", policy: "continue" }, T)).toMatchObject({ to: "failed", update: { failedTask: "t" } });
  });

  it("under policy rollback, a failure found by the finish check rolls back (not only by the failed task's own settle)", () => {
    expect(decidePlan(state("running"), { kind: "all_finished", failedTask: "t", policy: "rollback" }, T)).toMatchObject({ to: "rolling_back", update: { failedTask: "t" } });
    expect(decidePlan(state("running"), { kind: "all_finished", failedTask: null, policy: "rollback" }, T)).toMatchObject({ to: "succeeded" });
  });

  it("retries a plan that never started by starting it: there is nothing to redrive", () => {
    expect(decidePlan(state("cancelled", { started: false }), { kind: "command", command: "retry", locks: granted, by: "ops" }, T)).toMatchObject({ to: "pending", effects: ["start"] });
    expect(decidePlan(state("cancelled", { started: true }), { kind: "command", command: "retry", locks: granted, by: "ops" }, T)).toMatchObject({ to: "redriving" });
  });
});

describe("rollback_failed and stale", () => {
  it("a compensation that failed ends the plan rollback_failed, naming it, and the plan's cause stays the task that failed", () => {
    const d = decidePlan(state("rolling_back"), { kind: "rollback_finished", failedCompensation: { taskId: "prod.hosting", message: "PERMISSION_DENIED" } }, T);
    expect(d).toMatchObject({ kind: "transition", to: "rollback_failed", type: "plan.rollback_failed", update: { rollbackError: { taskId: "prod.hosting", message: "PERMISSION_DENIED" } } });
    expect((d as PlanTransition).message).toContain("rollback did not finish: compensation of prod.hosting failed (PERMISSION_DENIED)");
    // failedTask is not touched: it stays the task whose failure started the rollback.
    expect((d as PlanTransition).update).not.toHaveProperty("failedTask");
    expect(FINAL_PLAN_STATUSES.has("rollback_failed")).toBe(true);
    expect(effectsOf("rollback_failed")).toEqual(["cancel_open_tasks", "release_locks"]);
    expect(decidePlan(state("rollback_failed"), { kind: "command", command: "retry", locks: granted, by: "ops" }, T)).toMatchObject({ to: "redriving" });
    // Or roll back again: the compensations that failed run once more (store/plans.ts advanceRollback).
    expect(decidePlan(state("rollback_failed"), { kind: "command", command: "rollback", locks: granted, by: "ops" }, T)).toMatchObject({ to: "rolling_back" });
  });

  it.each(["stop", "continue", "rollback"] as const)("a stale provision stops the plan as stale whatever the policy (%s)", (policy) => {
    const d = decidePlan(state("running"), { kind: "task_failed", taskId: "prod.hosting", policy, message: "changed since the plan was refreshed", stale: true }, T);
    expect(d).toMatchObject({ kind: "transition", to: "stale", type: "plan.stale", update: { failedTask: "prod.hosting" }, effects: ["cancel_open_tasks", "release_locks"] });
    expect(FINAL_PLAN_STATUSES.has("stale")).toBe(true);
    expect(decidePlan(state("stale"), { kind: "command", command: "retry", locks: granted, by: "ops" }, T)).toMatchObject({ to: "redriving" });
  });
});

describe("locks read before a decision", () => {
  it("refuses a command decided with locks the plan no longer holds (a cancel came in between), so they are asked for again", () => {
    expect(decidePlan(state("cancelled"), { kind: "command", command: "rollback", locks: "held", by: "ops" }, T)).toEqual({ kind: "skip", reason: LOCKS_NO_LONGER_HELD });
    expect(decidePlan(state("cancelled"), { kind: "command", command: "rollback", locks: { granted: true }, by: "ops" }, T)).toMatchObject({ to: "rolling_back" });
    expect(decidePlan(state("running"), { kind: "command", command: "rollback", locks: "held", by: "ops" }, T)).toMatchObject({ to: "rolling_back" });
  });
});
