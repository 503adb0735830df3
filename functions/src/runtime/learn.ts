/**
 * After an environment plan's run ends: its provisions' and verifies' durations join the planner's
 * history (store/durations.ts), and each one that took anomalously long next to that history is
 * recorded in the plan's history with its numbers (`task.duration_anomaly`).
 */
import type { Firestore } from "firebase-admin/firestore";
import { recordPlanDurations } from "../store/durations";
import { appendEvent } from "../store/events";

export async function learnFromRun(db: Firestore, planId: string, now: number): Promise<void> {
  const recorded = await recordPlanDurations(db, planId, now);
  for (const anomaly of recorded?.anomalies ?? []) {
    await appendEvent(db, planId, `anomaly.${anomaly.key.replace(/[^A-Za-z0-9_.:-]/g, "_")}`, {
      at: now,
      type: "task.duration_anomaly",
      actor: "orchestrator",
      message: anomaly.explanation,
      data: { key: anomaly.key, seconds: anomaly.seconds, medianSeconds: anomaly.medianSeconds, madSeconds: anomaly.madSeconds, robustZ: anomaly.robustZ },
    });
  }
}
