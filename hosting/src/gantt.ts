/**
 * Gantt timeline: each task's planned bar (earliest start → finish from the planner) with what
 * actually happened over it, on one time axis in seconds from the plan's start.
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
}

const ROW_H = 16;
const LABEL_W = 190;
export const MAX_GANTT_ROWS = 2_000;

export function renderGantt(container: HTMLElement, rows: readonly GanttRow[], nowSeconds: number | null): void {
  const shown = rows.slice(0, MAX_GANTT_ROWS);
  const span = Math.max(1e-3, ...shown.map((r) => Math.max(r.finishSeconds, r.actualFinishSeconds ?? (r.actualStartSeconds !== null && nowSeconds !== null ? nowSeconds : 0))));
  const width = Math.max(container.clientWidth || 720, 480);
  const plotW = width - LABEL_W - 16;
  const x = (s: number): number => LABEL_W + (s / span) * plotW;
  const height = shown.length * ROW_H + 24;
  let body = "";
  shown.forEach((r, i) => {
    const y = i * ROW_H + 20;
    const planned = `<rect class="planned${r.critical ? " crit" : ""}" x="${x(r.startSeconds)}" y="${y + 2}" width="${Math.max(x(r.finishSeconds) - x(r.startSeconds), 2)}" height="${ROW_H - 4}"/>`;
    let actual = "";
    if (r.actualStartSeconds !== null) {
      const end = r.actualFinishSeconds ?? nowSeconds ?? r.actualStartSeconds;
      actual = `<rect class="actual s-${r.status}" x="${x(r.actualStartSeconds)}" y="${y + 5}" width="${Math.max(x(end) - x(r.actualStartSeconds), 2)}" height="${ROW_H - 10}"/>`;
    }
    body += `<g><title>${esc(r.id)}: planned ${duration(r.startSeconds)} → ${duration(r.finishSeconds)}${r.actualStartSeconds === null ? "" : `; actual ${duration(r.actualStartSeconds)} → ${r.actualFinishSeconds === null ? "…" : duration(r.actualFinishSeconds)}`}</title><text x="4" y="${y + 12}">${esc(r.id.length > 26 ? `${r.id.slice(0, 25)}…` : r.id)}</text>${planned}${actual}</g>`;
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text class="tick" x="${x(span * f)}" y="12"${f === 1 ? ' text-anchor="end"' : ""}>${duration(span * f)}</text>`).join("");
  container.innerHTML =
    `<svg class="gantt" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="Timeline of ${rows.length} tasks: planned bars, actual bars inside them">${ticks}${body}</svg>` +
    (rows.length > shown.length ? `<p class="note">First ${shown.length} of ${rows.length} tasks by planned start.</p>` : "");
}
