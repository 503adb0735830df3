/**
 * The integration layer of the model-based test: the generator of the pure layer (generator.ts)
 * drives the real engine, runtime and store, on the Firestore and Pub/Sub emulators.
 *
 * - Each plan of a scenario is written as a plan document; its "created" event, every task-ready
 *   message the engine publishes and every external task's token are this world's queue. A
 *   delivery runs the real handler (`startPlan`, `runTask`); `http` tasks (and compensations) call a
 *   local webhook that answers as the event's outcome says; gates are answered with `applyCommand`
 *   by verified approvers, external tasks with the published token; the scheduled sweeper runs on
 *   every minute of a clock the world moves.
 * - Crashes: any operation (a delivery, a start, a command, a sweep) may die at its Nth commit,
 *   before or after that commit applied (AsyncLocalStorage marks the operation; a patched
 *   `WriteBatch#_commit`, under every batch and transaction of the official client, throws), or
 *   live on with a commit that applied but answered DEADLINE_EXCEEDED (an ambiguous commit).
 *   A dead operation publishes nothing more.
 * - Messages are taken as the official Pub/Sub client publishes them to the emulator (once the
 *   emulator acknowledged them), so their order and fate (duplicated, dropped, late) is the
 *   world's to choose, as in the pure layer.
 * - Every sequence runs in its own emulator project (a lane), so sequences run side by side and no
 *   sweep of one sees another's plans.
 *
 * Invariants, after every event: no two active plans share an environment, an active plan holds
 * its locks, and no attempt's executor runs twice while its worker lives (the webhook counts calls
 * per idempotency key against the workers that died). After the events, the drain (deliveries,
 * answers to gates, sweeps) must end every plan within MAX_DRAIN_SWEEPS sweeps, with nothing left
 * in `planning` or `redriving`, no task open, no lock held, and each plan's history a path of the
 * plan machine.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { deleteApp, initializeApp, type App } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";
import { TOPICS } from "../../../functions/src/config";
import { ACTIVE_PLAN_STATUSES, FINAL_PLAN_STATUSES } from "../../../functions/src/engine/plan";
import { applyCommand } from "../../../functions/src/runtime/commands";
import { runTask } from "../../../functions/src/runtime/run-task";
import { startPlan } from "../../../functions/src/runtime/start-plan";
import { sweepStalledTasks } from "../../../functions/src/runtime/sweep";
import { applyExternalTaskEvent } from "../../../functions/src/runtime/task-events";
import { taskReadyMessageSchema, type TaskReadyMessage } from "../../../functions/src/schema/messages";
import type { PlanStatus } from "../../../functions/src/schema/plan";
import { prng } from "../prng";
import { person, operator, RULES } from "../principals";
import { CRASH_BELOW, describeEvent, environmentsOf, generateScenario, nextEvent, type CommandKind, type Offer, type Scenario, type SimEvent, type SimPlanSpec } from "./generator";
import { OPEN_TASK, PLAN_EDGES, USING_ENVIRONMENTS } from "./invariants";
import { at, DRAIN_SWEEP_EVERY_MS, MAX_DRAIN_SWEEPS } from "./run";

/** Events per live sequence: fewer than the pure layer's, each is a real round trip or several. */
export const LIVE_MIN_EVENTS = 8;
export const LIVE_MAX_EVENTS = 32;
const MAX_DRAIN_SWEEPS_WITH_GATES = 200;
const MAX_DRAIN_DELIVERIES = 2_000;
const APPROVERS = ["op0@example.com", "op1@example.com"] as const;
const OPEN: ReadonlySet<string> = OPEN_TASK;

export class LiveViolation extends Error {
  constructor(
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
  }
}

// ── crashes: one operation dies at its Nth commit ───────────────────────────────────────────────

interface Operation {
  /** The commit (1-based) at which the fault strikes; null: none. */
  at: number | null;
  fault: "die_before" | "die_after" | "ambiguous";
  commits: number;
  dead: boolean;
}

const operations = new AsyncLocalStorage<Operation>();
const INJECTED = "injected crash";
const LOST_ANSWER = "injected: the commit applied, its answer was lost";
const isInjected = (error: unknown): boolean => error instanceof Error && error.message.includes(INJECTED);

type Commit = (this: unknown, ...args: unknown[]) => Promise<unknown>;
type Publish = (this: { name: string }, message: { json?: unknown }) => Promise<string>;
let hooked = false;

/** The writes and publishes of the official clients, watched for the operation they belong to. */
function installHooks(db: Firestore, route: (topic: string, json: unknown) => void): void {
  if (hooked) return;
  hooked = true;
  // Every batch, `set`, `create`, `update` and transaction commit of the client goes through here.
  const batchPrototype = Object.getPrototypeOf(db.batch()) as { _commit: Commit };
  const commit = batchPrototype._commit;
  batchPrototype._commit = async function (this: unknown, ...args: unknown[]) {
    const op = operations.getStore();
    if (op === undefined) return commit.apply(this, args);
    if (op.dead) throw new Error(`${INJECTED}: the worker is gone`);
    op.commits += 1;
    if (op.commits !== op.at) return commit.apply(this, args);
    if (op.fault === "ambiguous") {
      await commit.apply(this, args);
      throw Object.assign(new Error(LOST_ANSWER), { code: 4 });
    }
    op.dead = true;
    if (op.fault === "die_after") await commit.apply(this, args);
    throw new Error(`${INJECTED} at commit ${op.commits} (${op.fault === "die_after" ? "after it applied" : "before it applied"})`);
  };
  // The functions' own Pub/Sub client (it may be another copy than the tests').
  const functionsSrc = join(__dirname, "../../../functions/src");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pubsub = require(require.resolve("@google-cloud/pubsub", { paths: [functionsSrc] })) as { Topic: { prototype: { publishMessage: Publish } } };
  const publish = pubsub.Topic.prototype.publishMessage;
  pubsub.Topic.prototype.publishMessage = async function (this: { name: string }, message: { json?: unknown }) {
    if (operations.getStore()?.dead) throw new Error(`${INJECTED}: the worker is gone`);
    const id = await publish.call(this, message);
    route(this.name.split("/").pop()!, message.json);
    return id;
  };
}

// ── the webhook that http tasks and compensations call ──────────────────────────────────────────

interface Call {
  key: string;
  status: number;
}

class Webhook {
  private constructor(
    private readonly server: Server,
    readonly base: string,
    private readonly answer: (planId: string, taskId: string, phase: string, key: string) => number,
  ) {}

  static async start(answer: (planId: string, taskId: string, phase: string, key: string) => number): Promise<Webhook> {
    let self: Webhook | undefined;
    const server = createServer((req: IncomingMessage, res) => {
      const [, , planId, taskId, phase] = (req.url ?? "").split("/");
      res.statusCode = self!.answer(planId ?? "", taskId ?? "", phase ?? "", String(req.headers["idempotency-key"] ?? ""));
      req.resume();
      res.end(res.statusCode < 300 ? "ok" : "no");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    self = new Webhook(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, answer);
    return self;
  }

  url(planId: string, taskId: string, phase: "run" | "compensate"): string {
    return `${this.base}/m/${planId}/${taskId}/${phase}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** An executor's answer from the event's outcome fraction, as the pure layer's executorOutcome: mostly success. */
function statusFor(x: number, phase: string): number {
  if (phase === "compensate") return x < 0.88 ? 200 : 400;
  if (x < 0.76) return 200;
  if (x < 0.86) return 503;
  if (x < 0.93) return 400;
  return 503; // the pure layer's timeout: retryable too (a real one would hold the test for a minute)
}

// ── plan documents from the generator's plans ───────────────────────────────────────────────────

const projectOf = (env: string) => `model-${env}`;

function planDocument(spec: SimPlanSpec, planId: string, web: Webhook): Record<string, unknown> {
  const tasks = spec.tasks.map((t, i) => {
    const task: Record<string, unknown> = { id: t.id, run: t.run, needs: t.needs, triggerRule: t.triggerRule, timeoutSeconds: t.timeoutSeconds };
    if (t.run === "http") task.params = { url: web.url(planId, t.id, "run") };
    else if (t.run === "firebase") {
      const projectId = projectOf(String(t.params.projectId));
      task.params = { integration: "environment", action: "verify", environment: "dev", projectId, region: "us-central1", settings: { integrations: [] } };
    } else if (t.run === "approval") task.params = { ...t.params };
    if (t.retry !== undefined) task.retry = t.retry;
    // Compensations call the webhook, so they fail now and then too.
    if (t.compensate !== undefined) task.compensate = { run: "http", params: { url: web.url(planId, t.id, "compensate") } };
    if (spec.compile === "invalid" && i === spec.tasks.length - 1) task.needs = [...t.needs, "no-such-task"];
    return task;
  });
  // A task-list plan is never rejected (only the environments form has hard constraints): both end without running.
  const dryRun = spec.compile === "planned" || spec.compile === "rejected";
  return { failurePolicy: spec.failurePolicy, approvers: [...APPROVERS], ...(dryRun ? { dryRun: true } : {}), tasks };
}

// ── one sequence on one lane ────────────────────────────────────────────────────────────────────

type Queued = { id: number; kind: "created"; planId: string } | { id: number; kind: "task"; msg: TaskReadyMessage };

interface PlanView {
  id: string;
  status: PlanStatus;
  effectsPending: boolean;
  envs: string[];
  tasks: Map<string, { status: string; attempt: number }>;
}

interface WorldView {
  plans: PlanView[];
  locks: Map<string, string>;
}

export interface LiveStats {
  events: number;
  deliveries: number;
  crashes: number;
  ambiguous: number;
  executorCalls: number;
  commandsApplied: number;
  /** Handlers that threw something not injected: Pub/Sub would redeliver (counted, and redelivered). */
  handlerErrors: number;
  drainSweeps: number;
  /** Wall time per kind of operation (ms): where a sequence spends it. */
  time: Record<string, number>;
  finals: string[];
}

export interface LiveResult {
  seed: number;
  scenario: Scenario;
  events: SimEvent[];
  stats: LiveStats;
  violation?: { invariant: string; message: string; event: string };
  log: string[];
}

class Sequence {
  readonly queue: Queued[] = [];
  /** The newest token published per external task (`plan/task`). */
  readonly tokens = new Map<string, string>();
  /** Executor calls per idempotency key, and the worker deaths that may explain a repeat. */
  readonly calls = new Map<string, Call[]>();
  readonly deaths = new Map<string, number>();
  readonly log: string[] = [];
  readonly stats: LiveStats = { events: 0, deliveries: 0, crashes: 0, ambiguous: 0, executorCalls: 0, commandsApplied: 0, handlerErrors: 0, drainSweeps: 0, finals: [], time: {} };
  /** The outcome fraction the webhook answers with during the current event. */
  outcome = 0.5;
  skew = 0;
  violation: LiveViolation | undefined;
  private nextId = 1;
  readonly planIds: string[];
  readonly envsOf = new Map<string, string[]>();

  constructor(
    readonly lane: Lane,
    readonly scenario: Scenario,
    run: number,
  ) {
    this.planIds = scenario.plans.map((p) => `m${scenario.seed}r${run}-${p.id}`);
    scenario.plans.forEach((p, i) => this.envsOf.set(this.planIds[i]!, environmentsOf(p.tasks).map(projectOf)));
  }

  now = (): number => Date.now() + this.skew;

  push(item: { kind: "created"; planId: string } | { kind: "task"; msg: TaskReadyMessage }): void {
    this.queue.push({ id: this.nextId++, ...item });
  }

  /** Plans paused as of the last command (read after it): nothing of theirs may begin until one resumes them. */
  readonly paused = new Set<string>();

  call(planId: string, taskId: string, phase: string, key: string): number {
    if (phase === "run" && this.paused.has(planId) && this.violation === undefined) {
      this.violation = new LiveViolation("paused-plans-dispatch-nothing", `${planId}/${taskId}: an attempt began while the plan was paused (key ${key})`);
    }
    const status = statusFor(this.outcome, phase);
    const calls = this.calls.get(key) ?? [];
    calls.push({ key, status });
    this.calls.set(key, calls);
    this.stats.executorCalls += 1;
    const allowed = 1 + (this.deaths.get(`${planId}/${taskId}/${phase}`) ?? 0);
    if (calls.length > allowed && this.violation === undefined) {
      this.violation = new LiveViolation("executor-once-per-live-worker", `${planId}/${taskId} ${phase}: call ${calls.length} with idempotency key ${key}, but only ${allowed - 1} worker(s) of it died`);
    }
    return status;
  }

  /** Runs one operation; a fault planned by `crash` (the event's fraction) strikes at one of its first `most` commits. */
  async timed<T>(kind: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.stats.time[kind] = (this.stats.time[kind] ?? 0) + performance.now() - started;
    }
  }

  async op<T>(label: string, crash: number | null, most: number, work: () => Promise<T>, onDeath?: () => void): Promise<{ died: boolean; value?: T; error?: unknown }> {
    let at: number | null = null;
    let fault: Operation["fault"] = "die_before";
    if (crash !== null && crash < CRASH_BELOW) {
      const u = (crash / CRASH_BELOW) * most;
      at = 1 + Math.floor(u);
      const sub = u - Math.floor(u);
      fault = sub < 0.4 ? "die_before" : sub < 0.8 ? "die_after" : "ambiguous";
    }
    const op: Operation = { at, fault, commits: 0, dead: false };
    try {
      const value = await this.timed(label.split(" ")[0]!, () => operations.run(op, work));
      if (op.dead) this.died(label, op, onDeath);
      else if (at !== null && fault === "ambiguous" && op.commits >= at) this.ambiguous(label);
      return { died: op.dead, value };
    } catch (error) {
      if (op.dead || isInjected(error)) {
        this.died(label, op, onDeath);
        return { died: true };
      }
      if (at !== null && fault === "ambiguous" && op.commits >= at) this.ambiguous(label);
      // A handler may throw on the lost answer of a commit (the platform redelivers; the caller
      // does). Nothing else fails here on its own (no network, no quota): any other throw is a
      // defect, one that at-least-once delivery would turn into a redelivery storm.
      this.stats.handlerErrors += 1;
      const message = `${label} threw: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
      this.note(`  ${message}`);
      if (!(error instanceof Error && error.message.includes(LOST_ANSWER))) this.violation ??= new LiveViolation("handlers-do-not-throw", message);
      return { died: false, error };
    }
  }

  private died(label: string, op: Operation, onDeath?: () => void): void {
    this.stats.crashes += 1;
    onDeath?.();
    this.note(`  ${label} died at commit ${op.commits} (${op.fault})`);
  }

  private ambiguous(label: string): void {
    this.stats.ambiguous += 1;
    this.note(`  ${label}: a commit applied but answered DEADLINE_EXCEEDED`);
  }

  note(line: string): void {
    this.log.push(line);
  }
}

/** One emulator project (its own Firestore database) that runs one sequence at a time. */
class Lane {
  readonly db: Firestore;
  private constructor(
    readonly projectId: string,
    private readonly app: App,
  ) {
    this.db = getFirestore(app);
  }

  static open(index: number): Lane {
    const projectId = `demo-model-${index}`;
    return new Lane(projectId, initializeApp({ projectId }, `model-lane-${index}-${Date.now()}`));
  }

  /** Deletes every document of this lane's project (the emulator's own endpoint). */
  async clear(): Promise<void> {
    const response = await fetch(`http://${process.env.FIRESTORE_EMULATOR_HOST}/emulator/v1/projects/${this.projectId}/databases/(default)/documents`, { method: "DELETE" });
    if (!response.ok) throw new Error(`clearing ${this.projectId} failed: ${response.status}`);
  }

  close(): Promise<void> {
    return deleteApp(this.app);
  }
}

// ── the harness: lanes, the webhook and message routing ─────────────────────────────────────────

export class LiveHarness {
  private readonly byPlan = new Map<string, Sequence>();
  private runs = 0;
  private constructor(
    readonly lanes: Lane[],
    readonly web: Webhook,
  ) {}

  static async open(laneCount: number): Promise<LiveHarness> {
    const lanes = Array.from({ length: laneCount }, (_, i) => Lane.open(i));
    let harness: LiveHarness | undefined;
    const web = await Webhook.start((planId, taskId, phase, key) => harness?.byPlan.get(planId)?.call(planId, taskId, phase, key) ?? 404);
    harness = new LiveHarness(lanes, web);
    const self = harness;
    installHooks(lanes[0]!.db, (topic, json) => self.route(topic, json));
    return harness;
  }

  async close(): Promise<void> {
    await this.web.close();
    await Promise.all(this.lanes.map((l) => l.close()));
  }

  private route(topic: string, json: unknown): void {
    const body = json as { planId?: unknown; taskId?: unknown; token?: unknown } | undefined;
    const seq = typeof body?.planId === "string" ? this.byPlan.get(body.planId) : undefined;
    if (seq === undefined) return;
    if (topic === TOPICS.taskReady) {
      const parsed = taskReadyMessageSchema.safeParse(json);
      if (parsed.success) seq.push({ kind: "task", msg: parsed.data });
    } else if (topic === TOPICS.externalTasks && typeof body?.token === "string") {
      seq.tokens.set(`${String(body.planId)}/${String(body.taskId)}`, body.token);
    }
  }

  /** Runs `count` seeded sequences from `first`, side by side on the lanes; calls `done` after each. */
  async runSeeds(first: number, count: number, done: (result: LiveResult) => void | "stop"): Promise<void> {
    let next = first;
    let stop = false;
    await Promise.all(
      this.lanes.map(async (lane) => {
        while (!stop && next < first + count) {
          const seed = next++;
          if (done(await this.runSeed(lane, seed)) === "stop") stop = true;
        }
      }),
    );
  }

  runSeed(lane: Lane, seed: number): Promise<LiveResult> {
    const random = prng(seed ^ 0x1b873593);
    const count = LIVE_MIN_EVENTS + Math.floor(random() * (LIVE_MAX_EVENTS - LIVE_MIN_EVENTS + 1));
    return this.runSequence(lane, generateScenario(seed), { random, count });
  }

  /** One sequence: the scenario's plans written, the events applied (generated, or given), the drain. */
  async runSequence(lane: Lane, scenario: Scenario, source: SimEvent[] | { random: () => number; count: number }): Promise<LiveResult> {
    await lane.clear();
    const seq = new Sequence(lane, scenario, ++this.runs);
    seq.planIds.forEach((id) => this.byPlan.set(id, seq));
    const events: SimEvent[] = [];
    let current = "start";
    const outcomes = prng(scenario.seed ^ 0x5bd1e995);
    try {
      await Promise.all(scenario.plans.map((p, i) => lane.db.collection("plans").doc(seq.planIds[i]!).set(planDocument(p, seq.planIds[i]!, this.web))));
      for (const planId of seq.planIds) seq.push({ kind: "created", planId });
      const count = Array.isArray(source) ? source.length : source.count;
      let view = await readView(seq);
      for (let i = 0; i < count; i++) {
        const e = Array.isArray(source) ? source[i]! : nextEvent(source.random, offerOf(seq, view));
        events.push(e);
        current = `event ${i}: ${describeEvent(e)}`;
        seq.note(`── ${current}`);
        await applyLiveEvent(seq, view, e, outcomes);
        seq.stats.events += 1;
        view = await readView(seq);
        checkStep(seq, view);
      }
      current = "drain";
      view = await drain(seq, outcomes);
      current = "after the drain";
      await checkEnd(seq, view);
      seq.stats.finals = view.plans.map((p) => p.status);
    } catch (error) {
      if (!(error instanceof LiveViolation)) throw error;
      seq.violation ??= error;
    } finally {
      seq.planIds.forEach((id) => this.byPlan.delete(id));
    }
    const v = seq.violation;
    return { seed: scenario.seed, scenario, events, stats: seq.stats, log: seq.log, ...(v === undefined ? {} : { violation: { invariant: v.invariant, message: v.message, event: current } }) };
  }

  /**
   * Cuts a failing sequence down while the same invariant still breaks (chunks of halving size),
   * within `maxRuns` replays: live replays cost seconds, and timing may hide a fault in a replay.
   */
  async shrink(lane: Lane, result: LiveResult, maxRuns = 24): Promise<{ events: SimEvent[]; runs: number; replay: LiveResult }> {
    const invariant = result.violation!.invariant;
    let runs = 0;
    let best = result;
    let current = result.events;
    for (let chunk = Math.max(1, Math.floor(current.length / 2)); chunk >= 1 && runs < maxRuns; chunk = Math.floor(chunk / 2)) {
      for (let start = 0; start < current.length && runs < maxRuns; ) {
        const candidate = [...current.slice(0, start), ...current.slice(start + chunk)];
        runs += 1;
        const replay = await this.runSequence(lane, result.scenario, candidate);
        if (replay.violation?.invariant === invariant) {
          current = candidate;
          best = replay;
        } else start += chunk;
      }
    }
    return { events: current, runs, replay: best };
  }
}

const sorted = <T>(items: T[], key: (t: T) => string) => [...items].sort((a, b) => key(a).localeCompare(key(b)));

function waitingGates(view: WorldView): Array<[string, string]> {
  return view.plans.flatMap((p) => sorted([...p.tasks].filter(([, t]) => t.status === "waiting_approval"), ([id]) => id).map(([id]) => [p.id, id] as [string, string]));
}

function knownExternals(seq: Sequence, view: WorldView): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  for (const p of view.plans) {
    for (const [id, t] of sorted([...p.tasks], ([k]) => k)) {
      const token = seq.tokens.get(`${p.id}/${id}`);
      if (t.status === "waiting_external" && token !== undefined) out.push([p.id, id, token]);
    }
  }
  return out;
}

function offerOf(seq: Sequence, view: WorldView): Offer {
  // A delivery is a worker run to its end here, so `step` (outcome, crash) is a delivery too.
  return { queued: seq.queue.length, runnable: seq.queue.length, gates: waitingGates(view).length, externals: knownExternals(seq, view).length, plans: seq.planIds.length };
}

function readView(seq: Sequence): Promise<WorldView> {
  return seq.timed("read", () => readViewOf(seq));
}

async function readViewOf(seq: Sequence): Promise<WorldView> {
  // The lane's project holds only this sequence's plans: three queries see all of it.
  const db = seq.lane.db;
  const [plans, tasks, locks] = await Promise.all([db.collection("plans").get(), db.collectionGroup("tasks").get(), db.collection("locks").get()]);
  const tasksOf = new Map<string, Map<string, { status: string; attempt: number }>>();
  for (const d of tasks.docs) {
    const planId = d.ref.parent.parent!.id;
    const own = tasksOf.get(planId) ?? new Map<string, { status: string; attempt: number }>();
    own.set(d.id, { status: String(d.get("status")), attempt: Number(d.get("attempt")) });
    tasksOf.set(planId, own);
  }
  const byId = new Map(plans.docs.map((d) => [d.id, d]));
  return {
    plans: seq.planIds.map((id) => ({
      id,
      status: (byId.get(id)?.get("status") ?? "pending") as PlanStatus,
      effectsPending: byId.get(id)?.get("effectsPending") === true,
      envs: seq.envsOf.get(id) ?? [],
      tasks: tasksOf.get(id) ?? new Map(),
    })),
    locks: new Map(locks.docs.map((d) => [d.id, String(d.get("owner"))])),
  };
}

/** One delivery of one queued item: the real handler, with the fault the event asks for. */
async function deliver(seq: Sequence, item: Queued, crash: number | null, copy = 0): Promise<void> {
  seq.stats.deliveries += 1;
  const db = seq.lane.db;
  if (item.kind === "created") {
    const label = `start ${item.planId} (m${item.id})`;
    seq.note(label);
    const { error } = await seq.op(label, crash, 6, async () => {
      const snap = await db.collection("plans").doc(item.planId).get();
      return startPlan(db, item.planId, snap.data() ?? {}, `start:evt-m${item.id}`, seq.now);
    });
    // A start that threw is redelivered by Eventarc, with the same event id.
    if (error !== undefined) seq.push({ kind: "created", planId: item.planId });
    return;
  }
  const m = item.msg;
  const label = `deliver m${item.id}${copy > 0 ? "'" : ""} ${m.planId}/${m.taskId}#${m.attempt} ${m.phase}`;
  seq.note(label);
  const { value, error } = await seq.op(
    label,
    crash,
    4,
    () => runTask(db, m, `worker-m${item.id}-${copy}-${seq.stats.deliveries}`, { now: seq.now, random: prng(item.id), sleep: async (ms) => void (seq.skew += ms) }),
    () => seq.deaths.set(`${m.planId}/${m.taskId}/${m.phase}`, (seq.deaths.get(`${m.planId}/${m.taskId}/${m.phase}`) ?? 0) + 1),
  );
  if (value !== undefined) seq.note(`  → ${JSON.stringify(value)}`);
  if (error !== undefined) seq.push({ kind: "task", msg: m });
}

async function sweep(seq: Sequence, crash: number | null): Promise<void> {
  seq.note(`sweep at +${Math.round(seq.skew / 1000)} s`);
  await seq.op("sweep", crash, 12, () => sweepStalledTasks(seq.lane.db, seq.now));
}

/**
 * The clock moves on, and the scheduled sweeper runs once when a minute or more passed (once, not
 * once a minute: sweeps are idempotent, and the longest step, 400 s, is within a lock's renewal window).
 */
async function passTime(seq: Sequence, ms: number): Promise<void> {
  seq.skew += ms;
  if (ms >= 60_000) await sweep(seq, null);
}

const uniqueSuffix = () => Math.random().toString(36).slice(2, 8);

async function approve(seq: Sequence, planId: string, taskId: string, verdict: "approve" | "reject", who: 0 | 1): Promise<void> {
  const email = APPROVERS[who];
  const label = `${verdict} ${planId}/${taskId} by ${email}`;
  const commandId = `${verdict}-${who}-${seq.stats.events}-${uniqueSuffix()}`;
  const { value } = await seq.op(label, null, 1, () => applyCommand(seq.lane.db, { planId, taskId, command: verdict, by: email, commandId }, { principal: person(email) }, RULES, seq.now));
  seq.note(`${label}: ${JSON.stringify(value)}`);
}

async function external(seq: Sequence, planId: string, taskId: string, token: string, outcome: "succeeded" | "failed"): Promise<void> {
  const label = `external ${outcome} ${planId}/${taskId}`;
  const { value } = await seq.op(label, null, 1, () => applyExternalTaskEvent(seq.lane.db, { type: "completed", planId, taskId, token, outcome }, `ext-${seq.stats.events}-${uniqueSuffix()}`, seq.now));
  seq.note(`${label}: ${JSON.stringify(value)}`);
}

/** A plan command, with the event's fault; one whose commit answer was lost is delivered again, with its id. */
async function command(seq: Sequence, planId: string, kind: CommandKind, crash: number): Promise<void> {
  const commandId = `${kind}-${seq.stats.events}-${uniqueSuffix()}`;
  const send = () => applyCommand(seq.lane.db, { planId, command: kind, by: "ops@example.com", commandId }, operator(), RULES, seq.now);
  const label = `${kind} ${planId}`;
  seq.note(label);
  let result = await seq.op(label, crash, 6, send);
  if (result.error !== undefined) result = await seq.op(`${label} (redelivered)`, null, 1, send);
  if (result.value !== undefined) seq.note(`  → ${JSON.stringify(result.value)}`);
  if (result.value?.applied) seq.stats.commandsApplied += 1;
  // Only commands move a plan into or out of paused, but for the end of the paused plan's last attempts.
  if ((await seq.lane.db.collection("plans").doc(planId).get()).get("status") === "paused") seq.paused.add(planId);
  else seq.paused.delete(planId);
}

async function applyLiveEvent(seq: Sequence, view: WorldView, e: SimEvent, outcomes: () => number): Promise<void> {
  switch (e.kind) {
    case "deliver":
    case "step":
    case "crash": {
      const index = Math.min(seq.queue.length - 1, Math.floor(e.pick * seq.queue.length));
      const item = seq.queue[index];
      if (item === undefined) return;
      seq.queue.splice(index, 1);
      if (e.kind === "deliver" && e.mode === "drop") {
        seq.note(`drop m${item.id}`);
        return;
      }
      seq.outcome = e.kind === "step" ? e.outcome : outcomes();
      const crash = e.kind === "step" ? e.crash : e.kind === "crash" ? CRASH_BELOW * outcomes() : null;
      // A duplicate arrives twice at once: two workers race for the same message.
      if (e.kind === "deliver" && e.mode === "duplicate") await Promise.all([deliver(seq, item, null), deliver(seq, item, null, 1)]);
      else await deliver(seq, item, crash);
      return;
    }
    case "sweep":
      await sweep(seq, e.crash);
      return;
    case "clock":
      seq.note(`clock +${e.ms} ms`);
      await passTime(seq, e.ms);
      return;
    case "approve": {
      const gate = at(waitingGates(view), e.pick);
      if (gate !== undefined) await approve(seq, gate[0], gate[1], e.verdict, e.who);
      return;
    }
    case "external": {
      const ext = at(knownExternals(seq, view), e.pick);
      if (ext !== undefined) await external(seq, ext[0], ext[1], ext[2], e.outcome);
      return;
    }
    case "command":
      await command(seq, at(seq.planIds, e.plan)!, e.command, e.crash);
      return;
  }
}

// ── invariants ──────────────────────────────────────────────────────────────────────────────────

function checkStep(seq: Sequence, view: WorldView): void {
  if (seq.violation !== undefined) throw seq.violation;
  const users = new Map<string, string[]>();
  for (const plan of view.plans) {
    if (plan.tasks.size === 0 || !USING_ENVIRONMENTS.has(plan.status)) continue;
    for (const env of plan.envs) {
      users.set(env, [...(users.get(env) ?? []), plan.id]);
      const owner = view.locks.get(env);
      if (owner !== plan.id) throw new LiveViolation("active-plan-holds-its-locks", `${plan.id} is ${plan.status} on ${env}, whose lock ${owner === undefined ? "nobody holds" : `${owner} holds`}`);
    }
  }
  for (const [env, ids] of users) if (ids.length > 1) throw new LiveViolation("one-active-plan-per-environment", `${ids.join(" and ")} are active on ${env} at once`);
}

function openItems(view: WorldView): string[] {
  const open: string[] = [];
  for (const plan of view.plans) {
    const tasks = [...plan.tasks].filter(([, t]) => OPEN.has(t.status)).map(([id, t]) => `${id}:${t.status}`);
    if (!FINAL_PLAN_STATUSES.has(plan.status) || plan.effectsPending || tasks.length > 0) open.push(`${plan.id}: ${plan.status}${plan.effectsPending ? " (effects pending)" : ""}${tasks.length > 0 ? ` [${tasks.join(", ")}]` : ""}`);
  }
  for (const [env, owner] of view.locks) {
    const plan = view.plans.find((p) => p.id === owner);
    if (plan === undefined || !ACTIVE_PLAN_STATUSES.has(plan.status)) open.push(`lock ${env} held by ${owner} (${plan?.status ?? "gone"})`);
  }
  return open;
}

/** After the events: deliveries (each once, workers live), answers to gates, sweeps, until every plan ended. */
async function drain(seq: Sequence, outcomes: () => number): Promise<WorldView> {
  let sweeps = 0;
  let deliveries = 0;
  for (;;) {
    const settle = async () => {
      for (let item = seq.queue.shift(); item !== undefined; item = seq.queue.shift()) {
        if (++deliveries > MAX_DRAIN_DELIVERIES) throw new LiveViolation("every-plan-ends", `still delivering after ${MAX_DRAIN_DELIVERIES} messages in the drain (a message storm)`);
        seq.outcome = outcomes() * 0.9;
        await deliver(seq, item, null);
        checkStep(seq, await readView(seq));
      }
    };
    await settle();
    let view = await readView(seq);
    // An operator resumes what the events paused (a paused plan waits for that, explicitly).
    for (const plan of view.plans.filter((p) => p.status === "paused")) await command(seq, plan.id, "resume", 1);
    if (view.plans.some((p) => p.status === "paused")) {
      await settle();
      view = await readView(seq);
    }
    if (seq.scenario.gates !== "deadline") {
      for (const [planId, taskId] of waitingGates(view)) {
        await approve(seq, planId, taskId, seq.scenario.gates === "approve" ? "approve" : "reject", 0);
        await approve(seq, planId, taskId, "approve", 1); // a second approver, for gates that need two
      }
      for (const [planId, taskId, token] of knownExternals(seq, view)) await external(seq, planId, taskId, token, seq.scenario.gates === "approve" ? "succeeded" : "failed");
      await settle();
      view = await readView(seq);
    }
    checkStep(seq, view);
    const open = openItems(view);
    if (open.length === 0 && seq.queue.length === 0) return view;
    const gated = view.plans.some((p) => [...p.tasks.values()].some((t) => t.status === "waiting_approval" || t.status === "waiting_external"));
    if (seq.stats.drainSweeps >= MAX_DRAIN_SWEEPS || sweeps >= MAX_DRAIN_SWEEPS_WITH_GATES) {
      throw new LiveViolation("every-plan-ends", `not every plan ended within ${MAX_DRAIN_SWEEPS} sweeps after the events (${sweeps} in all): ${open.join("; ")}`);
    }
    seq.skew += DRAIN_SWEEP_EVERY_MS;
    await sweep(seq, null);
    sweeps += 1;
    if (!gated) seq.stats.drainSweeps += 1;
  }
}

/** Each plan's recorded transitions, `plan.{seq}.{status}`, are one path of the plan machine ending at its status. */
async function checkEnd(seq: Sequence, view: WorldView): Promise<void> {
  for (const plan of view.plans) {
    if (plan.status === "planning" || plan.status === "redriving") throw new LiveViolation("nothing-left-in-between", `${plan.id} ended the drain ${plan.status}`);
    const events = await seq.lane.db.collection("plans").doc(plan.id).collection("events").get();
    const transitions = events.docs
      .filter((d) => /^plan\.\d+\./.test(d.id))
      .map((d) => ({ seq: Number(d.id.split(".")[1]), from: d.get("data.from") as PlanStatus, to: d.get("data.to") as PlanStatus }))
      .sort((a, b) => a.seq - b.seq);
    let status: PlanStatus = "pending";
    for (const [i, t] of transitions.entries()) {
      const where = `${plan.id}: transition ${t.seq} (${t.from} → ${t.to})`;
      if (t.seq !== i + 1) throw new LiveViolation("history-is-a-path", `${where} follows transition ${i} (a gap or a repeat)`);
      if (t.from !== status) throw new LiveViolation("history-is-a-path", `${where} starts from ${t.from}, the previous ended at ${status}`);
      if (!PLAN_EDGES[t.from].includes(t.to)) throw new LiveViolation("history-is-a-path", `${where} is not an edge of the plan machine`);
      status = t.to;
    }
    // An invalid plan's only transition is not recorded (it writes its errors and nothing else).
    const expected = plan.status === "invalid" && PLAN_EDGES[status].includes("invalid") ? "invalid" : status;
    if (expected !== plan.status) throw new LiveViolation("history-is-a-path", `${plan.id} is ${plan.status}, its history ends at ${status}`);
  }
}

/** A failure, for a person: the seed, what broke, the shrunk sequence and its log. */
export function liveReport(result: LiveResult, shrunk: { events: SimEvent[]; runs: number; replay: LiveResult }): string {
  const v = shrunk.replay.violation ?? result.violation!;
  const plans = result.scenario.plans.map((p) => `  ${p.id}: ${p.shape}, policy ${p.failurePolicy}, compile ${p.compile}; ${p.tasks.map((t) => `${t.id}=${t.run}${t.needs.length > 0 ? `<${t.needs.join("+")}` : ""}[${t.triggerRule}${t.retry ? `,max ${t.retry.maxAttempts}` : ""}${t.compensate ? ",comp" : ""}${t.run === "firebase" ? `,${String(t.params.projectId)}` : ""}]`).join(" ")}`);
  return [
    `live model violation (seed ${result.seed}): ${v.message}`,
    `  at ${v.event} of the shrunk sequence (first seen at ${result.violation!.event} of ${result.events.length} events)`,
    `replay: ORCHESTRATOR_MODEL_LIVE_SEED=${result.seed} ORCHESTRATOR_MODEL_LIVE_SEQUENCES=1 npm test -- --only integration test/integration/model-lifecycle.test.ts`,
    `scenario (gates: ${result.scenario.gates}):`,
    ...plans,
    `shrunk events (${shrunk.events.length} of ${result.events.length}, ${shrunk.runs} replays):`,
    ...shrunk.events.map((e, i) => `  ${i}: ${describeEvent(e)}`),
    `log of the shrunk sequence:`,
    ...shrunk.replay.log.slice(-300).map((l) => `  ${l}`),
  ].join("\n");
}
