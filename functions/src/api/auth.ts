/**
 * Who is calling: a Firebase Auth ID token (`Authorization: Bearer <token>`) verified by an
 * injected verifier (firebase-admin's `verifyIdToken` in the function, a fake in unit tests), and
 * the role from its custom claim `role`. Operators can do everything viewers can.
 */
import { apiError, type ApiRequest, type ApiResponse } from "./http";

export const ROLES = ["viewer", "operator"] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  uid: string;
  email: string | null;
  role: Role | null;
}

/** The decoded token's parts the API uses; throws when the token is not valid. */
export interface VerifiedToken {
  uid: string;
  email?: string;
  role?: unknown;
}
export type VerifyIdToken = (token: string) => Promise<VerifiedToken>;

/** How an action is attributed: the email when the account has one, else the uid. */
export const principalName = (p: Principal): string => p.email ?? p.uid;

export type Caller = { kind: "anonymous" } | { kind: "signed-in"; principal: Principal } | { kind: "rejected"; response: ApiResponse };

export async function identifyCaller(req: ApiRequest, verify: VerifyIdToken): Promise<Caller> {
  const header = req.headers?.authorization;
  if (header === undefined || header === "") return { kind: "anonymous" };
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match === null) return { kind: "rejected", response: apiError(401, "unauthenticated", "the Authorization header must be `Bearer <Firebase ID token>`") };
  try {
    const token = await verify(match[1]!);
    const role = ROLES.find((r) => r === token.role) ?? null;
    return { kind: "signed-in", principal: { uid: token.uid, email: token.email ?? null, role } };
  } catch {
    return { kind: "rejected", response: apiError(401, "unauthenticated", "the ID token is not valid (expired or not from this project): sign in again") };
  }
}

/** The principal when the caller holds `role` (or a higher one), else the 401/403 to send. */
export function requireRole(caller: Caller, role: Role): { ok: true; principal: Principal } | { ok: false; response: ApiResponse } {
  if (caller.kind === "rejected") return { ok: false, response: caller.response };
  if (caller.kind === "anonymous") return { ok: false, response: apiError(401, "unauthenticated", "sign in first: this needs a signed-in viewer or operator") };
  const { principal } = caller;
  const allowed = role === "viewer" ? principal.role !== null : principal.role === "operator";
  if (!allowed) {
    const has = principal.role === null ? "no role" : `role "${principal.role}"`;
    return { ok: false, response: apiError(403, "permission_denied", `${principalName(principal)} has ${has}; this needs role "${role}" (custom claim \`role\`)`) };
  }
  return { ok: true, principal };
}
