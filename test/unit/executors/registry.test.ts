/** executeAttempt / compensateAttempt: the engine's entry points, with the firebase executor configured from the environment. */
import { compensateAttempt, executeAttempt } from "../../../functions/src/executors/registry";
import { controlPlaneInEnv } from "../../support/control-plane-env";
import { errorOf, firebaseParams, MemoryJournals, outputOf } from "./harness";

const ctx = { planId: "p", taskId: "prod.backup", attempt: 1, idempotencyKey: "p/prod.backup/1", journal: new MemoryJournals().for("prod.backup", "p/prod.backup/1") };
// What the functions emulator would be given: the shared client factory reads it.
const local = controlPlaneInEnv();

describe("registry", () => {
  it("runs the firebase executor and its compensation through the shared client factory", async () => {
    const params = firebaseParams("backup", { projectId: "lang-trak-prod", environment: "production" });
    expect(outputOf(await executeAttempt("firebase", params, ctx, 5_000)).changed).toBe(true);
    expect(Object.keys(local.cp.state().schedulerJobs)).toEqual(["projects/lang-trak-prod/locations/us-central1/jobs/orchestrator-firestore-backup"]);
    expect(outputOf(await compensateAttempt("firebase", params, ctx, 5_000)).changed).toBe(true);
    expect(local.cp.state().schedulerJobs).toEqual({});
  });

  it("a compensation that outlives its timeout fails as a retryable timeout", async () => {
    const params = firebaseParams("backup", { projectId: "lang-trak-prod", environment: "production" });
    outputOf(await executeAttempt("firebase", params, ctx, 5_000));
    local.cp.inject({ match: "DeleteJob", latencyMs: 8_000 });
    const started = Date.now();
    const error = errorOf(await compensateAttempt("firebase", params, ctx, 200));
    expect(error.retryable).toBe(true);
    expect(["timeout", "aborted", "deadline_exceeded"]).toContain(error.code);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it("an executor without compensate has nothing to undo", async () => {
    expect(await compensateAttempt("noop", {}, ctx, 1_000)).toEqual({ ok: true, output: null });
    expect(await compensateAttempt("delay", { ms: 10 }, ctx, 1_000)).toEqual({ ok: true, output: null });
  });

  it("an unknown kind fails without retry", async () => {
    expect(errorOf(await compensateAttempt("teleport", {}, ctx, 1_000))).toMatchObject({ code: "unknown_executor", retryable: false });
    expect(errorOf(await executeAttempt("teleport", {}, ctx, 1_000))).toMatchObject({ code: "unknown_executor", retryable: false });
  });
});
