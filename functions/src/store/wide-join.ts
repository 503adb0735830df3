/**
 * The wide-join protocol: how the need of a join with many needs (engine/release.ts
 * FAN_IN_THRESHOLD) is recorded and counted without a hot document, and how the join decides
 * over the counts (engine/release.ts decideWideJoinRelease). store/tasks.ts releaseDependent
 * hands a wide join's release here.
 */
import { AggregateField, GrpcStatus, type CollectionReference, type DocumentReference, type Firestore } from "firebase-admin/firestore";
import { arrivalOutcome, decideWideJoinRelease, type ArrivalCounts, type WideJoinEdge } from "../engine/release";
import type { EngineTiming } from "../engine/task";
import type { TaskStatus } from "../schema/task";
import { grpcCode } from "../clients/grpc-code";
import { readTask } from "./converters";
import { compareAndSet, isLostRace, retryAborted, type CasDecision } from "./firestore";
import { groupCommit, sharedRead, WriteList } from "./group-commit";
import { COLLECTIONS } from "./paths";
import { inParallel } from "../runtime/parallel";
import type { Released } from "./tasks";

/**
 * A wide join records each arrival in its own document instead of updating itself (thousands of
 * needs finishing at once would otherwise contend on one document), under its need's group
 * (engine/release.ts wideJoinEdge): `tasks/{join}/arrivalGroups/{group}/arrivals/{need}`.
 * An arrival counts only its own group; the one that fills the group writes the group's outcome
 * to the group document and counts the filled groups; the one that finds every group filled adds
 * up the groups' outcomes and decides. A need that did not succeed may decide at once: the trigger
 * rules are monotone, so what one failure or skip decides, later arrivals cannot undo. The join's
 * own transition is a compare-and-set: of the last arrivals that all find it decidable, only the
 * first write applies.
 */
export async function releaseWideJoin(db: Firestore, ref: DocumentReference, wide: WideJoinEdge, need: string, needStatus: TaskStatus, clock: () => number, timing: EngineTiming): Promise<Released> {
  const groups = ref.collection(COLLECTIONS.arrivalGroups);
  const group = groups.doc(String(wide.group));
  const arrivals = group.collection(COLLECTIONS.arrivals);
  // Created once: settling the need again (after a crash) writes nothing and goes on to decide.
  const outcome = arrivalOutcome(needStatus);
  await createOnce(arrivals.doc(need), { status: needStatus, ...outcome, at: clock() });
  if (needStatus !== "succeeded") {
    const early = await decideWideJoin(db, ref, outcome, need, clock, timing);
    if (early.became !== null) return early;
  }
  // One aggregation read gives the group's count and outcome from one snapshot.
  const inGroup = await sumOutcomes(arrivals);
  if (inGroup.done < wide.groupNeeds) return { became: null, attempt: 0 };
  // The group is full, and a full group's arrivals do not change (until a redrive, which stops the plan first).
  await createOnce(group, { ...inGroup, at: clock() });
  const all = await sumOutcomes(groups);
  if (all.count < wide.groups) return { became: null, attempt: 0 };
  if (all.done === all.succeeded) return decideWideJoin(db, ref, all, need, clock, timing);
  const checked = await recheckGroupsWithFailures(groups);
  return checked === undefined ? { became: null, attempt: 0 } : decideWideJoin(db, ref, checked, need, clock, timing);
}

/**
 * A group's record is written once, from a full group. A redrive removes the arrivals that did
 * not succeed (and their groups' records) while late arrivals of the failed run may still be
 * settling, so a record written from a read just before the removal can claim a failure that is
 * gone. Before a failure or skip decides a join, the groups that report one are summed again from
 * their arrivals: a group no longer full loses its record (its last arrival writes it again) and
 * the join waits; otherwise the fresh sums decide. Successful joins never pay for this.
 */
async function recheckGroupsWithFailures(groups: CollectionReference): Promise<ArrivalCounts | undefined> {
  const records = (await groups.get()).docs;
  const counts: ArrivalCounts = { done: 0, succeeded: 0, failed: 0 };
  let full = true;
  await inParallel(8, records, async (record) => {
    const stored = { done: Number(record.get("done")), succeeded: Number(record.get("succeeded")), failed: Number(record.get("failed")) };
    const sums = stored.done === stored.succeeded ? stored : await sumOutcomes(record.ref.collection(COLLECTIONS.arrivals));
    if (sums.done < stored.done) {
      full = false;
      // Only the stale record: one written again since (by the group's last arrival) stays.
      await record.ref.delete({ lastUpdateTime: record.updateTime }).catch((error: unknown) => {
        if (!isLostRace(error) && grpcCode(error) !== GrpcStatus.NOT_FOUND) throw error;
      });
      return;
    }
    for (const k of ["done", "succeeded", "failed"] as const) counts[k] += sums[k];
  });
  return full ? counts : undefined;
}

/**
 * Documents in `collection`, and the sums of their `done`, `succeeded` and `failed`: one
 * aggregation, issued after the call. Arrivals of one group that finish together in one process
 * share it (group-commit.ts sharedRead): a 5,000-way fan-in's neighbours run at once and land in the
 * same groups, so most of them count in one read instead of one each.
 */
function sumOutcomes(collection: CollectionReference): Promise<{ count: number } & ArrivalCounts> {
  return sharedRead(collection.firestore, collection.path, async () => {
    const snap = await collection
      .aggregate({ count: AggregateField.count(), done: AggregateField.sum("done"), succeeded: AggregateField.sum("succeeded"), failed: AggregateField.sum("failed") })
      .get();
    const data = snap.data();
    return { count: data.count, done: Number(data.done), succeeded: Number(data.succeeded), failed: Number(data.failed) };
  });
}

/** The join's trigger rule over what has arrived (all of it, or a lower bound): a compare-and-set. */
function decideWideJoin(db: Firestore, ref: DocumentReference, counts: ArrivalCounts, need: string, clock: () => number, timing: EngineTiming): Promise<Released> {
  return compareAndSet(db, ref, (snap): CasDecision<Released> => {
    const now = clock();
    const join = readTask(snap);
    if (join === undefined) return { result: { became: null, attempt: 0 } };
    const change = decideWideJoinRelease(join, counts, need, now, timing);
    if (change === undefined) return { result: { became: null, attempt: join.attempt } };
    return { result: { became: change.became, attempt: join.attempt, task: { ...join, ...change.update } }, update: change.update };
  });
}

/** Creates a document unless it exists (a repeated settle finds it there); in a group commit. */
async function createOnce(ref: DocumentReference, data: Record<string, unknown>): Promise<void> {
  await retryAborted(() => groupCommit(ref.firestore, new WriteList().create(ref, data).writes)).catch((error: unknown) => {
    if (grpcCode(error) !== GrpcStatus.ALREADY_EXISTS) throw error;
  });
}
