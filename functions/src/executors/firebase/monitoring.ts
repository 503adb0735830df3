/**
 * `monitoring`: a Cloud Monitoring uptime check on the environment's hosting URL and an alert
 * policy that fires when it fails. Both have server-assigned ids, so they are found by display name.
 * The change set is [check, policy] (the policy names the check's id in its filter, so a rollback,
 * going backwards, deletes the policy before the check):
 *
 * - `monitoring.uptimeCheck`: created when absent; the differing fields updated (display name, HTTP
 *   path, period, timeout). Its monitored resource (the host) cannot be updated, so a host change is
 *   a `replace`: create the new check, point our alert policy at it, delete the old one (Monitoring
 *   refuses to delete a check an alert policy uses). Checks have no version: "still ours" compares views.
 * - `monitoring.alertPolicy`: created when absent; the differing fields updated. When the check is
 *   created in the same set, the plan cannot know its id yet: the filter names `NEW_CHECK`, and
 *   `apply` takes the id from what the check's change made (`earlier`). Its version is
 *   `mutationRecord.mutateTime`, which Monitoring sets on every change.
 *
 * A rollback deletes what the set created (while still ours) and PATCHes an updated resource's
 * changed fields back to its before-image. A replaced check cannot get its old id back: the old
 * configuration is re-created under a new id and our alert policy is pointed at it.
 */
import type { protos } from "@google-cloud/monitoring";
import { z } from "zod";
import type { ApiCallSite } from "../../clients/errors";
import { diffResource, stillOurs, undoChange, type Change, type JournalEntry, type Made, type UndoOutcome, type View } from "./change-set";
import { lastSegment, parseSettings, sameValue, type FirebaseParams, type IntegrationIo, type IntegrationModule } from "./context";
import { hostingUrlOf } from "./hosting";

type UptimeCheckConfig = protos.google.monitoring.v3.IUptimeCheckConfig;
type AlertPolicy = protos.google.monitoring.v3.IAlertPolicy;

const monitoringSettingsSchema = z
  .object({
    /** Host to probe; default: the hosting site's `{site}.web.app`. */
    host: z.string().min(1).max(253).optional(),
    path: z.string().startsWith("/").max(2000).default("/"),
    periodSeconds: z.union([z.literal(60), z.literal(300), z.literal(600), z.literal(900)]).default(60),
    timeoutSeconds: z.number().int().min(1).max(60).default(10),
    /** Notification channel names (`projects/{p}/notificationChannels/{id}`). */
    notificationChannels: z.array(z.string().min(1)).max(16).default([]),
  })
  .passthrough();

const uptimeSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Cloud Monitoring ${operation}`,
  resource,
  role: "roles/monitoring.uptimeCheckConfigEditor",
  api: "monitoring.googleapis.com",
});
const alertSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Cloud Monitoring ${operation}`,
  resource,
  role: "roles/monitoring.alertPolicyEditor",
  api: "monitoring.googleapis.com",
});

export const UPTIME_CHECK = "monitoring.uptimeCheck";
export const ALERT_POLICY = "monitoring.alertPolicy";

/** The check id in the filter of a policy whose check this change set creates (the server assigns the real one). */
export const NEW_CHECK = "(the check this change set creates)";

interface DesiredMonitoring {
  parent: string;
  uptime: { displayName: string; host: string; path: string; periodSeconds: number; timeoutSeconds: number };
  alert: { displayName: string; notificationChannels: string[] };
}

function desiredMonitoring(p: FirebaseParams): DesiredMonitoring {
  const s = parseSettings(monitoringSettingsSchema, p);
  return {
    parent: `projects/${p.projectId}`,
    uptime: { displayName: `orchestrator/${p.environment}/hosting`, host: s.host ?? new URL(hostingUrlOf(p)).host, path: s.path, periodSeconds: s.periodSeconds, timeoutSeconds: s.timeoutSeconds },
    alert: { displayName: `orchestrator/${p.environment}/uptime`, notificationChannels: [...s.notificationChannels].sort() },
  };
}

/** A stable description of a resource that has no name yet (its id is the server's). */
const unnamed = (parent: string, collection: "uptimeCheckConfigs" | "alertPolicies", displayName: string): string => `${parent}/${collection} (${displayName})`;
const isCheckName = (parent: string, name: string | undefined): name is string => name !== undefined && name.startsWith(`${parent}/uptimeCheckConfigs/`);

/** Map fields: their entries are kept as they are (an empty value there is a value). */
const MAP_FIELDS = new Set(["headers", "labels", "userLabels"]);
/** Enum values numbered 0 that are not named `*_UNSPECIFIED` (Aggregation's aligner and reducer). */
const ZERO_ENUMS = new Set(["ALIGN_NONE", "REDUCE_NONE"]);

/** Whether a field holds its proto3 default (as the client decodes it: int64 as strings, enums as names). */
function isDefault(key: string, value: unknown): boolean {
  if (value === null || value === undefined || value === "" || value === false || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "string") return value.endsWith("_UNSPECIFIED") || ZERO_ENUMS.has(value) || ((key === "seconds" || key === "nanos") && value === "0");
  return false;
}

/**
 * An API answer as a restorable image: plain JSON without the fields that hold proto3 defaults.
 * The client decodes every default explicitly (and the virtual oneof names); sent back as they
 * are, they would be written as explicit values. Proto3 reads an absent field as its default, so
 * the image without them is the same resource.
 */
function image(value: unknown, key = ""): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map((v) => image(v, key));
  if (value === null || typeof value !== "object") return value;
  const long = value as { low?: unknown; high?: unknown; toString?: () => string };
  if (typeof long.low === "number" && typeof long.high === "number" && typeof long.toString === "function") return long.toString();
  const entries = Object.entries(value as Record<string, unknown>);
  if (MAP_FIELDS.has(key)) return Object.fromEntries(entries.filter(([, v]) => v !== undefined).map(([k, v]) => [k, image(v)]));
  return Object.fromEntries(entries.map(([k, v]) => [k, image(v, k)] as const).filter(([k, v]) => !isDefault(k, v)));
}

// ---- uptime check ----

const uptimeView = (c: UptimeCheckConfig): View => ({
  displayName: c.displayName ?? "",
  host: c.monitoredResource?.labels?.host ?? "",
  path: c.httpCheck?.path ?? "",
  periodSeconds: Number(c.period?.seconds ?? 0),
  timeoutSeconds: Number(c.timeout?.seconds ?? 0),
});

/** The check as it was, less its name: what a rollback PATCHes back or re-creates. */
const uptimeImage = (c: UptimeCheckConfig): UptimeCheckConfig => {
  const { name: _name, ...rest } = image(c) as UptimeCheckConfig;
  return rest;
};

function toUptimeConfig(p: FirebaseParams, d: DesiredMonitoring["uptime"]): UptimeCheckConfig {
  return {
    displayName: d.displayName,
    monitoredResource: { type: "uptime_url", labels: { project_id: p.projectId, host: d.host } },
    httpCheck: { path: d.path, port: 443, useSsl: true, validateSsl: true, requestMethod: "GET" },
    period: { seconds: d.periodSeconds },
    timeout: { seconds: d.timeoutSeconds },
    checkerType: "STATIC_IP_CHECKERS",
  };
}

/** The view field → the update mask path and the value it takes from a config. */
const UPTIME_MASK: Readonly<Record<string, string>> = { displayName: "display_name", path: "http_check", periodSeconds: "period", timeoutSeconds: "timeout" };

async function listChecks(io: IntegrationIo, parent: string): Promise<UptimeCheckConfig[]> {
  const [configs] = await io.grpc(uptimeSite("ListUptimeCheckConfigs", parent), (o) => io.clients.uptimeChecks().listUptimeCheckConfigs({ parent }, o));
  return configs;
}

async function getCheck(io: IntegrationIo, name: string): Promise<UptimeCheckConfig | undefined> {
  const found = await io.grpcOrAbsent(uptimeSite("GetUptimeCheckConfig", name), (o) => io.clients.uptimeChecks().getUptimeCheckConfig({ name }, o));
  return found?.[0];
}

async function createCheck(io: IntegrationIo, parent: string, config: UptimeCheckConfig): Promise<UptimeCheckConfig> {
  const [created] = await io.grpc(uptimeSite("CreateUptimeCheckConfig", parent), (o) => io.clients.uptimeChecks().createUptimeCheckConfig({ parent, uptimeCheckConfig: config }, o));
  return created;
}

async function deleteCheck(io: IntegrationIo, name: string): Promise<void> {
  await io.grpcOrAbsent(uptimeSite("DeleteUptimeCheckConfig", name), (o) => io.clients.uptimeChecks().deleteUptimeCheckConfig({ name }, o));
}

/** PATCHes the check's `fields` (view names) with their values in `config`: the mask names those fields only. */
async function updateCheck(io: IntegrationIo, name: string, config: UptimeCheckConfig, fields: readonly string[]): Promise<UptimeCheckConfig> {
  const paths = [...new Set(fields.map((f) => UPTIME_MASK[f]).filter((f): f is string => f !== undefined))];
  const [updated] = await io.grpc(uptimeSite("UpdateUptimeCheckConfig", name), (o) =>
    io.clients.uptimeChecks().updateUptimeCheckConfig({ uptimeCheckConfig: { ...config, name }, updateMask: { paths } }, o),
  );
  return updated;
}

const checkMade = (c: UptimeCheckConfig): Made => ({ name: c.name ?? "", version: null, view: uptimeView(c) });

// ---- alert policy ----

export const uptimeFilterFor = (checkId: string): string =>
  `metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND metric.label.check_id="${checkId}" AND resource.type="uptime_url"`;

/** The check id a filter names (`uptimeFilterFor`'s), if any. */
const checkIdIn = (filter: unknown): string | undefined => (typeof filter === "string" ? /metric\.label\.check_id="([^"]*)"/.exec(filter)?.[1] : undefined);

const referencesCheck = (a: AlertPolicy, checkId: string): boolean => JSON.stringify(a.conditions ?? []).includes(`check_id=\\"${checkId}\\"`);

function toAlertPolicy(p: FirebaseParams, d: DesiredMonitoring["alert"], checkId: string): AlertPolicy {
  return {
    displayName: d.displayName,
    combiner: "OR",
    conditions: [
      {
        displayName: `Uptime check ${checkId} failing`,
        conditionThreshold: {
          filter: uptimeFilterFor(checkId),
          comparison: "COMPARISON_GT",
          thresholdValue: 1,
          duration: { seconds: 60 },
          trigger: { count: 1 },
          aggregations: [{ alignmentPeriod: { seconds: 1200 }, perSeriesAligner: "ALIGN_NEXT_OLDER", crossSeriesReducer: "REDUCE_COUNT_FALSE", groupByFields: ["resource.label.*"] }],
        },
      },
    ],
    notificationChannels: d.notificationChannels,
    enabled: { value: true },
    userLabels: { "managed-by": "firebase-orchestrator", environment: p.environment.toLowerCase().replace(/[^a-z0-9_-]/g, "-") },
  };
}

const alertView = (a: AlertPolicy): View => ({
  displayName: a.displayName ?? "",
  filter: a.conditions?.[0]?.conditionThreshold?.filter ?? "",
  notificationChannels: [...(a.notificationChannels ?? [])].sort(),
  enabled: a.enabled?.value ?? false,
});

/** The managed fields of the policy as they were: what a rollback PATCHes back. */
const alertImage = (a: AlertPolicy): AlertPolicy =>
  image({ displayName: a.displayName ?? "", conditions: a.conditions ?? [], notificationChannels: a.notificationChannels ?? [], enabled: a.enabled ?? {} }) as AlertPolicy;

const ALERT_MASK: Readonly<Record<string, string>> = { displayName: "display_name", filter: "conditions", notificationChannels: "notification_channels", enabled: "enabled" };

const alertVersion = (a: AlertPolicy): string | null => {
  const t = a.mutationRecord?.mutateTime;
  return t ? `${String(t.seconds ?? 0)}.${t.nanos ?? 0}` : null;
};
const policyMade = (a: AlertPolicy): Made => ({ name: a.name ?? "", version: alertVersion(a), view: alertView(a) });

async function listPolicies(io: IntegrationIo, parent: string): Promise<AlertPolicy[]> {
  const [policies] = await io.grpc(alertSite("ListAlertPolicies", parent), (o) => io.clients.alertPolicies().listAlertPolicies({ name: parent }, o));
  return policies;
}

async function getPolicy(io: IntegrationIo, name: string): Promise<AlertPolicy | undefined> {
  const found = await io.grpcOrAbsent(alertSite("GetAlertPolicy", name), (o) => io.clients.alertPolicies().getAlertPolicy({ name }, o));
  return found?.[0];
}

async function updatePolicy(io: IntegrationIo, name: string, policy: AlertPolicy, fields: readonly string[]): Promise<AlertPolicy> {
  const paths = [...new Set(fields.map((f) => ALERT_MASK[f]).filter((f): f is string => f !== undefined))];
  const [updated] = await io.grpc(alertSite("UpdateAlertPolicy", name), (o) => io.clients.alertPolicies().updateAlertPolicy({ alertPolicy: { ...policy, name }, updateMask: { paths } }, o));
  return updated;
}

/** Points a policy's conditions from one check to another (only its conditions change). */
async function repoint(io: IntegrationIo, policy: AlertPolicy, fromId: string, toId: string): Promise<AlertPolicy> {
  const conditions = JSON.parse(JSON.stringify(image(policy.conditions ?? [])).split(`check_id=\\"${fromId}\\"`).join(`check_id=\\"${toId}\\"`).split(`Uptime check ${fromId} failing`).join(`Uptime check ${toId} failing`)) as AlertPolicy["conditions"];
  return updatePolicy(io, policy.name ?? "", { conditions }, ["filter"]);
}

// ---- the change set ----

/** The check's change: create, update the differing fields, or replace when the host differs. */
function checkChange(p: FirebaseParams, d: DesiredMonitoring, observed: UptimeCheckConfig | undefined): Change {
  const want = uptimeView(toUptimeConfig(p, d.uptime));
  if (observed === undefined) return diffResource(UPTIME_CHECK, unnamed(d.parent, "uptimeCheckConfigs", d.uptime.displayName), want, undefined);
  const view = uptimeView(observed);
  const change = diffResource(UPTIME_CHECK, observed.name ?? "", want, view, { ...view, image: uptimeImage(observed) });
  // The monitored resource is immutable: a new host is a new check.
  return view.host === want.host ? change : { ...change, action: "replace" };
}

function policyChange(p: FirebaseParams, d: DesiredMonitoring, check: Change, observed: AlertPolicy | undefined): Change {
  const checkId = check.action === "create" || check.action === "replace" ? NEW_CHECK : lastSegment(check.resource);
  const want = alertView(toAlertPolicy(p, d.alert, checkId));
  if (observed === undefined) return diffResource(ALERT_POLICY, unnamed(d.parent, "alertPolicies", d.alert.displayName), want, undefined);
  const view = alertView(observed);
  return diffResource(ALERT_POLICY, observed.name ?? "", want, view, { ...view, image: alertImage(observed) });
}

/** The id of the check the policy's change names: the plan's, or the one an earlier change of the set made. */
function checkIdFor(d: DesiredMonitoring, change: Change, earlier: ReadonlyMap<string, Made>): string {
  const id = checkIdIn(change.after.filter);
  if (id !== undefined && id !== NEW_CHECK) return id;
  for (const made of earlier.values()) if (isCheckName(d.parent, made.name)) return lastSegment(made.name);
  throw new Error(`the alert policy ${d.alert.displayName} needs the uptime check ${d.uptime.displayName}, which this change set did not make`);
}

async function applyCheck(p: FirebaseParams, d: DesiredMonitoring, change: Change, io: IntegrationIo): Promise<Made> {
  const want = toUptimeConfig(p, d.uptime);
  if (change.action === "create") return checkMade(await createCheck(io, d.parent, want));
  const old = change.resource;
  if (change.action === "replace") {
    // Create first: the old check is deleted only once nothing of ours refers to it.
    const created = await createCheck(io, d.parent, want);
    const oldId = lastSegment(old);
    const policy = (await listPolicies(io, d.parent)).find((a) => a.displayName === d.alert.displayName);
    if (policy !== undefined && referencesCheck(policy, oldId)) await repoint(io, policy, oldId, lastSegment(created.name ?? ""));
    await deleteCheck(io, old);
    return checkMade(created);
  }
  // Update: the changed fields only, on top of what the check has (its other HTTP settings are kept).
  const had = (change.before?.image ?? {}) as UptimeCheckConfig;
  const patch: UptimeCheckConfig = { ...want, httpCheck: { ...(had.httpCheck ?? {}), path: d.uptime.path } };
  return checkMade(await updateCheck(io, old, patch, change.fields.map((f) => f.field)));
}

async function applyPolicy(p: FirebaseParams, d: DesiredMonitoring, change: Change, io: IntegrationIo, earlier: ReadonlyMap<string, Made>): Promise<Made> {
  const want = toAlertPolicy(p, d.alert, checkIdFor(d, change, earlier));
  if (change.action === "create") {
    const [created] = await io.grpc(alertSite("CreateAlertPolicy", d.parent), (o) => io.clients.alertPolicies().createAlertPolicy({ name: d.parent, alertPolicy: want }, o));
    return policyMade(created);
  }
  return policyMade(await updatePolicy(io, change.resource, want, change.fields.map((f) => f.field)));
}

/** Where a policy's change names `NEW_CHECK`, the id of the check with our display name now (to compare views). */
async function resolvedPolicyEntry(io: IntegrationIo, d: DesiredMonitoring, entry: JournalEntry): Promise<JournalEntry> {
  if (checkIdIn(entry.change.after.filter) !== NEW_CHECK) return entry;
  const check = (await listChecks(io, d.parent)).find((c) => c.displayName === d.uptime.displayName);
  if (check?.name === undefined || check.name === null) return entry;
  const filter = String(entry.change.after.filter).replace(`check_id="${NEW_CHECK}"`, `check_id="${lastSegment(check.name)}"`);
  return { ...entry, change: { ...entry.change, after: { ...entry.change.after, filter } } };
}

async function undoPolicy(io: IntegrationIo, d: DesiredMonitoring, entry: JournalEntry): Promise<UndoOutcome> {
  const resolved = await resolvedPolicyEntry(io, d, entry);
  const name = entry.made?.name ?? (entry.change.before === null ? undefined : entry.change.resource);
  const current = name !== undefined ? await getPolicy(io, name) : (await listPolicies(io, d.parent)).find((a) => a.displayName === d.alert.displayName);
  return undoChange(resolved, current === undefined ? undefined : { view: alertView(current), version: alertVersion(current) }, {
    remove: async () => {
      const target = current!.name ?? "";
      await io.grpcOrAbsent(alertSite("DeleteAlertPolicy", target), (o) => io.clients.alertPolicies().deleteAlertPolicy({ name: target }, o));
    },
    restore: (before) => updatePolicy(io, entry.change.resource, before.image as AlertPolicy, entry.change.fields.map((f) => f.field)),
  });
}

async function undoCheck(io: IntegrationIo, d: DesiredMonitoring, entry: JournalEntry): Promise<UndoOutcome> {
  if (entry.change.action === "replace") return undoReplace(io, d, entry);
  const name = entry.made?.name ?? (entry.change.before === null ? undefined : entry.change.resource);
  const current = name !== undefined ? await getCheck(io, name) : (await listChecks(io, d.parent)).find((c) => c.displayName === d.uptime.displayName);
  // A check an alert policy still uses cannot be deleted: that policy was left as it is (someone changed it).
  const user = entry.change.before === null && current?.name ? (await listPolicies(io, d.parent)).find((a) => referencesCheck(a, lastSegment(current.name!))) : undefined;
  const outcome = await undoChange(entry, current === undefined ? undefined : { view: uptimeView(current) }, {
    ...(user === undefined ? { remove: () => deleteCheck(io, current!.name ?? "") } : { keepReason: `still used by alert policy ${user.name ?? ""}` }),
    restore: (before) => updateCheck(io, entry.change.resource, before.image as UptimeCheckConfig, entry.change.fields.map((f) => f.field)),
  });
  if (outcome.result === "left" && user !== undefined) return { ...outcome, result: "conflict", detail: `still used by alert policy ${user.name ?? ""}, which someone changed, so left as it is` };
  return outcome;
}

/**
 * Undoes a replace: the old configuration comes back (the old check itself when the apply stopped
 * before deleting it; else re-created, under a NEW id: Monitoring assigns ids and a deleted check's
 * id is not reused), our alert policy points at it again, and the check this plan created is deleted.
 */
async function undoReplace(io: IntegrationIo, d: DesiredMonitoring, entry: JournalEntry): Promise<UndoOutcome> {
  const old = entry.change.resource;
  const before = entry.change.before!;
  const { image: oldImage, ...beforeView } = before;
  const checks = await listChecks(io, d.parent);
  const mine = entry.made?.name ?? checks.find((c) => c.name !== old && c.displayName === d.uptime.displayName && sameValue(uptimeView(c), entry.change.after))?.name ?? undefined;
  const created = mine === undefined ? undefined : checks.find((c) => c.name === mine);
  if (created !== undefined && !stillOurs(entry, uptimeView(created))) return { resource: mine!, result: "conflict", detail: "changed since this plan created it (the check it replaced was not re-created)" };

  // The old configuration: the old check itself, or one an earlier try of this rollback re-created.
  let target = checks.find((c) => c.name === old) ?? checks.find((c) => c.name !== mine && sameValue(uptimeView(c), beforeView));
  const recreated = target === undefined;
  if (target === undefined) target = await createCheck(io, d.parent, oldImage as UptimeCheckConfig);
  const targetId = lastSegment(target.name ?? "");

  const policy = (await listPolicies(io, d.parent)).find((a) => a.displayName === d.alert.displayName);
  const pointsAt = policy === undefined ? undefined : checkIdIn(alertView(policy).filter);
  const repointed = policy !== undefined && pointsAt !== undefined && pointsAt !== targetId && (pointsAt === lastSegment(old) || (mine !== undefined && pointsAt === lastSegment(mine)));
  if (repointed) await repoint(io, policy, pointsAt, targetId);
  if (created !== undefined) await deleteCheck(io, mine!);

  if (!recreated && created === undefined && !repointed) return { resource: old, result: "absent", detail: "never replaced: the old check is still there" };
  const follows = repointed ? `; alert policy ${policy.name ?? ""} points at it` : "";
  return {
    resource: old,
    result: "restored",
    detail: recreated
      ? `the old configuration was re-created as ${target.name ?? ""} (a deleted check cannot come back under its id)${follows}`
      : `the old check was still there${follows}`,
  };
}

export const monitoringIntegration: IntegrationModule = {
  async plan(p, io) {
    const d = desiredMonitoring(p);
    const [checks, policies] = await Promise.all([listChecks(io, d.parent), listPolicies(io, d.parent)]);
    const uptime = checks.find((c) => c.displayName === d.uptime.displayName);
    const alert = policies.find((a) => a.displayName === d.alert.displayName);
    const check = checkChange(p, d, uptime);
    return {
      changes: [check, policyChange(p, d, check, alert)],
      desired: d,
      observed: { uptime: uptime === undefined ? null : uptimeView(uptime), alert: alert === undefined ? null : alertView(alert) },
    };
  },

  apply(p, change, io, earlier) {
    const d = desiredMonitoring(p);
    return change.type === UPTIME_CHECK ? applyCheck(p, d, change, io) : applyPolicy(p, d, change, io, earlier);
  },

  undo(p, entry, io) {
    const d = desiredMonitoring(p);
    return entry.change.type === UPTIME_CHECK ? undoCheck(io, d, entry) : undoPolicy(io, d, entry);
  },

  outputs(_p, plan, made) {
    const [check, policy] = plan.changes as [Change, Change];
    const uptimeCheckName = made.get(check.resource)?.name ?? check.resource;
    return { integration: "monitoring", uptimeCheckName, uptimeCheckId: lastSegment(uptimeCheckName), alertPolicyName: made.get(policy.resource)?.name ?? policy.resource };
  },
};
