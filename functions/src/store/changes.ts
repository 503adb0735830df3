/**
 * `plans/{planId}/changes/{entryId}`: the write-ahead change journal of the `firebase` executor.
 * A provision writes an entry (`intended`) before each mutating call and marks it `applied` with
 * what the call made; a compensation reads the task's entries that are not undone yet and settles
 * each one. The change and its before-image are kept as JSON text: Firestore refuses some shapes
 * API resources have (nested arrays), and nothing queries inside them.
 */
import { randomBytes } from "node:crypto";
import type { Firestore } from "firebase-admin/firestore";
import type { Change, ChangeJournal, EntryStatus, JournalEntry, Made, UndoOutcome } from "../executors/firebase/change-set";
import { changesOf } from "./paths";

interface StoredEntry {
  taskId: string;
  at: number;
  index: number;
  runKey: string;
  resource: string;
  action: Change["action"];
  status: EntryStatus;
  change: string;
  made: string | null;
  undo: string | null;
}

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export function changeJournal(db: Firestore, planId: string, taskId: string, runKey: string, now: () => number = Date.now): ChangeJournal {
  const col = changesOf(db, planId);
  return {
    async intend(change, index) {
      const at = now();
      const id = `${taskId}~${String(at).padStart(13, "0")}~${String(index).padStart(3, "0")}~${randomBytes(3).toString("hex")}`;
      const entry: StoredEntry = { taskId, at, index, runKey, resource: change.resource, action: change.action, status: "intended", change: JSON.stringify(change), made: null, undo: null };
      await col.doc(id).create(entry);
      return id;
    },
    async applied(entryId, made) {
      await col.doc(entryId).update({ status: "applied", made: JSON.stringify(made) });
    },
    async pending() {
      const snap = await col.where("taskId", "==", taskId).get();
      return snap.docs
        .map((d): JournalEntry => {
          const s = d.data() as StoredEntry;
          return { id: d.id, at: s.at, index: s.index, runKey: s.runKey, status: s.status, change: parse<Change>(s.change)!, made: parse<Made>(s.made), undo: parse<UndoOutcome>(s.undo) };
        })
        .filter((e) => e.status !== "undone")
        .sort((a, b) => a.at - b.at || a.index - b.index || (a.id < b.id ? -1 : 1));
    },
    async settle(entryId, status, outcome) {
      await col.doc(entryId).update({ status, undo: JSON.stringify(outcome) });
    },
  };
}
