/**
 * Maintenance and freeze windows (`windows/{id}`, schema/windows.ts): read whole, since there are
 * few (one query per plan start, retry or health run), and written only by the API.
 */
import type { Firestore } from "firebase-admin/firestore";
import { parseWindowDoc, type WindowDoc, type WindowSpec } from "../schema/windows";
import { windowsOf } from "./paths";

/** Bounded: a deployment with more windows than this has a problem the reader reports, not hides. */
export const MAX_WINDOWS = 500;

export interface StoredWindows {
  windows: WindowDoc[];
  /** Documents that do not parse (written around the API), with what is wrong. */
  unreadable: Array<{ id: string; problem: string }>;
}

export async function readWindows(db: Firestore): Promise<StoredWindows> {
  const snap = await windowsOf(db).limit(MAX_WINDOWS + 1).get();
  const result: StoredWindows = { windows: [], unreadable: [] };
  for (const doc of snap.docs.slice(0, MAX_WINDOWS)) {
    const parsed = parseWindowDoc(doc.id, doc.data());
    if (parsed.ok) result.windows.push(parsed.window);
    else result.unreadable.push({ id: doc.id, problem: parsed.problem });
  }
  if (snap.size > MAX_WINDOWS) result.unreadable.push({ id: "(windows)", problem: `more than ${MAX_WINDOWS} windows: remove expired ones` });
  return result;
}

/** Sets (creates or replaces) a window, recording who and when. */
export async function writeWindow(db: Firestore, id: string, spec: WindowSpec, by: string, now: number): Promise<void> {
  // Through JSON: an optional field left out is absent, not undefined (which Firestore refuses).
  await windowsOf(db).doc(id).set({ ...(JSON.parse(JSON.stringify(spec)) as WindowSpec), updatedAt: now, updatedBy: by });
}

/** Deletes a window; false when there was none (two deletes racing both answer true: the window is gone either way). */
export async function deleteWindow(db: Firestore, id: string): Promise<boolean> {
  const ref = windowsOf(db).doc(id);
  if (!(await ref.get()).exists) return false;
  await ref.delete();
  return true;
}
