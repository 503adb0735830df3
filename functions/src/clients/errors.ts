/**
 * Google API errors → task errors. gRPC errors carry a numeric `code`; REST errors an HTTP status
 * (and usually a canonical `error.status`). Both map to one canonical code, which decides whether
 * the engine retries: quota, unavailability and deadlines pass, permissions and missing things do not.
 */
import type { TaskError } from "../schema/task";
import { RestApiError } from "./google";
import { RateBudgetError } from "./rate-budget";

const GRPC_CODE_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;
export type CanonicalCode = (typeof GRPC_CODE_NAMES)[number];

const RETRYABLE: ReadonlySet<CanonicalCode> = new Set(["RESOURCE_EXHAUSTED", "UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED", "INTERNAL", "CANCELLED"]);

function fromHttpStatus(status: number): CanonicalCode {
  if (status === 400) return "INVALID_ARGUMENT";
  if (status === 401) return "UNAUTHENTICATED";
  if (status === 403) return "PERMISSION_DENIED";
  if (status === 404) return "NOT_FOUND";
  if (status === 409) return "ALREADY_EXISTS";
  if (status === 412) return "FAILED_PRECONDITION";
  if (status === 429) return "RESOURCE_EXHAUSTED";
  if (status === 499) return "CANCELLED";
  if (status === 501) return "UNIMPLEMENTED";
  if (status === 503) return "UNAVAILABLE";
  if (status === 504) return "DEADLINE_EXCEEDED";
  if (status >= 500) return "INTERNAL";
  return "UNKNOWN";
}

export interface ApiErrorInfo {
  code: CanonicalCode;
  httpStatus?: number;
  message: string;
}

function isCanonical(value: unknown): value is CanonicalCode {
  return typeof value === "string" && (GRPC_CODE_NAMES as readonly string[]).includes(value);
}

/** What kind of failure this is, whatever client raised it. */
export function describeApiError(error: unknown): ApiErrorInfo {
  if (error instanceof RestApiError) {
    // The HTTP status decides for 5xx/429 even when the body claims otherwise.
    const code = error.httpStatus >= 500 || error.httpStatus === 429 || !isCanonical(error.status) ? fromHttpStatus(error.httpStatus) : error.status;
    return { code, httpStatus: error.httpStatus, message: error.message };
  }
  if (typeof error === "object" && error !== null) {
    const e = error as { code?: unknown; details?: unknown; message?: unknown; status?: unknown };
    const message = typeof e.details === "string" && e.details !== "" ? e.details : String(e.message ?? error);
    if (typeof e.code === "number" && Number.isInteger(e.code) && e.code >= 0 && e.code < GRPC_CODE_NAMES.length) {
      return { code: GRPC_CODE_NAMES[e.code]!, message };
    }
    if (typeof e.status === "number") return { code: fromHttpStatus(e.status), httpStatus: e.status, message };
  }
  return { code: "UNKNOWN", message: error instanceof Error ? error.message : String(error) };
}

export function isNotFound(error: unknown): boolean {
  return describeApiError(error).code === "NOT_FOUND";
}

export function isAlreadyExists(error: unknown): boolean {
  return describeApiError(error).code === "ALREADY_EXISTS";
}

/** Where a failed call happened, so the message says what to fix. */
export interface ApiCallSite {
  /** e.g. "Cloud Scheduler CreateJob". */
  operation: string;
  /** The resource name the call was about. */
  resource: string;
  /** The predefined IAM role that grants the call. */
  role: string;
  /** The API to enable, e.g. "cloudscheduler.googleapis.com". */
  api: string;
}

/** An API failure inside an integration module, converted to a task error at the executor boundary. */
export class ApiCallError extends Error {
  constructor(
    readonly site: ApiCallSite,
    readonly cause: unknown,
  ) {
    super(`${site.operation} on ${site.resource} failed: ${describeApiError(cause).message}`);
    this.name = "ApiCallError";
  }
}

export function taskErrorFromApiError(site: ApiCallSite, error: unknown, aborted: boolean): TaskError {
  const info = describeApiError(error);
  const where = `${site.operation} on ${site.resource}`;
  const http = info.httpStatus === undefined ? "" : ` (HTTP ${info.httpStatus})`;
  if (aborted) return { message: `${where}: aborted (attempt timed out or was cancelled)`, code: "aborted", retryable: true };
  // Our own rate budget held the call past the deadline: nothing was sent, so no quota error came back.
  if (error instanceof RateBudgetError) return { message: `${where}: ${error.message}`, code: "throttled", retryable: true };
  switch (info.code) {
    case "PERMISSION_DENIED":
    case "UNAUTHENTICATED":
      return {
        message: `${where}: permission denied${http}. Grant the orchestrator's service account ${site.role} on the project and enable ${site.api}. (${info.message})`,
        code: info.code.toLowerCase(),
        retryable: false,
      };
    case "NOT_FOUND":
      return {
        message: `${where}: not found${http}. Check that the project exists, ${site.api} is enabled and the resource's parent is right. (${info.message})`,
        code: "not_found",
        retryable: false,
      };
    default:
      return {
        message: `${where}: ${info.code}${http}: ${info.message}`,
        code: info.code.toLowerCase(),
        retryable: RETRYABLE.has(info.code),
      };
  }
}
