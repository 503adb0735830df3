/**
 * `npm run chaos -- <environment> <integration> down|slow|hang|up [--latency-ms N]`: degrades one
 * integration of one provisioned environment on the local control plane (through its HTTP admin
 * endpoint `POST /__control/chaos`), so the next health runs see it: an alert opens after a few
 * runs, the goal's error budget burns, and `up` lets the alert resolve.
 *
 *   npm run chaos -- lang-trak-prod hosting down       hosting answers HTTP 503
 *   npm run chaos -- lang-trak-prod functions slow     functions answer after 2.5 s (degraded)
 *   npm run chaos -- production monitoring down        the uptime check fails from now on
 *   npm run chaos -- lang-trak-prod backup down        the backup job's last attempt failed
 *   npm run chaos -- lang-trak-prod hosting up         back to normal
 *   npm run chaos -- --list                            what is degraded now
 *   npm run chaos -- scenario                          the SRE walk-through: an outage pages, a
 *                                                      maintenance window keeps the budget, a freeze
 *                                                      makes a plan wait, a bake rolls back
 *
 * The control plane is found from `--control-plane <url>`, else ORCHESTRATOR_GOOGLE_REST_ENDPOINT,
 * else what the running stack recorded (`.cache/control-plane.json`, or `control-plane.offset-N.json`
 * for a stack started with ORCHESTRATOR_PORT_OFFSET=N).
 */
import { runScenario } from "./chaos-scenario";
import { recordedControlPlane } from "./project";

const USAGE = "usage: npm run chaos -- scenario\n       npm run chaos -- <environment> <integration: hosting|functions|monitoring|backup|health> <down|slow|hang|up> [--latency-ms N] [--control-plane URL]\n       npm run chaos -- --list";

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
}

function controlPlaneUrl(flag: string | undefined): string {
  if (flag) return flag.replace(/\/$/, "");
  const fromEnv = process.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT;
  if (fromEnv) return fromEnv.replace(/\/$/, "");
  const restEndpoint = recordedControlPlane()?.restEndpoint;
  if (restEndpoint) return restEndpoint.replace(/\/$/, "");
  throw new Error("no local control plane found: start the stack (npm start), or pass --control-plane http://127.0.0.1:<port>");
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const latency = option(args, "--latency-ms");
  const base = controlPlaneUrl(option(args, "--control-plane"));
  if (args[0] === "scenario") return runScenario(base);
  if (args[0] === "--list") {
    const res = await fetch(`${base}/__control/chaos`);
    console.log(JSON.stringify(await res.json(), null, 2));
    return res.ok ? 0 : 1;
  }
  const [environment, integration, mode] = args;
  if (!environment || !integration || !mode) {
    console.error(USAGE);
    return 2;
  }
  const body = { environment, integration, mode, ...(latency === undefined ? {} : { latencyMs: Number(latency) }) };
  const res = await fetch(`${base}/__control/chaos`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const answer = (await res.json()) as { detail?: string; projectId?: string; error?: { message?: string } };
  if (!res.ok) {
    console.error(`✗ ${answer.error?.message ?? `HTTP ${res.status}`}`);
    return 1;
  }
  console.log(`✓ ${answer.detail} (${answer.projectId} ${integration} → ${mode}); the next health runs will see it.`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`✗ ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
