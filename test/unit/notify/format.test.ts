/** What each kind of target receives: Slack and Chat messages people read, and a stable JSON envelope for machines. */
import { alertEvent, notificationEvent } from "../../../functions/src/notify/events";
import { chatPayload, FORMAT_LIMITS, formatDuration, linkFor, payloadFor, slackPayload, webhookEnvelope } from "../../../functions/src/notify/format";
import { alertMessage, gate, gateMessage, raised, T0 } from "./support";

const options = { statusPageUrl: "https://status.example.com/" };

describe("notification formats", () => {
  it("gives each occurrence a key of its own: raised and resolved once per alert, escalated once per severity, a gate once per attempt", () => {
    expect(raised).toMatchObject({ type: "alert.raised", key: "alert.raised:check:prod/hosting/http~abc", occurredAt: T0 });
    const resolved = alertEvent(alertMessage("resolved", { status: "resolved", resolvedAt: T0 + 600_000 }));
    expect(resolved).toMatchObject({ type: "alert.resolved", key: "alert.resolved:check:prod/hosting/http~abc", occurredAt: T0 + 600_000 });
    expect(alertEvent(alertMessage("escalated")).key).toBe("alert.escalated:check:prod/hosting/http~abc:critical");
    expect(gate).toMatchObject({ type: "gate.waiting", key: "gate.waiting:rollout-1/production.approval#1", occurredAt: T0 });
    expect(notificationEvent(gateMessage({ attempt: 2 })).key).toBe("gate.waiting:rollout-1/production.approval#2");
  });

  it("posts Slack an incoming-webhook message: a fallback text and mrkdwn blocks linking to the status page", () => {
    const body = slackPayload(raised, options);
    expect(body.text).toBe("🚨 [CRITICAL] prod hosting http check is down");
    expect(body.blocks).toEqual([
      { type: "section", text: { type: "mrkdwn", text: "*🚨 [CRITICAL] prod hosting http check is down*\nHTTP 503 from https://prod.web.app/\n<https://status.example.com/|Open the status page>" } },
      { type: "context", elements: [{ type: "mrkdwn", text: "alert.raised · 2026-11-25 12:00 UTC · alert.raised:check:prod/hosting/http~abc" }] },
    ]);
    const gateBody = slackPayload(gate, options);
    expect(gateBody.text).toBe("✋ Rollout to production: production.approval waits for approval");
    expect(gateBody.blocks[0]).toEqual({
      type: "section",
      text: {
        type: "mrkdwn",
        text: "*✋ Rollout to production: production.approval waits for approval*\nDeploy to production?\nNeeds 1 of ops@example.com by 2026-11-28 12:00 UTC (attempt 1).\n<https://status.example.com/?plan=rollout-1|Open the plan>",
      },
    });
  });

  it("posts Google Chat a text message with Chat's own bold and link syntax", () => {
    expect(chatPayload(raised, options)).toEqual({ text: "*🚨 [CRITICAL] prod hosting http check is down*\nHTTP 503 from https://prod.web.app/\n<https://status.example.com/|Open the status page>" });
    const resolved = alertEvent(alertMessage("resolved", { status: "resolved", resolvedAt: T0 + 45 * 60_000 }));
    expect(chatPayload(resolved, { statusPageUrl: null })).toEqual({ text: "*✅ Resolved: prod hosting http check is down*\nOpen for 1 h." });
  });

  it("posts a webhook the stable JSON envelope: type, id, occurredAt (ISO), summary, link and the event's fields", () => {
    expect(webhookEnvelope(raised, options)).toEqual({
      type: "alert.raised",
      id: "alert.raised:check:prod/hosting/http~abc",
      occurredAt: "2026-11-25T12:00:00.000Z",
      summary: "prod hosting http check is down",
      link: "https://status.example.com/",
      alert: {
        id: "check:prod/hosting/http~abc",
        key: "check:prod/hosting/http",
        kind: "check",
        severity: "critical",
        environmentId: "prod",
        integration: "hosting",
        title: "prod hosting http check is down",
        message: "HTTP 503 from https://prod.web.app/",
        firstSeen: "2026-11-25T11:45:00.000Z",
        resolvedAt: null,
        runId: "sched-20261125T120000000Z",
      },
    });
    expect(webhookEnvelope(gate, { statusPageUrl: null })).toEqual({
      type: "gate.waiting",
      id: "gate.waiting:rollout-1/production.approval#1",
      occurredAt: "2026-11-25T12:00:00.000Z",
      summary: "Rollout to production: production.approval waits for approval",
      link: null,
      gate: {
        planId: "rollout-1",
        planName: "Rollout to production",
        taskId: "production.approval",
        taskName: null,
        attempt: 1,
        approvers: ["ops@example.com"],
        requiredApprovals: 1,
        prompt: "Deploy to production?",
        deadline: "2026-11-28T12:00:00.000Z",
      },
    });
    expect(payloadFor("webhook", gate, options)).toEqual(webhookEnvelope(gate, options));
    expect(payloadFor("slack", gate, options)).toEqual(slackPayload(gate, options));
    expect(payloadFor("chat", gate, options)).toEqual(chatPayload(gate, options));
  });

  it("neutralises markup from plans and checks, so a name cannot mention @channel or hide a link", () => {
    const sneaky = notificationEvent(gateMessage({ planName: "<!channel> & <https://evil.example|click>", approvers: [] }));
    const slack = slackPayload(sneaky, { statusPageUrl: null });
    expect(slack.text).toBe("✋ &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;: production.approval waits for approval");
    expect(JSON.stringify(slack)).not.toMatch(/<!channel>|<https:\/\/evil/);
    expect(chatPayload(sneaky, { statusPageUrl: null }).text).toContain("‹!channel› & ‹https://evil.example|click›");
    expect(chatPayload(sneaky, { statusPageUrl: null }).text).toContain("Needs 1 approval from any operator");
  });

  it("keeps every body bounded, whatever the plan or check said", () => {
    const huge = notificationEvent(gateMessage({ planName: "p".repeat(200), prompt: "x".repeat(2000), approvers: Array.from({ length: 100 }, (_, i) => `${"a".repeat(300)}${i}@example.com`) }));
    const slack = slackPayload(huge, options);
    const section = slack.blocks[0] as { text: { text: string } };
    expect(section.text.text.length).toBeLessThanOrEqual(FORMAT_LIMITS.slackSectionChars);
    expect(section.text.text).toContain("and 90 more");
    expect(chatPayload(huge, options).text.length).toBeLessThanOrEqual(FORMAT_LIMITS.textChars);
    const long = alertEvent(alertMessage("opened", { message: "m".repeat(50_000), title: "t".repeat(5_000) }));
    expect(JSON.stringify(webhookEnvelope(long, options)).length).toBeLessThan(3_000);
    expect(JSON.stringify(slackPayload(long, options)).length).toBeLessThan(3_000);
  });

  it("links only to an http(s) status page; a gate links to its plan", () => {
    expect(linkFor(gate, "https://status.example.com/base/?tab=1")).toBe("https://status.example.com/base/?tab=1&plan=rollout-1");
    expect(linkFor(raised, "javascript:alert(1)")).toBeNull();
    expect(linkFor(raised, "not a url")).toBeNull();
    expect(linkFor(raised, "")).toBeNull();
  });

  it("says how long a resolved alert was open", () => {
    expect([0, 59_000, 5 * 60_000, 60 * 60_000, 125 * 60_000, 26 * 3_600_000].map(formatDuration)).toEqual(["0 min", "1 min", "5 min", "1 h", "2 h 5 min", "1 d 2 h"]);
  });
});
