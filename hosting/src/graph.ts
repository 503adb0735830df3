/**
 * The dependency graph on the plan page, laid out by graph-layout.ts and drawn as one markup string
 * inserted once, so a 1,000-task plan draws in a frame or two; a live state changes one node's
 * class and glyph. Lanes keep their headers pinned at the left; the view zooms (buttons, ctrl/⌘ +
 * wheel) and pans (drag, or the scroll bars); every task is a button in lane, level, row order.
 * A large plan's lanes start collapsed, each one box with its counts per state.
 */
import { TASK_STATUSES, type TaskStatus } from "../../functions/src/engine/statuses";
import { esc } from "./dom";
import { BOX_H, boxWidthFor, COLLAPSE_ABOVE, countStates, cut, GLYPH_W, laneSummaryOf, layoutGraph, NODE_H, tasksCount, type Box, type GraphInput, type GraphLayout, type Placed } from "./graph-layout";

export type { GraphInput, GraphNode } from "./graph-layout";

export interface GraphView {
  setStatus(taskId: string, status: string): void;
  /** The drawing's size at 100 %, lane headers included. */
  readonly size: { width: number; height: number };
}

export interface GraphOptions {
  /** Open every lane however large the plan (the URL's `lanes=open`). */
  openLanes?: boolean;
}

const MIN_SCALE = 0.05;
const MAX_SCALE = 2;
const ZOOM_STEP = 1.25;
/** A pointer that moves this far with the button down pans instead of clicking. */
const DRAG_PX = 4;

/** One shape per state, drawn in the state's colour at a node's left (colour is never the only sign). */
const GLYPHS: Record<TaskStatus, string> = {
  blocked: '<circle cx="6" cy="6" r="4"/>',
  ready: '<path d="M3.5 2.2l6 3.8-6 3.8z"/>',
  running: '<path d="M3.5 2.2l6 3.8-6 3.8z" fill="currentColor"/>',
  waiting_approval: '<path d="M4 2.5v7M8 2.5v7"/>',
  waiting_external: '<path d="M3 2h6L3 10h6z"/>',
  succeeded: '<path d="M2 6.4l2.7 2.8L10 3.4"/>',
  failed: '<path d="M3 3l6 6M9 3l-6 6"/>',
  skipped: '<path d="M2 3l3.5 3L2 9M6.5 3L10 6 6.5 9"/>',
  cancelled: '<circle cx="6" cy="6" r="4.2"/><path d="M3.1 8.9l5.8-5.8"/>',
  compensating: '<path d="M7.9 3.2A3.8 3.8 0 1 1 2.4 5.2"/><path d="M6.4 2.4l3.1-.5-1 3z" fill="currentColor" stroke-width="1"/>',
  compensated: '<path d="M7.9 3.2A3.8 3.8 0 1 1 2.4 5.2"/><path d="M6.4 2.4l3.1-.5-1 3z" fill="currentColor" stroke-width="1"/><circle cx="6" cy="6.5" r="1.3" fill="currentColor" stroke="none"/>',
};
const STATES: readonly string[] = TASK_STATUSES;
const glyphOf = (status: string): string => (status in GLYPHS ? status : "blocked");
const WORDS = new Map<string, string>();
/** `waiting_approval` → `waiting approval` (memoised: called once per task). */
const words = (status: string): string => WORDS.get(status) ?? WORDS.set(status, status.replace(/_/g, " ")).get(status)!;
const SPECIAL = /[&<>"']/;
/** esc() for the many short strings of a large graph: most need nothing, and a test is cheaper than a replace. */
const escFast = (text: string): string => (SPECIAL.test(text) ? esc(text) : text);

const DEFS =
  '<svg class="graph-defs" width="0" height="0" aria-hidden="true" focusable="false"><defs>' +
  TASK_STATUSES.map((s) => `<symbol id="gl-${s}" viewBox="0 0 12 12"><g fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${GLYPHS[s]}</g></symbol>`).join("") +
  "</defs></svg>";

const LEGEND =
  '<ul class="legend graph-legend" aria-label="Task states">' +
  TASK_STATUSES.map((s) => `<li><svg class="gkey s-${s}" width="18" height="18" viewBox="0 0 18 18" aria-hidden="true"><rect x="0.5" y="0.5" width="17" height="17" rx="3"/><use href="#gl-${s}" x="3" y="3" width="12" height="12"/></svg>${words(s)}</li>`).join("") +
  '<li><svg class="gkey crit" width="18" height="18" viewBox="0 0 18 18" aria-hidden="true"><rect x="1.5" y="1.5" width="15" height="15" rx="3"/></svg>critical path (heavier outline and edges)</li></ul>';

const TOOLS =
  '<div class="graph-tools" role="toolbar" aria-label="Graph view">' +
  '<button type="button" class="secondary" data-zoom="in" aria-label="Zoom in" title="Zoom in (or ctrl/⌘ + wheel)">+</button>' +
  '<button type="button" class="secondary" data-zoom="out" aria-label="Zoom out" title="Zoom out (or ctrl/⌘ + wheel)">−</button>' +
  '<button type="button" class="secondary" data-zoom="fit" title="Fit the graph to the width of the page">Fit</button>' +
  '<button type="button" class="secondary" data-lanes="open" hidden>Open all lanes</button>' +
  '<button type="button" class="secondary" data-lanes="collapse" hidden>Collapse all lanes</button>' +
  '<span class="graph-zoom" aria-live="polite"></span>' +
  '<span class="note">Drag to pan · Tab moves through the tasks, Enter opens one</span></div>';

/** Edge paths (plain and critical) between the tasks and boxes in view, as two path strings. */
function edgePaths(layout: GraphLayout, input: GraphInput): { plain: string; critical: string } {
  const { positions, laneOf, lanes, nodeWidth: w } = layout;
  // The critical path is a chain: an edge is on it when it leads to the task after its start.
  const next = new Map<string, string>();
  for (let i = 1; i < input.criticalPath.length; i++) next.set(input.criticalPath[i - 1]!, input.criticalPath[i]!);
  let plain = "";
  let critical = "";
  // Edges from or to a collapsed lane are drawn once per box and task (or pair of boxes).
  const aggregated = new Map<string, { d: string; critical: boolean }>();
  for (const [from, to] of input.edges) {
    const crit = next.get(from) === to;
    const a = positions.get(from);
    const b = positions.get(to);
    if (a !== undefined && b !== undefined) {
      const d = nodeToNode(a, b, w, lanes, laneOf.get(to)!);
      if (crit) critical += d;
      else plain += d;
      continue;
    }
    const la = laneOf.get(from);
    const lb = laneOf.get(to);
    if (la === undefined || lb === undefined || (a === undefined && b === undefined && la === lb)) continue;
    const key = a !== undefined ? `${from}>#${lb}` : b !== undefined ? `#${la}>${to}` : `#${la}>#${lb}`;
    const seen = aggregated.get(key);
    if (seen !== undefined) {
      seen.critical ||= crit;
      continue;
    }
    const boxA = lanes[la]!.box;
    const boxB = lanes[lb]!.box;
    const d = a !== undefined ? boxToNode(boxB!, a, w, lb < la) : b !== undefined ? boxToNode(boxA!, b, w, la < lb) : boxToBox(boxA!, boxB!, lb);
    aggregated.set(key, { d, critical: crit });
  }
  for (const { d, critical: crit } of aggregated.values()) {
    if (crit) critical += d;
    else plain += d;
  }
  return { plain, critical };
}

function nodeToNode(a: Placed, b: Placed, w: number, lanes: GraphLayout["lanes"], targetLane: number): string {
  const x1 = a.x + w;
  const y1 = a.y + NODE_H / 2;
  const x2 = b.x;
  const y2 = b.y + NODE_H / 2;
  if (x2 >= x1 + 8) {
    const dx = Math.max((x2 - x1) / 2, 12);
    return `M${x1} ${y1}C${x1 + dx} ${y1} ${x2 - dx} ${y2} ${x2} ${y2}`;
  }
  // Stacked lanes: from one lane's task back to the next lane's start, along the lanes' boundary.
  const yg = lanes[targetLane]!.y;
  return `M${x1} ${y1}C${x1 + 16} ${y1} ${x1 + 16} ${yg} ${x1} ${yg}L${x2 - 10} ${yg}C${x2 - 20} ${yg} ${x2 - 20} ${y2} ${x2} ${y2}`;
}

/**
 * Between a collapsed lane's box and a task in an open lane (`boxAbove`: the box's lane comes
 * first): a curve when the task is under or over the box, else a short stub from the task towards
 * the box's lane, so a long lane is not crossed by a sheaf of lines back to one box.
 */
function boxToNode(box: Box, p: Placed, w: number, boxAbove: boolean): string {
  const x2 = p.x + w / 2;
  const y2 = boxAbove ? p.y : p.y + NODE_H;
  if (x2 < box.x || x2 > box.x + box.width) return `M${x2} ${y2}V${boxAbove ? y2 - 8 : y2 + 8}`;
  const x1 = Math.min(Math.max(x2, box.x + 12), box.x + box.width - 12);
  const y1 = boxAbove ? box.y + box.height : box.y;
  const ym = (y1 + y2) / 2;
  return `M${x1} ${y1}C${x1} ${ym} ${x2} ${ym} ${x2} ${y2}`;
}

/** Between two collapsed lanes: a short vertical line, offset by the target lane so several stay apart. */
function boxToBox(a: Box, b: Box, target: number): string {
  const x = Math.min(a.x + 16 + (target % 12) * 14, a.x + a.width - 12);
  const [top, bottom] = a.y < b.y ? [a, b] : [b, a];
  return `M${x} ${top.y + top.height}V${bottom.y}`;
}

function nodeMarkup(id: string, name: string | null, p: Placed, w: number, label: string, status: string, critical: boolean): string {
  const safeId = escFast(id);
  const title = name === null ? safeId : escFast(`${name} (${id})`);
  return (
    `<g class="node s-${escFast(status)}${critical ? " crit" : ""}" data-task="${safeId}" transform="translate(${p.x} ${p.y})" tabindex="0" role="button" aria-label="${safeId}: ${escFast(words(status))}">` +
    `<title>${title}</title><rect width="${w}" height="${NODE_H}" rx="4"/><use class="glyph" href="#gl-${glyphOf(status)}" x="5" y="6" width="12" height="12"/><text x="${GLYPH_W}" y="16">${escFast(label)}</text></g>`
  );
}

/** A collapsed lane's bar: one segment per state, as wide as its share of the lane's tasks. */
function barMarkup(counts: ReadonlyMap<string, number>, total: number, width: number): string {
  let x = 0;
  let out = "";
  for (const s of [...STATES, ...[...counts.keys()].filter((k) => !STATES.includes(k))]) {
    const n = counts.get(s) ?? 0;
    if (n === 0) continue;
    const w = (n / total) * width;
    out += `<rect class="seg s-${esc(s)}" x="${x.toFixed(1)}" width="${w.toFixed(1)}" height="4"/>`;
    x += w;
  }
  return out;
}

function boxInner(summary: string, counts: ReadonlyMap<string, number>, total: number, width: number): string {
  return `<title>${esc(summary)} (click or Enter opens the lane)</title><rect class="box" width="${width}" height="${BOX_H}" rx="6"/><text x="10" y="17">${esc(summary)}</text><g class="bar" transform="translate(10 ${BOX_H - 8})">${barMarkup(counts, total, width - 20)}</g>`;
}

export function renderGraph(container: HTMLElement, input: GraphInput, statuses: ReadonlyMap<string, string>, onSelect: (taskId: string) => void, options: GraphOptions = {}): GraphView {
  const known = new Map(statuses);
  const nodeById = new Map(input.nodes.map((n) => [n.id, n]));
  const large = input.nodes.length > COLLAPSE_ABOVE;
  let open: "all" | Set<string> = options.openLanes === true || !large ? "all" : new Set();
  let layout: GraphLayout;
  let scale = 1;
  /** Whether the view follows the box's width (until the reader zooms). */
  let fitting = true;
  let byId = new Map<string, Element>();
  let boxes = new Map<number, SVGGElement>();
  let laneCounts: Array<Map<string, number>> = [];
  const dirty = new Set<number>();

  // Read before anything changes, while the page's layout is still clean (a read after the markup goes
  // in would lay the page out once more): the scroll box is as wide as the container, less its border.
  let viewWidth = container.clientWidth - 2;
  container.innerHTML = `${DEFS}${TOOLS}<div class="scroll graph-box"><div class="graph-canvas"></div></div>${LEGEND}`;
  const scroller = container.querySelector<HTMLElement>(".graph-box")!;
  const canvas = container.querySelector<HTMLElement>(".graph-canvas")!;
  const zoomLabel = container.querySelector<HTMLElement>(".graph-zoom")!;
  const openAll = container.querySelector<HTMLButtonElement>('[data-lanes="open"]')!;
  const collapseAll = container.querySelector<HTMLButtonElement>('[data-lanes="collapse"]')!;

  const total = (): number => layout.headerWidth + layout.width;
  const fitScale = (available: number): number => Math.max(MIN_SCALE, Math.min(1, available / total()));

  const draw = (): void => {
    layout = layoutGraph(input, { open, statuses: known, statusOrder: STATES });
    const { lanes, positions, labels, nodeWidth: w, width, height, headerWidth } = layout;
    // A scroll bar that appears is corrected by the resize observer below, after layout, before paint.
    const available = viewWidth - 1;
    if (fitting) scale = fitScale(available);
    // A graph narrower than its box is drawn as wide as the box, so the lanes' bands reach across.
    const drawn = Math.max(width, Math.floor(available / scale) - headerWidth);
    const { plain, critical } = edgePaths(layout, input);
    let bands = "";
    let headers = "";
    let body = "";
    laneCounts = [];
    lanes.forEach((lane, i) => {
      const band = `<rect class="band${i % 2 === 1 ? " alt" : ""}" y="${lane.y}" height="${lane.height}"`;
      bands += `${band} width="${drawn}"/>`;
      headers += `${band} width="${headerWidth}"/><text class="lane-label" x="10" y="${lane.y + 19}">${esc(cut(lane.label, 20))}</text><text class="lane-count" x="10" y="${lane.y + 34}">${tasksCount(lane.taskIds.length)}</text>`;
      const counts = countStates(lane.taskIds, known);
      laneCounts.push(counts);
      if (lane.box !== null) {
        const summary = laneSummaryOf(lane.label, lane.taskIds.length, counts, STATES);
        body +=
          `<g class="lane lane-box${lane.critical ? " crit" : ""}" data-lane="${esc(lane.key)}" data-count="${lane.taskIds.length}" transform="translate(${lane.box.x} ${lane.box.y})" tabindex="0" role="button" aria-expanded="false" aria-label="${esc(summary)}">` +
          `${boxInner(summary, counts, lane.taskIds.length, lane.box.width)}</g>`;
        return;
      }
      body += `<g class="lane" data-lane="${esc(lane.key)}" role="group" aria-label="${esc(`${lane.label}: ${tasksCount(lane.taskIds.length)}`)}">`;
      for (const id of lane.taskIds) {
        const n = nodeById.get(id)!;
        body += nodeMarkup(id, n.name, positions.get(id)!, w, labels.get(id)!, known.get(id) ?? "blocked", n.critical);
      }
      body += "</g>";
    });
    const size = (wd: number): string => `width="${wd * scale}" height="${height * scale}" viewBox="0 0 ${wd} ${height}"`;
    const collapsed = lanes.filter((l) => l.collapsed).length;
    canvas.innerHTML =
      (headerWidth > 0 ? `<svg class="graph-lanes" xmlns="http://www.w3.org/2000/svg" ${size(headerWidth)} aria-hidden="true">${headers}</svg>` : "") +
      `<svg class="graph" xmlns="http://www.w3.org/2000/svg" ${size(drawn)} overflow="visible" role="group" aria-label="Dependency graph: ${input.nodes.length} tasks in ${lanes.length} ${lanes.length === 1 ? "lane" : "lanes"}${collapsed > 0 ? ` (${collapsed} collapsed)` : ""}, ${input.edges.length} dependencies; critical path ${input.criticalPath.length} tasks (heavier outline)">` +
      `${bands}<path class="edges" d="${plain}"/><path class="edges crit" d="${critical}"/>${body}</svg>`;
    byId = new Map();
    for (const g of Array.from(canvas.querySelectorAll("[data-task]"))) byId.set(g.getAttribute("data-task")!, g);
    boxes = new Map();
    canvas.querySelectorAll<SVGGElement>(".lane-box").forEach((g) => boxes.set(lanes.findIndex((l) => l.key === g.dataset.lane), g));
    openAll.hidden = collapsed === 0;
    collapseAll.hidden = !large || collapsed === lanes.length;
    showScale();
  };

  const showScale = (): void => {
    container.dataset.scale = scale.toFixed(3);
    zoomLabel.textContent = `${Math.round(scale * 100)} %`;
  };

  /** Zooms to `next`, keeping the drawing's point under (ax, ay) (box pixels; default its centre) in place. */
  const zoomTo = (next: number, ax = scroller.clientWidth / 2, ay = scroller.clientHeight / 2): void => {
    next = Math.max(MIN_SCALE, Math.min(MAX_SCALE, next));
    const gx = (scroller.scrollLeft + ax) / scale;
    const gy = (scroller.scrollTop + ay) / scale;
    scale = next;
    for (const svg of Array.from(canvas.querySelectorAll("svg"))) {
      const [, , wd, ht] = svg.getAttribute("viewBox")!.split(" ").map(Number);
      svg.setAttribute("width", String(wd! * scale));
      svg.setAttribute("height", String(ht! * scale));
    }
    scroller.scrollLeft = gx * scale - ax;
    scroller.scrollTop = gy * scale - ay;
    showScale();
  };
  const fit = (): void => {
    fitting = true;
    viewWidth = scroller.clientWidth;
    zoomTo(fitScale(viewWidth - 1), 0, 0);
  };

  /** Opens one lane, keeping the zoom so that it can be read (Fit shows everything again). */
  const openLane = (key: string): void => {
    if (open === "all") return;
    open.add(key);
    fitting = false;
    if (layout.lanes.every((l) => open === "all" || open.has(l.key))) open = "all";
    draw();
    canvas.querySelector<SVGGElement>(`[data-lane="${CSS.escape(key)}"] [data-task]`)?.focus();
  };

  container.querySelector(".graph-tools")!.addEventListener("click", (event) => {
    const button = (event.target as Element).closest("button");
    if (button === null) return;
    const zoom = button.getAttribute("data-zoom");
    if (zoom === "fit") fit();
    else if (zoom !== null) {
      fitting = false;
      zoomTo(zoom === "in" ? scale * ZOOM_STEP : scale / ZOOM_STEP);
    } else if (button.dataset.lanes !== undefined) {
      // Opening or collapsing every lane shows the whole again, fitted (opening one keeps the zoom).
      open = button.dataset.lanes === "open" ? "all" : new Set();
      fitting = true;
      draw();
    }
  });

  const activate = (target: Element): boolean => {
    const task = target.closest("[data-task]");
    if (task !== null) {
      onSelect(task.getAttribute("data-task")!);
      return true;
    }
    const box = target.closest<SVGGElement>(".lane-box");
    if (box !== null) {
      openLane(box.dataset.lane!);
      return true;
    }
    return false;
  };
  canvas.addEventListener("click", (event) => void activate(event.target as Element));
  canvas.addEventListener("keydown", (event) => {
    if ((event.key === "Enter" || event.key === " ") && activate(event.target as Element)) event.preventDefault();
  });

  scroller.addEventListener(
    "wheel",
    (event) => {
      if (!event.ctrlKey && !event.metaKey) return;
      event.preventDefault();
      const r = scroller.getBoundingClientRect();
      fitting = false;
      zoomTo(scale * Math.exp(-event.deltaY * 0.002), event.clientX - r.left, event.clientY - r.top);
    },
    { passive: false },
  );

  // Drag to pan (mouse and pen; touch scrolls the box natively). A drag is not a click.
  let drag: { x: number; y: number; left: number; top: number; id: number; moved: boolean } | null = null;
  let swallowClick = false;
  scroller.addEventListener("pointerdown", (event) => {
    swallowClick = false;
    if (event.button !== 0 || event.pointerType === "touch") return;
    drag = { x: event.clientX, y: event.clientY, left: scroller.scrollLeft, top: scroller.scrollTop, id: event.pointerId, moved: false };
  });
  scroller.addEventListener("pointermove", (event) => {
    if (drag === null || event.pointerId !== drag.id) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < DRAG_PX) return;
    if (!drag.moved) {
      drag.moved = true;
      scroller.setPointerCapture(drag.id);
      scroller.classList.add("panning");
    }
    scroller.scrollLeft = drag.left - dx;
    scroller.scrollTop = drag.top - dy;
  });
  const endDrag = (): void => {
    if (drag?.moved === true) {
      swallowClick = true;
      scroller.classList.remove("panning");
    }
    drag = null;
  };
  scroller.addEventListener("pointerup", endDrag);
  scroller.addEventListener("pointercancel", endDrag);
  scroller.addEventListener(
    "click",
    (event) => {
      if (!swallowClick) return;
      swallowClick = false;
      event.stopPropagation();
      event.preventDefault();
    },
    true,
  );

  // Fitted, the view follows the box's width (a scroll bar appearing, the window resized).
  const resized = new ResizeObserver(() => {
    if (!scroller.isConnected) return resized.disconnect();
    if (scroller.clientWidth > 0) viewWidth = scroller.clientWidth;
    if (fitting && scroller.clientWidth > 0 && Math.abs(fitScale(viewWidth - 1) - scale) > 1e-3) fit();
  });
  resized.observe(scroller);

  let flushing = false;
  const flush = (): void => {
    flushing = false;
    const collapsed = layout.lanes.filter((l) => l.box !== null);
    if (collapsed.length === 0) return dirty.clear();
    const summaries = new Map(collapsed.map((l) => [l, laneSummaryOf(l.label, l.taskIds.length, laneCounts[layout.lanes.indexOf(l)]!, STATES)]));
    // The boxes only grow, together, so their text keeps fitting as new states appear and they stay aligned.
    const width = Math.max(...collapsed.map((l) => Math.max(l.box!.width, boxWidthFor(summaries.get(l)!))));
    layout.lanes.forEach((lane, i) => {
      const g = boxes.get(i);
      if (g === undefined || lane.box === null || (!dirty.has(i) && lane.box.width === width)) return;
      lane.box.width = width;
      g.innerHTML = boxInner(summaries.get(lane)!, laneCounts[i]!, lane.taskIds.length, width);
      g.setAttribute("aria-label", summaries.get(lane)!);
    });
    dirty.clear();
  };

  draw();
  return {
    get size() {
      return { width: total(), height: layout.height };
    },
    setStatus(taskId, status) {
      const before = known.get(taskId) ?? "blocked";
      known.set(taskId, status);
      const g = byId.get(taskId);
      if (g !== undefined) {
        g.setAttribute("class", `node s-${status}${nodeById.get(taskId)?.critical ? " crit" : ""}`);
        g.setAttribute("aria-label", `${taskId}: ${words(status)}`);
        g.querySelector("use")?.setAttribute("href", `#gl-${glyphOf(status)}`);
        return;
      }
      const i = layout.laneOf.get(taskId);
      if (i === undefined || before === status) return;
      const counts = laneCounts[i]!;
      counts.set(before, (counts.get(before) ?? 1) - 1);
      counts.set(status, (counts.get(status) ?? 0) + 1);
      dirty.add(i);
      if (!flushing) {
        flushing = true;
        queueMicrotask(flush);
      }
    },
  };
}
