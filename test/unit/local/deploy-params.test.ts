/**
 * The deployment's configuration as firebase-functions params: every param is declared with a
 * default and documented in functions/.env.example, values are read with their defaults, the
 * secrets the bindings name are bound to onTaskReady in the deploy manifest, and the secrets the
 * notify targets name to the two notifiers only.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..", "..");
const NOTIFIERS = ["onNotifyAlert", "onNotify"];

/** The functions as the deploy loads them, with this environment (a fresh module registry). */
function loadFunctions(env: Record<string, string>): { index: Record<string, { __endpoint: Record<string, unknown> }>; names: string[] } {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    let loaded: ReturnType<typeof loadFunctions> | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const index = require("../../../functions/src/index") as ReturnType<typeof loadFunctions>["index"];
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const params = require("firebase-functions/params") as { declaredParams: Array<{ name: string }> };
      loaded = { index, names: params.declaredParams.map((p) => p.name) };
    });
    return loaded!;
  } finally {
    process.env = saved;
  }
}

describe("deploy configuration (firebase-functions params)", () => {
  it("declares every setting as a param, each documented with its default in functions/.env.example", () => {
    const { names } = loadFunctions({});
    const example = readFileSync(join(ROOT, "functions", ".env.example"), "utf8");
    const documented = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    expect(names.sort()).toEqual(
      [
        "ORCHESTRATOR_ALLOW_UNVERIFIED_COMMANDS",
        "ORCHESTRATOR_AUTH_DOMAIN",
        "ORCHESTRATOR_EGRESS_ALLOW",
        "ORCHESTRATOR_NOTIFY_TARGETS",
        "ORCHESTRATOR_PUBLIC_STATUS",
        "ORCHESTRATOR_REGION",
        "ORCHESTRATOR_SECRET_BINDINGS",
        "ORCHESTRATOR_STATUS_PAGE_URL",
        "ORCHESTRATOR_WEB_API_KEY",
      ].sort(),
    );
    expect(documented.sort()).toEqual(names.sort());
  });

  it("binds the secrets the bindings name to onTaskReady only", () => {
    const { index, names } = loadFunctions({ ORCHESTRATOR_SECRET_BINDINGS: JSON.stringify({ SLACK_TOKEN: ["hooks.slack.com"], PAGER_KEY: ["events.pagerduty.com"] }) });
    expect(index.onTaskReady!.__endpoint.secretEnvironmentVariables).toEqual([{ key: "SLACK_TOKEN" }, { key: "PAGER_KEY" }]);
    const others = Object.entries(index).filter(([name, fn]) => name !== "onTaskReady" && !NOTIFIERS.includes(name) && "__endpoint" in (fn as object));
    expect(others.length).toBeGreaterThan(5);
    for (const [name, fn] of others) expect({ name, secrets: fn.__endpoint.secretEnvironmentVariables ?? [] }).toEqual({ name, secrets: [] });
    expect(names).toEqual(expect.arrayContaining(["SLACK_TOKEN", "PAGER_KEY"]));
  });

  it("binds the webhook secrets the notify targets name to the two notifiers only, each subscribed with retries and a ceiling", () => {
    const { index, names } = loadFunctions({
      ORCHESTRATOR_NOTIFY_TARGETS: "slack:SLACK_OPS_WEBHOOK,chat:CHAT_WEBHOOK,webhook:PAGER_WEBHOOK",
      ORCHESTRATOR_SECRET_BINDINGS: JSON.stringify({ SLACK_TOKEN: ["hooks.slack.com"] }),
    });
    const topics: Record<string, string> = { onNotifyAlert: "orchestrator-alerts", onNotify: "orchestrator-notifications" };
    for (const name of NOTIFIERS) {
      const endpoint = index[name]!.__endpoint as { secretEnvironmentVariables?: unknown; eventTrigger?: { eventFilters?: { topic?: string }; retry?: boolean }; maxInstances?: number };
      expect({ name, secrets: endpoint.secretEnvironmentVariables }).toEqual({ name, secrets: [{ key: "SLACK_OPS_WEBHOOK" }, { key: "CHAT_WEBHOOK" }, { key: "PAGER_WEBHOOK" }] });
      expect(endpoint.eventTrigger).toMatchObject({ retry: true });
      expect(String(endpoint.eventTrigger?.eventFilters?.topic)).toMatch(new RegExp(`${topics[name]}$`));
      expect(endpoint.maxInstances).toBeGreaterThan(0);
    }
    expect(index.onTaskReady!.__endpoint.secretEnvironmentVariables).toEqual([{ key: "SLACK_TOKEN" }]);
    for (const [name, fn] of Object.entries(index).filter(([n, fn]) => n !== "onTaskReady" && !NOTIFIERS.includes(n) && "__endpoint" in (fn as object))) {
      expect({ name, secrets: fn.__endpoint.secretEnvironmentVariables ?? [] }).toEqual({ name, secrets: [] });
    }
    expect(names).toEqual(expect.arrayContaining(["SLACK_OPS_WEBHOOK", "CHAT_WEBHOOK", "PAGER_WEBHOOK"]));
    expect(loadFunctions({}).index.onNotify!.__endpoint.secretEnvironmentVariables ?? []).toEqual([]);
  });

  it("fails the load on malformed notify targets, saying what is wrong", () => {
    expect(() => loadFunctions({ ORCHESTRATOR_NOTIFY_TARGETS: "teams:TEAMS_HOOK" })).toThrow(/ORCHESTRATOR_NOTIFY_TARGETS entry 1 \("teams:TEAMS_HOOK"\): unknown kind "teams"/);
  });

  it("binds no secret without bindings, and a malformed value fails the load with what is wrong", () => {
    expect(loadFunctions({}).index.onTaskReady!.__endpoint.secretEnvironmentVariables ?? []).toEqual([]);
    expect(() => loadFunctions({ ORCHESTRATOR_SECRET_BINDINGS: "{not json" })).toThrow(/ORCHESTRATOR_SECRET_BINDINGS is not JSON/);
  });

  it("reads a param's variable, and its declared default when unset", () => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const p = require("../../../functions/src/params") as typeof import("../../../functions/src/params");
      expect(p.paramValue(p.PUBLIC_STATUS, {})).toBe(true);
      expect(p.paramValue(p.PUBLIC_STATUS, { ORCHESTRATOR_PUBLIC_STATUS: "false" })).toBe(false);
      expect(p.paramValue(p.ALLOW_UNVERIFIED_COMMANDS, {})).toBe(false);
      expect(p.paramValue(p.REGION, {})).toBe("us-central1");
      expect(p.paramValue(p.REGION, { ORCHESTRATOR_REGION: "europe-west1" })).toBe("europe-west1");
      expect(p.paramValue(p.NOTIFY_TARGETS, {})).toBe("");
      expect(p.paramValue(p.STATUS_PAGE_URL, {})).toBe("");
    });
  });
});
