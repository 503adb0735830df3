/** Fault injection and the call log, shared by the gRPC and REST servers. */

export interface FaultSpec {
  /** Substring (or /regex/) of the call's method: `CreateJob`, `/google.cloud.scheduler.v1.CloudScheduler/CreateJob`, `POST /v1/projects/p/rulesets`. Absent: any call. */
  match?: string;
  /** Which server the fault applies to (default both). */
  protocol?: "grpc" | "rest";
  /** How many matching calls fail (default 1). */
  times?: number;
  /** Let this many matching calls through first (default 0): "fail the third CreateJob" is skip 2. */
  skip?: number;
  /**
   * Apply the call, then answer with the error: the change lands but the caller never hears of it,
   * like a crash right after a mutating call or a lost answer.
   */
  after?: boolean;
  /** Fail with this gRPC status code (REST calls get the matching HTTP status). */
  grpcCode?: number;
  /** Fail with this HTTP status (gRPC calls get the matching status code). */
  httpStatus?: number;
  /** Delay before answering (or failing), in ms. */
  latencyMs?: number;
  /** With latencyMs: each matching call waits between latencyMs and this, spread evenly by the call's order (deterministic). */
  latencyMaxMs?: number;
  message?: string;
}

export interface CallRecord {
  seq: number;
  at: number;
  protocol: "grpc" | "rest";
  method: string;
  /** The resource name or path the call was about, when known. */
  resource?: string;
  /** `OK` or the canonical error code name. */
  status: string;
  httpStatus?: number;
  injected: boolean;
  /** Refused by a quota (quota.ts): answered RESOURCE_EXHAUSTED / 429, nothing applied. */
  quota?: boolean;
  durationMs: number;
}

export const GRPC_CODE_NAMES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
] as const;

const HTTP_OF_CODE: Readonly<Record<number, number>> = { 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401 };

export function httpStatusOfCode(code: number): number {
  return HTTP_OF_CODE[code] ?? 500;
}

export function codeOfHttpStatus(status: number): number {
  const found = Object.entries(HTTP_OF_CODE).find(([, http]) => http === status);
  if (found !== undefined) return Number(found[0]);
  return status >= 500 ? 13 : 2;
}

/** An error a handler raises: carries a gRPC code; the REST server maps it to HTTP. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly httpStatus: number = httpStatusOfCode(code),
  ) {
    super(message);
  }
}

interface ActiveFault extends FaultSpec {
  remaining: number;
  skipping: number;
  taken: number;
}

/** How long a call that took `fault` waits (see FaultSpec.latencyMaxMs). */
export function latencyOf(fault: FaultSpec & { taken?: number }): number {
  const min = fault.latencyMs ?? 0;
  const max = fault.latencyMaxMs ?? min;
  if (max <= min) return min;
  return min + (((fault.taken ?? 0) * 37) % (max - min + 1));
}

export class FaultBook {
  private faults: ActiveFault[] = [];
  private log: CallRecord[] = [];
  private seq = 0;

  inject(spec: FaultSpec | FaultSpec[]): void {
    for (const f of Array.isArray(spec) ? spec : [spec]) {
      if (f.grpcCode === undefined && f.httpStatus === undefined && f.latencyMs === undefined) throw new Error("a fault needs grpcCode, httpStatus or latencyMs");
      this.faults.push({ ...f, remaining: f.times ?? 1, skipping: f.skip ?? 0, taken: 0 });
    }
  }

  clear(): void {
    this.faults = [];
  }

  pending(): FaultSpec[] {
    return this.faults.map(({ remaining, skipping, taken: _taken, skip: _skip, ...f }) => ({ ...f, times: remaining, ...(skipping > 0 ? { skip: skipping } : {}) }));
  }

  /** Takes the first matching fault (consuming one of its `times`), if any. */
  take(protocol: "grpc" | "rest", method: string): FaultSpec | undefined {
    const index = this.faults.findIndex((f) => (f.protocol === undefined || f.protocol === protocol) && matches(f.match, method));
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    if (fault.skipping > 0) {
      fault.skipping -= 1;
      return undefined;
    }
    fault.remaining -= 1;
    fault.taken += 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return { ...fault };
  }

  record(entry: Omit<CallRecord, "seq">): void {
    this.log.push({ ...entry, seq: ++this.seq });
    if (this.log.length > 10_000) this.log.splice(0, this.log.length - 10_000);
  }

  calls(): CallRecord[] {
    return this.log.map((c) => ({ ...c }));
  }

  clearCalls(): void {
    this.log = [];
  }
}

/** Matches every call that changes state (REST POST/PATCH/DELETE, gRPC Create/Update/Delete/Pause/Resume). */
export const MUTATING_CALLS = "/^(POST|PATCH|PUT|DELETE) |\\/(Create|Update|Delete|Pause|Resume)[A-Za-z]*$/";

/** Whether a logged call changed state (see MUTATING_CALLS). */
export const isMutating = (call: Pick<CallRecord, "method">): boolean => matches(MUTATING_CALLS, call.method);

function matches(pattern: string | undefined, method: string): boolean {
  if (pattern === undefined || pattern === "") return true;
  const regex = /^\/(.+)\/([a-z]*)$/.exec(pattern);
  if (regex !== null) return new RegExp(regex[1]!, regex[2]).test(method);
  return method.includes(pattern);
}

/** An injected delay; it never keeps a process alive on its own (the servers' sockets do that). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());
