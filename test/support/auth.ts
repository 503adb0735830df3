/** ID tokens from the Auth emulator for the demo accounts, as the page's JS SDK gets them when a user signs in. */
import type { DemoAccount } from "../../local/demo-accounts";
import { emulator } from "../../local/project";

export async function idToken(account: Pick<DemoAccount, "email" | "password">): Promise<string> {
  const auth = emulator("auth");
  const response = await fetch(`http://${auth.host}:${auth.port}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=demo-api-key`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: account.email, password: account.password, returnSecureToken: true }),
  });
  const body = (await response.json()) as { idToken?: string; error?: { message: string } };
  if (body.idToken === undefined) throw new Error(`sign-in of ${account.email} failed: ${body.error?.message}`);
  return body.idToken;
}
