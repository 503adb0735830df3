/**
 * Change sets through the engine, on the Firestore and Pub/Sub emulators with a local control
 * plane: the journal in `plans/{id}/changes`, a plan whose state moved between its refresh and
 * its start (stale, or replanned), and a rollback that cannot finish (rollback_failed).
 */
import { isMutating } from "../../local/control-plane";
import { controlPlaneInEnv } from "../support/control-plane-env";
import { googleClients } from "../../functions/src/clients/google";
import { refreshPlan } from "../../functions/src/executors/refresh";
import { compilePlan } from "../../functions/src/planner/compile";
import { comparable } from "../support/control-plane-state";
import { applyCommand } from "../../functions/src/runtime/commands";
import { uniqueId } from "../support/emulators";
import { operator, RULES } from "../support/principals";
import { db, deliverPlanCreated } from "../support/functions";
import { engineHarness } from "../support/engine-harness";

const harness = engineHarness();
const plans = db.collection("plans");
const JOB = (projectId: string) => `projects/${projectId}/locations/us-central1/jobs/orchestrator-firestore-backup`;

// What the functions are given: the shared client factory reads it.
const local = controlPlaneInEnv();

const backup = (projectId: string, schedule: string) => ({
  id: "backup",
  run: "firebase",
  params: { integration: "backup", action: "provision", environment: "production", projectId, region: "us-central1", settings: { schedule } },
});

async function start(spec: Record<string, unknown>): Promise<string> {
  const planId = uniqueId("cs");
  await plans.doc(planId).set(spec);
  await deliverPlanCreated(planId);
  return planId;
}

/** What `npm run plan -- --refresh --apply` writes: the plan with the state its refresh saw. */
async function refreshed(spec: Record<string, unknown>): Promise<Record<string, unknown>> {
  const compiled = compilePlan(spec);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  const result = await refreshPlan(compiled.plan.tasks, googleClients());
  expect(result.errors).toEqual([]);
  return { ...spec, expectedState: result.expectedState };
}

const scheduleOf = (projectId: string): unknown => local.cp.state().schedulerJobs[JOB(projectId)]?.schedule;

describe("a plan whose live state moved after its refresh", () => {
  it("stops as stale before changing anything, naming what moved", async () => {
    const projectId = `stale-${Math.random().toString(36).slice(2, 8)}`;
    const spec = await refreshed({ tasks: [backup(projectId, "0 4 * * *"), { id: "after", run: "noop", needs: ["backup"] }] });
    // Between the refresh and the start, someone else creates the job the plan would create.
    local.cp.edit((s) => {
      s.schedulerJobs[JOB(projectId)] = { name: JOB(projectId), schedule: "0 1 * * *", timeZone: "Etc/UTC", state: "ENABLED", description: "someone's" };
    });
    local.cp.clearCalls();
    const planId = await start(spec);
    expect(await harness.pump.run(db, planId)).toBe("stale");
    const plan = (await plans.doc(planId).get()).data()!;
    expect(plan.failedTask).toBe("backup");
    const task = (await plans.doc(planId).collection("tasks").doc("backup").get()).data()!;
    expect(task.error).toMatchObject({ code: "stale", retryable: false });
    expect(task.error.message).toContain(JOB(projectId));
    expect((await plans.doc(planId).collection("tasks").doc("after").get()).get("status")).toBe("cancelled");
    // Nothing was changed: their job is as they left it, and no mutating call went out.
    expect(scheduleOf(projectId)).toBe("0 1 * * *");
    expect(local.cp.calls().filter(isMutating)).toEqual([]);
    const events = (await plans.doc(planId).collection("events").get()).docs.map((d) => d.data());
    expect(events.find((e) => e.type === "plan.stale")?.message).toContain("changed since the plan was refreshed");
  });

  it("with onStale replan, diffs again against the live state and goes on", async () => {
    const projectId = `replan-${Math.random().toString(36).slice(2, 8)}`;
    const spec = await refreshed({ onStale: "replan", tasks: [backup(projectId, "0 4 * * *")] });
    local.cp.edit((s) => {
      s.schedulerJobs[JOB(projectId)] = { name: JOB(projectId), schedule: "0 1 * * *", timeZone: "Etc/UTC", state: "ENABLED", description: "someone's" };
    });
    const planId = await start(spec);
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect(scheduleOf(projectId)).toBe("0 4 * * *");
    const output = (await plans.doc(planId).collection("outputs").doc("backup").get()).get("output") as { replanned?: string[]; changeSet: Array<{ action: string }> };
    expect(output.replanned).toEqual([JOB(projectId)]);
    expect(output.changeSet.map((c) => c.action)).toEqual(["update"]);
  });

  it("a plan refreshed against the same state runs as planned", async () => {
    const projectId = `fresh-${Math.random().toString(36).slice(2, 8)}`;
    const planId = await start(await refreshed({ tasks: [backup(projectId, "0 4 * * *")] }));
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect(scheduleOf(projectId)).toBe("0 4 * * *");
  });
});

describe("a rollback through the journal", () => {
  it("records each change before its call, undoes it on rollback, and restores what was there", async () => {
    const projectId = `undo-${Math.random().toString(36).slice(2, 8)}`;
    local.cp.edit((s) => {
      s.schedulerJobs[JOB(projectId)] = { name: JOB(projectId), schedule: "0 1 * * *", timeZone: "Europe/Berlin", state: "ENABLED", description: "theirs" };
    });
    const before = local.cp.state().schedulerJobs[JOB(projectId)];
    const planId = await start({ failurePolicy: "rollback", tasks: [backup(projectId, "0 4 * * *"), { id: "fails", run: "http", needs: ["backup"], params: { url: harness.web.url(`reject/${projectId}`) } }] });
    expect(await harness.pump.run(db, planId)).toBe("rolled_back");
    const journal = (await plans.doc(planId).collection("changes").get()).docs.map((d) => d.data());
    expect(journal).toEqual([expect.objectContaining({ taskId: "backup", resource: JOB(projectId), action: "update", status: "undone" })]);
    const after = local.cp.state().schedulerJobs[JOB(projectId)]!;
    expect({ ...after, userUpdateTime: null }).toEqual({ ...before, userUpdateTime: null, attemptDeadline: after.attemptDeadline, httpTarget: after.httpTarget });
    expect(after).toMatchObject({ schedule: "0 1 * * *", timeZone: "Europe/Berlin", description: "theirs" });
  });

  it("a provision that failed halfway is undone by the rollback too: the state is as before", async () => {
    const projectId = `half-${Math.random().toString(36).slice(2, 8)}`;
    const before = comparable(local.cp.state());
    // Hosting creates the site and a version, then its release is refused (not retryable): the task fails halfway.
    local.cp.inject({ match: "/^POST .*\\/releases$/", protocol: "rest", grpcCode: 7, times: 100, message: "injected: permission denied" });
    const planId = await start({
      failurePolicy: "rollback",
      tasks: [{ id: "hosting", run: "firebase", params: { integration: "hosting", action: "provision", environment: "production", projectId, region: "us-central1", settings: {} } }],
    });
    try {
      expect(await harness.pump.run(db, planId)).toBe("rolled_back");
    } finally {
      local.cp.clearFaults();
    }
    expect((await plans.doc(planId).collection("tasks").doc("hosting").get()).data()).toMatchObject({ status: "compensated", error: { code: "permission_denied" } });
    expect(local.cp.state().hostingSites[`projects/${projectId}/sites/${projectId}`]).toBeUndefined();
    expect(comparable(local.cp.state())).toEqual(before);
  });

  it("a compensation that fails ends the plan rollback_failed, naming it; the failed task stays the cause", async () => {
    const projectId = `rbf-${Math.random().toString(36).slice(2, 8)}`;
    const planId = await start({ failurePolicy: "rollback", tasks: [backup(projectId, "0 4 * * *"), { id: "fails", run: "http", needs: ["backup"], params: { url: harness.web.url(`reject/${projectId}`) } }] });
    // Every DeleteJob is refused (not retryable): the backup job cannot be undone.
    local.cp.inject({ match: "DeleteJob", grpcCode: 7, times: 1_000, message: "injected: permission denied" });
    try {
      expect(await harness.pump.run(db, planId)).toBe("rollback_failed");
    } finally {
      local.cp.clearFaults();
    }
    const plan = (await plans.doc(planId).get()).data()!;
    expect(plan.failedTask).toBe("fails");
    expect(plan.rollbackError).toMatchObject({ taskId: "backup" });
    expect(plan.rollbackError.message).toContain(JOB(projectId));
    expect((await plans.doc(planId).collection("tasks").doc("backup").get()).data()).toMatchObject({ status: "failed", compensationError: { code: "permission_denied" } });
    expect(scheduleOf(projectId)).toBe("0 4 * * *");

    // The cause is fixed (the API lets the call through again): rolling back again runs the compensation that failed.
    expect(await applyCommand(db, { planId, command: "rollback", by: "ops@example.com", commandId: uniqueId("rb") }, operator(), RULES)).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("rolled_back");
    const task = (await plans.doc(planId).collection("tasks").doc("backup").get()).data()!;
    // A new attempt: the compensation runs with a new idempotency key, not answered with its first failure.
    expect(task).toMatchObject({ status: "compensated", compensationError: null, attempt: 2 });
    expect(scheduleOf(projectId)).toBeUndefined();
    expect((await plans.doc(planId).get()).get("failedTask")).toBe("fails");
  });
});
