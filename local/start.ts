/**
 * `npm start`: the whole product on this machine, offline. Builds the functions, starts the
 * Firebase Emulator Suite (Firestore, Pub/Sub, Functions, Auth, Hosting), fires scheduled functions
 * on their schedules, writes the demo plan, follows it, and prints the page's URL. A local
 * notification receiver prints each alert and approval gate the notifier posts (🔔 lines).
 *
 *   npm start                         keep running until Ctrl-C
 *   npm start -- --exit-when-done     exit 0 when the demo plan succeeded, non-zero otherwise
 *   npm start -- --no-demo            start the stack only
 *   npm start -- --verbose            also show the emulators' own logs
 *   npm start -- --manual-approval    leave the demo's approval gates to you (the page, or a command)
 */
import { randomBytes } from "node:crypto";
import { localFirestore } from "./admin";
import { buildFunctions, buildPage } from "./build";
import { createDemoAccounts, idToken } from "./demo-accounts";
import { demoEnvironmentPlan } from "./demo-plan";
import { assertPortsFree, PortInUseError, type SuiteEmulator } from "./emulators";
import { startLocalStack } from "./local-stack";
import { publishJson } from "../functions/src/bus/publish";
import { TOPICS } from "../functions/src/config";
import type { Firestore } from "firebase-admin/firestore";
import { notificationLine, startNotifyReceiver, type NotifyReceiver } from "./notify-receiver";
import { followPlan } from "./progress";
import { emulator, NOTIFY_RECEIVER, PROJECT_ID } from "./project";
import { startTicker, type Ticker } from "./scheduler";

const args = new Set(process.argv.slice(2));
const exitWhenDone = args.has("--exit-when-done");
const withDemo = !args.has("--no-demo");
const verbose = args.has("--verbose");
const manualApproval = args.has("--manual-approval");
const ALL: SuiteEmulator[] = ["firestore", "pubsub", "functions", "auth", "hosting"];
const HEALTH_DEMO_SPEED = 10;

async function main(): Promise<number> {
  const t0 = Date.now();
  console.log("› building functions and the page…");
  buildFunctions();
  await buildPage();
  await assertPortsFree(ALL);
  const receiver: NotifyReceiver = await startNotifyReceiver({ onNotification: (n) => console.log(`  ${notificationLine(n)}`) }).catch((error: unknown) => {
    throw new PortInUseError(`Cannot start the local stack:\n  - port ${NOTIFY_RECEIVER.port} (notification receiver) is unavailable (${(error as Error).message}): stop what uses it, or shift every port: ORCHESTRATOR_PORT_OFFSET=3000`);
  });

  console.log(`› starting the Firebase Emulator Suite (${ALL.join(", ")}) for project ${PROJECT_ID}…`);
  const { suite, controlPlane } = await startLocalStack(ALL, { echo: verbose });
  console.log(`✓ local Google control plane (Scheduler, Monitoring, Rules, Hosting, Identity Toolkit APIs) on ${controlPlane.env.ORCHESTRATOR_GOOGLE_GRPC_ENDPOINT} (gRPC) and ${controlPlane.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT} (REST)`);
  console.log(`✓ notification receiver on ${receiver.url}: alerts and approval gates the functions post to its /slack, /chat and /webhook print here (🔔)`);
  let ticker: Ticker | undefined;
  let stopping = false;
  const shutdown = async (code: number): Promise<number> => {
    if (stopping) return code;
    stopping = true;
    ticker?.stop();
    console.log("\n› stopping the emulators…");
    await suite.stop();
    await controlPlane.stop();
    await receiver.stop();
    console.log("› stopped.");
    return code;
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => void shutdown(130).then((code) => process.exit(code)));
  }
  void suite.exited.then((code) => {
    if (!stopping) {
      console.error(`✗ the emulators exited unexpectedly (code ${code}); their log: ${suite.logFile}`);
      process.exit(1);
    }
  });

  try {
    await suite.ready;
  } catch (error) {
    console.error(`✗ ${(error as Error).message}; see ${suite.logFile}`);
    return shutdown(1);
  }
  console.log(`✓ emulators ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (log: ${suite.logFile})`);

  ticker = await startTicker({
    // Health runs come 10× faster than deployed (every 30 s), so an alert opens within minutes of `npm run chaos`.
    speed: (fn) => (fn.name === "healthRun" ? HEALTH_DEMO_SPEED : 1),
    onFire: (fn, result) => verbose && console.log(`  scheduler: ${fn.name} → ${result instanceof Error ? result.message : result}`),
  });
  console.log(
    `✓ local Cloud Scheduler: ${ticker.functions().map((f) => `${f.name} (${f.schedule}${f.name === "healthRun" ? `, here ${HEALTH_DEMO_SPEED}× faster` : ""})`).join(", ") || "no scheduled functions"}`,
  );

  const { operator, viewer } = await createDemoAccounts();
  console.log(`✓ demo accounts (Auth emulator): operator ${operator.email} / ${operator.password} · viewer ${viewer.email} / ${viewer.password}`);

  const hosting = emulator("hosting");
  const pageUrl = `http://${hosting.host}:${hosting.port}/`;
  if (!withDemo) {
    console.log(`\n  Status page: ${pageUrl}\n  Ctrl-C to stop.`);
    return new Promise<number>(() => undefined);
  }

  const db = localFirestore();
  // Production is a protected environment here, as a deployment would configure it: its gate's
  // approvers come from this policy (config/protection), not from the plan.
  await db.collection("config").doc("protection").set({
    protectedEnvironments: [{ projectId: "lang-trak-prod", approvers: [operator.email], requiredApprovals: 1, approvalDeadlineHours: 72 }],
    description: "written by npm start: the demo's production is a protected environment",
  });
  console.log(`✓ protection policy (config/protection): lang-trak-prod is a protected environment, approved by ${operator.email}`);
  const planId = `lang-trak-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, "")}-${randomBytes(2).toString("hex")}`;
  const plan = demoEnvironmentPlan();
  await db.collection("plans").doc(planId).set(plan);
  console.log(`› wrote plans/${planId}: "${String(plan.name)}" (an environment plan: examples/lang-trak.json)`);
  console.log(`  Status page: ${pageUrl}?plan=${planId}`);
  const stopApprover = manualApproval
    ? watchGates(db, planId, (taskId) => console.log(`\n  ⏸ ${taskId} waits for approval: sign in on the page as ${operator.email} and approve it, or run: npm run orchestrator -- approve ${planId} ${taskId}`))
    : watchGates(db, planId, (taskId) => {
        // The demo approves as its operator, through the same Pub/Sub command path other systems
        // use, proving who it is with the operator's ID token (a bare `by` never passes a gate).
        console.log(`\n  ✋ ${taskId} waits for approval → approving as ${operator.email} (npm start -- --manual-approval leaves it to you)`);
        void idToken(operator).then((credential) =>
          publishJson(TOPICS.planCommands, [{ planId, command: "approve", taskId, by: operator.email, reason: "approved by the npm start demo", commandId: `demo-${taskId}`, credential }]),
        );
      });
  const outcome = await followPlan(db, planId, { timeoutMs: 10 * 60_000 });
  stopApprover();
  if (outcome.status === "succeeded") console.log(`✓ demo plan succeeded in ${(outcome.elapsedMs / 1000).toFixed(1)} s`);
  else {
    console.log(`✗ demo plan ended ${outcome.status}${outcome.failedTask ? ` at ${outcome.failedTask}` : ""}`);
    for (const e of outcome.errors ?? []) console.log(`    ${e.path}: ${e.message}`);
  }
  const state = controlPlane.state() as unknown as Record<string, unknown>;
  console.log(`  local control plane now holds: ${Object.entries(state).map(([k, v]) => `${k} ${typeof v === "object" && v !== null ? Object.keys(v).length : 0}`).join(", ")}`);

  if (exitWhenDone) return shutdown(outcome.status === "succeeded" ? 0 : 1);
  watchHealth(db);
  console.log(`\n  Status page: ${pageUrl}?plan=${planId}\n  The stack keeps running: write more plans to Firestore at ${emulator("firestore").host}:${emulator("firestore").port}.`);
  console.log(`  Health runs every ${300 / HEALTH_DEMO_SPEED} s; try \`npm run chaos -- lang-trak-prod hosting down\` in another terminal and watch an alert open here. Ctrl-C to stop.`);
  return new Promise<number>(() => undefined);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof PortInUseError) console.error(`✗ ${error.message}`);
    else console.error(`✗ ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);

/** Calls `onGate` once for each task of the plan that starts waiting for approval. */
function watchGates(db: Firestore, planId: string, onGate: (taskId: string) => void): () => void {
  const seen = new Set<string>();
  return db
    .collection("plans")
    .doc(planId)
    .collection("tasks")
    .where("status", "==", "waiting_approval")
    .onSnapshot((snap) => {
      for (const doc of snap.docs) {
        if (seen.has(doc.id)) continue;
        seen.add(doc.id);
        setTimeout(() => onGate(doc.id), 1_500);
      }
    });
}

/** Prints each health run's summary and every alert that opens or resolves, as they happen. */
function watchHealth(db: Firestore): void {
  const startedAt = Date.now();
  db.collection("reports")
    .where("startedAt", ">=", startedAt)
    .onSnapshot((snap) => {
      for (const change of snap.docChanges()) {
        if (change.type !== "added") continue;
        const report = change.doc.data() as { durationMs?: number; environments?: Array<{ environmentId?: string; status?: string }> };
        const states = (report.environments ?? []).map((e) => `${e.environmentId ?? "?"} ${e.status ?? "?"}`).join(", ");
        console.log(`  health run ${change.doc.id}: ${states || "no environments"}${report.durationMs === undefined ? "" : ` (${report.durationMs} ms)`}`);
      }
    }, () => undefined);
  db.collection("alerts").onSnapshot((snap) => {
    for (const change of snap.docChanges()) {
      const alert = change.doc.data() as { status?: string; severity?: string; title?: string; lastSeen?: number };
      if ((alert.lastSeen ?? 0) < startedAt) continue;
      if (change.type === "added" && alert.status === "open") console.log(`  ⚠ alert opened (${alert.severity}): ${alert.title}`);
      if (change.type === "modified" && alert.status === "resolved") console.log(`  ✓ alert resolved: ${alert.title}`);
    }
  }, () => undefined);
}
