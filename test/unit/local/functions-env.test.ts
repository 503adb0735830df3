/** The params the functions emulator reads from functions/.env.local (else it would ask on the terminal). */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFunctionsDotenv } from "../../../local/functions-env";

const dir = mkdtempSync(join(tmpdir(), "functions-env-"));
const values = (file: string): Record<string, string> =>
  Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => /^[A-Z]/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

describe("functions/.env.local for the emulators", () => {
  it("holds every param: the environment's value, else its default, quoted where dotenv would split it", () => {
    const file = join(dir, "a.env");
    expect(writeFunctionsDotenv({ ORCHESTRATOR_EGRESS_ALLOW: "127.0.0.0/8,::1", ORCHESTRATOR_SECRET_BINDINGS: '{"SLACK_TOKEN": ["hooks.slack.com"]}' }, file)).toBe(file);
    expect(values(file)).toEqual({
      ORCHESTRATOR_ALLOW_UNVERIFIED_COMMANDS: "false",
      ORCHESTRATOR_AUTH_DOMAIN: "",
      ORCHESTRATOR_EGRESS_ALLOW: "127.0.0.0/8,::1",
      ORCHESTRATOR_PUBLIC_STATUS: "true",
      ORCHESTRATOR_REGION: "us-central1",
      ORCHESTRATOR_SECRET_BINDINGS: `'{"SLACK_TOKEN": ["hooks.slack.com"]}'`,
      ORCHESTRATOR_WEB_API_KEY: "",
    });
    // Written again at the next start, with that start's values.
    writeFunctionsDotenv({ ORCHESTRATOR_PUBLIC_STATUS: "false" }, file);
    expect(values(file).ORCHESTRATOR_PUBLIC_STATUS).toBe("false");
  });

  it("leaves a file someone wrote by hand alone", () => {
    const file = join(dir, "b.env");
    writeFileSync(file, "ORCHESTRATOR_PUBLIC_STATUS=false\n");
    expect(writeFunctionsDotenv({}, file)).toBeUndefined();
    expect(readFileSync(file, "utf8")).toBe("ORCHESTRATOR_PUBLIC_STATUS=false\n");
  });
});
