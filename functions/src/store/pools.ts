/**
 * Pools: slots that bound how many attempts run at once, across plans, like Airflow's pools. A task
 * names the pools it takes a slot in (schema/task.ts `pools`): its plan's own, `plan-<planId>`, sized
 * by the plan's `maxParallel`, and a named one, `pools/{id}`, sized by operators.
 *
 * - `pools/{id}`: `{slots, description}` (a named pool; operators write it through the API).
 * - `pools/{id}/slots/{n}`, n < slots: one attempt holds it while it runs, until its lease ends.
 * - `pools/{id}/waiters/{planId~taskId}`: a task that found the pool full, with its plan's priority.
 *
 * A slot is a document of its own, taken by a create (or by taking over one whose holder's lease
 * has passed, preconditioned on the version read), so two attempts never hold one slot and no
 * counter document is hot. A release deletes it (preconditioned the same way, so a slot taken over
 * is never freed by its old holder) and wakes the waiter that goes first: highest priority, then
 * longest waiting. A wake-up that is lost (a crash between the release and the publish) is made up
 * by the sweeper, which looks at a waiting task again after SLOT_RECHECK_MS.
 */
import { GrpcStatus, type DocumentReference, type Firestore, type QueryDocumentSnapshot, type Timestamp } from "firebase-admin/firestore";
import { z } from "zod";
import { grpcCode } from "../clients/grpc-code";
import type { TaskReadyMessage } from "../schema/messages";
import type { TaskDoc } from "../schema/task";
import { COLLECTIONS, poolRef } from "./paths";

/** The pool that carries a plan's `maxParallel`. */
export const planPoolId = (planId: string): string => `plan-${planId}`;

/** How long a task waiting for a slot stays out of the sweeper's due list (a release wakes it first). */
export const SLOT_RECHECK_MS = 120_000;

/** Tries at taking a free slot when others take the same one at the same moment. */
const TAKE_TRIES = 6;

export const poolDocSchema = z.object({
  slots: z.number().int().min(1).max(10_000),
  description: z.string().max(500).nullable().default(null),
  updatedAt: z.number().optional(),
  updatedBy: z.string().optional(),
});
export type PoolDoc = z.output<typeof poolDocSchema>;

const waiterSchema = z.object({ planId: z.string(), taskId: z.string(), attempt: z.number().int(), priority: z.number().int(), since: z.number() });

const slotsOf = (db: Firestore, poolId: string) => poolRef(db, poolId).collection(COLLECTIONS.slots);
const waitersOf = (db: Firestore, poolId: string) => poolRef(db, poolId).collection(COLLECTIONS.waiters);
const waiterId = (task: Pick<TaskDoc, "planId" | "id">) => `${task.planId}~${task.id}`;

/** A slot held by this process: what renewing and releasing it need (`writeTime`: its last write, a precondition of the next). */
export interface HeldSlot {
  poolId: string;
  ref: DocumentReference;
  writeTime: Timestamp;
}

/** Named pools' sizes, read at most every POOL_CACHE_MS per process: one read per pool, not per task. */
const POOL_CACHE_MS = 10_000;
const poolCache = new Map<string, { at: number; size: number | undefined }>();

/** The number of slots of a task's pool entry: its own (a plan's `maxParallel`), or the named pool's; undefined: no such pool. */
export async function poolSize(db: Firestore, entry: TaskDoc["pools"][number], now: number): Promise<number | undefined> {
  if (entry.slots !== null) return entry.slots;
  const cached = poolCache.get(entry.id);
  if (cached !== undefined && now - cached.at < POOL_CACHE_MS) return cached.size;
  const snap = await poolRef(db, entry.id).get();
  const parsed = snap.exists ? poolDocSchema.safeParse(snap.data()) : undefined;
  const size = parsed?.success === true ? parsed.data.slots : undefined;
  poolCache.set(entry.id, { at: now, size });
  return size;
}

/** Forgets cached pool sizes (after an operator's write in this process, and in tests). */
export function forgetPoolSizes(): void {
  poolCache.clear();
}

/**
 * A pool's slot documents (`{owner, planId, taskId, attempt, expiresAt, at}`), and those live now:
 * their holder's lease has not passed. A slot's lease is about a live process, so it is read on the
 * wall clock (`Date.now()`), whatever clock the attempt runs on.
 */
async function readSlots(db: Firestore, poolId: string): Promise<{ all: QueryDocumentSnapshot[]; live: QueryDocumentSnapshot[] }> {
  const snap = await slotsOf(db, poolId).select("expiresAt").get();
  const now = Date.now();
  return { all: snap.docs, live: snap.docs.filter((d) => Number(d.get("expiresAt")) > now) };
}

/** How many of a pool's slots are free now (0 when full). */
export async function freeSlots(db: Firestore, poolId: string, size: number): Promise<number> {
  return Math.max(0, size - (await readSlots(db, poolId)).live.length);
}

/**
 * Takes a free slot of the pool for this process (`owner`), first for `task`, held for `leaseMs`
 * unless renewed or released; `full` when `size` slots are held and live. A slot whose holder
 * stopped renewing it (the process died) is free once it expires (readSlots).
 */
/** Slot indices this process is taking right now, by pool: its concurrent takes pick different ones instead of colliding. */
const takingHere = new Map<string, Set<string>>();

export async function takeSlot(
  db: Firestore,
  poolId: string,
  size: number,
  task: Pick<TaskDoc, "planId" | "id" | "attempt">,
  owner: string,
  leaseMs: number,
  at: number,
  random: () => number = Math.random,
): Promise<HeldSlot | "full"> {
  for (let tries = 0; tries < TAKE_TRIES; tries++) {
    const { all, live } = await readSlots(db, poolId);
    const data = { owner, planId: task.planId, taskId: task.id, attempt: task.attempt, expiresAt: Date.now() + leaseMs, at };
    if (live.length >= size) return "full";
    const byIndex = new Map(all.map((d) => [d.id, d]));
    const liveIds = new Set(live.map((d) => d.id));
    const taking = takingHere.get(poolId) ?? new Set<string>();
    takingHere.set(poolId, taking);
    const free = Array.from({ length: size }, (_, n) => String(n)).filter((n) => !liveIds.has(n) && !taking.has(n));
    if (free.length === 0) return "full";
    const pick = free[Math.floor(random() * free.length)]!;
    const ref = slotsOf(db, poolId).doc(pick);
    const stale = byIndex.get(pick);
    taking.add(pick);
    try {
      // A free index: created; one whose holder's lease passed: taken over, only as it was read.
      const written = stale === undefined ? await ref.create(data) : await ref.update(data, { lastUpdateTime: stale.updateTime });
      return { poolId, ref, writeTime: written.writeTime };
    } catch (error) {
      const code = grpcCode(error);
      if (code === GrpcStatus.ALREADY_EXISTS || code === GrpcStatus.FAILED_PRECONDITION) continue;
      throw error;
    } finally {
      taking.delete(pick);
    }
  }
  return "full";
}

/** Moves a held slot's expiry on; false when it was taken over since (this process stopped renewing it in time). */
export async function renewSlot(slot: HeldSlot, expiresAt: number): Promise<boolean> {
  try {
    slot.writeTime = (await slot.ref.update({ expiresAt }, { lastUpdateTime: slot.writeTime })).writeTime;
    return true;
  } catch (error) {
    const code = grpcCode(error);
    if (code === GrpcStatus.FAILED_PRECONDITION || code === GrpcStatus.NOT_FOUND) return false;
    throw error;
  }
}

/** Frees a slot this process holds (never one taken over since); best effort: an expired slot is free anyway. */
export async function releaseSlot(slot: HeldSlot): Promise<void> {
  try {
    await slot.ref.delete({ lastUpdateTime: slot.writeTime });
  } catch (error) {
    const code = grpcCode(error);
    if (code !== GrpcStatus.FAILED_PRECONDITION && code !== GrpcStatus.NOT_FOUND) throw error;
  }
}

/** Records that a task waits for a slot of the pool (once per task: a later wait replaces it). */
export async function addWaiter(db: Firestore, poolId: string, task: Pick<TaskDoc, "planId" | "id" | "attempt" | "priority">, now: number): Promise<void> {
  await waitersOf(db, poolId).doc(waiterId(task)).set({ planId: task.planId, taskId: task.id, attempt: task.attempt, priority: task.priority, since: now });
}

export async function removeWaiter(db: Firestore, poolId: string, task: Pick<TaskDoc, "planId" | "id">): Promise<void> {
  await waitersOf(db, poolId).doc(waiterId(task)).delete();
}

/**
 * Takes up to `count` waiters of the pool off its queue, first the highest priority, then the
 * longest waiting, and returns the task-ready messages that wake them. Each is removed with an
 * exists precondition, so two releases never wake the same waiter twice.
 */
export async function takeWaiters(db: Firestore, poolId: string, count: number): Promise<TaskReadyMessage[]> {
  if (count <= 0) return [];
  const queue = await waitersOf(db, poolId).orderBy("priority", "desc").orderBy("since", "asc").limit(count).get();
  const woken: TaskReadyMessage[] = [];
  for (const doc of queue.docs) {
    const waiter = waiterSchema.safeParse(doc.data());
    try {
      await doc.ref.delete({ exists: true });
    } catch (error) {
      if (grpcCode(error) === GrpcStatus.NOT_FOUND) continue;
      throw error;
    }
    if (waiter.success) woken.push({ planId: waiter.data.planId, taskId: waiter.data.taskId, attempt: waiter.data.attempt, phase: "run" });
  }
  return woken;
}

/** A named pool as the API shows it: its size, and how many slots are held and tasks wait now. */
export interface PoolView extends PoolDoc {
  id: string;
  inUse: number;
  waiting: number;
}

/** Every named pool (plans' own `maxParallel` pools are not listed: they have no document), its slots in use as takeSlot counts them (readSlots). */
export async function readPools(db: Firestore): Promise<{ pools: PoolView[]; unreadable: string[] }> {
  const snap = await db.collection(COLLECTIONS.pools).get();
  const pools: PoolView[] = [];
  const unreadable: string[] = [];
  await Promise.all(
    snap.docs.map(async (doc) => {
      const parsed = poolDocSchema.safeParse(doc.data());
      if (!parsed.success) return void unreadable.push(doc.id);
      const [held, waiting] = await Promise.all([readSlots(db, doc.id), waitersOf(db, doc.id).count().get()]);
      pools.push({ id: doc.id, ...parsed.data, inUse: held.live.length, waiting: waiting.data().count });
    }),
  );
  return { pools: pools.sort((a, b) => a.id.localeCompare(b.id)), unreadable: unreadable.sort() };
}

/**
 * Creates or resizes a named pool; without a `description`, the one it has stays. Attempts holding
 * slots past a smaller size finish; no new one starts until it fits. Answers what it wrote.
 */
export async function writePool(db: Firestore, id: string, spec: { slots: number; description?: string | null | undefined }, by: string, now: number): Promise<{ slots: number; description: string | null }> {
  const written = await db.runTransaction(async (tx) => {
    const ref = poolRef(db, id);
    const before = await tx.get(ref);
    const kept = before.exists ? poolDocSchema.safeParse(before.data()) : undefined;
    const description = spec.description !== undefined ? spec.description : kept?.success === true ? kept.data.description : null;
    tx.set(ref, { slots: spec.slots, description, updatedAt: now, updatedBy: by });
    return { slots: spec.slots, description };
  });
  forgetPoolSizes();
  return written;
}

/** Deletes a named pool's document: tasks that name it fail from then on (`pool_missing`); held slots and waiters stay until they end. */
export async function deletePool(db: Firestore, id: string): Promise<boolean> {
  const ref = poolRef(db, id);
  if (!(await ref.get()).exists) return false;
  await ref.delete();
  forgetPoolSizes();
  return true;
}
