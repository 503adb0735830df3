/** Egress configuration: the allow-list and secret bindings from the environment, and the planner's binding check. */
import {
  egressConfigFrom,
  egressPolicyFrom,
  parseEgressAllow,
  parseSecretBindings,
  secretBindingErrors,
  type BindingTask,
} from "../../../functions/src/egress/config";
import { checkAddress } from "../../../functions/src/egress/policy";

describe("ORCHESTRATOR_EGRESS_ALLOW", () => {
  it.each([
    [undefined, []],
    ["", []],
    ["127.0.0.0/8,::1", ["127.0.0.0/8", "::1"]],
    [" 10.1.2.0/24 , internal.example.com ,, ", ["10.1.2.0/24", "internal.example.com"]],
    ['["127.0.0.0/8", "*.corp.example"]', ["127.0.0.0/8", "*.corp.example"]],
  ])("%j is %j", (raw, entries) => {
    expect(parseEgressAllow(raw)).toEqual(entries);
  });

  it("refuses a malformed JSON array and invalid entries, naming the variable", () => {
    expect(() => parseEgressAllow('["a", 1]')).toThrow("ORCHESTRATOR_EGRESS_ALLOW");
    expect(() => parseEgressAllow("[oops")).toThrow("ORCHESTRATOR_EGRESS_ALLOW");
    expect(() => egressPolicyFrom("10.0.0.0/99")).toThrow(/ORCHESTRATOR_EGRESS_ALLOW: "10.0.0.0\/99"/);
  });

  it("the local stack's value allows loopback and nothing else private", () => {
    const policy = egressPolicyFrom("127.0.0.0/8,::1");
    expect(checkAddress(policy, "127.0.0.1").allowed).toBe(true);
    expect(checkAddress(policy, "::1").allowed).toBe(true);
    expect(checkAddress(policy, "10.0.0.1").allowed).toBe(false);
    expect(checkAddress(policy, "169.254.169.254").allowed).toBe(false);
  });
});

describe("ORCHESTRATOR_SECRET_BINDINGS", () => {
  it("parses secret → hosts", () => {
    expect(parseSecretBindings('{"SLACK_TOKEN": ["hooks.slack.com"], "API_KEY": ["*.example.com", "api.example.org"]}')).toEqual({
      SLACK_TOKEN: ["hooks.slack.com"],
      API_KEY: ["*.example.com", "api.example.org"],
    });
    expect(parseSecretBindings(undefined)).toEqual({});
    expect(parseSecretBindings("  ")).toEqual({});
  });

  it.each(['["hooks.slack.com"]', '{"slack_token": ["hooks.slack.com"]}', '{"SLACK_TOKEN": "hooks.slack.com"}', '{"SLACK_TOKEN": ["https://hooks.slack.com/x"]}', "{nope"])(
    "refuses %s",
    (raw) => {
      expect(() => parseSecretBindings(raw)).toThrow("ORCHESTRATOR_SECRET_BINDINGS");
    },
  );

  it("egressConfigFrom reads both variables", () => {
    const config = egressConfigFrom({ ORCHESTRATOR_EGRESS_ALLOW: "10.0.0.0/8", ORCHESTRATOR_SECRET_BINDINGS: '{"A": ["a.example"]}' });
    expect(checkAddress(config.policy, "10.1.1.1").allowed).toBe(true);
    expect(config.secretBindings).toEqual({ A: ["a.example"] });
  });
});

describe("secretBindingErrors", () => {
  const bindings = { SLACK_TOKEN: ["hooks.slack.com"], API_KEY: ["*.example.com"] };
  const http = (id: string, url: string, headersFromSecrets: Record<string, string>): BindingTask => ({ id, run: "http", params: { url, headersFromSecrets } });

  it("accepts secrets sent to their bound hosts", () => {
    const tasks = [
      http("a", "https://hooks.slack.com/services/x", { Authorization: "SLACK_TOKEN" }),
      http("b", "https://api.example.com/v1", { "X-Api-Key": "API_KEY" }),
      http("c", "https://HOOKS.slack.com./services/x", { Authorization: "SLACK_TOKEN" }),
      { id: "d", run: "noop", params: {} },
      http("e", "https://anywhere.example.org/", {}),
    ];
    expect(secretBindingErrors(tasks, bindings)).toEqual([]);
  });

  it("names each unbound secret and each host a secret may not go to, by task index", () => {
    const tasks: BindingTask[] = [
      { id: "first", run: "noop", params: {} },
      http("leak", "https://other.example.org/hook", { Authorization: "SLACK_TOKEN", "X-Other": "UNBOUND" }),
      http("apex", "https://example.com/", { "X-Api-Key": "API_KEY" }),
      {
        id: "undo",
        run: "noop",
        params: {},
        compensate: { run: "http", params: { url: "https://evil.example.net/", headersFromSecrets: { Authorization: "SLACK_TOKEN" } } },
      },
    ];
    expect(secretBindingErrors(tasks, bindings)).toEqual([
      { path: "tasks.1.params.headersFromSecrets.Authorization", message: "secret SLACK_TOKEN may only be sent to hooks.slack.com, not to other.example.org" },
      {
        path: "tasks.1.params.headersFromSecrets.X-Other",
        message: 'secret UNBOUND is not bound to any host: add it to ORCHESTRATOR_SECRET_BINDINGS, e.g. {"UNBOUND": ["other.example.org"]}',
      },
      { path: "tasks.2.params.headersFromSecrets.X-Api-Key", message: "secret API_KEY may only be sent to *.example.com, not to example.com" },
      { path: "tasks.3.compensate.params.headersFromSecrets.Authorization", message: "secret SLACK_TOKEN may only be sent to hooks.slack.com, not to evil.example.net" },
    ]);
  });

  it("with no bindings, every secret is an error", () => {
    expect(secretBindingErrors([http("a", "https://hooks.slack.com/", { Authorization: "SLACK_TOKEN" })], {})).toHaveLength(1);
  });

  it("does not mistake inherited object keys for bindings", () => {
    expect(secretBindingErrors([http("a", "https://hooks.slack.com/", { Authorization: "constructor" })], {})).toHaveLength(1);
  });

  it("still reports an unbound secret when the URL is invalid (the schema reports the URL)", () => {
    const errors = secretBindingErrors([http("a", "not a url", { Authorization: "UNBOUND" }), http("b", "not a url", { Authorization: "SLACK_TOKEN" })], bindings);
    expect(errors.map((e) => e.path)).toEqual(["tasks.0.params.headersFromSecrets.Authorization"]);
  });
});
