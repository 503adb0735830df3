#!/usr/bin/env node
// Entry of `npm start`, `npm test` and `npm run bench` on a fresh clone: installs what is missing
// (only when the lockfile changed), then runs local/<command>.ts. Plain Node, no dependencies,
// because it runs before anything is installed.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const [command, ...args] = process.argv.slice(2);
const commands = new Set(["start", "test", "bench", "plan", "chaos"]);
if (!commands.has(command)) {
  console.error(`usage: node local/bootstrap.mjs <${[...commands].join("|")}> [args]`);
  process.exit(2);
}

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const lockfile = join(root, "package-lock.json");
const stamp = join(root, "node_modules", ".orchestrator-install-stamp");
const wanted = existsSync(lockfile) ? createHash("sha256").update(readFileSync(lockfile)).digest("hex") : "no-lockfile";
const installed = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "";

if (installed !== wanted) {
  console.log("› installing dependencies (first run, or package-lock.json changed)…");
  const install = spawnSync(npm, [existsSync(lockfile) ? "ci" : "install", "--no-audit", "--no-fund"], {
    cwd: root,
    stdio: "inherit",
  });
  if (install.status !== 0) {
    console.error("✗ npm install failed; see the output above.");
    process.exit(install.status ?? 1);
  }
  writeFileSync(stamp, `${wanted}\n`);
}

// Run the TypeScript command in this same process tree, with tsx as a loader (no extra launcher
// process between us and the command, so signals reach it directly).
const child = spawn(process.execPath, ["--import", "tsx", join(root, "local", `${command}.ts`), ...args], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, METADATA_SERVER_DETECTION: "none", NO_UPDATE_NOTIFIER: "1" },
});
// Ctrl-C reaches the whole foreground process group; the command shuts the stack down itself.
// A signal sent only to this process (e.g. by a CI runner) is passed on.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 1 : 1)));
