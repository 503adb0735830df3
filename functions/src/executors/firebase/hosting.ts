/**
 * `hosting`: a Firebase Hosting site and the live release of a version carrying the desired
 * serving config (Hosting REST v1beta1: sites, versions, releases). Content uploads belong to
 * `firebase deploy`; this owns the site and its config. Two resources:
 *
 * - `hosting.site`: created when absent, else left alone. A rollback deletes only a site this plan
 *   created, and only while it still serves what the plan released (or nothing). A site that was
 *   there before is never deleted, and a project's DEFAULT site is never deleted nor disabled.
 * - `hosting.release`: the site's live release. Changing it is three calls: create a version with
 *   the config, finalize it, release it. Hosting keeps its release history, so a rollback is a new
 *   release of the version that was live before (what the console's Rollback does); someone
 *   else's release since is a conflict, left live.
 */
import { z } from "zod";
import type { ApiCallSite } from "../../clients/errors";
import { diffResource, type Change, type JournalEntry, type Made, type UndoOutcome, type View } from "./change-set";
import { parseSettings, sameValue, type FirebaseParams, type IntegrationIo, type IntegrationModule } from "./context";
import { envLabels } from "./functions";

const hostingSettingsSchema = z
  .object({
    siteId: z.string().regex(/^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$/).optional(),
    /** The version's ServingConfig (rewrites, redirects, headers, cleanUrls, trailingSlashBehavior). */
    config: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

interface Site {
  name: string;
  defaultUrl?: string;
  type?: string;
  labels?: Record<string, string>;
}
interface Version {
  name: string;
  status?: string;
  config?: Record<string, unknown>;
  labels?: Record<string, string>;
}
interface Release {
  name: string;
  type?: string;
  message?: string;
  version?: Version;
}

export const HOSTING_SITE = "hosting.site";
export const HOSTING_RELEASE = "hosting.release";

const DEFAULT_SITE = "DEFAULT_SITE";
const SITE_DISABLE = "SITE_DISABLE";
const MANAGED_BY = "firebase-orchestrator";
/** The message of the releases a rollback makes: how a later undo of the site recognises them. */
const ROLLBACK_MESSAGE = "Firebase Orchestrator: rollback";

/**
 * A live release as a before-image: its type, and the version it serves with that version's config
 * (`versionName` and `config` are null for a SITE_DISABLE release).
 */
interface ReleaseView {
  type: string;
  versionName: string | null;
  config: Record<string, unknown> | null;
  release: string;
}

/**
 * What a release change leaves live: the version's config. `siteCreated`: the site is created by the
 * same plan, so undoing the site (which comes after, in a rollback) undoes the release with it.
 */
interface ReleaseAfter {
  config: Record<string, unknown>;
  siteCreated: boolean;
}

const hostingSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Firebase Hosting ${operation}`,
  resource,
  role: "roles/firebasehosting.admin",
  api: "firebasehosting.googleapis.com",
});

interface DesiredHosting {
  siteId: string;
  siteName: string;
  /** `sites/{siteId}/releases`: the site's live release, whatever its server-given name. */
  releases: string;
  config: Record<string, unknown>;
}

function desiredHosting(p: FirebaseParams): DesiredHosting {
  const s = parseSettings(hostingSettingsSchema, p);
  const siteId = s.siteId ?? p.projectId;
  return {
    siteId,
    siteName: `projects/${p.projectId}/sites/${siteId}`,
    releases: `sites/${siteId}/releases`,
    config: s.config ?? { cleanUrls: true, trailingSlashBehavior: "REMOVE" },
  };
}

export const hostingUrlOf = (p: FirebaseParams): string => `https://${desiredHosting(p).siteId}.web.app`;

async function getSite(io: IntegrationIo, siteName: string): Promise<Site | undefined> {
  return io.restOrAbsent<Site>(hostingSite("GetSite", siteName), { service: "firebasehosting", method: "GET", path: `/v1beta1/${siteName}` });
}

/** The site's live release: the newest of its releases (Hosting lists them newest first). */
async function liveRelease(io: IntegrationIo, siteId: string): Promise<Release | undefined> {
  const parent = `sites/${siteId}`;
  const page = await io.restOrAbsent<{ releases?: Release[] }>(hostingSite("ListReleases", parent), {
    service: "firebasehosting",
    method: "GET",
    path: `/v1beta1/${parent}/releases`,
    query: { pageSize: 1 },
  });
  return page?.releases?.[0];
}

async function createRelease(io: IntegrationIo, siteId: string, body: Record<string, unknown>, versionName?: string): Promise<Release> {
  return io.rest<Release>(hostingSite("CreateRelease", `sites/${siteId}`), {
    service: "firebasehosting",
    method: "POST",
    path: `/v1beta1/sites/${siteId}/releases`,
    ...(versionName === undefined ? {} : { query: { versionName } }),
    body,
  });
}

const siteView = (site: Site): View => ({ type: site.type ?? "USER_SITE", labels: { ...(site.labels ?? {}) } });

function releaseView(release: Release): ReleaseView {
  const type = release.type ?? "DEPLOY";
  if (type === SITE_DISABLE) return { type, versionName: null, config: null, release: release.name };
  return { type, versionName: release.version?.name ?? null, config: release.version?.config ?? {}, release: release.name };
}

/** Whether a release serves the config (a DEPLOY or ROLLBACK of a version with it). */
const serves = (release: Release | undefined, config: unknown): boolean =>
  release !== undefined && (release.type ?? "DEPLOY") !== SITE_DISABLE && sameValue(release.version?.config ?? {}, config);

/**
 * Whether a release on a site this plan created is the orchestrator's: its version with the wanted
 * config and our label, or the SITE_DISABLE a rollback made (a retried attempt saw the site as existing).
 */
const releasedByUs = (release: Release, config: unknown): boolean =>
  (serves(release, config) && release.version?.labels?.["managed-by"] === MANAGED_BY) || (release.type === SITE_DISABLE && release.message === ROLLBACK_MESSAGE);

/** Whether the live release is what the before-image recorded: the same version, or disabled, or none. */
function asBefore(live: Release | undefined, before: ReleaseView | null): boolean {
  // "No release" cannot be put back on a USER site; a rollback's SITE_DISABLE stands for it.
  if (before === null) return live === undefined || (live.type === SITE_DISABLE && live.message === ROLLBACK_MESSAGE);
  if (live === undefined) return false;
  if (before.type === SITE_DISABLE) return live.type === SITE_DISABLE;
  return live.type !== SITE_DISABLE && live.version?.name === before.versionName;
}

function siteChange(p: FirebaseParams, d: DesiredHosting, site: Site | undefined): Change {
  if (site !== undefined) {
    const view = siteView(site);
    return { resource: d.siteName, type: HOSTING_SITE, action: "noop", fields: [], before: view, after: view };
  }
  return diffResource(HOSTING_SITE, d.siteName, { type: "USER_SITE", labels: envLabels(p) }, undefined);
}

function releaseChange(d: DesiredHosting, site: Site | undefined, live: Release | undefined): Change {
  const after: ReleaseAfter = { config: d.config, siteCreated: site === undefined };
  const base = { resource: d.releases, type: HOSTING_RELEASE, after: after as unknown as View };
  if (live === undefined) return { ...base, action: "create", fields: [{ field: "config", before: null, after: d.config }], before: null };
  const before = releaseView(live);
  if (serves(live, d.config)) return { ...base, action: "noop", fields: [], before: before as unknown as View };
  const fields = [
    ...(before.type === SITE_DISABLE ? [{ field: "type", before: SITE_DISABLE, after: "DEPLOY" }] : []),
    { field: "config", before: before.config, after: d.config },
  ];
  return { ...base, action: "update", fields, before: before as unknown as View };
}

async function applySite(p: FirebaseParams, d: DesiredHosting, io: IntegrationIo): Promise<Made> {
  const site = await io.rest<Site>(hostingSite("CreateSite", d.siteName), {
    service: "firebasehosting",
    method: "POST",
    path: `/v1beta1/projects/${p.projectId}/sites`,
    query: { siteId: d.siteId },
    body: { labels: envLabels(p) },
  });
  return { name: site.name, version: null, view: siteView(site) };
}

/** A version with the config, finalized, then released: three calls, any of which may be the last. */
async function applyRelease(p: FirebaseParams, d: DesiredHosting, io: IntegrationIo): Promise<Made> {
  const version = await io.rest<Version>(hostingSite("CreateVersion", `sites/${d.siteId}`), {
    service: "firebasehosting",
    method: "POST",
    path: `/v1beta1/sites/${d.siteId}/versions`,
    body: { config: d.config, labels: envLabels(p) },
  });
  await io.rest<Version>(hostingSite("PatchVersion", version.name), {
    service: "firebasehosting",
    method: "PATCH",
    path: `/v1beta1/${version.name}`,
    query: { updateMask: "status" },
    body: { status: "FINALIZED" },
  });
  const release = await createRelease(io, d.siteId, { message: `Firebase Orchestrator: ${p.environment} serving config` }, version.name);
  return { name: release.name, version: release.name, view: releaseView(release) as unknown as View };
}

/**
 * Deletes a site this plan created, while it still is what the plan made: a USER site serving
 * nothing or the plan's own release. A site that was there before, or a DEFAULT site, stays.
 */
async function undoSite(d: DesiredHosting, entry: JournalEntry, io: IntegrationIo): Promise<UndoOutcome> {
  const { change } = entry;
  const resource = change.resource;
  if (change.action === "noop") return { resource, result: "left", detail: "unchanged by this plan" };
  if (change.before !== null) return { resource, result: "left", detail: "the site existed before this plan, so it is never deleted" };
  const site = await getSite(io, resource);
  if (site === undefined) return { resource, result: "absent", detail: entry.made === null ? "never created" : "already gone" };
  if (site.type === DEFAULT_SITE) return { resource, result: "left", detail: "a project's DEFAULT site is never deleted" };
  if (!sameValue(siteView(site).labels, change.after.labels)) return { resource, result: "conflict", detail: "its labels changed since this plan created it" };
  const live = await liveRelease(io, d.siteId);
  if (live !== undefined && !releasedByUs(live, d.config)) {
    return { resource, result: "conflict", detail: `it serves ${live.name} (${live.type ?? "DEPLOY"}${live.version ? ` of ${live.version.name}` : ""}), released by someone else since this plan created it` };
  }
  await io.restOrAbsent(hostingSite("DeleteSite", resource), { service: "firebasehosting", method: "DELETE", path: `/v1beta1/${resource}` });
  return { resource, result: "deleted" };
}

/**
 * Puts the release that was live before back, while the live release still is the one this plan
 * made (by its name; for an intent without a recorded result, by serving the wanted config and not
 * being the before one). Someone else's release since is a conflict. A DEFAULT site is never disabled.
 */
async function undoRelease(d: DesiredHosting, entry: JournalEntry, io: IntegrationIo): Promise<UndoOutcome> {
  const { change } = entry;
  const resource = change.resource;
  if (change.action === "noop") return { resource, result: "left", detail: "unchanged by this plan" };
  const before = change.before as unknown as ReleaseView | null;
  const after = change.after as unknown as ReleaseAfter;
  const site = await getSite(io, d.siteName);
  if (site === undefined) {
    return after.siteCreated ? { resource, result: "absent", detail: "the site is gone" } : { resource, result: "conflict", detail: `${d.siteName} was deleted since this plan released on it` };
  }
  const live = await liveRelease(io, d.siteId);
  if (asBefore(live, before)) return { resource, result: "absent", detail: entry.made === null ? "never released" : "already as it was before" };
  const madeRelease = entry.made?.version ?? null;
  const ours = madeRelease !== null ? live?.name === madeRelease : serves(live, after.config);
  if (!ours) {
    const what = live === undefined ? "no release" : `${live.name} (${live.type ?? "DEPLOY"}${live.version ? ` of ${live.version.name}` : ""})`;
    return { resource, result: "conflict", detail: `someone released since this plan did: ${what} is live` };
  }
  if (after.siteCreated) return { resource, result: "left", detail: `goes with ${d.siteName}, which this plan created` };
  const isDefault = site.type === DEFAULT_SITE;
  if (before === null || before.type === SITE_DISABLE) {
    const had = before === null ? "had no release" : "was disabled";
    if (isDefault) return { resource, result: "left", detail: `the DEFAULT site ${had} before; a DEFAULT site is never disabled, so ${live!.name} stays live` };
    const disabled = await createRelease(io, d.siteId, { type: SITE_DISABLE, message: ROLLBACK_MESSAGE });
    return { resource, result: "restored", detail: `the site ${had} before: disabled again (${disabled.name})` };
  }
  if (before.versionName === null) return { resource, result: "left", detail: "the release before names no version to put back" };
  const restored = await createRelease(io, d.siteId, { message: `Firebase Orchestrator: rollback to ${before.versionName}` }, before.versionName);
  return { resource, result: "restored", detail: `${before.versionName} is live again (${restored.name})` };
}

export const hostingIntegration: IntegrationModule = {
  async plan(p, io) {
    const d = desiredHosting(p);
    // Both at once (a refresh takes as long as its longest chain of reads): a missing site's releases answer NOT_FOUND.
    const [site, listed] = await Promise.all([getSite(io, d.siteName), liveRelease(io, d.siteId)]);
    const release = site === undefined ? undefined : listed;
    // The site first: a rollback goes backwards, so the release is undone before the site.
    return {
      changes: [siteChange(p, d, site), releaseChange(d, site, release)],
      desired: { site: d.siteName, config: d.config },
      observed: { site: site ?? null, release: release ?? null },
    };
  },

  apply(p, change, io) {
    const d = desiredHosting(p);
    return change.type === HOSTING_SITE ? applySite(p, d, io) : applyRelease(p, d, io);
  },

  undo(p, entry, io) {
    const d = desiredHosting(p);
    return entry.change.type === HOSTING_SITE ? undoSite(d, entry, io) : undoRelease(d, entry, io);
  },

  outputs(p, plan, made) {
    const d = desiredHosting(p);
    const observed = plan.observed as { site: Site | null; release: Release | null };
    const released = made.get(d.releases);
    const view = released?.view as unknown as ReleaseView | undefined;
    return {
      integration: "hosting",
      siteName: d.siteName,
      hostingUrl: observed.site?.defaultUrl ?? hostingUrlOf(p),
      versionName: view?.versionName ?? observed.release?.version?.name ?? "",
      releaseName: released?.name ?? observed.release?.name ?? "",
    };
  },
};
