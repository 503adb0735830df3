/**
 * Lazy access to firebase-admin's Firestore: nothing initialises at import time, so tests and the
 * local stack decide the project and emulator before the first call.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";

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
