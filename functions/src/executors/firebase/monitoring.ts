/**
 * `monitoring`: a Cloud Monitoring uptime check on the environment's hosting URL and an alert
 * policy that fires when it fails. Both have server-assigned ids, so they are found by display name.
 */
import type { protos } from "@google-cloud/monitoring";
import { z } from "zod";
import type { ApiCallSite } from "../../clients/errors";
import type { DriftItem, ResourceChange } from "../types";
import { fieldDrift, lastSegment, parseSettings, type FirebaseParams, type IntegrationIo, type IntegrationModule } from "./context";
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

const uptimeView = (c: UptimeCheckConfig): Record<string, unknown> => ({
  displayName: c.displayName ?? "",
  host: c.monitoredResource?.labels?.host ?? "",
  path: c.httpCheck?.path ?? "",
  periodSeconds: Number(c.period?.seconds ?? 0),
  timeoutSeconds: Number(c.timeout?.seconds ?? 0),
});

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

export const uptimeFilterFor = (checkId: string): string =>
  `metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND metric.label.check_id="${checkId}" AND resource.type="uptime_url"`;

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

const alertView = (a: AlertPolicy): Record<string, unknown> => ({
  displayName: a.displayName ?? "",
  filter: a.conditions?.[0]?.conditionThreshold?.filter ?? "",
  notificationChannels: [...(a.notificationChannels ?? [])].sort(),
  enabled: a.enabled?.value ?? false,
});

async function findUptime(io: IntegrationIo, parent: string, displayName: string): Promise<UptimeCheckConfig | undefined> {
  const [configs] = await io.grpc(uptimeSite("ListUptimeCheckConfigs", parent), (o) => io.clients.uptimeChecks().listUptimeCheckConfigs({ parent }, o));
  return configs.find((c) => c.displayName === displayName);
}

async function findAlert(io: IntegrationIo, parent: string, displayName: string): Promise<AlertPolicy | undefined> {
  const [policies] = await io.grpc(alertSite("ListAlertPolicies", parent), (o) => io.clients.alertPolicies().listAlertPolicies({ name: parent }, o));
  return policies.find((a) => a.displayName === displayName);
}

function monitoringDrift(p: FirebaseParams, d: DesiredMonitoring, uptime: UptimeCheckConfig | undefined, alert: AlertPolicy | undefined): DriftItem[] {
  const checkId = uptime?.name ? lastSegment(uptime.name) : "(missing)";
  return [
    ...fieldDrift(uptime?.name ?? `${d.parent}/uptimeCheckConfigs (${d.uptime.displayName})`, uptimeView(toUptimeConfig(p, d.uptime)), uptime === undefined ? undefined : uptimeView(uptime)),
    ...fieldDrift(alert?.name ?? `${d.parent}/alertPolicies (${d.alert.displayName})`, alertView(toAlertPolicy(p, d.alert, checkId)), alert === undefined ? undefined : alertView(alert)),
  ];
}

export const monitoringIntegration: IntegrationModule = {
  async observe(p, io) {
    const d = desiredMonitoring(p);
    const uptime = await findUptime(io, d.parent, d.uptime.displayName);
    const alert = await findAlert(io, d.parent, d.alert.displayName);
    return {
      desired: d,
      observed: { uptime: uptime === undefined ? null : uptimeView(uptime), alert: alert === undefined ? null : alertView(alert) },
      drift: monitoringDrift(p, d, uptime, alert),
    };
  },

  async provision(p, io) {
    const d = desiredMonitoring(p);
    const changes: ResourceChange[] = [];
    const wantUptime = toUptimeConfig(p, d.uptime);
    let uptime = await findUptime(io, d.parent, d.uptime.displayName);
    if (uptime !== undefined && uptimeView(uptime).host !== d.uptime.host) {
      // The monitored resource of a check cannot be updated: replace the check.
      const old = uptime.name!;
      await io.grpc(uptimeSite("DeleteUptimeCheckConfig", old), (o) => io.clients.uptimeChecks().deleteUptimeCheckConfig({ name: old }, o));
      changes.push({ kind: "deleted", resource: old });
      uptime = undefined;
    }
    if (uptime === undefined) {
      [uptime] = await io.grpc(uptimeSite("CreateUptimeCheckConfig", d.parent), (o) => io.clients.uptimeChecks().createUptimeCheckConfig({ parent: d.parent, uptimeCheckConfig: wantUptime }, o));
      changes.push({ kind: "created", resource: uptime.name ?? d.parent });
    } else if (fieldDrift(uptime.name!, uptimeView(wantUptime), uptimeView(uptime)).length > 0) {
      const name = uptime.name!;
      [uptime] = await io.grpc(uptimeSite("UpdateUptimeCheckConfig", name), (o) =>
        io.clients.uptimeChecks().updateUptimeCheckConfig({ uptimeCheckConfig: { ...wantUptime, name }, updateMask: { paths: ["display_name", "http_check", "period", "timeout"] } }, o),
      );
      changes.push({ kind: "updated", resource: name });
    } else {
      changes.push({ kind: "unchanged", resource: uptime.name! });
    }
    const checkId = lastSegment(uptime.name!);

    const wantAlert = toAlertPolicy(p, d.alert, checkId);
    let alert = await findAlert(io, d.parent, d.alert.displayName);
    if (alert === undefined) {
      [alert] = await io.grpc(alertSite("CreateAlertPolicy", d.parent), (o) => io.clients.alertPolicies().createAlertPolicy({ name: d.parent, alertPolicy: wantAlert }, o));
      changes.push({ kind: "created", resource: alert.name ?? d.parent });
    } else if (fieldDrift(alert.name!, alertView(wantAlert), alertView(alert)).length > 0) {
      const name = alert.name!;
      [alert] = await io.grpc(alertSite("UpdateAlertPolicy", name), (o) =>
        io.clients.alertPolicies().updateAlertPolicy(
          { alertPolicy: { ...wantAlert, name }, updateMask: { paths: ["display_name", "combiner", "conditions", "notification_channels", "enabled", "user_labels"] } },
          o,
        ),
      );
      changes.push({ kind: "updated", resource: name });
    } else {
      changes.push({ kind: "unchanged", resource: alert.name! });
    }
    return {
      changes,
      desired: d,
      observed: { uptime: uptimeView(uptime), alert: alertView(alert) },
      outputs: { integration: "monitoring", uptimeCheckName: uptime.name!, uptimeCheckId: checkId, alertPolicyName: alert.name! },
    };
  },

  async compensate(p, io) {
    const d = desiredMonitoring(p);
    const changes: ResourceChange[] = [];
    // The policy first: it refers to the check.
    const alert = await findAlert(io, d.parent, d.alert.displayName);
    if (alert?.name) {
      const name = alert.name;
      const gone = await io.grpcOrAbsent(alertSite("DeleteAlertPolicy", name), (o) => io.clients.alertPolicies().deleteAlertPolicy({ name }, o));
      changes.push({ kind: gone === undefined ? "unchanged" : "deleted", resource: name });
    }
    const uptime = await findUptime(io, d.parent, d.uptime.displayName);
    if (uptime?.name) {
      const name = uptime.name;
      const gone = await io.grpcOrAbsent(uptimeSite("DeleteUptimeCheckConfig", name), (o) => io.clients.uptimeChecks().deleteUptimeCheckConfig({ name }, o));
      changes.push({ kind: gone === undefined ? "unchanged" : "deleted", resource: name });
    }
    return changes.length > 0 ? changes : [{ kind: "unchanged", resource: `${d.parent} (${d.uptime.displayName})` }];
  },
};
