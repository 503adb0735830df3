/** Which plan commands apply in each status: what the page offers (and the engine accepts). */
import { applicablePlanCommands, decidePlan } from "../../../functions/src/engine/plan";
import { PLAN_STATUSES } from "../../../functions/src/schema/plan";

describe("applicablePlanCommands", () => {
  it("offers a succeeded plan only its rollback, a failed one retry and rollback, a running one pause, cancel and rollback", () => {
    expect(applicablePlanCommands("succeeded", false)).toEqual(["rollback"]);
    expect(applicablePlanCommands("failed", false)).toEqual(["retry", "rollback"]);
    expect(applicablePlanCommands("running", false)).toEqual(["pause", "cancel", "rollback"]);
    expect(applicablePlanCommands("paused", false)).toEqual(["resume", "cancel", "rollback"]);
    expect(applicablePlanCommands("waiting", false, true)).toEqual(["override", "cancel"]);
    expect(applicablePlanCommands("waiting", false)).toEqual(["cancel"]);
    expect(applicablePlanCommands("rolled_back", false)).toEqual(["retry"]);
    expect(applicablePlanCommands("invalid", false)).toEqual([]);
  });

  it("offers nothing for a dry run, whatever its status", () => {
    for (const status of PLAN_STATUSES) expect(applicablePlanCommands(status, true)).toEqual([]);
  });

  it("offers exactly the commands the plan machine does not refuse by status", () => {
    for (const status of PLAN_STATUSES) {
      const offered = new Set(applicablePlanCommands(status, false));
      for (const command of ["retry", "rollback", "pause", "resume"] as const) {
        const state = { status, seq: 3, generation: 1, intent: null } as never;
        const input = command === "pause" || command === "resume" ? ({ kind: command, by: "ops" } as const) : ({ kind: "command", command, by: "ops", locks: { granted: true } } as const);
        const decision = decidePlan(state, input, 0);
        const refusedByStatus = decision.kind === "skip" && /plan is \w+(: (only|cannot)|, not paused)/.test(decision.reason);
        expect({ status, command, offered: offered.has(command) }).toEqual({ status, command, offered: !refusedByStatus });
      }
    }
  });
});
