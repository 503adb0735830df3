/** The one interface every executor implements: the engine decides, executors act. */
import type { ExecutionOutcome } from "../engine/task";
import type { TaskError } from "../schema/task";
import type { Change, ChangeJournal, ChangeSummary } from "./firebase/change-set";

/** What one integration of one environment should look like, what it looks like, and when that was seen. */
export interface EnvironmentStateRecord {
  desired: unknown;
  observed: unknown;
  /** Epoch ms of the observation. */
  at: number;
  /** Differences between desired and observed at `at` (empty when in sync). */
  drift?: DriftItem[];
  /**
   * Which action produced the record: `provision`, `verify`, `rollback` (a compensation that
   * restored what was there before: the integration is still in place) or `compensate` (one that
   * removed everything the integration had: nothing of it is left).
   */
  action?: string;
  /** A provision's change set. */
  changeSet?: AppliedChange[];
}

export interface ExecutionContext {
  planId: string;
  taskId: string;
  attempt: number;
  /**
   * `planId/taskId/N` (N: the attempt that began this intent; `/compensate` appended for a
   * compensation): the same when a lost worker's attempt runs again, new for a retry after a reported
   * failure or a redrive. Pass it to anything that can deduplicate (e.g. an Idempotency-Key header).
   */
  idempotencyKey: string;
  /** Aborted when the attempt times out or the plan is cancelled. */
  signal: AbortSignal;
  /** Epoch ms by which the attempt must finish. */
  deadline: number;
  /**
   * Stores desired and observed state of one integration at `environments/{envId}`
   * (see store/environments.ts). Optional: executors work without it.
   */
  /**
   * The attempt's write-ahead change journal (Firestore `plans/{planId}/changes`): a provision
   * records each change before its call, a compensation replays them backwards. Optional: without
   * it a provision still works, and a compensation changes nothing.
   */
  journal?: ChangeJournal;
  recordEnvironmentState?(envId: string, integration: string, record: EnvironmentStateRecord): Promise<void>;
}

/** One difference between what a plan wants and what the API reports. */
export interface DriftItem {
  /** The resource's full name (or a stable description when it has none yet). */
  resource: string;
  /** Dotted field path, or `(resource)` when the whole resource is missing. */
  field: string;
  desired: unknown;
  observed: unknown;
}

export interface DriftReport {
  integration: string;
  environment: string;
  projectId: string;
  inSync: boolean;
  drift: DriftItem[];
  desired: unknown;
  observed: unknown;
}

export type VerifyOutcome = { ok: true; report: DriftReport } | { ok: false; error: TaskError };

/** What provisioning produced, per integration: the names other tasks and the page refer to. */
export type FirebaseOutputs =
  | { integration: "authentication"; configName: string; enabledProviders: string[] }
  | { integration: "database"; firestoreReleaseName: string; rulesetName: string; indexNames: string[] }
  | { integration: "storage"; storageReleaseName: string; rulesetName: string; bucket: string }
  | { integration: "security"; releaseNames: string[]; rulesetNames: string[] }
  | { integration: "functions"; topicNames: string[]; subscriptionNames: string[] }
  | { integration: "hosting"; siteName: string; hostingUrl: string; versionName: string; releaseName: string }
  | { integration: "monitoring"; uptimeCheckName: string; uptimeCheckId: string; alertPolicyName: string }
  | { integration: "backup"; schedulerJobName: string; schedule: string; outputUriPrefix: string }
  | { integration: "health"; schedulerJobName: string; topicName: string; schedule: string };

/**
 * One change of a provision's change set as outputs and `environments/{id}` show it: the fields
 * before → after (long values cut), whether the resource existed, and the name the server gave a
 * created one. The whole before-image stays in the journal.
 */
export type AppliedChange = Pick<Change, "resource" | "type" | "action" | "fields" | "supports"> & { existed: boolean; name?: string };

/** `output` of a successful firebase `provision`/`compensate`. */
export interface FirebaseProvisionOutput {
  integration: string;
  environment: string;
  projectId: string;
  /** False when the run found everything already as desired (an empty change set). */
  changed: boolean;
  summary: ChangeSummary;
  /** Every managed resource: created, updated (fields before → after) or left alone. */
  changeSet: AppliedChange[];
  /** With `onStale: "replan"`: the resources whose state had moved since the plan's refresh. */
  replanned?: string[];
  outputs: FirebaseOutputs;
}

export interface Executor {
  execute(params: Record<string, unknown>, ctx: ExecutionContext): Promise<ExecutionOutcome>;
  /**
   * Undoes what `execute` created, from the same params (idempotent: undoing twice is fine).
   * A failure is returned as an outcome, never thrown.
   */
  compensate?(params: Record<string, unknown>, ctx: ExecutionContext): Promise<ExecutionOutcome>;
  /** Compares desired (params) with observed state; never changes anything. */
  verify?(params: Record<string, unknown>, ctx: ExecutionContext): Promise<VerifyOutcome>;
}
