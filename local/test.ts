/**
 * `npm test`: type-check, lint, unit tests, then the integration suite inside the Firestore and
 * Pub/Sub emulators, then the end-to-end suite inside the whole Emulator Suite with the functions
 * loaded exactly as they deploy. Each emulator run is `firebase emulators:exec`, which starts the
 * emulators, runs jest and shuts everything down.
 *
 *   npm test                     everything
 *   npm test -- --only unit      one stage: typecheck | lint | unit | integration | e2e | browser
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { buildFunctions, buildPage } from "./build";
import { ensureChromium } from "./chromium";
import { controlPlaneEnv, startControlPlaneForStack } from "./local-stack";
import { startTicker } from "./scheduler";
import { assertPortsFree, suiteEnv, type SuiteEmulator } from "./emulators";
import { FIREBASE_BIN, firebaseConfigPath, PROJECT_ID, ROOT } from "./project";

const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
const argv = process.argv.slice(2);
const onlyIndex = argv.indexOf("--only");
const only = onlyIndex >= 0 ? argv[onlyIndex + 1] : undefined;
// Function logs are quiet unless asked for (`npm test -- --verbose-logs`); failures still print.
const verboseLogs = argv.includes("--verbose-logs");
const jestExtra = [...argv.filter((a, i) => a !== "--verbose-logs" && a !== "--" && (onlyIndex < 0 || (i !== onlyIndex && i !== onlyIndex + 1))), ...(verboseLogs ? [] : ["--silent"])];

/**
 * Runs one stage's command. Asynchronous on purpose: the local control plane serves from this
 * process while the emulators and tests run, so the event loop must stay free.
 */
async function run(title: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  console.log(`\n━━ ${title}`);
  const started = Date.now();
  const child = spawn(command, args, { cwd: ROOT, stdio: "inherit", env });
  const status = await new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (status !== 0) {
    console.error(`✗ ${title} failed after ${secs} s`);
    process.exit(status ?? 1);
  }
  console.log(`✓ ${title} (${secs} s)`);
}

async function inEmulators(title: string, emulators: SuiteEmulator[], jestArgs: string[], env: Record<string, string> = {}): Promise<void> {
  await assertPortsFree(emulators);
  // --forceExit: the official clients keep sockets open after the last test; the suite is done anyway.
  const jest = [bin("jest"), ...jestArgs, "--forceExit", ...jestExtra].map((a) => JSON.stringify(a)).join(" ");
  await run(title, FIREBASE_BIN, ["emulators:exec", "--only", emulators.join(","), "--project", PROJECT_ID, "--config", firebaseConfigPath(), jest], suiteEnv({ GCLOUD_PROJECT: PROJECT_ID, ...env }));
}

const WHOLE_SUITE: SuiteEmulator[] = ["firestore", "pubsub", "functions", "auth", "hosting"];

/** Runs `work` with the local Google control plane up, handing it the env the functions need. */
async function withControlPlane(work: (env: Record<string, string>) => Promise<void>): Promise<void> {
  const cp = await startControlPlaneForStack();
  try {
    await work(controlPlaneEnv(cp));
  } finally {
    await cp.stop();
  }
}

const stages: Record<string, () => Promise<void> | void> = {
  typecheck: async () => {
    await run("type-check functions (strict)", bin("tsc"), ["-p", "functions/tsconfig.json", "--noEmit"]);
    await run("type-check local commands, tests and benchmarks (strict)", bin("tsc"), ["-p", "tsconfig.json"]);
    await run("type-check the status page (strict)", bin("tsc"), ["-p", "hosting/tsconfig.json"]);
  },
  lint: () => run("lint (ESLint + typescript-eslint)", bin("eslint"), ["--max-warnings=0", "."]),
  unit: () => run("unit tests (pure code, no emulators)", bin("jest"), ["--selectProjects", "unit", ...jestExtra]),
  integration: () => inEmulators("integration tests (Firestore + Pub/Sub emulators)", ["firestore", "pubsub"], ["--selectProjects", "integration", "--runInBand"]),
  e2e: async () => {
    buildFunctions();
    await buildPage();
    // As deployed, the sweeper recovers what a worker lost; here it runs 10× faster with a short
    // re-dispatch delay, so a recovery happens within a test's time.
    const ticker = await startTicker({ speed: (fn) => (fn.name === "sweepStalledTasks" ? 10 : 0.001) });
    try {
      await withControlPlane((env) =>
        inEmulators("end-to-end tests (whole Emulator Suite, functions as deployed, local Google control plane)", WHOLE_SUITE, ["--selectProjects", "e2e", "--runInBand"], {
          ...env,
          ORCHESTRATOR_REDISPATCH_AFTER_MS: "5000",
        }),
      );
    } finally {
      ticker.stop();
    }
  },
  browser: async () => {
    buildFunctions();
    await buildPage();
    ensureChromium();
    await withControlPlane((env) => inEmulators("browser tests (headless Chromium against the whole local stack)", WHOLE_SUITE, ["--selectProjects", "browser", "--runInBand"], env));
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
