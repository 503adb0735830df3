/**
 * The deployment's configuration, declared as firebase-functions params: `firebase deploy` reads
 * them from `functions/.env.<alias>` (see functions/.env.example), asks for any it cannot find, and
 * writes them into the deploy manifest; the emulators read `functions/.env.local`. A param's value
 * is its environment variable of the same name, so code reads it with `paramValue` (the declared
 * default when it is unset, as in tests that call the handlers directly).
 *
 * Secrets plans may send (`headersFromSecrets`) are declared in one place, the bindings
 * (ORCHESTRATOR_SECRET_BINDINGS: each secret and the hosts it may go to): each is a `defineSecret`
 * bound to `onTaskReady` at deploy time, so Secret Manager gives it to that function only. The
 * webhooks notifications go to are declared the same way (ORCHESTRATOR_NOTIFY_TARGETS: each kind
 * and the secret holding its URL), bound to the notifier functions only.
 */
import { defineBoolean, defineSecret, defineString } from "firebase-functions/params";

type SecretParam = ReturnType<typeof defineSecret>;
import { EGRESS_ALLOW_ENV, parseSecretBindings, SECRET_BINDINGS_ENV } from "./egress/config";
import { NOTIFY_TARGETS_ENV, parseNotifyTargets } from "./notify/targets";

type Declared<T> = { name: string; options: { default?: T | unknown }; value(): T };

/** The param's value now: its environment variable when set, else its declared default. */
export function paramValue<T extends string | boolean>(param: Declared<T>, env: NodeJS.ProcessEnv = process.env): T {
  if (env[param.name] === undefined) return param.options.default as T;
  const raw = env[param.name]!;
  return (typeof param.options.default === "boolean" ? raw === "true" : raw) as T;
}

export const REGION = defineString("ORCHESTRATOR_REGION", {
  default: "us-central1",
  description: "Where the orchestrator's functions run (a Cloud Functions region of its own project).",
});

export const WEB_API_KEY = defineString("ORCHESTRATOR_WEB_API_KEY", {
  default: "",
  description: "The project's public web API key (Project settings → General), which the status page signs in with. Empty: the page cannot sign in outside the emulators.",
});

export const AUTH_DOMAIN = defineString("ORCHESTRATOR_AUTH_DOMAIN", {
  default: "",
  description: "The Firebase Auth domain the page signs in through. Empty: <project>.firebaseapp.com.",
});

export const PUBLIC_STATUS = defineBoolean("ORCHESTRATOR_PUBLIC_STATUS", {
  default: true,
  description: "Whether the overview (health, uptime, goals) is readable without signing in. Plans always need a viewer.",
});

export const EGRESS_ALLOW = defineString(EGRESS_ALLOW_ENV, {
  default: "",
  description: "Hosts http tasks may call besides public ones: a comma-separated list or JSON array (exact names, *.suffix, CIDR ranges). Private and metadata addresses stay refused unless listed.",
});

export const SECRET_BINDINGS = defineString(SECRET_BINDINGS_ENV, {
  default: "",
  description: 'The secrets plans may send and where to: JSON, e.g. {"SLACK_TOKEN": ["hooks.slack.com"]}. Each name is a Secret Manager secret bound to onTaskReady.',
});

export const ALLOW_UNVERIFIED_COMMANDS = defineBoolean("ORCHESTRATOR_ALLOW_UNVERIFIED_COMMANDS", {
  default: false,
  description: "Whether Pub/Sub senders without a verifiable credential may cancel, retry and roll back plans (never approve or reject).",
});

export const NOTIFY_TARGETS = defineString(NOTIFY_TARGETS_ENV, {
  default: "",
  description:
    "Where alerts and approval gates are announced: kind:SECRET pairs, comma-separated, e.g. slack:SLACK_OPS_WEBHOOK,chat:CHAT_WEBHOOK,webhook:PAGER_WEBHOOK (kinds: slack, chat, webhook). Each SECRET is a Secret Manager secret holding the webhook URL, bound to the notifier functions only. Empty: no notifications.",
});

export const STATUS_PAGE_URL = defineString("ORCHESTRATOR_STATUS_PAGE_URL", {
  default: "",
  description: "The status page's URL (e.g. https://<project>.web.app/), which notifications link to. Empty: they carry no link.",
});

/**
 * One `defineSecret` per secret the bindings name. Read when the code is loaded, so at deploy time
 * from `functions/.env.<alias>`: a malformed value fails the deploy with what is wrong.
 */
export function taskSecrets(env: NodeJS.ProcessEnv = process.env): SecretParam[] {
  return Object.keys(parseSecretBindings(env[SECRET_BINDINGS.name])).map((name) => defineSecret(name));
}

/** One `defineSecret` per notification target (ORCHESTRATOR_NOTIFY_TARGETS), read and checked like `taskSecrets`. */
export function notifySecrets(env: NodeJS.ProcessEnv = process.env): SecretParam[] {
  return parseNotifyTargets(env[NOTIFY_TARGETS.name]).map((t) => defineSecret(t.secret));
}
