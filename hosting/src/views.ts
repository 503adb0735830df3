/** What every view gets from the page shell. */
import type { Firebase, Session } from "./session";

export interface ViewContext {
  fb: Firebase;
  session: Session;
  /** Opens a plan (or the overview with null; `anchor`: an element of it, e.g. a schedule's card) and records it in the history. */
  navigate(planId: string | null, anchor?: string): void;
}

/** A mounted view; `dispose` stops its listeners and timers. */
export interface View {
  dispose(): void;
}

export function newCommandId(): string {
  return typeof crypto.randomUUID === "function" ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}
