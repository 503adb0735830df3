/**
 * `http`: calls a webhook. 2xx (or `expectStatus`) succeeds; 5xx, 408, 429, timeouts and network
 * errors are retryable (the engine retries with backoff), other statuses are not. The idempotency
 * key goes out as `Idempotency-Key`.
 *
 * `headersFromSecrets` maps a header to a secret's *name*; the value is read from the process
 * environment at call time, which is where `defineSecret` values surface in Cloud Functions, so
 * secrets never sit in plan documents, task outputs or error messages.
 */
import { z } from "zod";
import { httpParamsSchema } from "../schema/plan";
import type { Executor } from "./types";

const MAX_CAPTURED_BODY = 4_000;

export const SECRET_NAME_PATTERN = /^[A-Z][A-Z0-9_]{0,254}$/;
const HEADER_NAME_PATTERN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$/;

/** The executor's view of its params: the plan schema plus secret header references. */
export const httpExecutorParamsSchema = httpParamsSchema.extend({
  headersFromSecrets: z
    .record(z.string().regex(HEADER_NAME_PATTERN, "not a valid header name"), z.string().regex(SECRET_NAME_PATTERN, "secret names are UPPER_SNAKE_CASE"))
    .default({}),
});

export function createHttpExecutor(env: NodeJS.ProcessEnv = process.env): Executor {
  return {
    async execute(params, ctx) {
      const parsed = httpExecutorParamsSchema.safeParse(params);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(params)"}: ${i.message}`).join("; ");
        return { ok: false, error: { message: `http params are invalid: ${issues}`, code: "invalid_params", retryable: false } };
      }
      const p = parsed.data;
      const headers: Record<string, string> = { "Idempotency-Key": ctx.idempotencyKey, ...p.headers };
      const missing: string[] = [];
      for (const [header, secret] of Object.entries(p.headersFromSecrets)) {
        const value = env[secret];
        if (value === undefined || value === "") missing.push(secret);
        else headers[header] = value;
      }
      if (missing.length > 0) {
        return {
          ok: false,
          error: {
            message: `${p.method} ${p.url}: secret(s) ${missing.join(", ")} not set; declare them with defineSecret() and bind them to the function (locally: set them in the environment)`,
            code: "missing_secret",
            retryable: false,
          },
        };
      }
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
        return { ok: false, error: { message: `${p.method} ${p.url}: ${message}`, code: ctx.signal.aborted ? "timeout" : "network", retryable: true } };
      }
      const text = (await response.text().catch(() => "")).slice(0, MAX_CAPTURED_BODY);
      const expected = p.expectStatus === undefined ? response.status >= 200 && response.status < 300 : p.expectStatus.includes(response.status);
      if (expected) return { ok: true, output: { status: response.status, body: text } };
      const retryable = response.status >= 500 || response.status === 429 || response.status === 408;
      return {
        ok: false,
        error: { message: `${p.method} ${p.url} answered ${response.status}: ${text.slice(0, 200)}`, code: `http_${response.status}`, retryable },
      };
    },
  };
}

export const httpExecutor: Executor = createHttpExecutor();
