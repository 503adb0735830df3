/**
 * A provision pinned to what the plan's refresh saw (`params.expect`): it refuses to change
 * anything when someone else moved the state since, goes on over its own earlier attempt's changes,
 * and diffs again with onStale replan. The journal's own failures are retryable.
 */
import { isMutating, MUTATING_CALLS } from "../../../local/control-plane";
import { observedDigests, type ChangeJournal } from "../../../functions/src/executors/firebase/change-set";
import { planIntegration } from "../../../functions/src/executors/firebase";
import { createIntegrationIo } from "../../../functions/src/executors/firebase/context";
import { errorOf, firebaseParams, outputOf, startHarness, type Harness } from "./harness";

const JOB = "projects/lang-trak-dev/locations/us-central1/jobs/orchestrator-firestore-backup";
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.stop());
beforeEach(() => h.cp.reset());

/** What a refresh saw now: the digests the plan is pinned to. */
async function pin(onStale: "stop" | "replan" = "stop"): Promise<Record<string, unknown>> {
  const params = firebaseParams("backup", { settings: { schedule: "0 4 * * *" } });
  const planned = await planIntegration(params, createIntegrationIo(h.clients, { signal: new AbortController().signal, deadline: Date.now() + 10_000 }));
  if (!planned.ok) throw new Error(planned.error.message);
  return { ...params, expect: { resources: observedDigests(planned.plan.changes), onStale } };
}

const someoneCreatesTheJob = () =>
  h.cp.edit((s) => {
    s.schedulerJobs[JOB] = { name: JOB, schedule: "0 1 * * *", timeZone: "Etc/UTC", state: "ENABLED", description: "theirs" };
  });

describe("a provision pinned to its plan's refresh", () => {
  it("refuses, naming the resource, when someone changed it since: no mutating call", async () => {
    const params = await pin();
    someoneCreatesTheJob();
    h.cp.clearCalls();
    const error = errorOf(await h.executor.execute(params, h.ctx()));
    expect(error).toMatchObject({ code: "stale", retryable: false });
    expect(error.message).toContain(JOB);
    expect(h.cp.calls().filter(isMutating)).toEqual([]);
    expect(h.cp.state().schedulerJobs[JOB]?.schedule).toBe("0 1 * * *");
  });

  it("goes on over what its own earlier attempt applied (a retry is not stale)", async () => {
    const params = await pin();
    const task = { taskId: "backup", idempotencyKey: "plan-1/backup/1" };
    // The first attempt's CreateJob lands, and its answer is lost.
    h.cp.inject({ match: MUTATING_CALLS, after: true, grpcCode: 13 });
    errorOf(await h.executor.execute(params, h.ctx(task)));
    expect(h.cp.state().schedulerJobs[JOB]).toBeDefined();
    const out = outputOf(await h.executor.execute(params, h.ctx({ ...task, idempotencyKey: "plan-1/backup/2" })));
    expect(out.changeSet.map((c) => c.action)).toEqual(["noop"]);
  });

  it("with onStale replan, diffs again and applies, listing what had moved", async () => {
    const params = await pin("replan");
    someoneCreatesTheJob();
    const out = outputOf(await h.executor.execute(params, h.ctx()));
    expect(out.replanned).toEqual([JOB]);
    expect(out.changeSet).toEqual([expect.objectContaining({ resource: JOB, action: "update", existed: true })]);
    expect(h.cp.state().schedulerJobs[JOB]?.schedule).toBe("0 4 * * *");
  });
});

describe("the journal's own failures", () => {
  it("fail the attempt as retryable (store_unavailable), before any mutating call", async () => {
    const broken: ChangeJournal = {
      intend: async () => {
        throw new Error("14 UNAVAILABLE: firestore is unreachable");
      },
      applied: async () => undefined,
      pending: async () => [],
      settle: async () => undefined,
    };
    h.cp.clearCalls();
    const error = errorOf(await h.executor.execute(firebaseParams("backup"), h.ctx({ journal: broken })));
    expect(error).toMatchObject({ code: "store_unavailable", retryable: true });
    expect(error.message).toContain("UNAVAILABLE");
    // Write-ahead: the intent could not be recorded, so the call was never made.
    expect(h.cp.calls().filter(isMutating)).toEqual([]);
  });
});
