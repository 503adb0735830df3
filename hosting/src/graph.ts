/**
 * The dependency graph as one SVG: tasks in columns by topological level, ordered in each column
 * by the mean row of their needs (fewer crossings), the critical path drawn heavier. Built as one
 * markup string and inserted once, so a 1,000-task plan renders in a frame or two; live states
 * only change a class per node.
 */
import { esc } from "./dom";

export interface GraphNode {
  id: string;
  name: string | null;
  level: number;
  critical: boolean;
}

export interface GraphInput {
  nodes: readonly GraphNode[];
  edges: ReadonlyArray<readonly [string, string]>;
  criticalPath: readonly string[];
}

export interface GraphView {
  setStatus(taskId: string, status: string): void;
  size: { width: number; height: number };
}

const NODE_W = 168;
const NODE_H = 26;
const COL_W = 212;
const ROW_H = 34;
const PAD = 12;

export interface Placed {
  x: number;
  y: number;
}

/** Positions every node; pure, so it is unit-testable and cheap (O(nodes + edges log)). */
export function layoutGraph(input: GraphInput): { positions: Map<string, Placed>; width: number; height: number } {
  const needs = new Map<string, string[]>();
  for (const [from, to] of input.edges) (needs.get(to) ?? needs.set(to, []).get(to)!).push(from);
  const columns: GraphNode[][] = [];
  for (const node of input.nodes) (columns[node.level] ??= []).push(node);
  const row = new Map<string, number>();
  let maxRows = 0;
  columns.forEach((column = [], level) => {
    const score = (n: GraphNode): number => {
      const ns = needs.get(n.id);
      if (level === 0 || ns === undefined || ns.length === 0) return 0;
      return ns.reduce((sum, id) => sum + (row.get(id) ?? 0), 0) / ns.length;
    };
    const scored = column.map((n) => ({ n, s: score(n) }));
    scored.sort((a, b) => a.s - b.s || a.n.id.localeCompare(b.n.id));
    scored.forEach(({ n }, i) => row.set(n.id, i));
    maxRows = Math.max(maxRows, column.length);
  });
  const positions = new Map<string, Placed>();
  for (const node of input.nodes) positions.set(node.id, { x: PAD + node.level * COL_W, y: PAD + row.get(node.id)! * ROW_H });
  return { positions, width: PAD * 2 + Math.max(columns.length - 1, 0) * COL_W + NODE_W, height: PAD * 2 + Math.max(maxRows - 1, 0) * ROW_H + NODE_H };
}

const label = (text: string): string => (text.length > 24 ? `${text.slice(0, 23)}…` : text);

export function renderGraph(container: HTMLElement, input: GraphInput, statuses: ReadonlyMap<string, string>, onSelect: (taskId: string) => void): GraphView {
  const { positions, width, height } = layoutGraph(input);
  const criticalEdges = new Set<string>();
  for (let i = 1; i < input.criticalPath.length; i++) criticalEdges.add(`${input.criticalPath[i - 1]}\u0000${input.criticalPath[i]}`);
  let plain = "";
  let critical = "";
  for (const [from, to] of input.edges) {
    const a = positions.get(from);
    const b = positions.get(to);
    if (a === undefined || b === undefined) continue;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const dx = Math.max((x2 - x1) / 2, 12);
    const d = `M${x1} ${y1}C${x1 + dx} ${y1} ${x2 - dx} ${y2} ${x2} ${y2}`;
    if (criticalEdges.has(`${from}\u0000${to}`)) critical += d;
    else plain += d;
  }
  const nodes = input.nodes
    .map((n) => {
      const p = positions.get(n.id)!;
      const status = statuses.get(n.id) ?? "blocked";
      const title = n.name === null ? n.id : `${n.name} (${n.id})`;
      return `<g class="node s-${status}${n.critical ? " crit" : ""}" data-task="${esc(n.id)}" transform="translate(${p.x} ${p.y})"><title>${esc(title)}</title><rect width="${NODE_W}" height="${NODE_H}" rx="4"/><text x="8" y="17">${esc(label(n.id))}</text></g>`;
    })
    .join("");
  container.innerHTML =
    `<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Dependency graph: ${input.nodes.length} tasks, ${input.edges.length} dependencies; critical path ${input.criticalPath.length} tasks (heavier outline)">` +
    `<path class="edges" d="${plain}"/><path class="edges crit" d="${critical}"/>${nodes}</svg>`;
  const svg = container.firstElementChild as SVGSVGElement;
  const byId = new Map<string, Element>();
  for (const g of Array.from(svg.querySelectorAll("[data-task]"))) byId.set(g.getAttribute("data-task")!, g);
  const critIds = new Set(input.nodes.filter((n) => n.critical).map((n) => n.id));
  svg.addEventListener("click", (event) => {
    const g = (event.target as Element).closest("[data-task]");
    if (g !== null) onSelect(g.getAttribute("data-task")!);
  });
  return {
    size: { width, height },
    setStatus(taskId, status) {
      byId.get(taskId)?.setAttribute("class", `node s-${status}${critIds.has(taskId) ? " crit" : ""}`);
    },
  };
}
