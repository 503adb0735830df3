/**
 * Gantt timeline: per task two bars on one time axis in seconds from the plan's start: what was
 * planned (earliest start → finish from the planner, hatched where the task waits for an approval
 * or another system) above what actually happened. Ticks fall on round times, evenly spaced, and a
 * "now" line stands where a running plan is.
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

/** Evenly spaced round ticks from 0 covering `span` seconds. */
export function timeTicks(span: number, maxTicks = 8): number[] {
  const step = STEPS.find((s) => span / s <= maxTicks) ?? Math.ceil(span / maxTicks / 604800) * 604800;
  const ticks: number[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) ticks.push(Math.round(t * 1000) / 1000);
  return ticks;
}

const ROW_H = 16;
const LABEL_W = 190;
export const MAX_GANTT_ROWS = 2_000;

export function renderGantt(container: HTMLElement, rows: readonly GanttRow[], nowSeconds: number | null): void {
  const shown = rows.slice(0, MAX_GANTT_ROWS);
  const latest = Math.max(1e-3, ...shown.map((r) => Math.max(r.finishSeconds, r.actualFinishSeconds ?? (r.actualStartSeconds !== null && nowSeconds !== null ? nowSeconds : 0))), nowSeconds ?? 0);
  // The axis ends on a tick past the latest time, so every label is a round time.
  const ticks = timeTicks(latest);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : latest;
  const axis = ticks.at(-1)! < latest - 1e-9 ? [...ticks, ticks.at(-1)! + step] : ticks;
  const span = axis.at(-1)!;
  const width = Math.max(container.clientWidth || 720, 480);
  const plotW = width - LABEL_W - 16;
  const x = (s: number): number => LABEL_W + (s / span) * plotW;
  const height = shown.length * ROW_H + 24;
  let body = "";
  shown.forEach((r, i) => {
    const y = i * ROW_H + 20;
    const planned = `<rect class="planned${r.critical ? " crit" : ""}${r.waits ? " wait" : ""}" x="${x(r.startSeconds)}" y="${y + 1}" width="${Math.max(x(r.finishSeconds) - x(r.startSeconds), 2)}" height="${ROW_H / 2 - 2}"/>`;
    let actual = "";
    if (r.actualStartSeconds !== null) {
      const end = r.actualFinishSeconds ?? nowSeconds ?? r.actualStartSeconds;
      actual = `<rect class="actual s-${r.status}" x="${x(r.actualStartSeconds)}" y="${y + ROW_H / 2}" width="${Math.max(x(end) - x(r.actualStartSeconds), 2)}" height="${ROW_H / 2 - 2}"/>`;
    }
    body += `<g><title>${esc(r.id)}: planned ${duration(r.startSeconds)} → ${duration(r.finishSeconds)}${r.waits ? " (a wait)" : ""}${r.actualStartSeconds === null ? "" : `; actual ${duration(r.actualStartSeconds)} → ${r.actualFinishSeconds === null ? "…" : duration(r.actualFinishSeconds)}`}</title><text x="4" y="${y + 12}">${esc(r.id.length > 26 ? `${r.id.slice(0, 25)}…` : r.id)}</text>${planned}${actual}</g>`;
  });
  const grid = axis
    .map((t, i) => `<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="16" y2="${height}"/><text class="tick" x="${x(t)}" y="12"${i === axis.length - 1 ? ' text-anchor="end"' : i === 0 ? "" : ' text-anchor="middle"'}>${duration(t)}</text>`)
    .join("");
  const now = nowSeconds === null ? "" : `<line class="now" x1="${x(nowSeconds)}" x2="${x(nowSeconds)}" y1="14" y2="${height}"/><text class="now-label" x="${x(nowSeconds) + 3}" y="${height - 2}">now</text>`;
  const hatch = '<defs><pattern id="wait-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern></defs>';
  container.innerHTML =
    `<svg class="gantt" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="Timeline of ${rows.length} tasks: each task's planned bar (hatched where it waits for an approval or another system) above its actual bar${nowSeconds === null ? "" : ", and a line at now"}">${hatch}${grid}${body}${now}</svg>` +
    `<p class="note gantt-legend"><span class="key planned"></span> planned <span class="key planned wait"></span> planned wait <span class="key actual"></span> actual${nowSeconds === null ? "" : ' <span class="key now"></span> now'}</p>` +
    (rows.length > shown.length ? `<p class="note">First ${shown.length} of ${rows.length} tasks by planned start.</p>` : "");
}
