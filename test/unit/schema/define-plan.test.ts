/** definePlan: the input types other repositories write plans with are the planner's own (a type error here fails the type-check stage). */
import { definePlan } from "../../../functions/src/define-plan";
import { compilePlan } from "../../../functions/src/planner/compile";

describe("definePlan", () => {
  it("types a task plan and an environment plan that compile as written", () => {
    const tasks = definePlan({
      failurePolicy: "rollback",
      tasks: [
        { id: "export", run: "http", params: { url: "https://example.com/export" }, timeoutSeconds: 120, retry: { maxAttempts: 3 } },
        { id: "gate", run: "approval", params: { approvers: ["ops@example.com"] }, needs: ["export"] },
      ],
    });
    const environments = definePlan({
      goals: [{ id: "high_availability", priority: 1, targetEnvironments: ["production"] }],
      environments: [{ name: "production", projectId: "acme-prod", region: "us-central1", integrations: ["database", "hosting"] }],
    });
    for (const plan of [tasks, environments]) expect(compilePlan(plan as Record<string, unknown>).ok).toBe(true);
    expect(tasks.tasks[0]!.id).toBe("export"); // returned unchanged, with its literal types
  });

  it("refuses at compile time what the planner refuses at run time", () => {
    // @ts-expect-error: not an executor
    definePlan({ tasks: [{ id: "a", run: "teleport" }] });
    // @ts-expect-error: not a failure policy
    definePlan({ failurePolicy: "pray", tasks: [{ id: "a", run: "noop" }] });
    expect(compilePlan({ tasks: [{ id: "a", run: "teleport" }] }).ok).toBe(false);
  });
});
