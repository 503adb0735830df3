/** Every minute: recover tasks whose message, worker or settle step was lost. */
import type { ScheduledEvent } from "firebase-functions/v2/scheduler";
import { sweepStalledTasks } from "../runtime/sweep";
import { firestore } from "../store/firestore";

export async function handleSweep(_event: ScheduledEvent): Promise<void> {
  await sweepStalledTasks(firestore());
}
