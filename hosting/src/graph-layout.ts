/**
 * Where the dependency graph puts every task, with no DOM, so it is unit-tested and cheap: one
 * horizontal lane per environment (environment plans) or per id prefix (task plans), columns by
 * level inside each lane, and each column ordered by barycenter sweeps, down and up, so fewer edges
 * cross. A plan of more than COLLAPSE_ABOVE tasks starts with its lanes collapsed: one box per lane.
 */

export interface GraphNode {
  id: string;
  name: string | null;
  level: number;
  critical: boolean;
  /** Environment plans: the task's environment, which is its lane. */
  environment?: string | null;
  /** Environment plans: the integration a task provisions, its label inside the lane. */
  integration?: string | null;
}

export interface GraphInput {
  nodes: readonly GraphNode[];
  edges: ReadonlyArray<readonly [string, string]>;
  criticalPath: readonly string[];
}

export interface Placed {
  x: number;
  y: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A plan of more tasks than this opens with every lane collapsed. */
export const COLLAPSE_ABOVE = 500;
/** Barycenter sweeps per lane, each one down (left to right) and one up. */
const SWEEPS = 4;

export const NODE_H = 24;
const ROW_H = 32;
const COL_GAP = 32;
const LANE_PAD = 10;
/** Left of the first column: room for the edges that wrap from one lane's end to the next lane's start. */
const PAD_LEFT = 24;
const PAD_RIGHT = 12;
export const BOX_H = 30;
/** Node text: 12 px monospace. */
const CHAR_W = 7.3;
/** The status glyph's room at a node's left. */
export const GLYPH_W = 20;
const MAX_LABEL_CHARS = 20;
const MIN_NODE_W = 72;
/** Lane headers: 13 px bold system font. */
const HEADER_CHAR_W = 8;
const MAX_HEADER_CHARS = 20;
/** Collapsed lane boxes: 12 px system font, estimated generously. */
const BOX_CHAR_W = 6.8;
const MIN_BOX_W = 280;
/** Dash or underscore prefixes make lanes only if they make this many (task plans without dots). */
const MIN_GROUPS = 2;
const MAX_GROUPS = 50;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Compares ids as people read them: runs of digits by their value, so `t2` comes before `t10` and
 * `g3.t9` before `g3.t10`; everything else by character code. Equal values with different spellings
 * (`t01`, `t1`) fall back to plain order, so the order is total.
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      let ei = i;
      while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++;
      let ej = j;
      while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++;
      let zi = i;
      while (zi < ei - 1 && a.charCodeAt(zi) === 48) zi++;
      let zj = j;
      while (zj < ej - 1 && b.charCodeAt(zj) === 48) zj++;
      if (ei - zi !== ej - zj) return ei - zi - (ej - zj);
      for (let k = 0; k < ei - zi; k++) {
        const d = a.charCodeAt(zi + k) - b.charCodeAt(zj + k);
        if (d !== 0) return d;
      }
      i = ei;
      j = ej;
    } else {
      if (ca !== cb) return ca - cb;
      i++;
      j++;
    }
  }
  const rest = a.length - i - (b.length - j);
  if (rest !== 0) return rest;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Lane {
  key: string;
  label: string;
  /** In the plan's order. */
  nodes: GraphNode[];
}

/** The lane of the tasks that have no prefix (task plans), or no environment. */
const REST = "\u0000rest";

/**
 * The plan's lanes, in the order their first task appears: its environments (environment plans);
 * else the id prefix before the first `.` (ids without one share a lane); else, if no id has a dot,
 * the prefix before the first `-` or `_`, when that makes 2 to 50 lanes and at least one prefix is
 * shared by two tasks (otherwise every task is in one lane).
 */
export function lanesOf(nodes: readonly GraphNode[]): Lane[] {
  let keyOf: (n: GraphNode) => string;
  if (nodes.some((n) => n.environment != null)) keyOf = (n) => n.environment ?? REST;
  else if (nodes.some((n) => n.id.indexOf(".") > 0)) keyOf = (n) => prefixKey(n.id, n.id.indexOf("."));
  else {
    const dashKey = (n: GraphNode): string => prefixKey(n.id, n.id.search(/[-_]/));
    const sizes = new Map<string, number>();
    for (const n of nodes) sizes.set(dashKey(n), (sizes.get(dashKey(n)) ?? 0) + 1);
    const shared = [...sizes].some(([key, size]) => key !== REST && size > 1);
    keyOf = sizes.size >= MIN_GROUPS && sizes.size <= MAX_GROUPS && shared ? dashKey : () => REST;
  }
  const lanes = new Map<string, Lane>();
  for (const n of nodes) {
    const key = keyOf(n);
    let lane = lanes.get(key);
    if (lane === undefined) lanes.set(key, (lane = { key, label: key, nodes: [] }));
    lane.nodes.push(n);
  }
  const all = [...lanes.values()];
  for (const lane of all) if (lane.key === REST) lane.label = all.length === 1 ? "all tasks" : lanes.has("other") ? "(no group)" : "other";
  return all;
}

const prefixKey = (id: string, at: number): string => (at > 0 ? id.slice(0, at) : REST);

/** A task's label in its lane: its integration, else its id without the lane's prefix. */
function shortLabel(node: GraphNode, lane: Lane): string {
  if (node.integration != null && node.integration !== "") return node.integration;
  if (lane.key !== REST && node.id.length > lane.key.length + 1 && node.id.startsWith(lane.key)) return node.id.slice(lane.key.length + 1);
  return node.id;
}

export const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A collapsed lane's one line: `g3 · 500 tasks · 490 blocked · 10 succeeded` (states in `order`). */
export function laneSummary(label: string, ids: readonly string[], statuses: ReadonlyMap<string, string>, order: readonly string[]): string {
  const counts = countStates(ids, statuses);
  return laneSummaryOf(label, ids.length, counts, order);
}

export function countStates(ids: readonly string[], statuses: ReadonlyMap<string, string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) {
    const s = statuses.get(id) ?? "blocked";
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  return counts;
}

/** 1000 → "1,000" (toLocaleString builds a number format per call: milliseconds each, cold). */
export const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** `n task(s)`, with thousands separated. */
export const tasksCount = (n: number): string => `${thousands(n)} ${n === 1 ? "task" : "tasks"}`;

export function laneSummaryOf(label: string, total: number, counts: ReadonlyMap<string, number>, order: readonly string[]): string {
  const known = order.filter((s) => (counts.get(s) ?? 0) > 0);
  const others = [...counts.keys()].filter((s) => !order.includes(s) && counts.get(s)! > 0);
  const parts = [...known, ...others].map((s) => `${thousands(counts.get(s)!)} ${s.replace(/_/g, " ")}`);
  return [label, tasksCount(total), ...parts].join(" · ");
}

/** How wide a collapsed lane's box is drawn for its line of text. */
export const boxWidthFor = (summary: string): number => Math.max(MIN_BOX_W, Math.ceil(summary.length * BOX_CHAR_W + 24));

export interface LaneLayout {
  key: string;
  label: string;
  /** The band's top and height. */
  y: number;
  height: number;
  /** Its tasks: when open, in focus order (column by column, top to bottom); else in the plan's order. */
  taskIds: string[];
  collapsed: boolean;
  critical: boolean;
  /** A collapsed lane's box. */
  box: Box | null;
}

export interface GraphLayout {
  lanes: LaneLayout[];
  /** Top-left corner of every task in an open lane. */
  positions: Map<string, Placed>;
  /** Task id → its lane's index. */
  laneOf: Map<string, number>;
  /** Task id → its short label (cut to fit its node). */
  labels: Map<string, string>;
  nodeWidth: number;
  width: number;
  height: number;
  /** Room for the lane headers at the left (none when there is one lane). */
  headerWidth: number;
  /** Lanes follow one another (each starts at a level after the previous one's last): each starts at the left. */
  stacked: boolean;
}

export interface LayoutOptions {
  /** Open lanes: all, those listed, or "auto" (all up to COLLAPSE_ABOVE tasks, none above). */
  open?: "all" | "auto" | ReadonlySet<string>;
  /** Task states, for the collapsed lanes' counts (a task not listed is blocked). */
  statuses?: ReadonlyMap<string, string>;
  /** Their order in those counts. */
  statusOrder?: readonly string[];
}

/** Whether a lane starts open. */
function laneOpen(open: LayoutOptions["open"], key: string, taskCount: number): boolean {
  if (open === undefined || open === "auto") return taskCount <= COLLAPSE_ABOVE;
  return open === "all" || open.has(key);
}

/** Places every task of the open lanes once and every collapsed lane's box; O(sweeps × (tasks + edges) log). */
export function layoutGraph(input: GraphInput, options: LayoutOptions = {}): GraphLayout {
  const lanes = lanesOf(input.nodes);
  const statuses = options.statuses ?? new Map<string, string>();
  const laneOf = new Map<string, number>();
  const labels = new Map<string, string>();
  let longest = 1;
  lanes.forEach((lane, i) => {
    for (const n of lane.nodes) {
      laneOf.set(n.id, i);
      const label = cut(shortLabel(n, lane), MAX_LABEL_CHARS);
      labels.set(n.id, label);
      longest = Math.max(longest, label.length);
    }
  });
  const nodeWidth = Math.max(MIN_NODE_W, Math.ceil(GLYPH_W + longest * CHAR_W + 10));
  const colW = nodeWidth + COL_GAP;
  const levelRange = lanes.map((lane) => lane.nodes.reduce(([lo, hi], n) => [Math.min(lo, n.level), Math.max(hi, n.level)], [Infinity, -Infinity]));
  const stacked = lanes.length > 1 && levelRange.every(([lo], i) => i === 0 || lo! > levelRange[i - 1]![1]!);
  const open = lanes.map((lane) => laneOpen(options.open, lane.key, input.nodes.length));

  // A column per level that has a task in view: global across lanes, or each lane's own when stacked.
  const columnOf = new Map<number, number>();
  if (!stacked) {
    const levels = new Set<number>();
    lanes.forEach((lane, i) => open[i] && lane.nodes.forEach((n) => levels.add(n.level)));
    [...levels].sort((a, b) => a - b).forEach((level, c) => columnOf.set(level, c));
  }

  const needs = new Map<string, string[]>();
  const dependents = new Map<string, string[]>();
  for (const [from, to] of input.edges) {
    if (laneOf.get(from) === undefined || laneOf.get(from) !== laneOf.get(to)) continue;
    (needs.get(to) ?? needs.set(to, []).get(to)!).push(from);
    (dependents.get(from) ?? dependents.set(from, []).get(from)!).push(to);
  }
  const critical = new Set(input.nodes.filter((n) => n.critical).map((n) => n.id));

  const positions = new Map<string, Placed>();
  const out: LaneLayout[] = [];
  const headerWidth = lanes.length > 1 ? Math.max(64, Math.ceil(24 + Math.min(MAX_HEADER_CHARS, Math.max(...lanes.map((l) => l.label.length))) * HEADER_CHAR_W)) : 0;
  // Collapsed lanes' boxes share one width, the widest line's, so they line up.
  const boxWidth = Math.max(0, ...lanes.map((lane, i) => (open[i] ? 0 : boxWidthFor(laneSummary(lane.label, lane.nodes.map((n) => n.id), statuses, options.statusOrder ?? [])))));
  let width = 0;
  let y = 0;
  lanes.forEach((lane, i) => {
    const ids = lane.nodes.map((n) => n.id);
    const isCritical = lane.nodes.some((n) => critical.has(n.id));
    if (!open[i]) {
      const box = { x: PAD_LEFT, y: y + LANE_PAD, width: boxWidth, height: BOX_H };
      out.push({ key: lane.key, label: lane.label, y, height: BOX_H + 2 * LANE_PAD, taskIds: ids, collapsed: true, critical: isCritical, box });
      width = Math.max(width, box.x + box.width + PAD_RIGHT);
      y += BOX_H + 2 * LANE_PAD;
      return;
    }
    const laneColumns = new Map<number, number>();
    if (stacked) [...new Set(lane.nodes.map((n) => n.level))].sort((a, b) => a - b).forEach((level, c) => laneColumns.set(level, c));
    const cols: string[][] = [];
    for (const n of lane.nodes) (cols[(stacked ? laneColumns : columnOf).get(n.level)!] ??= []).push(n.id);
    const columns = orderColumns(cols, needs, dependents);
    const rows = Math.max(...columns.map((c) => c.length));
    const taskIds: string[] = [];
    columns.forEach((column, c) => {
      const offset = (rows - column.length) / 2;
      column.forEach((id, r) => {
        positions.set(id, { x: PAD_LEFT + c * colW, y: y + LANE_PAD + (offset + r) * ROW_H });
        taskIds.push(id);
      });
    });
    const height = 2 * LANE_PAD + (rows - 1) * ROW_H + NODE_H;
    out.push({ key: lane.key, label: lane.label, y, height, taskIds, collapsed: false, critical: isCritical, box: null });
    width = Math.max(width, PAD_LEFT + (columns.length - 1) * colW + nodeWidth + PAD_RIGHT);
    y += height;
  });
  return { lanes: out, positions, laneOf, labels, nodeWidth, width, height: y, headerWidth, stacked };
}

/**
 * Orders each column of one lane: first naturally by id, then by the mean row of each task's
 * neighbours in the lane (its needs sweeping down, its dependents sweeping up), keeping the order
 * with the fewest crossings between adjacent columns. A task with no neighbours keeps its row; ties
 * keep the natural order. Columns may be empty (a level with nothing in this lane). Works on
 * indices and typed arrays: a 1,000-task lane is ordered in a few milliseconds.
 */
function orderColumns(input: string[][], needs: ReadonlyMap<string, string[]>, dependents: ReadonlyMap<string, string[]>): string[][] {
  const columns = Array.from({ length: input.length }, (_, c) => [...(input[c] ?? [])].sort(naturalCompare));
  if (columns.every((column) => column.length <= 1)) return columns;
  // Tasks numbered column by column in natural order, so a smaller number is the natural tie-break.
  const ids: string[] = [];
  const index = new Map<string, number>();
  const columnOf: number[] = [];
  columns.forEach((column, c) =>
    column.forEach((id) => {
      index.set(id, ids.length);
      ids.push(id);
      columnOf.push(c);
    }),
  );
  const up = ids.map((id) => (needs.get(id) ?? []).map((n) => index.get(n)!));
  const down = ids.map((id) => (dependents.get(id) ?? []).map((n) => index.get(n)!));
  const order = columns.map((column) => Int32Array.from(column, (id) => index.get(id)!));
  const rows = Math.max(...columns.map((c) => c.length));
  const pos = new Float64Array(ids.length);
  const place = (column: Int32Array): void => {
    const offset = (rows - column.length) / 2;
    for (let r = 0; r < column.length; r++) pos[column[r]!] = offset + r;
  };
  order.forEach(place);
  const key = new Float64Array(ids.length);
  const byKey = (a: number, b: number): number => key[a]! - key[b]! || a - b;
  const reorder = (column: Int32Array, adjacent: number[][]): void => {
    if (column.length < 2) return;
    for (const v of column) {
      const near = adjacent[v]!;
      let sum = 0;
      for (const n of near) sum += pos[n]!;
      key[v] = near.length === 0 ? pos[v]! : sum / near.length;
    }
    column.sort(byKey);
    place(column);
  };
  const crossings = crossingCounter(order, up, columnOf, rows);
  let best = order.map((c) => c.slice());
  let fewest = crossings();
  const keepIfBetter = (): boolean => {
    const n = crossings();
    if (n >= fewest) return false;
    fewest = n;
    best = order.map((c) => c.slice());
    return true;
  };
  // Stops early once a sweep down and up finds nothing better (or nothing crosses).
  for (let sweep = 0; sweep < SWEEPS && fewest > 0; sweep++) {
    for (let c = 1; c < order.length; c++) reorder(order[c]!, up);
    const betterDown = keepIfBetter();
    for (let c = order.length - 2; c >= 0; c--) reorder(order[c]!, down);
    if (!keepIfBetter() && !betterDown) break;
  }
  return best.map((column) => Array.from(column, (v) => ids[v]!));
}

/**
 * Counts the crossings of the edges between adjacent columns in the columns' current order (edges
 * that skip a column are not counted): per pair of columns, the edges sorted by their upper end,
 * and the inversions among their lower ends counted with a Fenwick tree, O(edges log rows).
 */
function crossingCounter(order: readonly Int32Array[], up: readonly number[][], columnOf: readonly number[], rows: number): () => number {
  const rowOf = new Int32Array(columnOf.length);
  const edges = up.reduce((n, a) => n + a.length, 0);
  const keys = new Float64Array(edges);
  const tree = new Int32Array(rows + 1);
  return () => {
    for (const column of order) for (let r = 0; r < column.length; r++) rowOf[column[r]!] = r;
    let total = 0;
    for (let c = 1; c < order.length; c++) {
      let n = 0;
      for (const v of order[c]!) for (const u of up[v]!) if (columnOf[u] === c - 1) keys[n++] = rowOf[u]! * rows + rowOf[v]!;
      if (n < 2) continue;
      const sorted = keys.subarray(0, n).sort();
      tree.fill(0);
      for (let i = 0; i < n; i++) {
        const lower = sorted[i]! % rows;
        // Edges seen so far whose lower end is below this one's cross it.
        let atOrAbove = 0;
        for (let j = lower + 1; j > 0; j -= j & -j) atOrAbove += tree[j]!;
        total += i - atOrAbove;
        for (let j = lower + 1; j <= rows; j += j & -j) tree[j]!++;
      }
    }
    return total;
  };
}
