/** Builds what the emulators load: the functions (tsc → functions/lib). */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./project";

export function buildFunctions(): void {
  const result = spawnSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", join(ROOT, "functions", "tsconfig.json")], { cwd: ROOT, stdio: "inherit" });
  if (result.status !== 0) throw new Error("the functions do not compile (see the errors above)");
}

export { buildPage } from "./build-page";
