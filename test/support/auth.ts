/** ID tokens from the Auth emulator for the demo accounts, as the page gets them when a user signs in. */
import type { DemoAccount } from "../../local/demo-accounts";
import { emulator } from "../../local/project";

export async function idToken(account: DemoAccount): Promise<string> {
  const auth = emulator("auth");
  const response = await fetch(`http://${auth.host}:${auth.port}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=demo-api-key`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...account, returnSecureToken: true }),
  });
  return ((await response.json()) as { idToken: string }).idToken;
}
