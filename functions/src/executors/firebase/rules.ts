/**
 * Security Rules through the Firebase Rules REST API (v1): a ruleset holds the source, a release
 * (`cloud.firestore`, `firebase.storage/{bucket}`) points the service at one ruleset. Rulesets are
 * immutable, so changing rules means a new ruleset and repointing the release.
 *
 * A release that must change is two changes, each with its own journal entry (one mutating call
 * each): `rules.ruleset` (create the new ruleset) and then `rules.release` (create the release, or
 * repoint it). The ruleset a release served before is never deleted on apply: a rollback repoints
 * the release at it, then deletes the ruleset the plan created once nothing serves it.
 */
import type { ApiCallSite } from "../../clients/errors";
import { diffResource, type Change, type JournalEntry, type Made, type UndoOutcome, type View } from "./change-set";
import type { IntegrationIo } from "./context";

const rulesSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Firebase Rules ${operation}`,
  resource,
  role: "roles/firebaserules.admin",
  api: "firebaserules.googleapis.com",
});

export interface RulesTarget {
  projectId: string;
  /** `cloud.firestore` or `firebase.storage/{bucket}` */
  releaseId: string;
  fileName: "firestore.rules" | "storage.rules";
}

interface Ruleset {
  name: string;
  createTime?: string;
  source?: { files?: Array<{ name: string; content: string }> };
}
interface Release {
  name: string;
  rulesetName: string;
}

export const firestoreTarget = (projectId: string): RulesTarget => ({ projectId, releaseId: "cloud.firestore", fileName: "firestore.rules" });
export const storageTarget = (projectId: string, bucket: string): RulesTarget => ({ projectId, releaseId: `firebase.storage/${bucket}`, fileName: "storage.rules" });
export const releaseName = (t: RulesTarget): string => `projects/${t.projectId}/releases/${t.releaseId}`;

/** Locked mode: what Firebase gives a new database, and what `database`/`storage` release when no rules are. */
export const LOCKED_FIRESTORE_RULES = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /{document=**} {
      allow read, write: if false;
    }
  }
}
`;
export const LOCKED_STORAGE_RULES = `rules_version = '2';
service firebase.storage {
  match /b/{bucket}/o {
    match /{allPaths=**} {
      allow read, write: if false;
    }
  }
}
`;
/** Signed-in users reach only their own data; everything else stays closed. */
export const HARDENED_FIRESTORE_RULES = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /users/{uid}/{document=**} {
      allow read, write: if request.auth != null && request.auth.uid == uid;
    }
    match /{document=**} {
      allow read, write: if false;
    }
  }
}
`;
export const HARDENED_STORAGE_RULES = `rules_version = '2';
service firebase.storage {
  match /b/{bucket}/o {
    match /users/{uid}/{allPaths=**} {
      allow read, write: if request.auth != null && request.auth.uid == uid && request.resource.size < 10 * 1024 * 1024;
    }
    match /{allPaths=**} {
      allow read, write: if false;
    }
  }
}
`;

export const RULES_RELEASE = "rules.release";
export const RULES_RULESET = "rules.ruleset";

export const isRulesChange = (change: Pick<Change, "type">): boolean => change.type === RULES_RELEASE || change.type === RULES_RULESET;

/** A release's view: the released source; its before-image also names the ruleset that held it. */
export interface ReleaseView extends View {
  source: string | null;
  rulesetName: string;
}

/**
 * A `rules.ruleset` change's after-image: the source, and what the plan saw of the project's
 * recent rulesets, so a rollback whose CreateRuleset answer was lost can tell the ruleset it made
 * from every ruleset that existed before (see `undoRuleset`).
 */
interface RulesetAfter extends View {
  source: string;
  /** RFC 3339: the plan listed the rulesets created after this. */
  createdAfter: string;
  /** Those rulesets: they existed before, so are never this plan's. */
  existing: string[];
}

/** The plan looks this far back for rulesets that existed before (covers clock skew with the API). */
const RECENT_MS = 60 * 60 * 1000;

/** The ruleset change's resource while the ruleset has no name yet. */
const rulesetResource = (t: RulesTarget): string => `projects/${t.projectId}/rulesets/(new, for ${t.releaseId})`;

/** The target a rules change is about, from its resource (so a rollback never depends on today's settings). */
function targetOfResource(resource: string): RulesTarget {
  const m = /^projects\/([^/]+)\/(?:releases\/(.+)|rulesets\/\(new, for (.+)\))$/.exec(resource);
  const releaseId = m?.[2] ?? m?.[3];
  if (m === null || releaseId === undefined) throw new Error(`${resource} is not a Security Rules release or new ruleset`);
  return { projectId: m[1]!, releaseId, fileName: releaseId === "cloud.firestore" ? "firestore.rules" : "storage.rules" };
}

const sourceOf = (t: RulesTarget, ruleset: Ruleset | undefined): string | null =>
  ruleset?.source?.files?.find((f) => f.name === t.fileName)?.content ?? ruleset?.source?.files?.[0]?.content ?? null;

async function getRuleset(io: IntegrationIo, name: string): Promise<Ruleset | undefined> {
  return io.restOrAbsent<Ruleset>(rulesSite("GetRuleset", name), { service: "firebaserules", method: "GET", path: `/v1/${name}` });
}

/** The release as it is now: which ruleset it serves and that ruleset's source (null: the ruleset is gone). */
async function readRelease(io: IntegrationIo, t: RulesTarget): Promise<ReleaseView | undefined> {
  const name = releaseName(t);
  const release = await io.restOrAbsent<Release>(rulesSite("GetRelease", name), { service: "firebaserules", method: "GET", path: `/v1/${name}` });
  if (release === undefined) return undefined;
  return { source: sourceOf(t, await getRuleset(io, release.rulesetName)), rulesetName: release.rulesetName };
}

async function listAll<T>(io: IntegrationIo, operation: string, projectId: string, collection: "rulesets" | "releases", query: Record<string, string> = {}): Promise<T[]> {
  const all: T[] = [];
  let pageToken: string | undefined;
  do {
    const page = await io.rest<Record<string, unknown> & { nextPageToken?: string }>(rulesSite(operation, `projects/${projectId}`), {
      service: "firebaserules",
      method: "GET",
      path: `/v1/projects/${projectId}/${collection}`,
      query: { ...query, pageSize: 100, pageToken },
    });
    all.push(...((page[collection] as T[] | undefined) ?? []));
    pageToken = page.nextPageToken || undefined;
  } while (pageToken !== undefined);
  return all;
}

/** Ruleset metadata (no source) of the rulesets created after `after` (RFC 3339). */
async function rulesetsCreatedAfter(io: IntegrationIo, projectId: string, after: string): Promise<Ruleset[]> {
  const since = Date.parse(after);
  const listed = await listAll<Ruleset>(io, "ListRulesets", projectId, "rulesets", { filter: `create_time > date("${after}")` });
  // The filter narrows the listing; this is what decides.
  return listed.filter((r) => Date.parse(r.createTime ?? "") > since);
}

/** The releases of the project that serve `rulesetName`. */
async function releasesServing(io: IntegrationIo, projectId: string, rulesetName: string): Promise<string[]> {
  return (await listAll<Release>(io, "ListReleases", projectId, "releases")).filter((r) => r.rulesetName === rulesetName).map((r) => r.name);
}

async function createRuleset(io: IntegrationIo, t: RulesTarget, content: string): Promise<Ruleset> {
  const parent = `projects/${t.projectId}`;
  return io.rest<Ruleset>(rulesSite("CreateRuleset", parent), {
    service: "firebaserules",
    method: "POST",
    path: `/v1/${parent}/rulesets`,
    body: { source: { files: [{ name: t.fileName, content }] } },
  });
}

async function deleteRuleset(io: IntegrationIo, name: string): Promise<void> {
  await io.restOrAbsent(rulesSite("DeleteRuleset", name), { service: "firebaserules", method: "DELETE", path: `/v1/${name}` });
}

async function repoint(io: IntegrationIo, name: string, rulesetName: string): Promise<void> {
  await io.rest<Release>(rulesSite("UpdateRelease", name), { service: "firebaserules", method: "PATCH", path: `/v1/${name}`, body: { release: { name, rulesetName } } });
}

/**
 * The changes of one release. `present`: any released rules satisfy, and `content` is released
 * only when none are; `exact`: the release must serve `content`. A noop is the release alone;
 * otherwise a new ruleset, then the release created or repointed at it.
 */
export async function rulesChanges(io: IntegrationIo, t: RulesTarget, content: string, mode: "exact" | "present"): Promise<Change[]> {
  const observed = await readRelease(io, t);
  const want = mode === "present" && observed !== undefined ? observed.source : content;
  const release = diffResource(RULES_RELEASE, releaseName(t), { source: want }, observed);
  if (release.action === "noop") return [release];
  const createdAfter = new Date(Date.now() - RECENT_MS).toISOString();
  const existing = (await rulesetsCreatedAfter(io, t.projectId, createdAfter)).map((r) => r.name);
  const after: RulesetAfter = { source: content, createdAfter, existing };
  const ruleset: Change = { resource: rulesetResource(t), type: RULES_RULESET, action: "create", fields: [{ field: "source", before: null, after: content }], before: null, after, supports: releaseName(t) };
  return [ruleset, release];
}

/** The release's change among `changes`. */
export const releaseChangeOf = (changes: readonly Change[], t: RulesTarget): Change | undefined => changes.find((c) => c.type === RULES_RELEASE && c.resource === releaseName(t));

/** The ruleset the release serves after the provision: the one it made, else the one it found. */
export function releasedRuleset(changes: readonly Change[], made: ReadonlyMap<string, Made>, t: RulesTarget): string {
  const version = made.get(releaseName(t))?.version;
  if (typeof version === "string") return version;
  return (releaseChangeOf(changes, t)?.before as ReleaseView | null | undefined)?.rulesetName ?? "";
}

/** Makes one rules change: creates the ruleset, or creates/repoints the release at the ruleset made just before. */
export async function applyRules(io: IntegrationIo, change: Change, earlier: ReadonlyMap<string, Made>): Promise<Made> {
  const t = targetOfResource(change.resource);
  const source = String(change.after.source);
  if (change.type === RULES_RULESET) {
    const ruleset = await createRuleset(io, t, source);
    return { name: ruleset.name, version: ruleset.createTime ?? null, view: { source } };
  }
  const name = releaseName(t);
  const rulesetName = earlier.get(rulesetResource(t))?.name;
  if (rulesetName === undefined) throw new Error(`${name}: no new ruleset was made for it (a rules release change must follow its ruleset change)`);
  if (change.action === "create") {
    await io.rest<Release>(rulesSite("CreateRelease", name), { service: "firebaserules", method: "POST", path: `/v1/projects/${t.projectId}/releases`, body: { name, rulesetName } });
  } else {
    await repoint(io, name, rulesetName);
  }
  // The version is the ruleset served: it changes whenever anyone releases other rules.
  return { name, version: rulesetName, view: { source, rulesetName } };
}

export async function undoRules(io: IntegrationIo, entry: JournalEntry): Promise<UndoOutcome> {
  return entry.change.type === RULES_RULESET ? undoRuleset(io, entry) : undoRelease(io, entry);
}

/**
 * A release this plan created is deleted, and one it repointed goes back to the ruleset it served
 * before (re-created from the before source if someone deleted that ruleset meanwhile), both only
 * while it still serves what this plan released; otherwise it is a conflict, left as it is.
 * Without a recorded answer (the call's answer was lost) "what this plan released" is a ruleset
 * other than the one before that holds the source the change wanted.
 */
async function undoRelease(io: IntegrationIo, entry: JournalEntry): Promise<UndoOutcome> {
  const { change, made } = entry;
  const t = targetOfResource(change.resource);
  const name = releaseName(t);
  const before = change.before as ReleaseView | null;
  const current = await readRelease(io, t);
  const ours = (c: ReleaseView): boolean =>
    typeof made?.version === "string" ? c.rulesetName === made.version : c.rulesetName !== before?.rulesetName && c.source === change.after.source;
  if (before === null) {
    if (current === undefined) return { resource: name, result: "absent", detail: made === null ? "never created" : "already gone" };
    if (!ours(current)) return { resource: name, result: "conflict", detail: `serves ${current.rulesetName}, released by someone else since this plan created it` };
    await io.restOrAbsent(rulesSite("DeleteRelease", name), { service: "firebaserules", method: "DELETE", path: `/v1/${name}` });
    return { resource: name, result: "deleted" };
  }
  if (current === undefined) return { resource: name, result: "conflict", detail: "deleted since this plan changed it" };
  if (current.rulesetName === before.rulesetName) return { resource: name, result: "absent", detail: "already serves the rules it served before" };
  if (!ours(current)) return { resource: name, result: "conflict", detail: `serves ${current.rulesetName}, released by someone else since this plan changed it` };
  let rulesetName = before.rulesetName;
  if ((await getRuleset(io, rulesetName)) === undefined) {
    if (before.source === null) throw new Error(`${name} cannot be restored: the ruleset it served before (${rulesetName}) is gone and its source was never known`);
    rulesetName = (await createRuleset(io, t, before.source)).name;
  }
  await repoint(io, name, rulesetName);
  return { resource: name, result: "restored", detail: rulesetName === before.rulesetName ? `serves ${rulesetName} again` : `serves its rules before again, as ${rulesetName} (${before.rulesetName} was deleted)` };
}

/**
 * A ruleset this plan created is deleted once no release serves it (after the release's undo). When
 * the CreateRuleset answer was lost, the ruleset is found among those created after the plan's
 * look that it did not see then, that no release serves and that hold the change's source: a
 * ruleset that existed before the plan is never one of them.
 */
async function undoRuleset(io: IntegrationIo, entry: JournalEntry): Promise<UndoOutcome> {
  const { change, made } = entry;
  const t = targetOfResource(change.resource);
  const after = change.after as RulesetAfter;
  if (made?.name !== undefined) {
    const name = made.name;
    if ((await getRuleset(io, name)) === undefined) return { resource: name, result: "absent", detail: "already gone" };
    const serving = await releasesServing(io, t.projectId, name);
    if (serving.length > 0) return { resource: name, result: "left", detail: `still released by ${serving.join(", ")}` };
    await deleteRuleset(io, name);
    return { resource: name, result: "deleted" };
  }
  const existed = new Set(after.existing);
  const candidates = (await rulesetsCreatedAfter(io, t.projectId, after.createdAfter)).filter((r) => !existed.has(r.name));
  if (candidates.length === 0) return { resource: change.resource, result: "absent", detail: "never created" };
  const served = new Set((await listAll<Release>(io, "ListReleases", t.projectId, "releases")).map((r) => r.rulesetName));
  const deleted: string[] = [];
  for (const candidate of candidates) {
    if (served.has(candidate.name)) continue;
    if (sourceOf(t, await getRuleset(io, candidate.name)) !== after.source) continue;
    await deleteRuleset(io, candidate.name);
    deleted.push(candidate.name);
  }
  if (deleted.length === 0) return { resource: change.resource, result: "absent", detail: "never created" };
  return { resource: deleted.join(", "), result: "deleted", detail: "created by this plan (its answer was lost)" };
}
