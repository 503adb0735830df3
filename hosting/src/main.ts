/**
 * The status page's shell: loads the Firebase config from `/api/config`, signs in (the Auth
 * emulator locally), and shows the overview or one plan (`?plan=<id>`).
 */
import { clearCache, getJson } from "./api";
import { $, el } from "./dom";
import { mountOverview } from "./overview";
import { mountPlanView } from "./plan-view";
import { signIn, signOutOf, startFirebase, watchSession, type Firebase, type PageConfig, type Session } from "./session";
import type { View } from "./views";

let fb: Firebase;
let session: Session = { user: null, role: null };
let view: View | undefined;

function show(): void {
  view?.dispose();
  const planId = new URLSearchParams(location.search).get("plan");
  const ctx = { fb, session, navigate };
  const main = $("main");
  view = planId ? mountPlanView(main, ctx, planId) : mountOverview(main, ctx);
  document.title = planId ? `Plan ${planId} · Firebase Orchestrator` : "Firebase Orchestrator";
}

function navigate(planId: string | null, anchor?: string): void {
  history.pushState(null, "", `${planId === null ? location.pathname : `?plan=${encodeURIComponent(planId)}`}${anchor === undefined ? "" : `#${anchor}`}`);
  show();
  $("main").focus();
}

function renderAccount(): void {
  const box = $("account");
  if (session.user !== null) {
    const out = el("button", { type: "button", class: "secondary" }, "Sign out");
    out.addEventListener("click", () => void signOutOf(fb.auth));
    box.replaceChildren(el("span", { id: "signed-in-as" }, `${session.user.email ?? session.user.uid} · ${session.role ?? "no role"}`), " ", out);
    return;
  }
  const email = el("input", { id: "email", name: "email", type: "email", autocomplete: "username", required: true });
  const password = el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = el("p", { id: "sign-in-error", class: "error", role: "alert" });
  const form = el("form", { id: "sign-in", class: "inline", "aria-label": "Sign in" }, el("label", { for: "email" }, "Email"), email, el("label", { for: "password" }, "Password"), password, el("button", { type: "submit" }, "Sign in"), error);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    error.textContent = "";
    signIn(fb.auth, email.value, password.value).catch((err: Error) => (error.textContent = `Sign-in failed: ${err.message.replace(/^Firebase: /, "")}`));
  });
  const hint = fb.config.emulators.auth !== undefined ? el("p", { class: "muted hint" }, "Local stack: operator@example.com / operator-demo, viewer@example.com / viewer-demo.") : null;
  box.replaceChildren(form, hint ?? "");
}

async function boot(): Promise<void> {
  try {
    const { body } = await getJson<PageConfig>("/api/config");
    fb = startFirebase(body);
  } catch (error) {
    $("connection").textContent = `Cannot reach the API: ${(error as Error).message}`;
    return;
  }
  let first = true;
  watchSession(fb.auth, (next) => {
    const changed = first || next.user?.uid !== session.user?.uid || next.role !== session.role;
    session = next;
    first = false;
    if (!changed) return;
    clearCache();
    renderAccount();
    show();
  });
  window.addEventListener("popstate", show);
}

void boot();
