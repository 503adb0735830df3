/** Facts about this checkout shared by the local commands: paths, project id, emulator ports. */
import { existsSync, readFileSync } from "node:fs";
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

const firebaseJson = JSON.parse(readFileSync(join(ROOT, "firebase.json"), "utf8")) as {
  emulators: Record<string, EmulatorConfig | boolean | { enabled: boolean }>;
};

export function emulator(name: EmulatorName): { host: string; port: number; websocketPort?: number } {
  const config = firebaseJson.emulators[name] as EmulatorConfig | undefined;
  if (config === undefined) throw new Error(`firebase.json has no emulators.${name}`);
  return config;
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
