/**
 * Change sets of `hosting`: a site (created if absent, never deleted when it was there before, a
 * DEFAULT site never deleted nor disabled) and its live release (a rollback re-releases the version
 * that was live before; someone else's release since is a conflict, left live).
 */
import type { ControlPlaneState } from "../../../local/control-plane";
import type { UndoOutcome } from "../../../functions/src/executors/firebase/change-set";
import { describeChangeSets, P } from "./change-sets";
import { errorOf, firebaseParams, outputOf, startHarness, type Harness } from "./harness";

const SITE = `projects/${P}/sites/${P}`;
/** The `hosting.release` resource (the site's live release), and where the control plane keeps the site's releases. */
const RELEASES = `sites/${P}/releases`;
const HISTORY = `sites/${P}`;
const THEIR_VERSION = `sites/${P}/versions/theirs-1`;
const THEIR_CONFIG = { cleanUrls: false, trailingSlashBehavior: "REMOVE", redirects: [{ glob: "/old", location: "/new", statusCode: 301 }] };
const CONFIG = { cleanUrls: true, trailingSlashBehavior: "ADD" };

/** A site someone else made, serving their version (seeded behind the executor's back). */
function seedSite(s: ControlPlaneState, type: "USER_SITE" | "DEFAULT_SITE", release: "deploy" | "disabled" | "none" = "deploy"): void {
  s.hostingSites[SITE] = { name: SITE, defaultUrl: `https://${P}.web.app`, appId: "", labels: { team: "web" }, type };
  const version = { name: THEIR_VERSION, status: "FINALIZED", config: THEIR_CONFIG, labels: { team: "web" }, createTime: "2024-01-01T00:00:00.000Z", finalizeTime: "2024-01-01T00:01:00.000Z" };
  s.hostingVersions[THEIR_VERSION] = version;
  const deployed = { name: `${RELEASES}/theirs-r1`, type: "DEPLOY", message: "their deploy", releaseTime: "2024-01-01T00:02:00.000Z", version: structuredClone(version) };
  if (release === "deploy") s.hostingReleases[HISTORY] = [deployed];
  if (release === "disabled") s.hostingReleases[HISTORY] = [{ name: `${RELEASES}/theirs-r2`, type: "SITE_DISABLE", message: "their disable", releaseTime: "2024-01-02T00:00:00.000Z" }, deployed];
}

/** Someone else releases a new version of their own on the site (newest first). */
function theyRelease(s: ControlPlaneState): void {
  const name = `sites/${P}/versions/someone-else`;
  const version = { name, status: "FINALIZED", config: { cleanUrls: false }, labels: {}, createTime: "2024-02-01T00:00:00.000Z" };
  s.hostingVersions[name] = version;
  (s.hostingReleases[HISTORY] ??= []).unshift({ name: `${RELEASES}/someone-else-r`, type: "DEPLOY", message: "hotfix", releaseTime: "2024-02-01T00:01:00.000Z", version: structuredClone(version) });
}

const liveOf = (s: ControlPlaneState): { name?: string; type?: string; version?: string } | undefined => {
  const r = s.hostingReleases[HISTORY]?.[0];
  return r === undefined ? undefined : { name: r.name as string, type: r.type as string, version: (r.version as { name?: string } | undefined)?.name };
};

describeChangeSets([
  {
    name: "hosting (a USER site serving another version)",
    integration: "hosting",
    settings: { config: CONFIG },
    different: (s) => seedSite(s, "USER_SITE"),
    expectDifferent: (changes) => {
      expect(changes.map((c) => [c.type, c.action])).toEqual([
        ["hosting.site", "noop"],
        ["hosting.release", "update"],
      ]);
      const release = changes.find((c) => c.type === "hosting.release")!;
      expect(release.fields).toEqual([{ field: "config", before: THEIR_CONFIG, after: CONFIG }]);
      expect(release.existed).toBe(true);
    },
    tamper: {
      edit: theyRelease,
      kept: (s) => s.hostingSites[SITE] !== undefined && liveOf(s)?.name === `${RELEASES}/someone-else-r`,
    },
  },
  {
    name: "hosting (the project's DEFAULT site, live)",
    integration: "hosting",
    settings: { config: { cleanUrls: true, trailingSlashBehavior: "REMOVE", headers: [{ glob: "**", headers: { "X-Frame-Options": "DENY" } }] } },
    different: (s) => seedSite(s, "DEFAULT_SITE"),
    expectDifferent: (changes) => {
      expect(changes.map((c) => [c.type, c.action])).toEqual([
        ["hosting.site", "noop"],
        ["hosting.release", "update"],
      ]);
    },
  },
]);

describe("hosting rollbacks never take a site down", () => {
  let h: Harness;
  let task = 0;
  const params = (): Record<string, unknown> => firebaseParams("hosting", { settings: { config: CONFIG } });
  const newTask = () => {
    const taskId = `hosting-rule-${++task}`;
    return {
      provision: async () => h.executor.execute(params(), h.ctx({ taskId, idempotencyKey: `plan-1/${taskId}/1` })),
      compensate: async () => h.executor.compensate!(params(), h.ctx({ taskId, idempotencyKey: `plan-1/${taskId}/1/compensate` })),
    };
  };
  const undone = (out: unknown): UndoOutcome[] => (out as { undone: UndoOutcome[] }).undone;
  const disables = (s: ControlPlaneState): number => (s.hostingReleases[HISTORY] ?? []).filter((r) => r.type === "SITE_DISABLE").length;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.stop());
  beforeEach(() => h.cp.reset());

  it("a live DEFAULT site: the rollback re-releases exactly its previous version, and never deletes or disables it", async () => {
    h.cp.edit((s) => seedSite(s, "DEFAULT_SITE"));
    const t = newTask();
    outputOf(await t.provision());
    expect(liveOf(h.cp.state())?.version).not.toBe(THEIR_VERSION);
    h.cp.clearCalls();
    const back = outputOf(await t.compensate());
    expect(undone(back)).toEqual([{ resource: RELEASES, result: "restored", detail: expect.stringContaining(THEIR_VERSION) }]);
    const s = h.cp.state();
    expect(liveOf(s)).toMatchObject({ type: "DEPLOY", version: THEIR_VERSION });
    expect((s.hostingReleases[HISTORY]![0]!.version as { config: unknown }).config).toEqual(THEIR_CONFIG);
    expect(s.hostingSites[SITE]).toMatchObject({ type: "DEFAULT_SITE" });
    expect(disables(s)).toBe(0);
    // One call: the release of their version (`POST .../releases?versionName=...`).
    expect(h.cp.calls().filter((c) => /^(POST|PATCH|DELETE) /.test(c.method)).map((c) => c.method)).toEqual([`POST /v1beta1/sites/${P}/releases`]);
  });

  it("a DEFAULT site with no release before is never disabled by a rollback", async () => {
    h.cp.edit((s) => seedSite(s, "DEFAULT_SITE", "none"));
    const t = newTask();
    const out = outputOf(await t.provision());
    expect(out.changeSet.map((c) => [c.type, c.action])).toEqual([
      ["hosting.site", "noop"],
      ["hosting.release", "create"],
    ]);
    const ours = liveOf(h.cp.state())!;
    const back = outputOf(await t.compensate());
    expect(undone(back)).toEqual([{ resource: RELEASES, result: "left", detail: expect.stringMatching(/DEFAULT site had no release before.*never disabled/) }]);
    const s = h.cp.state();
    expect(s.hostingSites[SITE]).toMatchObject({ type: "DEFAULT_SITE" });
    expect(disables(s)).toBe(0);
    expect(liveOf(s)).toEqual(ours);
  });

  it("a DEFAULT site that was disabled before is not disabled again, and keeps serving", async () => {
    h.cp.edit((s) => seedSite(s, "DEFAULT_SITE", "disabled"));
    const t = newTask();
    outputOf(await t.provision());
    h.cp.clearCalls();
    const back = outputOf(await t.compensate());
    expect(undone(back)[0]).toMatchObject({ resource: RELEASES, result: "left", detail: expect.stringMatching(/never disabled/) });
    expect(disables(h.cp.state())).toBe(1); // theirs, from before
    expect(liveOf(h.cp.state())?.type).toBe("DEPLOY");
    expect(h.cp.calls().filter((c) => /^(POST|PATCH|DELETE) /.test(c.method))).toEqual([]);
  });

  it("a USER site that was disabled before is disabled again", async () => {
    h.cp.edit((s) => seedSite(s, "USER_SITE", "disabled"));
    const t = newTask();
    const out = outputOf(await t.provision());
    expect(out.changeSet[1]).toMatchObject({ action: "update", fields: [{ field: "type", before: "SITE_DISABLE", after: "DEPLOY" }, { field: "config", before: null, after: CONFIG }] });
    const back = outputOf(await t.compensate());
    expect(undone(back)[0]).toMatchObject({ resource: RELEASES, result: "restored" });
    expect(liveOf(h.cp.state())?.type).toBe("SITE_DISABLE");
    expect(h.cp.state().hostingSites[SITE]).toBeDefined();
  });

  it("a USER site with no release before serves nothing again after the rollback (disabled), and is kept", async () => {
    h.cp.edit((s) => seedSite(s, "USER_SITE", "none"));
    const t = newTask();
    outputOf(await t.provision());
    const back = outputOf(await t.compensate());
    expect(undone(back)[0]).toMatchObject({ resource: RELEASES, result: "restored", detail: expect.stringMatching(/had no release before/) });
    expect(liveOf(h.cp.state())?.type).toBe("SITE_DISABLE");
    expect(h.cp.state().hostingSites[SITE]).toBeDefined();
  });

  it("after someone else's later release, a rollback is a conflict and their release stays live", async () => {
    h.cp.edit((s) => seedSite(s, "DEFAULT_SITE"));
    const t = newTask();
    outputOf(await t.provision());
    h.cp.edit(theyRelease);
    h.cp.clearCalls();
    const failure = errorOf(await t.compensate());
    expect(failure).toMatchObject({ code: "conflict", retryable: false });
    expect(failure.message).toContain(RELEASES);
    expect(failure.message).toContain("left as it is");
    const s = h.cp.state();
    expect(liveOf(s)).toMatchObject({ name: `${RELEASES}/someone-else-r`, version: `sites/${P}/versions/someone-else` });
    expect(s.hostingSites[SITE]).toMatchObject({ type: "DEFAULT_SITE" });
    expect(disables(s)).toBe(0);
    expect(h.cp.calls().filter((c) => /^(POST|PATCH|DELETE) /.test(c.method))).toEqual([]);
  });

  it("a site this plan created, serving someone else's release since, is not deleted", async () => {
    const t = newTask();
    outputOf(await t.provision());
    h.cp.edit(theyRelease);
    const failure = errorOf(await t.compensate());
    expect(failure).toMatchObject({ code: "conflict" });
    expect(failure.message).toContain(SITE);
    expect(h.cp.state().hostingSites[SITE]).toBeDefined();
    expect(liveOf(h.cp.state())?.name).toBe(`${RELEASES}/someone-else-r`);
  });

  it("a retried attempt that saw the first attempt's empty site: the rollback still deletes it", async () => {
    const taskId = `hosting-retry-${++task}`;
    // Attempt 1 creates the site and crashes before its version.
    h.cp.inject({ match: "POST /v1beta1/sites/", grpcCode: 13 });
    errorOf(await h.executor.execute(params(), h.ctx({ taskId, idempotencyKey: `plan-1/${taskId}/1` })));
    h.cp.clearFaults();
    // Attempt 2 finds the site and releases on it.
    const out = outputOf(await h.executor.execute(params(), h.ctx({ taskId, idempotencyKey: `plan-1/${taskId}/2` })));
    expect(out.changeSet.map((c) => [c.type, c.action])).toEqual([
      ["hosting.site", "noop"],
      ["hosting.release", "create"],
    ]);
    outputOf(await h.executor.compensate!(params(), h.ctx({ taskId, idempotencyKey: `plan-1/${taskId}/2/compensate` })));
    expect(h.cp.state().hostingSites).toEqual({});
  });
});
