/**
 * The local stack's stand-in for Slack, Google Chat and a JSON webhook: a small HTTP server on
 * loopback (NOTIFY_RECEIVER in local/project.ts) that takes what the notifier functions post to
 * `/slack`, `/chat` and `/webhook` and prints one line per notification in the `npm start`
 * terminal. The local stack points its notify targets here (local/functions-env.ts writes
 * LOCAL_NOTIFY_TARGETS into functions/.env.local and their URLs into functions/.secret.local).
 *
 *   node --import tsx local/notify-receiver.ts    on its own, beside a stack started another way
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { NotifyTarget, TargetKind } from "../functions/src/notify/targets";
import { NOTIFY_RECEIVER } from "./project";

/** The targets the local stack declares unless ORCHESTRATOR_NOTIFY_TARGETS says otherwise: one of each kind. */
export const LOCAL_NOTIFY_TARGETS: readonly NotifyTarget[] = [
  { kind: "slack", secret: "LOCAL_SLACK_WEBHOOK" },
  { kind: "chat", secret: "LOCAL_CHAT_WEBHOOK" },
  { kind: "webhook", secret: "LOCAL_JSON_WEBHOOK" },
];

/** Each local target's secret value: the receiver's URL for its kind. */
export function localNotifyUrls(receiver: { host: string; port: number } = NOTIFY_RECEIVER): Record<string, string> {
  return Object.fromEntries(LOCAL_NOTIFY_TARGETS.map((t) => [t.secret, `http://${receiver.host}:${receiver.port}/${t.kind}`]));
}

export interface ReceivedNotification {
  kind: TargetKind;
  /** The event type the notifier sends along (`X-Orchestrator-Event`). */
  type: string;
  idempotencyKey: string;
  body: unknown;
  /** What the notification says, in one line. */
  summary: string;
  at: number;
}

export interface NotifyReceiver {
  url: string;
  received: ReceivedNotification[];
  stop(): Promise<void>;
}

const KINDS: readonly TargetKind[] = ["slack", "chat", "webhook"];
const MAX_BODY_BYTES = 256 * 1024;

const unescapeSlack = (text: string): string => text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

function summaryOf(kind: TargetKind, body: unknown): string {
  const b = body as { text?: unknown; summary?: unknown } | null;
  const text = kind === "webhook" ? b?.summary : b?.text;
  if (typeof text !== "string") return "(no text)";
  const line = (text.split("\n")[0] ?? "").replace(/\*/g, "");
  return (kind === "slack" ? unescapeSlack(line) : line).slice(0, 160);
}

/** The line the receiver prints, e.g. `🔔 slack   alert.raised     🚨 [CRITICAL] lang-trak-prod hosting http check is down`. */
export function notificationLine(n: ReceivedNotification): string {
  return `🔔 ${n.kind.padEnd(7)} ${n.type.padEnd(16)} ${n.summary}`;
}

/** Starts the receiver (loopback only); `onNotification` sees each one as it arrives. */
export async function startNotifyReceiver(options: { port?: number; onNotification?: (n: ReceivedNotification) => void } = {}): Promise<NotifyReceiver> {
  const received: ReceivedNotification[] = [];
  const server = http.createServer((req, res) => {
    const kind = KINDS.find((k) => req.url === `/${k}`);
    if (req.method !== "POST" || kind === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("POST to /slack, /chat or /webhook\n");
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { "content-type": "text/plain" }).end("too large\n");
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        res.writeHead(400, { "content-type": "text/plain" }).end("not JSON\n");
        return;
      }
      const header = (name: string) => String(req.headers[name] ?? "");
      const n: ReceivedNotification = { kind, type: header("x-orchestrator-event") || "?", idempotencyKey: header("idempotency-key"), body, summary: summaryOf(kind, body), at: Date.now() };
      received.push(n);
      options.onNotification?.(n);
      // What each service answers: Slack a plain "ok", Chat the message it created, a webhook anything 2xx.
      if (kind === "slack") res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      else res.writeHead(200, { "content-type": "application/json" }).end(kind === "chat" ? JSON.stringify({ name: `spaces/local/messages/${received.length}` }) : "{}");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? NOTIFY_RECEIVER.port, NOTIFY_RECEIVER.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${NOTIFY_RECEIVER.host}:${port}`,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (process.argv[1]?.endsWith("notify-receiver.ts")) {
  startNotifyReceiver({ onNotification: (n) => console.log(notificationLine(n)) }).then(
    (r) => console.log(`✓ notification receiver on ${r.url} (/slack, /chat, /webhook); Ctrl-C to stop`),
    (error: unknown) => {
      console.error(`✗ ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
