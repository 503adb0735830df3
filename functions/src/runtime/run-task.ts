/**
 * Runs one attempt of one task (or one compensation), from a task-ready message:
 * claim → execute (or start waiting) → complete → settle. Each step is idempotent, and a crash
 * between steps is recovered by the sweeper (lease expiry, re-dispatch of ready tasks, settling
 * finished tasks, publishing an external task's token again), never by Pub/Sub redelivery alone.
 * A long `delay` runs nothing at its first claim: it sleeps as ready until its wake-up time, and
 * its claim after that succeeds at once.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING, TOPICS } from "../config";
import { durableDelayMs, idempotencyKey, IN_PROCESS_BACKOFF_MAX_MS, wakeUpOf, type ExecutionOutcome } from "../engine/task";
import { publishJson, publishTaskReady } from "../bus/publish";
import { compensateAttempt, executeAttempt, type AttemptContext } from "../executors/registry";
import { logs } from "../logs";
import type { TaskReadyMessage } from "../schema/messages";
import { externalParamsSchema } from "../schema/plan";
import type { TaskDoc } from "../schema/task";
import { PLAN_RUNS_ATTEMPTS } from "../engine/plan";
import { changeJournal } from "../store/changes";
import { environmentStateRecorder } from "../store/environments";
import { planStatusNow, watchPlanCancelled } from "../store/plans";
import { claimTask, completeTask, enterWaiting, giveBackClaim, markTokenPublished, readOutbox, type ClaimResult, type ExternalTaskMessage } from "../store/tasks";
import { SLOT_RECHECK_MS } from "../store/pools";
import { takeSlots, takesSlots, waitInQueue, wakeNext, type SlotAnswer } from "./pools";
import { announceGateWaiting } from "../notify/gate";
import { deferWhileOthersRun, enter, leave } from "./in-flight";
import { finishPlanIfDone, settleFinishedTask, type FinishCheck } from "./settle";

export type RunOutcome =
  | { kind: "skipped"; reason: string; unknown?: boolean }
  /** A long delay recorded its wake-up: the sweeper dispatches it then. */
  | { kind: "sleeping"; until: number }
  | { kind: "waiting"; status: "waiting_approval" | "waiting_external" }
  | { kind: "finished"; status: string; released: number };

export interface RunDeps {
  now: () => number;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Test hook: throws at a named step to simulate a crash there. */
  crashAt?: (step: "after_claim" | "after_execute" | "after_complete" | "before_publish") => void;
}

const defaultDeps: RunDeps = { now: Date.now, random: Math.random, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export async function runTask(db: Firestore, msg: TaskReadyMessage, owner: string, deps: Partial<RunDeps> = {}): Promise<RunOutcome> {
  const d = { ...defaultDeps, ...deps };
  const claim = await claimTask(db, msg, msg.phase, owner, d.now(), ENGINE_TIMING);
  if (claim.kind !== "claimed" && msg.wokenBy !== undefined) {
    // Woken by a slot's release but no longer waiting (finished, cancelled, or a duplicate): the turn passes on.
    await wakeNext(db, msg.wokenBy);
  }
  if (claim.kind === "skip") {
    logs.taskSkipped(msg.planId, msg.taskId, msg.attempt, claim.reason);
    return { kind: "skipped", reason: claim.reason, ...(claim.unknown ? { unknown: true } : {}) };
  }
  if (claim.kind === "sleeping") {
    logs.taskSkipped(msg.planId, msg.taskId, msg.attempt, `sleeping until ${new Date(claim.until).toISOString()}`);
    return { kind: "sleeping", until: claim.until };
  }
  enter(msg.planId);
  try {
    return await runClaimed(db, msg, owner, claim, d);
  } finally {
    if (leave(msg.planId)) await finishPlanIfDone(db, msg.planId, d.now);
  }
}

/**
 * A claimed attempt whose plan does not run attempts (the post-claim check): it ends cancelled,
 * without running. The completion reads the plan again with the task (store/tasks.ts `stopped`): a
 * plan a retry redrove meanwhile runs the attempt after all (undefined), since the redrive did not
 * reset it (it was running) and would never run it again; a plan that has yet to run (a start under
 * way, or waiting for its locks) gets the claim back, the task ready again on the same attempt.
 */
async function finishStopped(db: Firestore, msg: TaskReadyMessage, owner: string, d: RunDeps, planStatus: string | undefined): Promise<RunOutcome | undefined> {
  const outcome: ExecutionOutcome = { ok: false, error: { message: `not started: the plan is ${planStatus ?? "gone"}`, code: "cancelled", retryable: false } };
  const completed = await completeTask(db, msg, owner, outcome, { now: d.now(), timing: ENGINE_TIMING, random: d.random, stopped: true });
  if (completed.kind === "skip" && completed.runsAgain === true) return undefined;
  if (completed.kind === "skip") return { kind: "skipped", reason: completed.reason };
  await settleFinishedTask(db, completed.task, d.now, finishUnlessOthersRun);
  return { kind: "finished", status: completed.status, released: 0 };
}

/** A task's own plan-finish check, deferred while other tasks of the plan run in this process. */
const finishUnlessOthersRun: FinishCheck = async (db, planId, now) => {
  if (!deferWhileOthersRun(planId)) await finishPlanIfDone(db, planId, now);
};

async function runClaimed(db: Firestore, msg: TaskReadyMessage, owner: string, claim: Extract<ClaimResult, { kind: "claimed" }>, d: RunDeps): Promise<RunOutcome> {
  d.crashAt?.("after_claim");
  const task = claim.task;
  // Slots first (a wait for one can take seconds), so the plan's state is read right before the work.
  const slots = takesSlots(task, msg.phase) ? await takeSlots(db, task, d.now(), d.random) : undefined;
  if (slots?.kind === "full") return waitForSlot(db, msg, owner, claim, slots, d);
  try {
    // The plan's state, read after the claim committed and before any work starts: a stop committed
    // before this read is always seen (a cancel acknowledged to its sender never lets an attempt
    // begin), and one committed after it finds the attempt running. The claim itself read the task only.
    if (msg.phase === "run") {
      const planNow = await planStatusNow(db, msg.planId);
      // A redrive does not reset a running task, so one claimed before it runs on as part of the new
      // run; only a plan that stopped (or waits without its locks) ends it without running.
      if (planNow === undefined || !PLAN_RUNS_ATTEMPTS.has(planNow)) {
        const stopped = await finishStopped(db, msg, owner, d, planNow);
        if (stopped !== undefined) return stopped;
      }
    }
    if (msg.phase === "run" && (task.run === "approval" || task.run === "external")) return await startWaiting(db, msg, owner, task, d);
    return await runHoldingSlots(db, msg, owner, claim, d, slots);
  } finally {
    if (slots?.kind === "held") await slots.release();
  }
}

/**
 * The pool is full: the claim goes back unrun (the same attempt, ready), and the task waits in the
 * pool's queue until a release wakes it (or the sweeper looks again, SLOT_RECHECK_MS later).
 */
async function waitForSlot(db: Firestore, msg: TaskReadyMessage, owner: string, claim: Extract<ClaimResult, { kind: "claimed" }>, full: Extract<SlotAnswer, { kind: "full" }>, d: RunDeps): Promise<RunOutcome> {
  const reason = `waiting for a slot: pool ${full.poolId} has all ${full.size} in use`;
  const given = await giveBackClaim(db, msg, owner, reason, { now: d.now(), timing: ENGINE_TIMING, recheckMs: SLOT_RECHECK_MS, ...(claim.stored === undefined ? {} : { claimed: claim.stored }) });
  if (given) await waitInQueue(db, claim.task, full.poolId, full.size, d.now());
  logs.taskSkipped(msg.planId, msg.taskId, msg.attempt, given ? reason : `${reason} (the claim had moved on)`);
  return { kind: "skipped", reason };
}

async function runHoldingSlots(db: Firestore, msg: TaskReadyMessage, owner: string, claim: Extract<ClaimResult, { kind: "claimed" }>, d: RunDeps, slots: SlotAnswer | undefined): Promise<RunOutcome> {
  const task = claim.task;
  const started = d.now();
  const ctx: AttemptContext = {
    planId: msg.planId,
    taskId: msg.taskId,
    attempt: msg.attempt,
    // The attempt's intent, not its number: a lost worker's attempt run again sends the same key.
    idempotencyKey: idempotencyKey(task, msg.phase),
    // One journal per task: a compensation undoes what every run of the task applied.
    journal: changeJournal(db, msg.planId, msg.taskId, idempotencyKey(task, msg.phase), d.now),
    recordEnvironmentState: environmentStateRecorder(() => db),
  };
  // A long delay claimed after its wake-up has slept already: it succeeds without running.
  const delayMs = msg.phase === "run" ? durableDelayMs(task) : undefined;
  const slept = delayMs !== undefined && wakeUpOf(task) !== undefined;
  const watch = watchForCancellation(db, msg.planId);
  let outcome: ExecutionOutcome;
  try {
    ctx.cancel = watch.signal;
    outcome = slots?.kind === "missing"
      ? { ok: false, error: { message: `pool ${slots.poolId} does not exist: an operator creates it (set-pool ${slots.poolId} --slots N), then retry the plan`, code: "pool_missing", retryable: false } }
      : slept
      ? { ok: true, output: { waitedMs: delayMs, until: wakeUpOf(task) } }
      : msg.phase === "run"
        ? await executeAttempt(task.run, task.params, ctx, task.timeoutSeconds * 1000, d.now)
        : task.compensate !== null
          ? // An explicit compensation step is executed like a task of its own kind.
            await executeAttempt(task.compensate.run, task.compensate.params, ctx, task.timeoutSeconds * 1000, d.now)
          : await compensateAttempt(task.run, task.params, ctx, task.timeoutSeconds * 1000, d.now);
  } finally {
    watch.stop();
  }
  d.crashAt?.("after_execute");
  const completed = await completeTask(db, msg, owner, outcome, {
    now: d.now(),
    timing: ENGINE_TIMING,
    random: d.random,
    planCancelled: watch.signal.aborted,
    ...(claim.stored === undefined ? {} : { claimed: claim.stored }),
  });
  // The work is done: its slots go to the next waiters before dependents are released.
  if (slots?.kind === "held") await slots.release();
  if (completed.kind === "skip") {
    logs.taskSkipped(msg.planId, msg.taskId, msg.attempt, `completion not applied: ${completed.reason}`);
    return { kind: "skipped", reason: completed.reason };
  }
  logs.taskFinished(msg.planId, msg.taskId, msg.attempt, completed.status, d.now() - started);
  d.crashAt?.("after_complete");
  if (completed.status === "ready") {
    // A retry: short backoffs are waited out here; longer ones are dispatched by the sweeper when due.
    if (completed.retryInMs !== undefined && completed.retryInMs <= IN_PROCESS_BACKOFF_MAX_MS) {
      await d.sleep(completed.retryInMs);
      d.crashAt?.("before_publish");
      await publishTaskReady([{ planId: msg.planId, taskId: msg.taskId, attempt: completed.task.attempt, phase: "run" }]);
    }
    return { kind: "finished", status: "ready", released: 0 };
  }
  d.crashAt?.("before_publish");
  const released = await settleFinishedTask(db, completed.task, d.now, finishUnlessOthersRun);
  return { kind: "finished", status: completed.status, released };
}

/**
 * approval / external: the attempt does not run anything; it parks the task until a command or a
 * task event arrives (or the deadline passes). Its claim took a short lease; entering the wait
 * sets the real deadline. An external task gets a fresh random token: only its hash is on the
 * task, and the token itself is kept in the task's outbox (functions only) and goes only to the
 * waiting system's topic. A publish that fails is left to the sweeper, which publishes the outbox
 * again (the same token) until it is marked published.
 */
async function startWaiting(db: Firestore, msg: TaskReadyMessage, owner: string, task: TaskDoc, d: RunDeps): Promise<RunOutcome> {
  if (task.run === "approval") {
    const waited = await enterWaiting(db, msg, owner, "waiting_approval", { hash: null, heartbeatSeconds: null }, d.now(), ENGINE_TIMING);
    if (waited.kind === "skip") return { kind: "skipped", reason: `the wait was not entered: ${waited.reason}` };
    // After the commit, best effort: a lost announcement never fails or changes the gate.
    await announceGateWaiting(db, waited.task, d.now());
    return { kind: "waiting", status: "waiting_approval" };
  }
  const params = externalParamsSchema.parse(task.params);
  const token = randomBytes(32).toString("base64url");
  const heartbeatSeconds = params.heartbeatSeconds ?? null;
  const waited = await enterWaiting(db, msg, owner, "waiting_external", { hash: hashToken(token), heartbeatSeconds, plain: token, description: params.description ?? null }, d.now(), ENGINE_TIMING);
  if (waited.kind === "skip") return { kind: "skipped", reason: `the wait was not entered: ${waited.reason}` };
  d.crashAt?.("before_publish");
  try {
    await publishExternalToken(db, waited.message!, d.now());
  } catch (error) {
    // The token is in the outbox: the sweeper publishes it again.
    logs.unexpected(`publishing the task token of ${msg.planId}/${msg.taskId}`, error);
  }
  return { kind: "waiting", status: "waiting_external" };
}

/**
 * Publishes an external task's message (its token) and marks it published: a compare-and-set
 * that applies only while the task still waits with this token on this attempt. Publishing twice
 * is harmless: a repeat carries the same token.
 */
export async function publishExternalToken(db: Firestore, message: ExternalTaskMessage, now: number): Promise<boolean> {
  await publishJson(TOPICS.externalTasks, [message]);
  return markTokenPublished(db, message, hashToken(message.token), now);
}

/**
 * The sweeper's half of the outbox: an external task whose token is not known to be published has
 * its outbox message published again, if it is this attempt's and matches the stored hash.
 */
export async function republishExternalToken(db: Firestore, task: TaskDoc, now: number): Promise<boolean> {
  const outbox = await readOutbox(db, task.planId, task.id);
  if (outbox === undefined || outbox.message.attempt !== task.attempt || task.waiting === null || hashToken(outbox.message.token) !== task.waiting.tokenHash) {
    logs.unexpected(`republishing the task token of ${task.planId}/${task.id}`, new Error("no outbox message for the attempt's token"));
    return false;
  }
  return publishExternalToken(db, outbox.message, now);
}

/**
 * Aborts a running attempt when its plan is cancelled. The listener starts after a second, so the
 * many short tasks of a large plan never pay for it.
 */
function watchForCancellation(db: Firestore, planId: string): { signal: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  let unsubscribe: (() => void) | undefined;
  const timer = setTimeout(() => {
    unsubscribe = watchPlanCancelled(db, planId, () => controller.abort());
  }, 1_000);
  return {
    signal: controller.signal,
    stop: () => {
      clearTimeout(timer);
      unsubscribe?.();
    },
  };
}
