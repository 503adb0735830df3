/**
 * `environments/{envId}`: desired and observed state per integration, as the `firebase` executor
 * last saw it. One field map per integration (`integrations.<name>`), replaced whole on each record
 * so keys that disappeared from an observation do not linger; the health run owns the other fields.
 */
import { FieldPath, type Firestore } from "firebase-admin/firestore";
import type { EnvironmentStateRecord, ExecutionContext } from "../executors/types";
import { firestore } from "./firestore";

export const ENVIRONMENTS_COLLECTION = "environments";

/** Firestore takes plain JSON-like data only (no class instances, no undefined, no nested arrays of arrays). */
function plain(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

export type RecordEnvironmentState = NonNullable<ExecutionContext["recordEnvironmentState"]>;

/** The `ctx.recordEnvironmentState` implementation the engine passes to executors. */
export function environmentStateRecorder(db: () => Firestore = firestore): RecordEnvironmentState {
  return async (envId: string, integration: string, record: EnvironmentStateRecord): Promise<void> => {
    const ref = db().collection(ENVIRONMENTS_COLLECTION).doc(envId);
    await ref.set(
      {
        integrations: {
          [integration]: {
            desired: plain(record.desired),
            observed: plain(record.observed),
            drift: plain(record.drift ?? []),
            inSync: (record.drift ?? []).length === 0,
            action: record.action ?? null,
            ...(record.changeSet === undefined ? {} : { changeSet: plain(record.changeSet) }),
            at: record.at,
          },
        },
        updatedAt: record.at,
      },
      { mergeFields: [new FieldPath("integrations", integration), "updatedAt"] },
    );
  };
}
