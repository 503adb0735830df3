/** The local control plane itself: admin endpoints, paging, uptime time series, reset. */
import { isMutating, MUTATING_CALLS, startControlPlane, type ControlPlane } from "../../../local/control-plane";
import { createGoogleClients, googleClientConfigFromEnv, type GoogleClients } from "../../../functions/src/clients/google";

let cp: ControlPlane;
let clients: GoogleClients;
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const opts = { timeout: 5_000 };

beforeAll(async () => {
  cp = await startControlPlane({ now: () => NOW });
  clients = createGoogleClients(googleClientConfigFromEnv(cp.env));
});
afterAll(async () => {
  await cp.stop();
  await clients.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
});
beforeEach(() => cp.reset());

const admin = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
  const res = await fetch(`${cp.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
};

async function createCheck(displayName: string, periodSeconds = 60): Promise<string> {
  const [check] = await clients.uptimeChecks().createUptimeCheckConfig(
    { parent: "projects/lang-trak-prod", uptimeCheckConfig: { displayName, monitoredResource: { type: "uptime_url", labels: { host: "lang-trak-prod.web.app" } }, period: { seconds: periodSeconds } } },
    opts,
  );
  return check.name!;
}

describe("local control plane", () => {
  it("returns env for the client factory, on free ports", () => {
    expect(cp.env).toEqual({
      ORCHESTRATOR_GOOGLE_GRPC_ENDPOINT: `127.0.0.1:${cp.grpcPort}`,
      ORCHESTRATOR_GOOGLE_REST_ENDPOINT: `http://127.0.0.1:${cp.restPort}`,
      ORCHESTRATOR_PUBSUB_ENDPOINT: `127.0.0.1:${cp.grpcPort}`,
      ORCHESTRATOR_GOOGLE_CALL_TIMEOUT_MS: "10000",
    });
    expect(cp.grpcPort).toBeGreaterThan(0);
    expect(cp.restPort).toBeGreaterThan(0);
  });

  it("pages list calls with nextPageToken, which the client follows", async () => {
    for (const n of [1, 2, 3]) await createCheck(`check ${n}`);
    const [all] = await clients.uptimeChecks().listUptimeCheckConfigs({ parent: "projects/lang-trak-prod", pageSize: 1 }, opts);
    expect(all.map((c) => c.displayName)).toEqual(["check 1", "check 2", "check 3"]);
    expect(cp.calls().filter((c) => c.method.endsWith("ListUptimeCheckConfigs"))).toHaveLength(3);
  });

  it("injects faults through the HTTP admin endpoint and logs calls", async () => {
    await admin("POST", "/__control/faults", { match: "GetJob", grpcCode: 7, times: 1 });
    expect((await admin("GET", "/__control/faults")).faults).toEqual([{ match: "GetJob", grpcCode: 7, times: 1 }]);
    await expect(clients.scheduler().getJob({ name: "projects/p/locations/l/jobs/j" }, opts)).rejects.toMatchObject({ code: 7 });
    await expect(clients.scheduler().getJob({ name: "projects/p/locations/l/jobs/j" }, opts)).rejects.toMatchObject({ code: 5 });
    const calls = (await admin("GET", "/__control/calls")).calls as Array<{ method: string; status: string; injected: boolean }>;
    expect(calls.map((c) => [c.method, c.status, c.injected])).toEqual([
      ["/google.cloud.scheduler.v1.CloudScheduler/GetJob", "PERMISSION_DENIED", true],
      ["/google.cloud.scheduler.v1.CloudScheduler/GetJob", "NOT_FOUND", false],
    ]);
  });

  it("a fault can let calls through first (skip) and let its call land before failing (after): a lost answer", async () => {
    await admin("POST", "/__control/faults", { match: MUTATING_CALLS, skip: 1, after: true, grpcCode: 13 });
    const job = (id: string) => ({ parent: "projects/p2/locations/us-central1", job: { name: `projects/p2/locations/us-central1/jobs/${id}`, schedule: "* * * * *", pubsubTarget: { topicName: "projects/p2/topics/t" } } });
    await clients.scheduler().getJob({ name: "projects/p2/locations/us-central1/jobs/none" }, opts).catch(() => undefined);
    await clients.scheduler().createJob(job("first"), opts);
    await expect(clients.scheduler().createJob(job("second"), opts)).rejects.toMatchObject({ code: 13 });
    // The second create failed for its caller, and yet it applied.
    expect(Object.keys(cp.state().schedulerJobs).filter((n) => n.startsWith("projects/p2/"))).toEqual(["projects/p2/locations/us-central1/jobs/first", "projects/p2/locations/us-central1/jobs/second"]);
    expect(cp.calls().filter(isMutating).map((c) => [c.method.split("/").pop(), c.status])).toEqual([["CreateJob", "OK"], ["CreateJob", "INTERNAL"]]);
    await admin("POST", "/__control/reset");
  });

  it("dumps state over HTTP with timestamps as {seconds, nanos}", async () => {
    await clients.scheduler().createJob({ parent: "projects/p1/locations/us-central1", job: { name: "projects/p1/locations/us-central1/jobs/j1", schedule: "* * * * *", pubsubTarget: { topicName: "projects/p1/topics/t" } } }, opts);
    const state = (await admin("GET", "/__control/state")) as { schedulerJobs: Record<string, { userUpdateTime: unknown }> };
    expect(state.schedulerJobs["projects/p1/locations/us-central1/jobs/j1"]!.userUpdateTime).toEqual({ seconds: String(NOW / 1000), nanos: 0 });
    const [job] = await clients.scheduler().getJob({ name: "projects/p1/locations/us-central1/jobs/j1" }, opts);
    expect(job.userUpdateTime).toEqual({ seconds: String(NOW / 1000), nanos: 0 });
    expect(job.state).toBe("ENABLED");
    await admin("POST", "/__control/reset");
    expect(cp.state().schedulerJobs).toEqual({});
  });

  it("serves uptime time series with injected outages, raw and as daily fractions", async () => {
    const name = await createCheck("prod hosting", 300);
    const checkId = name.split("/").pop()!;
    await admin("POST", "/__control/outages", { checkId, start: NOW - 3_600_000, end: NOW - 3_000_000 });
    const filter = `metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND metric.label.check_id="${checkId}"`;
    const interval = { startTime: { seconds: (NOW - 7_200_000) / 1000 }, endTime: { seconds: NOW / 1000 } };
    const [raw] = await clients.metrics().listTimeSeries({ name: "projects/lang-trak-prod", filter, interval, view: "FULL" }, opts);
    expect(raw).toHaveLength(1);
    const points = raw[0]!.points!;
    expect(points).toHaveLength(25); // every 5 minutes over 2 h, both ends included
    expect(points.filter((p) => p.value?.boolValue === false)).toHaveLength(2);
    expect(raw[0]!.metric?.labels).toMatchObject({ check_id: checkId });

    const [daily] = await clients.metrics().listTimeSeries(
      { name: "projects/lang-trak-prod", filter, interval: { startTime: { seconds: (NOW - 86_400_000) / 1000 }, endTime: interval.endTime }, aggregation: { alignmentPeriod: { seconds: 86_400 }, perSeriesAligner: "ALIGN_FRACTION_TRUE" }, view: "FULL" },
      opts,
    );
    expect(daily[0]!.points).toHaveLength(1);
    expect(daily[0]!.points![0]!.value?.doubleValue).toBeCloseTo(286 / 288, 6);
  });
});
