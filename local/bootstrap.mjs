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
const commands = new Set(["start", "test", "bench", "plan", "chaos", "orchestrator"]);
if (!commands.has(command)) {
  console.error(`usage: node local/bootstrap.mjs <${[...commands].join("|")}> [args]`);
  process.exit(2);
}

// What the local stack needs and cannot install itself: say what to install, before anything else.
const nodeMajor = Number(process.versions.node.split(".")[0]);
if (nodeMajor < 20) {
  console.error(`✗ Node.js ${process.versions.node} is too old: install Node.js 20 or newer (https://nodejs.org, or nvm install 22).`);
  process.exit(1);
}
const onlyStage = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const needsEmulators = command === "start" || (command === "test" && !["typecheck", "lint", "unit"].includes(onlyStage)) || (command === "bench" && !args.includes("--pure") && onlyStage !== "pure");
if (needsEmulators) {
  // The Firestore and Pub/Sub emulators are Java programs.
  const java = spawnSync("java", ["-version"], { encoding: "utf8" });
  const version = /version "(\d+)(?:\.(\d+))?/.exec(`${java.stderr ?? ""}${java.stdout ?? ""}`);
  const major = version === null ? 0 : Number(version[1]) === 1 ? Number(version[2]) : Number(version[1]);
  if (java.error !== undefined || major < 17) {
    const found = java.error !== undefined ? "no java on the PATH" : `Java ${major || "of an unknown version"}`;
    console.error(`✗ the Firebase emulators need Java 17 or newer (${found}): install a JDK 17+, e.g. apt-get install openjdk-17-jre-headless, or brew install openjdk@17.`);
    process.exit(1);
  }
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
