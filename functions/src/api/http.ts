/**
 * The API's request and response shapes, independent of Express, so the router is a pure
 * function of (context, request) that unit tests call directly.
 */
import { createHash } from "node:crypto";
import type { FieldError } from "../schema/issues";

export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
  /** Lower-case header names. */
  headers?: Record<string, string | undefined>;
  /** The parsed JSON body of a POST (Express parses `application/json`); a string is parsed here. */
  body?: unknown;
}

export interface ApiResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function ok(body: unknown, status = 200): ApiResponse {
  return { status, body };
}

export function apiError(status: number, code: string, message: string, errors?: FieldError[]): ApiResponse {
  return { status, body: { error: { code, message, ...(errors === undefined ? {} : { errors }) } } };
}

export const notFound = (what: string): ApiResponse => apiError(404, "not_found", what);

/** 400 with every problem located by its field path, like invalid plan documents. */
export const invalid = (message: string, errors: FieldError[]): ApiResponse => apiError(400, "invalid_argument", message, errors);

/**
 * Weak ETag of a JSON body: a polling page sends it back as `If-None-Match` and gets an empty 304
 * when nothing changed, so a 1-second refresh costs bandwidth only when something moved.
 */
export function etagOf(body: unknown): string {
  return `W/"${createHash("sha1").update(JSON.stringify(body)).digest("base64url")}"`;
}

export function withEtag(req: ApiRequest, res: ApiResponse): ApiResponse {
  if (req.method !== "GET" || res.status !== 200) return res;
  const etag = etagOf(res.body);
  const headers = { ...res.headers, ETag: etag };
  const wanted = req.headers?.["if-none-match"];
  if (wanted !== undefined && wanted.split(",").some((t) => t.trim() === etag)) return { status: 304, body: null, headers };
  return { ...res, headers };
}

/** `?limit=`: a positive integer, at most `max`; absent or malformed: `fallback`. */
export function limitFrom(query: Record<string, unknown>, fallback: number, max: number): number {
  const value = Number(query.limit);
  return Number.isInteger(value) && value > 0 ? Math.min(value, max) : fallback;
}

/** Opaque page cursors: the last row's sort values, base64url JSON. */
export function encodeCursor(values: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(values)).toString("base64url");
}

export function decodeCursor(raw: unknown, arity: number): Array<string | number> | undefined | "bad" {
  if (raw === undefined || raw === "") return undefined;
  if (typeof raw !== "string") return "bad";
  try {
    const values = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(values) && values.length === arity && values.every((v) => typeof v === "string" || typeof v === "number")) return values as Array<string | number>;
  } catch {
    // fall through
  }
  return "bad";
}

export const badCursor = (): ApiResponse => invalid("the page cursor is not one this API issued", [{ path: "cursor", message: "pass back nextCursor from the previous page unchanged" }]);

/** Firestore's limit on a document id, in bytes of UTF-8. */
/**
 * Ids from the path are checked before anything is read: `db.collection("plans").doc("a/tasks/b")`
 * would otherwise address a deeper document (a task read through a plan view), and an odd number of
 * segments or a reserved id would make the SDK throw (a 500 instead of the caller's mistake).
 */
export { documentIdProblem, MAX_DOCUMENT_ID_BYTES } from "../schema/storable";

/** Keeps only the listed fields that are set. */
export function pick(data: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (data[f] !== undefined) out[f] = data[f];
  return out;
}

/** A JSON object body, or the reason it is not one. */
export function jsonObjectBody(req: ApiRequest): { ok: true; value: Record<string, unknown> } | { ok: false; response: ApiResponse } {
  let body = req.body;
  if (typeof body === "string" || Buffer.isBuffer(body)) {
    try {
      body = JSON.parse(body.toString()) as unknown;
    } catch (e) {
      return { ok: false, response: invalid("the body is not JSON", [{ path: "", message: (e as Error).message }]) };
    }
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, response: invalid("the body must be a JSON object", [{ path: "", message: "send a JSON object with Content-Type: application/json" }]) };
  }
  return { ok: true, value: body as Record<string, unknown> };
}
