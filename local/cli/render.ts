/** Plain-text rendering for the command line: tables, times and durations. */

export const when = (ms: unknown): string => (typeof ms === "number" ? new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "—");

export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m ${Math.round((ms % 60_000) / 1_000)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** From `start` to `end` (or now), or a dash when it never started. */
export const span = (start: unknown, end: unknown, now = Date.now()): string => (typeof start === "number" ? duration((typeof end === "number" ? end : now) - start) : "—");

/** A left-aligned table with a header row; cells are cut at `max` characters. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, max = 60): string {
  const cut = (cell: string) => (cell.length > max ? `${cell.slice(0, max - 1)}…` : cell);
  const all = [header, ...rows].map((row) => row.map(cut));
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  return all.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n");
}

/** "3 succeeded, 1 running" in a stable order (by how many, then by name). */
export function counts(byStatus: Record<string, number>): string {
  return Object.entries(byStatus)
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([status, n]) => `${n} ${status}`)
    .join(", ");
}
