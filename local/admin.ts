/** firebase-admin for local commands, pointed at the emulators before its first use. */
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";
import { emulatorClientEnv, PROJECT_ID } from "./project";

export function localFirestore(): Firestore {
  Object.assign(process.env, emulatorClientEnv());
  if (!getApps().some((app) => app.name === "[DEFAULT]")) initializeApp({ projectId: PROJECT_ID });
  return getFirestore();
}
