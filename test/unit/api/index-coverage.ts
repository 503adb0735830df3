/**
 * Whether firestore.indexes.json serves a query shape, by Firestore's rules: a query filtering only
 * on equality (or `in`), or ordering by a single field, is served by automatic single-field indexes
 * (collection scope; collection-group scope only where a field override enables it, and never
 * on a field whose override exempts it); anything else needs a composite index whose fields are the
 * equality fields (any order) followed by the order-by fields with their directions. A trailing
 * order on the document id in the same direction as the last order-by is implicit.
 */
import type { QueryShape } from "../../../functions/src/api/queries";

export interface IndexesFile {
  indexes: Array<{ collectionGroup: string; queryScope: "COLLECTION" | "COLLECTION_GROUP"; fields: Array<{ fieldPath: string; order?: "ASCENDING" | "DESCENDING"; arrayConfig?: string }> }>;
  fieldOverrides: Array<{ collectionGroup: string; fieldPath: string; indexes: Array<{ order?: "ASCENDING" | "DESCENDING"; queryScope: "COLLECTION" | "COLLECTION_GROUP" }> }>;
}

const ORDER = { asc: "ASCENDING", desc: "DESCENDING" } as const;

function singleFieldServes(file: IndexesFile, shape: QueryShape, field: string, order: "ASCENDING" | "DESCENDING"): boolean {
  const override = file.fieldOverrides.find((o) => o.collectionGroup === shape.collection && o.fieldPath === field);
  if (override === undefined) return shape.scope === "COLLECTION";
  return override.indexes.some((i) => i.queryScope === shape.scope && (i.order === order || i.order === undefined));
}

export function explainCoverage(file: IndexesFile, shape: QueryShape): string | null {
  const orderBy = [...shape.orderBy];
  const last = orderBy.at(-1);
  if (last !== undefined && last[0] === "__name__" && (orderBy.length === 1 || orderBy.at(-2)![1] === last[1])) orderBy.pop();
  if (orderBy.length === 0) {
    const missing = shape.equals.filter((f) => !singleFieldServes(file, shape, f, "ASCENDING"));
    return missing.length === 0 ? null : `no ${shape.scope} single-field index on ${missing.join(", ")}`;
  }
  if (shape.equals.length === 0 && orderBy.length === 1) {
    const [field, direction] = orderBy[0]!;
    return singleFieldServes(file, shape, field, ORDER[direction]) ? null : `no ${shape.scope} single-field index on ${field} ${direction}`;
  }
  const wanted = new Set(shape.equals);
  const found = file.indexes.some((index) => {
    if (index.collectionGroup !== shape.collection || index.queryScope !== shape.scope) return false;
    const fields = index.fields.filter((f) => f.fieldPath !== "__name__");
    if (fields.length !== shape.equals.length + orderBy.length) return false;
    const head = fields.slice(0, shape.equals.length);
    const tail = fields.slice(shape.equals.length);
    return head.every((f) => wanted.has(f.fieldPath)) && new Set(head.map((f) => f.fieldPath)).size === wanted.size && tail.every((f, i) => f.fieldPath === orderBy[i]![0] && f.order === ORDER[orderBy[i]![1]]);
  });
  const described = [...shape.equals.map((f) => `${f} ==`), ...orderBy.map(([f, d]) => `${f} ${d}`)].join(", ");
  return found ? null : `needs a ${shape.scope} composite index on ${shape.collection} (${described})`;
}
