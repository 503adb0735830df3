/**
 * Lazy access to firebase-admin's Firestore: nothing initialises at import time, so tests and the
 * local stack decide the project and emulator before the first call.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, type DocumentReference, type DocumentSnapshot, type Firestore, type WriteBatch } from "firebase-admin/firestore";

let db: Firestore | undefined;

export function firestore(): Firestore {
  if (db === undefined) {
    // Look for the default app by name: the functions emulator may have created others.
    if (!getApps().some((app) => app.name === "[DEFAULT]")) initializeApp();
    db = getFirestore();
  }
  return db;
}

const ABORTED = 10;
const FAILED_PRECONDITION = 9;

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
      const code = (error as { code?: unknown }).code;
      if (code !== ABORTED || attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt + Math.random() * 50));
    }
  }
}

/** What a compare-and-set decided: its result, and the writes to make if the document is unchanged. */
export interface CasDecision<R> {
  result: R;
  /** The change to the document itself, applied only if nobody wrote it since it was read. */
  update?: Record<string, unknown>;
  /** Other writes that commit atomically with it (e.g. a history record). */
  alongside?: (batch: WriteBatch) => void;
}

/**
 * Read, decide, write one document with an update-time precondition: optimistic concurrency
 * control. It has a transaction's guarantee for one document (the write applies only to the state
 * that was read, atomically with its `alongside` writes) but holds no lock between the read and
 * the write, so thousands of tasks of one plan move at once without queueing on each other (the
 * emulator's pessimistic locks time out under that). On a lost race it reads again and decides
 * again. `fieldMask` reads only the fields the decision needs (a plan document carries its whole
 * spec); `alsoRead` runs in parallel with the read, its result unguarded.
 */
export async function compareAndSet<R, X = undefined>(
  db: Firestore,
  ref: DocumentReference,
  decide: (snap: DocumentSnapshot, extra: X) => CasDecision<R>,
  options: { fieldMask?: string[]; alsoRead?: () => Promise<X>; attempts?: number } = {},
): Promise<R> {
  const attempts = options.attempts ?? 15;
  for (let attempt = 1; ; attempt++) {
    const [[snap], extra] = await Promise.all([
      options.fieldMask === undefined ? db.getAll(ref) : db.getAll(ref, { fieldMask: options.fieldMask }),
      options.alsoRead?.() as Promise<X>,
    ]);
    const decision = decide(snap!, extra);
    if (decision.update === undefined) return decision.result;
    if (!snap!.exists) throw new Error(`compare-and-set: ${ref.path} does not exist`);
    const batch = db.batch();
    batch.update(ref, decision.update, { lastUpdateTime: snap!.updateTime! });
    decision.alongside?.(batch);
    try {
      await batch.commit();
      return decision.result;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if ((code !== FAILED_PRECONDITION && code !== ABORTED) || attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, Math.min(1_000, 10 * 2 ** attempt) * Math.random()));
    }
  }
}
