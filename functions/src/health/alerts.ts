/**
 * The alert state machine, with hysteresis. Per dedup key: `openAfter` consecutive failing runs
 * open one alert (a key that is already open only refreshes `lastSeen`); `resolveAfter`
 * consecutive healthy runs resolve it. A check that flaps (fail, ok, fail, ok) never reaches
 * either streak, so it neither opens nor, once open, resolves and re-opens: no storm. A key that is
 * no longer observed (environment removed) counts as healthy. Pure: the caller stores the result.
 */
import type { Alert, Severity, TrackedKey, TrackerState } from "../schema/health";

export interface AlertObservation {
  key: string;
  kind: Alert["kind"];
  failing: boolean;
  severity: Severity;
  environmentId: string | null;
  integration: string | null;
  title: string;
  message: string;
  /** Open on the first failing run (goal and compliance findings are already aggregated). */
  immediate: boolean;
}

export interface AlertPolicy {
  openAfterFailures: number;
  resolveAfterSuccesses: number;
}

export interface AlertChanges {
  tracker: TrackerState;
  /** Every alert document to write (opened, refreshed, escalated, resolved). */
  writes: Alert[];
  opened: Alert[];
  resolved: Alert[];
  escalated: Alert[];
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

/** Firestore document id of the incident of `key` that started at `firstSeen`. */
export function alertIdFor(key: string, firstSeen: number): string {
  const slug = key.replace(/[^A-Za-z0-9._:-]+/g, "_").slice(0, 200);
  return `${slug}~${firstSeen.toString(36)}`;
}

export function advanceAlerts(
  previous: TrackerState,
  openAlerts: readonly Alert[],
  observations: readonly AlertObservation[],
  ctx: { now: number; runId: string; policy: AlertPolicy },
): AlertChanges {
  const open = new Map(openAlerts.filter((a) => a.status === "open").map((a) => [a.id, a]));
  // Dedup by key even when the tracker lost track (reset, hand edits): an open alert of the key is reused.
  const openByKey = new Map([...open.values()].map((a) => [a.key, a.id]));
  const keys: Record<string, TrackedKey> = {};
  const out: AlertChanges = { tracker: { keys }, writes: [], opened: [], resolved: [], escalated: [] };
  const seen = new Set<string>();

  const healthy = (key: string, state: TrackedKey): void => {
    const next: TrackedKey = { failStreak: 0, okStreak: state.okStreak + 1, alertId: state.alertId };
    const alert = state.alertId === null ? undefined : open.get(state.alertId);
    if (alert === undefined) return; // nothing open: forget the key
    if (next.okStreak >= ctx.policy.resolveAfterSuccesses) {
      const resolved: Alert = { ...alert, status: "resolved", resolvedAt: ctx.now, resolvedByRun: ctx.runId };
      out.resolved.push(resolved);
      out.writes.push(resolved);
      return;
    }
    keys[key] = next;
  };

  for (const o of observations) {
    if (seen.has(o.key)) continue;
    seen.add(o.key);
    const before = previous.keys[o.key] ?? { failStreak: 0, okStreak: 0, alertId: null };
    // The tracker may name an alert whose document is gone (deleted by hand), or none while one is open.
    const alertId = before.alertId !== null && open.has(before.alertId) ? before.alertId : (openByKey.get(o.key) ?? null);
    const state: TrackedKey = { ...before, alertId };
    if (!o.failing) {
      healthy(o.key, state);
      continue;
    }
    const next: TrackedKey = { failStreak: state.failStreak + 1, okStreak: 0, alertId: state.alertId };
    const current = state.alertId === null ? undefined : open.get(state.alertId);
    if (current !== undefined) {
      const escalates = SEVERITY_RANK[o.severity] > SEVERITY_RANK[current.severity];
      const refreshed: Alert = { ...current, lastSeen: ctx.now, message: o.message, severity: escalates ? o.severity : current.severity };
      out.writes.push(refreshed);
      if (escalates) out.escalated.push(refreshed);
    } else if (next.failStreak >= (o.immediate ? 1 : ctx.policy.openAfterFailures)) {
      const alert: Alert = {
        id: alertIdFor(o.key, ctx.now),
        key: o.key,
        kind: o.kind,
        status: "open",
        severity: o.severity,
        environmentId: o.environmentId,
        integration: o.integration,
        title: o.title,
        message: o.message,
        firstSeen: ctx.now,
        lastSeen: ctx.now,
        resolvedAt: null,
        openedAfterFailures: next.failStreak,
        openedByRun: ctx.runId,
        resolvedByRun: null,
      };
      next.alertId = alert.id;
      open.set(alert.id, alert);
      out.opened.push(alert);
      out.writes.push(alert);
    }
    keys[o.key] = next;
  }

  // Keys that were tracked but not observed this run: healthy (their subject went away).
  for (const [key, state] of Object.entries(previous.keys)) {
    if (!seen.has(key)) {
      seen.add(key);
      healthy(key, { ...state, alertId: state.alertId !== null && open.has(state.alertId) ? state.alertId : (openByKey.get(key) ?? null) });
    }
  }
  // Open alerts the tracker lost and nothing observed: count this run as healthy for them too.
  for (const alert of open.values()) {
    if (!seen.has(alert.key)) {
      seen.add(alert.key);
      healthy(alert.key, { failStreak: 0, okStreak: 0, alertId: alert.id });
    }
  }
  return out;
}
