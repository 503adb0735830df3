/** The per-process registry that lets a plan's last running task pay for the plan-finish query. */
import { deferWhileOthersRun, enter, leave } from "../../../functions/src/runtime/in-flight";

describe("tasks in flight in this process", () => {
  it("runs the query at once when the task is the plan's only one here", () => {
    enter("p1");
    expect(deferWhileOthersRun("p1")).toBe(false);
    expect(leave("p1")).toBe(false);
  });

  it("defers it while another task of the plan runs, and hands it to the last to leave", () => {
    enter("p2");
    enter("p2");
    expect(deferWhileOthersRun("p2")).toBe(true);
    expect(leave("p2")).toBe(false);
    expect(leave("p2")).toBe(true);
    // Settled: a new task of the plan starts with nothing owed.
    enter("p2");
    expect(leave("p2")).toBe(false);
  });

  it("keeps plans apart", () => {
    enter("a");
    enter("b");
    expect(deferWhileOthersRun("a")).toBe(false);
    expect(leave("b")).toBe(false);
    expect(leave("a")).toBe(false);
    expect(leave("never-entered")).toBe(false);
  });
});
