/**
 * Bakes, judged after each health run: for every environment a plan holds (its lock names the
 * plan), the plan's bake that waits on it is answered from the environment's availability series
 * as the health runs recorded it (health/bake.ts). The answer goes through the same door as any
 * other system's: the task token from the bake's outbox, verified against the task as stored, so a
 * bake is completed exactly once however often this runs.
 */
import type { Firestore } from "firebase-admin/firestore";
import { bakeVerdict } from "../health/bake";
import { emptySeries, evaluateSlo, sliKey, sumWindow } from "../health/slo";
import { logs } from "../logs";
import { externalParamsSchema } from "../schema/plan";
import { COLLECTIONS, tasksOf } from "../store/paths";
import { readSloSeries } from "../store/slo";
import { readOutbox } from "../store/tasks";
import { applyExternalTaskEvent } from "./task-events";

export interface BakeJudgement {
  planId: string;
  taskId: string;
  outcome: "succeeded" | "failed" | "watching";
  message: string;
}

export async function judgeBakes(db: Firestore, runId: string, now: () => number = Date.now): Promise<BakeJudgement[]> {
  const locks = await db.collection(COLLECTIONS.locks).select("owner").get();
  const judged: BakeJudgement[] = [];
  for (const lock of locks.docs) {
    const planId = lock.get("owner") as unknown;
    if (typeof planId !== "string") continue;
    try {
      const waiting = await tasksOf(db, planId).where("status", "==", "waiting_external").select("params", "startedAt", "attempt").get();
      for (const task of waiting.docs) {
        const params = externalParamsSchema.safeParse(task.get("params"));
        const bake = params.success ? params.data.bake : undefined;
        if (bake === undefined || bake.projectId !== lock.id) continue;
        const startedAt = Number(task.get("startedAt") ?? now());
        const series = (await readSloSeries(db, bake.projectId, sliKey(bake.slo.sli))) ?? emptySeries();
        const verdict = bakeVerdict(bake, startedAt, evaluateSlo(bake.slo, series, now()), sumWindow(series, startedAt, now()), now());
        if (verdict === null) {
          judged.push({ planId, taskId: task.id, outcome: "watching", message: `${bake.environment}: ${Math.round((now() - startedAt) / 60_000)} of ${bake.minutes} min, no page` });
          continue;
        }
        const outbox = await readOutbox(db, planId, task.id);
        if (outbox === undefined) continue; // its wait is still being entered; the next run answers
        const event = { type: "completed" as const, planId, taskId: task.id, token: outbox.message.token, outcome: verdict.outcome, output: verdict.output, ...(verdict.outcome === "failed" ? { error: verdict.error.slice(0, 2000) } : {}) };
        const applied = await applyExternalTaskEvent(db, event, `bake-${runId}-${task.id}`, now);
        judged.push({ planId, taskId: task.id, outcome: verdict.outcome, message: applied.applied ? (verdict.outcome === "failed" ? verdict.error : `${bake.environment} baked ${bake.minutes} min without a page`) : `not applied: ${applied.reason}` });
      }
    } catch (error) {
      // One plan's bake must not keep the others from their verdict; the next run tries again.
      logs.unexpected(`judging the bakes of plan ${planId}`, error);
    }
  }
  return judged;
}
