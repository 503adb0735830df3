/**
 * Verifies the credential a Pub/Sub command carries, so the command function knows who sent it:
 *   - a Firebase ID token (what the API forwards for a signed-in caller, or any client SDK user),
 *     verified by firebase-admin with revocation checked;
 *   - a Google-signed OIDC ID token of a service account (`gcloud auth print-identity-token
 *     --impersonate-service-account=SA --audiences=AUDIENCE --include-email`), verified by
 *     google-auth-library against Google's certificates and this deployment's audience.
 * The issuer only picks the verifier; nothing in an unverified token is trusted. Failures come back
 * as reasons that never quote the token.
 */
import type { VerifiedPrincipal } from "./principals";

export interface CredentialVerifiers {
  firebase(token: string): Promise<VerifiedPrincipal>;
  googleOidc(token: string): Promise<VerifiedPrincipal>;
}

export type CredentialCheck = { ok: true; principal: VerifiedPrincipal } | { ok: false; reason: string };

const GOOGLE_ISSUERS = new Set(["accounts.google.com", "https://accounts.google.com"]);

/** The `iss` of a JWT, read without verifying it (only to choose the verifier). */
export function unverifiedIssuer(token: string): string | undefined {
  const [, payload] = token.split(".");
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { iss?: unknown };
    return typeof claims.iss === "string" ? claims.iss : undefined;
  } catch {
    return undefined;
  }
}

export async function verifyCredential(token: string, verifiers: CredentialVerifiers): Promise<CredentialCheck> {
  const issuer = unverifiedIssuer(token);
  if (issuer === undefined) return { ok: false, reason: "the credential is not a JWT (expected a Firebase ID token or a Google OIDC ID token)" };
  const kind = issuer.startsWith("https://securetoken.google.com/") ? "firebase" : GOOGLE_ISSUERS.has(issuer) ? "googleOidc" : undefined;
  if (kind === undefined) return { ok: false, reason: `the credential's issuer ${issuer.slice(0, 100)} is neither Firebase Auth nor Google` };
  try {
    return { ok: true, principal: await verifiers[kind](token) };
  } catch (error) {
    return { ok: false, reason: `the ${kind === "firebase" ? "Firebase ID token" : "Google ID token"} did not verify: ${describe(error)}` };
  }
}

/** An error's code and first line, with anything that looks like a JWT cut out. */
function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, "[token]").slice(0, 300);
  return typeof code === "string" ? `${code}: ${message}` : message;
}

/** Claims of a verified Firebase ID token that identify its user. */
export function principalFromFirebaseClaims(claims: { uid: string; email?: string | undefined; email_verified?: boolean | undefined; role?: unknown; groups?: unknown }): VerifiedPrincipal {
  return {
    uid: claims.uid,
    email: claims.email?.toLowerCase() ?? null,
    emailVerified: claims.email_verified === true,
    groups: Array.isArray(claims.groups) ? claims.groups.filter((g): g is string => typeof g === "string") : [],
    role: typeof claims.role === "string" ? claims.role : null,
    via: "firebase",
  };
}

/** Claims of a verified Google ID token (a service account's): `sub` is its unique id. */
export function principalFromGoogleClaims(claims: { sub: string; email?: string | undefined; email_verified?: boolean | undefined }): VerifiedPrincipal {
  return {
    uid: claims.sub,
    email: claims.email?.toLowerCase() ?? null,
    emailVerified: claims.email_verified === true,
    groups: [],
    role: null,
    via: "google-oidc",
  };
}
