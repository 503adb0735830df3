/**
 * `plans/{planId}` updated → a plan's spec is immutable once written: a change to the user's
 * fields is recorded in the plan's history and ignored (a change is a new plan, or a command).
 * The orchestrator's own status writes change only system fields and pass silently, except one:
 * an environment plan that ends asks for a health run, so the environments it touched show as they
 * are now (on the page, in goals and alerts), not as they were at the last scheduled run, and
 * its provisions' durations are recorded for the planner's estimates.
 */
import { isDeepStrictEqual } from "node:util";
import type { Change, FirestoreEvent, QueryDocumentSnapshot } from "firebase-functions/v2/firestore";
import { publishJson } from "../bus/publish";
import { TOPICS } from "../config";
import { FINAL_PLAN_STATUSES } from "../engine/plan";
import { logs } from "../logs";
import type { HealthRunRequest } from "../schema/health";
import { userSpecOf } from "../schema/plan";
import { appendEvent } from "../store/events";
import { learnFromRun } from "../runtime/learn";
import { firestore } from "../store/firestore";

/**
 * The health run an update asks for: when it moved an environment plan that ran (not a dry run,
 * not one stopped before it compiled) into a final status. A redelivered update asks again; a
 * second run is harmless.
 */
export function healthRunAfter(planId: string, before: Record<string, unknown>, after: Record<string, unknown>): HealthRunRequest | undefined {
  const status = after.status;
  if (typeof status !== "string" || status === before.status || !FINAL_PLAN_STATUSES.has(status as never)) return undefined;
  if ((after.compiled as { form?: unknown } | undefined)?.form !== "environments" || after.dryRun === true || status === "planned") return undefined;
  return { requestedBy: `plan ${planId}`.slice(0, 320), reason: `the plan ended ${status}: a fresh look at the environments it touched` };
}

export async function handlePlanUpdated(event: FirestoreEvent<Change<QueryDocumentSnapshot> | undefined, { planId: string }>): Promise<void> {
  if (event.data === undefined) return;
  const request = healthRunAfter(event.params.planId, event.data.before.data(), event.data.after.data());
  if (request !== undefined) {
    // Best effort: the scheduled run comes within minutes anyway.
    await publishJson(TOPICS.healthRuns, [request]).catch((error: unknown) => logs.unexpected(`asking for a health run after plan ${event.params.planId} ended`, error));
    // What its provisions took teaches the planner (and flags what took anomalously long).
    await learnFromRun(firestore(), event.params.planId, Date.now()).catch((error: unknown) => logs.unexpected(`recording the durations of plan ${event.params.planId}`, error));
  }
  const before = userSpecOf(event.data.before.data());
  const after = userSpecOf(event.data.after.data());
  if (isDeepStrictEqual(before, after)) return;
  const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !isDeepStrictEqual(before[k], after[k]));
  const db = firestore();
  await appendEvent(db, event.params.planId, `spec-edit.${event.id}`, {
    at: Date.now(),
    type: "plan.spec_edit_ignored",
    actor: "unknown",
    message: `the plan's spec changed after it was written (${changed.join(", ")}); the change is ignored: write a new plan or send a command`,
    data: { fields: changed },
  });
}
