/**
 * Decoding and validating inbound Pub/Sub messages, the same way for every topic. Never throws on
 * what was sent: whatever cannot be decoded or validated comes back as field errors, so the handler
 * dead-letters it once instead of throwing and having Pub/Sub redeliver it for seven days.
 */
import type { z } from "zod";
import { parseWith, type FieldError, type Parsed } from "../schema/issues";

export type Inbound<T> = { ok: true; value: T; raw: string } | { ok: false; errors: FieldError[]; raw: string };

export function parseMessage<S extends z.ZodType>(schema: S, message: { data?: string }): Inbound<z.output<S>> {
  const raw = Buffer.from(message.data ?? "", "base64").toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { ok: false, errors: [{ path: "", message: "the message body is not JSON" }], raw };
  }
  let parsed: Parsed<z.output<S>>;
  try {
    parsed = parseWith(schema, body);
  } catch (error) {
    // A refinement that throws on a shape nobody foresaw (e.g. a stack overflow on a body nested
    // 100,000 levels deep) is the message's fault as much as a field error is: the same body would
    // throw on every redelivery.
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { ok: false, errors: [{ path: "", message: `the message could not be validated (${why.slice(0, 300)}); send a smaller, flatter body` }], raw };
  }
  return parsed.ok ? { ok: true, value: parsed.value, raw } : { ok: false, errors: parsed.errors, raw };
}
