/**
 * Demo sign-ins for the local stack: one operator and one viewer in the Auth emulator, with the
 * `role` custom claim the API and the security rules read. Safe to call again: existing accounts
 * get their password and role reset.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { getAuth } from "firebase-admin/auth";
import { firebaseSignIn } from "./firebase-sign-in";
import { emulator, emulatorClientEnv, PROJECT_ID } from "./project";

export interface DemoAccount {
  email: string;
  password: string;
}

export const DEMO_ACCOUNTS = {
  operator: { email: "operator@example.com", password: "operator-demo", role: "operator", displayName: "Demo operator" },
  viewer: { email: "viewer@example.com", password: "viewer-demo", role: "viewer", displayName: "Demo viewer" },
} as const;

export async function createDemoAccounts(): Promise<{ operator: DemoAccount; viewer: DemoAccount }> {
  Object.assign(process.env, emulatorClientEnv());
  if (!process.env.FIREBASE_AUTH_EMULATOR_HOST) throw new Error("demo accounts are for the Auth emulator only");
  if (!getApps().some((app) => app.name === "[DEFAULT]")) initializeApp({ projectId: PROJECT_ID });
  const auth = getAuth();
  for (const account of Object.values(DEMO_ACCOUNTS)) {
    const { email, password, displayName, role } = account;
    const user = await auth.getUserByEmail(email).then(
      (existing) => auth.updateUser(existing.uid, { password, displayName, emailVerified: true }),
      () => auth.createUser({ email, password, displayName, emailVerified: true }),
    );
    await auth.setCustomUserClaims(user.uid, { role });
  }
  const plain = ({ email, password }: DemoAccount): DemoAccount => ({ email, password });
  return { operator: plain(DEMO_ACCOUNTS.operator), viewer: plain(DEMO_ACCOUNTS.viewer) };
}

/**
 * A Firebase ID token for an account of the Auth emulator, as the page's JS SDK gets one when its
 * user signs in: the credential local commands put on the Pub/Sub commands they send.
 */
export function idToken(account: Pick<DemoAccount, "email" | "password">): Promise<string> {
  const auth = emulator("auth");
  return firebaseSignIn({ apiKey: "demo-api-key", projectId: PROJECT_ID, authEmulator: `http://${auth.host}:${auth.port}` }, account.email, account.password);
}
