/**
 * The demo plan's three environments provisioned end to end through the executor,
 * the control plane's exact final state asserted, a second pass makes no mutating call, then
 * everything rolled back in reverse order leaves the control plane as it was before.
 */
import { isMutating, type ControlPlaneState } from "../../../local/control-plane";
import { HARDENED_FIRESTORE_RULES, HARDENED_STORAGE_RULES, LOCKED_FIRESTORE_RULES, LOCKED_STORAGE_RULES } from "../../../functions/src/executors/firebase/rules";
import { firebaseParams, outputOf, startHarness, type Harness } from "./harness";

const ENVIRONMENTS = [
  { environment: "dev", projectId: "lang-trak-dev", integrations: ["authentication", "database", "storage", "functions", "hosting"] },
  { environment: "staging", projectId: "lang-trak-staging", integrations: ["authentication", "database", "storage", "functions", "hosting", "monitoring"] },
  { environment: "production", projectId: "lang-trak-prod", integrations: ["authentication", "database", "storage", "functions", "hosting", "monitoring", "backup", "security"] },
].map((e) => ({ ...e, integrations: [...e.integrations, "health"] }));

const WORDS_INDEX = { collectionGroup: "words", fields: [{ fieldPath: "lang", order: "ASCENDING" }, { fieldPath: "createdAt", order: "DESCENDING" }] };
const settingsFor = (integration: string): Record<string, unknown> => (integration === "database" ? { indexes: [WORDS_INDEX] } : {});

const TASKS = ENVIRONMENTS.flatMap((e) =>
  e.integrations.map((integration) => firebaseParams(integration, { environment: e.environment, projectId: e.projectId, settings: settingsFor(integration) })),
);

/** The first pass's task of an integration: its rollback shares the task's journal. */
const taskIdOf = (params: Record<string, unknown>): string => `${String(params.projectId)}.${String(params.integration)}`;

const sorted = (r: Record<string, unknown>): string[] => Object.keys(r).sort();
const sourceOf = (s: ControlPlaneState, release: string): string | undefined =>
  ((s.rulesets[String(s.rulesReleases[release]?.rulesetName)]?.source as { files?: Array<{ content: string }> } | undefined)?.files ?? [])[0]?.content;

describe("lang-trak dev, staging and production", () => {
  let h: Harness;
  const ctxOf = (params: Record<string, unknown>, suffix = "") => h.ctx({ taskId: taskIdOf(params), idempotencyKey: `plan-1/${taskIdOf(params)}/1${suffix}` });
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.stop());

  it("provisions every integration of the three environments into exactly the expected state", async () => {
    for (const params of TASKS) outputOf(await h.executor.execute(params, ctxOf(params)));
    const s = h.cp.state();

    expect(sorted(s.schedulerJobs)).toEqual([
      "projects/lang-trak-dev/locations/us-central1/jobs/orchestrator-health-run",
      "projects/lang-trak-prod/locations/us-central1/jobs/orchestrator-firestore-backup",
      "projects/lang-trak-prod/locations/us-central1/jobs/orchestrator-health-run",
      "projects/lang-trak-staging/locations/us-central1/jobs/orchestrator-health-run",
    ]);
    const backup = s.schedulerJobs["projects/lang-trak-prod/locations/us-central1/jobs/orchestrator-firestore-backup"]!;
    expect(backup).toMatchObject({ schedule: "0 3 * * *", timeZone: "Etc/UTC", state: "ENABLED", httpTarget: { httpMethod: "POST", uri: "https://firestore.googleapis.com/v1/projects/lang-trak-prod/databases/(default):exportDocuments" } });
    expect(JSON.parse(Buffer.from(String((backup.httpTarget as { body: string }).body), "base64").toString())).toEqual({ outputUriPrefix: "gs://lang-trak-prod-backups/firestore", collectionIds: [] });
    expect(backup.userUpdateTime).toEqual({ seconds: expect.stringMatching(/^\d+$/), nanos: expect.any(Number) });

    expect(sorted(s.topics)).toEqual([
      "projects/lang-trak-dev/topics/dev-events",
      "projects/lang-trak-dev/topics/orchestrator-health-runs",
      "projects/lang-trak-prod/topics/orchestrator-health-runs",
      "projects/lang-trak-prod/topics/production-events",
      "projects/lang-trak-staging/topics/orchestrator-health-runs",
      "projects/lang-trak-staging/topics/staging-events",
    ]);
    expect(sorted(s.subscriptions)).toEqual([
      "projects/lang-trak-dev/subscriptions/dev-events-worker",
      "projects/lang-trak-prod/subscriptions/production-events-worker",
      "projects/lang-trak-staging/subscriptions/staging-events-worker",
    ]);

    const checks = Object.values(s.uptimeCheckConfigs).map((c) => ({ displayName: c.displayName, host: (c.monitoredResource as { labels: { host: string } }).labels.host }));
    expect(checks.sort((a, b) => String(a.displayName).localeCompare(String(b.displayName)))).toEqual([
      { displayName: "orchestrator/production/hosting", host: "lang-trak-prod.web.app" },
      { displayName: "orchestrator/staging/hosting", host: "lang-trak-staging.web.app" },
    ]);
    const policies = Object.values(s.alertPolicies);
    expect(policies.map((p) => p.displayName).sort()).toEqual(["orchestrator/production/uptime", "orchestrator/staging/uptime"]);
    for (const policy of policies) {
      const project = String(policy.name).split("/")[1];
      const check = Object.keys(s.uptimeCheckConfigs).find((n) => n.startsWith(`projects/${project}/`))!;
      expect(JSON.stringify(policy.conditions)).toContain(`check_id=\\"${check.split("/").pop()}\\"`);
    }

    const projects = ["lang-trak-dev", "lang-trak-prod", "lang-trak-staging"];
    expect(sorted(s.rulesReleases)).toEqual(projects.flatMap((p) => [`projects/${p}/releases/cloud.firestore`, `projects/${p}/releases/firebase.storage/${p}.firebasestorage.app`]));
    // One ruleset per release, and in production the two locked ones security replaced: a rollback re-releases them.
    expect(Object.keys(s.rulesets)).toHaveLength(8);
    for (const p of ["lang-trak-dev", "lang-trak-staging"]) {
      expect(sourceOf(s, `projects/${p}/releases/cloud.firestore`)).toBe(LOCKED_FIRESTORE_RULES);
      expect(sourceOf(s, `projects/${p}/releases/firebase.storage/${p}.firebasestorage.app`)).toBe(LOCKED_STORAGE_RULES);
    }
    expect(sourceOf(s, "projects/lang-trak-prod/releases/cloud.firestore")).toBe(HARDENED_FIRESTORE_RULES);
    expect(sourceOf(s, "projects/lang-trak-prod/releases/firebase.storage/lang-trak-prod.firebasestorage.app")).toBe(HARDENED_STORAGE_RULES);

    expect(sorted(s.firestoreIndexes).map((n) => n.replace(/idx-[0-9a-f]+$/, "idx"))).toEqual(projects.map((p) => `projects/${p}/databases/(default)/collectionGroups/words/indexes/idx`));
    expect(sorted(s.hostingSites)).toEqual(projects.map((p) => `projects/${p}/sites/${p}`));
    for (const p of projects) expect(s.hostingReleases[`sites/${p}`]).toHaveLength(1);
    expect(sorted(s.authConfigs)).toEqual(projects.map((p) => `projects/${p}/config`));
    for (const config of Object.values(s.authConfigs)) expect(config.signIn).toMatchObject({ email: { enabled: true }, anonymous: { enabled: false } });

    // One state record per environment and integration, at environments/{projectId}.
    expect(h.records.map((r) => `${r.envId}:${r.integration}`).sort()).toEqual(TASKS.map((t) => `${String(t.projectId)}:${String(t.integration)}`).sort());
  });

  it("a second pass over the whole plan changes nothing", async () => {
    const before = h.cp.state();
    h.cp.clearCalls();
    for (const params of TASKS) expect(outputOf(await h.executor.execute(params, h.ctx())).changed).toBe(false);
    expect(h.cp.calls().filter(isMutating)).toEqual([]);
    expect(h.cp.state()).toEqual(before);
  });

  it("every environment verifies in sync", async () => {
    for (const params of TASKS) {
      const v = await h.executor.verify!({ ...params, action: "verify" }, h.ctx());
      expect(v).toMatchObject({ ok: true, report: { inSync: true } });
    }
  });

  it("compensating everything in reverse order leaves nothing behind", async () => {
    for (const params of [...TASKS].reverse()) expect(outputOf(await h.executor.compensate!(params, ctxOf(params, "/compensate"))).changed).toBe(true);
    const s = h.cp.state();
    expect({ ...s, authConfigs: {} }).toEqual({
      schedulerJobs: {}, uptimeCheckConfigs: {}, alertPolicies: {}, topics: {}, subscriptions: {}, rulesets: {}, rulesReleases: {},
      hostingSites: {}, hostingVersions: {}, hostingReleases: {}, firestoreIndexes: {}, authConfigs: {}, uptimeOutages: [],
    });
    for (const config of Object.values(s.authConfigs)) expect(config.signIn).toMatchObject({ email: { enabled: false }, anonymous: { enabled: false }, phoneNumber: { enabled: false } });
  });
});
