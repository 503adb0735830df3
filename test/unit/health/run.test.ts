import { startControlPlane, type ControlPlane } from "../../../local/control-plane";
import { MemoryHealthStore } from "../../../functions/src/health/memory-store";
import { performHealthRun, scheduledRunId, type RunDeps } from "../../../functions/src/health/run";
import type { HealthReport } from "../../../functions/src/schema/health";
import { healthReportSchema } from "../../../functions/src/schema/health";
import { environmentInput, movableClock, provisionInControlPlane, TEST_CONFIG, wire, type Wiring } from "./support";

const PROD = "lang-trak-prod";
const PROD_INTEGRATIONS = ["hosting", "functions", "database", "backup", "monitoring"];
const FIVE_MIN = 300_000;

let cp: ControlPlane;
// The control plane keeps the test's time (outages start "now", Monitoring points are laid out on
// it): on the real clock, an outage started after the test clock's fixed start would lie in the
// probe's future and never be seen.
let clockNow: () => number = Date.now;
beforeAll(async () => {
  cp = await startControlPlane({ now: () => clockNow() });
});
afterAll(async () => {
  await cp.stop();
});
beforeEach(() => cp.reset());

function setup(envs = [environmentInput(PROD, "production", PROD_INTEGRATIONS)]) {
  for (const e of envs) provisionInControlPlane(cp, e.id, Object.keys(e.integrations));
  const clock = movableClock();
  clockNow = clock.now;
  const store = new MemoryHealthStore(envs);
  const w: Wiring = wire(cp, clock.now);
  const deps: RunDeps = { store, probes: w.probes, publishAlerts: w.publishAlerts, now: clock.now, config: TEST_CONFIG };
  let n = 0;
  const run = async (): Promise<HealthReport> => {
    const outcome = await performHealthRun(deps, { runId: scheduledRunId(clock.now()), trigger: "schedule", requestedBy: null });
    if (outcome.kind !== "done") throw new Error(`run skipped: ${outcome.reason}`);
    clock.advance(FIVE_MIN);
    n += 1;
    return outcome.report;
  };
  return { store, clock, w, deps, run, runs: () => n };
}

const check = (r: HealthReport, id: string) => r.environments.flatMap((e) => e.checks).find((c) => c.id === id)!;

describe("health run against local servers", () => {
  it("reports a healthy environment: every check ok, available, goal met, report valid", async () => {
    const { run, w } = setup();
    const r = await run();
    expect(healthReportSchema.parse(r)).toEqual(r);
    const env = r.environments[0]!;
    expect(env.checks.map((c) => `${c.id}=${c.status}`)).toEqual([
      `${PROD}/backup/scheduler=ok`,
      `${PROD}/database/firestore=ok`,
      `${PROD}/functions/http=ok`,
      `${PROD}/hosting/http=ok`,
      `${PROD}/monitoring/uptime=ok`,
    ]);
    expect(env.availability).toBe("up");
    expect(check(r, `${PROD}/hosting/http`).httpStatus).toBe(200);
    expect(r.goals[0]).toMatchObject({ goalId: "high_availability", status: "met", observedMinutes: 5, downtimeMinutes: 0, uptimePercent: 100 });
    expect(r.compliance.every((c) => c.status === "pass")).toBe(true);
    expect(r.compliance.map((c) => c.id).sort()).toEqual(["approvals", "budget", "dataResidency", "requiredIntegrations:high_availability"]);
    expect(w.published).toEqual([]);
  });

  it("tells slow (degraded), 503 (down), hanging (timeout) and unknown hosts (404, down) apart", async () => {
    const { run } = setup();
    cp.chaos({ environment: PROD, integration: "hosting", mode: "slow", latencyMs: 1_200 });
    cp.chaos({ environment: PROD, integration: "functions", mode: "down" });
    let r = await run();
    expect(check(r, `${PROD}/hosting/http`)).toMatchObject({ status: "degraded" });
    expect(check(r, `${PROD}/functions/http`)).toMatchObject({ status: "down", httpStatus: 503 });
    expect(r.environments[0]!.availability).toBe("down");

    cp.chaos({ environment: PROD, integration: "hosting", mode: "hang" });
    cp.chaos({ environment: PROD, integration: "functions", mode: "up" });
    r = await run();
    expect(check(r, `${PROD}/hosting/http`)).toMatchObject({ status: "timeout", latencyMs: TEST_CONFIG.checkTimeoutMs });
    expect(check(r, `${PROD}/functions/http`).status).toBe("ok");
    expect(r.durationMs).toBeLessThan(TEST_CONFIG.checkTimeoutMs + 1_500);

    cp.edit((s) => {
      delete s.hostingSites[`projects/${PROD}/sites/${PROD}`];
    });
    r = await run();
    expect(check(r, `${PROD}/hosting/http`)).toMatchObject({ status: "down", httpStatus: 404 });
  });

  it("sees Monitoring uptime failures and a failed Scheduler backup through the official clients", async () => {
    const { run, clock } = setup();
    cp.chaos({ environment: PROD, integration: "monitoring", mode: "down" });
    cp.chaos({ environment: PROD, integration: "backup", mode: "down" });
    // An outage that starts now has no failed uptime point yet: let a few check periods pass.
    clock.advance(FIVE_MIN);
    const r = await run();
    expect(check(r, `${PROD}/monitoring/uptime`).status).toBe("down");
    expect(check(r, `${PROD}/backup/scheduler`)).toMatchObject({ status: "down" });
    expect(check(r, `${PROD}/backup/scheduler`).message).toContain("last attempt failed");
  });

  it("opens an alert once after 3 failing runs, burns the error budget, and resolves once after 2 healthy runs", async () => {
    const { run, w, store } = setup();
    cp.chaos({ environment: PROD, integration: "hosting", mode: "down" });
    const reports: HealthReport[] = [];
    for (let i = 0; i < 5; i++) reports.push(await run());
    cp.chaos({ environment: PROD, integration: "hosting", mode: "up" });
    for (let i = 0; i < 4; i++) reports.push(await run());

    const hostingAlerts = [...store.alerts.values()].filter((a) => a.key === `check:${PROD}/hosting/http`);
    expect(hostingAlerts).toHaveLength(1);
    expect(hostingAlerts[0]).toMatchObject({ status: "resolved", severity: "critical", openedAfterFailures: 3 });
    const hostingEvents = w.published.filter((m) => m.alert.key === `check:${PROD}/hosting/http`).map((m) => m.type);
    expect(hostingEvents).toEqual(["opened", "resolved"]);
    expect(reports[2]!.alertsOpened).toContain(hostingAlerts[0]!.id);
    expect(reports[6]!.alertsResolved).toContain(hostingAlerts[0]!.id);
    // Five down runs of 5 minutes each: 25 minutes of the 43.2-minute budget gone.
    const last = reports[reports.length - 1]!.goals[0]!;
    expect(last.downtimeMinutes).toBeCloseTo(25, 0);
    expect(last.errorBudgetLeftMinutes).toBeCloseTo(18.2, 0);
    // Goal at risk (burning fast) opened immediately and is still open: the budget does not come back.
    expect(w.published.filter((m) => m.alert.kind === "goal").map((m) => m.type)[0]).toBe("opened");
  });

  it("keeps an environment with broken configuration in the report instead of failing the run", async () => {
    const broken = { ...environmentInput("lang-trak-dev", "development", ["hosting"], null), configError: "environments/lang-trak-dev is malformed" };
    const { run, deps } = setup([environmentInput(PROD, "production", PROD_INTEGRATIONS), broken]);
    deps.probes.firestore = async () => {
      throw new Error("probe exploded");
    };
    const r = await run();
    const dev = r.environments.find((e) => e.environmentId === "lang-trak-dev")!;
    expect(dev.configError).toBe("environments/lang-trak-dev is malformed");
    expect(check(r, `${PROD}/database/firestore`)).toMatchObject({ status: "error", message: "check failed: probe exploded" });
  });

  it("lets only one of two overlapping runs write, and a re-delivered tick write nothing", async () => {
    const { deps, store, clock } = setup();
    cp.chaos({ environment: PROD, integration: "hosting", mode: "slow", latencyMs: 1_200 });
    const [a, b] = await Promise.all([
      performHealthRun(deps, { runId: "sched-a", trigger: "schedule", requestedBy: null }),
      performHealthRun(deps, { runId: "req-b", trigger: "request", requestedBy: "me" }),
    ]);
    expect([a.kind, b.kind].sort()).toEqual(["done", "skipped"]);
    expect(store.commits).toBe(1);
    clock.advance(FIVE_MIN);
    const again = await performHealthRun(deps, { runId: "sched-a", trigger: "schedule", requestedBy: null });
    expect(again).toEqual({ kind: "skipped", reason: "run sched-a already reported" });
    expect(store.commits).toBe(1);
  });

  it("prunes reports past retention and rollup days past theirs", async () => {
    const env = environmentInput(PROD, "production", PROD_INTEGRATIONS);
    env.uptimeDays["2025-01-01"] = { date: "2025-01-01", upMinutes: 10, downMinutes: 0, unknownMinutes: 0, samples: 2, downSamples: 0, uptimePercent: 100 };
    const { run, store, clock } = setup([env]);
    await run();
    expect(Object.keys(store.environments.get(PROD)!.uptimeDays)).toEqual(["2026-11-25"]);
    clock.advance(8 * 86_400_000);
    await run();
    expect([...store.reports.keys()]).toHaveLength(1);
  });

  it("serves provisioned endpoints and takes chaos over the HTTP admin endpoint, by project or environment name", async () => {
    provisionInControlPlane(cp, PROD, PROD_INTEGRATIONS);
    const probe = `${cp.probeEnv.ORCHESTRATOR_PROBE_ENDPOINT}/us-central1-${PROD}.cloudfunctions.net/health`;
    expect((await fetch(probe)).status).toBe(200);
    const admin = `${cp.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT}/__control/chaos`;
    const res = await fetch(admin, { method: "POST", body: JSON.stringify({ environment: "production", integration: "functions", mode: "down" }) });
    expect(await res.json()).toMatchObject({ projectId: PROD, integration: "functions", mode: "down" });
    expect((await fetch(probe)).status).toBe(503);
    const bad = await fetch(admin, { method: "POST", body: JSON.stringify({ environment: PROD, integration: "database", mode: "down" }) });
    expect(bad.status).toBe(400);
    expect((await fetch(`${cp.probeEnv.ORCHESTRATOR_PROBE_ENDPOINT}/nobody.web.app/`)).status).toBe(404);
  });
});

describe("SLOs in health runs (one check a minute)", () => {
  const MINUTE = 60_000;
  const config = { ...TEST_CONFIG, periodMs: MINUTE, maxSampleGapMs: 2 * MINUTE };
  async function minutely(setupResult: ReturnType<typeof setup>, minutes: number): Promise<HealthReport[]> {
    const { deps, clock } = setupResult;
    const reports: HealthReport[] = [];
    for (let i = 0; i < minutes; i++) {
      const outcome = await performHealthRun({ ...deps, config }, { runId: scheduledRunId(clock.now()), trigger: "schedule", requestedBy: null });
      if (outcome.kind !== "done") throw new Error(`run skipped: ${outcome.reason}`);
      reports.push(outcome.report);
      clock.advance(MINUTE);
    }
    return reports;
  }
  const pageKey = `slo:high_availability:availability:${PROD}:page`;

  it("pages within 5 minutes of a full outage, resolves after it, and the incident carries what it cost the budget", async () => {
    const s = setup();
    await minutely(s, 10);
    expect([...s.store.alerts.values()].filter((a) => a.key === pageKey)).toEqual([]);
    expect(s.store.environments.get(PROD)!.slo!.availability).toBeDefined();
    cp.chaos({ environment: PROD, integration: "hosting", mode: "down" });
    const during = await minutely(s, 5);
    const paged = during.findIndex((r) => r.alertsOpened.some((id) => s.store.alerts.get(id)?.key === pageKey));
    expect(paged).toBeGreaterThanOrEqual(0);
    expect(paged).toBeLessThan(5);
    const alert = [...s.store.alerts.values()].find((a) => a.key === pageKey)!;
    expect(alert).toMatchObject({ kind: "goal", severity: "critical", status: "open", title: "production burns its availability budget (page: page-1h)" });
    // With under an hour of history, the same five minutes are 10 % of what was seen: a ticket too, a separate alert.
    expect([...s.store.alerts.values()].find((a) => a.key === pageKey.replace(/page$/, "ticket"))).toMatchObject({ severity: "warning", status: "open" });
    const progress = during.at(-1)!.goals.find((g) => g.goalId === "high_availability")!;
    expect(progress.slos).toEqual([expect.objectContaining({ key: "availability", objectivePercent: 99.9, firing: "page-1h" })]);
    cp.chaos({ environment: PROD, integration: "hosting", mode: "up" });
    // The 1 h tier stops 5 minutes after recovery; the 6 h tier holds the page until the last 30 minutes are clean.
    await minutely(s, 10);
    expect(s.store.alerts.get(alert.id)!.status).toBe("open");
    await minutely(s, 25);
    const resolved = s.store.alerts.get(alert.id)!;
    expect(resolved.status).toBe("resolved");
    // 5 bad minutes from the outage's first failing run; 43.2 minutes allowed over 30 days at 99.9 %.
    expect(resolved.budgetCost?.minutes).toBeGreaterThanOrEqual(4);
    expect(resolved.budgetCost?.minutes).toBeLessThanOrEqual(6);
    expect(resolved.budgetCost?.fraction).toBeGreaterThan(0);
  });

  it("keeps a maintenance window out of the budget: nothing recorded, nothing pages", async () => {
    const s = setup();
    await minutely(s, 3);
    const before = JSON.stringify(s.store.environments.get(PROD)!.slo);
    s.store.environments.get(PROD)!.maintenance = { window: "db-upgrade", name: "database upgrade" };
    cp.chaos({ environment: PROD, integration: "hosting", mode: "down" });
    await minutely(s, 6);
    expect(JSON.stringify(s.store.environments.get(PROD)!.slo)).toBe(before);
    expect([...s.store.alerts.values()].filter((a) => a.key === pageKey)).toEqual([]);
  });
});
