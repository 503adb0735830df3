/**
 * Plays Pub/Sub for the engine in integration tests: collects what the engine publishes on the
 * task-ready topic and delivers it to `runTask`, optionally several times, shuffled, with crashes
 * injected at lifecycle steps; when nothing is left to deliver it runs the sweeper with the clock
 * moved forward, as the scheduled sweeper would, until the plan ends.
 */
import { PubSub, type Message } from "@google-cloud/pubsub";
import type { Firestore } from "firebase-admin/firestore";
import { TOPICS } from "../../functions/src/config";
import { ensureTopic } from "../../functions/src/bus/publish";
import { runTask, type RunDeps } from "../../functions/src/runtime/run-task";
import { sweepStalledTasks } from "../../functions/src/runtime/sweep";
import { taskReadyMessageSchema, type TaskReadyMessage } from "../../functions/src/schema/messages";
import { PROJECT_ID } from "./emulators";
import { FINAL_PLAN_STATUSES } from "../../functions/src/engine/plan";

const FINAL: ReadonlySet<string> = FINAL_PLAN_STATUSES;
type Step = Parameters<NonNullable<RunDeps["crashAt"]>>[0];

export interface PumpOptions {
  /** Each message is delivered between 1 and this many times. */
  maxDeliveries?: number;
  shuffle?: boolean;
  /** Decides, per delivery, where (if anywhere) that delivery crashes. */
  crash?: () => Step | undefined;
  random?: () => number;
  /** Stop waiting when the plan reaches one of these statuses (default: any final one). */
  until?: (status: string) => boolean;
  maxRounds?: number;
  /** Reads the plan's status between rounds (the benchmark passes one its meter does not count). */
  readStatus?: (planId: string) => Promise<string>;
}

export class Pump {
  private readonly queue: TaskReadyMessage[] = [];
  /** While a round runs: hands it each message as it arrives. */
  private onArrival: (() => void) | undefined;
  private constructor(private readonly sub: ReturnType<PubSub["subscription"]>) {}

  static async open(): Promise<Pump> {
    await ensureTopic(TOPICS.taskReady);
    const pubsub = new PubSub({ projectId: PROJECT_ID });
    const [sub] = await pubsub.topic(TOPICS.taskReady).createSubscription(`pump-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
    const pump = new Pump(sub);
    sub.on("message", (m: Message) => {
      m.ack();
      const parsed = taskReadyMessageSchema.safeParse(JSON.parse(m.data.toString("utf8")));
      if (parsed.success) {
        pump.queue.push(parsed.data);
        pump.onArrival?.();
      }
    });
    return pump;
  }

  async close(): Promise<void> {
    await this.sub.close();
    await this.sub.delete();
  }

  /** Takes the plans' queued messages, each repeated 1..maxDeliveries times, shuffled if asked. */
  private take(planIds: ReadonlySet<string>, options: PumpOptions, random: () => number): TaskReadyMessage[] {
    const all = this.queue.splice(0);
    this.queue.push(...all.filter((m) => !planIds.has(m.planId)));
    const deliveries = all.filter((m) => planIds.has(m.planId)).flatMap((m) => Array.from({ length: 1 + Math.floor(random() * (options.maxDeliveries ?? 1)) }, () => m));
    if (options.shuffle) deliveries.sort(() => random() - 0.5);
    return deliveries;
  }

  /** Delivers until the plan ends; returns its final status. Clock skew for sweeps grows each idle round. */
  async run(db: Firestore, planId: string, options: PumpOptions = {}): Promise<string> {
    return (await this.runAll(db, [planId], options)).get(planId)!;
  }

  /** Delivers the messages of several plans (which share pools or locks) until every one ends; their final statuses. */
  async runAll(db: Firestore, planIds: readonly string[], options: PumpOptions = {}): Promise<Map<string, string>> {
    const random = options.random ?? Math.random;
    const until = options.until ?? ((s: string) => FINAL.has(s));
    const ids = new Set(planIds);
    let skew = 0;
    let idle = 0;
    for (let round = 0; round < (options.maxRounds ?? 3_000); round++) {
      const statuses = new Map(await Promise.all(planIds.map(async (id) => [id, options.readStatus ? await options.readStatus(id) : String((await db.collection("plans").doc(id).get()).get("status"))] as const)));
      if ([...statuses.values()].every(until)) return statuses;
      await new Promise((r) => setTimeout(r, 20)); // let published messages arrive
      const deliveries = this.take(ids, options, random);
      if (deliveries.length === 0) {
        // Idle for a while (not just between two deliveries): what a lost message or a crash left
        // behind is found by the sweeper, with the clock moved past every redispatch delay and lease.
        if (++idle < 8) continue;
        idle = 0;
        skew += 2 * 60_000;
        await sweepStalledTasks(db, () => Date.now() + skew);
        continue;
      }
      idle = 0;
      let delivered = 0;
      const deliver = async (m: TaskReadyMessage) => {
        const crashStep = options.crash?.();
        const crashAt = (step: Step) => {
          if (step === crashStep) throw new Error(`injected crash ${step}`);
        };
        try {
          await runTask(db, m, `pump-${round}-${delivered++}`, { crashAt, now: () => Date.now() + skew, random, sleep: async () => undefined });
        } catch (error) {
          if (!(error instanceof Error) || !error.message.startsWith("injected crash")) throw error;
        }
      };
      // At most 32 deliveries at once, like the functions emulator's worker pool (the Firestore
      // emulator times out locks under hundreds at once). Messages that arrive meanwhile join the
      // pool as Pub/Sub push would deliver them: at once (a fan-out's first dependents run while
      // the rest are still being released), or, when shuffling, as soon as a slot frees (a shuffle
      // needs several messages to reorder).
      await new Promise<void>((resolve, reject) => {
        const fail = (error: unknown) => {
          this.onArrival = undefined;
          reject(error);
        };
        let active = 0;
        const spawn = () => {
          if (deliveries.length === 0) deliveries.push(...this.take(ids, options, random));
          while (active < 32 && deliveries.length > 0) {
            const m = deliveries.shift()!;
            active++;
            deliver(m).then(() => {
              active--;
              spawn();
            }, fail);
          }
          if (active === 0) {
            this.onArrival = undefined;
            resolve();
          }
        };
        if (!options.shuffle) this.onArrival = spawn;
        spawn();
      });
    }
    throw new Error(`plan ${planIds.join(", ")} did not finish`);
  }
}

