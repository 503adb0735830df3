/**
 * Who a verified sender is, and whether that person or service account is one of a gate's
 * approvers. Pure: identities arrive here already verified (trust/credentials.ts checks tokens),
 * so nothing in this file reads a claim that a sender merely stated.
 *
 * Approver entries:
 *   `ana@example.com`        an email; matches only an email the identity provider verified
 *   `uid:abc123` or `abc123` a Firebase Auth uid, or a service account's unique id (`sub`)
 *   `group:release-managers` a member of that group (custom claim `groups` on a Firebase user)
 */
import { z } from "zod";

export const approverEntrySchema = z
  .string()
  .min(1)
  .max(320)
  .regex(/^(group:[A-Za-z0-9._@-]{1,128}|uid:[^\s]{1,128}|[^\s:]{1,320})$/, "an email, uid:<uid> (or a bare uid), or group:<name>");

/** A sender whose identity a token proved. */
export interface VerifiedPrincipal {
  /** Firebase Auth uid, or a Google account's `sub` (a service account's unique id). */
  uid: string;
  /** Lower-cased; null when the token carries none. */
  email: string | null;
  /** Only a verified email matches an approver entry or names the principal. */
  emailVerified: boolean;
  /** Custom claim `groups` of a Firebase user. */
  groups: string[];
  /** Custom claim `role` of a Firebase user ("operator" | "viewer"); null for service accounts. */
  role: string | null;
  via: "firebase" | "google-oidc";
}

/** How a principal is named in history: the verified email, else the uid. */
export function principalLabel(p: Pick<VerifiedPrincipal, "uid" | "email" | "emailVerified">): string {
  return p.email !== null && p.emailVerified ? p.email : p.uid;
}

export function matchesApprover(entry: string, p: VerifiedPrincipal): boolean {
  if (entry.startsWith("group:")) return p.groups.includes(entry.slice("group:".length));
  if (entry.startsWith("uid:")) return p.uid === entry.slice("uid:".length);
  if (entry.includes("@")) return p.emailVerified && p.email !== null && p.email === entry.toLowerCase();
  return p.uid === entry;
}

/** Who wrote a plan, as far as the orchestrator knows it (the API or the rules recorded it). */
export interface PlanCreator {
  uid: string | null;
  email: string | null;
}

/** Whether a verified principal is the plan's creator (same uid, or the same verified email). */
export function isCreator(p: VerifiedPrincipal, creator: PlanCreator | null): boolean {
  if (creator === null) return false;
  if (creator.uid !== null && creator.uid === p.uid) return true;
  return creator.email !== null && p.emailVerified && p.email === creator.email.toLowerCase();
}

/** The same person approving twice counts once: by uid, or by verified email. */
export function sameApprover(a: { uid: string; email: string | null }, b: { uid: string; email: string | null }): boolean {
  return a.uid === b.uid || (a.email !== null && a.email === b.email);
}
