/**
 * `http`: calls a webhook. 2xx (or `expectStatus`) succeeds; 5xx, 408, 429, timeouts and network
 * errors are retryable (the engine retries with backoff), other statuses are not. The idempotency
 * key goes out as `Idempotency-Key`.
 *
 * Every hop goes through the egress policy (egress/request.ts): metadata and link-local addresses
 * are never reached, private ones only when the deployment allows them, and a refusal fails at
 * once without opening a socket. The output is `{status}`, plus the body (capped, secrets
 * redacted) only when the task asks for it with `captureBody`; error messages carry method, URL
 * without query string and status, never the body.
 *
 * `headersFromSecrets` maps a header to a secret's *name*; the value is read from the process
 * environment at call time, which is where `defineSecret` values surface in Cloud Functions, so
 * secrets never sit in plan documents. A secret is sent only to the hosts
 * `ORCHESTRATOR_SECRET_BINDINGS` binds it to, on every hop, and its value is redacted from
 * anything the task records.
 */
import type http from "node:http";
import type https from "node:https";
import { StringDecoder } from "node:string_decoder";
import { z } from "zod";
import { allowedHostsOf, egressConfig, secretBindingProblem, type SecretBindings } from "../egress/config";
import type { EgressPolicy } from "../egress/policy";
import { redactorOf } from "../egress/redact";
import { egressRequest, EgressInvalidRequestError, EgressRefusedError, type EgressResponse, type LookupFunction, type SecretHeader } from "../egress/request";
import type { ExecutionOutcome } from "../engine/task";
import { httpParamsSchema } from "../schema/plan";
import type { Executor } from "./types";

export const SECRET_NAME_PATTERN = /^[A-Z][A-Z0-9_]{0,254}$/;
const HEADER_NAME_PATTERN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$/;

/** The executor's view of its params: the plan schema plus secret header references. */
export const httpExecutorParamsSchema = httpParamsSchema.extend({
  headersFromSecrets: z
    .record(z.string().regex(HEADER_NAME_PATTERN, "not a valid header name"), z.string().regex(SECRET_NAME_PATTERN, "secret names are UPPER_SNAKE_CASE"))
    .default({}),
});

export interface HttpExecutorOptions {
  /** Where secret values are read (default: the process environment). */
  env?: NodeJS.ProcessEnv;
  /** Default: `ORCHESTRATOR_EGRESS_ALLOW` (egress/config.ts). */
  policy?: EgressPolicy;
  /** Default: `ORCHESTRATOR_SECRET_BINDINGS`. */
  secretBindings?: SecretBindings;
  lookup?: LookupFunction;
  agent?: http.Agent;
  httpsAgent?: https.Agent;
}

/** The URL as messages show it: no query string or fragment (they often carry tokens). */
function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url.split(/[?#]/)[0]!;
  }
}

/** Replaces every occurrence of a secret's value with `[redacted:NAME]`. */
const redactor = (secrets: readonly SecretHeader[]): ((text: string) => string) => redactorOf(secrets.map((s) => ({ value: s.value, label: `[redacted:${s.secret}]` })));

const failure = (message: string, code: string, retryable: boolean): ExecutionOutcome => ({ ok: false, error: { message, code, retryable } });

export function createHttpExecutor(options: HttpExecutorOptions = {}): Executor {
  const env = options.env ?? process.env;
  return {
    async execute(params, ctx) {
      const parsed = httpExecutorParamsSchema.safeParse(params);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(params)"}: ${i.message}`).join("; ");
        return failure(`http params are invalid: ${issues}`, "invalid_params", false);
      }
      const p = parsed.data;
      const where = `${p.method} ${displayUrl(p.url)}`;
      let policy: EgressPolicy;
      let bindings: SecretBindings;
      try {
        policy = options.policy ?? egressConfig().policy;
        bindings = options.secretBindings ?? egressConfig().secretBindings;
      } catch (error) {
        return failure(`${where}: the egress configuration is invalid: ${(error as Error).message}`, "egress_config", false);
      }

      const host = new URL(p.url).hostname;
      const secretHeaders: SecretHeader[] = [];
      const missing: string[] = [];
      for (const [header, secret] of Object.entries(p.headersFromSecrets)) {
        const problem = secretBindingProblem(secret, host, bindings);
        if (problem !== null) return failure(`${where}: ${problem}`, "secret_not_allowed", false);
        const value = env[secret];
        if (value === undefined || value === "") missing.push(secret);
        else secretHeaders.push({ header, secret, value, allowedHosts: allowedHostsOf(secret, bindings) });
      }
      if (missing.length > 0) {
        return failure(
          `${where}: secret(s) ${missing.join(", ")} not set; declare them with defineSecret() and bind them to the function (locally: set them in the environment)`,
          "missing_secret",
          false,
        );
      }
      const redact = redactor(secretHeaders);

      const headers: Record<string, string> = { "Idempotency-Key": ctx.idempotencyKey, ...p.headers };
      let body: string | undefined;
      if (p.body !== undefined && p.method !== "GET" && p.method !== "HEAD") {
        body = typeof p.body === "string" ? p.body : JSON.stringify(p.body);
        if (typeof p.body !== "string" && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
          headers["Content-Type"] = "application/json";
        }
      }

      let response: EgressResponse;
      try {
        response = await egressRequest(
          p.url,
          { method: p.method, headers, body, signal: ctx.signal, secretHeaders, maxBodyBytes: p.captureBody ? p.maxBodyBytes : 0 },
          { policy, lookup: options.lookup, agent: options.agent, httpsAgent: options.httpsAgent },
        );
      } catch (error) {
        if (error instanceof EgressRefusedError) return failure(redact(`${where}: ${error.message}`), error.code, false);
        if (error instanceof EgressInvalidRequestError) return failure(redact(`${where}: ${error.message}`), error.code, false);
        if (ctx.signal.aborted) return failure(`${where}: request aborted (timeout or cancel)`, "timeout", true);
        return failure(redact(`${where}: request failed: ${(error as Error).message}`), "network", true);
      }

      const expected = p.expectStatus === undefined ? response.status >= 200 && response.status < 300 : p.expectStatus.includes(response.status);
      if (expected) {
        if (!p.captureBody) return { ok: true, output: { status: response.status } };
        // The decoder keeps only whole characters when the cap cut one in half.
        const text = new StringDecoder("utf8").write(response.body);
        return { ok: true, output: { status: response.status, body: redact(text) } };
      }
      const retryable = response.status >= 500 || response.status === 429 || response.status === 408;
      return failure(redact(`${where} answered ${response.status}`), `http_${response.status}`, retryable);
    },
  };
}

export const httpExecutor: Executor = createHttpExecutor();
