/**
 * Security Rules through the Firebase Rules REST API (v1): a ruleset holds the source, a release
 * (`cloud.firestore`, `firebase.storage/{bucket}`) points the service at one ruleset. Rulesets are
 * immutable, so changing rules means a new ruleset and repointing the release.
 */
import type { ApiCallSite } from "../../clients/errors";
import type { DriftItem, ResourceChange } from "../types";
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
  source?: { files?: Array<{ name: string; content: string }> };
}
interface Release {
  name: string;
  rulesetName: string;
}

export const firestoreTarget = (projectId: string): RulesTarget => ({ projectId, releaseId: "cloud.firestore", fileName: "firestore.rules" });
export const storageTarget = (projectId: string, bucket: string): RulesTarget => ({ projectId, releaseId: `firebase.storage/${bucket}`, fileName: "storage.rules" });
export const releaseName = (t: RulesTarget): string => `projects/${t.projectId}/releases/${t.releaseId}`;

/** Locked mode: what Firebase gives a new database, and what a rollback returns to. */
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

export interface ObservedRules {
  release?: Release;
  rulesetName?: string;
  source?: string;
}

export async function observeRules(io: IntegrationIo, t: RulesTarget): Promise<ObservedRules> {
  const name = releaseName(t);
  const release = await io.restOrAbsent<Release>(rulesSite("GetRelease", name), { service: "firebaserules", method: "GET", path: `/v1/${name}` });
  if (release === undefined) return {};
  const ruleset = await io.restOrAbsent<Ruleset>(rulesSite("GetRuleset", release.rulesetName), { service: "firebaserules", method: "GET", path: `/v1/${release.rulesetName}` });
  return { release, rulesetName: release.rulesetName, source: ruleset?.source?.files?.find((f) => f.name === t.fileName)?.content ?? ruleset?.source?.files?.[0]?.content };
}

/** `content` undefined: any released rules satisfy (only absence is drift). */
export function rulesDrift(t: RulesTarget, observed: ObservedRules, content: string | undefined): DriftItem[] {
  const resource = releaseName(t);
  if (observed.release === undefined) return [{ resource, field: "(resource)", desired: "present", observed: "absent" }];
  if (content !== undefined && observed.source !== content) return [{ resource, field: `ruleset.source.${t.fileName}`, desired: content, observed: observed.source ?? null }];
  return [];
}

async function createRuleset(io: IntegrationIo, t: RulesTarget, content: string): Promise<string> {
  const parent = `projects/${t.projectId}`;
  const ruleset = await io.rest<Ruleset>(rulesSite("CreateRuleset", parent), {
    service: "firebaserules",
    method: "POST",
    path: `/v1/${parent}/rulesets`,
    body: { source: { files: [{ name: t.fileName, content }] } },
  });
  return ruleset.name;
}

async function deleteRulesetIfUnreferenced(io: IntegrationIo, projectId: string, rulesetName: string): Promise<ResourceChange[]> {
  const releases: Release[] = [];
  let pageToken: string | undefined;
  do {
    const page = await io.rest<{ releases?: Release[]; nextPageToken?: string }>(rulesSite("ListReleases", `projects/${projectId}`), {
      service: "firebaserules",
      method: "GET",
      path: `/v1/projects/${projectId}/releases`,
      query: { pageToken },
    });
    releases.push(...(page.releases ?? []));
    pageToken = page.nextPageToken || undefined;
  } while (pageToken !== undefined);
  // Another release still serving it (e.g. a second bucket): keep it, deleting would be refused.
  if (releases.some((r) => r.rulesetName === rulesetName)) return [];
  const deleted = await io.restOrAbsent(rulesSite("DeleteRuleset", rulesetName), { service: "firebaserules", method: "DELETE", path: `/v1/${rulesetName}` });
  return deleted === undefined ? [] : [{ kind: "deleted", resource: rulesetName }];
}

/**
 * Converges a release: absent → new ruleset + release; different source (when `content` matters) →
 * new ruleset, release repointed, the replaced ruleset removed when nothing else serves it.
 */
export async function ensureRules(
  io: IntegrationIo,
  t: RulesTarget,
  content: string,
  mode: "exact" | "present",
): Promise<{ changes: ResourceChange[]; rulesetName: string; observed: ObservedRules }> {
  const name = releaseName(t);
  const observed = await observeRules(io, t);
  if (observed.release !== undefined && (mode === "present" || observed.source === content)) {
    return { changes: [{ kind: "unchanged", resource: name }], rulesetName: observed.release.rulesetName, observed };
  }
  const rulesetName = await createRuleset(io, t, content);
  const changes: ResourceChange[] = [{ kind: "created", resource: rulesetName }];
  if (observed.release === undefined) {
    await io.rest<Release>(rulesSite("CreateRelease", name), { service: "firebaserules", method: "POST", path: `/v1/projects/${t.projectId}/releases`, body: { name, rulesetName } });
    changes.push({ kind: "created", resource: name });
  } else {
    await io.rest<Release>(rulesSite("UpdateRelease", name), { service: "firebaserules", method: "PATCH", path: `/v1/${name}`, body: { release: { name, rulesetName } } });
    changes.push({ kind: "updated", resource: name });
    changes.push(...(await deleteRulesetIfUnreferenced(io, t.projectId, observed.release.rulesetName)));
  }
  return { changes, rulesetName, observed: { release: { name, rulesetName }, rulesetName, source: content } };
}

/** Deletes the release and the ruleset it served (when nothing else serves it). */
export async function removeRules(io: IntegrationIo, t: RulesTarget): Promise<ResourceChange[]> {
  const name = releaseName(t);
  const observed = await observeRules(io, t);
  if (observed.release === undefined) return [{ kind: "unchanged", resource: name }];
  await io.restOrAbsent(rulesSite("DeleteRelease", name), { service: "firebaserules", method: "DELETE", path: `/v1/${name}` });
  return [{ kind: "deleted", resource: name }, ...(await deleteRulesetIfUnreferenced(io, t.projectId, observed.release.rulesetName))];
}

/** Points a release back at `content` only if it currently serves `ifSource` (what we released). */
export async function replaceRulesIf(io: IntegrationIo, t: RulesTarget, ifSource: string, content: string): Promise<ResourceChange[]> {
  const observed = await observeRules(io, t);
  if (observed.release === undefined || observed.source !== ifSource) return [{ kind: "unchanged", resource: releaseName(t) }];
  return (await ensureRules(io, t, content, "exact")).changes;
}
