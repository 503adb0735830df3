/** What the router needs from the outside world, injected so unit tests replace each part. */
import type { Firestore } from "firebase-admin/firestore";
import type { VerifyIdToken } from "./auth";

/** The Firebase web config the page signs in with, and the emulators to use locally. */
export interface WebConfig {
  projectId: string;
  apiKey: string;
  authDomain: string;
  /** Set only when the function runs in the Emulator Suite. */
  emulators: { auth?: string; firestore?: { host: string; port: number } };
}

export interface ApiContext {
  db: Firestore;
  verifyIdToken: VerifyIdToken;
  publish: (topic: string, messages: readonly object[]) => Promise<void>;
  now: () => number;
  /** Ids for new plans and commands without one. */
  newId: () => string;
  /** `ORCHESTRATOR_PUBLIC_STATUS`: environment health, uptime and open alerts readable without signing in. */
  publicStatus: boolean;
  web: WebConfig;
}
