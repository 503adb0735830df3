/**
 * `hosting`: a Firebase Hosting site and a release of a version carrying the desired serving
 * config (Hosting REST v1beta1: sites, versions, releases). Content uploads belong to
 * `firebase deploy`; this owns the site and its config. Compensation deletes a site it created;
 * a project's default site cannot be deleted, so it is disabled (a SITE_DISABLE release) instead.
 */
import { z } from "zod";
import type { ApiCallSite } from "../../clients/errors";
import type { DriftItem, ResourceChange } from "../types";
import { parseSettings, sameValue, type FirebaseParams, type IntegrationIo, type IntegrationModule } from "./context";

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
}
interface Version {
  name: string;
  status?: string;
  config?: Record<string, unknown>;
}
interface Release {
  name: string;
  type?: string;
  version?: Version;
}

const hostingSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Firebase Hosting ${operation}`,
  resource,
  role: "roles/firebasehosting.admin",
  api: "firebasehosting.googleapis.com",
});

function desiredHosting(p: FirebaseParams): { siteId: string; siteName: string; config: Record<string, unknown> } {
  const s = parseSettings(hostingSettingsSchema, p);
  const siteId = s.siteId ?? p.projectId;
  return { siteId, siteName: `projects/${p.projectId}/sites/${siteId}`, config: s.config ?? { cleanUrls: true, trailingSlashBehavior: "REMOVE" } };
}

export const hostingUrlOf = (p: FirebaseParams): string => `https://${desiredHosting(p).siteId}.web.app`;

async function getSite(io: IntegrationIo, siteName: string): Promise<Site | undefined> {
  return io.restOrAbsent<Site>(hostingSite("GetSite", siteName), { service: "firebasehosting", method: "GET", path: `/v1beta1/${siteName}` });
}

async function latestRelease(io: IntegrationIo, siteId: string): Promise<Release | undefined> {
  const parent = `sites/${siteId}`;
  const page = await io.restOrAbsent<{ releases?: Release[] }>(hostingSite("ListReleases", parent), {
    service: "firebasehosting",
    method: "GET",
    path: `/v1beta1/${parent}/releases`,
    query: { pageSize: 1 },
  });
  return page?.releases?.[0];
}

function hostingDrift(siteName: string, config: Record<string, unknown>, site: Site | undefined, release: Release | undefined): DriftItem[] {
  if (site === undefined) return [{ resource: siteName, field: "(resource)", desired: "present", observed: "absent" }];
  if (release === undefined || release.type === "SITE_DISABLE") return [{ resource: `${siteName}/releases`, field: "(release)", desired: "live release", observed: release?.type ?? "none" }];
  if (!sameValue(release.version?.config ?? {}, config)) return [{ resource: release.version?.name ?? siteName, field: "config", desired: config, observed: release.version?.config ?? null }];
  return [];
}

export const hostingIntegration: IntegrationModule = {
  async observe(p, io) {
    const d = desiredHosting(p);
    const site = await getSite(io, d.siteName);
    const release = site === undefined ? undefined : await latestRelease(io, d.siteId);
    return {
      desired: { site: d.siteName, config: d.config },
      observed: { site: site ?? null, release: release ?? null },
      drift: hostingDrift(d.siteName, d.config, site, release),
    };
  },

  async provision(p, io) {
    const d = desiredHosting(p);
    const changes: ResourceChange[] = [];
    let site = await getSite(io, d.siteName);
    if (site === undefined) {
      site = await io.rest<Site>(hostingSite("CreateSite", d.siteName), {
        service: "firebasehosting",
        method: "POST",
        path: `/v1beta1/projects/${p.projectId}/sites`,
        query: { siteId: d.siteId },
        body: { labels: { "managed-by": "firebase-orchestrator" } },
      });
      changes.push({ kind: "created", resource: d.siteName });
    } else {
      changes.push({ kind: "unchanged", resource: d.siteName });
    }
    let release = await latestRelease(io, d.siteId);
    if (hostingDrift(d.siteName, d.config, site, release).length > 0) {
      const version = await io.rest<Version>(hostingSite("CreateVersion", `sites/${d.siteId}`), {
        service: "firebasehosting",
        method: "POST",
        path: `/v1beta1/sites/${d.siteId}/versions`,
        body: { config: d.config, labels: { environment: p.environment.toLowerCase() } },
      });
      await io.rest<Version>(hostingSite("PatchVersion", version.name), {
        service: "firebasehosting",
        method: "PATCH",
        path: `/v1beta1/${version.name}`,
        query: { updateMask: "status" },
        body: { status: "FINALIZED" },
      });
      release = await io.rest<Release>(hostingSite("CreateRelease", `sites/${d.siteId}`), {
        service: "firebasehosting",
        method: "POST",
        path: `/v1beta1/sites/${d.siteId}/releases`,
        query: { versionName: version.name },
        body: { message: `Firebase Orchestrator: ${p.environment} serving config` },
      });
      changes.push({ kind: "created", resource: version.name }, { kind: "created", resource: release.name });
    } else if (release !== undefined) {
      changes.push({ kind: "unchanged", resource: release.name });
    }
    const hostingUrl = site.defaultUrl ?? hostingUrlOf(p);
    return {
      changes,
      desired: { site: d.siteName, config: d.config },
      observed: { site, release: release ?? null },
      outputs: { integration: "hosting", siteName: d.siteName, hostingUrl, versionName: release?.version?.name ?? "", releaseName: release?.name ?? "" },
    };
  },

  async compensate(p, io) {
    const d = desiredHosting(p);
    const site = await getSite(io, d.siteName);
    if (site === undefined) return [{ kind: "unchanged", resource: d.siteName }];
    if (site.type === "DEFAULT_SITE") {
      const release = await latestRelease(io, d.siteId);
      if (release?.type === "SITE_DISABLE") return [{ kind: "unchanged", resource: d.siteName }];
      const disabled = await io.rest<Release>(hostingSite("CreateRelease", `sites/${d.siteId}`), {
        service: "firebasehosting",
        method: "POST",
        path: `/v1beta1/sites/${d.siteId}/releases`,
        body: { type: "SITE_DISABLE", message: "Firebase Orchestrator: rollback" },
      });
      return [{ kind: "created", resource: disabled.name }];
    }
    const gone = await io.restOrAbsent(hostingSite("DeleteSite", d.siteName), { service: "firebasehosting", method: "DELETE", path: `/v1beta1/${d.siteName}` });
    return [{ kind: gone === undefined ? "unchanged" : "deleted", resource: d.siteName }];
  },
};
