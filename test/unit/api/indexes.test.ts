/**
 * firestore.indexes.json serves every query the code runs: the API's declared queries (built from
 * the same declarations they run from) and the engine's and health runs' queries listed below.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { API_QUERIES, type QueryShape } from "../../../functions/src/api/queries";
import { explainCoverage, type IndexesFile } from "./index-coverage";

const file = JSON.parse(readFileSync(join(__dirname, "../../../firestore.indexes.json"), "utf8")) as IndexesFile;

/** Queries outside the API, as written in their modules (update here when they change). */
const OTHER_QUERIES: Record<string, QueryShape> = {
  // store/tasks.ts dueTasks: collectionGroup("tasks").where("sweepAt", "<=", now).orderBy("sweepAt")
  "engine: due tasks across plans": { collection: "tasks", scope: "COLLECTION_GROUP", equals: [], orderBy: [["sweepAt", "asc"]] },
  // store/tasks.ts anyTaskIn, cancelOpenTasks: tasksOf(plan).where("status", "in", [...])
  "engine: a plan's tasks in some statuses": { collection: "tasks", scope: "COLLECTION", equals: ["status"], orderBy: [] },
  // store/tasks.ts lastFinishOf: tasksOf(plan).orderBy("finishedAt", "desc") (a single-field index)
  "engine: a plan's latest finish": { collection: "tasks", scope: "COLLECTION", equals: [], orderBy: [["finishedAt", "desc"]] },
  // store/plans.ts advanceRollback: tasks.where("status", "==", "succeeded").where("compensable", "==", true).orderBy("level", "desc")
  "engine: the next rollback level": { collection: "tasks", scope: "COLLECTION", equals: ["status", "compensable"], orderBy: [["level", "desc"]] },
  // store/plans.ts advanceRollback: tasks.where("status", "==", "failed").where("compensatesFailure", "==", true).where("compensationError", "==", null).orderBy("level", "desc")
  "engine: failed runs a rollback undoes": { collection: "tasks", scope: "COLLECTION", equals: ["status", "compensatesFailure", "compensationError"], orderBy: [["level", "desc"]] },
  // store/changes.ts pending: changesOf(plan).where("taskId", "==", task)
  "executors: a task's change journal": { collection: "changes", scope: "COLLECTION", equals: ["taskId"], orderBy: [] },
  // store/plans.ts advanceRollback: tasks.where("compensationError", "!=", null) (a range on one field)
  "engine: a failed compensation": { collection: "tasks", scope: "COLLECTION", equals: [], orderBy: [["compensationError", "asc"]] },
  // store/locks.ts: locks.where("owner", "==", plan) and locks.where("expiresAt", "<=", soon)
  "engine: locks a plan holds": { collection: "locks", scope: "COLLECTION", equals: ["owner"], orderBy: [] },
  "engine: locks about to expire": { collection: "locks", scope: "COLLECTION", equals: [], orderBy: [["expiresAt", "asc"]] },
  // runtime/sweep.ts: plans.where("status", "==", "running" | "rolling_back" | "waiting")
  "engine: plans running, rolling back or waiting": { collection: "plans", scope: "COLLECTION", equals: ["status"], orderBy: [] },
  // store/health.ts loadPlans: plans.where("compiled.form", "==", "environments")
  "health: environment plans": { collection: "plans", scope: "COLLECTION", equals: ["compiled.form"], orderBy: [] },
  // store/health.ts: alerts.where("status", "==", "open")
  "health: open alerts": { collection: "alerts", scope: "COLLECTION", equals: ["status"], orderBy: [] },
  // store/health.ts prune: reports.where("startedAt", "<", before).orderBy("startedAt") (range and order on one field)
  "health: reports to prune": { collection: "reports", scope: "COLLECTION", equals: [], orderBy: [["startedAt", "asc"]] },
};

describe("firestore.indexes.json", () => {
  it.each(Object.entries({ ...API_QUERIES, ...OTHER_QUERIES }))("serves the query %s", (_name, shape) => {
    expect(explainCoverage(file, shape)).toBeNull();
  });

  it("keeps the engine's field overrides (large task fields are not indexed)", () => {
    const exempt = file.fieldOverrides.filter((o) => o.collectionGroup === "tasks" && o.indexes.length === 0).map((o) => o.fieldPath);
    expect(exempt).toEqual(expect.arrayContaining(["history", "params", "output", "needs", "dependents", "needsDone", "error"]));
  });

  it("spots a query that would fail in production for want of an index", () => {
    expect(explainCoverage(file, { collection: "plans", scope: "COLLECTION", equals: ["failurePolicy"], orderBy: [["createdAt", "desc"]] })).toMatch(/composite index on plans/);
    expect(explainCoverage(file, { collection: "plans", scope: "COLLECTION", equals: ["status"], orderBy: [["createdAt", "asc"]] })).toMatch(/composite/);
    expect(explainCoverage(file, { collection: "events", scope: "COLLECTION_GROUP", equals: [], orderBy: [["at", "asc"]] })).toMatch(/single-field/);
    expect(explainCoverage(file, { collection: "tasks", scope: "COLLECTION", equals: [], orderBy: [["history", "asc"]] })).toMatch(/single-field index on history/);
  });
});
