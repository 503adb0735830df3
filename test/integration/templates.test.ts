/**
 * Plan templates on the Firestore and Pub/Sub emulators: a template written (and versioned), a
 * plan document `{template, params}` started by the real plan trigger and run to its end with the
 * template's version on its compiled summary, a bad parameter making the plan invalid at
 * `params.<name>`, a pinned version rendered from the template's history, a schedule that runs a
 * template (each firing pinned to the version it checked), and the API's template handlers.
 */
import type { Principal } from "../../functions/src/api/auth";
import type { ApiContext } from "../../functions/src/api/context";
import { createPlan } from "../../functions/src/api/plans";
import { getTemplate, listTemplates, removeTemplate, setTemplate } from "../../functions/src/api/templates";
import { runIdOf } from "../../functions/src/schedules/fire";
import { deleteSchedule, fireSchedule, saveSchedule } from "../../functions/src/schedules/store";
import { scheduleSpecSchema } from "../../functions/src/schema/schedule";
import type { TemplateDoc } from "../../functions/src/schema/template";
import { templateForPlan, writeTemplate } from "../../functions/src/store/templates";
import { uniqueId } from "../support/emulators";
import { engineHarness } from "../support/engine-harness";
import { db, deliverPlanCreated } from "../support/functions";

const harness = engineHarness();
const plans = db.collection("plans");
const MIN = 60_000;

const templateId = (prefix: string): string => uniqueId(prefix).replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 63);

/** A delay of `ms` (typed: an integer) and then a noop named after a region, which must look like one. */
const WAIT_THEN_DONE: TemplateDoc = {
  description: "wait, then finish",
  params: {
    ms: { type: "integer", min: 0, max: 1000, default: 5 },
    region: { type: "string", pattern: "[a-z]+-[a-z]+[0-9]" },
  },
  plan: {
    name: "wait in ${params.region}",
    labels: { from: "template" },
    tasks: [
      { id: "wait", run: "delay", params: { ms: "${params.ms}" } },
      { id: "done", run: "noop", name: "done in ${params.region}", needs: ["wait"] },
    ],
  },
};

const planDoc = async (id: string) => (await plans.doc(id).get()).data()!;

async function runPlanDocument(doc: Record<string, unknown>): Promise<string> {
  const planId = uniqueId("tpl-plan");
  await plans.doc(planId).set(doc);
  await deliverPlanCreated(planId);
  return planId;
}

describe("a plan document that instantiates a template", () => {
  it("runs to succeeded through the plan trigger, its stored plan keeping the template's id and version", async () => {
    const id = templateId("wait");
    await writeTemplate(db, id, WAIT_THEN_DONE, "ops@example.com", 1);
    const second = await writeTemplate(db, id, WAIT_THEN_DONE, "ops@example.com", 2);
    expect(second.template.version).toBe(2);

    const planId = await runPlanDocument({ template: id, params: { region: "europe-west1", ms: 20 }, labels: { ticket: "CHG-7" } });
    expect(await harness.pump.run(db, planId)).toBe("succeeded");
    const plan = await planDoc(planId);
    expect(plan.compiled).toMatchObject({ form: "tasks", taskCount: 2, template: { id, version: 2 } });
    // The document stays as written: an instance, not the rendered plan.
    expect(plan).toMatchObject({ template: id, params: { region: "europe-west1", ms: 20 }, labels: { ticket: "CHG-7" } });
    const tasks = await plans.doc(planId).collection("tasks").get();
    expect(Object.fromEntries(tasks.docs.map((d) => [d.id, d.get("status")]))).toEqual({ wait: "succeeded", done: "succeeded" });
    expect(tasks.docs.find((d) => d.id === "done")!.get("name")).toBe("done in europe-west1");
  });

  it("is invalid with the bad parameter's path, and with `template` when there is no such template", async () => {
    const id = templateId("strict");
    await writeTemplate(db, id, WAIT_THEN_DONE, "ops@example.com", 1);
    const bad = await runPlanDocument({ template: id, params: { region: "Not A Region", ms: "fast" } });
    const plan = await planDoc(bad);
    expect(plan.status).toBe("invalid");
    expect(plan.errors).toEqual(
      expect.arrayContaining([
        { path: "params.region", message: "must match the pattern [a-z]+-[a-z]+[0-9]" },
        { path: "params.ms", message: 'expected an integer, got the string "fast"' },
      ]),
    );
    expect((await plans.doc(bad).collection("tasks").get()).size).toBe(0);

    const missing = await planDoc(await runPlanDocument({ template: templateId("nowhere"), params: {} }));
    expect(missing).toMatchObject({ status: "invalid", errors: [{ path: "template", message: expect.stringContaining("no template named") }] });
  });

  it("renders a pinned version from the template's history, and a plan compiled before renders its version again", async () => {
    const id = templateId("pinned");
    await writeTemplate(db, id, WAIT_THEN_DONE, "ops@example.com", 1);
    // Version 2 has another task: a plan pinned to version 1 does not get it.
    const v2: TemplateDoc = { ...WAIT_THEN_DONE, plan: { ...WAIT_THEN_DONE.plan, tasks: [...(WAIT_THEN_DONE.plan.tasks as unknown[]), { id: "extra", run: "noop" }] } };
    await writeTemplate(db, id, v2, "ops@example.com", 2);

    const pinned = await runPlanDocument({ template: id, version: 1, params: { region: "us-central1" } });
    expect(await harness.pump.run(db, pinned)).toBe("succeeded");
    expect((await planDoc(pinned)).compiled).toMatchObject({ taskCount: 2, template: { id, version: 1 } });
    const current = await runPlanDocument({ template: id, params: { region: "us-central1" } });
    expect(await harness.pump.run(db, current)).toBe("succeeded");
    expect((await planDoc(current)).compiled).toMatchObject({ taskCount: 3, template: { id, version: 2 } });

    // A start again of a plan compiled from version 1 (it waited for a lock, say) loads version 1 again.
    const again = await templateForPlan(db, { template: id, params: {}, compiled: { template: { id, version: 1 } } });
    expect(again).toMatchObject({ ok: true, template: { id, version: 1 } });
    expect(await templateForPlan(db, { template: id, version: 9 })).toMatchObject({ ok: true, template: { version: 2 } });
    const tooFar = await runPlanDocument({ template: id, version: 9, params: { region: "us-central1" } });
    expect(await planDoc(tooFar)).toMatchObject({ status: "invalid", errors: [{ path: "version", message: `template "${id}" has no version 9 (it is at version 2)` }] });
  });
});

describe("a schedule that runs a template", () => {
  const AUTHOR = { uid: "uid-scheduler", email: "scheduler@example.com", name: "scheduler@example.com" };
  const T0 = Math.floor(Date.now() / MIN) * MIN - 60 * MIN;
  const tick = (n: number): number => T0 + n * MIN;
  const created: string[] = [];
  afterEach(async () => {
    for (const id of created.splice(0)) await deleteSchedule(db, id);
  });

  it("fires runs of the template's current version at each tick, each run pinned to it and recording it", async () => {
    const tid = templateId("sched-tpl");
    await writeTemplate(db, tid, WAIT_THEN_DONE, "ops@example.com", tick(0) - 60_000);
    const sid = templateId("sched");
    created.push(sid);
    await saveSchedule(db, sid, scheduleSpecSchema.parse({ cron: "* * * * *", overlap: "allow_all", template: { id: tid, params: { region: "asia-east1", ms: 1 } } }), AUTHOR, tick(0) - 30_000);

    const first = await fireSchedule(db, sid, tick(0) + 1_000);
    expect(first).toMatchObject({ outcome: "fired", started: [runIdOf(sid, tick(0))] });
    const run = first.started[0]!;
    expect(await planDoc(run)).toMatchObject({ template: tid, version: 1, params: { region: "asia-east1", ms: 1 }, labels: { schedule: sid } });
    expect((await plans.doc(run).collection("events").doc("plan.submitted").get()).data()).toMatchObject({ data: { template: { id: tid, version: 1 } } });
    await deliverPlanCreated(run);
    expect(await harness.pump.run(db, run)).toBe("succeeded");
    expect((await planDoc(run)).compiled).toMatchObject({ template: { id: tid, version: 1 } });
    // The run's own labels are the schedule's (the rendered plan merges the template's under them).
    expect((await planDoc(run)).labels).toEqual({ schedule: sid, tick: expect.any(String) });

    // Written again: the next tick renders the new version.
    await writeTemplate(db, tid, { ...WAIT_THEN_DONE, description: "v2" }, "ops@example.com", tick(1));
    const next = await fireSchedule(db, sid, tick(1) + 1_000);
    const run2 = next.started[0]!;
    expect(await planDoc(run2)).toMatchObject({ template: tid, version: 2 });
    await deliverPlanCreated(run2);
    expect(await harness.pump.run(db, run2)).toBe("succeeded");
    expect((await planDoc(run2)).compiled).toMatchObject({ template: { id: tid, version: 2 } });
  });

  it("skips a tick whose instance does not compile, saying why", async () => {
    const tid = templateId("sched-missing");
    const sid = templateId("sched-bad");
    created.push(sid);
    await saveSchedule(db, sid, scheduleSpecSchema.parse({ cron: "* * * * *", template: { id: tid, params: {} } }), AUTHOR, tick(0) - 30_000);
    const firing = await fireSchedule(db, sid, tick(0) + 1_000);
    expect(firing.started).toEqual([]);
    expect(firing.records).toEqual([expect.objectContaining({ outcome: "skipped", why: expect.stringMatching(/^the plan does not compile: template\.id: no template named/) })]);
  });
});

describe("the API's template handlers", () => {
  const principal: Principal = Object.defineProperty({ uid: "uid-op", email: "op@example.com", emailVerified: true, role: "operator" as const, groups: [] as string[], idToken: "" }, "idToken", { value: "token", enumerable: false });
  const ctx: ApiContext = {
    db,
    verifyIdToken: async () => ({ uid: "x" }),
    publish: async () => undefined,
    now: () => 1_800_000_000_000,
    newId: () => uniqueId("api-plan"),
    publicStatus: true,
    web: { projectId: "demo-orchestrator", apiKey: "k", authDomain: "d", emulators: {} },
  };
  const post = (path: string, body: unknown, query: Record<string, string> = {}) => ({ method: "POST", path, query, body });
  const errorPaths = (res: { body: unknown }): string[] => (res.body as { error: { errors: Array<{ path: string }> } }).error.errors.map((e) => e.path);

  it("set (400s name the field), get, list, instantiate through POST /plans, and delete a template", async () => {
    const id = templateId("api");
    expect(errorPaths(await setTemplate(ctx, principal, post("/templates", { id, params: { r: { type: "string", default: 3 } }, plan: { tasks: [{ id: "a", run: "noop", name: "${params.x}" }] } })))).toEqual(["params.r.default"]);
    expect(errorPaths(await setTemplate(ctx, principal, post("/templates", { id, params: {}, plan: { tasks: [{ id: "a", run: "noop", name: "${params.x}" }] } })))).toEqual(["plan.tasks.0.name"]);
    expect(errorPaths(await setTemplate(ctx, principal, post("/templates", { id, ...WAIT_THEN_DONE, version: 5 })))).toEqual(["version"]);
    expect(errorPaths(await setTemplate(ctx, principal, post("/templates", { id: "a/b", ...WAIT_THEN_DONE })))).toEqual(["id"]);
    expect(await getTemplate(ctx, id, { method: "GET", path: "", query: {} })).toMatchObject({ status: 404 });

    expect(await setTemplate(ctx, principal, post("/templates", { id, ...WAIT_THEN_DONE }))).toMatchObject({ status: 200, body: { created: true, template: { id, version: 1, updatedBy: "op@example.com" } } });
    expect(await setTemplate(ctx, principal, post("/templates", { id, ...WAIT_THEN_DONE, description: "again" }))).toMatchObject({ body: { created: false, template: { version: 2, description: "again" } } });
    expect(await getTemplate(ctx, id, { method: "GET", path: "", query: {} })).toMatchObject({ status: 200, body: { template: { id, version: 2, params: { region: { type: "string" } } } } });
    expect(await getTemplate(ctx, id, { method: "GET", path: "", query: { version: "1" } })).toMatchObject({ status: 200, body: { template: { version: 1, description: "wait, then finish" } } });
    const listed = (await listTemplates(ctx)).body as { templates: Array<{ id: string; version: number }> };
    expect(listed.templates.find((t) => t.id === id)).toMatchObject({ version: 2 });

    // POST /plans validates the instance as the trigger will, and pins the version it validated.
    expect(errorPaths(await createPlan(ctx, principal, post("/plans", { template: id, params: { region: 1 } })))).toEqual(["params.region"]);
    const accepted = await createPlan(ctx, principal, post("/plans", { template: id, params: { region: "us-east1" } }));
    expect(accepted).toMatchObject({ status: 201, body: { summary: { template: { id, version: 2 } } } });
    const planId = (accepted.body as { id: string }).id;
    expect(await planDoc(planId)).toMatchObject({ template: id, version: 2, params: { region: "us-east1" } });

    expect(await removeTemplate(ctx, principal, id)).toMatchObject({ status: 200, body: { deleted: id } });
    expect(await removeTemplate(ctx, principal, id)).toMatchObject({ status: 404 });
    expect(await getTemplate(ctx, id, { method: "GET", path: "", query: {} })).toMatchObject({ status: 404 });
    expect(errorPaths(await createPlan(ctx, principal, post("/plans", { template: id, params: { region: "us-east1" } })))).toEqual(["template"]);
    // Accepted before the delete but not started yet: a deleted template starts no plan (one compiled from it goes on).
    await deliverPlanCreated(planId);
    expect(await planDoc(planId)).toMatchObject({ status: "invalid", errors: [{ path: "template" }] });
    // Written again after the delete, the template counts on from its last version: a number never names two plans.
    expect(await setTemplate(ctx, principal, post("/templates", { id, ...WAIT_THEN_DONE }))).toMatchObject({ body: { created: true, template: { version: 3 } } });
  });
});
