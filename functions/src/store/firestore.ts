/**
 * Lazy access to firebase-admin's Firestore: nothing initialises at import time, so tests and the
 * local stack decide the project and emulator before the first call.
 */
import { randomBytes } from "node:crypto";
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, GrpcStatus, type DocumentData, type DocumentReference, type DocumentSnapshot, type Firestore, type Timestamp } from "firebase-admin/firestore";
import { grpcCode } from "../clients/grpc-code";
import { groupCommit, groupRead, isAmbiguousCommit, WriteList } from "./group-commit";
import { COLLECTIONS } from "./paths";

export { isAmbiguousCommit };

let db: Firestore | undefined;

export function firestore(): Firestore {
  if (db === undefined) {
    // Look for the default app by name: the functions emulator may have created others.
    if (!getApps().some((app) => app.name === "[DEFAULT]")) initializeApp();
    db = getFirestore();
  }
  return db;
}


/**
 * A single (non-transactional) write can be ABORTED when a transaction holds the document's lock
 * for too long (the emulator says "Transaction lock timeout"). Such a write is safe to repeat: it
 * sets the same values again.
 */
export async function retryAborted<T>(write: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (grpcCode(error) !== GrpcStatus.ABORTED || attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt + Math.random() * 50));
    }
  }
}

/** A write lost to a concurrent one: its precondition failed, or its transaction was aborted. Read again and decide again. */
export function isLostRace(error: unknown): boolean {
  const code = grpcCode(error);
  return code === GrpcStatus.FAILED_PRECONDITION || code === GrpcStatus.ABORTED;
}

/**
 * The field in which a compare-and-set's write carries its own random id (task documents only:
 * schema/task.ts `casWrite`). A plan document does not carry it: everything on a plan that is not
 * in SYSTEM_PLAN_FIELDS is the user's spec.
 */
export const CAS_WRITE_FIELD = "casWrite";

/** `plans/{planId}/tasks/{taskId}`: where a compare-and-set marks its writes by default. */
function isTaskDocument(ref: DocumentReference): boolean {
  return ref.parent.id === COLLECTIONS.tasks && ref.parent.parent?.parent.id === COLLECTIONS.plans;
}

/** What a compare-and-set decided: its result, and the writes to make if the document is unchanged. */
export interface CasDecision<R> {
  result: R;
  /** The change to the document itself, applied only if nobody wrote it since it was read. */
  update?: Record<string, unknown>;
  /** Other writes that commit atomically with it (e.g. a history record). */
  alongside?: (writes: WriteList) => void;
}

/** What a decision reads of the guarded document: a snapshot, or the state this process last wrote. */
export type Readable = Pick<DocumentSnapshot, "exists" | "data">;

/** A document as this process last wrote it, and that write's time: the first guess of a compare-and-set. */
export interface KnownState {
  data: DocumentData;
  updateTime: Timestamp;
}

/**
 * Read, decide, write one document with an update-time precondition: optimistic concurrency
 * control. It has a transaction's guarantee for one document (the write applies only to the state
 * that was read, atomically with its `alongside` writes) but holds no lock between the read and
 * the write, so thousands of tasks of one plan move at once without queueing on each other (the
 * emulator's pessimistic locks time out under that). On a lost race it reads again and decides
 * again. `readWith` documents come in the same round trip, unguarded; `fieldMask` (applied to
 * every document read) keeps out what the decision does not need (a plan document carries its
 * whole spec); `known` skips the first read when this process wrote the document last (a worker
 * completing the attempt it claimed), and `committed` receives the write's time, to be the next
 * `known`. Reads and commits go through the group commit (group-commit.ts): concurrent
 * compare-and-sets of one process share round trips, each keeping its own outcome.
 *
 * Ambiguous commits: a write whose answer was lost (DEADLINE_EXCEEDED, UNAVAILABLE: see
 * isAmbiguousCommit) may have applied, and a failed precondition may be this very write, applied
 * and then sent again by the client. So each write of a task document carries a random id in
 * `casWrite` (`writeId`: task documents by default), and after such an error the document is read
 * again: if it carries the id of one of this call's writes, that write applied, and its result is
 * returned as committed (`committed` is called with the state read). Otherwise it was a lost race
 * (FAILED_PRECONDITION, ABORTED, or NOT_FOUND: the document went) or a write that did not apply,
 * and the call decides again on what it read. (If another write followed this one before the read,
 * the id is gone and the call decides on that state, as after any lost race.) A document that
 * carries no write ids rethrows an ambiguous error rather than guess.
 */
export async function compareAndSet<R>(
  db: Firestore,
  ref: DocumentReference,
  decide: (snap: Readable, readWith: DocumentSnapshot[]) => CasDecision<R>,
  options: { fieldMask?: string[]; readWith?: DocumentReference[]; attempts?: number; known?: KnownState; committed?: (state: KnownState) => void; writeId?: boolean } = {},
): Promise<R> {
  const attempts = options.attempts ?? 15;
  const readWith = options.readWith ?? [];
  const markWrites = options.writeId ?? isTaskDocument(ref);
  // Writes of this call whose outcome is unknown, by id: the one the document carries applied.
  const unsure = new Map<string, R>();
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    const guess = attempt === 1 && readWith.length === 0 ? options.known : undefined;
    const read: Array<Readable & { updateTime?: Timestamp }> =
      guess !== undefined ? [{ exists: true, data: () => guess.data, updateTime: guess.updateTime }] : await groupRead(db, [ref, ...readWith], options.fieldMask);
    const [snap, ...others] = read;
    const carried: unknown = unsure.size > 0 && snap!.exists ? snap!.data()?.[CAS_WRITE_FIELD] : undefined;
    if (typeof carried === "string" && unsure.has(carried)) {
      options.committed?.({ data: snap!.data()!, updateTime: snap!.updateTime! });
      return unsure.get(carried)!;
    }
    // One read after the last failure, to find a write that applied; then give up.
    if (attempt > attempts && lastError !== undefined) throw lastError;
    const decision = decide(snap!, others as DocumentSnapshot[]);
    if (decision.update === undefined) {
      // A guess that decides nothing proves nothing: decide again on what is stored.
      if (guess !== undefined) continue;
      return decision.result;
    }
    if (!snap!.exists) throw new Error(`compare-and-set: ${ref.path} does not exist`);
    const writeId = markWrites ? randomBytes(12).toString("base64url") : undefined;
    const update = writeId === undefined ? decision.update : { ...decision.update, [CAS_WRITE_FIELD]: writeId };
    const writes = new WriteList().update(ref, update, { lastUpdateTime: snap!.updateTime! });
    decision.alongside?.(writes);
    try {
      const [written] = await groupCommit(db, writes.writes);
      options.committed?.({ data: { ...snap!.data(), ...update }, updateTime: written!.writeTime });
      return decision.result;
    } catch (error) {
      const ambiguous = isAmbiguousCommit(error);
      const lostRace = isLostRace(error) || grpcCode(error) === GrpcStatus.NOT_FOUND;
      if (!(lostRace || (ambiguous && writeId !== undefined))) throw error;
      if (writeId !== undefined) unsure.set(writeId, decision.result);
      lastError = error;
      if (guess === undefined && attempt < attempts) await new Promise((r) => setTimeout(r, Math.min(1_000, 10 * 2 ** attempt) * Math.random()));
    }
  }
}
