/**
 * `node --import tsx local/lock-functions.ts`: writes functions/package-lock.json, the lockfile the
 * functions deploy with (Cloud Build runs `npm ci` on the uploaded functions/ when it has one).
 * In this checkout the functions are an npm workspace, locked by the root package-lock.json only;
 * so the functions' own lockfile is derived from it: npm resolves functions/package.json alone in
 * a scratch directory, seeded with the root lockfile, so every package keeps the version the tests
 * ran with. Run it after changing functions/package.json (test/unit/local/deploy-lockfile.test.ts
 * says when).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./project";

const scratch = mkdtempSync(join(tmpdir(), "functions-lock-"));
try {
  copyFileSync(join(ROOT, "functions", "package.json"), join(scratch, "package.json"));
  copyFileSync(join(ROOT, "package-lock.json"), join(scratch, "package-lock.json"));
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: scratch, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
  copyFileSync(join(scratch, "package-lock.json"), join(ROOT, "functions", "package-lock.json"));
  console.log("✓ wrote functions/package-lock.json");
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
