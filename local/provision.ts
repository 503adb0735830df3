/**
 * Provisions tasks straight through the `firebase` executor, one after the other, without the
 * engine: how benchmarks and tests put a control plane into a plan's provisioned state.
 */
import type { GoogleClients } from "../functions/src/clients/google";
import { createFirebaseExecutor } from "../functions/src/executors/firebase";
import type { TaskSpec } from "../functions/src/schema/plan";

export async function provisionDirectly(tasks: readonly TaskSpec[], clients: GoogleClients, planId = "direct"): Promise<void> {
  const executor = createFirebaseExecutor(() => clients);
  for (const t of tasks) {
    if (t.run !== "firebase" || (t.params.action ?? "provision") !== "provision") continue;
    const outcome = await executor.execute(t.params as unknown as Record<string, unknown>, {
      planId,
      taskId: t.id,
      attempt: 1,
      idempotencyKey: `${planId}/${t.id}/1`,
      signal: new AbortController().signal,
      deadline: Date.now() + 60_000,
    });
    if (!outcome.ok) throw new Error(`${t.id}: ${outcome.error.message}`);
  }
}
