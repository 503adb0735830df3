/**
 * The functions emulator resolves firebase-functions params (functions/src/params.ts) from dotenv
 * files only, and asks on the terminal for any it cannot find, which would hang an unattended
 * stack. So every start of the emulators writes `functions/.env.local` (git-ignored; the emulator
 * reads it before `.env` and `.env.<project>`) with each param's value for this run: the process
 * environment's, else the param's default. A `.env.local` someone wrote by hand is left alone.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as params from "../functions/src/params";
import { ROOT } from "./project";

const FILE = join(ROOT, "functions", ".env.local");
const HEADER = "# Written by the local stack (local/functions-env.ts) at each start, from the environment and the params' defaults. Set a value in the environment (ORCHESTRATOR_PUBLIC_STATUS=false npm start), or replace this file with your own: it is then left alone.";

interface DeclaredParam {
  name: string;
  options: { default?: unknown };
}

const isParam = (value: unknown): value is DeclaredParam => typeof value === "object" && value !== null && typeof (value as DeclaredParam).name === "string" && "options" in value;

/** A dotenv value: quoted when it holds anything a dotenv parser would split or strip. */
const dotenvValue = (value: string): string => (/^[A-Za-z0-9_./:,*-]*$/.test(value) ? value : `'${value}'`);

/** Writes the file (`file`: elsewhere, for tests); answers where, or undefined when it left someone's own file alone. */
export function writeFunctionsDotenv(env: NodeJS.ProcessEnv, file = FILE): string | undefined {
  if (existsSync(file) && !readFileSync(file, "utf8").startsWith(HEADER)) return undefined;
  const declared: DeclaredParam[] = (Object.values(params) as unknown[]).filter(isParam);
  const lines = declared.map((p) => `${p.name}=${dotenvValue(String(env[p.name] ?? p.options.default ?? ""))}`);
  writeFileSync(file, `${HEADER}\n${lines.join("\n")}\n`);
  return file;
}
