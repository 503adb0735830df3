/**
 * Starts and stops the Firebase Local Emulator Suite (firebase-tools, run directly, never through
 * npx: a signal to an npx parent does not reach it, and the Java emulators live in their own
 * sessions, so only the firebase process itself can shut them down).
 */
import { cpus } from "node:os";
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { prepareEmulatorBinaries } from "./emulator-binaries";
import { writeFunctionsDotenv } from "./functions-env";
import { CACHE_DIR, emulator, FIREBASE_BIN, firebaseConfigPath, PORT_OFFSET, PROJECT_ID, ROOT, type EmulatorName } from "./project";

export type SuiteEmulator = Exclude<EmulatorName, "hub" | "logging">;

export class PortInUseError extends Error {}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Fails with a message naming every busy port and where to change it, before anything starts. */
export async function assertPortsFree(only: readonly SuiteEmulator[]): Promise<void> {
  const wanted: Array<{ what: string; key: string; host: string; port: number }> = [];
  for (const name of ["hub", "logging", ...only] as EmulatorName[]) {
    const { host, port, websocketPort } = emulator(name);
    wanted.push({ what: `${name} emulator`, key: `emulators.${name}.port`, host, port });
    if (websocketPort !== undefined) wanted.push({ what: `${name} websocket`, key: `emulators.${name}.websocketPort`, host, port: websocketPort });
  }
  const busy = [];
  for (const w of wanted) if (!(await portFree(w.host, w.port))) busy.push(w);
  if (busy.length > 0) {
    const lines = busy.map((b) => `  - port ${b.port} (${b.what}) is in use: stop what uses it (e.g. \`lsof -i :${b.port}\`) or change ${b.key} in firebase.json (or shift every port: ORCHESTRATOR_PORT_OFFSET=3000)`);
    throw new PortInUseError(`Cannot start the local stack:\n${lines.join("\n")}`);
  }
}

/** The emulators' environment; also writes the functions' params for it (local/functions-env.ts), or the emulator would ask for them. */
export function suiteEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const binaries = prepareEmulatorBinaries(CACHE_DIR);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...binaries.env,
    METADATA_SERVER_DETECTION: "none",
    NO_UPDATE_NOTIFIER: "1",
    FIREBASE_CLI_DISABLE_UPDATE_CHECK: "true",
    // The functions emulator starts up to 50 worker processes at once by default; on a small
    // machine a burst of deliveries (a 1,000-task fan-out) then fails with "Failed to load
    // function" and the dropped deliveries wait for the sweeper. Four per core loses none.
    FUNCTIONS_EMULATOR_PARALLEL: process.env.FUNCTIONS_EMULATOR_PARALLEL ?? String(Math.max(4, 4 * cpus().length)),
    // Everything local listens on loopback, which the egress policy refuses unless allowed
    // (functions/src/egress/config.ts); production allows nothing private by default.
    ORCHESTRATOR_EGRESS_ALLOW: process.env.ORCHESTRATOR_EGRESS_ALLOW ?? "127.0.0.0/8,::1",
    ...extra,
  };
  writeFunctionsDotenv(env);
  return env;
}

export interface RunningSuite {
  process: ChildProcess;
  logFile: string;
  /** Resolves when every requested emulator answers and the functions are loaded. */
  ready: Promise<void>;
  /** SIGINT to the firebase process, then wait; SIGKILL after the grace period. Resolves with its exit code. */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

export function startSuite(only: readonly SuiteEmulator[], options: { env?: Record<string, string>; echo?: boolean } = {}): RunningSuite {
  mkdirSync(CACHE_DIR, { recursive: true });
  const logFile = join(CACHE_DIR, PORT_OFFSET === 0 ? "emulators.log" : `emulators.offset-${PORT_OFFSET}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(FIREBASE_BIN, ["emulators:start", "--only", only.join(","), "--project", PROJECT_ID, "--config", firebaseConfigPath()], {
    cwd: ROOT,
    env: suiteEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.pipe(log, { end: false });
    if (options.echo) stream.pipe(process.stderr, { end: false });
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = waitUntilReady(only, exited);
  const stop = async (graceMs = 20_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { process: child, logFile, ready, stop, exited };
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

async function waitUntilReady(only: readonly SuiteEmulator[], exited: Promise<number | null>, timeoutMs = 120_000): Promise<void> {
  const hub = emulator("hub");
  const deadline = Date.now() + timeoutMs;
  let stopped = false;
  let lastCount = -1;
  void exited.then(() => (stopped = true));
  for (;;) {
    if (stopped) throw new Error("the emulators exited during start-up");
    if (Date.now() > deadline) throw new Error(`the emulators were not ready after ${timeoutMs / 1000} s`);
    try {
      const running = (await getJson(`http://${hub.host}:${hub.port}/emulators`)) as Record<string, unknown>;
      if (only.every((name) => name in running)) {
        if (!only.includes("functions")) return;
        const fn = emulator("functions");
        // Triggers register one by one; ready once the function count stops changing.
        const { backends } = (await getJson(`http://${fn.host}:${fn.port}/backends`)) as { backends: Array<{ functionTriggers: unknown[] }> };
        const count = backends.reduce((n, b) => n + b.functionTriggers.length, 0);
        if (count > 0 && count === lastCount) return;
        lastCount = count;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}
