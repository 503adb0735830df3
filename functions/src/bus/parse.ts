/** Decoding and validating inbound Pub/Sub messages, the same way for every topic. */
import type { z } from "zod";
import { parseWith, type FieldError } from "../schema/issues";

export type Inbound<T> = { ok: true; value: T; raw: string } | { ok: false; errors: FieldError[]; raw: string };

export function parseMessage<S extends z.ZodType>(schema: S, message: { data?: string }): Inbound<z.output<S>> {
  const raw = Buffer.from(message.data ?? "", "base64").toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { ok: false, errors: [{ path: "", message: "the message body is not JSON" }], raw };
  }
  const parsed = parseWith(schema, body);
  return parsed.ok ? { ok: true, value: parsed.value, raw } : { ok: false, errors: parsed.errors, raw };
}
