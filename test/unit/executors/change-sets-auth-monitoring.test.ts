/**
 * Change sets of `authentication` (the project's Identity Toolkit config: fields of one resource
 * that always exists) and `monitoring` (an uptime check and the alert policy that names its id).
 */
import { isMutating, MUTATING_CALLS, type ControlPlaneState } from "../../../local/control-plane";
import type { AppliedChange } from "../../../functions/src/executors/types";
import { uptimeFilterFor } from "../../../functions/src/executors/firebase/monitoring";
import { describeChangeSets, P, type ChangeCase } from "./change-sets";
import { errorOf, firebaseParams, outputOf, startHarness, type Harness } from "./harness";

// ---- authentication ----

const AUTH = `projects/${P}/config`;

/** What the REST server's GET answers for a project nobody configured (rest-server.ts defaultAuthConfig). */
const defaultAuthConfig = (): Record<string, unknown> => ({
  name: AUTH,
  signIn: { email: { enabled: false, passwordRequired: true }, anonymous: { enabled: false }, phoneNumber: { enabled: false } },
  authorizedDomains: ["localhost", `${P}.firebaseapp.com`, `${P}.web.app`],
});

type SignIn = Record<string, { enabled?: boolean }>;
const signIn = (s: ControlPlaneState): SignIn => (s.authConfigs[AUTH]?.signIn ?? {}) as SignIn;

const authCase: ChangeCase = {
  alwaysExists: true,
  name: "authentication (the project's auth config)",
  integration: "authentication",
  settings: { providers: ["email", "anonymous"], authorizedDomains: ["app.example.com"] },
  // The config always exists (GET answers the default); stored, so a rollback that PATCHes it back compares equal.
  setup: (h) => h.cp.edit((s) => void (s.authConfigs[AUTH] = defaultAuthConfig())),
  different: (s) => {
    signIn(s).email!.enabled = true;
  },
  expectDifferent: (changes) => {
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ type: "auth.config", action: "update", resource: AUTH });
    // Email is on already: not a change, so a rollback leaves it on.
    expect(changes[0]!.fields).toEqual([
      { field: "signIn.anonymous.enabled", before: false, after: true },
      { field: "authorizedDomains", before: ["localhost", `${P}.firebaseapp.com`, `${P}.web.app`], after: ["localhost", `${P}.firebaseapp.com`, `${P}.web.app`, "app.example.com"] },
    ]);
  },
  tamper: {
    edit: (s) => {
      signIn(s).email!.enabled = false;
    },
    kept: (s) => signIn(s).email?.enabled === false && signIn(s).anonymous?.enabled === true,
  },
};

const mutations = (h: Harness): string[] => h.cp.calls().filter(isMutating).map((c) => c.method);

describeChangeSets([authCase]);

// ---- monitoring ----

const CHECKS = `projects/${P}/uptimeCheckConfigs`;
const POLICIES = `projects/${P}/alertPolicies`;
const THEIR_CHECK = `${CHECKS}/their-hosting-check`;
const THEIR_POLICY = `${POLICIES}/their-uptime-policy`;
const ONCALL = `projects/${P}/notificationChannels/oncall`;

/** An uptime check as the gRPC server stores it (decoded with longs and enums as strings, no defaults). */
const storedCheck = (name: string, host: string, path: string, periodSeconds: string): Record<string, unknown> => ({
  name,
  displayName: "orchestrator/dev/hosting",
  monitoredResource: { type: "uptime_url", labels: { project_id: P, host } },
  httpCheck: { path, port: 443, useSsl: true, validateSsl: true, requestMethod: "GET", headers: { "x-probe": "1" } },
  period: { seconds: periodSeconds },
  timeout: { seconds: "10" },
  checkerType: "STATIC_IP_CHECKERS",
});

const storedPolicy = (name: string, checkId: string, channels: string[]): Record<string, unknown> => ({
  name,
  displayName: "orchestrator/dev/uptime",
  combiner: "OR",
  conditions: [
    {
      displayName: `Uptime check ${checkId} failing`,
      conditionThreshold: {
        filter: uptimeFilterFor(checkId),
        comparison: "COMPARISON_GT",
        thresholdValue: 1,
        duration: { seconds: "60" },
        trigger: { count: 1 },
        aggregations: [{ alignmentPeriod: { seconds: "1200" }, perSeriesAligner: "ALIGN_NEXT_OLDER", crossSeriesReducer: "REDUCE_COUNT_FALSE", groupByFields: ["resource.label.*"] }],
      },
    },
  ],
  notificationChannels: channels,
  enabled: { value: true },
  userLabels: { team: "sre" },
  creationRecord: { mutateTime: { seconds: "1700000000", nanos: 0 }, mutatedBy: "someone@example.com" },
  mutationRecord: { mutateTime: { seconds: "1700000000", nanos: 0 }, mutatedBy: "someone@example.com" },
});

const policyNamed = (s: ControlPlaneState, displayName = "orchestrator/dev/uptime"): Record<string, unknown> | undefined =>
  Object.values(s.alertPolicies).find((a) => a.displayName === displayName);
const filterOf = (a: Record<string, unknown> | undefined): string | undefined =>
  ((a?.conditions as Array<{ conditionThreshold?: { filter?: string } }> | undefined)?.[0]?.conditionThreshold?.filter);

const monitoringCase: ChangeCase = {
  name: "monitoring (an uptime check and its alert policy)",
  integration: "monitoring",
  settings: {},
  different: (s) => {
    s.uptimeCheckConfigs[THEIR_CHECK] = storedCheck(THEIR_CHECK, `${P}.web.app`, "/status", "300");
    s.alertPolicies[THEIR_POLICY] = storedPolicy(THEIR_POLICY, "their-hosting-check", [ONCALL]);
  },
  expectDifferent: (changes: AppliedChange[]) => {
    expect(changes.map((c) => [c.type, c.action, c.resource])).toEqual([
      ["monitoring.uptimeCheck", "update", THEIR_CHECK],
      ["monitoring.alertPolicy", "update", THEIR_POLICY],
    ]);
    expect(changes[0]!.fields).toEqual([
      { field: "path", before: "/status", after: "/" },
      { field: "periodSeconds", before: 300, after: 60 },
    ]);
    expect(changes[1]!.fields).toEqual([{ field: "notificationChannels", before: [ONCALL], after: [] }]);
  },
  tamper: {
    edit: (s) => {
      const policy = policyNamed(s)!;
      policy.notificationChannels = [ONCALL];
      policy.mutationRecord = { mutateTime: { seconds: "1", nanos: 0 }, mutatedBy: "someone@example.com" };
    },
    // The policy keeps their channel, and the check it uses stays (it cannot go while the policy uses it).
    kept: (s) => {
      const policy = policyNamed(s);
      const checkId = /check_id="([^"]+)"/.exec(filterOf(policy) ?? "")?.[1];
      return (policy?.notificationChannels as string[] | undefined)?.[0] === ONCALL && s.uptimeCheckConfigs[`${CHECKS}/${checkId}`] !== undefined;
    },
  },
};

describeChangeSets([monitoringCase]);

describe("monitoring change sets: ids the server assigns", () => {
  let h: Harness;
  let task = 0;
  const newTask = (settings: Record<string, unknown> = {}) => {
    const taskId = `monitoring-ids-${++task}`;
    const params = firebaseParams("monitoring", { settings });
    return {
      provision: async () => h.executor.execute(params, h.ctx({ taskId, idempotencyKey: `plan-1/${taskId}/1` })),
      compensate: async () => h.executor.compensate!(params, h.ctx({ taskId, idempotencyKey: `plan-1/${taskId}/1/compensate` })),
    };
  };

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.stop());
  beforeEach(() => h.cp.reset());

  it("a policy created with its check names the id the server gave the check", async () => {
    const out = outputOf(await newTask().provision());
    expect(out.changeSet.map((c) => [c.type, c.action])).toEqual([
      ["monitoring.uptimeCheck", "create"],
      ["monitoring.alertPolicy", "create"],
    ]);
    const s = h.cp.state();
    const [check] = Object.values(s.uptimeCheckConfigs);
    const checkId = String(check!.name).split("/").pop()!;
    expect(filterOf(policyNamed(s))).toBe(uptimeFilterFor(checkId));
    expect(out.outputs).toEqual({ integration: "monitoring", uptimeCheckName: check!.name, uptimeCheckId: checkId, alertPolicyName: policyNamed(s)!.name });
  });

  it("a new host replaces the check; the rollback re-creates the old one under a new id, and the policy follows it", async () => {
    h.cp.edit((s) => {
      s.uptimeCheckConfigs[THEIR_CHECK] = storedCheck(THEIR_CHECK, "old.example.com", "/", "60");
      s.alertPolicies[THEIR_POLICY] = storedPolicy(THEIR_POLICY, "their-hosting-check", []);
    });
    const t = newTask({ host: "new.example.com" });
    const out = outputOf(await t.provision());
    expect(out.changeSet.map((c) => [c.type, c.action])).toEqual([
      ["monitoring.uptimeCheck", "replace"],
      ["monitoring.alertPolicy", "update"],
    ]);
    expect(out.changeSet[0]!.fields).toEqual([{ field: "host", before: "old.example.com", after: "new.example.com" }]);
    let s = h.cp.state();
    expect(Object.keys(s.uptimeCheckConfigs)).toHaveLength(1);
    const [created] = Object.values(s.uptimeCheckConfigs);
    expect((created!.monitoredResource as { labels: { host: string } }).labels.host).toBe("new.example.com");
    expect(filterOf(s.alertPolicies[THEIR_POLICY])).toBe(uptimeFilterFor(String(created!.name).split("/").pop()!));

    const undone = outputOf(await t.compensate()) as unknown as { undone: Array<{ resource: string; result: string; detail?: string }> };
    s = h.cp.state();
    const checks = Object.values(s.uptimeCheckConfigs);
    expect(checks).toHaveLength(1);
    const back = checks[0]!;
    // The old configuration, under a new id (Monitoring never reuses a deleted check's id).
    expect(back.name).not.toBe(THEIR_CHECK);
    const { name: _backName, ...backConfig } = back;
    const { name: _oldName, ...oldConfig } = storedCheck(THEIR_CHECK, "old.example.com", "/", "60");
    expect(backConfig).toEqual(oldConfig);
    expect(filterOf(s.alertPolicies[THEIR_POLICY])).toBe(uptimeFilterFor(String(back.name).split("/").pop()!));
    expect(undone.undone.find((u) => u.resource === THEIR_CHECK)).toMatchObject({ result: "restored", detail: expect.stringContaining(`re-created as ${String(back.name)}`) });
  });

  it("a crash inside a replace (after each of its calls), then rollback, leaves the old configuration and a policy that uses it", async () => {
    const seed = (s: ControlPlaneState) => {
      s.uptimeCheckConfigs[THEIR_CHECK] = storedCheck(THEIR_CHECK, "old.example.com", "/", "60");
      s.alertPolicies[THEIR_POLICY] = storedPolicy(THEIR_POLICY, "their-hosting-check", []);
    };
    h.cp.edit(seed);
    h.cp.clearCalls();
    outputOf(await newTask({ host: "new.example.com" }).provision());
    const calls = mutations(h).length;
    expect(calls).toBe(4); // create the new check, repoint the policy, delete the old check, update the policy
    for (let k = 0; k < calls; k++) {
      h.cp.reset();
      h.cp.edit(seed);
      h.cp.inject({ match: MUTATING_CALLS, skip: k, after: true, grpcCode: 13, message: `crash after mutating call ${k + 1}` });
      const t = newTask({ host: "new.example.com" });
      errorOf(await t.provision());
      h.cp.clearFaults();
      outputOf(await t.compensate());
      const s = h.cp.state();
      const checks = Object.values(s.uptimeCheckConfigs);
      expect({ k, hosts: checks.map((c) => (c.monitoredResource as { labels: { host: string } }).labels.host) }).toEqual({ k, hosts: ["old.example.com"] });
      expect({ k, filter: filterOf(s.alertPolicies[THEIR_POLICY]) }).toEqual({ k, filter: uptimeFilterFor(String(checks[0]!.name).split("/").pop()!) });
    }
  });
});
