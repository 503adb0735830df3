/**
 * The local stand-in for Google's ID tokens of service accounts: a signing key made at start, its
 * public half published where google-auth-library looks for Google's certificates
 * (`GET /oauth2/v1/certs`, PEM by key id), and the IAM Credentials API's `generateIdToken`
 * (`POST /v1/projects/-/serviceAccounts/{email}:generateIdToken`), which is what
 * `gcloud auth print-identity-token --impersonate-service-account` calls. So the command function
 * verifies local service-account tokens with exactly the code it runs against Google.
 */
import { createHash, createSign, generateKeyPairSync, randomBytes } from "node:crypto";

export interface IdTokenRequest {
  serviceAccount: string;
  audience: string;
  includeEmail?: boolean;
  /** Seconds from now; Google's are valid for an hour. */
  lifetimeSeconds?: number;
}

export class LocalGoogleAccounts {
  private readonly keyId = randomBytes(8).toString("hex");
  private readonly keys = generateKeyPairSync("rsa", { modulusLength: 2048 });

  constructor(private readonly now: () => number = Date.now) {}

  /** What `oauth2/v1/certs` answers: key id → public key (PEM). */
  certificates(): Record<string, string> {
    return { [this.keyId]: this.keys.publicKey.export({ type: "spki", format: "pem" }).toString() };
  }

  /** A service account's unique id, stable for its email (Google's are 21 digits). */
  static subjectOf(serviceAccount: string): string {
    return BigInt(`0x${createHash("sha256").update(serviceAccount).digest("hex").slice(0, 16)}`).toString().padStart(21, "1").slice(0, 21);
  }

  /** An RS256 ID token, as Google's token service signs it. */
  generateIdToken(request: IdTokenRequest): string {
    const iat = Math.floor(this.now() / 1000);
    const claims = {
      iss: "https://accounts.google.com",
      aud: request.audience,
      azp: LocalGoogleAccounts.subjectOf(request.serviceAccount),
      sub: LocalGoogleAccounts.subjectOf(request.serviceAccount),
      iat,
      exp: iat + (request.lifetimeSeconds ?? 3600),
      ...(request.includeEmail ? { email: request.serviceAccount, email_verified: true } : {}),
    };
    const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString("base64url");
    const signingInput = `${encode({ alg: "RS256", kid: this.keyId, typ: "JWT" })}.${encode(claims)}`;
    const signature = createSign("RSA-SHA256").update(signingInput).sign(this.keys.privateKey).toString("base64url");
    return `${signingInput}.${signature}`;
  }
}
