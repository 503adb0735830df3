/** A plan's `expectedState` (what its refresh saw): pinned on each provision task, summarised per environment, refused when it names another plan's tasks. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compilePlan } from "../../../functions/src/planner/compile";
import { formatRefresh, unifiedDiff } from "../../../functions/src/planner/format-changes";

const example = (): Record<string, unknown> => JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "examples", "lang-trak.json"), "utf8")) as Record<string, unknown>;
const summary = (create: number, update: number, noop: number) => ({ create, update, replace: 0, noop });

describe("expectedState", () => {
  it("pins each refreshed provision to the digests it was diffed against, and reports the summary per environment", () => {
    const doc = {
      ...example(),
      onStale: "replan",
      expectedState: {
        refreshedAt: 1_796_000_000_000,
        tasks: {
          "production.backup": { resources: { "projects/lang-trak-prod/locations/us-central1/jobs/orchestrator-firestore-backup": "abc" }, summary: summary(0, 1, 0) },
          "production.hosting": { resources: { "projects/lang-trak-prod/sites/lang-trak-prod": "d1", "sites/lang-trak-prod/releases": "d2" }, summary: summary(0, 0, 2) },
          "staging.database": { resources: { "projects/lang-trak-staging/releases/cloud.firestore": "d3" }, summary: summary(1, 0, 0) },
        },
      },
    };
    const result = compilePlan(doc);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const backup = result.plan.tasks.find((t) => t.id === "production.backup")!;
    expect(backup.params).toMatchObject({ expect: { onStale: "replan", resources: { "projects/lang-trak-prod/locations/us-central1/jobs/orchestrator-firestore-backup": "abc" } } });
    // A task the refresh did not see runs without a pin.
    expect(result.plan.tasks.find((t) => t.id === "production.storage")!.params).not.toHaveProperty("expect");
    expect(result.plan.report.changeSets).toEqual({
      refreshedAt: 1_796_000_000_000,
      total: summary(1, 1, 2),
      environments: [
        { environment: "staging", projectId: "lang-trak-staging", summary: summary(1, 0, 0), tasks: [{ taskId: "staging.database", integration: "database", summary: summary(1, 0, 0) }] },
        {
          environment: "production",
          projectId: "lang-trak-prod",
          summary: summary(0, 1, 2),
          tasks: [
            { taskId: "production.hosting", integration: "hosting", summary: summary(0, 0, 2) },
            { taskId: "production.backup", integration: "backup", summary: summary(0, 1, 0) },
          ],
        },
      ],
    });
  });

  it("refuses an expected state refreshed for another plan, with the path of the task it names", () => {
    const result = compilePlan({ ...example(), expectedState: { refreshedAt: 1, tasks: { "production.nothing": { resources: {}, summary: summary(0, 0, 0) } } } });
    expect(result).toMatchObject({ ok: false, errors: [{ path: "expectedState.tasks.production.nothing", message: expect.stringContaining("refreshed for another plan") }] });
  });

  it("compiles without one: no pins, no change sets", () => {
    const result = compilePlan(example());
    if (!result.ok) throw new Error("does not compile");
    expect(result.plan.report.changeSets).toBeNull();
    expect(result.plan.tasks.some((t) => t.run === "firebase" && "expect" in t.params)).toBe(false);
  });
});

describe("the refresh's text", () => {
  it("diffs multi-line text by line, with context", () => {
    expect(unifiedDiff("a\nb\nc\nd\n", "a\nb\nX\nd\n")).toEqual(["--- before", "+++ after", "@@ -1,5 +1,5 @@", " a", " b", "-c", "+X", " d", " "]);
  });

  it("prints +, ~ with its fields and =, per environment, with Terraform's totals", () => {
    const text = formatRefresh({
      tasks: [
        {
          taskId: "production.backup",
          environment: "production",
          projectId: "lang-trak-prod",
          integration: "backup",
          summary: summary(0, 1, 0),
          changes: [{ resource: "projects/p/jobs/j", type: "scheduler.job", action: "update", fields: [{ field: "schedule", before: "0 3 * * *", after: "0 4 * * *" }], before: {}, after: {} }],
        },
        {
          taskId: "production.hosting",
          environment: "production",
          projectId: "lang-trak-prod",
          integration: "hosting",
          summary: summary(1, 0, 0),
          changes: [{ resource: "projects/p/sites/s", type: "hosting.site", action: "create", fields: [], before: null, after: {} }],
        },
      ],
      errors: [],
      total: summary(1, 1, 0),
      expectedState: { refreshedAt: 0, tasks: {} },
    });
    expect(text.split("\n")).toEqual([
      "Changes against the live state (refreshed; nothing was changed)",
      "  production (lang-trak-prod)",
      "      ~ backup          projects/p/jobs/j  (update)",
      '          schedule: "0 3 * * *" → "0 4 * * *"',
      "      + hosting         projects/p/sites/s  (create)",
      "",
      "Plan: 1 to create, 1 to change, 0 unchanged.",
    ]);
  });
});
