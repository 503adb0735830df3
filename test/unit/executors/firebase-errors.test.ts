/**
 * Google API failures become task errors the engine can act on: quota, unavailability and
 * deadlines retry; permissions and missing things do not, and say what to fix. Nothing waits on
 * the clients' 600 s default.
 */
import { createGoogleClients, googleClientConfigFromEnv } from "../../../functions/src/clients/google";
import { createFirebaseExecutor } from "../../../functions/src/executors/firebase";
import { errorOf, firebaseParams, outputOf, startHarness, type Harness } from "./harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.stop());
beforeEach(() => {
  h.cp.reset();
});

describe("gRPC failures (Cloud Scheduler CreateJob, which the client does not retry)", () => {
  it.each([
    [7, "permission_denied", false],
    [5, "not_found", false],
    [8, "resource_exhausted", true],
    [14, "unavailable", true],
    [4, "deadline_exceeded", true],
  ])("code %i surfaces as %s (retryable: %s)", async (grpcCode, code, retryable) => {
    // A quota answer is retried inside the call until the deadline: keep refusing, with a short deadline.
    h.cp.inject({ match: "CreateJob", grpcCode, times: grpcCode === 8 ? 1_000 : 1 });
    const error = errorOf(await h.executor.execute(firebaseParams("backup"), h.ctx(grpcCode === 8 ? { deadline: Date.now() + 1_500 } : {})));
    expect(error).toMatchObject({ code, retryable });
    expect(error.message).toContain("Cloud Scheduler CreateJob on projects/lang-trak-dev/locations/us-central1/jobs/orchestrator-firestore-backup");
    expect(h.cp.state().schedulerJobs).toEqual({});
  });

  it("names the IAM role and API to fix a permission error", async () => {
    h.cp.inject({ match: "CreateUptimeCheckConfig", grpcCode: 7 });
    const error = errorOf(await h.executor.execute(firebaseParams("monitoring"), h.ctx()));
    expect(error.message).toContain("roles/monitoring.uptimeCheckConfigEditor");
    expect(error.message).toContain("monitoring.googleapis.com");
  });

  it("rides out one UNAVAILABLE on a read through the client's own bounded retry", async () => {
    h.cp.inject({ match: "GetJob", grpcCode: 14 });
    expect(outputOf(await h.executor.execute(firebaseParams("backup"), h.ctx())).changed).toBe(true);
    // The retried read, then the read of what the apply made (recorded in environments/{id}).
    expect(h.cp.calls().filter((c) => c.method.endsWith("/GetJob")).map((c) => c.status)).toEqual(["UNAVAILABLE", "NOT_FOUND", "OK"]);
  });
});

describe("REST failures (Firebase Rules CreateRuleset)", () => {
  it.each([
    [500, "internal", true],
    [429, "resource_exhausted", true],
    [503, "unavailable", true],
    [403, "permission_denied", false],
    [404, "not_found", false],
  ])("HTTP %i surfaces as %s (retryable: %s)", async (httpStatus, code, retryable) => {
    h.cp.inject({ match: "POST /v1/projects/lang-trak-dev/rulesets", httpStatus, times: httpStatus === 429 ? 1_000 : 1 });
    const error = errorOf(await h.executor.execute(firebaseParams("database"), h.ctx(httpStatus === 429 ? { deadline: Date.now() + 1_500 } : {})));
    expect(error).toMatchObject({ code, retryable });
    expect(error.message).toContain(`HTTP ${httpStatus}`);
  });

  it("a 403 names roles/firebaserules.admin", async () => {
    h.cp.inject({ match: "rulesets", httpStatus: 403 });
    expect(errorOf(await h.executor.execute(firebaseParams("storage"), h.ctx())).message).toContain("roles/firebaserules.admin");
  });

  it("a gRPC-code fault on a REST call maps to its HTTP status", async () => {
    h.cp.inject({ match: "PATCH /admin/v2/projects/lang-trak-dev/config", grpcCode: 8, times: 1_000 });
    expect(errorOf(await h.executor.execute(firebaseParams("authentication"), h.ctx({ deadline: Date.now() + 1_500 })))).toMatchObject({ code: "resource_exhausted", retryable: true });
  });
});

describe("deadlines and the abort signal", () => {
  it("stops waiting as soon as the attempt's signal aborts (gRPC)", async () => {
    h.cp.inject({ match: "CreateJob", latencyMs: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = errorOf(await h.executor.execute(firebaseParams("backup"), h.ctx({ signal: controller.signal, deadline: Date.now() + 1_000 })));
    expect(error).toMatchObject({ code: "aborted", retryable: true });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("stops waiting as soon as the attempt's signal aborts (REST)", async () => {
    h.cp.inject({ match: "rulesets", latencyMs: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = errorOf(await h.executor.execute(firebaseParams("database"), h.ctx({ signal: controller.signal, deadline: Date.now() + 1_000 })));
    expect(error).toMatchObject({ code: "aborted", retryable: true });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("bounds each gRPC call by the attempt's deadline", async () => {
    h.cp.inject({ match: "CreateJob", latencyMs: 5_000 });
    const started = Date.now();
    const error = errorOf(await h.executor.execute(firebaseParams("backup"), h.ctx({ deadline: Date.now() + 300 })));
    expect(error).toMatchObject({ code: "deadline_exceeded", retryable: true });
    expect(Date.now() - started).toBeLessThan(3_500);
  });

  it("bounds each REST call by the attempt's deadline", async () => {
    h.cp.inject({ match: "GET /admin/v2", latencyMs: 5_000 });
    const started = Date.now();
    const error = errorOf(await h.executor.execute(firebaseParams("authentication"), h.ctx({ deadline: Date.now() + 300 })));
    expect(error).toMatchObject({ code: "deadline_exceeded", retryable: true });
    expect(Date.now() - started).toBeLessThan(3_500);
  });

  it("gives up on a server that is not there within the deadline, not after 600 s", async () => {
    const dead = createGoogleClients(
      googleClientConfigFromEnv({ ORCHESTRATOR_GOOGLE_GRPC_ENDPOINT: "127.0.0.1:1", ORCHESTRATOR_GOOGLE_REST_ENDPOINT: "http://127.0.0.1:1" }),
    );
    try {
      const executor = createFirebaseExecutor(() => dead);
      const started = Date.now();
      const grpcError = errorOf(await executor.execute(firebaseParams("backup"), h.ctx({ deadline: Date.now() + 500 })));
      const restError = errorOf(await executor.execute(firebaseParams("database"), h.ctx({ deadline: Date.now() + 500 })));
      expect(grpcError.retryable).toBe(true);
      expect(restError).toMatchObject({ code: "unavailable", retryable: true });
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await dead.close();
    }
  });
});

describe("bad params and failing compensation", () => {
  it("rejects invalid settings before calling anything", async () => {
    const error = errorOf(await h.executor.execute(firebaseParams("backup", { settings: { schedule: 5 } }), h.ctx()));
    expect(error).toMatchObject({ code: "invalid_settings", retryable: false });
    expect(error.message).toContain("settings.schedule");
    expect(h.cp.calls()).toEqual([]);
  });

  it("rejects an unknown integration and invalid params", async () => {
    expect(errorOf(await h.executor.execute(firebaseParams("crashlytics"), h.ctx()))).toMatchObject({ code: "unknown_integration", retryable: false });
    expect(errorOf(await h.executor.execute(firebaseParams("backup", { projectId: "X" }), h.ctx()))).toMatchObject({ code: "invalid_params", retryable: false });
  });

  it("returns a failing compensation as an error (never throws) and succeeds once the fault clears", async () => {
    const task = { taskId: "backup-rollback", idempotencyKey: "plan-1/backup-rollback/1" };
    outputOf(await h.executor.execute(firebaseParams("backup"), h.ctx(task)));
    h.cp.inject({ match: "DeleteJob", grpcCode: 7 });
    const failed = await h.executor.compensate!(firebaseParams("backup"), h.ctx(task));
    expect(errorOf(failed)).toMatchObject({ code: "permission_denied", retryable: false });
    expect(errorOf(failed).message).toMatch(/^rollback of projects\/lang-trak-dev\/locations\/us-central1\/jobs\/orchestrator-firestore-backup failed: /);
    expect(Object.keys(h.cp.state().schedulerJobs)).toHaveLength(1);
    expect((outputOf(await h.executor.compensate!(firebaseParams("backup"), h.ctx(task))) as unknown as { changed: boolean }).changed).toBe(true);
    expect(h.cp.state().schedulerJobs).toEqual({});
  });

  it("verify returns API failures as errors too", async () => {
    h.cp.inject({ match: "ListUptimeCheckConfigs", grpcCode: 7 });
    const v = await h.executor.verify!(firebaseParams("monitoring", { action: "verify" }), h.ctx());
    expect(v).toMatchObject({ ok: false, error: { code: "permission_denied", retryable: false } });
  });
});
