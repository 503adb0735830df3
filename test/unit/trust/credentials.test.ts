/**
 * Verifying a Pub/Sub command's credential: the issuer picks the verifier, and a Google ID token is
 * checked by google-auth-library itself (signature, audience, expiry) against certificates served
 * by the local control plane on 127.0.0.1, exactly as the deployed function checks Google's.
 */
import { startControlPlane, type ControlPlane } from "../../../local/control-plane/index";
import { LocalGoogleAccounts } from "../../../local/control-plane/google-accounts";
import { unverifiedIssuer, verifyCredential, type CredentialVerifiers } from "../../../functions/src/trust/credentials";
import { commandAudience, createVerifiers } from "../../../functions/src/trust/verifiers";
import { redactCredentials } from "../../../functions/src/runtime/dead-letters";

const jwt = (claims: object) => `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;

describe("choosing the verifier", () => {
  const calls: string[] = [];
  const fake: CredentialVerifiers = {
    firebase: async () => {
      calls.push("firebase");
      return { uid: "u", email: null, emailVerified: false, groups: [], role: null, via: "firebase" };
    },
    googleOidc: async () => {
      calls.push("google");
      throw Object.assign(new Error(`Wrong recipient, payload audience != requiredAudience ${jwt({ iss: "x" })}`), { code: "ERR" });
    },
  };

  it("routes by issuer, and refuses what is neither Firebase nor Google", async () => {
    expect(await verifyCredential(jwt({ iss: "https://securetoken.google.com/demo-x" }), fake)).toMatchObject({ ok: true });
    const google = await verifyCredential(jwt({ iss: "https://accounts.google.com" }), fake);
    expect(calls).toEqual(["firebase", "google"]);
    expect(google).toEqual({ ok: false, reason: "the Google ID token did not verify: ERR: Wrong recipient, payload audience != requiredAudience [token]" });
    expect(await verifyCredential(jwt({ iss: "https://evil.example.com" }), fake)).toEqual({ ok: false, reason: expect.stringContaining("neither Firebase Auth nor Google") });
    expect(await verifyCredential("operator@example.com", fake)).toEqual({ ok: false, reason: expect.stringContaining("not a JWT") });
    expect(unverifiedIssuer("a.%%%.b")).toBeUndefined();
    expect(calls).toHaveLength(2);
  });
});

describe("Google ID tokens of service accounts (google-auth-library against the local certificates)", () => {
  let cp: ControlPlane;
  let verifiers: CredentialVerifiers;
  const env = () => ({ ORCHESTRATOR_GOOGLE_REST_ENDPOINT: cp.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT, GCLOUD_PROJECT: "demo-x" });
  const ci = "deployer@demo-x.iam.gserviceaccount.com";
  beforeAll(async () => {
    cp = await startControlPlane();
    verifiers = createVerifiers(env());
  });
  afterAll(async () => {
    await cp.stop();
  });

  it("accepts a token for this deployment's audience, naming the service account by its verified email and unique id", async () => {
    const token = cp.idToken({ serviceAccount: ci, audience: commandAudience(env()), includeEmail: true });
    expect(await verifyCredential(token, verifiers)).toEqual({
      ok: true,
      principal: { uid: LocalGoogleAccounts.subjectOf(ci), email: ci, emailVerified: true, groups: [], role: null, via: "google-oidc" },
    });
  });

  it("refuses another audience, an expired token, a forged signature and another key", async () => {
    const audience = commandAudience(env());
    const cases = {
      "another audience": cp.idToken({ serviceAccount: ci, audience: "https://example.com/other", includeEmail: true }),
      expired: cp.idToken({ serviceAccount: ci, audience, includeEmail: true, lifetimeSeconds: -400 }),
      "forged claims": (() => {
        const [h, , s] = cp.idToken({ serviceAccount: ci, audience, includeEmail: true }).split(".");
        return `${h}.${Buffer.from(JSON.stringify({ iss: "https://accounts.google.com", aud: audience, sub: "1", email: "admin@example.com", email_verified: true, iat: 1, exp: 9_999_999_999 })).toString("base64url")}.${s}`;
      })(),
      "another key": new LocalGoogleAccounts().generateIdToken({ serviceAccount: ci, audience, includeEmail: true }),
    };
    for (const [what, token] of Object.entries(cases)) {
      const result = await verifyCredential(token, verifiers);
      expect({ what, ok: result.ok }).toEqual({ what, ok: false });
    }
  });

  it("mints tokens over the IAM Credentials REST shape, as gcloud would ask for them", async () => {
    const res = await fetch(`${cp.env.ORCHESTRATOR_GOOGLE_REST_ENDPOINT}/v1/projects/-/serviceAccounts/${ci}:generateIdToken`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ audience: commandAudience(env()), includeEmail: true }),
    });
    const { token } = (await res.json()) as { token: string };
    expect(await verifyCredential(token, verifiers)).toMatchObject({ ok: true, principal: { email: ci } });
  });
});

describe("dead letters", () => {
  it("never keep a credential or a task token", () => {
    const raw = JSON.stringify({ planId: "p", command: "approve", credential: "not-even-a-jwt", token: "t0k3n\"quoted", note: jwt({ iss: "x" }) });
    const redacted = redactCredentials(raw);
    expect(redacted).not.toContain("not-even-a-jwt");
    expect(redacted).not.toContain("t0k3n");
    expect(redacted).not.toContain("eyJ");
    expect(JSON.parse(redacted)).toEqual({ planId: "p", command: "approve", credential: "[redacted]", token: "[redacted]", note: "[redacted]" });
  });
});
