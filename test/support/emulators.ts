/**
 * Shared set-up for suites that run inside `firebase emulators:exec`: the emulator hosts come from
 * the environment the suite sets; the project is the local demo project.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";

export const PROJECT_ID = process.env.GCLOUD_PROJECT ?? "demo-orchestrator";

export function requireEmulators(...names: Array<"FIRESTORE_EMULATOR_HOST" | "PUBSUB_EMULATOR_HOST">): void {
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length > 0) {
    throw new Error(`${missing.join(", ")} not set: run this suite through \`npm test\` (it starts the emulators)`);
  }
  process.env.GCLOUD_PROJECT ??= PROJECT_ID;
}

export function testFirestore(): Firestore {
  requireEmulators("FIRESTORE_EMULATOR_HOST");
  if (!getApps().some((a) => a.name === "[DEFAULT]")) initializeApp({ projectId: PROJECT_ID });
  return getFirestore();
}

/** Deletes every document in the emulator's database (emulator-only REST endpoint). */
export async function clearFirestore(): Promise<void> {
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  const response = await fetch(`http://${host}/emulator/v1/projects/${PROJECT_ID}/databases/(default)/documents`, { method: "DELETE" });
  if (!response.ok) throw new Error(`clearing Firestore failed: ${response.status}`);
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
