/**
 * Targeted recovery on the engine (Firestore and Pub/Sub emulators): a failed task marked
 * succeeded or skipped (with who and why) lets what follows it run; a retry from one task runs it
 * and its downstream again even where they had succeeded, each with a new idempotency key, beside
 * whatever else did not succeed. Refusals say why.
 */
import { applyCommand } from "../../functions/src/runtime/commands";
import { uniqueId } from "../support/emulators";
import { db, deliverPlanCreated } from "../support/functions";
import { engineHarness } from "../support/engine-harness";
import { operator, RULES } from "../support/principals";

const harness = engineHarness();
const plans = db.collection("plans");
const task = async (planId: string, id: string) => (await plans.doc(planId).collection("tasks").doc(id).get()).data()!;
const send = (planId: string, command: "retry" | "skip" | "mark-success", extra: { taskId?: string; reason?: string; downstream?: boolean } = {}) =>
  applyCommand(db, { planId, command, by: "ops@example.com", commandId: uniqueId(command), ...extra }, operator(), RULES);

async function failedPlan(tag: string): Promise<string> {
  const planId = uniqueId("tr");
  await plans.doc(planId).set({
    tasks: [
      { id: "a", run: "http", params: { url: harness.web.url(`ok/${tag}-a`), method: "POST" } },
      { id: "b", run: "http", params: { url: harness.web.url(`reject/${tag}-b`), method: "POST" }, needs: ["a"] },
      { id: "c", run: "http", params: { url: harness.web.url(`ok/${tag}-c`), method: "POST" }, needs: ["b"] },
      { id: "side", run: "noop", needs: ["a"] },
    ],
  });
  await deliverPlanCreated(planId);
  expect(await harness.pump.run(db, planId)).toBe("failed");
  return planId;
}

describe("targeted recovery", () => {
  it("marks a failed task succeeded with who and why, and what follows it runs", async () => {
    const tag = uniqueId("ms");
    const planId = await failedPlan(tag);
    expect(await send(planId, "mark-success", { taskId: "b", reason: "applied by hand, see INC-9" })).toMatchObject({ applied: true, message: "b marked succeeded; redriven" });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    const b = await task(planId, "b");
    expect(b.status).toBe("succeeded");
    expect(b.history.at(-1).cause).toMatch(/^marked succeeded by ops@example.com: applied by hand, see INC-9 \(it had failed: /);
    expect(harness.web.effectsOf(`${tag}-c`)).toHaveLength(1);
    // a ran once, and is not run again: only what follows the marked task.
    expect(harness.web.effectsOf(`${tag}-a`)).toHaveLength(1);
    const history = (await plans.doc(planId).collection("events").get()).docs.map((d) => d.data());
    expect(history.find((e) => e.type === "plan.redriving")?.message).toContain("b marked succeeded (applied by hand, see INC-9)");
  });

  it("marks a failed task skipped: its all_success dependents are skipped too", async () => {
    const planId = await failedPlan(uniqueId("sk"));
    expect(await send(planId, "skip", { taskId: "b", reason: "not needed this release" })).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect((await task(planId, "b")).status).toBe("skipped");
    expect((await task(planId, "c")).status).toBe("skipped");
  });

  it("retries from one task: it and its downstream run again with new keys, even where they had succeeded", async () => {
    const tag = uniqueId("rd");
    const planId = uniqueId("tr");
    await plans.doc(planId).set({
      tasks: [
        { id: "a", run: "http", params: { url: harness.web.url(`ok/${tag}-a`), method: "POST" } },
        { id: "b", run: "http", params: { url: harness.web.url(`ok/${tag}-b`), method: "POST" }, needs: ["a"] },
        { id: "c", run: "http", params: { url: harness.web.url(`ok/${tag}-c`), method: "POST" }, needs: ["b"] },
        { id: "other", run: "http", params: { url: harness.web.url(`ok/${tag}-other`), method: "POST" } },
      ],
    });
    await deliverPlanCreated(planId);
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    // A succeeded plan is rolled back or left alone, not retried; from a rolled-back one, b and c run again.
    expect(await send(planId, "retry", { taskId: "b", downstream: true })).toMatchObject({ applied: false, reason: expect.stringContaining("only failed, cancelled, rolled_back, rollback_failed, stale plans can be retried") });
    await plans.doc(planId).collection("tasks").doc("other").update({ status: "failed", error: { message: "made to fail", code: "test", retryable: false } });
    await plans.doc(planId).update({ status: "failed" });
    expect(await send(planId, "retry", { taskId: "b", downstream: true })).toMatchObject({ applied: true, message: "redriven from b" });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect(harness.web.effectsOf(`${tag}-a`)).toHaveLength(1);
    for (const id of ["b", "c"]) {
      const keys = harness.web.effectsOf(`${tag}-${id}`).map((e) => e.key);
      expect(keys).toEqual([`${planId}/${id}/1`, `${planId}/${id}/2`]);
    }
    expect(harness.web.effectsOf(`${tag}-other`)).toHaveLength(2);
  });

  it("refuses to mark a need of a wide join (its arrival keeps the failure), and says to retry it instead", async () => {
    const planId = uniqueId("tr");
    const needs = Array.from({ length: 9 }, (_, i) => `n${i}`);
    await plans.doc(planId).set({
      tasks: [
        ...needs.map((id) => ({ id, run: id === "n0" ? "http" : "noop", ...(id === "n0" ? { params: { url: harness.web.url(`reject/${uniqueId("w")}`), method: "POST" } } : {}) })),
        { id: "join", run: "noop", needs },
      ],
    });
    await deliverPlanCreated(planId);
    expect(await harness.pump.run(db, planId)).toBe("failed");
    expect(await send(planId, "mark-success", { taskId: "n0", reason: "x" })).toMatchObject({ applied: false, reason: expect.stringContaining("is a need of a wide join (join): it cannot be marked; retry it with --task instead") });
  });

  it("refuses what cannot apply, with why", async () => {
    const planId = await failedPlan(uniqueId("rf"));
    expect(await send(planId, "mark-success", { taskId: "a", reason: "x" })).toMatchObject({ applied: false, reason: "a is succeeded: only a failed task can be marked succeeded" });
    expect(await send(planId, "skip", { taskId: "nope", reason: "x" })).toMatchObject({ applied: false, reason: expect.stringContaining("has no task nope") });
    expect(await send(planId, "retry", { taskId: "c", downstream: true })).toMatchObject({ applied: true });
  });
});
