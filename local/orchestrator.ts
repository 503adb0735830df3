/** `npm run orchestrator -- <command> …` and the `firebase-orchestrator` bin: the command line (local/cli/main.ts). */
import { main } from "./cli/main";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`✗ ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
