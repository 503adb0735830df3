/** The `http` executor: secret headers by name, retryable statuses, the abort signal. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createHttpExecutor } from "../../../functions/src/executors/http";
import type { ExecutionContext } from "../../../functions/src/executors/types";
import { errorOf } from "./harness";

let server: http.Server;
let base: string;
const seen: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.headers);
    const status = Number(new URL(req.url ?? "/", "http://x").searchParams.get("status") ?? 200);
    const delay = Number(new URL(req.url ?? "/", "http://x").searchParams.get("delay") ?? 0);
    const answer = setTimeout(() => {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(`answered ${status}`);
    }, delay);
    // A client that gave up takes its pending answer with it.
    req.on("close", () => {
      if (!res.writableEnded) clearTimeout(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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

describe("http executor", () => {
  it("sends headers resolved from secrets by name, never echoing the value", async () => {
    const executor = createHttpExecutor({ WEBHOOK_TOKEN: "Bearer s3cret" });
    const outcome = await executor.execute({ url: `${base}/hook`, headersFromSecrets: { Authorization: "WEBHOOK_TOKEN" }, body: { ok: true } }, ctx());
    expect(outcome.ok).toBe(true);
    const headers = seen.at(-1)!;
    expect(headers.authorization).toBe("Bearer s3cret");
    expect(headers["idempotency-key"]).toBe("p/notify/2");
    expect(headers["content-type"]).toBe("application/json");
    expect(JSON.stringify(outcome)).not.toContain("s3cret");
  });

  it("fails without calling when a secret is not set, naming the secret and not retrying", async () => {
    const before = seen.length;
    const error = errorOf(await createHttpExecutor({}).execute({ url: `${base}/hook`, headersFromSecrets: { Authorization: "WEBHOOK_TOKEN" } }, ctx()));
    expect(error).toMatchObject({ code: "missing_secret", retryable: false });
    expect(error.message).toContain("WEBHOOK_TOKEN");
    expect(seen.length).toBe(before);
  });

  it("rejects a secret reference that is not an environment-style name", async () => {
    const error = errorOf(await createHttpExecutor({}).execute({ url: `${base}/hook`, headersFromSecrets: { Authorization: "projects/x/secrets/y" } }, ctx()));
    expect(error).toMatchObject({ code: "invalid_params", retryable: false });
  });

  it.each([
    [500, true],
    [503, true],
    [429, true],
    [408, true],
    [404, false],
    [403, false],
  ])("marks HTTP %i retryable: %s", async (status, retryable) => {
    const error = errorOf(await createHttpExecutor({}).execute({ url: `${base}/hook?status=${status}` }, ctx()));
    expect(error).toMatchObject({ code: `http_${status}`, retryable });
  });

  it("an aborted request is a retryable timeout", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = errorOf(await createHttpExecutor({}).execute({ url: `${base}/hook?delay=8000`, method: "GET" }, ctx(controller.signal)));
    expect(error).toMatchObject({ code: "timeout", retryable: true });
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});
