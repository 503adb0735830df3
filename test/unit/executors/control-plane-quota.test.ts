/**
 * The local control plane's rate quotas (local/control-plane/quota.ts): past `limit` calls per
 * window and project, calls are refused before they apply, answered RESOURCE_EXHAUSTED with a
 * RetryInfo (gRPC) or HTTP 429 with Retry-After (REST), and logged as quota refusals.
 */
import { refusedByQuota, startControlPlane, type ControlPlane } from "../../../local/control-plane";
import { createGoogleClients, googleClientConfigFromEnv, type GoogleClients } from "../../../functions/src/clients/google";
import { retryDelayOf } from "../../../functions/src/clients/rate-budget";

const RULES = "firebaserules.googleapis.com";
let cp: ControlPlane;
let clients: GoogleClients;
const opts = { timeout: 5_000 };

beforeAll(async () => {
  cp = await startControlPlane({ quotas: [{ api: RULES, limit: 3, windowMs: 400 }] });
  clients = createGoogleClients(googleClientConfigFromEnv(cp.env));
});
afterAll(async () => {
  await cp.stop();
  await clients.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
});
beforeEach(() => cp.reset());

const rest = (method: string, path: string, body?: unknown) =>
  fetch(`${cp.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
const ruleset = { source: { files: [{ name: "firestore.rules", content: "rules_version = '2';" }] } };

describe("control plane quotas", () => {
  it("answers 429 with Retry-After and a RetryInfo past the limit, per project, without applying the call", async () => {
    for (let i = 0; i < 3; i++) expect((await rest("POST", "/v1/projects/p1/rulesets", ruleset)).status).toBe(200);
    const refused = await rest("POST", "/v1/projects/p1/rulesets", ruleset);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { error: { status: string; details: Array<{ "@type": string; retryDelay: string }> } };
    expect(body.error.status).toBe("RESOURCE_EXHAUSTED");
    expect(body.error.details[0]).toMatchObject({ "@type": "type.googleapis.com/google.rpc.RetryInfo" });
    expect(Object.keys(cp.state().rulesets)).toHaveLength(3);
    // Another project has its own window; another API is not limited.
    expect((await rest("GET", "/v1/projects/p2/rulesets")).status).toBe(200);
    expect((await rest("GET", "/admin/v2/projects/p1/config")).status).toBe(200);
    const log = cp.calls();
    expect(log.filter(refusedByQuota).map((c) => [c.method, c.status, c.httpStatus])).toEqual([["POST /v1/projects/p1/rulesets", "RESOURCE_EXHAUSTED", 429]]);
    // The window slides: room again once the first calls leave it.
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await rest("GET", "/v1/projects/p1/rulesets")).status).toBe(200);
  });

  it("the REST client reads the delay the server asked for", async () => {
    for (let i = 0; i < 3; i++) await rest("GET", "/v1/projects/p1/releases");
    const limits = { signal: new AbortController().signal, deadline: Date.now() + 5_000 };
    const error = await clients.rest.request({ service: "firebaserules", method: "GET", path: "/v1/projects/p1/releases" }, limits).catch((e: unknown) => e);
    expect(error).toMatchObject({ httpStatus: 429 });
    expect(retryDelayOf(error)).toBeGreaterThan(0);
    expect(retryDelayOf(error)).toBeLessThanOrEqual(400);
  });

  it("refuses gRPC calls with RESOURCE_EXHAUSTED and a RetryInfo detail the official client decodes", async () => {
    cp.addQuota({ api: "cloudscheduler.googleapis.com", match: "GetJob", limit: 1, windowMs: 2_000 });
    const name = "projects/p1/locations/us-central1/jobs/j";
    await expect(clients.scheduler().getJob({ name }, opts)).rejects.toMatchObject({ code: 5 });
    const error = await clients.scheduler().getJob({ name }, opts).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 8 });
    expect(retryDelayOf(error)).toBeGreaterThan(1_000);
    // ListJobs is not matched: it goes through.
    await expect(clients.scheduler().listJobs({ parent: "projects/p1/locations/us-central1" }, opts)).resolves.toBeDefined();
    expect(cp.calls().filter(refusedByQuota).map((c) => c.method)).toEqual(["/google.cloud.scheduler.v1.CloudScheduler/GetJob"]);
  });

  it("is set and cleared over the control endpoint, and reset() returns to the quotas given at start", async () => {
    const added = await rest("POST", "/__control/quotas", { quotas: [{ api: "identitytoolkit.googleapis.com", limit: 0 }] });
    expect(((await added.json()) as { quotas: unknown[] }).quotas).toHaveLength(2);
    expect((await rest("GET", "/admin/v2/projects/p1/config")).status).toBe(429);
    expect((await rest("POST", "/__control/quotas", { limit: -1 })).status).toBe(400);
    const listed = (await (await rest("GET", "/__control/quotas")).json()) as { quotas: Array<{ api: string; refused: number }> };
    expect(listed.quotas.map((q) => [q.api, q.refused])).toEqual([
      [RULES, 0],
      ["identitytoolkit.googleapis.com", 1],
    ]);
    cp.reset();
    expect(cp.quotas().map((q) => q.api)).toEqual([RULES]);
    expect((await rest("DELETE", "/__control/quotas")).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await rest("GET", "/v1/projects/p1/rulesets")).status).toBe(200);
  });
});
