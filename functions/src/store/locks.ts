/**
 * Environment locks, `locks/{projectId}`: one running plan per environment, like Terraform state
 * locking. A lock has an owner plan and an expiry that the sweeper renews while the owner is active;
 * a plan that finds a lock taken registers as a waiter on it and is started when it frees.
 */
import { FieldValue, type Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import { holdsLocks } from "../engine/plan";
import type { PlanStatus } from "../schema/plan";
import { COLLECTIONS } from "./paths";

/** A lock outlives a dead run by at most this long; the sweeper renews it for live owners. */
export const LOCK_LEASE_MS = 10 * 60_000;

const lockSchema = z.object({
  owner: z.string(),
  expiresAt: z.number(),
  acquiredAt: z.number(),
  waiters: z.array(z.string()).default([]),
});

const locks = (db: Firestore) => db.collection(COLLECTIONS.locks);

export type LockResult = { kind: "acquired" } | { kind: "busy"; lock: string; holder: string };

/** Takes every lock or none; when one is held by another live plan, waits on it. */
export async function acquireLocks(db: Firestore, planId: string, environments: readonly string[], now: number): Promise<LockResult> {
  if (environments.length === 0) return { kind: "acquired" };
  const refs = [...new Set(environments)].sort().map((env) => locks(db).doc(env));
  return db.runTransaction(async (tx): Promise<LockResult> => {
    const snaps = await tx.getAll(...refs);
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
      tx.set(snap.ref, { owner: planId, expiresAt: now + LOCK_LEASE_MS, acquiredAt: now, waiters });
    }
    return { kind: "acquired" };
  });
}

/** Frees every lock the plan holds; returns the plans that were waiting on them. */
export async function releaseLocks(db: Firestore, planId: string, now: number = Date.now()): Promise<string[]> {
  const held = await locks(db).where("owner", "==", planId).get();
  const woken = await Promise.all(held.docs.map((doc) => freeLock(db, doc.id, planId, now)));
  return [...new Set(woken.flat())];
}

async function freeLock(db: Firestore, env: string, owner: string, now: number): Promise<string[]> {
  return db.runTransaction(async (tx) => {
    const snap = await tx.get(locks(db).doc(env));
    if (!snap.exists) return [];
    const lock = lockSchema.parse(snap.data());
    if (lock.owner !== owner) return [];
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
