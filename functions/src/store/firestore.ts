/**
 * Lazy access to firebase-admin's Firestore: nothing initialises at import time, so tests and the
 * local stack decide the project and emulator before the first call.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, GrpcStatus, type DocumentData, type DocumentReference, type DocumentSnapshot, type Firestore, type Timestamp } from "firebase-admin/firestore";
import { grpcCode } from "../clients/grpc-code";
import { groupCommit, groupRead, WriteList } from "./group-commit";

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
 */
export async function compareAndSet<R>(
  db: Firestore,
  ref: DocumentReference,
  decide: (snap: Readable, readWith: DocumentSnapshot[]) => CasDecision<R>,
  options: { fieldMask?: string[]; readWith?: DocumentReference[]; attempts?: number; known?: KnownState; committed?: (state: KnownState) => void } = {},
): Promise<R> {
  const attempts = options.attempts ?? 15;
  const readWith = options.readWith ?? [];
  for (let attempt = 1; ; attempt++) {
    const guess = attempt === 1 && readWith.length === 0 ? options.known : undefined;
    const read: Array<Readable & { updateTime?: Timestamp }> =
      guess !== undefined ? [{ exists: true, data: () => guess.data, updateTime: guess.updateTime }] : await groupRead(db, [ref, ...readWith], options.fieldMask);
    const [snap, ...others] = read;
    const decision = decide(snap!, others as DocumentSnapshot[]);
    if (decision.update === undefined) {
      // A guess that decides nothing proves nothing: decide again on what is stored.
      if (guess !== undefined) continue;
      return decision.result;
    }
    if (!snap!.exists) throw new Error(`compare-and-set: ${ref.path} does not exist`);
    const writes = new WriteList().update(ref, decision.update, { lastUpdateTime: snap!.updateTime! });
    decision.alongside?.(writes);
    try {
      const [written] = await groupCommit(db, writes.writes);
      options.committed?.({ data: { ...snap!.data(), ...decision.update }, updateTime: written!.writeTime });
      return decision.result;
    } catch (error) {
      if (!isLostRace(error) || attempt >= attempts) throw error;
      if (guess === undefined) await new Promise((r) => setTimeout(r, Math.min(1_000, 10 * 2 ** attempt) * Math.random()));
    }
  }
}
