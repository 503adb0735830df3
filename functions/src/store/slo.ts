/**
 * Where SLO series live: `environments/{projectId}/slo/{sliKey}` (`availability`, `latency-300ms`),
 * one document each (a series is tens of kB; fifty on the environment document would near
 * Firestore's 1 MiB), written by the health run and read by it, the API and bakes. Functions only.
 */
import type { DocumentReference, Firestore } from "firebase-admin/firestore";
import { sloSeriesSchema, type SloSeries } from "../schema/slo";
import { ENVIRONMENTS_COLLECTION } from "./environments";

export const SLO_SUBCOLLECTION = "slo";

export const sloSeriesRef = (db: Firestore, projectId: string, key: string): DocumentReference => db.collection(ENVIRONMENTS_COLLECTION).doc(projectId).collection(SLO_SUBCOLLECTION).doc(key);

/** A stored series, or null when there is none (or it does not parse: it is started afresh rather than trusted half-read). */
export async function readSloSeries(db: Firestore, projectId: string, key: string): Promise<SloSeries | null> {
  const parsed = sloSeriesSchema.safeParse((await sloSeriesRef(db, projectId, key).get()).get("series"));
  return parsed.success ? parsed.data : null;
}
