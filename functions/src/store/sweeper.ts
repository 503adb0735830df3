/**
 * The sweeper's walk over plans: a bounded page per round and sweep, resumed where the previous
 * sweep stopped (`sweeper/cursors`), so a backlog larger than a page is visited in turn instead of
 * the same first page every time.
 */
import { FieldPath, type Firestore, type Query } from "firebase-admin/firestore";
import { COLLECTIONS } from "./paths";

/** Plans per round and sweep; the cursor carries the rest to the next sweep. */
export const PLAN_PAGE = 100;

export type PlanRound = "planning" | "effects" | "running" | "rolling_back" | "waiting" | "all";

export interface PlanRow {
  id: string;
  data: () => Record<string, unknown>;
}

export interface PlanWalk {
  page(round: PlanRound): Promise<PlanRow[]>;
  /** Remembers where each round stopped. */
  save(): Promise<void>;
}

const cursors = (db: Firestore) => db.collection("sweeper").doc("cursors");

function roundQuery(db: Firestore, round: PlanRound): Query {
  const plans = db.collection(COLLECTIONS.plans);
  switch (round) {
    case "effects":
      return plans.where("effectsPending", "==", true);
    // Firestore cannot query for a missing field: plans with no status are found by walking every plan.
    case "all":
      return plans.select("status");
    default:
      return plans.where("status", "==", round);
  }
}

export async function walkPlans(db: Firestore): Promise<PlanWalk> {
  const stored = ((await cursors(db).get()).data() ?? {}) as Record<string, unknown>;
  const next: Record<string, string> = {};
  return {
    async page(round) {
      const ordered = roundQuery(db, round).orderBy(FieldPath.documentId()).limit(PLAN_PAGE);
      const after = typeof stored[round] === "string" && stored[round] !== "" ? (stored[round] as string) : undefined;
      let page = await (after === undefined ? ordered : ordered.startAfter(after)).get();
      // Past the end: wrap around to the start.
      if (page.empty && after !== undefined) page = await ordered.get();
      next[round] = page.size === PLAN_PAGE ? page.docs.at(-1)!.id : "";
      return page.docs.map((d) => ({ id: d.id, data: () => d.data() }));
    },
    async save() {
      await cursors(db).set(next, { merge: true });
    },
  };
}
