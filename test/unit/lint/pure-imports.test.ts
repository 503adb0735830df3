/**
 * The pure core (engine/, planner/, schema/, health/, trust/principals|policy|credentials) loads no
 * Firebase or Google SDK and no module that does: eslint.config.mjs says so, and this runs ESLint
 * itself to prove the rule catches what it is for and that the folders obey it today.
 *
 * ESLint loads its flat config with a dynamic `import()`, which Jest's CommonJS sandbox refuses
 * (it would need --experimental-vm-modules), so ESLint runs in one child Node process: the same
 * `new ESLint({ cwd })`, `lintText` and `lintFiles` the CLI uses, answering in JSON.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..", "..");
const RULE = "@typescript-eslint/no-restricted-imports";

const PURE = ["functions/src/engine", "functions/src/planner", "functions/src/schema", "functions/src/health", "functions/src/trust/principals.ts", "functions/src/trust/policy.ts", "functions/src/trust/credentials.ts", "functions/src/schedules/cron.ts", "functions/src/schedules/fire.ts"];

interface Snippet {
  code: string;
  /** Where the snippet pretends to live, relative to the repository. */
  filePath: string;
}
interface Finding {
  file: string;
  line: number;
  ruleId: string | null;
  message: string;
}

const CHILD = `
import { ESLint } from "eslint";
import { readFileSync } from "node:fs";
const { cwd, snippets, files } = JSON.parse(readFileSync(0, "utf8"));
const eslint = new ESLint({ cwd });
const brief = (results) => results.flatMap((r) => r.messages.map((m) => ({ file: r.filePath, line: m.line, ruleId: m.ruleId, message: m.message })));
const texts = [];
for (const s of snippets) texts.push(brief(await eslint.lintText(s.code, { filePath: cwd + "/" + s.filePath })));
const linted = await eslint.lintFiles(files);
process.stdout.write(JSON.stringify({ texts, fileCount: linted.length, files: brief(linted) }));
`;

/** Each snippet uses what it imports, so only the rule under test can speak. */
const use = (name: string): string => `\nexport const used = ${name};\n`;
const engine = (code: string): Snippet => ({ code, filePath: "functions/src/engine/fake.ts" });
const inFile = (filePath: string, code: string): Snippet => ({ code, filePath });
const STORE_IMPORT = 'import { x } from "../store/tasks";' + use("x");

const REFUSED: Array<[string, Snippet]> = [
  ["firebase-admin/firestore", engine('import { getFirestore } from "firebase-admin/firestore";' + use("getFirestore"))],
  ["firebase-functions", engine('import { logger } from "firebase-functions";' + use("logger"))],
  ["@google-cloud/pubsub", engine('import { PubSub } from "@google-cloud/pubsub";' + use("PubSub"))],
  ["google-auth-library", engine('import { OAuth2Client } from "google-auth-library";' + use("OAuth2Client"))],
  ["googleapis", engine('import { google } from "googleapis";' + use("google"))],
  ["google-gax", engine('import { Status } from "google-gax";' + use("Status"))],
  ["a type from firebase-admin (SDK types are not needed in the pure core)", engine('import type { Firestore } from "firebase-admin/firestore";\nexport type T = Firestore;\n')],
  ["../store/tasks", engine(STORE_IMPORT)],
  ["../store (the folder)", engine('import { x } from "../store";' + use("x"))],
  ["../../runtime/commands, re-exported", engine('export { applyCommand } from "../../runtime/commands";')],
  ["../triggers/inbound", engine('export * from "../triggers/inbound";')],
  ["../bus/parse", engine('import { parseMessage } from "../bus/parse";' + use("parseMessage"))],
  ["../clients/google", engine('import { googleClients } from "../clients/google";' + use("googleClients"))],
  ["../executors/firebase/backup", engine('import { backupJobName } from "../executors/firebase/backup";' + use("backupJobName"))],
  ["a value next to a type from ../store/tasks", engine('import { type TaskDoc, x } from "../store/tasks";\nexport type T = TaskDoc;' + use("x"))],
  ["require() of firebase-functions", engine('import functions = require("firebase-functions");' + use("functions"))],
  ...(["functions/src/planner/a.ts", "functions/src/schema/a.ts", "functions/src/health/a.ts", "functions/src/trust/principals.ts", "functions/src/trust/policy.ts", "functions/src/trust/credentials.ts"].map(
    (file): [string, Snippet] => [`../store/tasks in ${file}`, inFile(file, STORE_IMPORT)],
  )),
  ["in health/environments.ts, an executor it does not use today", inFile("functions/src/health/environments.ts", 'export { hostingIntegration } from "../executors/firebase/hosting";')],
  ["in health/environments.ts, Firebase", inFile("functions/src/health/environments.ts", 'export { getFirestore } from "firebase-admin/firestore";')],
  ["health/probes.ts's exception elsewhere in health/", inFile("functions/src/health/goals.ts", 'export { grpcCode } from "../clients/grpc-code";')],
];

const ALLOWED: Array<[string, Snippet]> = [
  ["a type from ../store/tasks", engine('import type { TaskDoc } from "../store/tasks";\nexport type T = TaskDoc;\n')],
  ["an inline type from ../store/tasks", engine('import { type TaskDoc } from "../store/tasks";\nexport type T = TaskDoc;\n')],
  ["zod, node built-ins and pure neighbours", inFile("functions/src/planner/fake.ts", 'import { z } from "zod";\nimport { createHash } from "node:crypto";\nimport { analyseGraph } from "../engine/graph";\nimport { parseWith } from "../schema/issues";\nexport const used = [z, createHash, analyseGraph, parseWith];\n')],
  ["a folder whose name only starts like store", engine('import { x } from "../storehouse/x";' + use("x"))],
  ["../store/tasks outside the pure core (runtime/)", inFile("functions/src/runtime/a.ts", STORE_IMPORT)],
  ["../store/tasks outside the pure core (api/)", inFile("functions/src/api/a.ts", STORE_IMPORT)],
  ["../store/tasks in trust/verifiers.ts (it verifies with the SDKs)", inFile("functions/src/trust/verifiers.ts", STORE_IMPORT)],
  ["health/environments.ts's known import", inFile("functions/src/health/environments.ts", 'export { backupJobName } from "../executors/firebase/backup";')],
  ["health/probes.ts's known import", inFile("functions/src/health/probes.ts", 'export { grpcCode } from "../clients/grpc-code";')],
];

let linted: { texts: Finding[][]; fileCount: number; files: Finding[] };

beforeAll(() => {
  const input = JSON.stringify({ cwd: ROOT, snippets: [...REFUSED, ...ALLOWED].map(([, s]) => s), files: PURE });
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", CHILD], { cwd: ROOT, input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  linted = JSON.parse(out) as typeof linted;
}, 120_000);

const restricted = (index: number): string[] => linted.texts[index]!.filter((f) => f.ruleId === RULE).map((f) => f.message);

describe("pure modules' imports (eslint.config.mjs)", () => {
  it.each(REFUSED.map(([what], i) => [what, i] as const))("refuses %s", (_what, i) => {
    const found = restricted(i);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/is restricted .* pure modules /);
  });

  it.each(ALLOWED.map(([what], i) => [what, REFUSED.length + i] as const))("allows %s", (_what, i) => {
    expect(restricted(i)).toEqual([]);
  });

  it("says what to do instead", () => {
    expect(restricted(0)[0]).toMatch(/take what you need as an argument/);
    expect(restricted(REFUSED.findIndex(([what]) => what === "../store/tasks"))[0]).toMatch(/pass the value in, or use `import type`/);
  });

  it("finds the real pure folders clean, under every rule", () => {
    expect(linted.fileCount).toBeGreaterThan(30);
    expect(linted.files.map((f) => `${f.file.slice(ROOT.length + 1)}:${f.line} ${f.ruleId ?? ""} ${f.message}`)).toEqual([]);
  });
});
