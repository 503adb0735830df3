/**
 * The browser the page tests and the page benchmark drive: Debian's `chromium` (playwright-core
 * brings no browser). Installed with apt when absent and we are root; otherwise says how.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const CHROMIUM_PATH = process.env.ORCHESTRATOR_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Flags for a headless run on a machine without a network: no sandbox (containers), no GPU, and
 * Chromium's own lookups of Google hosts mapped to nowhere (they would stall on a dropping network).
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
];

export function ensureChromium(): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.getuid?.() !== 0) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install it (\`sudo apt-get install -y chromium\`) or set ORCHESTRATOR_CHROMIUM to a Chromium/Chrome binary`);
  }
  console.log("› installing Chromium (apt-get install chromium, once)…");
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", "chromium"]]) {
    const result = spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${result.status}); install chromium yourself or set ORCHESTRATOR_CHROMIUM`);
  }
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt installed chromium but ${CHROMIUM_PATH} is missing`);
  return CHROMIUM_PATH;
}
