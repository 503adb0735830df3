/**
 * End to end on the local stack: plan documents written to the Firestore emulator flow through the
 * real exported functions (loaded by the functions emulator), Pub/Sub and back, and the page's API
 * answers through the Hosting rewrite. Nothing here calls a handler directly.
 */
import { initialTask } from "../../functions/src/engine/task";
import { ENGINE_TIMING } from "../../functions/src/config";
import { discoverScheduledFunctions, fireScheduledFunction } from "../../local/scheduler";
import { createDemoAccounts } from "../../local/demo-accounts";
import { followPlan } from "../../local/progress";
import { idToken } from "../support/auth";
import { emulator } from "../../local/project";
import { testFirestore, uniqueId, waitFor } from "../support/emulators";

const db = testFirestore();
const plans = db.collection("plans");
const hosting = `http://${emulator("hosting").host}:${emulator("hosting").port}`;

async function runPlan(spec: Record<string, unknown>, timeoutMs = 60_000) {
  const planId = uniqueId("e2e");
  await plans.doc(planId).set(spec);
  const outcome = await followPlan(db, planId, { print: false, timeoutMs });
  return { planId, outcome };
}

describe("the local stack", () => {
  it("runs a fan-out/fan-in plan to success through Firestore, Pub/Sub and the deployed functions", async () => {
    const width = 20;
    const tasks = [
      { id: "start", run: "noop" },
      ...Array.from({ length: width }, (_, i) => ({ id: `w${i}`, run: "delay", params: { ms: 50 }, needs: ["start"] })),
      { id: "join", run: "noop", needs: Array.from({ length: width }, (_, i) => `w${i}`) },
    ];
    const { planId, outcome } = await runPlan({ name: "fan", tasks });
    expect(outcome.status).toBe("succeeded");
    const snap = await plans.doc(planId).collection("tasks").get();
    expect(snap.size).toBe(width + 2);
    expect(snap.docs.every((d) => d.get("status") === "succeeded" && d.get("attempt") === 1)).toBe(true);
    const join = snap.docs.find((d) => d.id === "join")!;
    expect(join.get("fanIn")).toBe(true);
    // Arrivals are counted in groups (20 needs: 4 groups of 5), each group's outcome on its document.
    const groups = await join.ref.collection("arrivalGroups").get();
    expect(groups.size).toBe(4);
    expect(groups.docs.reduce((n, g) => n + Number(g.get("succeeded")), 0)).toBe(width);
  });

  it("marks a malformed plan invalid with paths and keeps running the next plan", async () => {
    const bad = await runPlan({ tasks: [{ id: "x", run: "delay", params: { ms: "soon" } }], surprise: true });
    expect(bad.outcome.status).toBe("invalid");
    expect(bad.outcome.errors!.map((e) => e.path).sort()).toEqual(["", "tasks.0.params.ms"]);
    expect((await plans.doc(bad.planId).collection("tasks").get()).size).toBe(0);

    const good = await runPlan({ tasks: [{ id: "ok", run: "noop" }] });
    expect(good.outcome.status).toBe("succeeded");
  });

  it("fails a plan at the failing task and says which", async () => {
    const { outcome } = await runPlan({
      tasks: [
        { id: "call", run: "http", params: { url: "http://127.0.0.1:9/nothing-listens-here" }, timeoutSeconds: 5 },
        { id: "never", run: "noop", needs: ["call"] },
      ],
    });
    expect(outcome).toMatchObject({ status: "failed", failedTask: "call" });
  });

  it("serves the status page and its API through the Hosting rewrite, to a signed-in viewer", async () => {
    const { planId } = await runPlan({ name: "api-check", tasks: [{ id: "a", run: "noop" }, { id: "b", run: "noop", needs: ["a"] }] });
    const { viewer } = await createDemoAccounts();
    const headers = { Authorization: `Bearer ${await idToken(viewer)}` };
    expect((await fetch(`${hosting}/api/plans/${planId}`)).status).toBe(401);
    const page = await fetch(`${hosting}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Firebase Orchestrator");

    const detail = await fetch(`${hosting}/api/plans/${planId}`, { headers });
    expect(detail.status).toBe(200);
    const body = (await detail.json()) as { plan: { status: string; name: string }; tasks: Array<{ id: string; status: string }> };
    expect(body.plan).toMatchObject({ status: "succeeded", name: "api-check" });
    expect(body.tasks.map((t) => `${t.id}:${t.status}`).sort()).toEqual(["a:succeeded", "b:succeeded"]);

    const list = (await (await fetch(`${hosting}/api/plans?limit=100`, { headers })).json()) as { plans: Array<{ id: string }> };
    expect(list.plans.map((p) => p.id)).toContain(planId);
    const events = (await (await fetch(`${hosting}/api/plans/${planId}/events`, { headers })).json()) as { events: Array<{ type: string }> };
    expect(events.events.map((e) => e.type)).toEqual(["plan.planning", "plan.started", "task.succeeded", "task.succeeded", "plan.succeeded"]);
    expect((await fetch(`${hosting}/api/plans/no-such-plan`, { headers })).status).toBe(404);
  });

  it("recovers a task whose dispatch was lost, through the sweeper fired by the local scheduler", async () => {
    const scheduled = await discoverScheduledFunctions();
    expect(scheduled.map((f) => `${f.name} ${f.schedule}`)).toContain("sweepStalledTasks every 1 minutes");

    // The state a crash right after "write tasks, mark running" leaves: a ready task nobody was told about.
    const planId = uniqueId("lost");
    const now = Date.now();
    await plans.doc(planId).set({ tasks: [{ id: "orphan", run: "noop" }], status: "running", createdAt: now, startedAt: now });
    const task = initialTask({ planId, spec: { id: "orphan", run: "noop", params: {}, needs: [], timeoutSeconds: 60 }, dependents: [], level: 0, now: now - ENGINE_TIMING.redispatchAfterMs - 1, timing: ENGINE_TIMING });
    await plans.doc(planId).collection("tasks").doc("orphan").set(task);

    expect(await fireScheduledFunction(scheduled.find((f) => f.name === "sweepStalledTasks")!)).toBe(200);
    const status = await waitFor("the orphan to run", async () => {
      const s = (await plans.doc(planId).get()).get("status");
      return s === "succeeded" ? s : undefined;
    });
    expect(status).toBe("succeeded");
    expect((await plans.doc(planId).collection("tasks").doc("orphan").get()).get("status")).toBe("succeeded");
  });
});
