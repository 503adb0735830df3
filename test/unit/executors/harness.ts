/** Test harness: a local control plane on free ports and a `firebase` executor whose clients point at it. */
import { startControlPlane, type ControlPlane } from "../../../local/control-plane";
import { createGoogleClients, googleClientConfigFromEnv, type GoogleClients } from "../../../functions/src/clients/google";
import { createFirebaseExecutor } from "../../../functions/src/executors/firebase";
import type { EnvironmentStateRecord, ExecutionContext, Executor, FirebaseProvisionOutput } from "../../../functions/src/executors/types";
import type { ExecutionOutcome } from "../../../functions/src/engine/task";
import type { ChangeJournal, JournalEntry } from "../../../functions/src/executors/firebase/change-set";

/**
 * The change journal in memory, per task: the same contract as the runtime's Firestore journal
 * (functions/src/store/changes.ts), which the integration tests cover.
 */
export class MemoryJournals {
  readonly entries = new Map<string, JournalEntry[]>();
  private clock = 0;

  for(taskId: string, runKey: string): ChangeJournal {
    const list = (): JournalEntry[] => {
      let l = this.entries.get(taskId);
      if (l === undefined) this.entries.set(taskId, (l = []));
      return l;
    };
    const find = (id: string): JournalEntry => {
      const e = list().find((x) => x.id === id);
      if (e === undefined) throw new Error(`no journal entry ${id}`);
      return e;
    };
    return {
      intend: async (change, index) => {
        const id = `${runKey}#${index}#${++this.clock}`;
        list().push({ id, at: this.clock, index, runKey, change: structuredClone(change), status: "intended", made: null, undo: null });
        return id;
      },
      applied: async (id, made) => {
        const e = find(id);
        e.status = "applied";
        e.made = structuredClone(made);
      },
      pending: async () => structuredClone(list().filter((e) => e.status !== "undone")),
      settle: async (id, status, outcome) => {
        const e = find(id);
        e.status = status;
        e.undo = structuredClone(outcome);
      },
    };
  }
}

export interface RecordedState {
  envId: string;
  integration: string;
  record: EnvironmentStateRecord;
}

export interface Harness {
  cp: ControlPlane;
  clients: GoogleClients;
  executor: Executor;
  records: RecordedState[];
  journals: MemoryJournals;
  /** A context with the journal of `taskId` (default: a new task each call). */
  ctx(overrides?: Partial<ExecutionContext>): ExecutionContext;
  stop(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const cp = await startControlPlane();
  const clients = createGoogleClients(googleClientConfigFromEnv({ ...cp.env, ...env }));
  const records: RecordedState[] = [];
  const journals = new MemoryJournals();
  let n = 0;
  return {
    cp,
    clients,
    executor: createFirebaseExecutor(() => clients),
    records,
    journals,
    ctx: (overrides = {}) => {
      n += 1;
      const taskId = overrides.taskId ?? `task-${n}`;
      const idempotencyKey = overrides.idempotencyKey ?? `plan-1/${taskId}/${n}`;
      return {
        planId: "plan-1",
        taskId,
        attempt: 1,
        idempotencyKey,
        journal: journals.for(taskId, idempotencyKey),
        signal: new AbortController().signal,
        deadline: Date.now() + 20_000,
        recordEnvironmentState: async (envId, integration, record) => {
          records.push({ envId, integration, record });
        },
        ...overrides,
      };
    },
    stop: async () => {
      await cp.stop();
      await clients.close();
      // A call the executor stopped waiting for (abort) still ends inside the client; let it settle
      // before Jest tears the module registry down.
      await new Promise((resolve) => setTimeout(resolve, 100));
    },
  };
}

export const firebaseParams = (integration: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  integration,
  action: "provision",
  environment: "dev",
  projectId: "lang-trak-dev",
  region: "us-central1",
  settings: {},
  ...overrides,
});

/** The output of a successful outcome, or a failure that names the error (so a test failure says why). */
export function outputOf(outcome: ExecutionOutcome): FirebaseProvisionOutput {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.output as FirebaseProvisionOutput;
}

export function errorOf(outcome: ExecutionOutcome): { code?: string; retryable: boolean; message: string } {
  if (outcome.ok) throw new Error(`expected failure, got success: ${JSON.stringify(outcome.output)}`);
  return outcome.error;
}
