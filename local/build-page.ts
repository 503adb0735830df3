/**
 * Builds the status page: hosting/src (TypeScript, the Firebase JS SDK from npm) bundled with
 * esbuild into hosting/dist (git-ignored), which Firebase Hosting serves. Nothing is loaded from a
 * CDN, so the page works offline and does not depend on a third-party host.
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { ROOT } from "./project";

export const PAGE_SOURCE = join(ROOT, "hosting", "src");
export const PAGE_DIST = join(ROOT, "hosting", "dist");

export async function buildPage(options: { minify?: boolean } = {}): Promise<{ outDir: string; bytes: number }> {
  rmSync(PAGE_DIST, { recursive: true, force: true });
  mkdirSync(PAGE_DIST, { recursive: true });
  const result = await build({
    entryPoints: [join(PAGE_SOURCE, "main.ts")],
    outfile: join(PAGE_DIST, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2020", "chrome100", "safari15", "firefox100"],
    minify: options.minify ?? true,
    sourcemap: "linked",
    legalComments: "linked",
    metafile: true,
    logLevel: "warning",
  });
  for (const file of ["index.html", "style.css"]) copyFileSync(join(PAGE_SOURCE, file), join(PAGE_DIST, file));
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + (o.bytes ?? 0), 0);
  return { outDir: PAGE_DIST, bytes };
}

// `node --import tsx local/build-page.ts`: build once (e.g. as Hosting's predeploy step).
if (process.argv[1] !== undefined && /build-page\.ts$/.test(process.argv[1])) {
  buildPage().then(
    ({ outDir, bytes }) => console.log(`✓ page built into ${outDir} (${(bytes / 1024).toFixed(0)} KiB with source maps)`),
    (error: unknown) => {
      console.error(`✗ ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
