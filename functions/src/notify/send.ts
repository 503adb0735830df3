/**
 * One webhook POST with a bounded number of tries, through the egress guard (egress/request.ts),
 * like http tasks: a URL whose host is (or resolves to) the metadata server, a link-local or an
 * unallowed private address is refused before any socket opens.
 *
 * 2xx delivers. 429, 408, 5xx, timeouts and network errors are tried again here (backoff, or the
 * answer's Retry-After, both capped), then reported retryable so Pub/Sub redelivers the message.
 * Anything else is permanent: other 4xx (a revoked or mistyped webhook), a redirect (not followed:
 * the body would go where the secret URL does not say), a refusal by the egress policy.
 *
 * The URL is a credential: no message this module returns contains it, its path or its query.
 */
import type http from "node:http";
import type https from "node:https";
import type { EgressPolicy } from "../egress/policy";
import { redactorOf } from "../egress/redact";
import { egressRequest, EgressInvalidRequestError, EgressRefusedError, type LookupFunction } from "../egress/request";
import { clip } from "./format";

export interface PostOptions {
  policy: EgressPolicy;
  lookup?: LookupFunction;
  agent?: http.Agent;
  httpsAgent?: https.Agent;
  sleep: (ms: number) => Promise<void>;
  /** Tries within this invocation (default 3). */
  tries?: number;
  /** Each try's limit (default 10 s). */
  timeoutMs?: number;
  /** The wait before try `n + 1` (n ≥ 1); default 500 ms × 3^(n−1). */
  backoffMs?: (n: number) => number;
  /** The longest wait between tries, Retry-After included (default 5 s). */
  maxWaitMs?: number;
}

export type PostResult =
  | { ok: true; status: number; tries: number }
  | { ok: false; retryable: boolean; status: number | null; code: string; error: string; tries: number };

export const SEND_LIMITS = {
  /** Bytes of an answer's body read (for the error text); the rest is not read. */
  answerBytes: 2_048,
  /** Characters of error text recorded. */
  errorChars: 300,
  /** Largest request body sent (the formatters stay far below it). */
  bodyBytes: 64 * 1024,
} as const;

/** Replaces the URL, and its path and query (each a token in most webhook URLs), wherever they appear. */
function redactorFor(url: string): (text: string) => string {
  const secrets: string[] = [url];
  try {
    const u = new URL(url);
    secrets.push(u.href);
    if (u.pathname.length > 1) secrets.push(u.pathname);
    if (u.search.length > 1) secrets.push(u.search);
  } catch {
    // Not a URL: only the text itself is known.
  }
  return redactorOf([...new Set(secrets.filter((s) => s.length >= 2))].map((value) => ({ value, label: "[redacted]" })));
}

function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

const answerText = (body: Buffer): string => body.toString("utf8").replace(/\s+/g, " ").trim();

export async function postJson(url: string, payload: unknown, headers: Readonly<Record<string, string>>, options: PostOptions): Promise<PostResult> {
  const redact = redactorFor(url);
  const tries = Math.max(1, options.tries ?? 3);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const backoff = options.backoffMs ?? ((n: number) => 500 * 3 ** (n - 1));
  const maxWaitMs = options.maxWaitMs ?? 5_000;
  const body = JSON.stringify(payload);
  const failed = (retryable: boolean, status: number | null, code: string, error: string, tried: number): PostResult => ({
    ok: false,
    retryable,
    status,
    code,
    error: clip(redact(error), SEND_LIMITS.errorChars),
    tries: tried,
  });
  if (Buffer.byteLength(body) > SEND_LIMITS.bodyBytes) return failed(false, null, "too_large", `the body is ${Buffer.byteLength(body)} bytes; at most ${SEND_LIMITS.bodyBytes}`, 0);

  let last: PostResult | undefined;
  for (let n = 1; n <= tries; n++) {
    let wait: number | undefined;
    try {
      const answer = await egressRequest(
        url,
        { method: "POST", headers: { ...headers, "Content-Type": "application/json; charset=utf-8" }, body, redirect: "manual", maxBodyBytes: SEND_LIMITS.answerBytes, signal: AbortSignal.timeout(timeoutMs) },
        { policy: options.policy, lookup: options.lookup, agent: options.agent, httpsAgent: options.httpsAgent },
      );
      const status = answer.status;
      if (status >= 200 && status < 300) return { ok: true, status, tries: n };
      const text = answerText(answer.body);
      const said = `HTTP ${status}${text === "" ? "" : `: ${text}`}`;
      if (status >= 300 && status < 400) return failed(false, status, "redirect", `${said} (a redirect; webhooks are not followed elsewhere: set the secret to the final URL)`, n);
      if (status !== 429 && status !== 408 && status < 500) return failed(false, status, `http_${status}`, said, n);
      last = failed(true, status, `http_${status}`, said, n);
      wait = status === 429 || status === 503 ? retryAfterMs(answer.headers["retry-after"], Date.now()) : undefined;
    } catch (error) {
      if (error instanceof EgressRefusedError || error instanceof EgressInvalidRequestError) return failed(false, null, error.code, error.message, n);
      const e = error as Error & { code?: unknown };
      const timedOut = e.name === "TimeoutError" || e.name === "AbortError";
      last = failed(true, null, timedOut ? "timeout" : "network", timedOut ? `no answer within ${timeoutMs} ms` : `request failed: ${e.message}${typeof e.code === "string" && !e.message.includes(e.code) ? ` (${e.code})` : ""}`, n);
    }
    if (n < tries) await options.sleep(Math.min(maxWaitMs, Math.max(backoff(n), wait ?? 0)));
  }
  return last!;
}
