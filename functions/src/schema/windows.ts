/**
 * `windows/{windowId}`: maintenance and freeze windows, set by operators (the API, the command
 * line). Like Cloud Deploy's deploy policies, they live beside plans, not in them, so a plan's
 * author cannot write a freeze away:
 *   - maintenance: planned work on an environment; health runs in it do not count against goals'
 *     error budgets, and the page shows it;
 *   - freeze: no plan may change the environment while it is on; a plan that would waits
 *     (`waiting`, naming the window) until it ends, or until an operator overrides it with a reason.
 * Each window has one-off occurrences (`oneTime`, like Cloud Deploy's oneTimeWindows) and weekly
 * ones (`weekly`, like its weeklyWindows) in an IANA time zone.
 */
import { z } from "zod";
import { firestoreIdSchema } from "./storable";

export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** At most a week: a weekly occurrence never overlaps the next one of the same day. */
export const MAX_WINDOW_MINUTES = 7 * 24 * 60;

const instantSchema = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && Number.isFinite(Date.parse(s)), 'an ISO 8601 instant with its offset, e.g. "2026-12-24T18:00:00Z"')
    .transform((s) => Date.parse(s)),
]);

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const oneTimeWindowSchema = z
  .object({ start: instantSchema, end: instantSchema })
  .strict()
  .refine((w) => w.end > w.start, { message: "end must be after start", path: ["end"] });

export const weeklyWindowSchema = z
  .object({
    days: z.array(z.enum(WEEKDAYS)).min(1).max(7),
    /** Local wall-clock time it opens, `HH:MM` (24 h). */
    start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a 24-hour time "HH:MM", e.g. "22:00"'),
    durationMinutes: z.number().int().min(1).max(MAX_WINDOW_MINUTES),
    timeZone: z.string().min(1).max(64).refine(isTimeZone, 'an IANA time zone, e.g. "Europe/Berlin" or "UTC"').default("UTC"),
  })
  .strict();

export const WINDOW_KINDS = ["maintenance", "freeze"] as const;

export const windowSpecSchema = z
  .object({
    kind: z.enum(WINDOW_KINDS),
    name: z.string().min(1).max(200),
    reason: z.string().max(2000).optional(),
    /** Environment names (`production`), tiers, or project ids; `*`: every environment. */
    environments: z.array(z.string().min(1).max(64)).min(1).max(100),
    oneTime: z.array(oneTimeWindowSchema).max(100).default([]),
    weekly: z.array(weeklyWindowSchema).max(50).default([]),
  })
  .strict()
  .refine((w) => w.oneTime.length + w.weekly.length > 0, { message: "a window needs at least one occurrence: oneTime or weekly", path: ["oneTime"] });
export type WindowSpec = z.output<typeof windowSpecSchema>;
export type OneTimeWindow = z.output<typeof oneTimeWindowSchema>;
export type WeeklyWindow = z.output<typeof weeklyWindowSchema>;

/** As stored: the spec, who set it and when. */
export type WindowDoc = WindowSpec & { id: string; updatedAt: number | null; updatedBy: string | null };

/** A stored window, or what is wrong with it (the engine treats an unreadable window as a freeze of everything: it fails closed). */
export function parseWindowDoc(id: string, data: Record<string, unknown>): { ok: true; window: WindowDoc } | { ok: false; problem: string } {
  const { updatedAt, updatedBy, ...spec } = data;
  const parsed = windowSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, problem: `${issue.path.join(".") || "(document)"}: ${issue.message}` };
  }
  return { ok: true, window: { ...parsed.data, id, updatedAt: typeof updatedAt === "number" ? updatedAt : null, updatedBy: typeof updatedBy === "string" ? updatedBy : null } };
}

export const windowIdSchema = firestoreIdSchema;
