/** Facts about this checkout shared by the local commands: paths, project id, emulator ports. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** The checkout's root: the nearest folder up from the working directory that has firebase.json. */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "firebase.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no firebase.json above ${from}: run this from the project's checkout`);
  }
}

export const ROOT = findRoot(process.cwd());
export const CACHE_DIR = join(ROOT, ".cache");
export const PROJECT_ID = process.env.ORCHESTRATOR_PROJECT ?? "demo-orchestrator";
export const REGION = "us-central1";
export const FIREBASE_BIN = join(ROOT, "node_modules", ".bin", "firebase");

export type EmulatorName = "hub" | "logging" | "firestore" | "pubsub" | "functions" | "auth" | "hosting";

interface EmulatorConfig {
  host: string;
  port: number;
  websocketPort?: number;
}

interface FirebaseJson {
  emulators: Record<string, EmulatorConfig | boolean | { enabled: boolean }>;
  [key: string]: unknown;
}

const firebaseJson = JSON.parse(readFileSync(join(ROOT, "firebase.json"), "utf8")) as FirebaseJson;

/**
 * `ORCHESTRATOR_PORT_OFFSET=N` shifts every emulator port by N, so a second local stack (another
 * checkout, a test run beside `npm start`) can run on the same machine; 0 uses firebase.json as is.
 */
export const PORT_OFFSET = Number(process.env.ORCHESTRATOR_PORT_OFFSET ?? 0) || 0;

/**
 * The local notification receiver (local/notify-receiver.ts), where the local stack's notify
 * targets point (functions/.secret.local): fixed, since the URLs are written before it starts.
 */
export const NOTIFY_RECEIVER = { host: "127.0.0.1", port: 4600 + PORT_OFFSET } as const;

export function emulator(name: EmulatorName): { host: string; port: number; websocketPort?: number } {
  const config = firebaseJson.emulators[name] as EmulatorConfig | undefined;
  if (config === undefined) throw new Error(`firebase.json has no emulators.${name}`);
  if (PORT_OFFSET === 0) return config;
  return {
    host: config.host,
    port: config.port + PORT_OFFSET,
    ...(config.websocketPort === undefined ? {} : { websocketPort: config.websocketPort + PORT_OFFSET }),
  };
}

/**
 * The firebase.json the CLI should use: the checked-in one, or (with a port offset) a git-ignored
 * copy beside it with shifted ports. It must sit in the project root, because firebase-tools
 * resolves `functions`, `hosting` and rules paths relative to the config file.
 */
export function firebaseConfigPath(): string {
  if (PORT_OFFSET === 0) return join(ROOT, "firebase.json");
  const emulators: FirebaseJson["emulators"] = { ...firebaseJson.emulators };
  for (const name of ["hub", "logging", "firestore", "pubsub", "functions", "auth", "hosting"] as EmulatorName[]) {
    if (emulators[name] !== undefined) emulators[name] = emulator(name);
  }
  const path = join(ROOT, `firebase.offset-${PORT_OFFSET}.local.json`);
  writeFileSync(path, `${JSON.stringify({ ...firebaseJson, emulators }, null, 2)}\n`);
  return path;
}

export const hostPort = (name: EmulatorName): string => `${emulator(name).host}:${emulator(name).port}`;

/** Environment a process needs to reach the emulators with the official clients. */
export function emulatorClientEnv(): Record<string, string> {
  return {
    GCLOUD_PROJECT: PROJECT_ID,
    GOOGLE_CLOUD_PROJECT: PROJECT_ID,
    FIRESTORE_EMULATOR_HOST: hostPort("firestore"),
    PUBSUB_EMULATOR_HOST: hostPort("pubsub"),
    FIREBASE_AUTH_EMULATOR_HOST: hostPort("auth"),
    METADATA_SERVER_DETECTION: "none",
  };
}

/** Where the running stack records its local Google control plane (local-stack.ts writes it): one file per port offset. */
export const CONTROL_PLANE_FILE = join(CACHE_DIR, PORT_OFFSET === 0 ? "control-plane.json" : `control-plane.offset-${PORT_OFFSET}.json`);

export interface RecordedControlPlane {
  restEndpoint: string;
  /** The variables the functions are given to use it. */
  env: Record<string, string>;
}

/** What the running stack recorded of its control plane, or undefined when none runs (for this port offset). */
export function recordedControlPlane(): RecordedControlPlane | undefined {
  if (!existsSync(CONTROL_PLANE_FILE)) return undefined;
  return JSON.parse(readFileSync(CONTROL_PLANE_FILE, "utf8")) as RecordedControlPlane;
}
