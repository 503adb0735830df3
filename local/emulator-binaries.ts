/**
 * Points firebase-tools at Google's own Firestore and Pub/Sub emulators when the Google Cloud SDK
 * already has them (so nothing is downloaded and the stack runs offline). Where the SDK or its
 * emulator components are absent, returns no overrides and firebase-tools downloads its own.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface EmulatorBinaries {
  env: Record<string, string>;
  source: "google-cloud-sdk" | "firebase-tools-download";
}

function sdkRoot(): string | undefined {
  if (process.env.CLOUDSDK_ROOT_DIR && existsSync(process.env.CLOUDSDK_ROOT_DIR)) return process.env.CLOUDSDK_ROOT_DIR;
  try {
    const out = execFileSync("gcloud", ["info", "--format=value(installation.sdk_root)"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 20_000,
    }).trim();
    return out === "" ? undefined : out;
  } catch {
    return undefined;
  }
}

/**
 * firebase-tools starts the Firestore emulator with `java -jar <path>`, but Google's jar has no
 * Main-Class: a tiny launcher jar whose manifest names the main class and puts the real jar on the
 * class path fills the gap. The Pub/Sub emulator gets a wrapper script we own, because firebase-tools
 * chmods the binary it is given (EPERM on a root-owned file for other users).
 */
export function prepareEmulatorBinaries(cacheDir: string): EmulatorBinaries {
  const sdk = sdkRoot();
  const firestoreJar = sdk && join(sdk, "platform", "cloud-firestore-emulator", "cloud-firestore-emulator.jar");
  const pubsubBin = sdk && join(sdk, "platform", "pubsub-emulator", "bin", "cloud-pubsub-emulator");
  if (!firestoreJar || !pubsubBin || !existsSync(firestoreJar) || !existsSync(pubsubBin)) {
    return { env: {}, source: "firebase-tools-download" };
  }
  const dir = join(cacheDir, "emulators");
  mkdirSync(dir, { recursive: true });

  const launcher = join(dir, "firestore-launcher.jar");
  const manifest = join(dir, "manifest.txt");
  const manifestText =
    "Main-Class: com.google.cloud.datastore.emulator.firestore.CloudFirestore\n" + `Class-Path: file:${firestoreJar}\n`;
  writeFileSync(manifest, manifestText);
  if (!existsSync(launcher)) execFileSync("jar", ["cfm", launcher, manifest], { cwd: dir, stdio: "ignore" });

  const wrapper = join(dir, "cloud-pubsub-emulator");
  writeFileSync(wrapper, `#!/bin/sh\nexec "${pubsubBin}" "$@"\n`);
  chmodSync(wrapper, 0o755);

  return {
    env: { FIRESTORE_EMULATOR_BINARY_PATH: launcher, PUBSUB_EMULATOR_BINARY_PATH: wrapper },
    source: "google-cloud-sdk",
  };
}
