/**
 * The overview's schedules (`GET /api/schedules`, viewers): each one's cron expression and time
 * zone (in words where that is easy), its next tick, its last tick and last run (linked to the
 * run's plan view), overlap policy, pause and open runs. Operators get Pause / Resume and a
 * Backfill form per schedule, each answered in place. The cards stay put between refreshes (only
 * their facts are redrawn), so a half-filled form and an answer survive the 2 s polling.
 */
import type { LastRun, ScheduleView } from "../../functions/src/api/schedules";
import { parseCron, type Cron } from "../../functions/src/schedules/cron";
import { ApiError, getJson, postJson, type FieldError } from "./api";
import { ago, badge, el, fieldErrorList, when } from "./dom";
import type { ViewContext } from "./views";

/** What `GET /api/schedules` answers. */
export interface ScheduleList {
  schedules: ScheduleView[];
  unreadable: Array<{ id: string; problem: string }>;
}

/** The element id of a schedule's card: the plan view links to `/#schedule-<id>`. */
export const scheduleAnchor = (scheduleId: string): string => `schedule-${scheduleId}`;

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number): string => String(n).padStart(2, "0");

/** `1, 3, 5` or `Mon–Fri`: runs of three or more consecutive values as ranges. */
function listOf(values: readonly number[], name: (v: number) => string): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    if (j - i >= 2) parts.push(`${name(values[i]!)}–${name(values[j]!)}`);
    else for (let k = i; k <= j; k++) parts.push(name(values[k]!));
    i = j + 1;
  }
  return parts.join(", ");
}

/** The step when `values` are `min, min+d, min+2d, …` up to the field's end (`*\/d`), else null. */
function stepOf(values: readonly number[], min: number, max: number): number | null {
  if (values.length < 2 || values[0] !== min) return null;
  const d = values[1]! - values[0]!;
  return values.every((v, i) => v === min + i * d) && values.at(-1)! + d > max ? d : null;
}

/** The hours `a, a+1, …, b` as `[a, b]`, or null. */
function hourSpan(hours: readonly number[]): [number, number] | null {
  return hours.every((h, i) => h === hours[0]! + i) ? [hours[0]!, hours.at(-1)!] : null;
}

function timesOf(c: Cron): string | null {
  const allMinutes = c.minutes.length === 60;
  const allHours = c.hours.length === 24;
  const minuteStep = allMinutes ? 1 : stepOf(c.minutes, 0, 59);
  const every = minuteStep === 1 ? "every minute" : `every ${minuteStep} minutes`;
  if (allHours) {
    if (minuteStep !== null) return every;
    return c.minutes.length <= 4 ? `every hour at ${c.minutes.map((m) => `:${pad(m)}`).join(", ")}` : null;
  }
  const span = hourSpan(c.hours);
  if (minuteStep !== null) return span === null ? null : `${every} from ${pad(span[0])}:00 to ${pad(span[1])}:${pad(c.minutes.at(-1)!)}`;
  const hourStep = stepOf(c.hours, 0, 23);
  if (hourStep !== null && c.minutes.length === 1) return `every ${hourStep} hours at :${pad(c.minutes[0]!)}`;
  if (c.minutes.length * c.hours.length <= 4) return `at ${c.hours.flatMap((h) => c.minutes.map((m) => `${pad(h)}:${pad(m)}`)).join(", ")}`;
  return null;
}

/** A list short enough to read, else null. */
const short = (text: string): string | null => (text.split(", ").length <= 6 ? text : null);
/** Weekdays from Monday: `sat,sun` reads `Sat, Sun` and `fri-sun` `Fri–Sun`. */
const weekdays = (days: ReadonlySet<number>): string => listOf([...days].map((d) => (d === 0 ? 7 : d)).sort((a, b) => a - b), (d) => WEEKDAYS[d % 7]!);

/** Which days, in words (`on Mon–Fri`, `on day 1 of the month in Jan, Jul`); "" for every day, null when too long to read. */
function daysOf(c: Cron): string | null {
  const doms = short(listOf([...c.daysOfMonth].sort((a, b) => a - b), String));
  const dows = short(weekdays(c.daysOfWeek));
  const months = short(listOf([...c.months].sort((a, b) => a - b), (m) => MONTHS[m - 1]!));
  if (doms === null || dows === null || months === null) return null;
  const byDate = c.daysOfMonth.size < 31 ? `on day ${doms} of the month` : "";
  const byWeekday = c.daysOfWeek.size < 7 ? `on ${dows}` : "";
  // Both restricted: a day matches when either does (Vixie cron); otherwise both must.
  const days = byDate && byWeekday ? (c.dayOfMonthRestricted && c.dayOfWeekRestricted ? `${byDate} or ${byWeekday}` : `${byDate}, if it is a ${dows}`) : byDate || byWeekday;
  return [days, c.months.size < 12 ? `in ${months}` : ""].filter(Boolean).join(" ");
}

/** A cron expression in words where that is easy (`at 02:30 on Mon–Fri`, `every 15 minutes`), else null (the page shows it as written). */
export function describeCron(expression: string): string | null {
  const parsed = parseCron(expression);
  if (!parsed.ok) return null;
  const times = timesOf(parsed.cron);
  const days = daysOf(parsed.cron);
  if (times === null || days === null) return null;
  if (days === "") return times.startsWith("at ") ? `daily ${times}` : times;
  return `${times} ${days}`;
}

const OVERLAP: Record<ScheduleView["overlap"], string> = {
  skip: "a tick is skipped while a run is open",
  buffer_one: "one tick waits while a run is open, later ones are skipped",
  cancel_other: "a tick cancels the open runs and starts",
  allow_all: "every tick starts, open runs or not",
};

/** An instant on the schedule's wall clock, as its cron expression reads it. */
function inZone(ms: number, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone, weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }).format(ms);
  } catch {
    return new Date(ms).toISOString();
  }
}

function fromNow(ms: number, now = Date.now()): string {
  const s = Math.round((ms - now) / 1000);
  if (s <= 0) return "due now";
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.round(s / 60)} min`;
  if (s < 86_400) return `in ${Math.round(s / 3600)} h`;
  return `in ${Math.round(s / 86_400)} d`;
}

const time = (ms: number, timeZone: string): HTMLElement => el("time", { datetime: new Date(ms).toISOString(), title: `your time: ${when(ms)}` }, inZone(ms, timeZone));

function planLink(ctx: ViewContext, planId: string): HTMLElement {
  const link = el("a", { href: `?plan=${encodeURIComponent(planId)}`, "data-run": planId }, planId);
  link.addEventListener("click", (e) => {
    e.preventDefault();
    ctx.navigate(planId);
  });
  return link;
}

function runLine(ctx: ViewContext, run: LastRun, timeZone: string): Array<Node | string> {
  return [planLink(ctx, run.planId), " ", badge(run.status === "gone" ? "missed" : run.status, run.status === "gone" ? "plan deleted" : undefined), el("small", { class: "muted" }, " for ", time(run.tick, timeZone), run.backfill ? " (backfill)" : "")];
}

/** The newest tick record (by tick) and what became of it. */
function lastTickLine(s: ScheduleView): Array<Node | string> {
  const last = s.recent.reduce<ScheduleView["recent"][number] | undefined>((best, r) => (best === undefined || r.tick >= best.tick ? r : best), undefined);
  if (last === undefined) return [s.lastTick === null ? `none yet (since ${when(s.since)})` : time(s.lastTick, s.timeZone)];
  const outcome = last.missed !== undefined ? badge("missed", `${last.missed} missed`) : badge(last.outcome);
  return [time(last.tick, s.timeZone), " ", outcome, last.why ? el("small", { class: "muted" }, ` ${last.why}`) : ""];
}

function facts(ctx: ViewContext, s: ScheduleView): HTMLElement {
  const words = describeCron(s.cron);
  const row = (field: string, label: string, ...value: Array<Node | string>): HTMLElement[] => [el("dt", {}, label), el("dd", { "data-field": field }, ...value)];
  return el(
    "dl",
    {},
    ...row("cron", "When", el("code", {}, s.cron), ` · ${s.timeZone}`, words === null ? "" : el("span", { class: "cron-words" }, ` — ${words}`)),
    ...row("next", "Next tick", ...(s.nextTick === null ? [s.paused ? "none while paused" : "none (past its end, or none within ten years)"] : [time(s.nextTick, s.timeZone), el("small", { class: "muted" }, ` ${fromNow(s.nextTick)}`)])),
    ...row("last-tick", "Last tick", ...lastTickLine(s)),
    ...row("last-run", "Last run", ...(s.lastRun === null ? ["none yet"] : runLine(ctx, s.lastRun, s.timeZone))),
    ...row("overlap", "Overlap", el("code", {}, s.overlap), ` — ${OVERLAP[s.overlap]}`),
    // `open` is what the last firing pass (once a minute) knew: a run that ended since still counts until the next.
    ...row("open", "Open runs", String(s.open.length), el("small", { class: "muted", title: s.open.map((r) => r.planId).join("\n") }, ` as of the last firing pass${s.buffered === null ? "" : " · one tick buffered"}`)),
    ...row("paused", "Paused", s.paused ? `yes${s.pausedBy ? `, by ${s.pausedBy}` : ""}${s.pausedAt === null ? "" : ` ${ago(s.pausedAt)}`}` : "no"),
  );
}

/** Problems from the API, shown where the action was asked for (pools.ts answers the same way). */
export function refusal(out: HTMLElement, what: string, error: unknown): void {
  const e = error as ApiError;
  const errors: FieldError[] = e instanceof ApiError ? e.errors : [];
  out.replaceChildren(el("p", { class: "error", role: "alert" }, `${what} refused: ${e.message}`), errors.length ? fieldErrorList(errors, `Problems in the ${what.toLowerCase()}`) : "");
}

interface Card {
  card: HTMLElement;
  state: HTMLElement;
  description: HTMLElement;
  facts: HTMLElement;
  pause: HTMLButtonElement | null;
  /** The last body drawn, to skip redrawing an unchanged schedule. */
  drawn: string;
}

/** `/api/<path>` for one schedule. */
const schedulePath = (id: string, action: string): string => `/api/schedules/${encodeURIComponent(id)}/${action}`;

/** A `datetime-local` value (the viewer's wall clock) as an instant for the API; what cannot be read goes as typed, and the API names it. */
function instantOf(value: string): string {
  const ms = new Date(value).getTime();
  return value === "" || Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

export interface SchedulesSection {
  section: HTMLElement;
  /** Reads `GET /api/schedules` (ETag: an unchanged list costs a 304) and redraws what changed. */
  refresh(): Promise<void>;
}

/** The section for viewers and operators (`GET /api/schedules` needs a role: callers without one get no section). */
export function schedulesSection(ctx: ViewContext): SchedulesSection | null {
  if (ctx.session.role === null) return null;
  const operator = ctx.session.role === "operator";
  const list = el("div", { class: "schedules" }, el("p", { class: "muted" }, "Loading…"));
  const notes = el("div", {});
  const problem = el("div", {});
  const section = el(
    "section",
    { "aria-labelledby": "schedules-heading" },
    el("h2", { id: "schedules-heading" }, "Schedules"),
    el("div", { id: "schedules" }, problem, list, notes),
    el("p", { class: "note" }, "Each tick's run is a plan named ", el("code", {}, "<schedule>--<tick>"), "; times are on the schedule's clock (hover for yours). Operators write schedules with ", el("code", {}, "POST /api/schedules"), "."),
  );
  const cards = new Map<string, Card>();
  let targeted = false;
  let drawnOnce = false;

  const draw = (s: ScheduleView): void => {
    const card = cards.get(s.id) ?? newCard(s.id);
    const key = JSON.stringify(s);
    if (card.drawn === key) return;
    card.drawn = key;
    card.card.dataset.paused = String(s.paused);
    const state = badge(s.paused ? "paused" : "active");
    card.state.replaceWith(state);
    card.state = state;
    const drawn = facts(ctx, s);
    card.facts.replaceWith(drawn);
    card.facts = drawn;
    card.description.textContent = s.description ?? "";
    card.description.hidden = !s.description;
    if (card.pause !== null) {
      card.pause.dataset.action = s.paused ? "resume" : "pause";
      card.pause.textContent = s.paused ? "Resume" : "Pause";
    }
  };

  function newCard(id: string): Card {
    const state = el("span", {});
    const factsBox = el("dl", {});
    const description = el("p", { class: "description muted", hidden: true });
    const card = el("article", { class: "schedule", id: scheduleAnchor(id), "data-schedule": id }, el("header", {}, el("h3", {}, id), state), description, factsBox);
    const entry: Card = { card, state, description, facts: factsBox, pause: null, drawn: "" };
    if (operator) {
      const out = el("div", { class: "schedule-result", "data-result": "", "aria-live": "polite" });
      const pause = el("button", { type: "button", class: "secondary", "data-action": "pause" }, "Pause");
      pause.addEventListener("click", () => {
        const action = pause.dataset.action === "resume" ? "resume" : "pause";
        const label = action === "pause" ? "Pause" : "Resume";
        pause.disabled = true;
        out.replaceChildren(el("p", {}, `${action === "pause" ? "pausing" : "resuming"}…`));
        postJson<{ changed: boolean; schedule: ScheduleView }>(schedulePath(id, action), {})
          .then(({ changed, schedule }) => {
            draw(schedule);
            const next = schedule.nextTick === null ? "" : ` Next tick: ${inZone(schedule.nextTick, schedule.timeZone)}.`;
            out.replaceChildren(
              el(
                "p",
                { class: "ok-note", role: "status" },
                !changed ? `It was already ${schedule.paused ? "paused" : "running"}.` : schedule.paused ? `Paused by ${schedule.pausedBy ?? "you"}: no tick fires until it is resumed; open runs go on.` : `Resumed: ticks missed while paused beyond the catch-up window stay missed.${next}`,
              ),
            );
          })
          .catch((error: unknown) => refusal(out, label, error))
          .finally(() => (pause.disabled = false));
      });
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const from = el("input", { type: "datetime-local", name: "from", id: `backfill-from-${id}`, required: true });
      const to = el("input", { type: "datetime-local", name: "to", id: `backfill-to-${id}`, required: true });
      const form = el(
        "form",
        { class: "backfill", "data-backfill": id, "aria-label": `Backfill schedule ${id}`, novalidate: true },
        el("span", { class: "field" }, el("label", { for: from.id }, "From"), from),
        el("span", { class: "field" }, el("label", { for: to.id }, "To (not included)"), to),
        el("button", { type: "submit" }, "Start the backfill"),
        el("small", { class: "muted hint" }, `Your time (${zone}). A run for every tick in the range, in the past, at most 100; a tick that already has its run is left alone.`),
      );
      const backfillBox = el("details", { class: "backfill-box" }, el("summary", {}, "Backfill…"), form);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        out.replaceChildren(el("p", {}, "starting the backfill…"));
        postJson<{ started: string[]; existing: string[]; skipped: Array<{ tick: number; why?: string }> }>(schedulePath(id, "backfill"), { from: instantOf(from.value), to: instantOf(to.value) }).then(
          (r) => {
            from.removeAttribute("aria-invalid");
            to.removeAttribute("aria-invalid");
            out.replaceChildren(
              el("p", { class: "ok-note", role: "status" }, `Backfill: ${r.started.length} run${r.started.length === 1 ? "" : "s"} started, ${r.existing.length} already there, ${r.skipped.length} skipped.`),
              r.started.length + r.existing.length === 0 ? "" : el("ul", { class: "runs", "aria-label": "Backfilled runs" }, ...[...r.started, ...r.existing].map((planId) => el("li", {}, planLink(ctx, planId), r.existing.includes(planId) ? el("small", { class: "muted" }, " (already there)") : ""))),
            );
          },
          (error: unknown) => {
            const paths = new Set(error instanceof ApiError ? error.errors.map((f) => f.path) : []);
            for (const [input, path] of [[from, "from"], [to, "to"]] as const) {
              if (paths.has(path)) input.setAttribute("aria-invalid", "true");
              else input.removeAttribute("aria-invalid");
            }
            refusal(out, "Backfill", error);
          },
        );
      });
      card.append(el("div", { class: "actions", role: "group", "aria-label": `Schedule ${id}` }, pause, backfillBox, out));
      entry.pause = pause;
    }
    cards.set(id, entry);
    return entry;
  }

  const render = (body: ScheduleList): void => {
    const seen = new Set(body.schedules.map((s) => s.id));
    for (const [id, card] of cards) {
      if (seen.has(id)) continue;
      card.card.remove();
      cards.delete(id);
    }
    for (const s of body.schedules) draw(s);
    if (body.schedules.length === 0) list.replaceChildren(el("p", { class: "muted" }, "No schedules yet."));
    else {
      // In the API's order (by id); appending a card that is already there moves it, so this keeps them in step.
      list.querySelector(":scope > p")?.remove();
      for (const s of body.schedules) list.append(cards.get(s.id)!.card);
    }
    notes.replaceChildren(
      body.unreadable.length === 0 ? "" : el("ul", { class: "errors", "aria-label": "Schedules that cannot be read" }, ...body.unreadable.map((u) => el("li", {}, el("code", {}, u.id), " ", u.problem))),
    );
    // `/#schedule-<id>` (the link from a run's plan view): once its card is there, show it.
    if (!targeted && location.hash.startsWith("#schedule-")) {
      const card = cards.get(decodeURIComponent(location.hash.slice("#schedule-".length)));
      if (card !== undefined) {
        targeted = true;
        card.card.classList.add("targeted");
        card.card.scrollIntoView({ block: "start" });
      }
    }
  };

  return {
    section,
    async refresh() {
      try {
        const { body, changed } = await getJson<ScheduleList>("/api/schedules");
        section.hidden = false;
        problem.replaceChildren();
        if (changed || !drawnOnce) render(body);
        drawnOnce = true;
      } catch (error) {
        // A role withdrawn since sign-in: the API says no, and the section goes.
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) section.hidden = true;
        else problem.replaceChildren(el("p", { class: "error", role: "alert" }, `Cannot load the schedules: ${(error as Error).message}`));
      }
    },
  };
}
