/**
 * Freeze windows at the two doors through which a plan changes environments: its start and a
 * retry (redrive). A rollback is never held by a freeze: it puts back what was there before, which
 * is what a freeze protects. A plan already running when a window opens finishes.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { LockAnswer } from "../engine/plan";
import { freezeAt, type WindowTarget } from "../engine/windows";
import type { CompiledSummary } from "../planner/compile";
import { planStateSchema, type PlanState } from "../schema/plan";
import { readWindows } from "../store/windows";

export type FreezeOverride = NonNullable<PlanState["freezeOverride"]>;

/** A plan document's freeze override, if it has a well-formed one. */
export function freezeOverrideOf(doc: Record<string, unknown>): FreezeOverride | null {
  const parsed = planStateSchema.shape.freezeOverride.safeParse(doc.freezeOverride);
  return parsed.success ? (parsed.data ?? null) : null;
}

/** The environments a compiled summary names, as windows match them. */
export function targetsOf(compiled: unknown): WindowTarget[] {
  const envs = (compiled as Partial<CompiledSummary> | null | undefined)?.environments;
  return Array.isArray(envs) ? envs.filter((e) => typeof e?.projectId === "string") : [];
}

/** Whether an operator's override lets this entry past freezes: the start, or the redrive of run `generation`. */
const overrides = (override: FreezeOverride | null, intent: "start" | "redrive", generation: number): boolean =>
  override !== null && override.intent === intent && (intent === "start" || override.generation === generation);

/**
 * The freeze that holds the plan now, as a lock answer (`{ granted: false, freeze }`), or null when
 * none does (or an operator overrode it for this entry). One query of the windows collection.
 */
export async function freezeAnswer(db: Firestore, targets: readonly WindowTarget[], override: FreezeOverride | null, intent: "start" | "redrive", generation: number, now: number): Promise<LockAnswer | null> {
  if (targets.length === 0 || overrides(override, intent, generation)) return null;
  const { windows, unreadable } = await readWindows(db);
  const freeze = freezeAt(windows, unreadable, targets, now);
  return freeze === null ? null : { granted: false, freeze };
}
