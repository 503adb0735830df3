/**
 * Announcing an approval gate that started waiting: the message says who may approve and until
 * when, and announcing is best effort: a failed read or publish is logged and never thrown, so it
 * cannot fail or change the task (runtime/run-task.ts calls it after the wait is committed).
 */
import type { Firestore } from "firebase-admin/firestore";
import { logger } from "firebase-functions";
import { initialTask } from "../../../functions/src/engine/task";
import { gateWaitingMessageSchema } from "../../../functions/src/notify/events";
import { announceGateWaiting, gateWaitingMessage } from "../../../functions/src/notify/gate";
import type { TaskDoc } from "../../../functions/src/schema/task";
import { T0 } from "./support";

const timing = { leaseMarginMs: 0, redispatchAfterMs: 0 };

function waitingGate(params: Record<string, unknown>, name: string | null = null): TaskDoc {
  const task = initialTask({ planId: "rollout-1", spec: { id: "production.approval", run: "approval", params, needs: [], timeoutSeconds: 72 * 3600, ...(name === null ? {} : { name }) }, dependents: [], level: 0, now: T0, timing });
  return { ...task, status: "waiting_approval", attempt: 2, waiting: { tokenHash: null, deadline: T0 + 72 * 3_600_000, heartbeatSeconds: null } };
}

/** A Firestore whose plan read answers `plan` (or fails), recording what was asked. */
function planReader(plan: Record<string, unknown> | Error) {
  const asked: unknown[] = [];
  const db = {
    collection: (name: string) => ({ doc: (id: string) => ({ path: `${name}/${id}` }) }),
    getAll: async (...args: unknown[]) => {
      asked.push(args);
      if (plan instanceof Error) throw plan;
      return [{ get: (field: string) => plan[field] }];
    },
  };
  return { db: db as unknown as Firestore, asked };
}

describe("announcing a waiting approval gate", () => {
  it("names the plan, the gate, its attempt, who may approve (the gate's own, else the plan's) and the deadline", () => {
    const own = gateWaitingMessage(waitingGate({ approvers: ["release@example.com"], requiredApprovals: 1, prompt: "Ship it?" }, "Production gate"), { name: "Rollout", approvers: ["ops@example.com"] }, T0 + 5);
    expect(own).toEqual({
      type: "gate.waiting",
      planId: "rollout-1",
      planName: "Rollout",
      taskId: "production.approval",
      taskName: "Production gate",
      attempt: 2,
      approvers: ["release@example.com"],
      requiredApprovals: 1,
      prompt: "Ship it?",
      deadline: T0 + 72 * 3_600_000,
      at: T0 + 5,
    });
    expect(gateWaitingMessageSchema.parse(own)).toEqual(own);
    const inherited = gateWaitingMessage(waitingGate({ requiredApprovals: 2 }), { approvers: ["a@example.com", "b@example.com"] }, T0);
    expect(inherited).toMatchObject({ planName: null, taskName: null, approvers: ["a@example.com", "b@example.com"], requiredApprovals: 2, prompt: null });
  });

  it("publishes one message on orchestrator-notifications, reading only the plan's name and approvers", async () => {
    const { db, asked } = planReader({ name: "Rollout", approvers: ["ops@example.com"] });
    const published: Array<[string, readonly object[]]> = [];
    await announceGateWaiting(db, waitingGate({}), T0, async (topic, messages) => void published.push([topic, messages]));
    expect(published).toEqual([["orchestrator-notifications", [expect.objectContaining({ type: "gate.waiting", planName: "Rollout", approvers: ["ops@example.com"], attempt: 2 })]]]);
    expect(asked).toEqual([[{ path: "plans/rollout-1" }, { fieldMask: ["name", "approvers"] }]]);
  });

  it("never throws: a failed read or publish only loses the announcement, and says so in the log", async () => {
    const warn = jest.spyOn(logger, "warn").mockImplementation(() => undefined);
    const failing = async () => {
      throw new Error("pubsub unavailable");
    };
    await expect(announceGateWaiting(planReader({ name: "x" }).db, waitingGate({}), T0, failing)).resolves.toBeUndefined();
    await expect(announceGateWaiting(planReader(new Error("firestore unavailable")).db, waitingGate({}), T0, async () => undefined)).resolves.toBeUndefined();
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringContaining("gate rollout-1/production.approval waits for approval, but announcing it failed (no notification): pubsub unavailable"),
      expect.stringContaining("firestore unavailable"),
    ]);
    warn.mockRestore();
  });
});
