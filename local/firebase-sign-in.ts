/**
 * A Firebase ID token from the Firebase JS SDK's email sign-in, as the page gets one when its user
 * signs in: against the Auth emulator when `authEmulator` is set. Each call uses a web app of its
 * own, deleted afterwards, so concurrent sign-ins of different accounts do not share a session.
 */
import { deleteApp, initializeApp } from "firebase/app";
import { connectAuthEmulator, getAuth, signInWithEmailAndPassword } from "firebase/auth";

export interface SignInConfig {
  apiKey: string;
  authDomain?: string;
  projectId: string;
  authEmulator?: string;
}

let apps = 0;

/** Throws `sign-in of EMAIL failed (CODE)` when the account or password is wrong, or Auth cannot be reached. */
export async function firebaseSignIn(config: SignInConfig, email: string, password: string): Promise<string> {
  const app = initializeApp({ apiKey: config.apiKey, projectId: config.projectId, ...(config.authDomain ? { authDomain: config.authDomain } : {}) }, `orchestrator-sign-in-${++apps}`);
  try {
    const auth = getAuth(app);
    if (config.authEmulator !== undefined) connectAuthEmulator(auth, config.authEmulator, { disableWarnings: true });
    const credential = await signInWithEmailAndPassword(auth, email, password);
    return await credential.user.getIdToken();
  } catch (error) {
    throw new Error(`sign-in of ${email} failed (${(error as { code?: string }).code ?? (error as Error).message})`);
  } finally {
    await deleteApp(app);
  }
}
