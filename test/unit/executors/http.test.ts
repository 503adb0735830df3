/**
 * The `http` executor: the egress policy, secret headers by name and bound to hosts, what output
 * and errors may contain, retryable statuses, the abort signal. Every request stays on 127.0.0.1:
 * hostnames resolve through an injected lookup, and the agent counts the sockets opened.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createEgressPolicy } from "../../../functions/src/egress/policy";
import type { LookupFunction } from "../../../functions/src/egress/request";
import { createHttpExecutor, type HttpExecutorOptions } from "../../../functions/src/executors/http";
import type { ExecutionContext } from "../../../functions/src/executors/types";
import { LoopbackAgent } from "../egress/loopback-agent";
import { errorOf } from "./harness";

let server: http.Server;
let base: string;
let port: number;
const seen: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.headers);
    const url = new URL(req.url ?? "/", "http://x");
    const status = Number(url.searchParams.get("status") ?? 200);
    const delay = Number(url.searchParams.get("delay") ?? 0);
    const to = url.searchParams.get("to");
    const answer = setTimeout(() => {
      if (to !== null) {
        res.writeHead(302, { location: to });
        res.end();
        return;
      }
      res.writeHead(status, { "content-type": "text/plain" });
      // Echoes the secret header, as a careless (or hostile) endpoint might.
      res.end(`answered ${status}; you sent ${req.headers.authorization ?? "nothing"}; ${"é".repeat(Number(url.searchParams.get("pad") ?? 0))}`);
    }, delay);
    // A client that gave up takes its pending answer with it.
    req.on("close", () => {
      if (!res.writableEnded) clearTimeout(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const ctx = (signal: AbortSignal = new AbortController().signal): ExecutionContext => ({
  planId: "p",
  taskId: "notify",
  attempt: 2,
  idempotencyKey: "p/notify/2",
  signal,
  deadline: Date.now() + 5_000,
});

interface Rig {
  executor: ReturnType<typeof createHttpExecutor>;
  agent: LoopbackAgent;
  lookup: jest.Mock<ReturnType<LookupFunction>, Parameters<LookupFunction>>;
}

function rig(options: Partial<HttpExecutorOptions> = {}): Rig {
  const agent = new LoopbackAgent();
  const lookup = jest.fn<ReturnType<LookupFunction>, Parameters<LookupFunction>>(async (host) => {
    if (host === "hooks.example.test" || host === "other.example.test") return [{ address: "127.0.0.1", family: 4 }];
    if (host === "internal.example.com") return [{ address: "10.0.0.5", family: 4 }];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
  });
  const executor = createHttpExecutor({
    env: { WEBHOOK_TOKEN: "Bearer s3cret" },
    policy: createEgressPolicy(["127.0.0.0/8"]),
    secretBindings: { WEBHOOK_TOKEN: ["127.0.0.1", "hooks.example.test"] },
    lookup,
    agent,
    ...options,
  });
  return { executor, agent, lookup };
}

describe("http executor", () => {
  it("sends headers resolved from secrets by name to a bound host; the output is only the status", async () => {
    const { executor } = rig();
    const outcome = await executor.execute({ url: `${base}/hook`, headersFromSecrets: { Authorization: "WEBHOOK_TOKEN" }, body: { ok: true } }, ctx());
    expect(outcome).toEqual({ ok: true, output: { status: 200 } });
    const headers = seen.at(-1)!;
    expect(headers.authorization).toBe("Bearer s3cret");
    expect(headers["idempotency-key"]).toBe("p/notify/2");
    expect(headers["content-type"]).toBe("application/json");
  });

  it("with captureBody, outputs the body with secret values redacted", async () => {
    const { executor } = rig();
    const outcome = await executor.execute({ url: `http://hooks.example.test:${port}/hook`, headersFromSecrets: { Authorization: "WEBHOOK_TOKEN" }, captureBody: true }, ctx());
    expect(outcome).toEqual({ ok: true, output: { status: 200, body: "answered 200; you sent [redacted:WEBHOOK_TOKEN]; " } });
    expect(JSON.stringify(outcome)).not.toContain("s3cret");
  });

  it("caps the captured body at maxBodyBytes without splitting a character", async () => {
    const { executor } = rig();
    const outcome = await executor.execute({ url: `${base}/hook?pad=5000`, captureBody: true, maxBodyBytes: 100 }, ctx());
    if (!outcome.ok) throw new Error(outcome.error.message);
    const body = (outcome.output as { body: string }).body;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(100);
    expect(body.startsWith("answered 200; you sent nothing; é")).toBe(true);
    expect(body).not.toContain("\uFFFD");
    const whole = await executor.execute({ url: `${base}/hook?pad=5000`, captureBody: true }, ctx());
    expect(Buffer.byteLength((whole as { output: { body: string } }).output.body)).toBeLessThanOrEqual(4_000);
  });

  it.each([0, 65_537, 1.5])("refuses maxBodyBytes %p", async (maxBodyBytes) => {
    const { executor, agent } = rig();
    expect(errorOf(await executor.execute({ url: `${base}/hook`, captureBody: true, maxBodyBytes }, ctx()))).toMatchObject({ code: "invalid_params", retryable: false });
    expect(agent.connections).toHaveLength(0);
  });

  it("fails without calling when a secret is not set, naming the secret and not retrying", async () => {
    const { executor, agent } = rig({ env: {} });
    const before = seen.length;
    const error = errorOf(await executor.execute({ url: `${base}/hook`, headersFromSecrets: { Authorization: "WEBHOOK_TOKEN" } }, ctx()));
    expect(error).toMatchObject({ code: "missing_secret", retryable: false });
    expect(error.message).toContain("WEBHOOK_TOKEN");
    expect(seen.length).toBe(before);
    expect(agent.connections).toHaveLength(0);
  });

  it("refuses a secret that is not bound, or not bound to the URL's host, before connecting", async () => {
    const unbound = rig({ secretBindings: {} });
    const error = errorOf(await unbound.executor.execute({ url: `${base}/hook`, headersFromSecrets: { Authorization: "WEBHOOK_TOKEN" } }, ctx()));
    expect(error).toMatchObject({ code: "secret_not_allowed", retryable: false });
    expect(error.message).toContain("WEBHOOK_TOKEN is not bound");

    const elsewhere = rig();
    const wrong = errorOf(await elsewhere.executor.execute({ url: `http://other.example.test:${port}/hook`, headersFromSecrets: { Authorization: "WEBHOOK_TOKEN" } }, ctx()));
    expect(wrong).toMatchObject({ code: "secret_not_allowed", retryable: false });
    expect(wrong.message).toContain("may only be sent to 127.0.0.1, hooks.example.test, not to other.example.test");
    expect(JSON.stringify([error, wrong])).not.toContain("s3cret");
    expect([...unbound.agent.connections, ...elsewhere.agent.connections]).toHaveLength(0);
    expect(elsewhere.lookup).not.toHaveBeenCalled();
  });

  it("refuses a redirect that would carry a secret to another host", async () => {
    const { executor, agent } = rig();
    const to = encodeURIComponent(`http://other.example.test:${port}/steal`);
    const error = errorOf(await executor.execute({ url: `${base}/hook?to=${to}`, headersFromSecrets: { Authorization: "WEBHOOK_TOKEN" } }, ctx()));
    expect(error).toMatchObject({ code: "egress_refused", retryable: false });
    expect(error.message).toContain("redirect to other.example.test would carry secret WEBHOOK_TOKEN");
    expect(error.message).not.toContain("s3cret");
    expect(agent.connections).toHaveLength(1);
  });

  it("rejects a secret reference that is not an environment-style name", async () => {
    const error = errorOf(await rig().executor.execute({ url: `${base}/hook`, headersFromSecrets: { Authorization: "projects/x/secrets/y" } }, ctx()));
    expect(error).toMatchObject({ code: "invalid_params", retryable: false });
  });

  it.each([
    "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token",
    "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token",
    "http://[::ffff:a9fe:a9fe]/computeMetadata/v1/",
    "http://0xa9fea9fe/computeMetadata/v1/",
    "http://10.0.0.5/",
    "http://internal.example.com/",
  ])("refuses %s at once, not retryable, without a socket", async (url) => {
    const { executor, agent } = rig();
    const error = errorOf(await executor.execute({ url, method: "GET", headers: { "Metadata-Flavor": "Google" } }, ctx()));
    expect(error).toMatchObject({ code: "egress_refused", retryable: false });
    expect(error.message).toMatch(/^GET http:\/\/\S+: egress to .* is not allowed/);
    expect(agent.connections).toHaveLength(0);
  });

  it("refuses loopback when the deployment does not allow it", async () => {
    const { executor, agent } = rig({ policy: createEgressPolicy([]) });
    const error = errorOf(await executor.execute({ url: `${base}/hook` }, ctx()));
    expect(error).toMatchObject({ code: "egress_refused", retryable: false });
    expect(error.message).toContain("ORCHESTRATOR_EGRESS_ALLOW");
    expect(agent.connections).toHaveLength(0);
  });

  it.each([
    [500, true],
    [503, true],
    [429, true],
    [408, true],
    [404, false],
    [403, false],
  ])("marks HTTP %i retryable: %s", async (status, retryable) => {
    const error = errorOf(await rig().executor.execute({ url: `${base}/hook?status=${status}` }, ctx()));
    expect(error).toMatchObject({ code: `http_${status}`, retryable });
  });

  it("error messages carry method, URL without query string and status: no body, no secret", async () => {
    const { executor } = rig({ env: { WEBHOOK_TOKEN: "tok-123" } });
    const error = errorOf(
      await executor.execute({ url: `${base}/hook/tok-123?status=500&apiKey=k3y`, method: "PUT", headersFromSecrets: { Authorization: "WEBHOOK_TOKEN" } }, ctx()),
    );
    expect(error.message).toBe(`PUT ${base}/hook/[redacted:WEBHOOK_TOKEN] answered 500`);
    expect(seen.at(-1)!.authorization).toBe("tok-123");
  });

  it("an aborted request is a retryable timeout", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = errorOf(await rig().executor.execute({ url: `${base}/hook?delay=8000`, method: "GET" }, ctx(controller.signal)));
    expect(error).toMatchObject({ code: "timeout", retryable: true });
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it("a network failure is retryable", async () => {
    const error = errorOf(await rig().executor.execute({ url: "http://nowhere.example.test/hook" }, ctx()));
    expect(error).toMatchObject({ code: "network", retryable: true });
    expect(error.message).toContain("ENOTFOUND");
  });

  it("an invalid egress configuration fails every call, not retryable", async () => {
    const previous = process.env.ORCHESTRATOR_EGRESS_ALLOW;
    jest.resetModules();
    process.env.ORCHESTRATOR_EGRESS_ALLOW = "10.0.0.0/99";
    try {
      const fresh = await import("../../../functions/src/executors/http");
      const executor = fresh.createHttpExecutor({ secretBindings: {}, agent: new LoopbackAgent() });
      const error = errorOf(await executor.execute({ url: `${base}/hook` }, ctx()));
      expect(error).toMatchObject({ code: "egress_config", retryable: false });
      expect(error.message).toContain("ORCHESTRATOR_EGRESS_ALLOW");
    } finally {
      if (previous === undefined) delete process.env.ORCHESTRATOR_EGRESS_ALLOW;
      else process.env.ORCHESTRATOR_EGRESS_ALLOW = previous;
    }
  });
});
