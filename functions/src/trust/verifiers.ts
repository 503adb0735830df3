/**
 * The real credential verifiers: firebase-admin for Firebase ID tokens (revocation checked, so a
 * disabled or signed-out user's token stops working at once) and google-auth-library for Google
 * OIDC ID tokens. Locally the Google certificates come from the local control plane, which signs
 * service-account ID tokens with a key of its own (`ORCHESTRATOR_GOOGLE_REST_ENDPOINT`).
 */
import { getAuth } from "firebase-admin/auth";
import { OAuth2Client } from "google-auth-library";
import { GOOGLE_ENV } from "../clients/google";
import { TOPICS } from "../config";
import { firestore } from "../store/firestore";
import { principalFromFirebaseClaims, principalFromGoogleClaims, type CredentialVerifiers } from "./credentials";

/**
 * The audience a service account's ID token must name to send commands to this deployment: the
 * plan-commands topic's full resource name, so a token minted for anything else is refused.
 */
export function commandAudience(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.ORCHESTRATOR_COMMAND_AUDIENCE?.trim();
  if (configured) return configured;
  const project = env.GCLOUD_PROJECT ?? env.GOOGLE_CLOUD_PROJECT ?? "demo-orchestrator";
  return `//pubsub.googleapis.com/projects/${project}/topics/${TOPICS.planCommands}`;
}

let verifiers: CredentialVerifiers | undefined;

/** The verifiers for this process, built once (google-auth-library caches Google's certificates). */
export function defaultVerifiers(): CredentialVerifiers {
  verifiers ??= createVerifiers(process.env);
  return verifiers;
}

export function createVerifiers(env: NodeJS.ProcessEnv): CredentialVerifiers {
  const rest = env[GOOGLE_ENV.restEndpoint]?.trim().replace(/\/$/, "");
  // Node's own fetch for the certificate download: gaxios would otherwise import node-fetch
  // dynamically, which some hosts (jest's VM, bundlers) cannot do.
  const oidc = new OAuth2Client({
    transporterOptions: { fetchImplementation: fetch },
    ...(rest ? { endpoints: { oauth2FederatedSignonPemCertsUrl: `${rest}/oauth2/v1/certs` } } : {}),
  });
  const audience = commandAudience(env);
  return {
    firebase: async (token) => {
      firestore(); // initialises the default app, as every function does
      return principalFromFirebaseClaims(await getAuth().verifyIdToken(token, true));
    },
    googleOidc: async (token) => {
      const ticket = await oidc.verifyIdToken({ idToken: token, audience });
      const payload = ticket.getPayload();
      if (payload?.sub === undefined) throw new Error("the token has no subject");
      return principalFromGoogleClaims({ sub: payload.sub, email: payload.email, email_verified: payload.email_verified });
    },
  };
}
