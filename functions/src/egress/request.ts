/**
 * An HTTP(S) request that only connects where the egress policy (egress/policy.ts) allows: the one
 * way http tasks and health probes reach URLs that plans name.
 *
 * Each hop: check the URL (scheme, credentials, metadata hostnames, IP literals), resolve the
 * hostname with the injected lookup, refuse if ANY answer is refused, then connect to exactly the
 * checked addresses (the socket's `lookup` is pinned to them, so a second DNS answer cannot slip
 * in between check and connect). The hostname stays the TLS server name and the Host header.
 *
 * Redirects are followed here (at most 5, each hop checked again), never by the HTTP stack. A
 * secret header travels only to hosts its binding names; a hop to any other host while one is
 * attached is refused rather than silently dropping the header.
 */
import { promises as dns } from "node:dns";
import http from "node:http";
import https from "node:https";
import net, { type LookupFunction as NetLookupFunction } from "node:net";
import { abortable } from "../runtime/abortable";
import { checkAddress, checkUrl, formatIp, hostMatches, parseIp, type EgressPolicy, type IpAddress, type RefusalReason, type UrlCheck } from "./policy";

/** Resolves a hostname to every address it has (what the default `dns.promises.lookup(host, {all: true})` returns). */
export type LookupFunction = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

export const defaultLookup: LookupFunction = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

export interface EgressDeps {
  policy: EgressPolicy;
  lookup?: LookupFunction;
  /**
   * The agent of http: hops (tests spy on its `createConnection`). By default none: each hop opens
   * its own connection (`Connection: close`), as a non-keep-alive agent would, without its pool
   * bookkeeping, which cost a health run of 500 probes more CPU than the policy checks.
   */
  agent?: http.Agent;
  /** The agent of https: hops. */
  httpsAgent?: https.Agent;
}

/** A header whose value is a secret: sent only to hosts in `allowedHosts` (exact, or `*.suffix`). */
export interface SecretHeader {
  header: string;
  /** The secret's name, for messages (the value never appears in one). */
  secret: string;
  value: string;
  allowedHosts: readonly string[];
}

export interface EgressRequestOptions {
  method?: string;
  headers?: Readonly<Record<string, string>>;
  body?: string | Buffer;
  signal?: AbortSignal;
  /** Bytes of the body kept; the rest is not read (the connection is closed). Default 64 KiB. */
  maxBodyBytes?: number;
  secretHeaders?: readonly SecretHeader[];
  /** `follow` (default): follow redirects, each hop checked; `manual`: return the 3xx answer. */
  redirect?: "follow" | "manual";
  /** Default 5. */
  maxRedirects?: number;
}

export interface EgressResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** At most `maxBodyBytes`. */
  body: Buffer;
  /** Whether the body was longer than `maxBodyBytes`. */
  truncated: boolean;
  /** The URL that answered (after redirects). */
  url: string;
  redirects: number;
}

/** A request the policy refuses: never retryable, and no socket was opened for the refused hop. */
export class EgressRefusedError extends Error {
  readonly code = "egress_refused";
  readonly retryable = false;
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
    this.name = "EgressRefusedError";
  }
}

/** A request that could not be made as given (e.g. an invalid header value): retrying does not help. */
export class EgressInvalidRequestError extends Error {
  readonly code = "invalid_request";
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = "EgressInvalidRequestError";
  }
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Headers that describe the body: dropped with it when a redirect turns the request into a GET. */
const BODY_HEADERS: ReadonlySet<string> = new Set(["content-type", "content-length", "content-encoding", "content-language", "content-location"]);

/** https: keeps an agent for its TLS session cache (a resumed handshake is far cheaper than a full one). */
const defaultHttpsAgent = new https.Agent({ keepAlive: false });

/** A connection of its own for a plain-http hop without an agent (the request's options carry the pinned lookup and `noDelay`). */
const connectAlone = (options: http.ClientRequestArgs): net.Socket => net.createConnection(options as net.TcpNetConnectOpts);

function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const error = new Error("request aborted");
  error.name = "AbortError";
  return error;
}


interface Checked {
  url: URL;
  hostname: string;
  addresses: IpAddress[];
  /** Whether the host is an IP literal (no TLS server name then). */
  literal: boolean;
}

type AllowedUrl = Extract<UrlCheck, { allowed: true }>;

/** The URL's policy check, or a refusal (thrown) before any connection. */
function allowedUrl(policy: EgressPolicy, url: string | URL): AllowedUrl {
  const check = checkUrl(policy, url);
  if (!check.allowed) throw new EgressRefusedError(check.reason, check.message);
  return check;
}

/** The hop's checked addresses (an IP literal's own, checked with its URL), or a refusal (thrown) before any connection. */
async function checkHop(check: AllowedUrl, deps: EgressDeps, signal: AbortSignal | undefined): Promise<Checked> {
  const url = check.url;
  if (check.ip !== null) return { url, hostname: check.hostname, addresses: [check.ip], literal: true };
  const answers = await abortable((deps.lookup ?? defaultLookup)(check.hostname), signal, () => abortError(signal!));
  if (answers.length === 0) {
    throw Object.assign(new Error(`${check.hostname} has no addresses`), { code: "ENOTFOUND" });
  }
  const addresses: IpAddress[] = [];
  // One refused answer refuses the host: connecting to "the allowed one" would leave the choice to the resolver.
  for (const answer of answers) {
    const ip = parseIp(answer.address);
    const verdict = checkAddress(deps.policy, ip ?? answer.address, check.hostname);
    if (!verdict.allowed) throw new EgressRefusedError(verdict.reason, verdict.message);
    addresses.push(ip!);
  }
  return { url, hostname: check.hostname, addresses, literal: false };
}

/** A socket lookup that answers only with the checked addresses, whatever DNS says now. */
function pinnedLookup(addresses: readonly IpAddress[]): NetLookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === "IPv4" ? 4 : options.family === "IPv6" ? 6 : options.family;
    const candidates = addresses.filter((a) => family === undefined || family === 0 || a.version === family).map((a) => ({ address: formatIp(a), family: a.version }));
    if (candidates.length === 0) {
      callback(Object.assign(new Error(`no checked address of ${hostname} for family ${String(family)}`), { code: "ENOTFOUND" }), "", 0);
    } else if (options.all === true) {
      callback(null, candidates);
    } else {
      callback(null, candidates[0]!.address, candidates[0]!.family);
    }
  };
}

interface HopAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  truncated: boolean;
}

/** One request to checked addresses; reads at most `maxBodyBytes` of the answer (none for a redirect that will be followed). */
function send(
  hop: Checked,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  deps: EgressDeps,
  signal: AbortSignal | undefined,
  maxBodyBytes: number,
  readBody: (status: number, location: string | undefined) => boolean,
): Promise<HopAnswer> {
  return new Promise<HopAnswer>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const secure = hop.url.protocol === "https:";
    const agent = secure ? (deps.httpsAgent ?? defaultHttpsAgent) : deps.agent;
    let req: http.ClientRequest;
    const finish = (error: Error | null, answer?: HopAnswer) => {
      signal?.removeEventListener("abort", onAbort);
      if (error !== null) reject(error);
      else resolve(answer!);
    };
    const onAbort = () => {
      const error = abortError(signal!);
      req.destroy(error);
      finish(error);
    };
    try {
      // Last, so they replace a caller's own: a Host header could point an allowed address at another virtual host.
      // (Assigned rather than spread into a literal with more fields: V8 builds those far slower, per request.)
      const sent: Record<string, string> = { ...headers };
      sent.Host = hop.url.host;
      if (body !== undefined) sent["Content-Length"] = String(body.length);
      const options: https.RequestOptions & { noDelay?: boolean } = {
        protocol: hop.url.protocol,
        hostname: hop.hostname,
        port: hop.url.port === "" ? undefined : Number(hop.url.port),
        path: `${hop.url.pathname}${hop.url.search}`,
        method,
        headers: sent,
        lookup: pinnedLookup(hop.addresses),
      };
      if (agent !== undefined) options.agent = agent;
      else {
        // No agent (plain http by default): node's client then sends `Connection: close` and connects
        // through this; `noDelay` as an agent would set it, so a body written after its headers is not held back (Nagle).
        options.createConnection = connectAlone;
        options.noDelay = true;
      }
      if (secure && !hop.literal) options.servername = hop.hostname;
      req = (secure ? https : http).request(options);
    } catch (error) {
      reject(new EgressInvalidRequestError(`the request is invalid: ${(error as Error).message}`));
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (error) => finish(error));
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (!readBody(status, res.headers.location)) {
        res.destroy();
        finish(null, { status, headers: res.headers, body: Buffer.alloc(0), truncated: false });
        return;
      }
      const chunks: Buffer[] = [];
      let kept = 0;
      let done = false;
      const complete = (truncated: boolean) => {
        if (done) return;
        done = true;
        finish(null, { status, headers: res.headers, body: Buffer.concat(chunks), truncated });
      };
      res.on("data", (chunk: Buffer) => {
        if (done) return;
        const room = maxBodyBytes - kept;
        if (chunk.length > room) {
          if (room > 0) chunks.push(chunk.subarray(0, room));
          kept = maxBodyBytes;
          // The rest is not read: closing the connection is cheaper than draining an unbounded body.
          res.destroy();
          complete(true);
          return;
        }
        chunks.push(chunk);
        kept += chunk.length;
      });
      res.on("end", () => complete(false));
      res.on("error", (error) => {
        if (!done) {
          done = true;
          finish(error);
        }
      });
      res.on("close", () => {
        if (!done && !res.complete) {
          done = true;
          finish(Object.assign(new Error("the connection closed before the answer was complete"), { code: "ECONNRESET" }));
        }
      });
    });
    req.end(body);
  });
}

const sameOrigin = (a: URL, b: URL): boolean => a.origin === b.origin;

/**
 * Requests `url` under `deps.policy`. Throws `EgressRefusedError` (before connecting) when a hop is
 * refused, `EgressInvalidRequestError` for a request that cannot be made, the abort reason when
 * `signal` aborts, and network errors (with their `code`, e.g. ECONNREFUSED) as they come.
 */
export async function egressRequest(url: string | URL, options: EgressRequestOptions, deps: EgressDeps): Promise<EgressResponse> {
  const maxRedirects = options.maxRedirects ?? 5;
  const maxBodyBytes = Math.max(0, options.maxBodyBytes ?? 65_536);
  const secrets = options.secretHeaders ?? [];
  let method = (options.method ?? "GET").toUpperCase();
  let body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
  let headers: Record<string, string> = { ...options.headers };
  // The first hop's check is made before anything else (and reused for it); each redirect's, in its turn.
  const first = allowedUrl(deps.policy, url);
  let current = first.url;
  let previous: URL | undefined;
  for (let redirects = 0; ; redirects += 1) {
    const hopHeaders: Record<string, string> = { ...headers };
    for (const s of secrets) {
      const host = current.hostname;
      if (!hostMatches(host, s.allowedHosts)) {
        const what = previous === undefined ? "request" : "redirect";
        const where = s.allowedHosts.length === 0 ? "which is not bound to any host" : `which may only be sent to ${s.allowedHosts.join(", ")}`;
        throw new EgressRefusedError("secret", `${what} to ${host} would carry secret ${s.secret}, ${where}`);
      }
      if (previous?.protocol === "https:" && current.protocol === "http:") {
        throw new EgressRefusedError("secret", `redirect from https: to http: (${host}) would carry secret ${s.secret} in clear text`);
      }
      hopHeaders[s.header] = s.value;
    }
    const hop = await checkHop(redirects === 0 ? first : allowedUrl(deps.policy, current), deps, options.signal);
    const follow = options.redirect !== "manual";
    const answer = await send(hop, method, hopHeaders, body, deps, options.signal, maxBodyBytes, (status, location) => !(follow && REDIRECT_STATUSES.has(status) && location !== undefined));
    const location = answer.headers.location;
    if (!follow || !REDIRECT_STATUSES.has(answer.status) || location === undefined) {
      return { status: answer.status, headers: answer.headers, body: answer.body, truncated: answer.truncated, url: current.toString(), redirects };
    }
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new EgressRefusedError("invalid_url", `${current.host} redirected to an invalid URL`);
    }
    if (redirects >= maxRedirects) throw new EgressRefusedError("too_many_redirects", `more than ${maxRedirects} redirects (the last to ${next.host})`);
    // Fetch semantics: 303 (and 301/302 of a POST) continue as a GET without the body.
    if ((answer.status === 303 && method !== "HEAD") || ((answer.status === 301 || answer.status === 302) && method === "POST")) {
      method = "GET";
      body = undefined;
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !BODY_HEADERS.has(name.toLowerCase())));
    }
    // Fetch drops Authorization on a cross-origin redirect; secret headers are governed by their bindings.
    if (!sameOrigin(current, next)) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== "authorization"));
    previous = current;
    current = next;
  }
}
