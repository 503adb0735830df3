/**
 * Slots around an attempt (store/pools.ts): taken after the claim and before the work, given back
 * after the completion. Waiting kinds (approval, external) and compensations take no slot: a gate
 * waiting for days would hold one, and a rollback must never wait behind the work it undoes.
 *
 * A process keeps the slot documents it took, like a connection pool: an attempt that finishes
 * hands its slot to the next attempt of the same pool in this process (one waiting here, or one that
 * arrives within SLOT_IDLE_MS) without a Firestore write, and a slot is given back to the pool (its
 * document deleted, the first waiter in the pool's queue woken) when it went unused that long, or
 * when this process has kept it SLOT_TURN_MS (so the queue, in priority order, gets its turn).
 * Held slots are renewed every SLOT_LEASE_MS / 3, and a process that dies loses them when they
 * expire. Every document still says who holds it, and at most `size` are ever live.
 *
 * A task whose pool stays full for LOCAL_WAIT_MS gives its claim back unrun (ready on the same
 * attempt, so no attempt is spent) and waits in the pool's queue; a slot given back wakes it.
 */
import { randomUUID } from "node:crypto";
import type { Firestore } from "firebase-admin/firestore";
import { publishTaskReady } from "../bus/publish";
import { logs } from "../logs";
import type { Phase } from "../engine/task";
import type { TaskDoc } from "../schema/task";
import { addWaiter, freeSlots, poolSize, releaseSlot, removeWaiter, renewSlot, takeSlot, takeWaiters, type HeldSlot } from "../store/pools";

/** A held slot's lease: renewed every third of it while this process holds it. */
export const SLOT_LEASE_MS = 60_000;
/** A slot unused this long is given back to the pool. */
export const SLOT_IDLE_MS = 250;
/** A slot this process kept this long goes back to the pool at its next release, so the pool's queue gets its turn. */
export const SLOT_TURN_MS = 2_000;
/** How long an attempt waits here for a slot of this process to come free before it queues (giving its claim back). */
export const LOCAL_WAIT_MS = 2_000;

/** This process, as slot documents name their holder. */
const OWNER = `process-${randomUUID()}`;

export function takesSlots(task: Pick<TaskDoc, "run" | "pools">, phase: Phase): boolean {
  return phase === "run" && task.pools.length > 0 && task.run !== "approval" && task.run !== "external";
}

export type SlotAnswer =
  | { kind: "held"; release: () => Promise<void> }
  /** `size` slots of `poolId` are held, here and elsewhere, and none came free here in LOCAL_WAIT_MS. */
  | { kind: "full"; poolId: string; size: number }
  /** The task names a pool that does not exist (an operator deleted it, or never created it). */
  | { kind: "missing"; poolId: string };

interface LocalSlot {
  held: HeldSlot;
  /** When this process took it from the pool. */
  since: number;
  busy: boolean;
  idle?: NodeJS.Timeout;
}

interface LocalWaiter {
  priority: number;
  arrived: number;
  give: (slot: LocalSlot | undefined) => void;
}

/** This process's slots and the attempts waiting here for one, by pool. */
const slotsHere = new Map<string, LocalSlot[]>();
const waitingHere = new Map<string, LocalWaiter[]>();
let renewal: NodeJS.Timeout | undefined;

/**
 * Takes one slot in each of the task's pools, in the order the task lists them (every attempt takes
 * them in the same order, and none waits in a queue while holding one: a full pool gives back what
 * was taken).
 */
export async function takeSlots(db: Firestore, task: TaskDoc, now: number, random: () => number): Promise<SlotAnswer> {
  const taken: Array<{ poolId: string; slot: LocalSlot }> = [];
  const giveBack = () => Promise.all(taken.map(({ poolId, slot }) => releaseHere(db, poolId, slot)));
  for (const entry of task.pools) {
    const size = await poolSize(db, entry, now);
    if (size === undefined) {
      await giveBack();
      return { kind: "missing", poolId: entry.id };
    }
    const slot = await slotFor(db, entry.id, size, task, now, random);
    if (slot === undefined) {
      await giveBack();
      return { kind: "full", poolId: entry.id, size };
    }
    taken.push({ poolId: entry.id, slot });
  }
  let released = false;
  return {
    kind: "held",
    release: async () => {
      if (released) return;
      released = true;
      await giveBack();
    },
  };
}

/** An idle slot of this process, a new one from the pool, or one handed over here within LOCAL_WAIT_MS. */
async function slotFor(db: Firestore, poolId: string, size: number, task: TaskDoc, now: number, random: () => number): Promise<LocalSlot | undefined> {
  const mine = slotsHere.get(poolId) ?? [];
  const idle = mine.find((s) => !s.busy);
  if (idle !== undefined) return use(idle);
  // Holding the whole pool here, there is nothing to look up: wait for one of this process's own.
  const held = mine.length >= size ? "full" : await takeSlot(db, poolId, size, task, OWNER, SLOT_LEASE_MS, now, random);
  if (held !== "full") {
    const slot: LocalSlot = { held, since: Date.now(), busy: true };
    slotsHere.set(poolId, [...(slotsHere.get(poolId) ?? []), slot]);
    keepRenewing();
    return slot;
  }
  // Full: one of this process's own may come free soon (most attempts are short).
  if ((slotsHere.get(poolId) ?? []).length === 0) return undefined;
  return new Promise<LocalSlot | undefined>((resolve) => {
    const queue = waitingHere.get(poolId) ?? [];
    const waiter: LocalWaiter = { priority: task.priority, arrived: Date.now(), give: (slot) => resolve(slot === undefined ? undefined : use(slot)) };
    // Highest priority first, then in arrival order.
    const at = queue.findIndex((w) => w.priority < waiter.priority);
    queue.splice(at < 0 ? queue.length : at, 0, waiter);
    waitingHere.set(poolId, queue);
    setTimeout(() => {
      const i = queue.indexOf(waiter);
      if (i < 0) return;
      queue.splice(i, 1);
      resolve(undefined);
    }, LOCAL_WAIT_MS).unref?.();
  });
}

function use(slot: LocalSlot): LocalSlot {
  if (slot.idle !== undefined) clearTimeout(slot.idle);
  slot.idle = undefined;
  slot.busy = true;
  return slot;
}

/**
 * An attempt is done with a slot: to the attempt waiting here that goes first; else kept idle for
 * SLOT_IDLE_MS for the next one; back to the pool at once when this process kept it SLOT_TURN_MS.
 */
async function releaseHere(db: Firestore, poolId: string, slot: LocalSlot): Promise<void> {
  slot.busy = false;
  const turnOver = Date.now() - slot.since >= SLOT_TURN_MS;
  const next = turnOver ? undefined : waitingHere.get(poolId)?.shift();
  if (next !== undefined) return next.give(slot);
  if (turnOver) return giveToPool(db, poolId, slot);
  slot.idle = setTimeout(() => void giveToPool(db, poolId, slot), SLOT_IDLE_MS);
  slot.idle.unref?.();
}

/** The slot's document is deleted and the pool's first waiter woken. Best effort: a lost wake-up is the sweeper's (SLOT_RECHECK_MS). */
async function giveToPool(db: Firestore, poolId: string, slot: LocalSlot): Promise<void> {
  if (slot.busy) return;
  forget(poolId, slot);
  try {
    await releaseSlot(slot.held);
    await wakeNext(db, poolId);
  } catch (error) {
    logs.unexpected(`releasing a slot of pool ${poolId}`, error);
  }
}

function forget(poolId: string, slot: LocalSlot): void {
  if (slot.idle !== undefined) clearTimeout(slot.idle);
  const left = (slotsHere.get(poolId) ?? []).filter((s) => s !== slot);
  if (left.length > 0) slotsHere.set(poolId, left);
  else slotsHere.delete(poolId);
}

/** Renews every slot this process holds while it holds any; one taken over since (renewals missed for a lease) is dropped. */
function keepRenewing(): void {
  if (renewal !== undefined) return;
  renewal = setInterval(() => {
    if (slotsHere.size === 0) {
      clearInterval(renewal);
      renewal = undefined;
      return;
    }
    for (const [poolId, slots] of slotsHere) {
      for (const slot of slots) {
        renewSlot(slot.held, Date.now() + SLOT_LEASE_MS).then(
          (kept) => {
            if (!kept) forget(poolId, slot);
          },
          (error: unknown) => logs.unexpected(`renewing a slot of pool ${poolId}`, error),
        );
      }
    }
  }, SLOT_LEASE_MS / 3);
  renewal.unref?.();
}

/** Gives every slot this process holds back to its pool (tests, and a process shutting down). */
export async function releaseAllSlots(db: Firestore): Promise<void> {
  const all = [...slotsHere].flatMap(([poolId, slots]) => slots.map((slot) => ({ poolId, slot })));
  for (const { slot } of all) slot.busy = false;
  await Promise.all(all.map(({ poolId, slot }) => giveToPool(db, poolId, slot)));
}

/** Wakes the first waiter of a pool: a slot is free (given back, or a woken task that no longer waits passes its turn on). */
export async function wakeNext(db: Firestore, poolId: string): Promise<void> {
  const woken = await takeWaiters(db, poolId, 1);
  if (woken.length > 0) await publishTaskReady(woken.map((m) => ({ ...m, wokenBy: poolId })));
}

/**
 * After the claim was given back: the task waits in the pool's queue. A slot freed between the
 * look and this record woke nobody, so the pool is looked at once more, and a free slot dispatches
 * the task again at once.
 */
export async function waitInQueue(db: Firestore, task: TaskDoc, poolId: string, size: number, now: number): Promise<void> {
  await addWaiter(db, poolId, task, now);
  if ((await freeSlots(db, poolId, size)) === 0) return;
  await removeWaiter(db, poolId, task);
  await publishTaskReady([{ planId: task.planId, taskId: task.id, attempt: task.attempt, phase: "run" }]);
}
