/**
 * The functions emulator resolves firebase-functions params (functions/src/params.ts) from dotenv
 * files only, and asks on the terminal for any it cannot find, which would hang an unattended
 * stack. So every start of the emulators writes `functions/.env.local` (git-ignored; the emulator
 * reads it before `.env` and `.env.<project>`) with each param's value for this run: the process
 * environment's, else the local stack's own (notifications go to the local receiver, and link to
 * the Hosting emulator), else the param's default. A `.env.local` someone wrote by hand is left alone.
 *
 * Secrets (`defineSecret`) come from `functions/.secret.local` instead, written the same way beside
 * it: each notify target's URL, from the environment (SLACK_OPS_WEBHOOK=… npm start), else the
 * local receiver's for the local targets (local/notify-receiver.ts). A hand-written one is left alone too.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as params from "../functions/src/params";
import { NOTIFY_TARGETS_ENV, parseNotifyTargets } from "../functions/src/notify/targets";
import { LOCAL_NOTIFY_TARGETS, localNotifyUrls } from "./notify-receiver";
import { emulator, ROOT } from "./project";

const FILE = join(ROOT, "functions", ".env.local");
const HEADER = "# Written by the local stack (local/functions-env.ts) at each start, from the environment and the params' defaults. Set a value in the environment (ORCHESTRATOR_PUBLIC_STATUS=false npm start), or replace this file with your own: it is then left alone.";
const SECRET_HEADER = "# Written by the local stack (local/functions-env.ts) at each start: the notify targets' webhook URLs, from the environment or the local receiver. Replace this file with your own to keep it.";

interface DeclaredParam {
  name: string;
  options: { default?: unknown };
}

const isParam = (value: unknown): value is DeclaredParam => typeof value === "object" && value !== null && typeof (value as DeclaredParam).name === "string" && "options" in value;

/** A dotenv value: quoted when it holds anything a dotenv parser would split or strip. */
const dotenvValue = (value: string): string => (/^[A-Za-z0-9_./:,*-]*$/.test(value) ? value : `'${value}'`);

/** Whether `file` may be (re)written: it is absent, or this module wrote it (starts with `header`). */
const ours = (file: string, header: string): boolean => !existsSync(file) || readFileSync(file, "utf8").startsWith(header);

/** Params whose local value differs from the deployed default: notifications reach the local receiver and link to the local page. */
function localValues(): Record<string, string> {
  const hosting = emulator("hosting");
  return {
    [NOTIFY_TARGETS_ENV]: LOCAL_NOTIFY_TARGETS.map((t) => `${t.kind}:${t.secret}`).join(","),
    [params.STATUS_PAGE_URL.name]: `http://${hosting.host}:${hosting.port}/`,
  };
}

/**
 * Writes both files (`file`: elsewhere, for tests; the secrets go beside it); answers where the
 * params went, or undefined when it left someone's own `.env.local` alone.
 */
export function writeFunctionsDotenv(env: NodeJS.ProcessEnv, file = FILE): string | undefined {
  const values: NodeJS.ProcessEnv = { ...localValues(), ...env };
  writeFunctionsSecrets(values, join(dirname(file), ".secret.local"));
  if (!ours(file, HEADER)) return undefined;
  const declared: DeclaredParam[] = (Object.values(params) as unknown[]).filter(isParam);
  const lines = declared.map((p) => `${p.name}=${dotenvValue(String(values[p.name] ?? p.options.default ?? ""))}`);
  writeFileSync(file, `${HEADER}\n${lines.join("\n")}\n`);
  return file;
}

/** The notify targets' URLs (those the environment gives, else the local receiver's), unless the file is someone's own. */
function writeFunctionsSecrets(values: NodeJS.ProcessEnv, file: string): void {
  if (!ours(file, SECRET_HEADER)) return;
  const local = localNotifyUrls();
  const lines = parseNotifyTargets(values[NOTIFY_TARGETS_ENV])
    .map((t) => [t.secret, values[t.secret] ?? local[t.secret]] as const)
    .filter((entry): entry is readonly [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${dotenvValue(value)}`);
  writeFileSync(file, `${SECRET_HEADER}\n${lines.join("\n")}\n`);
}
