/** `npm run plan`'s command line: --help, strict flags, and exit codes that tell a mistake from a plan's outcome. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..", "..");
const plan = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "local", "plan.ts"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
const EXAMPLE = "examples/lang-trak.json";

describe("npm run plan (command line)", () => {
  it("--help lists every flag and exit code, and exits 0", () => {
    const out = plan("--help");
    expect(out.status).toBe(0);
    for (const word of ["--json", "--apply", "--id", "--project", "64"]) expect(out.stdout).toContain(word);
  });

  it.each([
    [[EXAMPLE, "--bogus"], /Unknown option '--bogus'/],
    [[EXAMPLE, "--apply", "--project"], /--project.*missing/],
    [[EXAMPLE, "--apply", "--project", "--json"], /--project/],
    [[], /no plan file given/],
    [[EXAMPLE, EXAMPLE], /one plan file at a time/],
    [[EXAMPLE, "--id", "x"], /--id only means something with --apply/],
    [[EXAMPLE, "--project", "p"], /--project only means something with --apply or --refresh/],
    [[EXAMPLE, "--detailed-exitcode"], /--detailed-exitcode only means something with --refresh/],
  ])("%j is a usage error (64), never a silent default", (args, message) => {
    const out = plan(...args);
    expect(out.status).toBe(64);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).toContain("usage: firebase-orchestrator plan <plan.json> [flags]   (also: npm run plan -- <plan.json> [flags])");
  });

  it("a plan that compiles exits 0, an invalid one 1, with the field's path", () => {
    expect(plan(EXAMPLE, "--json").status).toBe(0);
    const bad = plan(join("test", "unit", "local", "no-such-plan.json"));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/cannot read/);
  });
});
