/**
 * What the notifier announces, in one shape whatever topic it came from: alert changes from
 * `orchestrator-alerts` (the health runs' AlertMessage) and approval gates that started waiting,
 * from `orchestrator-notifications` (this module's GateWaitingMessage). Each event has a key that
 * names the occurrence itself, not the message, so the same change published twice (or delivered
 * twice) is one event and each target hears of it once. Pure.
 */
import { z } from "zod";
import type { AlertMessage } from "../schema/health";

export const NOTIFY_EVENT_TYPES = ["alert.raised", "alert.escalated", "alert.resolved", "gate.waiting"] as const;
export type NotifyEventType = (typeof NOTIFY_EVENT_TYPES)[number];

/** `orchestrator-notifications` message: an approval gate's attempt started waiting (runtime/run-task.ts). */
export const gateWaitingMessageSchema = z.object({
  type: z.literal("gate.waiting"),
  planId: z.string().min(1).max(200),
  planName: z.string().max(200).nullable(),
  taskId: z.string().min(1).max(200),
  taskName: z.string().max(200).nullable(),
  attempt: z.number().int().min(1),
  /** Who may approve (the gate's own, else the plan's); empty: any operator. */
  approvers: z.array(z.string().max(320)).max(100),
  requiredApprovals: z.number().int().min(1),
  prompt: z.string().max(2000).nullable(),
  /** Epoch ms the gate times out. */
  deadline: z.number(),
  /** Epoch ms it started waiting. */
  at: z.number(),
});
export type GateWaitingMessage = z.output<typeof gateWaitingMessageSchema>;

/** Every message the notifications topic carries, by `type` (one kind today). */
export const notificationMessageSchema = z.discriminatedUnion("type", [gateWaitingMessageSchema]);
export type NotificationMessage = z.output<typeof notificationMessageSchema>;

export interface AlertEventFields {
  id: string;
  key: string;
  kind: "check" | "goal" | "compliance";
  severity: "info" | "warning" | "critical";
  environmentId: string | null;
  integration: string | null;
  title: string;
  message: string;
  firstSeen: number;
  resolvedAt: number | null;
  runId: string;
}

export type GateEventFields = Omit<GateWaitingMessage, "type" | "at">;

export type NotifyEvent =
  | { type: "alert.raised" | "alert.escalated" | "alert.resolved"; key: string; occurredAt: number; alert: AlertEventFields }
  | { type: "gate.waiting"; key: string; occurredAt: number; gate: GateEventFields };

const ALERT_TYPES = { opened: "alert.raised", escalated: "alert.escalated", resolved: "alert.resolved" } as const;

export function alertEvent(message: AlertMessage): NotifyEvent {
  const a = message.alert;
  const type = ALERT_TYPES[message.type];
  // An alert is raised and resolved once; it may escalate once per severity it reaches.
  const key = type === "alert.escalated" ? `${type}:${a.id}:${a.severity}` : `${type}:${a.id}`;
  return {
    type,
    key,
    occurredAt: type === "alert.resolved" ? (a.resolvedAt ?? a.lastSeen) : a.lastSeen,
    alert: {
      id: a.id,
      key: a.key,
      kind: a.kind,
      severity: a.severity,
      environmentId: a.environmentId,
      integration: a.integration,
      title: a.title,
      message: a.message,
      firstSeen: a.firstSeen,
      resolvedAt: a.resolvedAt,
      runId: message.runId,
    },
  };
}

export function notificationEvent(message: NotificationMessage): NotifyEvent {
  const { type, at, ...gate } = message;
  return { type, key: `${type}:${gate.planId}/${gate.taskId}#${gate.attempt}`, occurredAt: at, gate };
}

/** One line that says what happened, for logs, delivery records and the local receiver. */
export function summaryOf(event: NotifyEvent): string {
  if (event.type === "gate.waiting") {
    const g = event.gate;
    return `${g.planName ?? g.planId}: ${g.taskName ?? g.taskId} waits for approval`;
  }
  return event.alert.title;
}
