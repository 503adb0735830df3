/**
 * What Firestore can store, checked before anything is written: ids that name exactly one document,
 * and values (outputs from other systems) that Firestore accepts. Inbound messages are checked
 * here, in their schemas, because a message that validates but cannot be written makes its handler
 * throw, and Pub/Sub then redelivers it for seven days; refused here, it is dead-lettered once with
 * the path of its bad part. Pure: no Firebase import, so the planner and tests use it as they are.
 */
import { z } from "zod";

/** Firestore's limit on a document id, in bytes of UTF-8. */
export const MAX_DOCUMENT_ID_BYTES = 1_500;
/** Firestore's limit on a field name, in bytes of UTF-8. */
export const MAX_FIELD_NAME_BYTES = 1_500;
/** Firestore's limit on nested maps and arrays in one document (see `storableProblem` for how it is counted). */
export const MAX_FIRESTORE_DEPTH = 20;
/** Firestore's limit on one document: 1 MiB, its name and field names included. */
export const MAX_DOCUMENT_BYTES = 1_048_576;

const RESERVED = /^__.*__$/s;

/**
 * Why `id` cannot be one Firestore document id, or undefined when it can: `doc("a/tasks/b")` would
 * address a deeper document, and `.`, `..`, `__x__` and over-long ids make the SDK or the server
 * refuse the write.
 */
export function documentIdProblem(id: string): string | undefined {
  if (id === "") return "is empty";
  if (id.includes("/")) return "contains '/': an id is one path segment";
  if (id === "." || id === "..") return `is "${id}", which Firestore does not allow as an id`;
  if (RESERVED.test(id)) return "matches __.*__, which Firestore reserves";
  const bytes = Buffer.byteLength(id, "utf8");
  if (bytes > MAX_DOCUMENT_ID_BYTES) return `is ${bytes} bytes as UTF-8; at most ${MAX_DOCUMENT_ID_BYTES}`;
  return undefined;
}

/** A string that is one Firestore document id (a plan id, an id the engine puts in a path). */
export const firestoreIdSchema = z.string().superRefine((id, ctx) => {
  const problem = documentIdProblem(id);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: `the id ${problem}; use letters, digits, '-', '_', '.' or ':'` });
});

/**
 * Characters of an id that becomes part of a document id (`command.{commandId}`): conservative, so
 * that no prefix or suffix the engine adds can make it unsafe and it reads well in logs and URLs.
 */
export const ID_FRAGMENT_PATTERN = /^[A-Za-z0-9._:@-]{1,200}$/;

const FRAGMENT_ADVICE = "use 1 to 200 letters, digits, '-', '_', '.', ':' or '@' (it becomes part of a document id; a UUID is best)";

/**
 * An id from outside that the engine builds document ids from (a command's `commandId`). `.`, `..`
 * and `__x__` fit the pattern and are refused too, so the id is safe even on its own. One issue per
 * id, the most specific first.
 */
export const idFragmentSchema = z.string().superRefine((id, ctx) => {
  const problem = documentIdProblem(id);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: `the id ${problem}; ${FRAGMENT_ADVICE}` });
  else if (!ID_FRAGMENT_PATTERN.test(id)) ctx.addIssue({ code: "custom", message: FRAGMENT_ADVICE });
});

/** Where a value cannot be stored, as a dotted path from the caller's `path`, and why. */
export interface StorableProblem {
  path: string;
  message: string;
}

export interface StorableOptions {
  /** The most bytes the value may take as JSON (UTF-8); defaults to a whole document's 1 MiB; Infinity skips the check. */
  maxBytes?: number;
  /**
   * How many levels of maps and arrays the value may use; defaults to Firestore's 20, right for a
   * value stored as a top-level field. A value stored inside a map of its own gets 20 minus the
   * levels above it.
   */
  maxDepth?: number;
}

/**
 * Why `value` cannot be stored in Firestore as it is, or null when it can. `path` names where the
 * value is (`output`); the problem's path continues it to the bad part (`output.rows.3`). Checked:
 *   - JSON data only: null, booleans, strings, finite numbers (no NaN or Infinity: JSON turns them
 *     into null, so what the page shows would not be what was stored), arrays and plain objects;
 *     no `undefined` (the Admin SDK throws on it), functions, bigints or class instances;
 *   - no array directly inside an array (Firestore refuses them, at any depth);
 *   - field names: not empty, not `__.*__` (reserved), at most 1,500 bytes;
 *   - depth: each map or array is one level, counted from the value itself (a top-level field that
 *     holds a map is level 1, a map in that map level 2, and so on; the document is level 0, and an
 *     empty map or array counts too); at most `maxDepth` (20) levels. This is Firestore's "maximum
 *     depth of fields in a map or array: 20"; the Admin SDK's own check (a field path of at most
 *     21 segments) passes everything this passes;
 *   - size: the value as JSON, in bytes of UTF-8, at most `maxBytes`.
 * The walk stops at the depth limit, so a cycle or a very deep value is refused, not a stack overflow.
 */
export function storableProblem(value: unknown, path: string, options: StorableOptions = {}): StorableProblem | null {
  const found = storableIssue(value, path === "" ? [] : [path], options);
  return found === null ? null : { path: found.path.join("."), message: found.message };
}

/** `storableProblem` with the path as segments, for a zod issue (keys that contain dots stay whole). */
export function storableIssue(value: unknown, path: ReadonlyArray<string | number>, options: StorableOptions = {}): { path: Array<string | number>; message: string } | null {
  const maxDepth = options.maxDepth ?? MAX_FIRESTORE_DEPTH;
  const maxBytes = options.maxBytes ?? MAX_DOCUMENT_BYTES;
  const shape = shapeIssue(value, [...path], 0, false, maxDepth);
  if (shape !== null) return shape;
  if (!Number.isFinite(maxBytes)) return null;
  // Safe now: the value is plain JSON data no deeper than maxDepth.
  const bytes = Buffer.byteLength(JSON.stringify(value), "utf8");
  if (bytes > maxBytes) return { path: [...path], message: `${bytes} bytes as JSON; at most ${maxBytes} can be stored here: send less, or a reference to where the rest is` };
  return null;
}

function shapeIssue(value: unknown, path: Array<string | number>, depth: number, inArray: boolean, maxDepth: number): { path: Array<string | number>; message: string } | null {
  const at = (message: string) => ({ path, message });
  if (value === null || typeof value === "string" || typeof value === "boolean") return null;
  if (typeof value === "number") return Number.isFinite(value) ? null : at(`${String(value)} is not a finite number: JSON cannot carry it, so what is shown would not be what was stored; send a finite number, or null`);
  if (value === undefined) return at("undefined cannot be stored in Firestore; leave the field out, or send null");
  if (typeof value !== "object") return at(`a ${typeof value} is not JSON data; send a string, number, boolean, null, array or object`);
  const level = depth + 1;
  if (level > maxDepth) return at(`this ${Array.isArray(value) ? "array" : "map"} is level ${level} of nested maps and arrays; Firestore stores at most ${maxDepth}: flatten it, or send this part as a JSON string`);
  if (Array.isArray(value)) {
    if (inArray) return at("an array directly inside an array cannot be stored in Firestore; wrap it in an object");
    for (let i = 0; i < value.length; i++) {
      // Holes (`[1, , 3]`) read as undefined, and are refused as such.
      const issue = shapeIssue(value[i], [...path, i], level, true, maxDepth);
      if (issue !== null) return issue;
    }
    return null;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return at(`a ${(value as { constructor?: { name?: string } }).constructor?.name ?? "class instance"} is not plain JSON data; send its fields as an object`);
  for (const [key, child] of Object.entries(value)) {
    if (key === "") return at("a field with an empty name cannot be stored in Firestore; name it");
    if (RESERVED.test(key)) return { path: [...path, key], message: "field names matching __.*__ are reserved by Firestore; rename it" };
    const keyBytes = Buffer.byteLength(key, "utf8");
    if (keyBytes > MAX_FIELD_NAME_BYTES) return { path: [...path, `${key.slice(0, 40)}…`], message: `a field name of ${keyBytes} bytes as UTF-8; Firestore allows at most ${MAX_FIELD_NAME_BYTES}: shorten it` };
    const issue = shapeIssue(child, [...path, key], level, false, maxDepth);
    if (issue !== null) return issue;
  }
  return null;
}
