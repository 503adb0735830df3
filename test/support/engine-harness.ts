/**
 * What the engine's integration suites share: a pump that plays Pub/Sub and a local webhook for
 * `http` tasks, opened before the suite's tests and closed after them (with the functions' test env).
 * Read them through the returned object: they exist only once `beforeAll` ran.
 */
import { EffectsServer } from "./effects-server";
import { testEnv } from "./functions";
import { Pump } from "./pump";

export function engineHarness(): { readonly pump: Pump; readonly web: EffectsServer } {
  let pump: Pump | undefined;
  let web: EffectsServer | undefined;
  beforeAll(async () => {
    pump = await Pump.open();
    web = await EffectsServer.start();
  });
  afterAll(async () => {
    await pump?.close();
    await web?.close();
    testEnv.cleanup();
  });
  return {
    get pump() {
      return pump!;
    },
    get web() {
      return web!;
    },
  };
}
