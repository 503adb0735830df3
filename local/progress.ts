/** Follows one plan in the terminal: tasks done/total, what is running, elapsed time. */
import type { Firestore } from "firebase-admin/firestore";
import { FINAL_PLAN_STATUSES } from "../functions/src/engine/plan";

// Every status a plan ends in (a dry run ends `planned`), from the plan state machine.
const FINAL: ReadonlySet<string> = FINAL_PLAN_STATUSES;
/** Running tasks named on the progress line. */
const RUNNING_SHOWN = 4;

export interface PlanOutcome {
  status: string;
  failedTask?: string;
  errors?: Array<{ path: string; message: string }>;
  elapsedMs: number;
}

/**
 * Follows a plan: its status from a listener on the plan document, its tasks from a few small
 * queries each half second (done, total, what is running). Not a listener on the tasks: the
 * Firestore emulator re-evaluates a collection listener on every write, which slowed a
 * 1,000-task plan on the local stack several times over.
 */
export function followPlan(db: Firestore, planId: string, options: { print?: boolean; timeoutMs?: number } = {}): Promise<PlanOutcome> {
  const print = options.print ?? true;
  const started = Date.now();
  const tty = process.stdout.isTTY === true;
  const planRef = db.collection("plans").doc(planId);
  const tasks = planRef.collection("tasks");
  let progress = { done: 0, total: 0, running: [] as string[], runningCount: 0 };
  let planStatus = "pending";
  let lastLine = "";

  const render = () => {
    if (!print) return;
    const { done, total, running, runningCount } = progress;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const now = runningCount > 0 ? ` · running: ${running.join(", ")}${runningCount > running.length ? ` +${runningCount - running.length}` : ""}` : "";
    const line = `  [${secs.padStart(5)} s] ${planStatus.padEnd(9)} ${done}/${total || "?"} tasks done${now}`;
    // On a terminal the line is redrawn in place: it must fit its width, or every redraw leaves a
    // wrapped remnant behind.
    const width = process.stdout.columns ?? 0;
    if (tty) process.stdout.write(`\r\x1b[2K${width > 1 && line.length >= width ? `${line.slice(0, width - 2)}…` : line}`);
    else if (line.replace(/\[.*?s\]/, "") !== lastLine.replace(/\[.*?s\]/, "")) console.log(line);
    lastLine = line;
  };

  // A task has `finishedAt` exactly while it is in a final status.
  const poll = async () => {
    if (!print) return;
    const [done, total, running, runningCount] = await Promise.all([
      tasks.where("finishedAt", "!=", null).count().get(),
      tasks.count().get(),
      tasks.where("status", "==", "running").select().limit(RUNNING_SHOWN).get(),
      tasks.where("status", "==", "running").count().get(),
    ]);
    progress = { done: done.data().count, total: total.data().count, running: running.docs.map((d) => d.id), runningCount: runningCount.data().count };
  };

  return new Promise((resolve, reject) => {
    const timer = options.timeoutMs ? setTimeout(() => finish(new Error(`plan ${planId} did not finish within ${options.timeoutMs} ms`)), options.timeoutMs) : undefined;
    // The clock redraws every half second; the tasks are counted that often for small plans and
    // less often for large ones (each count reads every task of the plan on the emulator).
    let polling = false;
    let polledAt = 0;
    const ticker = setInterval(() => {
      render();
      if (polling || Date.now() - polledAt < 500 + Math.min(2_500, progress.total / 2)) return;
      polling = true;
      polledAt = Date.now();
      poll()
        .then(render, (error: Error) => finish(error))
        .finally(() => (polling = false));
    }, 500);
    const stopPlan = planRef.onSnapshot((snap) => {
      const data = snap.data() ?? {};
      planStatus = String(data.status ?? "pending");
      // A final status is drawn once the last look at the tasks is in (finish), not with stale counts.
      if (FINAL.has(planStatus)) {
        finish(undefined, { status: planStatus, failedTask: data.failedTask ?? undefined, errors: data.errors ?? undefined, elapsedMs: Date.now() - started });
      } else render();
    }, (error) => finish(error));

    let finished = false;
    function finish(error?: Error, outcome?: PlanOutcome) {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      clearTimeout(timer);
      stopPlan();
      // One last look at the tasks, so the final line is complete.
      void poll()
        .catch(() => undefined)
        .then(() => {
          render();
          if (print && tty) process.stdout.write("\n");
          if (error) reject(error);
          else resolve(outcome!);
        });
    }
  });
}
