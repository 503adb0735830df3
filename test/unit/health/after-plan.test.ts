/**
 * An environment plan that ends asks for a health run (triggers/on-plan-updated.ts), so the page's
 * first view after it shows the environments it touched as they are, not "no health run yet".
 */
import { healthRunAfter } from "../../../functions/src/triggers/on-plan-updated";

const env = (status: string, extra: Record<string, unknown> = {}) => ({ status, compiled: { form: "environments" }, ...extra });

describe("the health run after a plan", () => {
  it("is asked for when an environment plan reaches any final status", () => {
    for (const status of ["succeeded", "failed", "rolled_back", "rollback_failed", "cancelled", "stale"]) {
      expect(healthRunAfter("p1", env("running"), env(status))).toEqual({ requestedBy: "plan p1", reason: `the plan ended ${status}: a fresh look at the environments it touched` });
    }
  });

  it("is not asked for by a task plan, a dry run, a plan still running, or an update that did not change the status", () => {
    expect(healthRunAfter("p1", { status: "running", compiled: { form: "tasks" } }, { status: "succeeded", compiled: { form: "tasks" } })).toBeUndefined();
    expect(healthRunAfter("p1", env("planning"), env("planned", { dryRun: true }))).toBeUndefined();
    expect(healthRunAfter("p1", env("planning"), env("running"))).toBeUndefined();
    expect(healthRunAfter("p1", env("succeeded"), env("succeeded"))).toBeUndefined();
    expect(healthRunAfter("p1", { status: "planning" }, { status: "invalid" })).toBeUndefined();
  });
});
