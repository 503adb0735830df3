/** ID tokens from the Auth emulator for the demo accounts, as the page's JS SDK gets them when a user signs in. */
export { idToken } from "../../local/demo-accounts";
