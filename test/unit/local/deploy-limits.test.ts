/** Every deployed function names its ceiling (`maxInstances`), as firebase-functions writes it into the deploy manifest. */
import * as functions from "../../../functions/src/index";

const endpoints = Object.entries(functions).filter(([, f]) => typeof f === "function" && "__endpoint" in f) as Array<[string, { __endpoint: { maxInstances?: unknown } }]>;

describe("function limits", () => {
  it("finds the deployed functions", () => {
    expect(endpoints.map(([name]) => name)).toEqual(expect.arrayContaining(["onTaskReady", "onPlanCreated", "sweepStalledTasks", "api"]));
  });

  it.each(endpoints.map(([name, f]) => [name, f.__endpoint.maxInstances]))("%s sets maxInstances (%p)", (_name, max) => {
    expect(typeof max).toBe("number");
    expect(max as number).toBeGreaterThanOrEqual(1);
  });

  it("runs one sweeper at a time", () => {
    expect(functions.sweepStalledTasks.__endpoint.maxInstances).toBe(1);
  });
});
