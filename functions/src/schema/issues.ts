/**
 * Turns zod issues into the `errors: [{path, message}]` shape every invalid document and
 * message carries, so a user sees exactly which field to fix.
 */
import type { z } from "zod";

export interface FieldError {
  /** Dotted path of the bad field, e.g. `tasks.3.params.ms`; `""` for the document itself. */
  path: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function pathToString(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => String(p)).join(".");
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ path: pathToString(issue.path), message: issue.message }));
}

/** Parses without throwing: bad input is an expected value here, not an exception. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown): Parsed<z.output<S>> {
  const result = schema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, errors: fieldErrors(result.error) };
}
