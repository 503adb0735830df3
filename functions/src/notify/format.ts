/**
 * The body each kind of target receives for an event (pure):
 *
 * - `slack`: an incoming-webhook message, `{text, blocks}`: `text` is the notification's fallback
 *   line, the section block says what happened in mrkdwn, with a link to the status page;
 * - `chat`: a Google Chat webhook message, `{text}` (Chat's own `*bold*` and `<url|label>`);
 * - `webhook`: the stable JSON envelope `{type, id, occurredAt, summary, link, alert | gate}`,
 *   times as ISO 8601 strings; new fields may be added, none renamed or removed.
 *
 * Everything that came from a plan or a health run is clipped, and markup in it is neutralised
 * (a plan named `<!channel>` must not page a Slack channel), so a body stays small and says only
 * what happened.
 */
import { summaryOf, type AlertEventFields, type GateEventFields, type NotifyEvent, type NotifyEventType } from "./events";
import type { TargetKind } from "./targets";

export interface FormatOptions {
  /** The status page's base URL (ORCHESTRATOR_STATUS_PAGE_URL); null: no links. */
  statusPageUrl: string | null;
}

export const FORMAT_LIMITS = {
  titleChars: 200,
  messageChars: 800,
  promptChars: 500,
  approversListed: 10,
  approverChars: 80,
  idChars: 300,
  /** Slack refuses a section whose text is longer. */
  slackSectionChars: 3000,
  /** Slack's and Chat's `text` fields both take far more; this keeps a notification readable. */
  textChars: 4000,
} as const;

export interface SlackPayload {
  text: string;
  blocks: Array<{ type: "section"; text: { type: "mrkdwn"; text: string } } | { type: "context"; elements: Array<{ type: "mrkdwn"; text: string }> }>;
}

export interface ChatPayload {
  text: string;
}

export interface WebhookEnvelope {
  type: NotifyEventType;
  id: string;
  occurredAt: string;
  summary: string;
  link: string | null;
  alert?: Omit<AlertEventFields, "firstSeen" | "resolvedAt"> & { firstSeen: string; resolvedAt: string | null };
  gate?: Omit<GateEventFields, "deadline"> & { deadline: string };
}

/** `text` at most `max` characters, saying so when it was cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const utc = (ms: number): string => `${iso(ms).slice(0, 16).replace("T", " ")} UTC`;

export function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h${minutes % 60 === 0 ? "" : ` ${minutes % 60} min`}`;
  return `${Math.floor(hours / 24)} d${hours % 24 === 0 ? "" : ` ${hours % 24} h`}`;
}

/** The status page URL of the event (the plan's page for a gate, the overview for an alert), or null without a usable base URL. */
export function linkFor(event: NotifyEvent, statusPageUrl: string | null): string | null {
  if (statusPageUrl === null || statusPageUrl.trim() === "") return null;
  let url: URL;
  try {
    url = new URL(statusPageUrl.trim());
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (event.type === "gate.waiting") url.searchParams.set("plan", event.gate.planId);
  return url.toString();
}

/** Slack's mrkdwn escapes: `<`, `>` and `&` would otherwise start links and mentions. */
const slackEscape = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
/** Chat has no escapes: angle brackets become look-alikes, so `<users/all>` or `<url|label>` in a name stay text. */
const chatEscape = (text: string): string => text.replace(/</g, "‹").replace(/>/g, "›");

interface Lines {
  headline: string;
  details: string[];
}

function approversText(g: GateEventFields): string {
  if (g.approvers.length === 0) return `${g.requiredApprovals} approval${g.requiredApprovals === 1 ? "" : "s"} from any operator`;
  const listed = g.approvers.slice(0, FORMAT_LIMITS.approversListed).map((a) => clip(a, FORMAT_LIMITS.approverChars));
  const more = g.approvers.length - listed.length;
  return `${g.requiredApprovals} of ${listed.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}

/** What every kind says, as plain text (each kind escapes it its own way). */
function linesOf(event: NotifyEvent): Lines {
  const summary = clip(summaryOf(event), FORMAT_LIMITS.titleChars);
  if (event.type === "gate.waiting") {
    const g = event.gate;
    const details = [`Needs ${approversText(g)} by ${utc(g.deadline)} (attempt ${g.attempt}).`];
    if (g.prompt !== null && g.prompt.trim() !== "") details.unshift(clip(g.prompt.trim(), FORMAT_LIMITS.promptChars));
    return { headline: `✋ ${summary}`, details };
  }
  const a = event.alert;
  const severity = a.severity.toUpperCase();
  const message = a.message.trim() === "" ? [] : [clip(a.message.trim(), FORMAT_LIMITS.messageChars)];
  if (event.type === "alert.resolved") {
    return { headline: `✅ Resolved: ${summary}`, details: [`Open for ${formatDuration((a.resolvedAt ?? event.occurredAt) - a.firstSeen)}.`] };
  }
  if (event.type === "alert.escalated") return { headline: `⏫ [${severity}] Escalated: ${summary}`, details: message };
  return { headline: `🚨 [${severity}] ${summary}`, details: message };
}

const linkLabel = (event: NotifyEvent): string => (event.type === "gate.waiting" ? "Open the plan" : "Open the status page");

export function slackPayload(event: NotifyEvent, options: FormatOptions): SlackPayload {
  const { headline, details } = linesOf(event);
  const link = linkFor(event, options.statusPageUrl);
  const body = [`*${slackEscape(headline)}*`, ...details.map(slackEscape), ...(link === null ? [] : [`<${link}|${linkLabel(event)}>`])].join("\n");
  return {
    text: clip(slackEscape(headline), FORMAT_LIMITS.textChars),
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: clip(body, FORMAT_LIMITS.slackSectionChars) } },
      { type: "context", elements: [{ type: "mrkdwn", text: slackEscape(`${event.type} · ${utc(event.occurredAt)} · ${clip(event.key, FORMAT_LIMITS.idChars)}`) }] },
    ],
  };
}

export function chatPayload(event: NotifyEvent, options: FormatOptions): ChatPayload {
  const { headline, details } = linesOf(event);
  const link = linkFor(event, options.statusPageUrl);
  const lines = [`*${chatEscape(headline)}*`, ...details.map(chatEscape), ...(link === null ? [] : [`<${link}|${linkLabel(event)}>`])];
  return { text: clip(lines.join("\n"), FORMAT_LIMITS.textChars) };
}

export function webhookEnvelope(event: NotifyEvent, options: FormatOptions): WebhookEnvelope {
  const head = {
    type: event.type,
    id: clip(event.key, FORMAT_LIMITS.idChars),
    occurredAt: iso(event.occurredAt),
    summary: clip(summaryOf(event), FORMAT_LIMITS.titleChars),
    link: linkFor(event, options.statusPageUrl),
  };
  if (event.type === "gate.waiting") {
    const g = event.gate;
    return { ...head, gate: { ...g, prompt: g.prompt === null ? null : clip(g.prompt, FORMAT_LIMITS.promptChars), approvers: g.approvers.slice(0, 100), deadline: iso(g.deadline) } };
  }
  const a = event.alert;
  return {
    ...head,
    alert: { ...a, title: clip(a.title, FORMAT_LIMITS.titleChars), message: clip(a.message, FORMAT_LIMITS.messageChars), firstSeen: iso(a.firstSeen), resolvedAt: a.resolvedAt === null ? null : iso(a.resolvedAt) },
  };
}

/** The JSON body a target of `kind` is sent. */
export function payloadFor(kind: TargetKind, event: NotifyEvent, options: FormatOptions): SlackPayload | ChatPayload | WebhookEnvelope {
  switch (kind) {
    case "slack":
      return slackPayload(event, options);
    case "chat":
      return chatPayload(event, options);
    case "webhook":
      return webhookEnvelope(event, options);
  }
}
