/**
 * `http`: calls a webhook. 2xx (or `expectStatus`) succeeds; 5xx, 429 and network errors are
 * retryable, other statuses are not. The idempotency key goes out as `Idempotency-Key`.
 */
import { httpParamsSchema } from "../schema/plan";
import type { Executor } from "./types";

const MAX_CAPTURED_BODY = 4_000;

export const httpExecutor: Executor = {
  async execute(params, ctx) {
    const p = httpParamsSchema.parse(params);
    const headers: Record<string, string> = { "Idempotency-Key": ctx.idempotencyKey, ...p.headers };
    let body: string | undefined;
    if (p.body !== undefined && p.method !== "GET" && p.method !== "HEAD") {
      body = typeof p.body === "string" ? p.body : JSON.stringify(p.body);
      if (typeof p.body !== "string" && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
        headers["Content-Type"] = "application/json";
      }
    }
    let response: Response;
    try {
      response = await fetch(p.url, { method: p.method, headers, body, signal: ctx.signal });
    } catch (error) {
      const message = ctx.signal.aborted ? "request aborted (timeout or cancel)" : `request failed: ${(error as Error).message}`;
      return { ok: false, error: { message: `${p.method} ${p.url}: ${message}`, code: "network", retryable: true } };
    }
    const text = (await response.text().catch(() => "")).slice(0, MAX_CAPTURED_BODY);
    const expected = p.expectStatus === undefined ? response.status >= 200 && response.status < 300 : p.expectStatus.includes(response.status);
    if (expected) return { ok: true, output: { status: response.status, body: text } };
    const retryable = response.status >= 500 || response.status === 429;
    return {
      ok: false,
      error: { message: `${p.method} ${p.url} answered ${response.status}: ${text.slice(0, 200)}`, code: `http_${response.status}`, retryable },
    };
  },
};
