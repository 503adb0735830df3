/**
 * The deployment's egress settings, read from the environment once, on first use:
 *
 * - `ORCHESTRATOR_EGRESS_ALLOW`: which non-public destinations plans may reach (comma-separated, or
 *   a JSON array of strings, which is how a firebase-functions `defineList` param surfaces):
 *   CIDRs (`10.1.2.0/24`), addresses, hostnames (`internal.example.com`, `*.corp.example`).
 *   Empty in production; the local stack sets `127.0.0.0/8,::1`.
 * - `ORCHESTRATOR_SECRET_BINDINGS`: which hosts each secret may be sent to, as JSON
 *   (`{"SLACK_TOKEN": ["hooks.slack.com"]}`). A secret not listed is sent nowhere.
 *
 * The parse functions are pure (tests and the planner call them); `secretBindingErrors` lets the
 * planner refuse a plan that would send a secret where it may not go, before anything runs.
 */
import { z } from "zod";
import { createEgressPolicy, EGRESS_ALLOW_ENV, hostMatches, type EgressPolicy } from "./policy";

export { EGRESS_ALLOW_ENV };
export const SECRET_BINDINGS_ENV = "ORCHESTRATOR_SECRET_BINDINGS";

/** Secret name → the hosts (exact, or `*.suffix`) it may be sent to. */
export type SecretBindings = Readonly<Record<string, readonly string[]>>;

const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,254}$/;
const HOST_PATTERN = /^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$|^\[[0-9A-Fa-f:.]+\]$/;

const secretBindingsSchema = z.record(
  z.string().regex(SECRET_NAME, "secret names are UPPER_SNAKE_CASE"),
  z.array(z.string().regex(HOST_PATTERN, "a host (hooks.example.com) or a wildcard (*.example.com)")).max(100),
);

/**
 * The entries of a list-valued setting: a comma-separated list, or a JSON array of strings (its
 * text starts with `[`); each trimmed, empty ones dropped. Throws `malformed` for a bad JSON array.
 */
export function listEntries(raw: string | undefined, malformed: string): string[] {
  const text = (raw ?? "").trim();
  if (text === "") return [];
  if (!text.startsWith("[")) return text.split(",").map((e) => e.trim()).filter((e) => e !== "");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = z.array(z.string()).safeParse(json);
  if (!parsed.success) throw new Error(malformed);
  return parsed.data.map((e) => e.trim()).filter((e) => e !== "");
}

/** The allow-list's entries from the variable's text (comma-separated or a JSON array); throws on a malformed JSON array. */
export function parseEgressAllow(raw: string | undefined): string[] {
  return listEntries(raw, `${EGRESS_ALLOW_ENV} must be a JSON array of strings or a comma-separated list`);
}

/** The policy the variable describes; throws naming the first invalid entry. */
export function egressPolicyFrom(raw: string | undefined): EgressPolicy {
  try {
    return createEgressPolicy(parseEgressAllow(raw));
  } catch (error) {
    throw new Error(`${EGRESS_ALLOW_ENV}: ${(error as Error).message}`);
  }
}

/** The bindings the variable describes (none when unset); throws when it is not such a JSON object. */
export function parseSecretBindings(raw: string | undefined): SecretBindings {
  const text = (raw ?? "").trim();
  if (text === "") return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${SECRET_BINDINGS_ENV} is not JSON; expected e.g. {"SLACK_TOKEN": ["hooks.slack.com"]}`);
  }
  const parsed = secretBindingsSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`${SECRET_BINDINGS_ENV} is invalid: ${issues}`);
  }
  return parsed.data;
}

export interface EgressConfig {
  policy: EgressPolicy;
  secretBindings: SecretBindings;
}

export function egressConfigFrom(env: NodeJS.ProcessEnv): EgressConfig {
  return { policy: egressPolicyFrom(env[EGRESS_ALLOW_ENV]), secretBindings: parseSecretBindings(env[SECRET_BINDINGS_ENV]) };
}

let cached: EgressConfig | undefined;

/** The process's configuration, read on first use (a malformed variable throws every time, so every request says so). */
export function egressConfig(): EgressConfig {
  cached ??= egressConfigFrom(process.env);
  return cached;
}

/** The host of `url` as bindings compare it, or null when it is not a URL (the schema reports that). */
function hostOf(url: unknown): string | null {
  if (typeof url !== "string") return null;
  try {
    return new URL(url).hostname;
  } catch {
    return null;
  }
}

/** The hosts `secret` may be sent to (empty when it is not bound). */
export function allowedHostsOf(secret: string, bindings: SecretBindings): readonly string[] {
  return Object.hasOwn(bindings, secret) ? bindings[secret]! : [];
}

/** Why `secret` may not be sent to `host`, or null when it may (`host` null: only whether it is bound at all). */
export function secretBindingProblem(secret: string, host: string | null, bindings: SecretBindings): string | null {
  const allowed = allowedHostsOf(secret, bindings);
  if (allowed.length === 0) {
    const example = host === null ? "hooks.example.com" : host.replace(/^\[|\]$/g, "");
    return `secret ${secret} is not bound to any host: add it to ${SECRET_BINDINGS_ENV}, e.g. {"${secret}": ["${example}"]}`;
  }
  if (host !== null && !hostMatches(host, allowed)) return `secret ${secret} may only be sent to ${allowed.join(", ")}, not to ${host}`;
  return null;
}

export interface BindingTask {
  id: string;
  run: string;
  params?: unknown;
  compensate?: { run: string; params?: unknown } | null;
}

export interface BindingError {
  path: string;
  message: string;
}

/**
 * Every `headersFromSecrets` entry of an `http` task (or an `http` compensation) whose secret is
 * not bound, or whose URL's host is not among the secret's hosts. Paths use the task's index:
 * `tasks.3.params.headersFromSecrets.Authorization`, `tasks.3.compensate.params.headersFromSecrets.X`.
 */
export function secretBindingErrors(tasks: readonly BindingTask[], bindings: SecretBindings): BindingError[] {
  const errors: BindingError[] = [];
  const inspect = (params: unknown, path: string) => {
    if (typeof params !== "object" || params === null) return;
    const { url, headersFromSecrets } = params as { url?: unknown; headersFromSecrets?: unknown };
    if (typeof headersFromSecrets !== "object" || headersFromSecrets === null) return;
    const host = hostOf(url);
    for (const [header, secret] of Object.entries(headersFromSecrets)) {
      if (typeof secret !== "string") continue;
      const problem = secretBindingProblem(secret, host, bindings);
      if (problem !== null) errors.push({ path: `${path}.headersFromSecrets.${header}`, message: problem });
    }
  };
  tasks.forEach((task, index) => {
    if (task.run === "http") inspect(task.params, `tasks.${index}.params`);
    if (task.compensate?.run === "http") inspect(task.compensate.params, `tasks.${index}.compensate.params`);
  });
  return errors;
}
