/**
 * The control plane as its own process: `node --import tsx local/control-plane/serve.ts
 * [--grpc-port N] [--rest-port N]` starts it, prints one JSON line `{env, probeEnv}` (the variables
 * the functions need), and serves until SIGINT/SIGTERM. For the local stack, `npm run chaos`
 * (over its REST admin endpoint) and benchmarks that keep the server off their own event loop.
 */
import { startControlPlane } from "./index";

function portArg(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : Number(process.argv[i + 1]);
}

async function main(): Promise<void> {
  const cp = await startControlPlane({ grpcPort: portArg("--grpc-port"), restPort: portArg("--rest-port") });
  process.stdout.write(`${JSON.stringify({ env: cp.env, probeEnv: cp.probeEnv })}\n`);
  const stop = (): void => void cp.stop().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

void main();
