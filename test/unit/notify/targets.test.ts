/** ORCHESTRATOR_NOTIFY_TARGETS: kind:SECRET pairs, parsed strictly, each failure saying what and how to write it. */
import { MAX_TARGETS, parseNotifyTargets } from "../../../functions/src/notify/targets";

describe("notify targets (ORCHESTRATOR_NOTIFY_TARGETS)", () => {
  it("reads a comma-separated list of kind:SECRET pairs, in order", () => {
    expect(parseNotifyTargets(" slack:SLACK_OPS_WEBHOOK, chat:CHAT_WEBHOOK ,webhook:PAGER_WEBHOOK,")).toEqual([
      { kind: "slack", secret: "SLACK_OPS_WEBHOOK" },
      { kind: "chat", secret: "CHAT_WEBHOOK" },
      { kind: "webhook", secret: "PAGER_WEBHOOK" },
    ]);
  });

  it("reads a JSON array of the same strings (how a list param surfaces)", () => {
    expect(parseNotifyTargets('["slack:A_HOOK", "webhook:B_HOOK"]')).toEqual([
      { kind: "slack", secret: "A_HOOK" },
      { kind: "webhook", secret: "B_HOOK" },
    ]);
  });

  it("is empty when unset or blank: no notifications", () => {
    expect(parseNotifyTargets(undefined)).toEqual([]);
    expect(parseNotifyTargets("  ")).toEqual([]);
    expect(parseNotifyTargets("[]")).toEqual([]);
  });

  it.each<[string, string, RegExp]>([
    ["an entry without a kind", "SLACK_OPS_WEBHOOK", /entry 1 \("SLACK_OPS_WEBHOOK"\): expected kind:SECRET, e\.g\. slack:SLACK_OPS_WEBHOOK/],
    ["an unknown kind", "slack:A_HOOK,teams:TEAMS_HOOK", /entry 2 \("teams:TEAMS_HOOK"\): unknown kind "teams"; one of slack, chat, webhook/],
    ["a URL where the secret's name belongs", "slack:https://hooks.slack.com/services/T/B/X", /entry 1 is a URL: store the URL in a secret .* and name the secret here/],
    ["a lower-case secret name", "chat:chat_hook", /"chat_hook" is not a secret name/],
    ["a secret named twice", "slack:SAME_HOOK,webhook:SAME_HOOK", /entry 2 .*secret SAME_HOOK is named twice/],
    ["a secret named like the orchestrator's params", "webhook:ORCHESTRATOR_REGION", /ORCHESTRATOR_REGION is an environment variable Cloud Functions or the orchestrator uses/],
    ["a secret named like a runtime variable", "webhook:PORT", /PORT is an environment variable/],
    ["malformed JSON", '["slack:A_HOOK"', /must be a comma-separated list or a JSON array of kind:SECRET strings, e\.g\. slack:SLACK_OPS_WEBHOOK/],
    ["a JSON array of objects", '[{"kind": "slack"}]', /must be a comma-separated list or a JSON array/],
  ])("refuses %s, naming the entry and the fix", (_what, raw, message) => {
    expect(() => parseNotifyTargets(raw)).toThrow(message);
    expect(() => parseNotifyTargets(raw)).toThrow(/^ORCHESTRATOR_NOTIFY_TARGETS/);
  });

  it("never quotes a URL pasted into the list (it is a credential)", () => {
    expect(() => parseNotifyTargets("slack:https://hooks.slack.com/services/T/B/X")).toThrow(expect.objectContaining({ message: expect.not.stringContaining("services/T/B/X") }));
    expect(() => parseNotifyTargets("https://hooks.slack.com/services/T/B/X")).toThrow(expect.objectContaining({ message: expect.not.stringContaining("hooks.slack.com/services") }));
  });

  it(`refuses more than ${MAX_TARGETS} targets`, () => {
    const many = Array.from({ length: MAX_TARGETS + 1 }, (_, i) => `webhook:HOOK_${i}`).join(",");
    expect(() => parseNotifyTargets(many)).toThrow(`ORCHESTRATOR_NOTIFY_TARGETS names ${MAX_TARGETS + 1} targets; at most ${MAX_TARGETS}`);
  });
});
