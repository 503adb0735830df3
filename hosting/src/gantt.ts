/**
 * Gantt timeline: per task two bars on one time axis in seconds from the plan's start: what was
 * planned (earliest start → finish from the planner, hatched where the task waits for an approval
 * or another system) above what actually happened. Ticks fall on round times, evenly spaced, and a
 * "now" line stands where a running plan is. Waits can be compressed: a stretch of time that only
 * waits cover is drawn as a short break, so hours of approval do not squeeze minutes of work.
 */
import { duration, esc } from "./dom";

export interface GanttRow {
  id: string;
  startSeconds: number;
  finishSeconds: number;
  status: string;
  actualStartSeconds: number | null;
  actualFinishSeconds: number | null;
  critical: boolean;
  /** An approval or external task: its planned time is a wait, not work (drawn hatched). */
  waits?: boolean;
}

/** Round tick steps, in seconds: the smallest that gives at most `maxTicks` intervals is used. */
const STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

/** The round step that cuts `span` seconds into at most `maxTicks` intervals. */
const tickStep = (span: number, maxTicks: number): number => STEPS.find((s) => span / s <= maxTicks) ?? Math.ceil(span / maxTicks / 604800) * 604800;

/** Evenly spaced round ticks from 0 covering `span` seconds. */
export function timeTicks(span: number, maxTicks = 8): number[] {
  const step = tickStep(span, maxTicks);
  const ticks: number[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) ticks.push(Math.round(t * 1000) / 1000);
  return ticks;
}

export interface Interval {
  from: number;
  to: number;
}

/** A stretch of waits drawn as a fixed-width break. */
export interface TimeBreak extends Interval {
  /** Where the break starts, in pixels from the axis' start. */
  x: number;
  width: number;
}

export interface TimeScale {
  /** The axis' end (a round time at or past the latest one). */
  end: number;
  ticks: number[];
  breaks: TimeBreak[];
  /** Pixels from the axis' start; piecewise linear when waits are compressed. */
  x(seconds: number): number;
}

export interface TimeScaleOptions {
  /** What works: the planned and actual bars of tasks that are not waits. */
  work: readonly Interval[];
  /** The planned and actual bars of approval and external tasks. */
  waits: readonly Interval[];
  /** The latest time to show (seconds from the plan's start). */
  latest: number;
  /** The axis' width in pixels. */
  width: number;
  compress: boolean;
  breakWidth?: number;
  maxTicks?: number;
  /** Ticks nearer than this (pixels) to the previous one are left out, but for the two edges of one break. */
  minTickGap?: number;
}

/** The union of `intervals`, sorted, with empty ones left out. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => i.to > i.from).sort((a, b) => a.from - b.from);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out.at(-1);
    if (last !== undefined && i.from <= last.to) last.to = Math.max(last.to, i.to);
    else out.push({ from: i.from, to: i.to });
  }
  return out;
}

/** The parts of `covered` that `minus` does not cover (both merged). */
function subtract(covered: readonly Interval[], minus: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let j = 0;
  for (const c of covered) {
    let from = c.from;
    while (j < minus.length && minus[j]!.to <= from) j++;
    for (let k = j; k < minus.length && minus[k]!.from < c.to; k++) {
      if (minus[k]!.from > from) out.push({ from, to: minus[k]!.from });
      from = Math.max(from, minus[k]!.to);
    }
    if (from < c.to) out.push({ from, to: c.to });
  }
  return out;
}

/**
 * The timeline's time → pixel scale. Uncompressed: linear from 0 to a round end past `latest`.
 * Compressed: every stretch that only waits cover (no work bar) becomes a break `breakWidth` wide,
 * the rest shares the width linearly; a stretch that would be no wider than a break uncompressed
 * stays as it is. Ticks stay on round times, on the uncompressed stretches only.
 */
export function timeScale(options: TimeScaleOptions): TimeScale {
  const { width, latest } = options;
  const breakWidth = options.breakWidth ?? 24;
  const maxTicks = options.maxTicks ?? 8;
  const minGap = options.minTickGap ?? 44;
  let stretches = options.compress ? subtract(mergeIntervals(options.waits), mergeIntervals(options.work)).filter((s) => s.from < latest).map((s) => ({ from: s.from, to: Math.min(s.to, latest) })) : [];
  const linearPerSecond = (end: number, kept: readonly Interval[]): number => {
    const hidden = kept.reduce((sum, s) => sum + s.to - s.from, 0);
    return end - hidden > 0 ? (width - kept.length * breakWidth) / (end - hidden) : 0;
  };
  // Leave out the stretches not worth a break, and the shortest while breaks would leave the work too
  // little room, until every break left is worth it (fewer breaks only widen the others).
  while (stretches.length > 0) {
    const k = linearPerSecond(latest, stretches);
    if (k <= 0 || width - stretches.length * breakWidth < width / 3) {
      const shortest = stretches.reduce((a, b) => (b.to - b.from < a.to - a.from ? b : a));
      stretches = stretches.filter((s) => s !== shortest);
      continue;
    }
    const kept = stretches.filter((s) => (s.to - s.from) * k > breakWidth * 1.5);
    if (kept.length === stretches.length) break;
    stretches = kept;
  }
  if (stretches.length === 0) {
    const ticks = timeTicks(latest, maxTicks);
    const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : latest;
    const end = ticks.at(-1)! < latest - 1e-9 ? ticks.at(-1)! + step : ticks.at(-1)!;
    if (ticks.at(-1)! < end) ticks.push(Math.round(end * 1000) / 1000);
    return { end, ticks, breaks: [], x: (s) => (s / end) * width };
  }
  // The step as dense as uncompressed for the seconds a full width of the linear scale would show.
  const step = tickStep(width / linearPerSecond(latest, stretches), maxTicks);
  const end = Math.ceil(latest / step - 1e-9) * step;
  const k = linearPerSecond(end, stretches);
  const breaks: TimeBreak[] = [];
  let hidden = 0;
  for (const s of stretches) {
    breaks.push({ from: s.from, to: s.to, x: (s.from - hidden) * k + breaks.length * breakWidth, width: breakWidth });
    hidden += s.to - s.from;
  }
  const x = (seconds: number): number => {
    let before = 0;
    let px = 0;
    for (const b of breaks) {
      if (seconds <= b.from) break;
      if (seconds < b.to) return b.x + ((seconds - b.from) / (b.to - b.from)) * b.width;
      before += b.to - b.from;
      px += b.width;
    }
    return (seconds - before) * k + px;
  };
  const ticks: number[] = [];
  for (let i = 0; i * step <= end + 1e-9; i++) {
    const t = Math.round(i * step * 1000) / 1000;
    if (breaks.some((b) => t > b.from && t < b.to)) continue;
    const last = ticks.at(-1);
    // Either side of a break, the labels lean away from it (see renderGantt), so both fit.
    if (last !== undefined && x(t) - x(last) < minGap && !breaks.some((b) => b.from === last && b.to === t)) {
      // The axis' end keeps its label; the tick before it gives way.
      if (t < end - 1e-9) continue;
      ticks.pop();
    }
    ticks.push(t);
  }
  return { end, ticks, breaks, x };
}

/** The share of the (uncompressed) axis that planned waits cover. */
export function plannedWaitShare(rows: readonly GanttRow[], axisEnd: number): number {
  if (axisEnd <= 0) return 0;
  return mergeIntervals(rows.filter((r) => r.waits).map((r) => ({ from: r.startSeconds, to: r.finishSeconds }))).reduce((sum, i) => sum + i.to - i.from, 0) / axisEnd;
}

const ROW_H = 16;
const LABEL_W = 190;
export const MAX_GANTT_ROWS = 2_000;

/** The latest time any bar (or now) reaches. */
function latestOf(rows: readonly GanttRow[], nowSeconds: number | null): number {
  let latest = Math.max(1e-3, nowSeconds ?? 0);
  for (const r of rows) latest = Math.max(latest, r.finishSeconds, r.actualFinishSeconds ?? (r.actualStartSeconds !== null && nowSeconds !== null ? nowSeconds : 0));
  return latest;
}

function actualEnd(r: GanttRow, nowSeconds: number | null): number | null {
  return r.actualStartSeconds === null ? null : (r.actualFinishSeconds ?? nowSeconds ?? r.actualStartSeconds);
}

/** Draws the timeline's SVG and legend into `container` (the scroll box is its parent's job). */
export function renderGantt(container: HTMLElement, rows: readonly GanttRow[], nowSeconds: number | null, compress = false): void {
  const shown = rows.slice(0, MAX_GANTT_ROWS);
  const latest = latestOf(shown, nowSeconds);
  const width = Math.max(container.clientWidth || 720, 480);
  const plotW = width - LABEL_W - 16;
  const work: Interval[] = [];
  const waits: Interval[] = [];
  for (const r of shown) {
    const into = r.waits ? waits : work;
    into.push({ from: r.startSeconds, to: r.finishSeconds });
    const end = actualEnd(r, nowSeconds);
    if (end !== null) into.push({ from: r.actualStartSeconds!, to: end });
  }
  const scale = timeScale({ work, waits, latest, width: plotW, compress });
  const x = (s: number): number => LABEL_W + scale.x(s);
  const height = shown.length * ROW_H + 24;
  let body = "";
  shown.forEach((r, i) => {
    const y = i * ROW_H + 20;
    const planned = `<rect class="planned${r.critical ? " crit" : ""}${r.waits ? " wait" : ""}" x="${x(r.startSeconds)}" y="${y + 1}" width="${Math.max(x(r.finishSeconds) - x(r.startSeconds), 2)}" height="${ROW_H / 2 - 2}"/>`;
    let actual = "";
    const end = actualEnd(r, nowSeconds);
    if (end !== null) actual = `<rect class="actual s-${r.status}" x="${x(r.actualStartSeconds!)}" y="${y + ROW_H / 2}" width="${Math.max(x(end) - x(r.actualStartSeconds!), 2)}" height="${ROW_H / 2 - 2}"/>`;
    body += `<g><title>${esc(r.id)}: planned ${duration(r.startSeconds)} → ${duration(r.finishSeconds)}${r.waits ? " (a wait)" : ""}${r.actualStartSeconds === null ? "" : `; actual ${duration(r.actualStartSeconds)} → ${r.actualFinishSeconds === null ? "…" : duration(r.actualFinishSeconds)}`}</title><text x="4" y="${y + 12}">${esc(r.id.length > 26 ? `${r.id.slice(0, 25)}…` : r.id)}</text>${planned}${actual}</g>`;
  });
  const last = scale.ticks.length - 1;
  // A label at a break's edge stands clear of the break's mark: ending at its start, starting at its end.
  const anchor = (t: number, i: number): string =>
    (i === last && i > 0) || scale.breaks.some((b) => b.from === t) ? ' text-anchor="end"' : i === 0 || scale.breaks.some((b) => b.to === t) ? "" : ' text-anchor="middle"';
  const grid = scale.ticks.map((t, i) => `<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="16" y2="${height}"/><text class="tick" x="${x(t)}" y="12"${anchor(t, i)}>${duration(t)}</text>`).join("");
  const breaks = scale.breaks
    .map((b) => {
      const bx = x(0) + b.x;
      const mid = bx + b.width / 2;
      let zig = `M${mid} 16`;
      for (let yy = 16, side = 1; yy < height; yy += 6, side = -side) zig += `L${mid + side * 3} ${Math.min(yy + 6, height)}`;
      return `<g class="break"><title>${duration(b.to - b.from)} of waits only (${duration(b.from)} → ${duration(b.to)}), compressed</title><rect x="${bx}" y="14" width="${b.width}" height="${height - 14}"/><path d="${zig}"/><text class="break-mark" x="${mid}" y="12" text-anchor="middle">≈</text></g>`;
    })
    .join("");
  const now = nowSeconds === null ? "" : `<line class="now" x1="${x(nowSeconds)}" x2="${x(nowSeconds)}" y1="14" y2="${height}"/><text class="now-label" x="${x(nowSeconds) + 3}" y="${height - 2}">now</text>`;
  const hatch = '<defs><pattern id="wait-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern></defs>';
  container.innerHTML =
    `<svg class="gantt" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="Timeline of ${rows.length} tasks: each task's planned bar (hatched where it waits for an approval or another system) above its actual bar${nowSeconds === null ? "" : ", and a line at now"}${scale.breaks.length > 0 ? `; ${scale.breaks.length} stretches of waits only are compressed` : ""}">${hatch}${breaks}${grid}${body}${now}</svg>`;
}

export interface GanttView {
  render(rows: readonly GanttRow[], nowSeconds: number | null): void;
}

/**
 * The timeline section: a "Compress waits" checkbox above the scroll box with the chart, and the
 * legend below. Until the reader sets it, the box is checked when planned waits cover more than
 * half of the axis.
 */
export function mountGantt(container: HTMLElement): GanttView {
  container.innerHTML =
    '<p class="gantt-tools" hidden><label><input type="checkbox" id="compress-waits"> Compress waits</label> <span class="note">stretches where only approvals or other systems are awaited are drawn as short breaks (≈)</span></p>' +
    '<div class="scroll gantt-box"></div><p class="note gantt-legend"></p><p class="note gantt-more" hidden></p>';
  const tools = container.querySelector<HTMLElement>(".gantt-tools")!;
  const box = container.querySelector<HTMLInputElement>("#compress-waits")!;
  const plot = container.querySelector<HTMLElement>(".gantt-box")!;
  const legend = container.querySelector<HTMLElement>(".gantt-legend")!;
  const more = container.querySelector<HTMLElement>(".gantt-more")!;
  let chosen: boolean | null = null;
  let last: { rows: readonly GanttRow[]; nowSeconds: number | null } = { rows: [], nowSeconds: null };
  const draw = (): void => {
    const { rows, nowSeconds } = last;
    const shown = rows.slice(0, MAX_GANTT_ROWS);
    const anyWaits = shown.some((r) => r.waits);
    tools.hidden = !anyWaits;
    const compress = anyWaits && (chosen ?? plannedWaitShare(shown, timeScale({ work: [], waits: [], latest: latestOf(shown, nowSeconds), width: 1, compress: false }).end) > 0.5);
    box.checked = compress;
    renderGantt(plot, rows, nowSeconds, compress);
    legend.innerHTML = `<span class="key planned"></span> planned <span class="key planned wait"></span> planned wait <span class="key actual"></span> actual${nowSeconds === null ? "" : ' <span class="key now"></span> now'}${compress ? ' <span class="key break"></span> waits only, compressed (its length in the tooltip)' : ""}`;
    more.hidden = rows.length <= shown.length;
    more.textContent = `First ${shown.length} of ${rows.length} tasks by planned start.`;
  };
  box.addEventListener("change", () => {
    chosen = box.checked;
    draw();
  });
  return {
    render(rows, nowSeconds) {
      last = { rows, nowSeconds };
      draw();
    },
  };
}
