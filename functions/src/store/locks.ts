/**
 * Environment locks, `locks/{projectId}`: one running plan per environment, like Terraform state
 * locking. A lock has an owner plan and an expiry that the sweeper renews while the owner is active;
 * a plan that finds a lock taken registers as a waiter on it and is started when it frees.
 */
import { FieldValue, type DocumentReference, type DocumentSnapshot, type Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import { holdsLocks } from "../engine/plan";
import type { PlanState, PlanStatus } from "../schema/plan";
import { PLAN_STATE_FIELDS, readPlanState } from "./converters";
import type { WriteList } from "./group-commit";
import { COLLECTIONS, planRef } from "./paths";

/** A lock outlives a dead run by at most this long; the sweeper renews it for live owners. */
export const LOCK_LEASE_MS = 10 * 60_000;

const lockSchema = z.object({
  owner: z.string(),
  expiresAt: z.number(),
  acquiredAt: z.number(),
  waiters: z.array(z.string()).default([]),
  /**
   * The owner's transition count (`seq`) when it took the lock, or the transition that relied on it
   * since (store/plans.ts `locks`): a release owed by an earlier transition leaves it alone.
   */
  seq: z.number().optional(),
});

/** A lock's fields: read with a plan's state (one masked read) by a transition that relies on it. */
export const LOCK_FIELDS: readonly string[] = Object.keys(lockSchema.shape);

const locks = (db: Firestore) => db.collection(COLLECTIONS.locks);

/** The lock documents of these environments, in the order locks are always taken (sorted). */
export const lockRefs = (db: Firestore, environments: readonly string[]): DocumentReference[] => [...new Set(environments)].sort().map((env) => locks(db).doc(env));

/** `refused`: the plan is not where the caller read it (its fence): nothing was taken, nobody waits. */
export type LockResult = { kind: "acquired" } | { kind: "busy"; lock: string; holder: string } | { kind: "refused"; reason: string };

/**
 * Takes every lock or none; when one is held by another live plan, waits on it. The plan is read in
 * the same transaction: each lock taken is stamped with its transition count (a release its
 * previous transition still owes does not free it), and `fence` (e.g. the start lease) refuses on
 * a plan that moved on, so a caller that lost its plan takes nothing.
 */
export async function acquireLocks(db: Firestore, planId: string, environments: readonly string[], now: number, fence?: (plan: PlanState) => string | undefined): Promise<LockResult> {
  if (environments.length === 0) return { kind: "acquired" };
  const refs = lockRefs(db, environments);
  return db.runTransaction(async (tx): Promise<LockResult> => {
    // One read: the locks and the plan's state together.
    const [planSnap, ...snaps] = await tx.getAll(planRef(db, planId), ...refs, { fieldMask: [...new Set([...PLAN_STATE_FIELDS, ...LOCK_FIELDS])] });
    const plan = readPlanState(planSnap!);
    if (fence !== undefined) {
      const refusal = plan === undefined ? `unknown plan ${planId}` : fence(plan);
      if (refusal !== undefined) return { kind: "refused", reason: refusal };
    }
    for (const snap of snaps) {
      if (!snap.exists) continue;
      const lock = lockSchema.parse(snap.data());
      if (lock.owner !== planId && lock.expiresAt > now) {
        tx.update(snap.ref, { waiters: FieldValue.arrayUnion(planId) });
        return { kind: "busy", lock: snap.id, holder: lock.owner };
      }
    }
    for (const snap of snaps) {
      const waiters = snap.exists ? lockSchema.parse(snap.data()).waiters.filter((w) => w !== planId) : [];
      tx.set(snap.ref, { owner: planId, expiresAt: now + LOCK_LEASE_MS, acquiredAt: now, waiters, seq: plan?.seq ?? 0 });
    }
    return { kind: "acquired" };
  });
}

/**
 * Whether `planId` still holds every lock read (`snaps`, read with the plan by a transition that
 * relies on them), and if so the writes that go into that transition's commit: each lock renewed
 * and stamped with the transition's `seq`, preconditioned on the version read, so a lock freed
 * (or taken by another plan) between the read and the commit fails the commit, which is decided
 * again on what is stored.
 */
export function locksStillHeld(planId: string, snaps: readonly DocumentSnapshot[], seq: number, now: number): { held: false; lock: string } | { held: true; confirm: (writes: WriteList) => void } {
  for (const snap of snaps) {
    const lock = snap.exists ? lockSchema.safeParse(snap.data()) : undefined;
    if (lock?.success !== true || lock.data.owner !== planId) return { held: false, lock: snap.id };
  }
  return {
    held: true,
    confirm: (writes) => {
      for (const snap of snaps) writes.update(snap.ref, { seq, expiresAt: now + LOCK_LEASE_MS }, { lastUpdateTime: snap.updateTime! });
    },
  };
}

/**
 * Frees every lock the plan holds; returns the plans that were waiting on them. With `fence`, the
 * release is the one transition `fence.seq` owes: a lock taken (or relied on) at or after that
 * transition belongs to a newer one (a retry that took it back while this release was pending) and
 * stays.
 */
export async function releaseLocks(db: Firestore, planId: string, now: number = Date.now(), fence?: { seq: number }): Promise<string[]> {
  const held = await locks(db).where("owner", "==", planId).get();
  const woken = await Promise.all(held.docs.map((doc) => freeLock(db, doc.id, planId, now, fence)));
  return [...new Set(woken.flat())];
}

async function freeLock(db: Firestore, env: string, owner: string, now: number, fence?: { seq: number }): Promise<string[]> {
  return db.runTransaction(async (tx) => {
    const snap = await tx.get(locks(db).doc(env));
    if (!snap.exists) return [];
    const lock = lockSchema.parse(snap.data());
    if (lock.owner !== owner) return [];
    if (fence !== undefined && lock.seq !== undefined && lock.seq >= fence.seq) return [];
    // A plan that is active again (a retry took its locks back) keeps them, whoever asked.
    const [plan] = await tx.getAll(db.collection(COLLECTIONS.plans).doc(owner), { fieldMask: ["status", "startLease"] });
    if (plan!.exists && ownerIsLive(plan!.data()!, now)) return [];
    tx.delete(snap.ref);
    return lock.waiters;
  });
}

/**
 * Renews locks whose owner is still active and frees those whose owner ended or vanished (a run
 * that died without releasing). Returns the waiters of freed locks.
 */
export async function maintainLocks(db: Firestore, now: number): Promise<{ renewed: number; freed: number; woken: string[] }> {
  const soon = await locks(db).where("expiresAt", "<=", now + LOCK_LEASE_MS / 2).limit(200).get();
  let renewed = 0;
  let freed = 0;
  const woken: string[] = [];
  for (const doc of soon.docs) {
    const lock = lockSchema.safeParse(doc.data());
    const owner = lock.success ? await db.collection(COLLECTIONS.plans).doc(lock.data.owner).get() : undefined;
    const live = owner?.exists === true && ownerIsLive(owner.data()!, now);
    if (lock.success && live) {
      await doc.ref.update({ expiresAt: now + LOCK_LEASE_MS });
      renewed += 1;
    } else if (!lock.success || lock.data.expiresAt <= now || !live) {
      woken.push(...(lock.success ? await freeLock(db, doc.id, lock.data.owner, now) : []));
      if (!lock.success) await doc.ref.delete();
      freed += 1;
    }
  }
  return { renewed, freed, woken };
}

/**
 * Whether a lock's owner still needs it: an active plan (engine/plan.ts), except a start whose
 * lease ran out (it died; the sweeper starts it again and it takes the locks again), so a start
 * that keeps dying cannot keep an environment locked forever.
 */
function ownerIsLive(plan: Record<string, unknown>, now: number): boolean {
  const status = String(plan.status) as PlanStatus;
  if (!holdsLocks(status)) return false;
  const lease = plan.startLease as { expiresAt?: unknown } | null | undefined;
  return status !== "planning" || (typeof lease?.expiresAt === "number" && lease.expiresAt > now);
}
