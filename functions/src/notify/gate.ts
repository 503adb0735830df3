/**
 * Announces an approval gate that started waiting: one message on `orchestrator-notifications`,
 * published after the wait was committed (runtime/run-task.ts). Best effort: the gate waits either
 * way, and the page shows it; a lost announcement is logged, never retried, and never fails or
 * changes the task.
 */
import type { Firestore } from "firebase-admin/firestore";
import { publishJson } from "../bus/publish";
import { TOPICS } from "../config";
import { gateRulesOf } from "../engine/task";
import type { TaskDoc } from "../schema/task";
import { planRef } from "../store/paths";
import type { GateWaitingMessage } from "./events";
import { clip } from "./format";
import { notifyLogs } from "./logs";

/** The message for `task` (waiting for approval), given its plan's `name` and `approvers` fields. */
export function gateWaitingMessage(task: TaskDoc, plan: { name?: unknown; approvers?: unknown }, now: number): GateWaitingMessage {
  const rules = gateRulesOf(task.params, plan.approvers);
  const prompt = task.params.prompt;
  return {
    type: "gate.waiting",
    planId: task.planId,
    planName: typeof plan.name === "string" && plan.name.trim() !== "" ? clip(plan.name, 200) : null,
    taskId: task.id,
    taskName: task.name === null ? null : clip(task.name, 200),
    attempt: task.attempt,
    approvers: rules.approvers.slice(0, 100).map((a) => clip(a, 320)),
    requiredApprovals: rules.requiredApprovals,
    prompt: typeof prompt === "string" && prompt.trim() !== "" ? clip(prompt, 2000) : null,
    deadline: task.waiting?.deadline ?? now,
    at: now,
  };
}

/** Never throws. */
export async function announceGateWaiting(db: Firestore, task: TaskDoc, now: number, publish: typeof publishJson = publishJson): Promise<void> {
  try {
    // Two fields of the plan, not its tasks list: a 5,000-task plan's document is large.
    const [plan] = await db.getAll(planRef(db, task.planId), { fieldMask: ["name", "approvers"] });
    await publish(TOPICS.notifications, [gateWaitingMessage(task, { name: plan?.get("name"), approvers: plan?.get("approvers") }, now)]);
  } catch (error) {
    notifyLogs.gateNotAnnounced(task.planId, task.id, error);
  }
}
