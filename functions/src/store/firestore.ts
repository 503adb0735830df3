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
