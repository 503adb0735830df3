/** The only place that knows where documents live. */
import type { CollectionReference, DocumentReference, Firestore } from "firebase-admin/firestore";

export const COLLECTIONS = {
  plans: "plans",
  tasks: "tasks",
  events: "events",
  deadLetters: "deadLetters",
  arrivalGroups: "arrivalGroups",
  arrivals: "arrivals",
  locks: "locks",
  outputs: "outputs",
  outbox: "outbox",
  changes: "changes",
  windows: "windows",
  stats: "stats",
  pools: "pools",
  slots: "slots",
  waiters: "waiters",
} as const;

export const planRef = (db: Firestore, planId: string): DocumentReference => db.collection(COLLECTIONS.plans).doc(planId);
export const tasksOf = (db: Firestore, planId: string): CollectionReference => planRef(db, planId).collection(COLLECTIONS.tasks);
export const taskRef = (db: Firestore, planId: string, taskId: string): DocumentReference => tasksOf(db, planId).doc(taskId);
export const eventsOf = (db: Firestore, planId: string): CollectionReference => planRef(db, planId).collection(COLLECTIONS.events);
export const deadLetters = (db: Firestore): CollectionReference => db.collection(COLLECTIONS.deadLetters);
/** Task outputs, apart from the tasks: the security rules let only operators read them. */
export const outputRef = (db: Firestore, planId: string, taskId: string): DocumentReference => planRef(db, planId).collection(COLLECTIONS.outputs).doc(taskId);
/** The firebase executor's write-ahead change journal (store/changes.ts): operators only. */
export const changesOf = (db: Firestore, planId: string): CollectionReference => planRef(db, planId).collection(COLLECTIONS.changes);
/** Maintenance and freeze windows (schema/windows.ts): operators set them through the API. */
export const windowsOf = (db: Firestore): CollectionReference => db.collection(COLLECTIONS.windows);
/** What the engine learns from earlier runs (store/durations.ts): functions only. */
export const statsRef = (db: Firestore, id: string): DocumentReference => db.collection(COLLECTIONS.stats).doc(id);
/** Pools of slots (store/pools.ts): operators size them through the API; slots and waiters are functions only. */
export const poolRef = (db: Firestore, poolId: string): DocumentReference => db.collection(COLLECTIONS.pools).doc(poolId);
