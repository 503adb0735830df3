/**
 * The functions deploy with a lockfile of their own (functions/package-lock.json: Cloud Build runs
 * `npm ci` on the upload), and it locks what the tests ran with: the same dependency ranges as
 * functions/package.json, and for every package the version the root lockfile installs here.
 * When this fails, run `node --import tsx local/lock-functions.ts`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..", "..");
const readJson = (path: string) => JSON.parse(readFileSync(join(ROOT, path), "utf8"));

interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, { version?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string>; link?: boolean }>;
}

const manifest = readJson("functions/package.json") as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const lock = readJson("functions/package-lock.json") as Lockfile;
const root = readJson("package-lock.json") as Lockfile;

/** A lockfile path's package name: the part after its last `node_modules/`. */
const nameOf = (path: string): string => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);

/** The version a package resolves to from the functions workspace in the root lockfile (its own node_modules first). */
function rootVersion(name: string): string | undefined {
  return root.packages[`functions/node_modules/${name}`]?.version ?? root.packages[`node_modules/${name}`]?.version;
}

describe("the functions' deploy lockfile", () => {
  it("locks exactly functions/package.json's dependencies", () => {
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(3);
    expect(lock.packages[""]!.dependencies).toEqual(manifest.dependencies);
    expect(lock.packages[""]!.devDependencies).toEqual(manifest.devDependencies);
  });

  it("locks each direct dependency at the version the tests ran with", () => {
    for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) {
      expect({ name, version: lock.packages[`node_modules/${name}`]?.version }).toEqual({ name, version: rootVersion(name) });
    }
  });

  it("holds no package at a version the root lockfile does not install", () => {
    const installed = new Set(Object.entries(root.packages).map(([path, p]) => `${nameOf(path)}@${p.version}`));
    const foreign = Object.entries(lock.packages)
      .filter(([path]) => path !== "")
      .map(([path, p]) => `${nameOf(path)}@${p.version}`)
      .filter((id) => !installed.has(id));
    expect(foreign).toEqual([]);
  });

  it("is uploaded with the functions (not in firebase.json's ignore list)", () => {
    const ignore = (readJson("firebase.json").functions as Array<{ source: string; ignore: string[] }>).find((c) => c.source === "functions")!.ignore;
    expect(ignore.some((pattern) => pattern === "package-lock.json" || pattern === "*.json")).toBe(false);
  });
});
