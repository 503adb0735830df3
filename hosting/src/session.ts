/**
 * Firebase on the page: the app from `/api/config`, Auth (the emulator locally) and Firestore for
 * live listeners, plus who is signed in and with which role (custom claim `role`).
 */
import { initializeApp } from "firebase/app";
import { connectAuthEmulator, getAuth, onIdTokenChanged, signInWithEmailAndPassword, signOut, type Auth, type User } from "firebase/auth";
import { connectFirestoreEmulator, getFirestore, type Firestore } from "firebase/firestore";
import { useTokens } from "./api";

export interface PageConfig {
  firebase: { projectId: string; apiKey: string; authDomain: string };
  emulators: { auth?: string; firestore?: { host: string; port: number } };
  publicStatus: boolean;
}

export type Role = "viewer" | "operator";

export interface Session {
  user: User | null;
  role: Role | null;
}

export interface Firebase {
  auth: Auth;
  db: Firestore;
  config: PageConfig;
}

export function startFirebase(config: PageConfig): Firebase {
  const app = initializeApp(config.firebase);
  const auth = getAuth(app);
  if (config.emulators.auth !== undefined) connectAuthEmulator(auth, config.emulators.auth, { disableWarnings: true });
  const db = getFirestore(app);
  if (config.emulators.firestore !== undefined) connectFirestoreEmulator(db, config.emulators.firestore.host, config.emulators.firestore.port);
  useTokens(async () => (auth.currentUser === null ? null : auth.currentUser.getIdToken()));
  return { auth, db, config };
}

/** Calls `onChange` with the session now and whenever the user or their claims change. */
export function watchSession(auth: Auth, onChange: (session: Session) => void): void {
  onIdTokenChanged(auth, (user) => {
    if (user === null) return onChange({ user: null, role: null });
    void user.getIdTokenResult().then((result) => {
      const role = result.claims.role === "operator" || result.claims.role === "viewer" ? result.claims.role : null;
      onChange({ user, role });
    });
  });
}

export const signIn = (auth: Auth, email: string, password: string): Promise<unknown> => signInWithEmailAndPassword(auth, email, password);
export const signOutOf = (auth: Auth): Promise<void> => signOut(auth);
