/**
 * The guarded request: refusals open no socket, DNS answers are checked and pinned, redirects are
 * followed hop by hop under the policy, secrets stay with their hosts, caps and aborts hold.
 *
 * Nothing here leaves loopback: hostnames resolve through an injected lookup (to 127.0.0.1 or to
 * addresses that are refused before any connection), and the agent (loopback-agent.ts) refuses to
 * connect anywhere but loopback, so a regression fails instead of reaching out.
 */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { createEgressPolicy } from "../../../functions/src/egress/policy";
import { egressRequest, EgressRefusedError, type EgressDeps, type LookupFunction } from "../../../functions/src/egress/request";
import { LoopbackAgent } from "./loopback-agent";

let server: http.Server;
let port: number;
const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() });
      const to = url.searchParams.get("to");
      if (url.pathname === "/redirect" && to !== null) {
        res.writeHead(Number(url.searchParams.get("status") ?? 302), { location: to });
        res.end("moved");
      } else if (url.pathname.startsWith("/chain/")) {
        const left = Number(url.pathname.slice("/chain/".length));
        if (left === 0) res.end("end of chain");
        else {
          res.writeHead(302, { location: `/chain/${left - 1}` });
          res.end();
        }
      } else if (url.pathname === "/big") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("x".repeat(100_000));
      } else if (url.pathname === "/slow") {
        const timer = setTimeout(() => res.end("late"), 5_000);
        req.on("close", () => clearTimeout(timer));
        res.on("close", () => clearTimeout(timer));
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Hostnames the tests use; anything else is "not found" (never real DNS). */
const ZONE: Record<string, Array<{ address: string; family: number }>> = {
  "hooks.example.test": [{ address: "127.0.0.1", family: 4 }],
  "other.example.test": [{ address: "127.0.0.1", family: 4 }],
  "internal.example.com": [{ address: "10.0.0.5", family: 4 }],
  "mixed.example.com": [
    { address: "93.184.216.34", family: 4 },
    { address: "10.0.0.5", family: 4 },
  ],
  "mapped.example.com": [{ address: "::ffff:169.254.169.254", family: 6 }],
  "rebind.example.com": [{ address: "169.254.169.254", family: 4 }],
};

interface Rig {
  deps: EgressDeps;
  agent: LoopbackAgent;
  lookup: jest.Mock<ReturnType<LookupFunction>, Parameters<LookupFunction>>;
}

function rig(allow: string[] = ["127.0.0.0/8"]): Rig {
  const agent = new LoopbackAgent();
  const lookup = jest.fn<ReturnType<LookupFunction>, Parameters<LookupFunction>>(async (host) => {
    const answers = ZONE[host];
    if (answers === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return answers;
  });
  return { agent, lookup, deps: { policy: createEgressPolicy(allow), lookup, agent } };
}

const local = (path: string, host = "127.0.0.1") => `http://${host}:${port}${path}`;

async function refusal(promise: Promise<unknown>): Promise<EgressRefusedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EgressRefusedError);
  return error as EgressRefusedError;
}

describe("egressRequest refusals open no socket", () => {
  it.each([
    "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token",
    "http://2852039166/computeMetadata/v1/",
    "http://0251.0376.0251.0376/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://0xa9fea9fe/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1]/",
    "http://169.254.1.1/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata.google.internal./computeMetadata/v1/",
    "http://metadata/computeMetadata/v1/",
    "http://10.0.0.5/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[fc00::1]/",
    "ftp://127.0.0.1/",
    "http://user:pass@127.0.0.1/",
  ])("%s", async (url) => {
    const r = rig();
    const error = await refusal(egressRequest(url, { headers: { "Metadata-Flavor": "Google" } }, r.deps));
    expect(error).toMatchObject({ code: "egress_refused", retryable: false });
    expect(r.agent.connections).toHaveLength(0);
    expect(r.lookup).not.toHaveBeenCalled();
  });

  it("refuses metadata and link-local addresses even when the allow-list names them", async () => {
    const r = rig(["169.254.0.0/16", "0.0.0.0/0", "::/0", "metadata.google.internal"]);
    await refusal(egressRequest("http://169.254.169.254/", {}, r.deps));
    await refusal(egressRequest("http://metadata.google.internal/", {}, r.deps));
    await refusal(egressRequest("http://[fe80::1]/", {}, r.deps));
    expect(r.agent.connections).toHaveLength(0);
  });

  it("refuses a hostname whose DNS answer is private, naming both, without connecting", async () => {
    const r = rig();
    const error = await refusal(egressRequest("http://internal.example.com/", {}, r.deps));
    expect(error.message).toBe("egress to 10.0.0.5 (resolved from internal.example.com) is not allowed (private): add it to ORCHESTRATOR_EGRESS_ALLOW to allow it");
    expect(error.reason).toBe("private");
    expect(r.lookup).toHaveBeenCalledWith("internal.example.com");
    expect(r.agent.connections).toHaveLength(0);
  });

  it("refuses a mixed answer (one public, one private) without connecting to either", async () => {
    const r = rig();
    await refusal(egressRequest("http://mixed.example.com/", {}, r.deps));
    expect(r.agent.connections).toHaveLength(0);
  });

  it.each(["rebind.example.com", "mapped.example.com"])("refuses %s, which resolves to the metadata server", async (host) => {
    const r = rig(["*.example.com"]);
    const error = await refusal(egressRequest(`http://${host}/`, {}, r.deps));
    expect(error.reason).toBe("metadata");
    expect(r.agent.connections).toHaveLength(0);
  });

  it("a hostname entry allows that host's private answer", async () => {
    const r = rig(["internal.example.com"]);
    // Allowed, so it tries to connect: the counting agent sees the pinned private address and the test stops it there.
    const stop = new Error("stopped before connecting");
    r.agent.createConnection = (options, callback) => {
      r.agent.connections.push(options);
      callback?.(stop, undefined as unknown as Duplex);
      return undefined;
    };
    await expect(egressRequest("http://internal.example.com/", {}, r.deps)).rejects.toBe(stop);
    expect(r.agent.connections).toHaveLength(1);
    const answer = await new Promise<unknown>((resolve) => r.agent.connections[0]!.lookup!("internal.example.com", { all: true }, (_e, a) => resolve(a)));
    expect(answer).toEqual([{ address: "10.0.0.5", family: 4 }]);
  });
});

describe("egressRequest against a local server", () => {
  it("connects to the checked address, with the hostname as Host header", async () => {
    const r = rig();
    const response = await egressRequest(local("/echo", "hooks.example.test"), { method: "GET" }, r.deps);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString())).toMatchObject({ method: "GET", headers: { host: `hooks.example.test:${port}` } });
    expect(r.lookup).toHaveBeenCalledTimes(1);
    expect(r.agent.connections).toHaveLength(1);
    // The socket resolves through the pinned lookup only: the checked answer, whatever DNS says by then.
    r.lookup.mockResolvedValue([{ address: "10.0.0.5", family: 4 }]);
    const pinned = await new Promise<unknown>((resolve) => r.agent.connections[0]!.lookup!("hooks.example.test", { all: true }, (_e, a) => resolve(a)));
    expect(pinned).toEqual([{ address: "127.0.0.1", family: 4 }]);
  });

  it("refuses loopback unless the policy allows it", async () => {
    const r = rig([]);
    await refusal(egressRequest(local("/echo"), {}, r.deps));
    await refusal(egressRequest(local("/echo", "hooks.example.test"), {}, r.deps));
    expect(r.agent.connections).toHaveLength(0);
  });

  it("refuses a redirect to the metadata server at the second hop, after exactly one connection", async () => {
    const r = rig();
    const before = seen.length;
    const error = await refusal(egressRequest(local(`/redirect?to=${encodeURIComponent("http://169.254.169.254/computeMetadata/v1/")}`), {}, r.deps));
    expect(error.message).toContain("169.254.169.254");
    expect(r.agent.connections).toHaveLength(1);
    expect(seen.length - before).toBe(1);
  });

  it("refuses a redirect to a hostname with a private answer", async () => {
    const r = rig();
    await refusal(egressRequest(local(`/redirect?to=${encodeURIComponent("http://internal.example.com/")}`), {}, r.deps));
    expect(r.agent.connections).toHaveLength(1);
  });

  it("follows up to 5 redirects and refuses the 6th", async () => {
    const r = rig();
    const ok = await egressRequest(local("/chain/5"), {}, r.deps);
    expect(ok).toMatchObject({ status: 200, redirects: 5 });
    expect(ok.body.toString()).toBe("end of chain");
    expect(r.agent.connections).toHaveLength(6);

    const again = rig();
    const error = await refusal(egressRequest(local("/chain/6"), {}, again.deps));
    expect(error.reason).toBe("too_many_redirects");
    expect(again.agent.connections).toHaveLength(6);
  });

  it("returns the 3xx itself with redirect: manual", async () => {
    const r = rig();
    const response = await egressRequest(local(`/redirect?to=${encodeURIComponent("http://169.254.169.254/")}`), { redirect: "manual" }, r.deps);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe("http://169.254.169.254/");
    expect(r.agent.connections).toHaveLength(1);
  });

  it("303 continues as a GET without body or body headers", async () => {
    const r = rig();
    const response = await egressRequest(
      local(`/redirect?status=303&to=/echo`),
      { method: "POST", body: '{"a":1}', headers: { "Content-Type": "application/json", "X-Keep": "yes" } },
      r.deps,
    );
    const echoed = JSON.parse(response.body.toString()) as { method: string; headers: http.IncomingHttpHeaders; body: string };
    expect(echoed.method).toBe("GET");
    expect(echoed.body).toBe("");
    expect(echoed.headers["content-type"]).toBeUndefined();
    expect(echoed.headers["x-keep"]).toBe("yes");
  });

  it.each([
    [301, "GET"],
    [302, "GET"],
    [307, "POST"],
    [308, "POST"],
  ])("a POST redirected with %i continues as %s", async (status, method) => {
    const r = rig();
    const response = await egressRequest(local(`/redirect?status=${status}&to=/echo`), { method: "POST", body: "payload" }, r.deps);
    const echoed = JSON.parse(response.body.toString()) as { method: string; body: string };
    expect(echoed.method).toBe(method);
    expect(echoed.body).toBe(method === "POST" ? "payload" : "");
  });

  it("drops a caller's Host header: the URL decides the virtual host", async () => {
    const r = rig();
    const response = await egressRequest(local("/echo"), { headers: { host: "internal.example.com" } }, r.deps);
    expect(JSON.parse(response.body.toString())).toMatchObject({ headers: { host: `127.0.0.1:${port}` } });
  });

  it("caps the body it reads", async () => {
    const r = rig();
    const response = await egressRequest(local("/big"), { maxBodyBytes: 1_000 }, r.deps);
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(1_000);
    expect(response.truncated).toBe(true);
    const whole = await egressRequest(local("/big"), { maxBodyBytes: 200_000 }, rig().deps);
    expect(whole).toMatchObject({ truncated: false });
    expect(whole.body.length).toBe(100_000);
  });

  it("honours the abort signal while waiting for the answer", async () => {
    const r = rig();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    await expect(egressRequest(local("/slow"), { signal: controller.signal }, r.deps)).rejects.toMatchObject({ name: "AbortError" });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("honours the abort signal while resolving, and an already aborted signal connects nothing", async () => {
    const r = rig();
    r.lookup.mockImplementation(() => new Promise(() => undefined));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    await expect(egressRequest("http://hooks.example.test/", { signal: controller.signal }, r.deps)).rejects.toMatchObject({ name: "AbortError" });
    await expect(egressRequest(local("/echo"), { signal: AbortSignal.abort() }, r.deps)).rejects.toMatchObject({ name: "AbortError" });
    expect(r.agent.connections).toHaveLength(0);
  });

  it("passes network errors on with their code", async () => {
    const r = rig();
    await expect(egressRequest("http://nowhere.example.test/", {}, r.deps)).rejects.toMatchObject({ code: "ENOTFOUND" });
    // A port nothing listens on (the server's, after a throwaway server frees it).
    const spare = http.createServer();
    await new Promise<void>((resolve) => spare.listen(0, "127.0.0.1", resolve));
    const closedPort = (spare.address() as AddressInfo).port;
    await new Promise((resolve) => spare.close(resolve));
    await expect(egressRequest(`http://127.0.0.1:${closedPort}/`, {}, r.deps)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});

describe("egressRequest secret headers", () => {
  const secret = { header: "Authorization", secret: "HOOK_TOKEN", value: "Bearer s3cret", allowedHosts: ["hooks.example.test"] };

  it("sends a secret to a host it is bound to", async () => {
    const r = rig();
    const response = await egressRequest(local("/echo", "hooks.example.test"), { secretHeaders: [secret] }, r.deps);
    expect(JSON.parse(response.body.toString())).toMatchObject({ headers: { authorization: "Bearer s3cret" } });
  });

  it("keeps it across a redirect on the same host", async () => {
    const r = rig();
    const response = await egressRequest(local("/redirect?to=/echo", "hooks.example.test"), { secretHeaders: [secret] }, r.deps);
    expect(JSON.parse(response.body.toString())).toMatchObject({ headers: { authorization: "Bearer s3cret" } });
  });

  it("refuses a redirect to another host while the secret is attached, never naming its value", async () => {
    const r = rig();
    const before = seen.length;
    const to = encodeURIComponent(local("/echo", "other.example.test"));
    const error = await refusal(egressRequest(local(`/redirect?to=${to}`, "hooks.example.test"), { secretHeaders: [secret] }, r.deps));
    expect(error.message).toBe("redirect to other.example.test would carry secret HOOK_TOKEN, which may only be sent to hooks.example.test");
    expect(error.message).not.toContain("s3cret");
    expect(seen.length - before).toBe(1);
    expect(r.agent.connections).toHaveLength(1);
  });

  it("refuses a first hop to a host the secret is not bound to, without connecting", async () => {
    const r = rig();
    const error = await refusal(egressRequest(local("/echo", "other.example.test"), { secretHeaders: [secret] }, r.deps));
    expect(error.message).toContain("would carry secret HOOK_TOKEN");
    expect(r.agent.connections).toHaveLength(0);
    expect(r.lookup).not.toHaveBeenCalled();
  });

  it("matches wildcard bindings", async () => {
    const r = rig();
    const response = await egressRequest(local("/echo", "other.example.test"), { secretHeaders: [{ ...secret, allowedHosts: ["*.example.test"] }] }, r.deps);
    expect(JSON.parse(response.body.toString())).toMatchObject({ headers: { authorization: "Bearer s3cret" } });
  });
});

describe("egressRequest over https", () => {
  it("keeps the hostname as TLS server name while connecting to the checked address", async () => {
    const connections: https.RequestOptions[] = [];
    const stop = new Error("stopped before connecting");
    const httpsAgent = new https.Agent({ keepAlive: false });
    httpsAgent.createConnection = (options: https.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void) => {
      connections.push(options);
      callback?.(stop, undefined as unknown as Duplex);
      return undefined;
    };
    const r = rig();
    await expect(egressRequest("https://hooks.example.test/path?q=1", {}, { ...r.deps, httpsAgent })).rejects.toBe(stop);
    expect(connections).toHaveLength(1);
    expect(connections[0]).toMatchObject({ servername: "hooks.example.test", port: 443 });
    const pinned = await new Promise<unknown>((resolve) => connections[0]!.lookup!("hooks.example.test", { all: false }, (_e, address, family) => resolve({ address, family })));
    expect(pinned).toEqual({ address: "127.0.0.1", family: 4 });
    expect(r.agent.connections).toHaveLength(0);
  });
});
