/**
 * Every query the API runs, declared as data and built from that declaration, so the index test
 * (test/unit/api/indexes.test.ts) checks exactly what runs against firestore.indexes.json.
 * `in` filters count as equality for indexing, as in Firestore.
 */
import { FieldPath, type Query } from "firebase-admin/firestore";

export type Direction = "asc" | "desc";

export interface QueryShape {
  /** The collection id (the last path segment). */
  collection: string;
  scope: "COLLECTION" | "COLLECTION_GROUP";
  /** Fields filtered with `==` or `in`. */
  equals: readonly string[];
  /** Sort order; `__name__` is the document id. Cursors page with `startAfter` on these fields. */
  orderBy: ReadonlyArray<readonly [string, Direction]>;
}

const shape = (collection: string, equals: readonly string[], orderBy: QueryShape["orderBy"]): QueryShape => ({ collection, scope: "COLLECTION", equals, orderBy });

export const API_QUERIES = {
  /** The plan list, newest first. */
  recentPlans: shape("plans", [], [["createdAt", "desc"], ["__name__", "desc"]]),
  /** The plan list filtered by status (`?status=running`). */
  plansByStatus: shape("plans", ["status"], [["createdAt", "desc"], ["__name__", "desc"]]),
  /** A plan's tasks, one page at a time, by id. */
  tasksById: shape("tasks", [], [["__name__", "asc"]]),
  /** How many of a plan's tasks are in one status (an aggregation: no documents are read). */
  tasksInStatus: shape("tasks", ["status"], []),
  /** A plan's history, oldest first. */
  eventsByTime: shape("events", [], [["at", "asc"], ["__name__", "asc"]]),
  /** A plan's latest events (the page's history panel). */
  latestEvents: shape("events", [], [["at", "desc"], ["__name__", "desc"]]),
  /** Environments (a bounded handful: 10+), by id. */
  environmentsById: shape("environments", [], [["__name__", "asc"]]),
  /** Open (or resolved) alerts, most recently seen first. */
  alertsByStatus: shape("alerts", ["status"], [["lastSeen", "desc"], ["__name__", "desc"]]),
  /** Health reports, newest first. */
  recentReports: shape("reports", [], [["startedAt", "desc"], ["__name__", "desc"]]),
} as const satisfies Record<string, QueryShape>;

/** Applies a declared shape to a collection (or collection group) with the filter values given. */
export function shapedQuery(base: Query, declared: QueryShape, values: Record<string, unknown> = {}): Query {
  let q = base;
  for (const field of declared.equals) {
    const value = values[field];
    if (value === undefined) throw new Error(`query on ${declared.collection} needs a value for ${field}`);
    q = q.where(field, Array.isArray(value) ? "in" : "==", value);
  }
  for (const [field, direction] of declared.orderBy) q = q.orderBy(field === "__name__" ? FieldPath.documentId() : field, direction);
  return q;
}
