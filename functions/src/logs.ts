/** Every log line the functions write, named, so logs stay consistent and greppable. */
import { logger } from "firebase-functions";
import type { FieldError } from "./schema/issues";

export const logs = {
  planInvalid: (planId: string, errors: FieldError[]) =>
    logger.warn(`plan ${planId} is invalid (${errors.length} errors)`, { planId, errors: errors.slice(0, 20) }),
  planStartSkipped: (planId: string, reason: string) => logger.info(`plan ${planId}: start skipped: ${reason}`, { planId, reason }),
  planStarted: (planId: string, taskCount: number, roots: number) =>
    logger.info(`plan ${planId} started: ${taskCount} tasks, ${roots} ready`, { planId, taskCount, roots }),
  planFinished: (planId: string, status: string) => logger.info(`plan ${planId} ${status}`, { planId, status }),
  taskSkipped: (planId: string, taskId: string, attempt: number, reason: string) =>
    logger.info(`task ${planId}/${taskId}#${attempt}: no-op: ${reason}`, { planId, taskId, attempt, reason }),
  taskFinished: (planId: string, taskId: string, attempt: number, status: string, ms: number) =>
    logger.info(`task ${planId}/${taskId}#${attempt} ${status} in ${ms} ms`, { planId, taskId, attempt, status, ms }),
  messageRejected: (topic: string, reason: string, errors: FieldError[]) =>
    logger.warn(`message on ${topic} rejected: ${reason}`, { topic, reason, errors: errors.slice(0, 20) }),
  sweepDone: (report: { due: number; redispatched: number; leasesExpired: number; settled: number; quietPlansChecked: number; deadlinesPassed: number; rollbacksAdvanced: number; locksRenewed: number; locksFreed: number }) =>
    logger.info(
      `sweep: ${report.due} due, ${report.redispatched} re-dispatched, ${report.leasesExpired} leases expired, ${report.deadlinesPassed} deadlines passed, ${report.quietPlansChecked} quiet plans checked, ${report.settled} settled`,
      report,
    ),
  commandApplied: (planId: string, command: string, by: string, message: string) =>
    logger.info(`plan ${planId}: ${command} by ${by}: ${message}`, { planId, command, by }),
  commandRefused: (planId: string, command: string, by: string, reason: string) =>
    logger.warn(`plan ${planId}: ${command} by ${by} refused: ${reason}`, { planId, command, by, reason }),
  /** A Google API's rate budget held calls back or the API answered a quota error (clients/rate-budget.ts); at most once per key per 10 minutes. */
  apiThrottled: (event: { key: string; api: string; projectId: string | null; reason: "wait" | "quota"; detail: string }) =>
    logger.warn(`${event.key} throttled: ${event.detail}`, event),
  unexpected: (where: string, error: unknown) =>
    logger.error(`unexpected error in ${where}: ${error instanceof Error ? error.message : String(error)}`, {
      where,
      stack: error instanceof Error ? error.stack : undefined,
    }),
};
