/**
 * Incidents (health/incidents.ts) and what subscribes to them (health/feeds.ts): the history a
 * status page shows, the overall status line in Statuspage's words, the Atom feed and the badge.
 */
import { incidentsAtom, uptimeBadge, uptimeColour } from "../../../functions/src/health/feeds";
import { incidentHistory, incidentOf, overallStatus } from "../../../functions/src/health/incidents";
import type { Alert } from "../../../functions/src/schema/health";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const DAY = 86_400_000;
const alert = (id: string, over: Partial<Alert> = {}): Alert => ({
  id,
  key: `check:${id}`,
  kind: "check",
  status: "resolved",
  severity: "critical",
  environmentId: "lang-trak-prod",
  integration: "hosting",
  title: `${id} is down`,
  message: `${id} answered 503 <html> & "more"`,
  firstSeen: NOW - DAY,
  lastSeen: NOW - DAY + 30 * 60_000,
  resolvedAt: NOW - DAY + 30 * 60_000,
  openedAfterFailures: 3,
  openedByRun: "r1",
  resolvedByRun: "r2",
  ...over,
});

describe("incidents", () => {
  it("are an alert's start, end and duration; an open one lasts until now", () => {
    expect(incidentOf(alert("a"), NOW)).toMatchObject({ status: "resolved", startedAt: NOW - DAY, endedAt: NOW - DAY + 1_800_000, durationMinutes: 30, budgetCost: null });
    expect(incidentOf(alert("b", { status: "open", resolvedAt: null, firstSeen: NOW - 90 * 60_000 }), NOW)).toMatchObject({ status: "open", endedAt: null, durationMinutes: 90 });
    expect(incidentOf({ ...alert("c"), budgetCost: { minutes: 30, fraction: 0.139 } }, NOW).budgetCost).toEqual({ minutes: 30, fraction: 0.139 });
  });

  it("list open ones first, then those resolved within 90 days, newest first, each once", () => {
    const history = incidentHistory(
      [alert("old", { firstSeen: NOW - 100 * DAY, resolvedAt: NOW - 95 * DAY }), alert("recent", { firstSeen: NOW - 2 * DAY }), alert("now", { status: "open", resolvedAt: null, firstSeen: NOW - 60_000 }), alert("edge", { firstSeen: NOW - 91 * DAY, resolvedAt: NOW - 89 * DAY }), alert("recent", { firstSeen: NOW - 2 * DAY })],
      NOW,
    );
    expect(history.map((i) => i.id)).toEqual(["now", "recent", "edge"]);
  });
});

describe("the overall status", () => {
  const env = (name: string, status: string) => ({ name, status });
  it("says what a status page says, worst first", () => {
    expect(overallStatus([env("development", "ok"), env("production", "ok")], 0)).toEqual({ level: "operational", text: "All systems operational" });
    expect(overallStatus([env("development", "ok"), env("production", "down")], 1)).toEqual({ level: "partial_outage", text: "Partial outage: production · 1 open incident" });
    expect(overallStatus([env("development", "timeout"), env("production", "down")], 2)).toEqual({ level: "major_outage", text: "Major outage: development, production · 2 open incidents" });
    expect(overallStatus([env("staging", "degraded"), env("production", "ok")], 0)).toEqual({ level: "degraded", text: "Degraded performance: staging" });
    expect(overallStatus([env("production", "ok")], 1).level).toBe("degraded");
    expect(overallStatus([env("development", "unknown"), env("production", "ok")], 0)).toEqual({ level: "operational", text: "All systems operational (not checked yet: development)" });
    expect(overallStatus([env("development", "unknown")], 0).level).toBe("unknown");
    expect(overallStatus([], 0).level).toBe("unknown");
  });
});

describe("the Atom feed", () => {
  it("has one entry per incident with its times, escaped text and links", () => {
    const incidents = incidentHistory([alert("a"), alert("b", { status: "open", resolvedAt: null, firstSeen: NOW - 600_000 })], NOW);
    const feed = incidentsAtom(incidents, { selfUrl: "https://status.example.com/api/incidents.atom", pageUrl: "https://status.example.com/", title: "Status: Partial outage: production", now: NOW });
    expect(feed.startsWith('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">')).toBe(true);
    expect(feed.match(/<entry>/g)).toHaveLength(2);
    expect(feed).toContain("<title>[open] b is down</title>");
    expect(feed).toContain(`<updated>${new Date(NOW - 600_000).toISOString()}</updated>`);
    expect(feed).toContain("answered 503 &lt;html&gt; &amp; &quot;more&quot;");
    expect(feed).not.toMatch(/<html>|& "/);
    expect(feed).toContain('<link rel="self" href="https://status.example.com/api/incidents.atom"/>');
    // An empty history is still a valid feed, updated now.
    expect(incidentsAtom([], { selfUrl: "x", pageUrl: "y", title: "t", now: NOW })).toContain(`<updated>${new Date(NOW).toISOString()}</updated>`);
  });
});

describe("the uptime badge", () => {
  it("shows the figure, coloured like Upptime's, and says so in its title", () => {
    const svg = uptimeBadge("production", 99.95);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="20" role="img" aria-label="production: 99.95 % uptime">/);
    expect(svg).toContain('fill="#4c1"');
    expect(uptimeBadge("production", 100)).toContain(">100 %<");
    expect(uptimeBadge("a&b", null)).toContain("a&amp;b: no data uptime");
    expect([99.95, 99.5, 98.5, 96, 90, null].map(uptimeColour)).toEqual(["#4c1", "#97ca00", "#dfb317", "#fe7d37", "#e05d44", "#9f9f9f"]);
  });
});
