/**
 * Each integration of the `firebase` executor against the local control plane: creates what it
 * should, changes nothing on a second run, reports drift made behind its back, converges it, and
 * a rollback removes what it created (change-sets.ts covers the other starting states).
 */
import type { ControlPlaneState } from "../../../local/control-plane";
import { LOCKED_FIRESTORE_RULES, LOCKED_STORAGE_RULES } from "../../../functions/src/executors/firebase/rules";
import { errorOf, firebaseParams, outputOf, startHarness, type Harness } from "./harness";

const P = "lang-trak-dev";
const JOBS = `projects/${P}/locations/us-central1/jobs`;
const FIRESTORE_RELEASE = `projects/${P}/releases/cloud.firestore`;
const STORAGE_RELEASE = `projects/${P}/releases/firebase.storage/${P}.firebasestorage.app`;

/** Every resource name the control plane holds, by kind (auth configs only when a provider is on). */
function inventory(s: ControlPlaneState): Record<string, string[]> {
  const names = (r: Record<string, unknown>): string[] => Object.keys(r).sort();
  const enabledAuth = Object.entries(s.authConfigs)
    .filter(([, c]) => Object.values((c.signIn ?? {}) as Record<string, { enabled?: boolean }>).some((p) => p.enabled === true))
    .map(([name]) => name);
  return {
    schedulerJobs: names(s.schedulerJobs),
    uptimeCheckConfigs: names(s.uptimeCheckConfigs),
    alertPolicies: names(s.alertPolicies),
    topics: names(s.topics),
    subscriptions: names(s.subscriptions),
    rulesets: names(s.rulesets),
    rulesReleases: names(s.rulesReleases),
    hostingSites: names(s.hostingSites),
    hostingReleases: Object.entries(s.hostingReleases).flatMap(([, list]) => list.map((r) => String(r.name))),
    firestoreIndexes: names(s.firestoreIndexes),
    authConfigsEnabled: enabledAuth,
  };
}

const EMPTY = inventory({
  schedulerJobs: {}, uptimeCheckConfigs: {}, alertPolicies: {}, topics: {}, subscriptions: {}, rulesets: {}, rulesReleases: {},
  hostingSites: {}, hostingVersions: {}, hostingReleases: {}, firestoreIndexes: {}, authConfigs: {}, uptimeOutages: [],
});

const rulesSourceOf = (s: ControlPlaneState, release: string): string | undefined => {
  const rulesetName = s.rulesReleases[release]?.rulesetName as string | undefined;
  const files = (s.rulesets[rulesetName ?? ""]?.source as { files?: Array<{ content: string }> } | undefined)?.files;
  return files?.[0]?.content;
};

interface Case {
  integration: string;
  settings?: Record<string, unknown>;
  /** Integrations provisioned first (and compensated after). */
  setup?: string[];
  /** What provisioning leaves, as a subset of the inventory. */
  expect: Partial<Record<keyof typeof EMPTY, string[]>>;
  /** Changes the state behind the executor's back; the drift `verify` must report (field). */
  drift: (s: ControlPlaneState) => void;
  driftField: string;
}

const INDEX = { collectionGroup: "words", fields: [{ fieldPath: "lang", order: "ASCENDING" }, { fieldPath: "createdAt", order: "DESCENDING" }] };

const CASES: Case[] = [
  {
    integration: "authentication",
    settings: { providers: ["email", "anonymous"] },
    expect: { authConfigsEnabled: [`projects/${P}/config`] },
    drift: (s) => {
      (s.authConfigs[`projects/${P}/config`]!.signIn as Record<string, { enabled: boolean }>).anonymous!.enabled = false;
    },
    driftField: "signIn.anonymous.enabled",
  },
  {
    integration: "database",
    settings: { indexes: [INDEX], rules: LOCKED_FIRESTORE_RULES.replace("if false", "if request.auth != null") },
    expect: { rulesReleases: [FIRESTORE_RELEASE], rulesets: [`projects/${P}/rulesets/ruleset-000001`] },
    drift: (s) => {
      const rulesetName = s.rulesReleases[FIRESTORE_RELEASE]!.rulesetName as string;
      (s.rulesets[rulesetName]!.source as { files: Array<{ content: string }> }).files[0]!.content = LOCKED_FIRESTORE_RULES;
    },
    driftField: "source",
  },
  {
    integration: "storage",
    expect: { rulesReleases: [STORAGE_RELEASE] },
    // Someone deleted the rules entirely (release and ruleset).
    drift: (s) => {
      delete s.rulesets[s.rulesReleases[STORAGE_RELEASE]!.rulesetName as string];
      delete s.rulesReleases[STORAGE_RELEASE];
    },
    driftField: "(resource)",
  },
  {
    integration: "functions",
    expect: { topics: [`projects/${P}/topics/dev-events`], subscriptions: [`projects/${P}/subscriptions/dev-events-worker`] },
    drift: (s) => {
      s.subscriptions[`projects/${P}/subscriptions/dev-events-worker`]!.ackDeadlineSeconds = 10;
    },
    driftField: "ackDeadlineSeconds",
  },
  {
    integration: "hosting",
    settings: { config: { rewrites: [{ glob: "/api/**", function: "api" }] } },
    expect: { hostingSites: [`projects/${P}/sites/${P}`] },
    drift: (s) => {
      const latest = s.hostingReleases[`sites/${P}`]![0]!;
      (latest.version as { config: unknown }).config = { cleanUrls: false };
    },
    driftField: "config",
  },
  {
    integration: "monitoring",
    expect: { uptimeCheckConfigs: [`projects/${P}/uptimeCheckConfigs/orchestrator-dev-hosting-000001`], alertPolicies: [`projects/${P}/alertPolicies/policy-000002`] },
    drift: (s) => {
      const check = Object.values(s.uptimeCheckConfigs)[0]!;
      (check.httpCheck as { path: string }).path = "/changed";
    },
    driftField: "path",
  },
  {
    integration: "backup",
    settings: { schedule: "30 2 * * *", bucket: "lang-trak-backups" },
    expect: { schedulerJobs: [`${JOBS}/orchestrator-firestore-backup`] },
    drift: (s) => {
      s.schedulerJobs[`${JOBS}/orchestrator-firestore-backup`]!.schedule = "0 4 * * *";
    },
    driftField: "schedule",
  },
  {
    integration: "security",
    setup: ["database", "storage"],
    expect: { rulesReleases: [FIRESTORE_RELEASE, STORAGE_RELEASE] },
    drift: (s) => {
      const rulesetName = s.rulesReleases[FIRESTORE_RELEASE]!.rulesetName as string;
      (s.rulesets[rulesetName]!.source as { files: Array<{ content: string }> }).files[0]!.content = "service cloud.firestore { match /{d=**} { allow read, write: if true; } }";
    },
    driftField: "source",
  },
  {
    integration: "health",
    expect: { schedulerJobs: [`${JOBS}/orchestrator-health-run`], topics: [`projects/${P}/topics/orchestrator-health-runs`] },
    drift: (s) => {
      delete s.topics[`projects/${P}/topics/orchestrator-health-runs`];
    },
    driftField: "(resource)",
  },
];

describe.each(CASES)("firebase $integration", (c) => {
  let h: Harness;
  const params = (action = "provision"): Record<string, unknown> => firebaseParams(c.integration, { action, settings: c.settings ?? {} });

  beforeAll(async () => {
    h = await startHarness();
    for (const s of c.setup ?? []) outputOf(await h.executor.execute(firebaseParams(s), h.ctx()));
  });
  afterAll(async () => h.stop());

  it("creates what the integration needs and records desired and observed state", async () => {
    const out = outputOf(await h.executor.execute(params(), h.ctx()));
    expect(out.changed).toBe(true);
    expect(out.outputs?.integration).toBe(c.integration);
    const inv = inventory(h.cp.state());
    for (const [kind, names] of Object.entries(c.expect)) expect(inv[kind]).toEqual(expect.arrayContaining(names!));
    const recorded = h.records.filter((r) => r.integration === c.integration);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ envId: P, record: { action: "provision", drift: [] } });
    expect(recorded[0]!.record.desired).toBeDefined();
  });

  it("changes nothing when run again (idempotent)", async () => {
    const before = h.cp.state();
    h.cp.clearCalls();
    const out = outputOf(await h.executor.execute(params(), h.ctx()));
    expect(out.changed).toBe(false);
    expect(out.changeSet.every((ch) => ch.action === "noop")).toBe(true);
    expect(h.cp.state()).toEqual(before);
    // Reads only: no create, update or delete went out.
    expect(h.cp.calls().filter((call) => /Create|Update|Delete|POST|PATCH|DELETE/.test(call.method))).toEqual([]);
  });

  it("verifies in sync, then reports drift made behind its back, and provision converges it", async () => {
    const clean = await h.executor.verify!(params("verify"), h.ctx());
    expect(clean).toMatchObject({ ok: true, report: { inSync: true, drift: [] } });

    h.cp.edit(c.drift);
    const drifted = await h.executor.verify!(params("verify"), h.ctx());
    if (!drifted.ok) throw new Error(drifted.error.message);
    expect(drifted.report.inSync).toBe(false);
    expect(drifted.report.drift.map((d) => d.field)).toContain(c.driftField);

    const asTask = errorOf(await h.executor.execute(params("verify"), h.ctx()));
    expect(asTask).toMatchObject({ code: "drift", retryable: false });

    expect(outputOf(await h.executor.execute(params(), h.ctx())).changed).toBe(true);
    expect(await h.executor.verify!(params("verify"), h.ctx())).toMatchObject({ ok: true, report: { inSync: true } });
  });

  it("a rollback of a provision from nothing removes what it created, and a second rollback changes nothing", async () => {
    h.cp.reset();
    for (const s of c.setup ?? []) outputOf(await h.executor.execute(firebaseParams(s), h.ctx()));
    const ctx = (suffix: string) => h.ctx({ taskId: `${c.integration}-rollback`, idempotencyKey: `plan-1/${c.integration}-rollback/1${suffix}` });
    outputOf(await h.executor.execute(params(), ctx("")));
    const out = outputOf(await h.executor.compensate!(params(), ctx("/compensate"))) as unknown as { changed: boolean };
    expect(out.changed).toBe(true);
    const s = h.cp.state();
    if (c.integration === "security") {
      // Back to what database and storage had released: locked mode, on both services.
      expect(rulesSourceOf(s, FIRESTORE_RELEASE)).toBe(LOCKED_FIRESTORE_RULES);
      expect(rulesSourceOf(s, STORAGE_RELEASE)).toBe(LOCKED_STORAGE_RULES);
      expect(Object.keys(s.rulesets)).toHaveLength(2);
    } else {
      expect(inventory(s)).toEqual(EMPTY);
    }
    expect((outputOf(await h.executor.compensate!(params(), ctx("/compensate"))) as unknown as { changed: boolean }).changed).toBe(false);
  });
});
