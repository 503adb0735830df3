/**
 * `npm test`: type-check, lint, unit tests, then the integration suite inside the Firestore and
 * Pub/Sub emulators, then the end-to-end suite inside the whole Emulator Suite with the functions
 * loaded exactly as they deploy. Each emulator run is `firebase emulators:exec`, which starts the
 * emulators, runs jest and shuts everything down.
 *
 *   npm test                     everything
 *   npm test -- --only unit      one stage: typecheck | lint | unit | integration | e2e | browser
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { buildFunctions, buildPage } from "./build";
import { ensureChromium } from "./chromium";
import { assertPortsFree, suiteEnv, type SuiteEmulator } from "./emulators";
import { FIREBASE_BIN, firebaseConfigPath, PROJECT_ID, ROOT } from "./project";

const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
const argv = process.argv.slice(2);
const onlyIndex = argv.indexOf("--only");
const only = onlyIndex >= 0 ? argv[onlyIndex + 1] : undefined;
// Function logs are quiet unless asked for (`npm test -- --verbose-logs`); failures still print.
const verboseLogs = argv.includes("--verbose-logs");
const jestExtra = [...argv.filter((a, i) => a !== "--verbose-logs" && a !== "--" && (onlyIndex < 0 || (i !== onlyIndex && i !== onlyIndex + 1))), ...(verboseLogs ? [] : ["--silent"])];

function run(title: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  console.log(`\n━━ ${title}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: ROOT, stdio: "inherit", env });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(`✗ ${title} failed after ${secs} s`);
    process.exit(result.status ?? 1);
  }
  console.log(`✓ ${title} (${secs} s)`);
}

async function inEmulators(title: string, emulators: SuiteEmulator[], jestArgs: string[], env: Record<string, string> = {}): Promise<void> {
  await assertPortsFree(emulators);
  // --forceExit: the official clients keep sockets open after the last test; the suite is done anyway.
  const jest = [bin("jest"), ...jestArgs, "--forceExit", ...jestExtra].map((a) => JSON.stringify(a)).join(" ");
  run(title, FIREBASE_BIN, ["emulators:exec", "--only", emulators.join(","), "--project", PROJECT_ID, "--config", firebaseConfigPath(), jest], suiteEnv({ GCLOUD_PROJECT: PROJECT_ID, ...env }));
}

const stages: Record<string, () => Promise<void> | void> = {
  typecheck: () => {
    run("type-check functions (strict)", bin("tsc"), ["-p", "functions/tsconfig.json", "--noEmit"]);
    run("type-check local commands, tests and benchmarks (strict)", bin("tsc"), ["-p", "tsconfig.json"]);
    run("type-check the status page (strict)", bin("tsc"), ["-p", "hosting/tsconfig.json"]);
  },
  lint: () => run("lint (ESLint + typescript-eslint)", bin("eslint"), ["--max-warnings=0", "."]),
  unit: () => run("unit tests (pure code, no emulators)", bin("jest"), ["--selectProjects", "unit", ...jestExtra]),
  integration: () => inEmulators("integration tests (Firestore + Pub/Sub emulators)", ["firestore", "pubsub"], ["--selectProjects", "integration", "--runInBand"]),
  e2e: async () => {
    buildFunctions();
    await buildPage();
    // Short recovery timings so the sweeper's work is observable within a test.
    await inEmulators("end-to-end tests (whole Emulator Suite, functions as deployed)", ["firestore", "pubsub", "functions", "auth", "hosting"], ["--selectProjects", "e2e", "--runInBand"], {
      ORCHESTRATOR_REDISPATCH_AFTER_MS: "2000",
      ORCHESTRATOR_LEASE_MARGIN_MS: "1000",
    });
  },
  browser: async () => {
    buildFunctions();
    await buildPage();
    ensureChromium();
    await inEmulators("browser tests (headless Chromium against the whole local stack)", ["firestore", "pubsub", "functions", "auth", "hosting"], ["--selectProjects", "browser", "--runInBand"]);
  },
};

async function main(): Promise<void> {
  const names = only === undefined ? Object.keys(stages) : [only];
  for (const name of names) {
    const stage = stages[name];
    if (stage === undefined) throw new Error(`unknown stage "${name}"; one of ${Object.keys(stages).join(", ")}`);
    await stage();
  }
  console.log(`\n✓ all ${names.length === 1 ? names[0] : "stages"} passed`);
}

main().catch((error: unknown) => {
  console.error(`✗ ${(error as Error).message}`);
  process.exit(1);
});
