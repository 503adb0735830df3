/**
 * A local control plane for a suite whose code under test builds its clients from the environment
 * (the shared client factory, as the functions do): its env is set before the suite's tests and
 * restored after them. Read it through the returned object: it exists only once `beforeAll` ran.
 * `options` go to startControlPlane (e.g. `quotas`, which `cp.reset()` comes back to).
 */
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from "../../local/control-plane";
import { googleClients } from "../../functions/src/clients/google";

export function controlPlaneInEnv(options: ControlPlaneOptions = {}): { readonly cp: ControlPlane } {
  let cp: ControlPlane | undefined;
  const saved = { ...process.env };
  beforeAll(async () => {
    cp = await startControlPlane(options);
    Object.assign(process.env, cp.env);
  });
  afterAll(async () => {
    await googleClients().close();
    await cp?.stop();
    // A call the attempt stopped waiting for still ends inside the client: let it settle.
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.env = saved;
  });
  return {
    get cp() {
      return cp!;
    },
  };
}
