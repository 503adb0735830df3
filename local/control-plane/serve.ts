/**
 * The control plane as its own process: `node --import tsx local/control-plane/serve.ts
 * [--grpc-port N] [--rest-port N] [--quotas '<json: a quota or a list>']` starts it, prints one JSON line `{env, probeEnv}` (the variables
 * the functions need), and serves until SIGINT/SIGTERM. For the local stack, `npm run chaos`
 * (over its REST admin endpoint) and benchmarks that keep the server off their own event loop.
 */
import { startControlPlane, type QuotaSpec } from "./index";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}
function portArg(name: string): number | undefined {
  const value = arg(name);
  return value === undefined ? undefined : Number(value);
}
function quotasArg(): QuotaSpec[] | undefined {
  const value = arg("--quotas");
  if (value === undefined) return undefined;
  const parsed = JSON.parse(value) as QuotaSpec | QuotaSpec[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

async function main(): Promise<void> {
  const cp = await startControlPlane({ grpcPort: portArg("--grpc-port"), restPort: portArg("--rest-port"), quotas: quotasArg() });
  process.stdout.write(`${JSON.stringify({ env: cp.env, probeEnv: cp.probeEnv })}\n`);
  const stop = (): void => void cp.stop().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

void main();
