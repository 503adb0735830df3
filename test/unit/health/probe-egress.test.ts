/** HTTP probes under the egress policy: refused targets open no socket, the probe endpoint is the deployment's, redirects are answers. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createEgressPolicy } from "../../../functions/src/egress/policy";
import type { CheckSpec } from "../../../functions/src/health/checks";
import { httpProbe } from "../../../functions/src/health/probes";
import { LoopbackAgent } from "../egress/loopback-agent";

let server: http.Server;
let base: string;
const paths: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    paths.push(req.url ?? "");
    if (req.url?.includes("moved")) {
      res.writeHead(302, { location: "http://169.254.169.254/computeMetadata/v1/" });
      res.end();
      return;
    }
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const spec = (url: string): Extract<CheckSpec, { kind: "http" }> => ({ id: "c", environmentId: "env", integration: "hosting", target: url, kind: "http", url, slowMs: 5_000 });
const noLookup = async (host: string): Promise<never> => {
  throw new Error(`unexpected lookup of ${host}`);
};

describe("httpProbe egress", () => {
  it.each(["http://169.254.169.254/computeMetadata/v1/", "http://metadata.google.internal/", "http://[::ffff:a9fe:a9fe]/", "http://10.0.0.5/health"])(
    "a probe of %s is an error without a socket",
    async (url) => {
      const agent = new LoopbackAgent();
      const outcome = await httpProbe(undefined, { policy: createEgressPolicy([]), agent, lookup: noLookup })(spec(url), new AbortController().signal);
      expect(outcome).toMatchObject({ status: "error", httpStatus: null });
      expect(outcome.message).toContain("is not allowed");
      expect(agent.connections).toHaveLength(0);
    },
  );

  it("probes loopback only when the policy allows it", async () => {
    const refused = new LoopbackAgent();
    expect(await httpProbe(undefined, { policy: createEgressPolicy([]), agent: refused })(spec(`${base}/`), new AbortController().signal)).toMatchObject({ status: "error" });
    expect(refused.connections).toHaveLength(0);
    const allowed = new LoopbackAgent();
    expect(await httpProbe(undefined, { policy: createEgressPolicy(["127.0.0.0/8"]), agent: allowed })(spec(`${base}/`), new AbortController().signal)).toMatchObject({
      status: "ok",
      httpStatus: 200,
    });
    expect(allowed.connections).toHaveLength(1);
  });

  it("checks the rewritten URL: the configured probe endpoint may be reached, the site's own host is never resolved", async () => {
    const agent = new LoopbackAgent();
    const outcome = await httpProbe(`${base}/__sites`, { policy: createEgressPolicy([]), agent, lookup: noLookup })(spec("https://prod.web.app/status?x=1"), new AbortController().signal);
    expect(outcome).toMatchObject({ status: "ok", httpStatus: 200 });
    expect(paths.at(-1)).toBe("/__sites/prod.web.app/status?x=1");
  });

  it("a link-local probe endpoint stays refused", async () => {
    const agent = new LoopbackAgent();
    const outcome = await httpProbe("http://169.254.169.254/__sites", { policy: createEgressPolicy([]), agent })(spec("https://prod.web.app/"), new AbortController().signal);
    expect(outcome).toMatchObject({ status: "error" });
    expect(agent.connections).toHaveLength(0);
  });

  it("does not follow redirects: a 3xx is an answer, and its target is never contacted", async () => {
    const agent = new LoopbackAgent();
    const outcome = await httpProbe(undefined, { policy: createEgressPolicy(["127.0.0.0/8"]), agent })(spec(`${base}/moved`), new AbortController().signal);
    expect(outcome).toMatchObject({ status: "ok", httpStatus: 302 });
    expect(agent.connections).toHaveLength(1);
  });

  it("a refused connection is down, with the error code", async () => {
    const spare = http.createServer();
    await new Promise<void>((resolve) => spare.listen(0, "127.0.0.1", resolve));
    const port = (spare.address() as AddressInfo).port;
    await new Promise((resolve) => spare.close(resolve));
    const outcome = await httpProbe(undefined, { policy: createEgressPolicy(["127.0.0.0/8"]), agent: new LoopbackAgent() })(spec(`http://127.0.0.1:${port}/`), new AbortController().signal);
    expect(outcome).toMatchObject({ status: "down", message: `http://127.0.0.1:${port}/: ECONNREFUSED` });
  });
});
