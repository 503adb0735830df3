/**
 * The local stack as one unit: the local Google control plane (Scheduler, Monitoring, Rules,
 * Hosting… speaking their real protocols), the Firebase Emulator Suite with the functions pointed
 * at it, and the local Cloud Scheduler. Used by `npm start`, the end-to-end tests and benchmarks.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { startControlPlane, type ControlPlane } from "./control-plane/index";
import { startSuite, type RunningSuite, type SuiteEmulator } from "./emulators";
import { CACHE_DIR, CONTROL_PLANE_FILE, type RecordedControlPlane } from "./project";

/**
 * Environment the functions need to use the control plane: its endpoints for the Google APIs of
 * the environments' projects (lang-trak-dev…), including their Pub/Sub administration, and the
 * probe endpoint that stands in for their public URLs. The orchestrator's own messaging stays on
 * the real Pub/Sub emulator (PUBSUB_EMULATOR_HOST, set by the Emulator Suite).
 */
export function controlPlaneEnv(cp: ControlPlane): Record<string, string> {
  return { ...cp.env, ...cp.probeEnv };
}

export async function startControlPlaneForStack(): Promise<ControlPlane> {
  const cp = await startControlPlane();
  mkdirSync(CACHE_DIR, { recursive: true });
  const recorded: RecordedControlPlane = { restEndpoint: cp.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT!, env: controlPlaneEnv(cp) };
  writeFileSync(CONTROL_PLANE_FILE, `${JSON.stringify(recorded, null, 2)}\n`);
  return cp;
}

export async function startLocalStack(only: readonly SuiteEmulator[], options: { echo?: boolean; env?: Record<string, string> } = {}): Promise<{ suite: RunningSuite; controlPlane: ControlPlane }> {
  const controlPlane = await startControlPlaneForStack();
  const suite = startSuite(only, { echo: options.echo ?? false, env: { ...controlPlaneEnv(controlPlane), ...options.env } });
  return { suite, controlPlane };
}
