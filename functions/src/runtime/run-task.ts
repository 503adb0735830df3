/**
 * Runs one attempt of one task (or one compensation), from a task-ready message:
 * claim → execute (or start waiting) → complete → settle. Each step is idempotent, and a crash
 * between steps is recovered by the sweeper (lease expiry, re-dispatch of ready tasks, settling
 * finished tasks), never by Pub/Sub redelivery alone.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Firestore } from "firebase-admin/firestore";
import { ENGINE_TIMING, TOPICS } from "../config";
import { IN_PROCESS_BACKOFF_MAX_MS, type ExecutionOutcome } from "../engine/lifecycle";
import { publishJson, publishTaskReady } from "../bus/publish";
import { compensateAttempt, executeAttempt, type AttemptContext } from "../executors/registry";
import { logs } from "../logs";
import type { TaskReadyMessage } from "../schema/messages";
import { externalParamsSchema } from "../schema/plan";
import type { TaskDoc } from "../schema/task";
import { environmentStateRecorder } from "../store/environments";
import { planRef } from "../store/paths";
import { claimTask, completeTask, enterWaiting, type ClaimResult } from "../store/tasks";
import { deferWhileOthersRun, enter, leave } from "./in-flight";
import { finishPlanIfDone, settleFinishedTask, type FinishCheck } from "./settle";

export type RunOutcome =
  | { kind: "skipped"; reason: string; unknown?: boolean }
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
  if (claim.kind === "skip") {
    logs.taskSkipped(msg.planId, msg.taskId, msg.attempt, claim.reason);
    return { kind: "skipped", reason: claim.reason, ...(claim.unknown ? { unknown: true } : {}) };
  }
  enter(msg.planId);
  try {
    return await runClaimed(db, msg, owner, claim, d);
  } finally {
    if (leave(msg.planId)) await finishPlanIfDone(db, msg.planId, d.now);
  }
}

/** A task's own plan-finish check, deferred while other tasks of the plan run in this process. */
const finishUnlessOthersRun: FinishCheck = async (db, planId, now) => {
  if (!deferWhileOthersRun(planId)) await finishPlanIfDone(db, planId, now);
};

async function runClaimed(db: Firestore, msg: TaskReadyMessage, owner: string, claim: Extract<ClaimResult, { kind: "claimed" }>, d: RunDeps): Promise<RunOutcome> {
  d.crashAt?.("after_claim");
  const task = claim.task;
  if (msg.phase === "run" && (task.run === "approval" || task.run === "external")) return startWaiting(db, msg, owner, task, d);

  const started = d.now();
  const ctx: AttemptContext = {
    planId: msg.planId,
    taskId: msg.taskId,
    attempt: msg.attempt,
    idempotencyKey: `${msg.planId}/${msg.taskId}/${msg.attempt}${msg.phase === "compensate" ? "/compensate" : ""}`,
    recordEnvironmentState: environmentStateRecorder(() => db),
  };
  const watch = watchForCancellation(db, msg.planId);
  let outcome: ExecutionOutcome;
  try {
    ctx.cancel = watch.signal;
    outcome =
      msg.phase === "run"
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
 * task event arrives (or the deadline passes). An external task gets a fresh random token: only
 * its hash is stored, and the token itself goes only to the waiting system's topic.
 */
async function startWaiting(db: Firestore, msg: TaskReadyMessage, owner: string, task: TaskDoc, d: RunDeps): Promise<RunOutcome> {
  if (task.run === "approval") {
    await enterWaiting(db, msg, owner, "waiting_approval", { hash: null, heartbeatSeconds: null }, d.now());
    return { kind: "waiting", status: "waiting_approval" };
  }
  const params = externalParamsSchema.parse(task.params);
  const token = randomBytes(32).toString("base64url");
  const now = d.now();
  if (!(await enterWaiting(db, msg, owner, "waiting_external", { hash: hashToken(token), heartbeatSeconds: params.heartbeatSeconds ?? null }, now))) {
    return { kind: "skipped", reason: "task left running before it could wait" };
  }
  await publishJson(TOPICS.externalTasks, [
    { planId: msg.planId, taskId: msg.taskId, attempt: msg.attempt, token, deadline: now + task.timeoutSeconds * 1000, description: params.description ?? null, heartbeatSeconds: params.heartbeatSeconds ?? null },
  ]);
  return { kind: "waiting", status: "waiting_external" };
}

/**
 * Aborts a running attempt when its plan is cancelled. The listener starts after a second, so the
 * many short tasks of a large plan never pay for it.
 */
function watchForCancellation(db: Firestore, planId: string): { signal: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  let unsubscribe: (() => void) | undefined;
  const timer = setTimeout(() => {
    unsubscribe = planRef(db, planId).onSnapshot(
      (snap) => {
        if (snap.get("status") === "cancelled") controller.abort();
      },
      () => undefined,
    );
  }, 1_000);
  return {
    signal: controller.signal,
    stop: () => {
      clearTimeout(timer);
      unsubscribe?.();
    },
  };
}
