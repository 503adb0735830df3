/**
 * The overview's pools (`GET /api/pools`, viewers): each named pool's size, description, slots in
 * use and tasks waiting (a bar of in use over slots), and who last sized it. Operators resize or
 * delete a pool from its card and create one with the "New pool" form, each answered in place
 * (refusals with the API's `{path, message}`s). Like the schedules (schedules.ts), the cards stay
 * put between refreshes and only their facts are redrawn, so a half-typed size survives the polling.
 * A plan's own `maxParallel` pool has no document and is not listed.
 */
import type { PoolView } from "../../functions/src/store/pools";
import { ApiError, getJson, postJson } from "./api";
import { ago, badge, el, when } from "./dom";
import { refusal } from "./schedules";
import type { ViewContext } from "./views";

/** What `GET /api/pools` answers. */
export interface PoolList {
  pools: PoolView[];
  unreadable: string[];
}

/** The element id of a pool's card: the plan view links to `/#pool-<id>`. */
export const poolAnchor = (poolId: string): string => `pool-${poolId}`;

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** A number for the API when the field holds one; otherwise the text as typed, and the API names the problem. */
function slotsValue(input: HTMLInputElement): number | string {
  const n = Number(input.value);
  return input.value.trim() !== "" && Number.isFinite(n) ? n : input.value;
}

/** Marks the inputs whose field the API named, and clears the others. */
function markInvalid(error: unknown, inputs: ReadonlyArray<readonly [HTMLInputElement, string]>): void {
  const paths = new Set(error instanceof ApiError ? error.errors.map((f) => f.path) : []);
  for (const [input, path] of inputs) {
    if (paths.has(path)) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

/** Slots in use over slots: a bar (capped at full: a smaller size leaves attempts holding slots above it until they finish). */
function usageBar(p: PoolView): HTMLElement {
  const fill = el("span", { class: "pool-fill" });
  fill.style.width = `${Math.min(100, (p.inUse / p.slots) * 100)}%`;
  const label = `${p.inUse} of ${plural(p.slots, "slot")} in use${p.waiting > 0 ? `, ${plural(p.waiting, "task")} waiting` : ""}`;
  return el("div", { class: `pool-bar${p.inUse >= p.slots ? " full" : ""}`, role: "img", "aria-label": label, title: label }, fill);
}

function facts(p: PoolView): HTMLElement {
  const row = (field: string, label: string, ...value: Array<Node | string>): HTMLElement[] => [el("dt", {}, label), el("dd", { "data-field": field }, ...value)];
  return el(
    "dl",
    {},
    ...row("slots", "Slots", String(p.slots)),
    ...row("in-use", "In use", `${p.inUse} of ${p.slots}`, p.inUse > p.slots ? el("small", { class: "muted" }, " (above its size: they finish first)") : ""),
    ...row("waiting", "Waiting", p.waiting === 0 ? "none" : plural(p.waiting, "task")),
    ...row("updated", "Updated", p.updatedAt === undefined ? "—" : el("time", { datetime: new Date(p.updatedAt).toISOString(), title: when(p.updatedAt) }, ago(p.updatedAt)), p.updatedBy ? ` by ${p.updatedBy}` : ""),
  );
}

interface Card {
  card: HTMLElement;
  state: HTMLElement;
  description: HTMLElement;
  bar: HTMLElement;
  facts: HTMLElement;
  /** The pool as last drawn (a resize sends its description back as drawn). */
  pool: PoolView | undefined;
  drawn: string;
}

export interface PoolsSection {
  section: HTMLElement;
  /** Reads `GET /api/pools` (ETag: an unchanged list costs a 304) and redraws what changed. */
  refresh(): Promise<void>;
}

/** The section for viewers and operators (`GET /api/pools` needs a role); hidden for a viewer while there are no pools. */
export function poolsSection(ctx: ViewContext): PoolsSection | null {
  if (ctx.session.role === null) return null;
  const operator = ctx.session.role === "operator";
  const list = el("div", { class: "pools" }, el("p", { class: "muted" }, "Loading…"));
  const notes = el("div", {});
  const problem = el("div", {});
  /** What happened to a pool whose card is gone (a delete), said where the card was. */
  const said = el("div", { id: "pools-result", "aria-live": "polite" });
  const section = el(
    "section",
    { "aria-labelledby": "pools-heading", hidden: true },
    el("h2", { id: "pools-heading" }, "Pools"),
    el("div", { id: "pools" }, problem, said, list, notes, operator ? newPoolForm() : null),
    el("p", { class: "note" }, "A task that names a pool (", el("code", {}, "pool"), ") takes one of its slots while it runs, across every plan; a full pool's tasks wait their turn, by priority. A plan's own ", el("code", {}, "maxParallel"), " is shown on its plan view, not here."),
  );
  const cards = new Map<string, Card>();
  let targeted = false;
  let drawnOnce = false;

  const draw = (p: PoolView): void => {
    const card = cards.get(p.id) ?? newCard(p.id);
    card.pool = p;
    const key = JSON.stringify(p);
    if (card.drawn === key) return;
    card.drawn = key;
    card.card.dataset.full = String(p.inUse >= p.slots);
    const state = p.inUse >= p.slots ? badge("full") : badge("free", `${p.slots - p.inUse} free`);
    card.state.replaceWith(state);
    card.state = state;
    const bar = usageBar(p);
    card.bar.replaceWith(bar);
    card.bar = bar;
    const drawn = facts(p);
    card.facts.replaceWith(drawn);
    card.facts = drawn;
    card.description.textContent = p.description ?? "";
    card.description.hidden = !p.description;
  };

  function newCard(id: string): Card {
    const entry: Card = { card: el("article", {}), state: el("span", {}), description: el("p", { class: "description muted", hidden: true }), bar: el("div", {}), facts: el("dl", {}), pool: undefined, drawn: "" };
    entry.card = el("article", { class: "pool", id: poolAnchor(id), "data-pool": id }, el("header", {}, el("h3", {}, id), entry.state), entry.description, entry.bar, entry.facts);
    if (operator) entry.card.append(poolActions(id, entry));
    cards.set(id, entry);
    return entry;
  }

  function poolActions(id: string, entry: Card): HTMLElement {
    const out = el("div", { class: "pool-result", "data-result": "", "aria-live": "polite" });
    const slots = el("input", { type: "number", name: "slots", id: `resize-${id}`, min: "1", max: "10000", step: "1", inputmode: "numeric", required: true });
    const resize = el(
      "form",
      { class: "resize", "data-resize": id, "aria-label": `Resize pool ${id}`, novalidate: true },
      el("label", { for: slots.id }, "Slots"),
      slots,
      el("button", { type: "submit" }, "Resize"),
    );
    resize.addEventListener("submit", (e) => {
      e.preventDefault();
      out.replaceChildren(el("p", {}, "resizing…"));
      // The API writes the whole pool: the description goes back as it is.
      postJson<{ pool: Omit<PoolView, "inUse" | "waiting"> }>("/api/pools", { id, slots: slotsValue(slots), description: entry.pool?.description ?? null }).then(
        ({ pool }) => {
          markInvalid(undefined, [[slots, "slots"]]);
          slots.value = "";
          const inUse = entry.pool?.inUse ?? 0;
          if (entry.pool !== undefined) draw({ ...entry.pool, ...pool });
          out.replaceChildren(
            el("p", { class: "ok-note", role: "status" }, `Resized to ${plural(pool.slots, "slot")} by ${pool.updatedBy ?? "you"}.${inUse > pool.slots ? ` ${inUse} are in use: no new attempt takes one until fewer than ${pool.slots} are.` : ""}`),
          );
          void refresh();
        },
        (error: unknown) => {
          markInvalid(error, [[slots, "slots"]]);
          refusal(out, "Resize", error);
        },
      );
    });
    const remove = el("button", { type: "button", class: "danger", "data-action": "delete" }, "Delete");
    let armed: ReturnType<typeof setTimeout> | undefined;
    const disarm = (): void => {
      clearTimeout(armed);
      armed = undefined;
      remove.textContent = "Delete";
      remove.removeAttribute("data-armed");
    };
    remove.addEventListener("click", () => {
      if (armed === undefined) {
        remove.textContent = `Confirm: delete pool ${id}`;
        remove.dataset.armed = "true";
        out.replaceChildren(el("p", { role: "status" }, "Tasks that name it fail from then on (pool_missing). Click again within 10 s to delete it."));
        armed = setTimeout(() => {
          disarm();
          out.replaceChildren();
        }, 10_000);
        return;
      }
      disarm();
      remove.disabled = true;
      out.replaceChildren(el("p", {}, "deleting…"));
      postJson<{ deleted: string }>(`/api/pools/${encodeURIComponent(id)}/delete`, {}).then(
        () => {
          entry.card.remove();
          cards.delete(id);
          said.replaceChildren(el("p", { class: "ok-note", role: "status" }, `Pool ${id} deleted: tasks that name it fail from now on (pool_missing); attempts holding its slots finish.`));
          void refresh();
        },
        (error: unknown) => {
          remove.disabled = false;
          refusal(out, "Delete", error);
        },
      );
    });
    return el("div", { class: "actions", role: "group", "aria-label": `Pool ${id}` }, resize, remove, out);
  }

  function newPoolForm(): HTMLElement {
    const id = el("input", { name: "id", id: "new-pool-id", required: true, maxlength: "63", autocomplete: "off", spellcheck: "false", placeholder: "deploys" });
    const slots = el("input", { type: "number", name: "slots", id: "new-pool-slots", min: "1", max: "10000", step: "1", inputmode: "numeric", required: true });
    const description = el("input", { name: "description", id: "new-pool-description", maxlength: "500", placeholder: "optional" });
    const out = el("div", { id: "new-pool-result", class: "pool-result", "aria-live": "polite" });
    const inputs = [[id, "id"], [slots, "slots"], [description, "description"]] as const;
    const form = el(
      "form",
      { id: "new-pool", class: "new-pool", "aria-labelledby": "new-pool-heading", novalidate: true },
      el("h3", { id: "new-pool-heading" }, "New pool"),
      el("span", { class: "field" }, el("label", { for: id.id }, "Id"), id),
      el("span", { class: "field" }, el("label", { for: slots.id }, "Slots"), slots),
      el("span", { class: "field grow" }, el("label", { for: description.id }, "Description"), description),
      el("button", { type: "submit" }, "Create pool"),
      el("small", { class: "muted hint" }, "Lowercase letters, digits and -, starting with a letter. Tasks take a slot with ", el("code", {}, '"pool": "<id>"'), "."),
      out,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const poolId = id.value.trim();
      if (cards.has(poolId)) {
        id.setAttribute("aria-invalid", "true");
        out.replaceChildren(el("p", { class: "error", role: "alert" }, `Pool ${poolId} already exists: resize it from its card.`));
        return;
      }
      out.replaceChildren(el("p", {}, "creating…"));
      postJson<{ pool: Omit<PoolView, "inUse" | "waiting"> }>("/api/pools", { id: poolId, slots: slotsValue(slots), ...(description.value.trim() === "" ? {} : { description: description.value.trim() }) }).then(
        ({ pool }) => {
          markInvalid(undefined, inputs);
          form.reset();
          draw({ ...pool, inUse: 0, waiting: 0 });
          place();
          out.replaceChildren(el("p", { class: "ok-note", role: "status" }, `Pool ${pool.id} created with ${plural(pool.slots, "slot")}.`));
          void refresh();
        },
        (error: unknown) => {
          markInvalid(error, inputs);
          refusal(out, "New pool", error);
        },
      );
    });
    return form;
  }

  /** The cards in id order (the API's), or the empty note. */
  const place = (): void => {
    const ids = [...cards.keys()].sort((a, b) => a.localeCompare(b));
    if (ids.length === 0) return void list.replaceChildren(el("p", { class: "muted" }, operator ? "No pools yet: create one below." : "No pools yet."));
    list.querySelector(":scope > p")?.remove();
    for (const id of ids) list.append(cards.get(id)!.card);
  };

  const render = (body: PoolList): void => {
    const seen = new Set(body.pools.map((p) => p.id));
    for (const [id, card] of cards) {
      if (seen.has(id)) continue;
      card.card.remove();
      cards.delete(id);
    }
    for (const p of body.pools) draw(p);
    place();
    notes.replaceChildren(body.unreadable.length === 0 ? "" : el("ul", { class: "errors", "aria-label": "Pools that cannot be read" }, ...body.unreadable.map((id) => el("li", {}, el("code", {}, id), " is not a pool document the orchestrator can read: set it again with POST /api/pools"))));
    section.hidden = !operator && body.pools.length === 0 && body.unreadable.length === 0;
    // `/#pool-<id>` (the link from a plan view): once its card is there, show it.
    if (!targeted && location.hash.startsWith("#pool-")) {
      const card = cards.get(decodeURIComponent(location.hash.slice("#pool-".length)));
      if (card !== undefined) {
        targeted = true;
        card.card.classList.add("targeted");
        card.card.scrollIntoView({ block: "start" });
      }
    }
  };

  async function refresh(): Promise<void> {
    try {
      const { body, changed } = await getJson<PoolList>("/api/pools");
      problem.replaceChildren();
      if (changed || !drawnOnce) render(body);
      drawnOnce = true;
    } catch (error) {
      // A role withdrawn since sign-in: the API says no, and the section goes.
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) section.hidden = true;
      else {
        section.hidden = false;
        problem.replaceChildren(el("p", { class: "error", role: "alert" }, `Cannot load the pools: ${(error as Error).message}`));
      }
    }
  }

  return { section, refresh };
}
