/** `npm run plan -- <plan.json> [flags]`: the command line's `plan` command (local/cli/plan-command.ts). */
import { runPlan } from "./cli/plan-command";

runPlan(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`✗ ${(error as Error).message}`);
    process.exit(1);
  },
);
