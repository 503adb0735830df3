/** The local control plane in its own process, so a benchmark's client calls never share its event loop. */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";

export interface ServedControlPlane {
  env: Record<string, string>;
  probeEnv: Record<string, string>;
  child: ChildProcess;
}

export async function serveControlPlane(): Promise<ServedControlPlane> {
  const child = spawn(process.execPath, ["--import", "tsx", join(__dirname, "..", "local", "control-plane", "serve.ts")], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, "line")) as [string];
  lines.close();
  const { env, probeEnv } = JSON.parse(line) as { env: Record<string, string>; probeEnv: Record<string, string> };
  return { env, probeEnv, child };
}
