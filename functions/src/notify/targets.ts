/**
 * Where notifications go: `ORCHESTRATOR_NOTIFY_TARGETS`, a comma-separated list (or a JSON array
 * of strings, how a `defineList` param surfaces) of `kind:SECRET` pairs, e.g.
 * `slack:SLACK_OPS_WEBHOOK,chat:CHAT_WEBHOOK,webhook:PAGER_WEBHOOK`. The kind says how the message
 * is shaped; SECRET names the Secret Manager secret that holds the webhook URL (a URL that posts
 * to a channel is a credential), bound to the notifier functions only (params.ts notifySecrets).
 * Pure: the deploy reads it when the code loads, so a malformed value fails the deploy.
 */
import { listEntries } from "../egress/config";

export const NOTIFY_TARGETS_ENV = "ORCHESTRATOR_NOTIFY_TARGETS";

/** `slack`: a Slack incoming webhook; `chat`: a Google Chat space webhook; `webhook`: any endpoint taking the JSON envelope. */
export const TARGET_KINDS = ["slack", "chat", "webhook"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface NotifyTarget {
  kind: TargetKind;
  /** The secret holding the URL; also the target's name in logs and delivery records (the URL never is). */
  secret: string;
}

/** More would be a fan-out nobody reads; each target costs a POST per event. */
export const MAX_TARGETS = 10;

const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,254}$/;
/**
 * A secret surfaces as an environment variable of its name: these belong to Cloud Functions, the
 * runtime, or this deployment's own params, and one of them holding a URL would break something.
 */
const RESERVED_PREFIXES = ["ORCHESTRATOR_", "FIREBASE_", "X_GOOGLE_", "EXT_", "GOOGLE_", "GCLOUD_", "GCP_", "FUNCTION_", "K_", "NODE_"];
const RESERVED_NAMES = new Set(["PORT", "PATH", "HOME", "ENTRY_POINT", "CLOUD_RUNTIME_CONFIG", "EVENTARC_CLOUD_EVENT_SOURCE", "METADATA_SERVER_DETECTION"]);
const EXAMPLE = "slack:SLACK_OPS_WEBHOOK,chat:CHAT_WEBHOOK,webhook:PAGER_WEBHOOK";


/** The targets the variable describes (none when unset or empty); throws naming the first bad entry and how to write it. */
export function parseNotifyTargets(raw: string | undefined): NotifyTarget[] {
  const text = (raw ?? "").trim();
  if (text === "") return [];
  const entries = listEntries(text, `${NOTIFY_TARGETS_ENV} must be a comma-separated list or a JSON array of kind:SECRET strings, e.g. ${EXAMPLE}`);
  if (entries.length > MAX_TARGETS) throw new Error(`${NOTIFY_TARGETS_ENV} names ${entries.length} targets; at most ${MAX_TARGETS}`);
  const targets: NotifyTarget[] = [];
  entries.forEach((entry, index) => {
    // A URL pasted here is a credential: the message names the entry without quoting it.
    if (entry.includes("://")) {
      throw new Error(`${NOTIFY_TARGETS_ENV} entry ${index + 1} is a URL: store the URL in a secret (firebase functions:secrets:set SLACK_OPS_WEBHOOK) and name the secret here, e.g. slack:SLACK_OPS_WEBHOOK`);
    }
    const where = `${NOTIFY_TARGETS_ENV} entry ${index + 1} ("${entry.slice(0, 100)}")`;
    const colon = entry.indexOf(":");
    if (colon < 0) throw new Error(`${where}: expected kind:SECRET, e.g. slack:SLACK_OPS_WEBHOOK`);
    const kind = entry.slice(0, colon).trim();
    const secret = entry.slice(colon + 1).trim();
    if (!(TARGET_KINDS as readonly string[]).includes(kind)) throw new Error(`${where}: unknown kind "${kind.slice(0, 40)}"; one of ${TARGET_KINDS.join(", ")}`);
    if (!SECRET_NAME.test(secret)) throw new Error(`${where}: "${secret.slice(0, 60)}" is not a secret name (UPPER_SNAKE_CASE, e.g. SLACK_OPS_WEBHOOK)`);
    if (RESERVED_NAMES.has(secret) || RESERVED_PREFIXES.some((p) => secret.startsWith(p))) throw new Error(`${where}: ${secret} is an environment variable Cloud Functions or the orchestrator uses; name the secret otherwise, e.g. SLACK_OPS_WEBHOOK`);
    if (targets.some((t) => t.secret === secret)) throw new Error(`${where}: secret ${secret} is named twice; each target needs its own secret`);
    targets.push({ kind: kind as TargetKind, secret });
  });
  return targets;
}
