/**
 * Counts Firestore reads and writes made through firebase-admin in this process, by wrapping the
 * client's public read paths and its write batch's commit (every write, transactional or not, goes
 * through one). Reads count documents returned; an aggregation counts one read per 1,000 index entries,
 * as Firestore bills it. Writes are kept per document path with their time, for hot-document checks.
 */
import { Firestore, Query, Transaction, WriteBatch } from "firebase-admin/firestore";

export interface Meter {
  reads: number;
  /** Reads by what was read: `plan`, `task`, or the queried collection's id (`tasks?`, `events?`…; `count` for aggregations). */
  readsByKind: Map<string, number>;
  writes: number;
  writesByDoc: Map<string, number[]>;
  reset(): void;
  /** Highest number of writes any one document received within any `windowMs` (default one second). */
  maxWritesPerDoc(windowMs?: number): number;
  /** Runs `read` without counting it (the harness's own polling, not the engine's work). */
  uncounted<T>(read: () => Promise<T>): Promise<T>;
}

type Fn = (...args: unknown[]) => unknown;

function docsIn(result: unknown): number {
  if (Array.isArray(result)) return result.length;
  if (result && typeof result === "object" && "docs" in result) return (result as { docs: unknown[] }).docs.length || 1;
  if (result && typeof result === "object" && "data" in result && typeof (result as { data: unknown }).data === "function") {
    const data = (result as { data: () => unknown }).data() as { count?: number } | undefined;
    if (data && typeof data.count === "number") return Math.max(1, Math.ceil(data.count / 1000));
  }
  return 1;
}

/** What a read read: a document's kind from its path (`plans/p` → plan, `plans/p/tasks/t` → task), or a query's collection. */
function kindOf(self: unknown, args: unknown[], result: unknown): string {
  const docKind = (path: string): string => {
    const parts = path.split("/");
    return parts.length === 2 ? parts[0]!.replace(/s$/, "") : parts.length === 4 ? parts[2]!.replace(/s$/, "") : parts.filter((_, i) => i % 2 === 0).join("/");
  };
  if (self instanceof Query) return `${(self as unknown as { _queryOptions: { collectionId: string } })._queryOptions.collectionId}?`;
  const first = Array.isArray(result) ? (result[0] as { ref?: { path: string } } | undefined) : undefined;
  if (first?.ref !== undefined) return [...new Set((result as Array<{ ref: { path: string } }>).map((r) => docKind(r.ref.path)))].join("+");
  const ref = args[0] as { path?: string } | undefined;
  return typeof ref?.path === "string" ? docKind(ref.path) : "count";
}

/** `db` supplies the aggregation class, which firebase-admin does not export by name. */
export function installMeter(db: Firestore): Meter {
  // Only the harness's reads run while paused: the pump polls between rounds, when no task runs.
  let paused = 0;
  const meter: Meter = {
    reads: 0,
    readsByKind: new Map(),
    writes: 0,
    writesByDoc: new Map(),
    reset() {
      this.reads = 0;
      this.readsByKind.clear();
      this.writes = 0;
      this.writesByDoc.clear();
    },
    maxWritesPerDoc(windowMs = 1000) {
      let max = 0;
      for (const times of this.writesByDoc.values()) {
        const sorted = [...times].sort((a, b) => a - b);
        for (let i = 0, j = 0; j < sorted.length; j++) {
          while (sorted[j]! - sorted[i]! >= windowMs) i++;
          max = Math.max(max, j - i + 1);
        }
      }
      return max;
    },
    async uncounted<T>(read: () => Promise<T>): Promise<T> {
      paused += 1;
      try {
        return await read();
      } finally {
        paused -= 1;
      }
    },
  };
  const wrapRead = (proto: Record<string, unknown>, name: string) => {
    const original = proto[name] as Fn;
    proto[name] = async function (this: unknown, ...args: unknown[]) {
      const counting = paused === 0;
      const result = await original.apply(this, args);
      if (counting) {
        const n = docsIn(result);
        meter.reads += n;
        const kind = kindOf(this, args, result);
        meter.readsByKind.set(kind, (meter.readsByKind.get(kind) ?? 0) + n);
      }
      return result;
    };
  };
  wrapRead(Firestore.prototype as unknown as Record<string, unknown>, "getAll");
  wrapRead(Query.prototype as unknown as Record<string, unknown>, "get");
  wrapRead(Object.getPrototypeOf(db.collection("meter").count()) as Record<string, unknown>, "get");
  wrapRead(Transaction.prototype as unknown as Record<string, unknown>, "get");
  wrapRead(Transaction.prototype as unknown as Record<string, unknown>, "getAll");
  // Writes count when their commit succeeds (a failed commit writes nothing and is not billed).
  // Every commit, plain, batched or transactional, goes through WriteBatch's internal `_commit`;
  // its `_ops` name the documents written (firebase-admin internals: a benchmark's meter only).
  const batchProto = WriteBatch.prototype as unknown as Record<string, unknown>;
  const commit = batchProto._commit as Fn;
  batchProto._commit = async function (this: { _ops: Array<{ docPath: string }> }, ...args: unknown[]) {
    const paths = this._ops.map((o) => o.docPath);
    const result = await commit.apply(this, args);
    const now = Date.now();
    meter.writes += paths.length;
    for (const path of paths) {
      const times = meter.writesByDoc.get(path) ?? [];
      times.push(now);
      meter.writesByDoc.set(path, times);
    }
    return result;
  };
  return meter;
}
