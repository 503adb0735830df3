/**
 * Pause and resume on the engine (Firestore and Pub/Sub emulators): a plan paused during a fan-out
 * dispatches nothing new (claims that arrive give their lease back, the sweeper parks ready tasks
 * instead of dispatching them), its running attempts finish, and a resume runs what became ready,
 * each effect once. Commands that do not apply are refused with why.
 */
import { applyCommand } from "../../functions/src/runtime/commands";
import { sweepStalledTasks } from "../../functions/src/runtime/sweep";
import { PAUSED_RECHECK_MS } from "../../functions/src/engine/task";
import { uniqueId, waitFor } from "../support/emulators";
import { db, deliverPlanCreated } from "../support/functions";
import { engineHarness } from "../support/engine-harness";
import { operator, RULES } from "../support/principals";

const harness = engineHarness();
const plans = db.collection("plans");
const planDoc = async (id: string) => (await plans.doc(id).get()).data()!;
const tasks = async (id: string) => new Map((await plans.doc(id).collection("tasks").get()).docs.map((d) => [d.id, d.data() as { status: string; attempt: number; sweepAt: number | null }]));
const command = (planId: string, cmd: "pause" | "resume" | "cancel" | "rollback") => applyCommand(db, { planId, command: cmd, by: "ops@example.com", commandId: uniqueId(cmd) }, operator(), RULES);

async function start(spec: Record<string, unknown>): Promise<string> {
  const planId = uniqueId("pause");
  await plans.doc(planId).set(spec);
  await deliverPlanCreated(planId);
  return planId;
}

describe("pause and resume", () => {
  it("stop a fan-out from dispatching more, let the running attempts finish, and run the rest on resume, each once", async () => {
    const tag = uniqueId("fan");
    const width = 48;
    const planId = await start({
      tasks: [
        { id: "root", run: "noop" },
        ...Array.from({ length: width }, (_, i) => ({ id: `w${i}`, run: "http", params: { url: harness.web.url(`slow/${tag}-${i}/400`), method: "POST" }, needs: ["root"] })),
        { id: "join", run: "noop", needs: Array.from({ length: width }, (_, i) => `w${i}`) },
      ],
    });
    // Delivering in the background: once the first wave is running, pause.
    const delivering = harness.pump.run(db, planId, { until: (s) => s === "paused" });
    await waitFor("the fan-out to be running", async () => ([...(await tasks(planId)).values()].some((t) => t.status === "running") ? true : undefined));
    expect(await command(planId, "pause")).toMatchObject({ applied: true });
    expect(await delivering).toBe("paused");
    // What was running finished; nothing else began; the join waits.
    await waitFor("the running attempts to finish", async () => ([...(await tasks(planId)).values()].every((t) => t.status !== "running") ? true : undefined));
    const paused = await tasks(planId);
    const done = [...paused].filter(([id, t]) => id.startsWith("w") && t.status === "succeeded").map(([id]) => id);
    const held = [...paused].filter(([id, t]) => id.startsWith("w") && t.status === "ready").map(([id]) => id);
    expect(done.length + held.length).toBe(width);
    expect(held.length).toBeGreaterThan(0);
    expect(paused.get("join")!.status).toBe("blocked");
    for (const id of held) expect(paused.get(id)!.attempt).toBe(1);
    const calls = () => harness.web.effects.filter((e) => e.name.startsWith(tag)).length;
    expect(calls()).toBe(done.length);
    // The sweeper, minutes later, parks the ready tasks instead of dispatching them.
    const later = Date.now() + 5 * 60_000;
    await sweepStalledTasks(db, () => later);
    const parked = await tasks(planId);
    for (const id of held) expect(parked.get(id)!.sweepAt).toBeGreaterThanOrEqual(later + PAUSED_RECHECK_MS);
    expect((await planDoc(planId)).status).toBe("paused");
    expect(await command(planId, "pause")).toMatchObject({ applied: false, reason: expect.stringContaining("only a running plan can be paused") });

    expect(await command(planId, "resume")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    expect(calls()).toBe(width);
    expect(new Set(harness.web.effects.filter((e) => e.name.startsWith(tag)).map((e) => e.name)).size).toBe(width);
    const history = (await plans.doc(planId).collection("events").get()).docs.map((d) => d.data().type as string);
    expect(history).toEqual(expect.arrayContaining(["plan.paused", "plan.resumed", "plan.succeeded"]));
    expect(await command(planId, "resume")).toMatchObject({ applied: false, reason: expect.stringContaining("not paused") });
  });

  it("keep a paused plan's locks, and let it be cancelled or rolled back", async () => {
    const env = uniqueId("penv").toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20);
    const verify = { run: "firebase", params: { integration: "environment", action: "verify", environment: "dev", projectId: env, region: "us-central1", settings: { integrations: [] } } };
    const planId = await start({ tasks: [{ id: "v", ...verify }, { id: "gate", run: "approval", needs: ["v"] }] });
    expect(await command(planId, "pause")).toMatchObject({ applied: true });
    expect((await db.collection("locks").doc(env).get()).get("owner")).toBe(planId);
    // Another plan on the environment waits for it.
    const other = await start({ tasks: [{ id: "v", ...verify }] });
    expect((await planDoc(other)).status).toBe("waiting");
    expect(await command(planId, "rollback")).toMatchObject({ applied: true });
    expect(await harness.pump.run(db, planId)).toBe("rolled_back");
    expect(await harness.pump.run(db, other)).toBe("succeeded");
    const third = await start({ tasks: [{ id: "a", run: "noop" }, { id: "gate", run: "approval", needs: ["a"] }] });
    expect(await command(third, "pause")).toMatchObject({ applied: true });
    expect(await command(third, "cancel")).toMatchObject({ applied: true });
    expect((await planDoc(third)).status).toBe("cancelled");
  });
});
