/** The local control plane's state as a user compares it, before and after a plan. */
import type { ControlPlaneState } from "../../local/control-plane";

const STRIPPED = /Time$|Record$/;

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([k]) => !STRIPPED.test(k))
      .map(([k, v]) => [k, strip(v)]),
  );
}

/**
 * The state a user sees: every resource without server timestamps. Hosting keeps its release
 * history (a rollback is a new release of the previous version, as `firebase hosting:rollback`
 * does), so a site is compared by its live release: its type and version, and that version.
 */
export function comparable(s: ControlPlaneState): Record<string, unknown> {
  const live = Object.fromEntries(
    Object.entries(s.hostingReleases)
      .filter(([, list]) => list.length > 0)
      .map(([site, list]) => [site, { type: list[0]!.type ?? null, version: (list[0]!.version as { name?: string } | undefined)?.name ?? null }]),
  );
  const liveVersions = new Set(Object.values(live).map((r) => r.version));
  return strip({
    schedulerJobs: s.schedulerJobs,
    uptimeCheckConfigs: s.uptimeCheckConfigs,
    alertPolicies: s.alertPolicies,
    topics: s.topics,
    subscriptions: s.subscriptions,
    rulesets: s.rulesets,
    rulesReleases: s.rulesReleases,
    hostingSites: s.hostingSites,
    hostingLive: live,
    hostingVersions: Object.fromEntries(Object.entries(s.hostingVersions).filter(([name]) => liveVersions.has(name))),
    firestoreIndexes: s.firestoreIndexes,
    authConfigs: s.authConfigs,
  }) as Record<string, unknown>;
}

