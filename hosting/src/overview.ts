/**
 * The overview: environments with health and 90-day uptime bars, goal progress with error budget,
 * open alerts, the last health report, schedules (schedules.ts), pools (pools.ts), plans, and (for
 * operators) a form to create a plan, a button to run the health checks now, each schedule's actions
 * and each pool's. Refreshed
 * every 2 s through ETag polling; plans are a Firestore listener.
 */
import { collection, limit, onSnapshot, orderBy, query } from "firebase/firestore";
import type { EnvironmentView, UptimeBar } from "../../functions/src/api/status";
import type { Incident } from "../../functions/src/health/incidents";
import type { WindowView } from "../../functions/src/api/windows";
import type { Alert, GoalProgress } from "../../functions/src/schema/health";
import { ApiError, getJson, postJson } from "./api";
import { $, ago, append, badge, duration, el, fieldErrorList, when } from "./dom";
import { poolsSection } from "./pools";
import { schedulesSection } from "./schedules";
import type { View, ViewContext } from "./views";

export const REFRESH_MS = 2_000;

interface Overview {
  scope: "public" | "viewer";
  /** The overall status line (health/incidents.ts overallStatus). */
  status: { level: string; text: string };
  /** Open incidents, and those resolved in the last 90 days. */
  incidents: Incident[];
  environments: Array<Omit<EnvironmentView, "goals" | "configError"> & Partial<Pick<EnvironmentView, "goals" | "configError">>>;
  goals?: GoalProgress[];
  alerts: Array<Partial<Alert> & Pick<Alert, "id" | "title" | "severity" | "firstSeen" | "lastSeen">>;
  lastReport?: { runId: string; startedAt: number; finishedAt: number; durationMs: number; trigger: string; requestedBy: string | null; summary: { environments: number; checks: number; byStatus: Record<string, number>; openAlerts: number }; anomalies?: Array<{ environmentId: string; explanation: string }> } | null;
}

const EXAMPLE_PLAN = {
  name: "gated rollout",
  description: "build, wait for an operator's approval, then deploy",
  approvers: ["operator@example.com"],
  tasks: [
    { id: "build", run: "delay", params: { ms: 500 } },
    { id: "approve-deploy", run: "approval", params: { prompt: "Deploy to production?" }, needs: ["build"] },
    { id: "deploy", run: "delay", params: { ms: 500 }, needs: ["approve-deploy"] },
  ],
};

function uptimeClass(bar: UptimeBar): string {
  if (bar.uptimePercent === null) return "u-none";
  if (bar.uptimePercent >= 99.9) return "u-ok";
  if (bar.uptimePercent >= 99) return "u-minor";
  return "u-major";
}

function environmentCard(env: Overview["environments"][number]): HTMLElement {
  const bars = el("div", { class: "uptime", role: "img", "aria-label": `${env.name}: ${env.uptimePercent === null ? "no data" : `${env.uptimePercent} % up`} over ${env.uptime.length} days` });
  bars.innerHTML = env.uptime.map((b) => `<span class="${uptimeClass(b)}" title="${b.date}: ${b.uptimePercent === null ? "no data" : `${b.uptimePercent} % up, ${Math.round(b.downMinutes)} min down`}"></span>`).join("");
  return el(
    "article",
    { class: "env", "data-env": env.id },
    el("header", {}, el("h3", {}, env.name), badge(env.status)),
    el("p", { class: "muted" }, env.id, " · checked ", ago(env.checkedAt), env.configError ? ` · ${env.configError}` : ""),
    bars,
    el("p", { class: "uptime-legend" }, el("span", {}, `${env.uptime.length} days ago`), el("strong", {}, env.uptimePercent === null ? "no data yet" : `${env.uptimePercent} % uptime`), el("span", {}, "today")),
    env.integrations.length === 0
      ? null
      : el("ul", { class: "integrations", "aria-label": `${env.name} integrations` }, ...env.integrations.map((i) => el("li", {}, badge(i.status, i.integration), i.message ? el("small", {}, ` ${i.message}`) : null))),
  );
}

/** Maintenance windows (public) and freezes (viewers): which are on now, and each one's occurrences. */
function renderWindows(windows: readonly WindowView[]): void {
  const occurrences = (w: WindowView): string =>
    [...w.oneTime.map((o) => `${when(o.start)} → ${when(o.end)}`), ...w.weekly.map((o) => `every ${o.days.join(", ")} at ${o.start} for ${duration(o.durationMinutes * 60)} (${o.timeZone})`)].join("; ");
  $("windows").replaceChildren(
    windows.length === 0
      ? el("p", { class: "muted" }, "None scheduled.")
      : el(
          "ul",
          { class: "windows" },
          ...windows.map((w) =>
            el("li", { "data-window": w.id }, badge(w.activeUntil !== null ? (w.kind === "freeze" ? "waiting" : "degraded") : "planned", w.activeUntil !== null ? `${w.kind} now` : w.kind), " ", el("strong", {}, w.name), ` · ${w.environments.join(", ")} · ${w.activeUntil !== null ? `until ${when(w.activeUntil)}; ` : ""}${occurrences(w)}`),
          ),
        ),
  );
}

/** Resolved incidents of the last 90 days, newest first: when, how long, and what each cost its error budget. */
function incidentHistory(resolved: readonly Incident[]): HTMLElement {
  if (resolved.length === 0) return el("p", { class: "ok-note" }, "No incidents in the last 90 days.");
  // Scrolls inside its own box on a phone rather than widening the page.
  return el(
    "div",
    { class: "scroll" },
    el(
    "table",
    { class: "incidents" },
    el("caption", { class: "sr-only" }, "Incidents resolved in the last 90 days"),
    el("thead", {}, el("tr", {}, ...["Incident", "Environment", "Started", "Lasted", "Budget spent"].map((h) => el("th", { scope: "col" }, h)))),
    el(
      "tbody",
      {},
      ...resolved.map((i) =>
        el(
          "tr",
          { "data-incident": i.id },
          el("td", {}, badge(i.severity), " ", i.title, i.message ? el("small", { class: "muted" }, ` ${i.message}`) : null),
          el("td", {}, i.environmentId ?? "—"),
          el("td", {}, when(i.startedAt)),
          el("td", {}, duration(i.durationMinutes * 60)),
          el("td", {}, i.budgetCost === null ? "—" : `${i.budgetCost.minutes.toFixed(1)} min${i.budgetCost.fraction === null ? "" : ` (${(i.budgetCost.fraction * 100).toFixed(1)} %)`}`),
        ),
      ),
    ),
    ),
  );
}

function goalsTable(goals: GoalProgress[]): HTMLElement {
  if (goals.length === 0) return el("p", { class: "muted" }, "No goals are tracked yet (they come from environment plans' goals, after the first health run).");
  return el(
    "table",
    {},
    el("caption", { class: "sr-only" }, "Goal progress"),
    el("thead", {}, el("tr", {}, ...["Goal", "Environment", "Target", "Uptime", "Error budget left", "Status"].map((h) => el("th", { scope: "col" }, h)))),
    el(
      "tbody",
      {},
      ...goals.map((g) => {
        const left = Math.max(0, Math.min(1, g.errorBudgetLeftFraction));
        return el(
          "tr",
          {},
          el("td", {}, g.goalId),
          el("td", {}, g.environment),
          el("td", {}, `${g.targetUptimePercent} %`),
          el("td", {}, g.uptimePercent === null ? "—" : `${g.uptimePercent.toFixed(3)} %`),
          el(
            "td",
            {},
            el("meter", { min: "0", max: "1", low: "0.25", optimum: "1", value: String(left), "aria-label": `error budget left for ${g.goalId} on ${g.environment}` }),
            ` ${g.errorBudgetLeftMinutes.toFixed(1)} of ${g.allowedDowntimeMinutes.toFixed(1)} min`,
          ),
          el("td", { title: g.explanation }, badge(g.status)),
        );
      }),
    ),
  );
}

export function mountOverview(root: HTMLElement, ctx: ViewContext): View {
  const { session } = ctx;
  const operator = session.role === "operator";
  const schedules = schedulesSection(ctx);
  const pools = poolsSection(ctx);
  root.replaceChildren();
  append(root, [
    el("p", { id: "status-banner", class: "banner", role: "status" }, "Loading…"),
    el("section", { "aria-labelledby": "env-heading" }, el("h2", { id: "env-heading" }, "Environments"), el("div", { id: "environments", class: "envs" }, el("p", { class: "muted" }, "Loading…"))),
    el("section", { "aria-labelledby": "alerts-heading" }, el("h2", { id: "alerts-heading" }, "Open alerts"), el("div", { id: "alerts" })),
    el("section", { "aria-labelledby": "windows-heading" }, el("h2", { id: "windows-heading" }, "Scheduled maintenance and freezes"), el("div", { id: "windows" })),
    el(
      "section",
      { "aria-labelledby": "incidents-heading" },
      el("h2", { id: "incidents-heading" }, "Past incidents"),
      el("div", { id: "incidents" }),
      el("p", { class: "note" }, el("a", { href: "/api/incidents.atom", type: "application/atom+xml" }, "Atom feed of incidents"), " · uptime badges: ", el("code", {}, "/api/environments/<project-id>/badge.svg")),
    ),
    session.role === null ? null : el("section", { "aria-labelledby": "goals-heading" }, el("h2", { id: "goals-heading" }, "Goals"), el("div", { id: "goals" })),
    session.role === null
      ? null
      : el(
          "section",
          { "aria-labelledby": "report-heading" },
          el("h2", { id: "report-heading" }, "Last health report"),
          el("div", { id: "last-report" }),
          operator ? healthRunForm() : null,
        ),
    schedules?.section,
    pools?.section,
    session.role === null
      ? el("section", {}, el("p", { class: "muted" }, "Sign in as a viewer or operator to see plans."))
      : el(
          "section",
          { "aria-labelledby": "plans-heading" },
          el("h2", { id: "plans-heading" }, "Plans"),
          el("table", { id: "plans", class: "plans" }, el("thead", {}, el("tr", {}, ...["Plan", "Status", "Tasks", "Created"].map((h) => el("th", { scope: "col" }, h)))), el("tbody", {})),
          el("p", { id: "plans-empty", class: "muted", hidden: true }, "No plans yet."),
          operator ? newPlanForm(ctx) : null,
        ),
  ]);

  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const refresh = async (): Promise<void> => {
    try {
      // The schedules and pools answer for themselves (their errors show in their sections).
      const [{ body, changed }, windows] = await Promise.all([getJson<Overview>("/api/overview"), getJson<{ windows: WindowView[] }>("/api/windows"), schedules?.refresh(), pools?.refresh()]);
      if (changed && !stopped) renderOverview(body);
      if (windows.changed && !stopped) renderWindows(windows.body.windows);
      $("connection").textContent = `live · ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      const message = error instanceof ApiError && error.status === 401 ? "This deployment's status is private: sign in to see it." : `Cannot load the status: ${(error as Error).message}`;
      $("environments").replaceChildren(el("p", { class: "error", role: "alert" }, message));
    }
    if (!stopped) timer = setTimeout(() => void refresh(), REFRESH_MS);
  };
  void refresh();

  let unsubscribe = (): void => undefined;
  if (session.role !== null) {
    unsubscribe = onSnapshot(
      query(collection(ctx.fb.db, "plans"), orderBy("createdAt", "desc"), limit(50)),
      (snap) => {
        const tbody = $("plans").querySelector("tbody")!;
        tbody.replaceChildren(
          ...snap.docs.map((d) => {
            const plan = d.data();
            const link = el("a", { href: `?plan=${encodeURIComponent(d.id)}` }, typeof plan.name === "string" ? plan.name : d.id);
            link.addEventListener("click", (e) => {
              e.preventDefault();
              ctx.navigate(d.id);
            });
            return el("tr", {}, el("td", {}, link, el("small", { class: "muted" }, ` ${d.id}`)), el("td", {}, badge(String(plan.status ?? "pending"))), el("td", {}, String((plan.compiled as { taskCount?: number } | undefined)?.taskCount ?? "—")), el("td", {}, when(plan.createdAt)));
          }),
        );
        $("plans-empty").hidden = !snap.empty;
      },
      (error) => $("plans-empty").replaceWith(el("p", { class: "error", role: "alert" }, `Cannot list plans: ${error.message}`)),
    );
  }

  return {
    dispose() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      unsubscribe();
    },
  };
}

function renderOverview(body: Overview): void {
  $("status-banner").className = `banner ${body.status.level}`;
  $("status-banner").textContent = body.status.text;
  $("incidents").replaceChildren(incidentHistory(body.incidents.filter((i) => i.status === "resolved")));
  $("environments").replaceChildren(...(body.environments.length === 0 ? [el("p", { class: "muted" }, "No environments yet: they appear once a plan provisions one and a health run checks it.")] : body.environments.map(environmentCard)));
  $("alerts").replaceChildren(
    body.alerts.length === 0
      ? el("p", { class: "ok-note" }, "No open alerts.")
      : el("ul", { class: "alerts" }, ...body.alerts.map((a) => el("li", {}, badge(a.severity), " ", el("strong", {}, a.title), a.message ? ` — ${a.message}` : "", el("small", { class: "muted" }, ` since ${when(a.firstSeen)}, last seen ${ago(a.lastSeen)}`)))),
  );
  const goals = document.getElementById("goals");
  // Scrolls inside its own box on a phone rather than widening the page (like the incidents).
  if (goals !== null) goals.replaceChildren(body.goals?.length ? el("div", { class: "scroll" }, goalsTable(body.goals)) : goalsTable([]));
  const report = document.getElementById("last-report");
  if (report !== null) {
    const r = body.lastReport;
    report.replaceChildren(
      r === null || r === undefined
        ? el("p", { class: "muted" }, "No health run yet.")
        : el(
            "p",
            {},
            `Run ${r.runId} (${r.trigger}${r.requestedBy ? ` by ${r.requestedBy}` : ""}) ${ago(r.finishedAt)}: ${r.summary.checks} checks on ${r.summary.environments} environments in ${(r.durationMs / 1000).toFixed(1)} s — `,
            Object.entries(r.summary.byStatus).map(([s, n]) => `${n} ${s}`).join(", ") || "no checks",
          ),
    );
    if (r?.anomalies !== undefined && r.anomalies.length > 0) report.append(el("ul", { class: "anomalies", "aria-label": "Latency anomalies in the last run" }, ...r.anomalies.map((a) => el("li", { "data-anomaly": a.environmentId }, badge("warning", "anomaly"), ` ${a.explanation}`))));
  }
}

function healthRunForm(): HTMLElement {
  const reason = el("input", { id: "health-reason", name: "reason", maxlength: "2000", placeholder: "optional" });
  const out = el("p", { id: "health-run-result", role: "status" });
  const form = el("form", { class: "inline", "aria-label": "Run the health checks now" }, el("label", { for: "health-reason" }, "Reason"), reason, el("button", { type: "submit" }, "Run health checks now"), out);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    out.textContent = "sending…";
    postJson<{ accepted: { requestedBy: string } }>("/api/health/run", reason.value === "" ? {} : { reason: reason.value }).then(
      (r) => (out.textContent = `Requested by ${r.accepted.requestedBy}; the report appears here when the run finishes.`),
      (error: Error) => (out.textContent = `Not sent: ${error.message}`),
    );
  });
  return form;
}

function newPlanForm(ctx: ViewContext): HTMLElement {
  const text = el("textarea", { id: "plan-json", name: "plan", rows: "12", spellcheck: "false", "aria-describedby": "plan-json-help" });
  const help = el("p", { id: "plan-json-help", class: "muted" }, "A plan document as JSON: a task plan (tasks[]) or an environment plan (environments, goals, constraints). It is validated exactly as the orchestrator will; nothing is written if it is invalid.");
  const out = el("div", { id: "plan-form-result", "aria-live": "polite" });
  const example = el("button", { type: "button", class: "secondary" }, "Insert example");
  example.addEventListener("click", () => (text.value = JSON.stringify(EXAMPLE_PLAN, null, 2)));
  const validate = el("button", { type: "button", class: "secondary" }, "Validate");
  const form = el("form", { id: "new-plan", "aria-labelledby": "new-plan-heading" }, el("h3", { id: "new-plan-heading" }, "New plan"), el("label", { for: "plan-json" }, "Plan JSON"), help, text, el("div", { class: "buttons" }, el("button", { type: "submit" }, "Create plan"), validate, example), out);
  const send = async (validateOnly: boolean): Promise<void> => {
    let spec: unknown;
    try {
      spec = JSON.parse(text.value);
    } catch (e) {
      out.replaceChildren(el("p", { class: "error", role: "alert" }, "Not JSON: "), fieldErrorList([{ path: "", message: (e as Error).message }], "JSON problems"));
      text.setAttribute("aria-invalid", "true");
      return;
    }
    out.replaceChildren(el("p", {}, validateOnly ? "validating…" : "creating…"));
    try {
      const result = await postJson<{ id?: string; summary: { taskCount: number; outcome: string } }>(`/api/plans${validateOnly ? "?validateOnly=true" : ""}`, spec);
      text.removeAttribute("aria-invalid");
      if (validateOnly || result.id === undefined) out.replaceChildren(el("p", { class: "ok-note" }, `Valid: ${result.summary.taskCount} tasks, outcome "${result.summary.outcome}".`));
      else ctx.navigate(result.id);
    } catch (error) {
      text.setAttribute("aria-invalid", "true");
      const e = error as ApiError;
      out.replaceChildren(el("p", { class: "error", role: "alert" }, e.message), e.errors?.length ? fieldErrorList(e.errors, "Problems in the plan") : "");
    }
  };
  validate.addEventListener("click", () => void send(true));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void send(false);
  });
  return form;
}
