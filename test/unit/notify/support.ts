/**
 * Shared fixtures of the notifier suites: events as the topics carry them, and a webhook on
 * 127.0.0.1 whose answers each test scripts. Nothing leaves loopback: URLs are loopback or refused
 * before a socket opens, hostnames resolve through an injected lookup, and the agent
 * (test/unit/egress/loopback-agent.ts) refuses any other connection.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { LookupFunction } from "../../../functions/src/egress/request";
import { createEgressPolicy } from "../../../functions/src/egress/policy";
import { alertEvent, notificationEvent, type GateWaitingMessage, type NotifyEvent } from "../../../functions/src/notify/events";
import { MemoryDeliveryStore } from "../../../functions/src/notify/deliveries";
import type { NotifierDeps } from "../../../functions/src/notify/notifier";
import type { notifyLogs } from "../../../functions/src/notify/logs";
import { postJson } from "../../../functions/src/notify/send";
import type { NotifyTarget } from "../../../functions/src/notify/targets";
import type { Alert, AlertMessage } from "../../../functions/src/schema/health";
import { LoopbackAgent } from "../egress/loopback-agent";

export const T0 = Date.parse("2026-11-25T12:00:00.000Z");

export function alert(overrides: Partial<Alert> = {}): Alert {
  return {
    id: "check:prod/hosting/http~abc",
    key: "check:prod/hosting/http",
    kind: "check",
    status: "open",
    severity: "critical",
    environmentId: "prod",
    integration: "hosting",
    title: "prod hosting http check is down",
    message: "HTTP 503 from https://prod.web.app/",
    firstSeen: T0 - 15 * 60_000,
    lastSeen: T0,
    resolvedAt: null,
    openedAfterFailures: 3,
    openedByRun: "sched-1",
    resolvedByRun: null,
    ...overrides,
  };
}

export function alertMessage(type: AlertMessage["type"] = "opened", overrides: Partial<Alert> = {}): AlertMessage {
  return { type, runId: "sched-20261125T120000000Z", alert: alert(overrides) };
}

export function gateMessage(overrides: Partial<GateWaitingMessage> = {}): GateWaitingMessage {
  return {
    type: "gate.waiting",
    planId: "rollout-1",
    planName: "Rollout to production",
    taskId: "production.approval",
    taskName: null,
    attempt: 1,
    approvers: ["ops@example.com"],
    requiredApprovals: 1,
    prompt: "Deploy to production?",
    deadline: T0 + 72 * 3_600_000,
    at: T0,
    ...overrides,
  };
}

export const raised: NotifyEvent = alertEvent(alertMessage("opened"));
export const gate: NotifyEvent = notificationEvent(gateMessage());

/** A Pub/Sub message as the trigger receives it. */
export const pubsubMessage = (body: unknown, messageId = "1001"): { data: string; messageId: string } => ({
  data: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)).toString("base64"),
  messageId,
});

export interface Hit {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/** A webhook on 127.0.0.1: `/<name>` answers with the next of `script(name)`'s statuses (then 200). */
export class Webhook {
  readonly hits: Hit[] = [];
  private readonly scripts = new Map<string, Array<{ status: number; headers?: Record<string, string>; body?: string }>>();
  private server!: http.Server;
  port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const path = (req.url ?? "/").split("?")[0]!;
        this.hits.push({ path, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "null") });
        const next = this.scripts.get(path)?.shift() ?? { status: 200, body: "ok" };
        res.writeHead(next.status, next.headers ?? {}).end(next.body ?? "");
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  script(path: string, ...answers: Array<{ status: number; headers?: Record<string, string>; body?: string }>): void {
    this.scripts.set(path, answers);
  }

  hitsOf(path: string): Hit[] {
    return this.hits.filter((h) => h.path === path);
  }

  reset(): void {
    this.hits.length = 0;
    this.scripts.clear();
  }
}

/** Hostnames the tests use; anything else is "not found" (never real DNS). */
const ZONE: Record<string, Array<{ address: string; family: number }>> = {
  "hooks.example.test": [{ address: "127.0.0.1", family: 4 }],
  "internal.example.com": [{ address: "10.0.0.5", family: 4 }],
  "rebind.example.com": [{ address: "169.254.169.254", family: 4 }],
};
export const testLookup: LookupFunction = async (host) => {
  const answers = ZONE[host];
  if (answers === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
  return answers;
};

export type LogCall = { name: keyof typeof notifyLogs; args: unknown[] };

export interface Rig {
  deps: NotifierDeps;
  store: MemoryDeliveryStore;
  agent: LoopbackAgent;
  waits: number[];
  logged: LogCall[];
}

/** A notifier over memory, the given secrets and targets, posting for real (to loopback) with no real waits. */
export function rig(targets: NotifyTarget[], secrets: Record<string, string>, options: { allow?: string[]; store?: MemoryDeliveryStore; owner?: string; now?: () => number; statusPageUrl?: string | null } = {}): Rig {
  const agent = new LoopbackAgent();
  const waits: number[] = [];
  const logged: LogCall[] = [];
  const store = options.store ?? new MemoryDeliveryStore();
  const policy = createEgressPolicy(options.allow ?? ["127.0.0.0/8"]);
  const log = new Proxy({} as typeof notifyLogs, { get: (_t, name) => (...args: unknown[]) => void logged.push({ name: name as keyof typeof notifyLogs, args }) });
  return {
    store,
    agent,
    waits,
    logged,
    deps: {
      targets,
      store,
      secretValue: (name) => secrets[name],
      post: (url, payload, headers) => postJson(url, payload, headers, { policy, lookup: testLookup, agent, sleep: async (ms) => void waits.push(ms), timeoutMs: 2_000 }),
      now: options.now ?? (() => T0),
      owner: options.owner ?? "owner-1",
      format: { statusPageUrl: options.statusPageUrl === undefined ? "https://status.example.com/" : options.statusPageUrl },
      log,
    },
  };
}
