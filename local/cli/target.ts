/**
 * Where the command line sends its requests, and who it is there:
 *   - no `--project`: the local stack (`npm start`), through its API as a demo account signed in
 *     to the Auth emulator (`--as operator`, the default, or `--as viewer`);
 *   - `--project <id>` with a Firebase identity (`--email` with the password in
 *     ORCHESTRATOR_PASSWORD, or an ID token in ORCHESTRATOR_ID_TOKEN): that project's API
 *     (`https://<id>.web.app/api`, or `--api <url>`), signed in with the Firebase JS SDK;
 *   - `--project <id>` otherwise: Firestore and Pub/Sub with Application Default Credentials,
 *     commands carrying a Google-signed ID token of the ADC identity (a service account, or
 *     `gcloud auth application-default login --impersonate-service-account=…`).
 * `--via api|pubsub` chooses the transport explicitly.
 */
import { GoogleAuth } from "google-auth-library";
import { commandAudience } from "../../functions/src/trust/verifiers";
import { DEMO_ACCOUNTS } from "../demo-accounts";
import { firebaseSignIn, type SignInConfig } from "../firebase-sign-in";
import { emulator, emulatorClientEnv, PROJECT_ID } from "../project";
import { apiBackend, CliError, EXIT, pubsubBackend, unverifiedClaims, type Backend } from "./backend";

export interface TargetFlags {
  project?: string;
  api?: string;
  via?: string;
  email?: string;
  as?: string;
}

export const TOKEN_ENV = "ORCHESTRATOR_ID_TOKEN";
export const PASSWORD_ENV = "ORCHESTRATOR_PASSWORD";

/** Checks the combination of target flags before anything is contacted: a mistake is a usage error. */
export function checkTargetFlags(flags: TargetFlags): void {
  if (flags.via !== undefined && flags.via !== "api" && flags.via !== "pubsub") throw new CliError(`--via is api or pubsub, not "${flags.via}"`, EXIT.usage);
  if (flags.as !== undefined && flags.as !== "operator" && flags.as !== "viewer") throw new CliError(`--as is operator or viewer (a demo account of the local stack), not "${flags.as}"`, EXIT.usage);
  if (flags.as !== undefined && (flags.project !== undefined || flags.email !== undefined)) throw new CliError("--as picks a demo account of the local stack; with --project or --email you sign in as yourself", EXIT.usage);
  if (flags.api !== undefined && !/^https?:\/\//.test(flags.api)) throw new CliError(`--api is the API's URL (https://…/api), not "${flags.api}"`, EXIT.usage);
  if (flags.api !== undefined && flags.via === "pubsub") throw new CliError("--api means nothing with --via pubsub (which goes to Firestore and Pub/Sub)", EXIT.usage);
}

/** A Firebase ID token from the Firebase JS SDK's email sign-in, or a CliError saying why not. */
async function signIn(config: SignInConfig, email: string, password: string): Promise<string> {
  try {
    return await firebaseSignIn(config, email, password);
  } catch (error) {
    throw new CliError(`${(error as Error).message}${config.authEmulator ? ": is the local stack running (npm start creates the demo accounts)?" : ""}`, EXIT.error);
  }
}

/** The signed-in token, fetched once and again shortly before it expires (an hour), so a long --watch keeps working. */
function cachedToken(fetchToken: () => Promise<string>): () => Promise<string> {
  let token: { value: string; until: number } | undefined;
  return async () => {
    if (token === undefined || Date.now() > token.until) {
      const value = await fetchToken();
      const exp = Number(unverifiedClaims(value).exp);
      token = { value, until: Number.isFinite(exp) ? exp * 1000 - 5 * 60_000 : Date.now() + 50 * 60_000 };
    }
    return token.value;
  };
}

/** The web config the project's API publishes for sign-in (`GET /api/config`, public). */
async function webConfig(api: string): Promise<{ apiKey: string; authDomain?: string; projectId: string; authEmulator?: string }> {
  let body: { firebase?: { apiKey?: string; authDomain?: string; projectId?: string }; emulators?: { auth?: string } };
  try {
    const response = await fetch(`${api.replace(/\/$/, "")}/config`, { signal: AbortSignal.timeout(15_000) });
    body = (await response.json()) as typeof body;
  } catch (error) {
    throw new CliError(`cannot read ${api}/config to sign in: ${(error as Error).message}`, EXIT.error);
  }
  const { apiKey, authDomain, projectId } = body.firebase ?? {};
  if (!apiKey || !projectId) throw new CliError(`${api}/config has no web API key: set ORCHESTRATOR_WEB_API_KEY in the deployment (functions/.env.<alias>), or pass an ID token in ${TOKEN_ENV}`, EXIT.error);
  return { apiKey, projectId, ...(authDomain ? { authDomain } : {}), ...(body.emulators?.auth ? { authEmulator: body.emulators.auth } : {}) };
}

function passwordFor(email: string, env: NodeJS.ProcessEnv): string {
  const password = env[PASSWORD_ENV];
  if (!password) throw new CliError(`signing in as ${email} needs the password in ${PASSWORD_ENV} (never a flag, so it stays out of shell history)`, EXIT.usage);
  return password;
}

/** A Google-signed ID token of the ADC identity, for the command audience of `projectId`. */
function adcIdToken(projectId: string): () => Promise<string> {
  return async () => {
    const audience = commandAudience({ GOOGLE_CLOUD_PROJECT: projectId });
    try {
      const client = await new GoogleAuth().getIdTokenClient(audience);
      return await client.idTokenProvider.fetchIdToken(audience);
    } catch (error) {
      throw new CliError(
        `Application Default Credentials cannot mint an ID token for ${audience} (${(error as Error).message.split("\n")[0]}): use a service account (GOOGLE_APPLICATION_CREDENTIALS, or gcloud auth application-default login --impersonate-service-account=SA), or sign in with --email`,
        EXIT.error,
      );
    }
  };
}

export function resolveBackend(flags: TargetFlags, env: NodeJS.ProcessEnv = process.env): Backend {
  checkTargetFlags(flags);
  const given = env[TOKEN_ENV]?.trim();
  if (flags.project === undefined) {
    // The local stack: its emulators, and a demo account (or whoever --email / the token names).
    Object.assign(process.env, emulatorClientEnv());
    const hosting = emulator("hosting");
    const api = flags.api ?? `http://${hosting.host}:${hosting.port}/api`;
    const account = flags.email !== undefined ? { email: flags.email, password: passwordFor(flags.email, env) } : DEMO_ACCOUNTS[(flags.as ?? "operator") as "operator" | "viewer"];
    const auth = emulator("auth");
    const token = given ? async () => given : cachedToken(() => signIn({ apiKey: "demo-api-key", projectId: PROJECT_ID, authEmulator: `http://${auth.host}:${auth.port}` }, account.email, account.password));
    const who = given ? "the token in ORCHESTRATOR_ID_TOKEN" : account.email;
    return flags.via === "pubsub" ? pubsubBackend(PROJECT_ID, token, who) : apiBackend(api, token, who);
  }
  const project = flags.project;
  const firebaseIdentity = given !== undefined && given !== "" ? "token" : flags.email !== undefined ? "email" : undefined;
  const via = flags.via ?? (firebaseIdentity === undefined ? "pubsub" : "api");
  const api = flags.api ?? `https://${project}.web.app/api`;
  const token =
    firebaseIdentity === "token"
      ? async () => given!
      : firebaseIdentity === "email"
        ? cachedToken(async () => signIn(await webConfig(api), flags.email!, passwordFor(flags.email!, env)))
        : undefined;
  if (via === "api") {
    if (token === undefined) throw new CliError(`the API needs a signed-in identity: --email <you> (password in ${PASSWORD_ENV}) or an ID token in ${TOKEN_ENV}; or use --via pubsub with Application Default Credentials`, EXIT.usage);
    return apiBackend(api, token, firebaseIdentity === "token" ? `the token in ${TOKEN_ENV}` : flags.email!);
  }
  return pubsubBackend(project, token ?? cachedToken(adcIdToken(project)), token === undefined ? "the Application Default Credentials identity" : firebaseIdentity === "token" ? `the token in ${TOKEN_ENV}` : flags.email!);
}
