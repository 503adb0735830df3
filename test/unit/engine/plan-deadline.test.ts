/**
 * A plan's `deadlineSeconds` in the plan state machine (engine/plan.ts): a run's deadline is set
 * when it begins (a wait for locks counts), kept across the wait, renewed by each retry, cleared
 * when the run ends, and ends the run by the failure policy once it passed, never a rollback.
 */
import { decidePlan, DEADLINE_ENDS, type PlanMachineState, type PlanTransition } from "../../../functions/src/engine/plan";
import { PLAN_STATUSES, type PlanStatus } from "../../../functions/src/schema/plan";

const T = 1_700_000_000_000;
const state = (status: PlanStatus, over: Partial<PlanMachineState> = {}): PlanMachineState => ({ status, seq: 3, generation: 1, resume: null, started: true, frozen: false, ...over });
const busy = { granted: false, lock: "lang-trak-prod", holder: "other-plan" } as const;
const transition = (d: ReturnType<typeof decidePlan>): PlanTransition => {
  if (d.kind === "skip") throw new Error(`skipped: ${d.reason}`);
  return d;
};

describe("a plan's run deadline", () => {
  it("begins with the first begin, is kept while waiting for a lock, and is not moved by the begin that follows", () => {
    const waiting = transition(decidePlan(state("planning", { started: false }), { kind: "begin", locks: busy, taskCount: 3, deadlineSeconds: 600 }, T));
    expect(waiting.to).toBe("waiting");
    expect(waiting.update.runDeadline).toEqual({ seconds: 600, at: T + 600_000 });
    const later = T + 300_000;
    const running = transition(decidePlan(state("planning", { started: false, runDeadline: { seconds: 600, at: T + 600_000 } }), { kind: "begin", locks: { granted: true }, taskCount: 3, deadlineSeconds: 600 }, later));
    expect(running.update.runDeadline).toEqual({ seconds: 600, at: T + 600_000 });
  });

  it("a plan without deadlineSeconds has none, and a deadline input skips", () => {
    const running = transition(decidePlan(state("planning", { started: false }), { kind: "begin", locks: { granted: true }, taskCount: 1, deadlineSeconds: null }, T));
    expect(running.update.runDeadline).toBeNull();
    expect(decidePlan(state("running"), { kind: "deadline", policy: "stop" }, T).kind).toBe("skip");
  });

  it("is not acted on before it passes", () => {
    expect(decidePlan(state("running", { runDeadline: { seconds: 60, at: T + 1 } }), { kind: "deadline", policy: "stop" }, T).kind).toBe("skip");
  });

  it("ends every status under way: failed (with the cause), or a rollback under failurePolicy rollback once tasks ran", () => {
    for (const status of PLAN_STATUSES) {
      const s = state(status, { runDeadline: { seconds: 60, at: T - 1 } });
      const d = decidePlan(s, { kind: "deadline", policy: "rollback" }, T);
      if (!DEADLINE_ENDS.includes(status)) {
        expect({ status, kind: d.kind }).toEqual({ status, kind: "skip" });
        continue;
      }
      const t = transition(d);
      expect(t.type).toBe("plan.deadline_exceeded");
      expect(t.to).toBe(status === "running" || status === "paused" ? "rolling_back" : "failed");
      expect(t.update.failure).toBe("deadline_exceeded");
      expect(t.update.runDeadline).toEqual({ seconds: 60, at: null });
      expect(t.effects.length).toBeGreaterThan(0);
    }
    expect(transition(decidePlan(state("running", { runDeadline: { seconds: 60, at: T - 1 } }), { kind: "deadline", policy: "stop" }, T)).to).toBe("failed");
    expect(DEADLINE_ENDS).not.toContain("rolling_back");
  });

  it("a run that ends keeps the length and drops the instant; a retry gives the next run a fresh deadline", () => {
    const failed = transition(decidePlan(state("running", { runDeadline: { seconds: 120, at: T + 5_000 } }), { kind: "task_failed", taskId: "t", policy: "stop", message: "boom" }, T));
    expect(failed.update.runDeadline).toEqual({ seconds: 120, at: null });
    const later = T + 3_600_000;
    const retried = transition(decidePlan(state("failed", { runDeadline: { seconds: 120, at: null } }), { kind: "command", command: "retry", locks: { granted: true }, by: "ops" }, later));
    expect(retried.to).toBe("redriving");
    expect(retried.update.runDeadline).toEqual({ seconds: 120, at: later + 120_000 });
    expect(retried.update.failure).toBeNull();
    // A retry that waits for its lock keeps that deadline when it resumes.
    const waits = transition(decidePlan(state("failed", { runDeadline: { seconds: 120, at: null } }), { kind: "command", command: "retry", locks: busy, by: "ops" }, later));
    expect(waits.update.runDeadline).toEqual({ seconds: 120, at: later + 120_000 });
    const resumed = transition(decidePlan(state("waiting", { resume: "redrive", runDeadline: { seconds: 120, at: later + 120_000 } }), { kind: "command", command: "retry", locks: { granted: true }, by: "orchestrator" }, later + 60_000));
    expect(resumed.update.runDeadline).toEqual({ seconds: 120, at: later + 120_000 });
  });
});
