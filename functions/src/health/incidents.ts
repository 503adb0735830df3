/**
 * Incidents, as a status page shows them: each alert's open and resolve history (an alert document
 * is one incident of one key), with its start, end, duration and what it cost the environment's
 * error budget; and the overall status line above them ("All systems operational", "Partial
 * outage: production"), in Statuspage's words. Pure: the API and the feed format what this returns.
 */
import type { Alert } from "../schema/health";

/** How far back the public history reaches, as Statuspage's and Upptime's do. */
export const INCIDENT_HISTORY_DAYS = 90;

export interface Incident {
  id: string;
  title: string;
  message: string;
  kind: Alert["kind"];
  severity: Alert["severity"];
  environmentId: string | null;
  integration: string | null;
  status: "open" | "resolved";
  startedAt: number;
  endedAt: number | null;
  /** From start to end, or to now while open. */
  durationMinutes: number;
  /** Bad minutes it cost its environment's availability budget and that as a share of the budget (null: not measured). */
  budgetCost: { minutes: number; fraction: number | null } | null;
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

export function incidentOf(alert: Alert & { budgetCost?: Incident["budgetCost"] }, now: number): Incident {
  const end = alert.status === "resolved" ? (alert.resolvedAt ?? alert.lastSeen) : null;
  return {
    id: alert.id,
    title: alert.title,
    message: alert.message,
    kind: alert.kind,
    severity: alert.severity,
    environmentId: alert.environmentId,
    integration: alert.integration,
    status: alert.status,
    startedAt: alert.firstSeen,
    endedAt: end,
    durationMinutes: round(Math.max(0, (end ?? now) - alert.firstSeen) / 60_000, 1),
    budgetCost: alert.budgetCost ?? null,
  };
}

/** Open incidents first (newest first), then those resolved within the history, newest first. */
export function incidentHistory(alerts: ReadonlyArray<Alert & { budgetCost?: Incident["budgetCost"] }>, now: number, days = INCIDENT_HISTORY_DAYS): Incident[] {
  const since = now - days * 86_400_000;
  const byId = new Map<string, Incident>();
  for (const a of alerts) {
    const incident = incidentOf(a, now);
    if (incident.status === "resolved" && (incident.endedAt ?? 0) < since) continue;
    byId.set(incident.id, incident);
  }
  return [...byId.values()].sort((a, b) => (a.status === b.status ? b.startedAt - a.startedAt || a.id.localeCompare(b.id) : a.status === "open" ? -1 : 1));
}

export type OverallLevel = "operational" | "degraded" | "partial_outage" | "major_outage" | "unknown";

const DOWN: ReadonlySet<string> = new Set(["down", "timeout", "error"]);

/**
 * One line for everything at once, worst first: every environment down is a major outage, some a
 * partial one; degraded checks or open incidents are degraded performance; environments no health
 * run has reached yet are named.
 */
export function overallStatus(environments: ReadonlyArray<{ name: string; status: string }>, openIncidents: number): { level: OverallLevel; text: string } {
  const open = openIncidents === 0 ? "" : ` · ${openIncidents} open incident${openIncidents === 1 ? "" : "s"}`;
  if (environments.length === 0) return { level: "unknown", text: `No environments yet${open}` };
  const named = (test: (s: string) => boolean) => environments.filter((e) => test(e.status)).map((e) => e.name);
  const down = named((s) => DOWN.has(s));
  const degraded = named((s) => s === "degraded");
  const unknown = named((s) => s === "unknown" || s === "skipped");
  const alsoDegraded = degraded.length > 0 ? ` · degraded: ${degraded.join(", ")}` : "";
  if (down.length > 0 && down.length === environments.length) return { level: "major_outage", text: `Major outage: ${down.join(", ")}${open}` };
  if (down.length > 0) return { level: "partial_outage", text: `Partial outage: ${down.join(", ")}${alsoDegraded}${open}` };
  if (degraded.length > 0) return { level: "degraded", text: `Degraded performance: ${degraded.join(", ")}${open}` };
  if (unknown.length === environments.length) return { level: "unknown", text: `Not checked yet: the first health run reports within minutes${open}` };
  const notYet = unknown.length > 0 ? ` (not checked yet: ${unknown.join(", ")})` : "";
  return openIncidents > 0 ? { level: "degraded", text: `Degraded performance${notYet}${open}` } : { level: "operational", text: `All systems operational${notYet}` };
}
