/**
 * `npm run plan -- <file>` on an OpenSLO v1 file (YAML documents separated by `---`, or JSON):
 * it prints the SLOs as goals' `slo` would hold them (exit 0) or each error with its
 * `<document>.<field>` path (exit 1); flags that only mean something for a plan are usage errors (64).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../../local/cli/main";
import { exportOpenSlo } from "../../../functions/src/schema/openslo";
import { sloSpecSchema } from "../../../functions/src/schema/slo";

const ROOT = join(__dirname, "..", "..", "..");
const EXAMPLE = join(ROOT, "examples", "openslo.yaml");
const dir = mkdtempSync(join(tmpdir(), "openslo-plan-"));
const write = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** `firebase-orchestrator plan …` in this process: its exit code and what it printed (plan writes to the console). */
async function plan(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, "log").mockImplementation((...line: unknown[]) => void out.push(line.join(" ")));
  const error = jest.spyOn(console, "error").mockImplementation((...line: unknown[]) => void err.push(line.join(" ")));
  try {
    const code = await main(["plan", ...args]);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

const BROKEN = `apiVersion: openslo/v1
kind: SLO
metadata:
  name: web
spec:
  service: web
  indicatorRef: web-ratio
  budgetingMethod: Timeslices
  objectives:
    - target: 0.999
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: web-ratio
spec:
  ratioMetric: {}
`;

describe("npm run plan -- <openslo file>", () => {
  it("prints each SLO of examples/openslo.yaml with its tiers and the goal's slo, exit 0", async () => {
    const run = await plan(EXAMPLE);
    expect(run.code).toBe(0);
    expect(run.out).toContain("OpenSLO v1:");
    expect(run.out).toMatch(/production-availability \(service production, goal high_availability\): availability 99\.9 %, rolling 30 days/);
    expect(run.out).toMatch(/page +page-1h +≥ 14\.4× over 1h and over 5m/);
    expect(run.out).toMatch(/ticket +ticket-3d +≥ 1× over 3d and over 6h/);
    expect(run.out).toMatch(/production-latency \(service production\): latency: p95 within 300 ms, UTC calendar month/);
    const slo = /slo: (\{.*\})/.exec(run.out)![1]!;
    expect(sloSpecSchema.safeParse(JSON.parse(slo)).success).toBe(true);
    expect(run.out).toContain("✓ 2 SLOs import");
  });

  it("prints {ok, slos, origins, warnings} with --json", async () => {
    const run = await plan(EXAMPLE, "--json");
    expect(run.code).toBe(0);
    const body = JSON.parse(run.out);
    expect(body).toMatchObject({ ok: true, warnings: [] });
    expect(Object.keys(body.slos)).toEqual(["production-availability", "production-latency"]);
  });

  it("reads a JSON file of OpenSLO documents (an export) the same way", async () => {
    const docs = exportOpenSlo("high_availability", "staging", sloSpecSchema.parse({ sli: { kind: "availability" }, objectivePercent: 99.5 }));
    const run = await plan(write("export.json", JSON.stringify(docs)));
    expect(run.code).toBe(0);
    expect(run.out).toContain("high-availability-staging (service staging, goal high_availability): availability 99.5 %, rolling 30 days");
  });

  it("lists every error with its document index and field path, exit 1; with --json as {ok: false, errors}", async () => {
    const file = write("broken.yaml", BROKEN);
    const run = await plan(file);
    expect(run.code).toBe(1);
    expect(run.err).toContain(`✗ invalid OpenSLO in ${file}: 1 problem`);
    expect(run.err).toContain("✗ 0.spec.budgetingMethod: budgetingMethod Timeslices is not supported");
    const json = await plan(file, "--json");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, errors: [{ path: "0.spec.budgetingMethod" }] });
  });

  it("prints warnings with their paths and still exits 0", async () => {
    const run = await plan(write("foreign.yaml", BROKEN.replace("Timeslices", "Occurrences")));
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/warnings:\n {2}! 0\.spec\.timeWindow: no timeWindow: a rolling 30 days\n {2}! 0\.spec\.alertPolicies: no alertPolicies/);
    expect(run.out).toContain("! 1.spec.ratioMetric: the orchestrator measures availability with its own health runs");
  });

  it("refuses YAML that does not parse, and YAML that is no OpenSLO (plans are JSON), exit 1", async () => {
    const bad = await plan(write("bad.yaml", "apiVersion: openslo/v1\nkind: [SLO\n"));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad\.yaml: YAML document 0: /);
    const notSlo = await plan(write("plan.yaml", "goals: []\n"));
    expect(notSlo.code).toBe(1);
    expect(notSlo.err).toContain("a YAML file is read as OpenSLO v1 (apiVersion: openslo/v1) and none of its documents is; a plan is JSON");
  });

  it("answers 64 to --apply or --refresh on an OpenSLO file: it is validated, never applied", async () => {
    for (const flag of ["--apply", "--refresh"]) {
      const run = await plan(EXAMPLE, flag);
      expect(run.code).toBe(64);
      expect(run.err).toContain(`✗ ${flag} only means something for a plan; ${EXAMPLE} is an OpenSLO file`);
      expect(run.err).toContain("usage: firebase-orchestrator plan <plan.json> [flags]");
    }
  });

  it("still compiles a JSON plan, and says in --help what an OpenSLO file gets", async () => {
    expect((await plan(join(ROOT, "examples", "lang-trak.json"), "--json")).code).toBe(0);
    const help = await plan("--help");
    expect(help.code).toBe(0);
    expect(help.out).toContain("An OpenSLO v1 file (.yaml/.yml with documents separated by ---, or JSON with apiVersion: openslo/v1)");
  });

  it("exits 0 for the example through npm run plan's entry (local/plan.ts), 1 for a broken file", () => {
    const entry = (file: string) => spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "local", "plan.ts"), file], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    const good = entry(EXAMPLE);
    expect(good.status).toBe(0);
    expect(good.stdout).toContain("✓ 2 SLOs import");
    const broken = entry(write("broken-entry.yaml", BROKEN));
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain("0.spec.budgetingMethod");
  });
});
