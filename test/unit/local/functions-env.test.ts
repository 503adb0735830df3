/** The params the functions emulator reads from functions/.env.local (else it would ask on the terminal). */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFunctionsDotenv } from "../../../local/functions-env";
import { emulator, NOTIFY_RECEIVER } from "../../../local/project";

const dir = mkdtempSync(join(tmpdir(), "functions-env-"));
const values = (file: string): Record<string, string> =>
  Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => /^[A-Z]/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

const hosting = emulator("hosting");
const receiver = `http://127.0.0.1:${NOTIFY_RECEIVER.port}`;

describe("functions/.env.local for the emulators", () => {
  it("holds every param: the environment's value, else the local stack's, else its default, quoted where dotenv would split it", () => {
    const file = join(mkdtempSync(join(tmpdir(), "functions-env-")), "a.env");
    expect(writeFunctionsDotenv({ ORCHESTRATOR_EGRESS_ALLOW: "127.0.0.0/8,::1", ORCHESTRATOR_SECRET_BINDINGS: '{"SLACK_TOKEN": ["hooks.slack.com"]}' }, file)).toBe(file);
    expect(values(file)).toEqual({
      ORCHESTRATOR_ALLOW_UNVERIFIED_COMMANDS: "false",
      ORCHESTRATOR_AUTH_DOMAIN: "",
      ORCHESTRATOR_EGRESS_ALLOW: "127.0.0.0/8,::1",
      ORCHESTRATOR_NOTIFY_TARGETS: "slack:LOCAL_SLACK_WEBHOOK,chat:LOCAL_CHAT_WEBHOOK,webhook:LOCAL_JSON_WEBHOOK",
      ORCHESTRATOR_PUBLIC_STATUS: "true",
      ORCHESTRATOR_REGION: "us-central1",
      ORCHESTRATOR_SECRET_BINDINGS: `'{"SLACK_TOKEN": ["hooks.slack.com"]}'`,
      ORCHESTRATOR_STATUS_PAGE_URL: `http://${hosting.host}:${hosting.port}/`,
      ORCHESTRATOR_WEB_API_KEY: "",
    });
    // Written again at the next start, with that start's values.
    writeFunctionsDotenv({ ORCHESTRATOR_PUBLIC_STATUS: "false" }, file);
    expect(values(file).ORCHESTRATOR_PUBLIC_STATUS).toBe("false");
  });

  it("writes the notify targets' webhook URLs beside it, in functions/.secret.local: the local receiver's, or the environment's", () => {
    const folder = mkdtempSync(join(tmpdir(), "functions-env-"));
    writeFunctionsDotenv({}, join(folder, ".env.local"));
    expect(values(join(folder, ".secret.local"))).toEqual({
      LOCAL_SLACK_WEBHOOK: `${receiver}/slack`,
      LOCAL_CHAT_WEBHOOK: `${receiver}/chat`,
      LOCAL_JSON_WEBHOOK: `${receiver}/webhook`,
    });
    // Your own targets, with their URLs from the environment (quoted: a query string has `?` and `&`).
    writeFunctionsDotenv({ ORCHESTRATOR_NOTIFY_TARGETS: "slack:SLACK_OPS_WEBHOOK,webhook:LOCAL_JSON_WEBHOOK", SLACK_OPS_WEBHOOK: "http://127.0.0.1:9999/hook?a=1&b=2" }, join(folder, ".env.local"));
    expect(values(join(folder, ".secret.local"))).toEqual({ SLACK_OPS_WEBHOOK: "'http://127.0.0.1:9999/hook?a=1&b=2'", LOCAL_JSON_WEBHOOK: `${receiver}/webhook` });
    expect(values(join(folder, ".env.local")).ORCHESTRATOR_NOTIFY_TARGETS).toBe("slack:SLACK_OPS_WEBHOOK,webhook:LOCAL_JSON_WEBHOOK");
    // A secrets file of your own is left alone (your .env.local too, each on its own).
    writeFileSync(join(folder, ".secret.local"), "SLACK_OPS_WEBHOOK=https://hooks.slack.com/services/mine\n");
    writeFunctionsDotenv({}, join(folder, ".env.local"));
    expect(readFileSync(join(folder, ".secret.local"), "utf8")).toBe("SLACK_OPS_WEBHOOK=https://hooks.slack.com/services/mine\n");
    expect(values(join(folder, ".env.local")).ORCHESTRATOR_NOTIFY_TARGETS).toBe("slack:LOCAL_SLACK_WEBHOOK,chat:LOCAL_CHAT_WEBHOOK,webhook:LOCAL_JSON_WEBHOOK");
  });

  it("leaves a file someone wrote by hand alone", () => {
    const file = join(dir, "b.env");
    writeFileSync(file, "ORCHESTRATOR_PUBLIC_STATUS=false\n");
    expect(writeFunctionsDotenv({}, file)).toBeUndefined();
    expect(readFileSync(file, "utf8")).toBe("ORCHESTRATOR_PUBLIC_STATUS=false\n");
  });
});
