import { advanceAlerts, type AlertObservation } from "../../../functions/src/health/alerts";
import type { Alert, TrackerState } from "../../../functions/src/schema/health";

const POLICY = { openAfterFailures: 3, resolveAfterSuccesses: 2 };
const obs = (failing: boolean, extra: Partial<AlertObservation> = {}): AlertObservation => ({
  key: "check:p/hosting/http",
  kind: "check",
  failing,
  severity: "critical",
  environmentId: "p",
  integration: "hosting",
  title: "hosting down",
  message: failing ? "HTTP 503" : "ok",
  immediate: false,
  ...extra,
});

/** Replays runs through the state machine, keeping alerts as a store would. */
function replay(sequence: Array<AlertObservation[]>) {
  let tracker: TrackerState = { keys: {} };
  const alerts = new Map<string, Alert>();
  const events: string[] = [];
  sequence.forEach((observations, i) => {
    const open = [...alerts.values()].filter((a) => a.status === "open");
    const c = advanceAlerts(tracker, open, observations, { now: 1_000 * (i + 1), runId: `run-${i + 1}`, policy: POLICY });
    tracker = c.tracker;
    for (const a of c.writes) alerts.set(a.id, a);
    events.push(...c.opened.map(() => `opened@${i + 1}`), ...c.escalated.map(() => `escalated@${i + 1}`), ...c.resolved.map(() => `resolved@${i + 1}`));
  });
  return { tracker, alerts: [...alerts.values()], events };
}

describe("alert state machine", () => {
  it("opens once after 3 consecutive failures, refreshes while failing, resolves once after 2 healthy runs", () => {
    const r = replay([[obs(true)], [obs(true)], [obs(true)], [obs(true)], [obs(true)], [obs(false)], [obs(false)], [obs(false)]]);
    expect(r.events).toEqual(["opened@3", "resolved@7"]);
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]).toMatchObject({ status: "resolved", firstSeen: 3000, lastSeen: 5000, resolvedAt: 7000, openedAfterFailures: 3, openedByRun: "run-3", resolvedByRun: "run-7" });
    expect(r.tracker.keys).toEqual({});
  });

  it("does not storm on a flapping check: no alert while it never fails 3 times in a row", () => {
    const r = replay(Array.from({ length: 12 }, (_, i) => [obs(i % 2 === 0)]));
    expect(r.events).toEqual([]);
  });

  it("keeps a flapping open alert open instead of resolving and re-opening it", () => {
    const r = replay([[obs(true)], [obs(true)], [obs(true)], [obs(false)], [obs(true)], [obs(false)], [obs(true)], [obs(false)], [obs(false)]]);
    expect(r.events).toEqual(["opened@3", "resolved@9"]);
  });

  it("opens goal and compliance findings on the first failing run, and escalates severity in place", () => {
    const goal = (failing: boolean, severity: "warning" | "critical") => obs(failing, { key: "goal:high_availability:p", kind: "goal", immediate: true, severity });
    const r = replay([[goal(true, "warning")], [goal(true, "critical")], [goal(false, "warning")], [goal(false, "warning")]]);
    expect(r.events).toEqual(["opened@1", "escalated@2", "resolved@4"]);
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]!.severity).toBe("critical");
  });

  it("resolves an alert whose subject is no longer observed, and dedups by key when the tracker was lost", () => {
    const first = replay([[obs(true)], [obs(true)], [obs(true)], [], []]);
    expect(first.events).toEqual(["opened@3", "resolved@5"]);
    const open = replay([[obs(true)], [obs(true)], [obs(true)]]).alerts;
    const again = advanceAlerts({ keys: {} }, open, [obs(true)], { now: 9_000, runId: "run-x", policy: POLICY });
    expect(again.opened).toEqual([]);
    expect(again.writes).toHaveLength(1);
    expect(again.writes[0]!.id).toBe(open[0]!.id);
  });
});
