/**
 * `plans/{planId}` updated → a plan's spec is immutable once written: a change to the user's
 * fields is recorded in the plan's history and ignored (a change is a new plan, or a command).
 * The orchestrator's own status writes change only system fields and pass silently.
 */
import { isDeepStrictEqual } from "node:util";
import type { Change, FirestoreEvent, QueryDocumentSnapshot } from "firebase-functions/v2/firestore";
import { userSpecOf } from "../schema/plan";
import { appendEvent } from "../store/events";
import { firestore } from "../store/firestore";

export async function handlePlanUpdated(event: FirestoreEvent<Change<QueryDocumentSnapshot> | undefined, { planId: string }>): Promise<void> {
  if (event.data === undefined) return;
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
