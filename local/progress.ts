/** Follows one plan in the terminal: tasks done/total, what is running, elapsed time. */
import type { Firestore } from "firebase-admin/firestore";

const FINAL = new Set(["succeeded", "failed", "rejected", "invalid", "rolled_back", "cancelled"]);
const TASK_DONE = new Set(["succeeded", "failed", "skipped", "cancelled", "compensated"]);

export interface PlanOutcome {
  status: string;
  failedTask?: string;
  errors?: Array<{ path: string; message: string }>;
  elapsedMs: number;
}

export function followPlan(db: Firestore, planId: string, options: { print?: boolean; timeoutMs?: number } = {}): Promise<PlanOutcome> {
  const print = options.print ?? true;
  const started = Date.now();
  const tty = process.stdout.isTTY === true;
  const tasks = new Map<string, { status: string; name?: string }>();
  let planStatus = "pending";
  let lastLine = "";

  const render = () => {
    if (!print) return;
    const all = [...tasks.values()];
    const done = all.filter((t) => TASK_DONE.has(t.status)).length;
    const running = [...tasks.entries()].filter(([, t]) => t.status === "running").map(([id]) => id);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const now = running.length > 0 ? ` · running: ${running.slice(0, 4).join(", ")}${running.length > 4 ? ` +${running.length - 4}` : ""}` : "";
    const line = `  [${secs.padStart(5)} s] ${planStatus.padEnd(9)} ${done}/${all.length || "?"} tasks done${now}`;
    if (tty) process.stdout.write(`\r\x1b[2K${line}`);
    else if (line.replace(/\[.*?s\]/, "") !== lastLine.replace(/\[.*?s\]/, "")) console.log(line);
    lastLine = line;
  };

  return new Promise((resolve, reject) => {
    const timer = options.timeoutMs ? setTimeout(() => finish(new Error(`plan ${planId} did not finish within ${options.timeoutMs} ms`)), options.timeoutMs) : undefined;
    const ticker = setInterval(render, 500);
    const stopTasks = db.collection("plans").doc(planId).collection("tasks").onSnapshot((snap) => {
      for (const change of snap.docChanges()) tasks.set(change.doc.id, { status: String(change.doc.get("status")) });
      render();
    }, (error) => finish(error));
    const stopPlan = db.collection("plans").doc(planId).onSnapshot((snap) => {
      const data = snap.data() ?? {};
      planStatus = String(data.status ?? "pending");
      render();
      if (FINAL.has(planStatus)) {
        finish(undefined, { status: planStatus, failedTask: data.failedTask ?? undefined, errors: data.errors ?? undefined, elapsedMs: Date.now() - started });
      }
    }, (error) => finish(error));

    let finished = false;
    function finish(error?: Error, outcome?: PlanOutcome) {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      clearTimeout(timer);
      // Let the last task snapshot arrive so the final line is complete.
      setTimeout(() => {
        render();
        if (print && tty) process.stdout.write("\n");
        stopTasks();
        stopPlan();
        if (error) reject(error);
        else resolve(outcome!);
      }, 300);
    }
  });
}
