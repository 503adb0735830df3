// The status page's first view: plans and their task states, refreshed every second from /api.
const REFRESH_MS = 1000;
const TERMINAL = new Set(["succeeded", "failed", "skipped", "cancelled", "compensated"]);
let selected = new URLSearchParams(location.search).get("plan");

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const badge = (status) => el("span", { class: `badge s-${status}` }, status);
const when = (ms) => (typeof ms === "number" ? new Date(ms).toLocaleTimeString() : "—");

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body?.error?.message ?? `${path}: HTTP ${response.status}`);
  return body;
}

function renderPlans(plans) {
  const tbody = $("plans").querySelector("tbody");
  tbody.replaceChildren(
    ...plans.map((plan) => {
      const row = el(
        "tr",
        { tabindex: "0", "aria-selected": String(plan.id === selected), "data-plan": plan.id },
        el("td", {}, plan.name ? `${plan.name} (${plan.id})` : plan.id),
        el("td", {}, badge(plan.status ?? "pending")),
        el("td", {}, plan.compiled?.taskCount ?? "—"),
        el("td", {}, when(plan.createdAt)),
      );
      const open = () => select(plan.id);
      row.addEventListener("click", open);
      row.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), open()));
      return row;
    }),
  );
  $("plans-empty").hidden = plans.length > 0;
}

function renderPlan({ plan, tasks }, events) {
  $("plan-view").hidden = false;
  $("plan-heading").textContent = `Plan ${plan.name ?? plan.id}`;
  const done = tasks.filter((t) => TERMINAL.has(t.status)).length;
  const pct = tasks.length ? Math.round((100 * done) / tasks.length) : 0;
  $("plan-summary").replaceChildren(badge(plan.status ?? "pending"), ` ${done}/${tasks.length} tasks finished`, plan.failedTask ? ` · failed at ${plan.failedTask}` : "");
  $("progress").setAttribute("aria-valuenow", String(pct));
  $("progress").firstElementChild.style.width = `${pct}%`;
  $("plan-errors").replaceChildren(...(plan.errors ?? []).map((e) => el("li", {}, el("code", {}, e.path || "(document)"), ` ${e.message}`)));

  const byLevel = new Map();
  for (const task of tasks) {
    if (!byLevel.has(task.level)) byLevel.set(task.level, []);
    byLevel.get(task.level).push(task);
  }
  const levels = [...byLevel.keys()].sort((a, b) => a - b);
  $("levels").replaceChildren(
    ...levels.map((level) =>
      el(
        "div",
        { class: "level" },
        el("h4", {}, `level ${level}`),
        ...byLevel
          .get(level)
          .sort((a, b) => a.id.localeCompare(b.id))
          .map((t) => el("div", { class: `task t-${t.status}`, title: t.error?.message ?? "" }, t.name ?? t.id, el("small", {}, `${t.status} · ${t.run}${t.attempt > 1 ? ` · attempt ${t.attempt}` : ""}`))),
      ),
    ),
  );
  $("events").replaceChildren(...events.map((e) => el("li", {}, `${when(e.at)} ${e.message}`)));
}

function select(planId) {
  selected = planId;
  history.replaceState(null, "", `?plan=${encodeURIComponent(planId)}`);
  refresh();
}

async function refresh() {
  try {
    const { plans } = await getJson("/api/plans?limit=50");
    if (!selected && plans.length) selected = plans[0].id;
    renderPlans(plans);
    if (selected) {
      const [detail, { events }] = await Promise.all([
        getJson(`/api/plans/${encodeURIComponent(selected)}`),
        getJson(`/api/plans/${encodeURIComponent(selected)}/events?limit=200`),
      ]);
      renderPlan(detail, events);
    }
    $("connection").textContent = `live · updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    $("connection").textContent = `cannot reach the API: ${error.message}`;
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
