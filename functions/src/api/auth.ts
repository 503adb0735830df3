/**
 * Who is calling: a Firebase Auth ID token (`Authorization: Bearer <token>`) verified by an
 * injected verifier (firebase-admin's `verifyIdToken` in the function, a fake in unit tests), and
 * the role from its custom claim `role`. Operators can do everything viewers can.
 *
 * Actions (every method but GET/HEAD) verify with `checkRevoked`, so a session revoked by an
 * administrator (or a disabled account) cannot act even while its token has not expired; reads
 * skip that extra Auth lookup. An email counts as the caller's name only when it is verified:
 * anyone can create an account with an unverified address they do not own.
 */
import { apiError, type ApiRequest, type ApiResponse } from "./http";

export const ROLES = ["viewer", "operator"] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  uid: string;
  email: string | null;
  /** The token's `email_verified`: only a verified email names the caller (principalName). */
  emailVerified: boolean;
  role: Role | null;
  /** The custom claim `groups` (strings only), for approver lists that name a group. */
  groups: string[];
  /**
   * The bearer ID token this principal was verified from, for the handlers that forward it (plan
   * commands carry it as `credential` so the command function can verify the sender itself).
   * Not enumerable where identifyCaller sets it, so a principal that ends up in a response body
   * or a log line (JSON, util.inspect) never carries it.
   */
  readonly idToken: string;
}

/** The decoded token's parts the API uses; throws when the token is not valid. */
export interface VerifiedToken {
  uid: string;
  email?: string;
  email_verified?: boolean;
  role?: unknown;
  /** Custom claim `groups`: an array of strings; anything else counts as no groups. */
  groups?: unknown;
}
/**
 * firebase-admin's `verifyIdToken(token, checkRevoked)`. With `checkRevoked` it also throws
 * `auth/id-token-revoked` for a revoked session and `auth/user-disabled` for a disabled account.
 */
export type VerifyIdToken = (token: string, options: { checkRevoked: boolean }) => Promise<VerifiedToken>;

/** How an action is attributed: the email when the account has a verified one, else the uid. */
export const principalName = (p: Pick<Principal, "uid" | "email" | "emailVerified">): string => (p.emailVerified && p.email !== null ? p.email : p.uid);

export type Caller = { kind: "anonymous" } | { kind: "signed-in"; principal: Principal } | { kind: "rejected"; response: ApiResponse };

/** The custom claim `groups` as a list of strings (anything malformed is ignored, never trusted). */
function groupsOf(claim: unknown): string[] {
  return Array.isArray(claim) ? claim.filter((g): g is string => typeof g === "string" && g !== "") : [];
}

/** firebase-admin's FirebaseAuthError carries `code` (and `errorInfo.code` in older versions). */
function authErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, errorInfo } = error as { code?: unknown; errorInfo?: { code?: unknown } };
  if (typeof code === "string") return code;
  return typeof errorInfo?.code === "string" ? errorInfo.code : undefined;
}

function refusal(error: unknown): ApiResponse {
  switch (authErrorCode(error)) {
    case "auth/id-token-revoked":
      return apiError(401, "unauthenticated", "your session was revoked (signed out everywhere, password changed or revoked by an administrator): sign in again");
    case "auth/user-disabled":
      return apiError(403, "permission_denied", "your account is disabled in Firebase Authentication: ask an administrator to enable it");
    case "auth/id-token-expired":
      return apiError(401, "unauthenticated", "the ID token has expired: sign in again (the page refreshes its token; a script must fetch a new one)");
    default:
      return apiError(401, "unauthenticated", "the ID token is not valid (expired or not from this project): sign in again");
  }
}

export async function identifyCaller(req: ApiRequest, verify: VerifyIdToken, options: { checkRevoked: boolean }): Promise<Caller> {
  const header = req.headers?.authorization;
  if (header === undefined || header === "") return { kind: "anonymous" };
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match === null) return { kind: "rejected", response: apiError(401, "unauthenticated", "the Authorization header must be `Bearer <Firebase ID token>`") };
  const idToken = match[1]!;
  let token: VerifiedToken;
  try {
    token = await verify(idToken, { checkRevoked: options.checkRevoked });
  } catch (error) {
    return { kind: "rejected", response: refusal(error) };
  }
  const role = ROLES.find((r) => r === token.role) ?? null;
  const principal = { uid: token.uid, email: token.email ?? null, emailVerified: token.email_verified === true, role, groups: groupsOf(token.groups) } as Principal;
  Object.defineProperty(principal, "idToken", { value: idToken, enumerable: false, writable: false });
  return { kind: "signed-in", principal };
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
