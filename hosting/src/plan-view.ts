/**
 * One plan: live state from Firestore listeners (plan, tasks, latest events) over the compiled
 * report from the API (graph, timeline, cost, risks, compliance). Operators get the commands.
 * On the local stack the tasks and events are read every two seconds instead of listened to
 * (see pollQuery), unless the URL asks for listeners (`&listen`).
 */
import { collection, doc, getDoc, getDocs, limit, onSnapshot, orderBy, query, type DocumentData, type Query, type QueryDocumentSnapshot } from "firebase/firestore";
import { applicablePlanCommands, FINAL_PLAN_STATUSES, RETRYABLE_FROM, UNCOMPILED_PLAN_STATUSES } from "../../functions/src/engine/plan";
import { TERMINAL_TASK_STATUSES } from "../../functions/src/engine/statuses";
import { summaryLine } from "../../functions/src/planner/format-changes";
import type { PlanReport } from "../../functions/src/planner/report";
import type { PlanStatus } from "../../functions/src/schema/plan";
import { ApiError, getJson, postJson } from "./api";
import { $, append, badge, duration, el, fieldErrorList, usd, when } from "./dom";
import { mountGantt, type GanttRow, type GanttView } from "./gantt";
import { renderGraph, type GraphView } from "./graph";
import { poolAnchor } from "./pools";
import { scheduleAnchor } from "./schedules";
import { newCommandId, type View, type ViewContext } from "./views";

/** How often the page reads a plan's tasks and events on the local stack. */
const POLL_MS = 2_000;
// The engine's own status lists (plain constants: nothing of the engine's code comes along).
const TERMINAL: ReadonlySet<string> = TERMINAL_TASK_STATUSES;
const BEFORE_REPORT: ReadonlySet<string> = UNCOMPILED_PLAN_STATUSES;
const PLAN_ENDED: ReadonlySet<string> = FINAL_PLAN_STATUSES;
const RETRYABLE: ReadonlySet<string> = new Set(RETRYABLE_FROM);

interface TaskState {
  id: string;
  name: string | null;
  run: string;
  status: string;
  attempt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: { message: string } | null;
  /** Its own transitions, oldest first (the task document's `history`). */
  history: Array<{ at: number; from: string | null; to: string; attempt: number; cause: string }>;
  compensationError: string | null;
}

/** One attempt as its transitions tell it: when it was claimed, how it ended, and why. */
export interface AttemptRow {
  attempt: number;
  startedAt: number | null;
  endedAt: number | null;
  outcome: string;
  cause: string;
}

/** A task's attempts from its history: each attempt's first claim, and where its last transition left it. */
export function attemptsOf(history: TaskState["history"]): AttemptRow[] {
  const rows = new Map<number, AttemptRow>();
  for (const h of history) {
    const row = rows.get(h.attempt) ?? { attempt: h.attempt, startedAt: null, endedAt: null, outcome: h.to, cause: h.cause };
    if (h.to === "running" && row.startedAt === null) row.startedAt = h.at;
    row.outcome = h.to;
    row.cause = h.cause;
    row.endedAt = h.to === "running" || h.to === "blocked" ? null : h.at;
    rows.set(h.attempt, row);
  }
  return [...rows.values()].filter((r) => r.startedAt !== null || r.outcome !== "blocked").sort((a, b) => a.attempt - b.attempt);
}

/**
 * Reads `q` now, then every `everyMs` and whenever `refresh` is called (the plan document changed):
 * what the page does on the Firestore emulator instead of listening to a plan's tasks and events.
 * The emulator re-evaluates a query listener on every write to its collection: with one open, a
 * 1,000-task plan on the local stack ran 6.5 times slower. Production Firestore listeners have no
 * such cost, so the deployed page listens.
 */
function pollQuery(q: Query, everyMs: number, onDocs: (docs: QueryDocumentSnapshot[]) => void, onError: (error: Error) => void): { stop: () => void; refresh: () => void } {
  let stopped = false;
  let reading = false;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    clearTimeout(timer);
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      const snap = await getDocs(q);
      if (!stopped) onDocs(snap.docs);
    } catch (error) {
      if (!stopped) onError(error as Error);
    }
    reading = false;
    if (stopped) return;
    if (again) {
      again = false;
      void tick();
    } else timer = setTimeout(() => void tick(), everyMs);
  };
  void tick();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
    refresh: () => void tick(),
  };
}

function taskState(id: string, d: DocumentData): TaskState {
  return {
    id,
    name: typeof d.name === "string" ? d.name : null,
    run: String(d.run ?? ""),
    status: String(d.status ?? "blocked"),
    attempt: typeof d.attempt === "number" ? d.attempt : 1,
    startedAt: typeof d.startedAt === "number" ? d.startedAt : null,
    finishedAt: typeof d.finishedAt === "number" ? d.finishedAt : null,
    error: d.error && typeof d.error.message === "string" ? { message: d.error.message } : null,
    history: Array.isArray(d.history) ? (d.history as TaskState["history"]).filter((h) => typeof h?.at === "number" && typeof h.to === "string") : [],
    compensationError: typeof d.compensationError === "string" ? d.compensationError : d.compensationError && typeof d.compensationError.message === "string" ? d.compensationError.message : null,
  };
}

/** A plan's controls as the page shows them: from `compiled.controls` and `compiled.template`, and the run's deadline (`runDeadline`). */
export interface PlanControls {
  maxParallel: number | null;
  priority: number;
  pools: string[];
  deadlineSeconds: number | null;
  /** When this run's deadline passes; null before the plan begins and once the run ended. */
  deadlineAt: number | null;
  template: { id: string; version: number } | null;
}

export function controlsOf(plan: DocumentData): PlanControls {
  const compiled = (typeof plan.compiled === "object" && plan.compiled !== null ? plan.compiled : {}) as Record<string, unknown>;
  const c = (typeof compiled.controls === "object" && compiled.controls !== null ? compiled.controls : {}) as Record<string, unknown>;
  const run = (typeof plan.runDeadline === "object" && plan.runDeadline !== null ? plan.runDeadline : {}) as Record<string, unknown>;
  const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const t = compiled.template as { id?: unknown; version?: unknown } | null | undefined;
  return {
    maxParallel: num(c.maxParallel),
    priority: num(c.priority) ?? 0,
    pools: Array.isArray(c.pools) ? c.pools.filter((p): p is string => typeof p === "string") : [],
    deadlineSeconds: num(run.seconds) ?? num(c.deadlineSeconds),
    deadlineAt: num(run.at),
    template: t && typeof t.id === "string" && typeof t.version === "number" ? { id: t.id, version: t.version } : null,
  };
}

/** Time left, to the second under an hour: `42 s`, `4 min 12 s`, `1 h 5 min`. */
export function untilText(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 === 0 ? "" : ` ${s % 60} s`}`;
  const m = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${m === 0 ? "" : ` ${m} min`}`;
}

/** A task given back unrun because its pool was full (runtime/run-task.ts waitForSlot): which pool, and its size then. */
export function slotWaitOf(t: Pick<TaskState, "status" | "history">): { pool: string; slots: number } | null {
  if (t.status !== "ready") return null;
  const match = /waiting for a slot: pool (\S+) has all (\d+) in use/.exec(t.history.at(-1)?.cause ?? "");
  return match === null ? null : { pool: match[1]!, slots: Number(match[2]) };
}

export function mountPlanView(root: HTMLElement, ctx: ViewContext, planId: string): View {
  const back = el("a", { href: "./" }, "← All plans and environments");
  back.addEventListener("click", (e) => {
    e.preventDefault();
    ctx.navigate(null);
  });
  if (ctx.session.role === null) {
    root.replaceChildren(back, el("p", { class: "error", role: "alert" }, "Sign in as a viewer or operator to see plans."));
    return { dispose: () => undefined };
  }
  const operator = ctx.session.role === "operator";
  // Declared before the view is built: actionsPanel() (an operator's) fills them while it is.
  /** The plan commands that apply to the plan as it is now; the others are hidden (updateActions). */
  const actionButtons = new Map<string, { button: HTMLElement; label: string }>();
  let actionsNote: HTMLElement | undefined;
  /** A cancel or rollback asks to be confirmed: its first click arms it for 10 s, the second sends. */
  let armed: { name: string; timer: ReturnType<typeof setTimeout> } | undefined;
  const disarm = (): void => {
    if (armed === undefined) return;
    clearTimeout(armed.timer);
    const entry = actionButtons.get(armed.name)!;
    entry.button.textContent = entry.label;
    entry.button.removeAttribute("data-armed");
    armed = undefined;
  };
  root.replaceChildren();
  append(root, [
    back,
    el(
      "section",
      { "aria-labelledby": "plan-heading", id: "plan-view", "data-plan": planId },
      el("h2", { id: "plan-heading" }, `Plan ${planId}`),
      el("p", { id: "plan-summary", role: "status" }, "Loading…"),
      el("p", { id: "plan-controls", class: "controls-line", hidden: true }),
      el("p", { id: "plan-failure", class: "ended-why", role: "alert", hidden: true }),
      el("p", { id: "plan-schedule", class: "note", hidden: true }),
      el("p", { id: "plan-waiting", class: "note" }),
      el("div", { id: "plan-errors" }),
      operator ? actionsPanel() : null,
      el("div", { id: "approvals" }),
    ),
    el(
      "section",
      { "aria-labelledby": "graph-heading" },
      el("h2", { id: "graph-heading" }, "Dependency graph"),
      el("p", { id: "critical-path", class: "muted" }),
      el("div", { id: "graph" }, el("p", { class: "muted" }, "The graph appears once the plan is compiled.")),
      el("div", { id: "task-detail", "aria-live": "polite" }),
    ),
    el("section", { "aria-labelledby": "timeline-heading" }, el("h2", { id: "timeline-heading" }, "Timeline (planned vs actual)"), el("div", { id: "gantt" })),
    el("section", { "aria-labelledby": "changes-heading" }, el("h2", { id: "changes-heading" }, "What it changes"), el("div", { id: "changes" })),
    el("section", { "aria-labelledby": "cost-heading" }, el("h2", { id: "cost-heading" }, "Cost estimate"), el("div", { id: "cost" })),
    el("section", { "aria-labelledby": "risks-heading" }, el("h2", { id: "risks-heading" }, "Risks and compliance"), el("div", { id: "risks" }), el("div", { id: "compliance" })),
    el("section", { "aria-labelledby": "history-heading" }, el("h2", { id: "history-heading" }, "History"), el("ol", { id: "events", class: "events", reversed: true })),
    el("details", { id: "task-list-box" }, el("summary", {}, "All tasks as a table"), el("div", { id: "task-list" })),
  ]);

  let plan: DocumentData | undefined;
  let report: PlanReport | undefined;
  let graph: GraphView | undefined;
  let gantt: GanttView | undefined;
  let reportLoading = false;
  let selected: string | null = null;
  const tasks = new Map<string, TaskState>();
  const statuses = new Map<string, string>();
  let pending: ReturnType<typeof setTimeout> | undefined;

  const loadReport = (): void => {
    if (report !== undefined || reportLoading || plan === undefined || BEFORE_REPORT.has(String(plan.status ?? "pending"))) return;
    reportLoading = true;
    getJson<{ report: PlanReport }>(`/api/plans/${encodeURIComponent(planId)}/report`).then(
      ({ body }) => {
        report = body.report;
        renderReport();
      },
      (error: ApiError) => {
        reportLoading = false;
        $("graph").replaceChildren(el("p", { class: "error", role: "alert" }, `Cannot load the compiled plan: ${error.message}`));
      },
    );
  };

  const renderReport = (): void => {
    if (report === undefined) return;
    const r = report;
    const t0 = performance.now();
    graph = renderGraph($("graph"), { nodes: r.graph.nodes, edges: r.graph.edges, criticalPath: r.criticalPath.taskIds }, statuses, select, { openLanes: new URLSearchParams(window.location.search).get("lanes") === "open" });
    $("graph").dataset.renderMs = String(Math.round(performance.now() - t0));
    $("graph").dataset.tasks = String(r.graph.nodes.length);
    $("critical-path").textContent = `Critical path: ${r.criticalPath.taskIds.length} tasks, ${duration(r.criticalPath.durationSeconds)} expected (${r.criticalPath.taskIds.slice(0, 8).join(" → ")}${r.criticalPath.taskIds.length > 8 ? " → …" : ""}).`;
    renderChanges(r);
    renderCost(r);
    renderRisks(r);
    scheduleLive();
  };

  const select = (taskId: string): void => {
    selected = taskId;
    renderDetail();
  };

  const command = async (body: { command: string; taskId?: string; downstream?: boolean; reason?: string }, out: HTMLElement): Promise<void> => {
    out.textContent = `sending ${body.command}…`;
    try {
      await postJson(`/api/plans/${encodeURIComponent(planId)}/commands`, { ...body, commandId: newCommandId() });
      out.textContent = `${body.command} sent${body.taskId ? ` for ${body.taskId}` : ""}: the page updates when the engine applies it.`;
    } catch (error) {
      const e = error as ApiError;
      out.replaceChildren(el("span", { class: "error", role: "alert" }, `${body.command} refused: ${e.message}`), e.errors?.length ? fieldErrorList(e.errors, "Problems in the command") : "");
    }
  };

  function actionsPanel(): HTMLElement {
    const reason = el("input", { id: "command-reason", name: "reason", maxlength: "2000", placeholder: "optional, recorded with the command" });
    const out = el("p", { id: "command-result", role: "status" });
    const button = (name: string, label: string, confirm: string | null): HTMLElement => {
      const b = el("button", { type: "button", "data-command": name, class: confirm === null ? "" : "danger", hidden: "" }, label);
      b.addEventListener("click", () => {
        if (confirm !== null && armed?.name !== name) {
          disarm();
          b.textContent = confirm;
          b.dataset.armed = "true";
          out.textContent = `${label}: click again within 10 s to confirm.`;
          armed = { name, timer: setTimeout(() => { disarm(); out.textContent = ""; }, 10_000) };
          return;
        }
        disarm();
        if (name === "override" && reason.value.trim() === "") {
          out.textContent = "An override needs a reason: it is recorded with your name in the plan's history.";
          reason.focus();
          return;
        }
        void command({ command: name, ...(reason.value ? { reason: reason.value } : {}) }, out);
      });
      actionButtons.set(name, { button: b, label });
      return b;
    };
    actionsNote = el("p", { id: "actions-note", class: "muted" }, "");
    return el(
      "div",
      { class: "actions", role: "group", "aria-label": "Plan commands" },
      el("label", { for: "command-reason" }, "Reason"),
      reason,
      el(
        "div",
        { class: "buttons" },
        button("resume", "Resume", null),
        button("pause", "Pause", null),
        button("override", "Override the freeze", "Confirm: start despite the freeze (needs a reason)"),
        button("retry", "Retry failed tasks", null),
        button("cancel", "Cancel plan", "Confirm: cancel the plan"),
        button("rollback", "Roll back", "Confirm: roll back everything it did"),
      ),
      actionsNote,
      out,
    );
  }

  /** Shows only the commands the plan's status allows (engine/plan.ts applicablePlanCommands). */
  const updateActions = (status: string, dryRun: boolean, frozen: boolean): void => {
    if (actionButtons.size === 0) return;
    const applicable = new Set<string>(applicablePlanCommands(status as PlanStatus, dryRun, frozen));
    if (armed !== undefined && !applicable.has(armed.name)) disarm();
    for (const [name, { button }] of actionButtons) button.hidden = !applicable.has(name);
    actionsNote!.textContent = applicable.size > 0 ? "" : dryRun ? "A dry run changes nothing: no command applies." : `No command applies to a ${status} plan.`;
  };

  /** The selected task's output (operators only: plans/{id}/outputs is theirs), read when it is opened. */
  let output: { key: string; text: string } | undefined;
  /** Read again when the task moves on (an output is written when an attempt completes). */
  const loadOutput = (taskId: string, t: TaskState | undefined): void => {
    const key = `${taskId}#${t?.attempt ?? 0}#${t?.status ?? ""}`;
    if (!operator || output?.key === key) return;
    output = { key, text: output?.key.startsWith(`${taskId}#`) ? output.text : "loading…" };
    getDoc(doc(ctx.fb.db, "plans", planId, "outputs", taskId)).then(
      (snap) => {
        if (output?.key !== key) return;
        const text = snap.exists() ? JSON.stringify(snap.data().output, null, 2) : "none recorded";
        output = { key, text: text.length > 20_000 ? `${text.slice(0, 20_000)}\n… (${text.length.toLocaleString()} characters in all)` : text };
        renderDetail();
      },
      (error: Error) => {
        if (output?.key === key) output = { key, text: `cannot read it: ${error.message}` };
        renderDetail();
      },
    );
  };

  const renderDetail = (): void => {
    const box = $("task-detail");
    if (selected === null) return void box.replaceChildren();
    const t = tasks.get(selected);
    const node = report?.graph.nodes.find((n) => n.id === selected);
    const out = el("span", { role: "status" });
    // Targeted recovery of a finished plan: from this task (and its downstream), or past it when it failed.
    const recoverable = operator && RETRYABLE.has(String(plan?.status ?? "")) && t !== undefined && TERMINAL.has(t.status);
    const reasonOf = (): string => (document.getElementById("command-reason") as HTMLInputElement | null)?.value.trim() ?? "";
    const taskButton = (label: string, name: "retry" | "skip" | "mark-success"): HTMLElement => {
      const b = el("button", { type: "button", "data-task-command": name }, label);
      b.addEventListener("click", () => {
        // Answered in the plan's command line, which live updates of this detail do not redraw.
        const result = document.getElementById("command-result") ?? out;
        if (name !== "retry" && reasonOf() === "") {
          result.textContent = `${label} needs a reason: write it in the Reason box above (it is recorded with your name).`;
          return;
        }
        void command({ command: name, taskId: selected!, ...(name === "retry" ? { downstream: true } : {}), ...(reasonOf() ? { reason: reasonOf() } : {}) }, result);
      });
      return b;
    };
    const recovery = recoverable
      ? el(
          "div",
          { class: "buttons", role: "group", "aria-label": `Recover from ${selected}` },
          taskButton("Retry this task and its downstream", "retry"),
          t!.status === "failed" ? taskButton("Skip it", "skip") : null,
          t!.status === "failed" ? taskButton("Mark it succeeded", "mark-success") : null,
        )
      : null;
    loadOutput(selected, t);
    const attempts = attemptsOf(t?.history ?? []);
    const waiting = t?.status === "waiting_approval" && operator;
    const slotWait = t === undefined ? null : slotWaitOf(t);
    box.replaceChildren(
      el(
        "div",
        { class: "detail", "data-detail": selected },
        el("h3", {}, t?.name ?? node?.name ?? selected, " ", badge(t?.status ?? "blocked")),
        slotWait === null
          ? null
          : el(
              "p",
              { class: "slot-wait", "data-slot-wait": slotWait.pool },
              `Waiting for a slot in pool ${slotWait.pool} (all ${slotWait.slots} in use)`,
              el("small", { class: "muted" }, slotWait.pool === `plan-${planId}` ? " — this plan's own limit (maxParallel): it starts when one of its running tasks finishes." : " — it starts when a slot is given back, by priority, then by arrival; no retry is spent."),
            ),
        el(
          "dl",
          {},
          el("dt", {}, "Task"),
          el("dd", {}, el("code", {}, selected)),
          el("dt", {}, "Runs"),
          el("dd", {}, t?.run ?? node?.run ?? "—"),
          el("dt", {}, "Attempt"),
          el("dd", {}, String(t?.attempt ?? 1)),
          el("dt", {}, "Started / finished"),
          el("dd", {}, `${when(t?.startedAt)} / ${when(t?.finishedAt)}`),
          node ? el("dt", {}, "Planned") : null,
          node ? el("dd", {}, `${duration(node.durationSeconds)}, slack ${duration(node.slackSeconds)}${node.critical ? ", on the critical path" : ""}`) : null,
          node?.estimate ? el("dt", {}, "Predicted from") : null,
          node?.estimate
            ? el(
                "dd",
                { class: "estimate" },
                node.estimate.source === "history"
                  ? `its last ${node.estimate.samples} runs: median ${duration(node.estimate.medianSeconds)}, p90 ${duration(node.estimate.p90Seconds)}${t?.startedAt && t?.finishedAt && t.status === "succeeded" ? `; this run took ${duration((t.finishedAt - t.startedAt) / 1000)}` : ""}`
                  : `the catalogue's estimate (${node.estimate.samples} earlier runs; history is used from 5)`,
              )
            : null,
          t?.error ? el("dt", {}, "Error") : null,
          t?.error ? el("dd", { class: "error" }, t.error.message) : null,
          t?.compensationError ? el("dt", {}, "Compensation") : null,
          t?.compensationError ? el("dd", { class: "error" }, t.compensationError) : null,
        ),
        el("h4", {}, "Attempts"),
        attempts.length === 0
          ? el("p", { class: "muted" }, "None yet.")
          : el(
              "table",
              { class: "attempts" },
              el("thead", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, "Started"), el("th", {}, "Took"), el("th", {}, "Outcome"), el("th", {}, "Why"))),
              el(
                "tbody",
                {},
                ...attempts.map((a) =>
                  el("tr", {}, el("td", {}, String(a.attempt)), el("td", {}, when(a.startedAt)), el("td", {}, a.startedAt !== null && a.endedAt !== null ? duration((a.endedAt - a.startedAt) / 1000) : "—"), el("td", {}, badge(a.outcome)), el("td", {}, a.cause)),
                ),
              ),
            ),
        operator ? el("h4", {}, "Output") : null,
        operator ? el("pre", { class: "output" }, output?.key.startsWith(`${selected}#`) ? output.text : "loading…") : null,
        el("details", {}, el("summary", {}, `Its transitions (${t?.history.length ?? 0})`), el("ol", { class: "events" }, ...(t?.history ?? []).map((h) => el("li", {}, el("time", {}, when(h.at)), ` ${h.from ?? "—"} → ${h.to} (attempt ${h.attempt}): ${h.cause}`)))),
        waiting ? el("p", { class: "muted" }, "This gate waits for approval: approve or reject it in the list above.") : null,
        recovery,
        out,
      ),
    );
  };

  const renderLive = (): void => {
    pending = undefined;
    $("connection").textContent = `live · ${new Date().toLocaleTimeString()}`;
    const all = [...tasks.values()];
    const done = all.filter((t) => TERMINAL.has(t.status)).length;
    const status = String(plan?.status ?? "pending");
    const total = (plan?.compiled as { taskCount?: number } | undefined)?.taskCount ?? all.length;
    $("plan-summary").replaceChildren(badge(status), ` ${done}/${total} tasks finished`, plan?.failedTask ? ` · failed at ${String(plan.failedTask)}` : "", plan?.startedAt ? ` · started ${when(plan.startedAt)}` : "");
    $("plan-view").dataset.status = status;
    const waiting = all.filter((t) => t.status === "waiting_approval");
    $("approvals").replaceChildren(
      ...(waiting.length === 0
        ? []
        : [
            el("h3", {}, "Waiting for approval"),
            el(
              "ul",
              { class: "approvals" },
              ...waiting.map((t) => {
                const out = el("span", { role: "status" });
                const approve = el("button", { type: "button", "data-approve": t.id }, `Approve ${t.id}`);
                const reject = el("button", { type: "button", class: "danger", "data-reject": t.id }, `Reject ${t.id}`);
                approve.addEventListener("click", () => void command({ command: "approve", taskId: t.id }, out));
                reject.addEventListener("click", () => void command({ command: "reject", taskId: t.id }, out));
                return el("li", {}, el("strong", {}, t.name ?? t.id), " ", ...(operator ? [approve, " ", reject] : [el("span", { class: "muted" }, "(an operator decides)")]), " ", out);
              }),
            ),
          ]),
    );
    if (report !== undefined) {
      const origin = typeof plan?.startedAt === "number" ? plan.startedAt : null;
      const rel = (ms: number | null): number | null => (origin === null || ms === null ? null : (ms - origin) / 1000);
      const critical = new Set(report.criticalPath.taskIds);
      const runs = new Map(report.graph.nodes.map((n) => [n.id, n.run]));
      const rows: GanttRow[] = report.timeline.map((row) => {
        const t = tasks.get(row.id);
        const run = runs.get(row.id);
        return { ...row, status: t?.status ?? "blocked", actualStartSeconds: rel(t?.startedAt ?? null), actualFinishSeconds: rel(t?.finishedAt ?? null), critical: critical.has(row.id), waits: run === "approval" || run === "external" };
      });
      (gantt ??= mountGantt($("gantt"))).render(rows, origin === null || PLAN_ENDED.has(status) ? null : (Date.now() - origin) / 1000);
    }
    if (selected !== null) renderDetail();
    const list = $("task-list-box") as HTMLDetailsElement;
    if (list.open) renderTaskList();
  };
  const scheduleLive = (): void => {
    pending ??= setTimeout(renderLive, 150);
  };

  const renderTaskList = (): void => {
    const rows = [...tasks.values()].sort((a, b) => a.id.localeCompare(b.id));
    $("task-list").replaceChildren(
      el(
        "table",
        {},
        el("thead", {}, el("tr", {}, ...["Task", "Status", "Runs", "Attempt", "Finished"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, ...rows.map((t) => el("tr", {}, el("td", {}, el("code", {}, t.id)), el("td", {}, badge(t.status)), el("td", {}, t.run), el("td", {}, String(t.attempt)), el("td", {}, when(t.finishedAt))))),
      ),
    );
  };
  $("task-list-box").addEventListener("toggle", () => ($("task-list-box") as HTMLDetailsElement).open && renderTaskList());

  const db = ctx.fb.db;
  // `&listen` in the URL keeps the listeners on the local stack too (instant, fine for small plans).
  const local = ctx.fb.config.emulators.firestore !== undefined && !new URLSearchParams(window.location.search).has("listen");
  const tasksQuery = query(collection(db, "plans", planId, "tasks"), limit(5_000));
  const eventsQuery = query(collection(db, "plans", planId, "events"), orderBy("at", "desc"), limit(100));
  const updateTask = (id: string, data: DocumentData) => {
    const t = taskState(id, data);
    tasks.set(t.id, t);
    if (statuses.get(t.id) !== t.status) {
      statuses.set(t.id, t.status);
      graph?.setStatus(t.id, t.status);
    }
  };
  const showEvents = (docs: QueryDocumentSnapshot[]) =>
    $("events").replaceChildren(
      ...docs.map((d) => {
        const e = d.data();
        return el("li", {}, el("time", {}, when(e.at)), " ", el("span", { class: "muted" }, String(e.actor ?? "")), " ", String(e.message ?? e.type ?? ""));
      }),
    );
  /** A schedule's run (labels `schedule` and `tick`, set by the firing pass or a backfill): which schedule and tick started it. */
  const showSchedule = (labels: unknown): void => {
    const { schedule, tick } = (typeof labels === "object" && labels !== null ? labels : {}) as Record<string, unknown>;
    const line = $("plan-schedule");
    line.hidden = typeof schedule !== "string";
    if (typeof schedule !== "string") return;
    const link = el("a", { href: `./#${scheduleAnchor(schedule)}`, "data-schedule-link": schedule }, schedule);
    link.addEventListener("click", (e) => {
      e.preventDefault();
      ctx.navigate(null, scheduleAnchor(schedule));
    });
    const at = typeof tick === "string" ? Date.parse(tick) : Number.NaN;
    line.replaceChildren("Started by schedule ", link, ...(typeof tick === "string" ? [" for its tick ", el("time", { datetime: tick, title: tick }, Number.isNaN(at) ? tick : when(at)), ` (${tick})`] : []), ".");
  };
  /** The deadline's countdown, redrawn every second while the run's deadline is set. */
  let countdown: { span: HTMLElement; at: number } | undefined;
  const tick = (): void => {
    if (countdown === undefined) return;
    const left = countdown.at - Date.now();
    countdown.span.textContent = left > 0 ? `ends in ${untilText(left)}` : "passed: the sweeper ends the run within a minute";
    countdown.span.classList.toggle("passed", left <= 0);
  };
  const ticker = setInterval(tick, 1_000);
  /** How the plan shares the orchestrator (the compiled controls), its run's deadline, and the template it comes from: only what applies. */
  const showControls = (p: DocumentData): void => {
    const c = controlsOf(p);
    const parts: Array<Array<Node | string>> = [];
    if (c.maxParallel !== null) parts.push([el("span", { "data-control": "max-parallel" }, `At most ${c.maxParallel} task${c.maxParallel === 1 ? "" : "s"} at once`)]);
    if (c.priority !== 0) parts.push([el("span", { "data-control": "priority" }, `Priority ${c.priority}`)]);
    if (c.pools.length > 0) {
      const links = c.pools.flatMap((id, i) => {
        const link = el("a", { href: `./#${poolAnchor(id)}`, "data-pool-link": id }, id);
        link.addEventListener("click", (e) => {
          e.preventDefault();
          ctx.navigate(null, poolAnchor(id));
        });
        return i === 0 ? [link] : [", ", link];
      });
      parts.push([el("span", { "data-control": "pools" }, c.pools.length === 1 ? "Pool: " : "Pools: ", ...links)]);
    }
    countdown = undefined;
    const exceeded = p.failure === "deadline_exceeded";
    if (c.deadlineSeconds !== null) {
      const at = c.deadlineAt;
      const state = el("span", { class: `deadline-state${exceeded ? " passed" : ""}` });
      if (exceeded) state.textContent = "passed";
      else if (at !== null && !PLAN_ENDED.has(String(p.status ?? ""))) {
        state.title = `at ${when(at)}`;
        countdown = { span: state, at };
      }
      parts.push([el("span", { "data-control": "deadline" }, `Deadline: ${duration(c.deadlineSeconds)} per run`, ...(exceeded || countdown !== undefined ? [" — ", state] : []))]);
    }
    if (c.template !== null) parts.push([el("span", { "data-control": "template" }, `From template ${c.template.id} v${c.template.version}`)]);
    const line = $("plan-controls");
    line.hidden = parts.length === 0;
    line.replaceChildren(...parts.flatMap((part, i) => (i === 0 ? part : [" · ", ...part])));
    tick();
    const why = $("plan-failure");
    const failure = typeof p.failure === "string" ? p.failure : null;
    why.hidden = failure === null;
    why.textContent =
      failure === null
        ? ""
        : exceeded
          ? `Ended: the run passed its deadline of ${duration(c.deadlineSeconds ?? 0)} (deadline_exceeded)${p.status === "rolled_back" || p.status === "rolling_back" ? ", so it was rolled back" : ""}. Attempts that were running finished; retry it for a new deadline.`
          : `Ended: ${failure.replace(/_/g, " ")} (${failure}).`;
  };
  const failed = (what: string) => (error: Error) => $("plan-summary").replaceChildren(el("span", { class: "error", role: "alert" }, `Cannot read ${what}: ${error.message}`));
  const polls = local
    ? [
        pollQuery(tasksQuery, POLL_MS, (docs) => {
          const present = new Set(docs.map((d) => d.id));
          for (const id of [...tasks.keys()]) if (!present.has(id)) tasks.delete(id);
          for (const d of docs) updateTask(d.id, d.data());
          scheduleLive();
        }, failed("the tasks")),
        pollQuery(eventsQuery, POLL_MS, showEvents, failed("the history")),
      ]
    : undefined;
  const stops = [
    onSnapshot(
      doc(db, "plans", planId),
      (snap) => {
        if (!snap.exists()) {
          $("plan-summary").replaceChildren(el("span", { class: "error", role: "alert" }, `No plan "${planId}".`));
          return;
        }
        plan = snap.data();
        const waitingFor = plan.status === "waiting" ? (plan.waitingFor as { lock?: string; plan?: string; freeze?: string; name?: string; environment?: string; until?: number } | null | undefined) : null;
        updateActions(String(plan.status ?? "pending"), plan.dryRun === true, typeof waitingFor?.freeze === "string");
        $("plan-waiting").textContent =
          typeof waitingFor?.freeze === "string"
            ? `Waiting: ${waitingFor.environment ?? "an environment"} is frozen by window "${waitingFor.name ?? waitingFor.freeze}" until ${when(waitingFor.until)}. It starts then, or when an operator overrides the freeze with a reason.`
            : typeof waitingFor?.lock === "string"
              ? `Waiting: environment ${waitingFor.lock} is locked by plan ${waitingFor.plan ?? "another plan"}; this plan goes on when it finishes.`
              : plan.status === "paused"
                ? "Paused: nothing new starts until it is resumed; attempts that were running finish, and gates keep their deadlines."
                : "";
        $("plan-heading").textContent = `Plan ${typeof plan.name === "string" ? plan.name : planId}`;
        showSchedule(plan.labels);
        showControls(plan);
        const errors = Array.isArray(plan.errors) ? (plan.errors as Array<{ path: string; message: string }>) : [];
        $("plan-errors").replaceChildren(...(errors.length === 0 ? [] : [el("p", { class: "error", role: "alert" }, `The plan is ${String(plan.status)}: fix these fields and submit it again.`), fieldErrorList(errors, "Problems in the plan")]));
        const reasons = (plan.compiled as { rejectedReasons?: string[] } | undefined)?.rejectedReasons ?? [];
        if (plan.status === "rejected" && reasons.length > 0) $("plan-errors").append(el("ul", { class: "errors", "aria-label": "Why the plan was rejected" }, ...reasons.map((r) => el("li", {}, r))));
        loadReport();
        scheduleLive();
        // A plan transition usually comes with task changes: read them now rather than at the next tick.
        polls?.forEach((p) => p.refresh());
      },
      failed("the plan"),
    ),
    polls
      ? () => polls.forEach((p) => p.stop())
      : onSnapshot(
          tasksQuery,
          (snap) => {
            for (const change of snap.docChanges()) {
              if (change.type === "removed") tasks.delete(change.doc.id);
              else updateTask(change.doc.id, change.doc.data());
            }
            scheduleLive();
          },
          failed("the tasks"),
        ),
    polls ? () => undefined : onSnapshot(eventsQuery, (snap) => showEvents(snap.docs), failed("the history")),
  ];
  return {
    dispose() {
      clearInterval(ticker);
      for (const stop of stops) stop();
      if (pending !== undefined) clearTimeout(pending);
    },
  };
}

/** The refresh's change sets, per environment (written by `npm run plan -- <file> --refresh --apply`). */
function renderChanges(r: PlanReport): void {
  const sets = r.changeSets ?? null;
  if (sets === null) {
    $("changes").replaceChildren(el("p", { class: "muted" }, "Compiled without a refresh, so what it changes was not diffed beforehand: `npm run plan -- <file> --refresh --apply` shows the diff and pins it."));
    return;
  }
  $("changes").replaceChildren(
    el("p", {}, `Diffed against the live state ${new Date(sets.refreshedAt).toISOString().replace("T", " ").slice(0, 19)} UTC: ${summaryLine(sets.total)}. A provision whose state moved since stops the plan as stale.`),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ...["Environment", "To create", "To change", "Unchanged", "Integrations that change"].map((h) => el("th", { scope: "col" }, h)))),
      el(
        "tbody",
        {},
        ...sets.environments.map((env) =>
          el(
            "tr",
            {},
            el("td", {}, `${env.environment} (${env.projectId})`),
            el("td", { class: "num" }, String(env.summary.create)),
            el("td", { class: "num" }, String(env.summary.update + env.summary.replace)),
            el("td", { class: "num" }, String(env.summary.noop)),
            el("td", {}, env.tasks.filter((t) => t.summary.create + t.summary.update + t.summary.replace > 0).map((t) => t.integration).join(", ") || "none"),
          ),
        ),
      ),
    ),
  );
}

/** Each environment's rows, then its subtotal, in the report's order. */
function costRowsWithSubtotals(rows: NonNullable<PlanReport["cost"]>["rows"]): HTMLElement[] {
  const out: HTMLElement[] = [];
  const envs = [...new Set(rows.map((r) => r.environment))];
  for (const env of envs) {
    const mine = rows.filter((r) => r.environment === env);
    for (const row of mine) out.push(el("tr", {}, el("td", {}, row.environment), el("td", {}, row.integration), el("td", { class: "num" }, usd(row.monthlyUsd))));
    out.push(el("tr", { class: "subtotal", "data-subtotal": env }, el("th", { scope: "row", colspan: "2" }, `${env} subtotal`), el("td", { class: "num" }, usd(mine.reduce((sum, r) => sum + r.monthlyUsd, 0)))));
  }
  return out;
}

function renderCost(r: PlanReport): void {
  const cost = r.cost;
  if (cost === null) {
    $("cost").replaceChildren(el("p", { class: "muted" }, "Task plans carry no cost model; environment plans do."));
    return;
  }
  $("cost").replaceChildren(
    el(
      "table",
      {},
      el("caption", {}, `Monthly estimate, price table ${cost.priceTableVersion}`),
      el("thead", {}, el("tr", {}, ...["Environment", "Integration", "Monthly"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...costRowsWithSubtotals(cost.rows)),
      el("tfoot", {}, el("tr", {}, el("th", { scope: "row", colspan: "2" }, "Total"), el("td", { class: "num" }, usd(cost.totalMonthlyUsd)))),
    ),
    cost.budget === null ? el("p", { class: "muted" }, "No budget set.") : el("p", {}, "Budget ", usd(cost.budget.limitUsd), ": ", badge(cost.budget.status), ` (headroom ${usd(cost.budget.headroomUsd)})`),
  );
}

function renderRisks(r: PlanReport): void {
  $("risks").replaceChildren(
    r.risks.length === 0
      ? el("p", { class: "muted" }, "No risks found.")
      : el("ul", { class: "risks" }, ...r.risks.map((risk) => el("li", {}, badge(risk.severity), " ", el("strong", {}, risk.id), `: ${risk.cause} `, el("em", {}, `Mitigation: ${risk.mitigation}`)))),
  );
  $("compliance").replaceChildren(
    r.compliance.length === 0
      ? el("p", { class: "muted" }, "No goals or constraints to check.")
      : el("ul", { class: "compliance" }, ...r.compliance.map((c) => el("li", {}, badge(c.status === "pass" ? "succeeded" : "failed", c.status), " ", el("strong", {}, c.id), `${c.hard ? " (hard)" : ""}: ${c.reason}`))),
  );
}
