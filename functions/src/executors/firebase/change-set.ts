/**
 * Change sets: what one provision of one integration changes, resource by resource, and the
 * record that lets a compensation undo exactly that.
 *
 * An integration reads the observed state of every resource it manages and diffs it against the
 * desired state: each resource is a `create` (absent now), an `update` (the changed fields,
 * before → after) or a `noop`. There is never an implicit delete. The change carries the
 * resource's before-image (what was there, or `null` for absent) and the after-view it will have.
 *
 * Applying is write-ahead: the journal records the change (`intended`) before its mutating call
 * and what the call made (`applied`: server-assigned name, version) after it. A compensation
 * replays the journal backwards, one resource at a time (see `UndoOutcome`).
 */
import { createHash } from "node:crypto";
import { canonicalJson, sameValue } from "./context";

/** A resource's comparable fields, as the integration's reader sees them. */
export type View = Record<string, unknown>;

export type ChangeAction = "create" | "update" | "replace" | "noop";

export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

export interface Change {
  /** The resource's full name, or a stable description while it has none yet. */
  resource: string;
  /** What kind of resource, e.g. `hosting.release`, `rules.release`, `scheduler.job`. */
  type: string;
  action: ChangeAction;
  /** For an update: the fields that differ; for a create: every field it will have. */
  fields: FieldChange[];
  /** What was there before (the restorable image), or null: absent. */
  before: View | null;
  /** The view the resource has once the change applied. */
  after: View;
  /**
   * Set on a change made only so that another one can apply (a new ruleset for a release): it is
   * journaled and undone like any other, but it is not drift and not counted in the summary.
   */
  supports?: string;
}

/** What a mutating call made: the name the server gave and a version to recognise it by. */
export interface Made {
  name?: string;
  /** etag, update time or release name: changes whenever anyone changes the resource. */
  version?: string | null;
  /** The resource's view as the call answered it. */
  view?: View;
}

export type EntryStatus = "intended" | "applied" | "undone" | "conflict" | "failed";

/** One change as the journal holds it. */
export interface JournalEntry {
  /** Unique within the task. */
  id: string;
  /** Epoch ms of the intent; with `index`, the order of application. */
  at: number;
  index: number;
  /** The idempotency key of the attempt that applied it. */
  runKey: string;
  change: Change;
  status: EntryStatus;
  made: Made | null;
  undo: UndoOutcome | null;
}

/**
 * How one recorded change was undone:
 * - `deleted`: this attempt created it and it was still the version the attempt made;
 * - `restored`: returned to its before-image;
 * - `absent`: already gone (or never made: the attempt stopped before its call);
 * - `left`: nothing to undo, or a rule forbids it (a DEFAULT Hosting site is never disabled);
 * - `conflict`: someone changed it after the apply; left as it is.
 */
export interface UndoOutcome {
  resource: string;
  result: "deleted" | "restored" | "absent" | "left" | "conflict";
  detail?: string;
}

/** The attempt's write-ahead record of its changes (Firestore `plans/{planId}/changes`). */
export interface ChangeJournal {
  /** Records a change before its mutating call; answers the entry's id. Must be durable when it resolves. */
  intend(change: Change, index: number): Promise<string>;
  applied(entryId: string, made: Made): Promise<void>;
  /** Every entry of this task that a compensation has not undone yet, in the order applied. */
  pending(): Promise<JournalEntry[]>;
  settle(entryId: string, status: "undone" | "conflict" | "failed", outcome: UndoOutcome): Promise<void>;
}

/** The diff of one resource: create when absent, update with the fields that differ, else noop. */
export function diffResource(type: string, resource: string, desired: View, observed: View | undefined, before: View | null = observed ?? null): Change {
  if (observed === undefined) {
    return { resource, type, action: "create", fields: Object.entries(desired).map(([field, after]) => ({ field, before: null, after })), before: null, after: desired };
  }
  const fields: FieldChange[] = [];
  for (const [field, after] of Object.entries(desired)) {
    const have = observed[field];
    if (!sameValue(after, have)) fields.push({ field, before: have ?? null, after });
  }
  return { resource, type, action: fields.length === 0 ? "noop" : "update", fields, before, after: desired };
}

export interface ChangeSummary {
  create: number;
  update: number;
  replace: number;
  noop: number;
}

export function summarise(changes: readonly Change[]): ChangeSummary {
  const s: ChangeSummary = { create: 0, update: 0, replace: 0, noop: 0 };
  for (const c of changes) if (c.supports === undefined) s[c.action] += 1;
  return s;
}

export const changesSomething = (changes: readonly Change[]): boolean => changes.some((c) => c.action !== "noop");

/** A digest of what a change found (its before-image, or absent): what a saved plan was diffed against. */
export const observedDigest = (change: Pick<Change, "before">): string => createHash("sha256").update(canonicalJson(change.before)).digest("base64url").slice(0, 22);

/** Per resource, the digest of its observed state: the plan's `expectedState` of one task. */
export const observedDigests = (changes: readonly Change[]): Record<string, string> => Object.fromEntries(changes.map((c) => [c.resource, observedDigest(c)]));

/** The resources whose observed state differs from what a plan was diffed against (`expected`). */
export function movedSince(expected: Readonly<Record<string, string>>, changes: readonly Change[]): string[] {
  const now = observedDigests(changes);
  const names = new Set([...Object.keys(expected), ...Object.keys(now)]);
  return [...names].filter((name) => expected[name] !== now[name]).sort();
}

/** Whether the resource as it is now still is what the change made (by version when known, else by view). */
export function stillOurs(entry: Pick<JournalEntry, "change" | "made">, currentView: View, currentVersion?: string | null): boolean {
  const version = entry.made?.version;
  if (version !== undefined && version !== null && currentVersion !== undefined && currentVersion !== null) return version === currentVersion;
  return sameValue(pick(currentView, Object.keys(entry.change.after)), entry.change.after);
}

/** Whether the resource still is as it was before the change (the call never landed). */
export function stillBefore(entry: Pick<JournalEntry, "change">, currentView: View): boolean {
  const before = entry.change.before;
  return before !== null && sameValue(pick(currentView, Object.keys(entry.change.after)), pick(before, Object.keys(entry.change.after)));
}

function pick(view: View, keys: readonly string[]): View {
  return Object.fromEntries(keys.map((k) => [k, view[k] ?? null]));
}

/** A resource as it is now: its view, and its version when the API has one. */
export interface Current {
  view: View;
  version?: string | null;
}

export interface UndoOps {
  /** Deletes what this attempt created. Absent: the resource is never deleted (say why in `keepReason`). */
  remove?: () => Promise<unknown>;
  /** Puts the before-image back. */
  restore?: (before: View) => Promise<unknown>;
  keepReason?: string;
}

/**
 * The rules every undo follows, given the resource as it is now:
 * - created by this attempt: deleted only while it still is the version the attempt made;
 * - updated: returned to its before-image, only while it still is what the attempt set;
 * - already as before (the call never landed, or someone restored it): left;
 * - changed by someone else since: a conflict, left as it is.
 */
export async function undoChange(entry: Pick<JournalEntry, "change" | "made">, current: Current | undefined, ops: UndoOps): Promise<UndoOutcome> {
  const { change } = entry;
  const resource = entry.made?.name ?? change.resource;
  if (change.action === "noop") return { resource, result: "left", detail: "unchanged by this plan" };
  if (change.before === null) {
    if (current === undefined) return { resource, result: "absent", detail: entry.made === null ? "never created" : "already gone" };
    if (!stillOurs(entry, current.view, current.version)) return { resource, result: "conflict", detail: "changed since this plan created it" };
    if (ops.remove === undefined) return { resource, result: "left", detail: ops.keepReason ?? "not deleted" };
    await ops.remove();
    return { resource, result: "deleted" };
  }
  if (current === undefined) return { resource, result: "conflict", detail: "deleted since this plan changed it" };
  if (stillBefore(entry, current.view)) return { resource, result: "absent", detail: "already as it was before" };
  if (!stillOurs(entry, current.view, current.version)) return { resource, result: "conflict", detail: "changed since this plan changed it" };
  if (ops.restore === undefined) return { resource, result: "left", detail: ops.keepReason ?? "not restorable" };
  await ops.restore(change.before);
  return { resource, result: "restored" };
}
