/**
 * The page's graph layout: lanes per environment or id prefix, columns by level, fewer crossings
 * after the sweeps, every task placed once with no two overlapping, large plans collapsed.
 */
import { COLLAPSE_ABOVE, laneSummary, lanesOf, layoutGraph, naturalCompare, NODE_H, type GraphLayout, type GraphNode } from "../../../hosting/src/graph-layout";
import { compiled, example } from "../planner/helpers";

const node = (id: string, level: number, extra: Partial<GraphNode> = {}): GraphNode => ({ id, name: null, level, critical: false, ...extra });

/** A task plan of `n` tasks in layers of `width`, each needing two of the previous layer, ids `g<k>.t<i>` in `groups` groups. */
function layered(n: number, width: number, groups: number): { nodes: GraphNode[]; edges: Array<[string, string]> } {
  const id = (i: number): string => (groups > 1 ? `g${Math.floor(((i % width) * groups) / width)}.t${i}` : `t${i}`);
  const nodes: GraphNode[] = [];
  const edges: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) {
    const layer = Math.floor(i / width);
    nodes.push(node(id(i), layer));
    if (layer > 0) for (const j of new Set([(layer - 1) * width + (i % width), (layer - 1) * width + ((i + 1) % width)])) edges.push([id(j), id(i)]);
  }
  return { nodes, edges };
}

/** Crossings between edges joining the same two adjacent columns, from the drawn positions. */
function crossingsIn(layout: GraphLayout, edges: ReadonlyArray<readonly [string, string]>): number {
  const placed = edges.map(([a, b]) => [layout.positions.get(a)!, layout.positions.get(b)!] as const);
  let n = 0;
  for (let i = 0; i < placed.length; i++) {
    for (let j = i + 1; j < placed.length; j++) {
      const [a1, b1] = placed[i]!;
      const [a2, b2] = placed[j]!;
      if (a1.x !== a2.x || b1.x !== b2.x) continue;
      if ((a1.y - a2.y) * (b1.y - b2.y) < 0) n++;
    }
  }
  return n;
}

function expectNoOverlap(layout: GraphLayout): void {
  const boxes = [...layout.positions.values()].sort((a, b) => a.x - b.x || a.y - b.y);
  for (let i = 1; i < boxes.length; i++) {
    const [a, b] = [boxes[i - 1]!, boxes[i]!];
    if (a.x === b.x) expect(b.y - a.y).toBeGreaterThanOrEqual(NODE_H);
    else expect(b.x - a.x).toBeGreaterThanOrEqual(layout.nodeWidth);
  }
  for (const p of layout.positions.values()) {
    expect(p.x + layout.nodeWidth).toBeLessThanOrEqual(layout.width);
    expect(p.y + NODE_H).toBeLessThanOrEqual(layout.height);
  }
}

describe("naturalCompare", () => {
  it("orders runs of digits by their value, the rest by character", () => {
    expect(["t10", "t2", "t1", "t100", "t9"].sort(naturalCompare)).toEqual(["t1", "t2", "t9", "t10", "t100"]);
    expect(["g10.t1", "g2.t10", "g2.t9", "g1.t20"].sort(naturalCompare)).toEqual(["g1.t20", "g2.t9", "g2.t10", "g10.t1"]);
    expect(["build-2", "build", "build-10", "a"].sort(naturalCompare)).toEqual(["a", "build", "build-2", "build-10"]);
    // Equal values spelled differently still have one order, and a string equals only itself.
    expect(naturalCompare("t01", "t1")).toBeLessThan(0);
    expect(naturalCompare("t1", "t01")).toBeGreaterThan(0);
    expect(naturalCompare("t7", "t7")).toBe(0);
    expect(naturalCompare("t99999999999999999999", "t100000000000000000000")).toBeLessThan(0);
  });
});

describe("lanes", () => {
  const demo = compiled(example("lang-trak.json")).report;
  const demoInput = { nodes: demo.graph.nodes, edges: demo.graph.edges, criticalPath: demo.criticalPath.taskIds };

  it("gives an environment plan one lane per environment, in the plan's order, labelled by integration", () => {
    const layout = layoutGraph(demoInput);
    expect(layout.lanes.map((l) => l.label)).toEqual(["development", "staging", "production"]);
    for (const lane of layout.lanes) for (const id of lane.taskIds) expect(id.startsWith(`${lane.key}.`)).toBe(true);
    expect(layout.labels.get("staging.database")).toBe("database");
    expect(layout.labels.get("production.approval")).toBe("approval");
    expect(layout.labels.get("development.verify")).toBe("verify");
  });

  it("starts each of a promotion's lanes at the left, so the demo plan fits a 1,280-px page at 100 %", () => {
    const layout = layoutGraph(demoInput);
    expect(layout.stacked).toBe(true);
    const firstX = layout.lanes.map((lane) => Math.min(...lane.taskIds.map((id) => layout.positions.get(id)!.x)));
    expect(new Set(firstX).size).toBe(1);
    // The page's box: 1,280 px less the page's padding and the box's border.
    expect(layout.headerWidth + layout.width).toBeLessThanOrEqual(1280 - 32 - 2);
    // Lanes are bands one under the other, each holding its tasks.
    layout.lanes.forEach((lane, i) => {
      if (i > 0) expect(lane.y).toBe(layout.lanes[i - 1]!.y + layout.lanes[i - 1]!.height);
      for (const id of lane.taskIds) {
        const p = layout.positions.get(id)!;
        expect(p.y).toBeGreaterThanOrEqual(lane.y);
        expect(p.y + NODE_H).toBeLessThanOrEqual(lane.y + lane.height);
      }
    });
    expectNoOverlap(layout);
  });

  it("keeps levels global when lanes overlap in time, so every edge runs left to right", () => {
    const { nodes, edges } = layered(100, 10, 5);
    const layout = layoutGraph({ nodes, edges, criticalPath: [] });
    expect(layout.stacked).toBe(false);
    for (const [a, b] of edges) expect(layout.positions.get(b)!.x).toBeGreaterThan(layout.positions.get(a)!.x);
  });

  it("groups a task plan by the id prefix before the first dot; ids without one share a lane", () => {
    const nodes = ["build", "svc-a.test", "svc-b.test", "svc-a.deploy", "verify", "svc-b.deploy"].map((id, i) => node(id, i));
    const lanes = lanesOf(nodes);
    expect(lanes.map((l) => [l.label, l.nodes.map((n) => n.id)])).toEqual([
      ["other", ["build", "verify"]],
      ["svc-a", ["svc-a.test", "svc-a.deploy"]],
      ["svc-b", ["svc-b.test", "svc-b.deploy"]],
    ]);
    const layout = layoutGraph({ nodes, edges: [], criticalPath: [] });
    expect(layout.labels.get("svc-a.deploy")).toBe("deploy");
    expect(layout.labels.get("build")).toBe("build");
  });

  it("falls back to the prefix before - or _ when no id has a dot, if that makes 2 to 50 lanes", () => {
    const grouped = lanesOf(["api-build", "web_build", "api-test", "web_test", "release"].map((id) => node(id, 0)));
    expect(grouped.map((l) => [l.label, l.nodes.length])).toEqual([["api", 2], ["web", 2], ["other", 1]]);
    expect(lanesOf(Array.from({ length: 120 }, (_, i) => node(`t${i}`, 0))).map((l) => l.label)).toEqual(["all tasks"]);
    // 60 prefixes are too many lanes; prefixes no two tasks share make no lanes either.
    expect(lanesOf(Array.from({ length: 120 }, (_, i) => node(`p${i % 60}-x${i}`, 0)))).toHaveLength(1);
    expect(lanesOf(["build", "approve-deploy", "deploy"].map((id) => node(id, 0)))).toHaveLength(1);
  });
});

describe("ordering", () => {
  it("crosses fewer edges after the sweeps than in the natural order", () => {
    // Level 0 a0..a5; level 1 b0..b5 each needing the a in the mirrored row; level 2 c0..c5 mirrored again.
    const nodes = [0, 1, 2].flatMap((level) => Array.from({ length: 6 }, (_, i) => node(`${"abc"[level]}${i}`, level)));
    const edges: Array<[string, string]> = [];
    for (let i = 0; i < 6; i++) edges.push([`a${5 - i}`, `b${i}`], [`a${(i + 2) % 6}`, `b${i}`], [`b${5 - i}`, `c${i}`]);
    const natural = layoutGraph({ nodes, edges: [], criticalPath: [] });
    const before = crossingsIn(natural, edges);
    const after = crossingsIn(layoutGraph({ nodes, edges, criticalPath: [] }), edges);
    expect(before).toBeGreaterThan(20);
    expect(after).toBeLessThan(before / 2);
  });

  it("orders a column by the rows of each task's needs, ties naturally", () => {
    const nodes = [node("a", 0), node("b", 0), node("x10", 1), node("x2", 1), node("y", 1)];
    const { positions } = layoutGraph({ nodes, edges: [["b", "y"], ["a", "x10"], ["a", "x2"]], criticalPath: [] });
    expect(positions.get("x2")!.y).toBeLessThan(positions.get("x10")!.y);
    expect(positions.get("x10")!.y).toBeLessThan(positions.get("y")!.y);
  });

  it("places every task of a 1,000-task plan once, lane by lane, none overlapping (its speed is in npm run bench)", () => {
    const { nodes, edges } = layered(1_000, 25, 10);
    const layout = layoutGraph({ nodes, edges, criticalPath: [] }, { open: "all" });
    expect(layout.lanes.map((l) => l.label)).toEqual(Array.from({ length: 10 }, (_, k) => `g${k}`));
    expect(layout.positions.size).toBe(1_000);
    expect(new Set(layout.lanes.flatMap((l) => l.taskIds)).size).toBe(1_000);
    expect(new Set([...layout.positions.values()].map((p) => p.x)).size).toBe(40);
    expectNoOverlap(layout);
    // Focus order: lane by lane, then column, then row.
    for (const lane of layout.lanes) {
      const placed = lane.taskIds.map((id) => layout.positions.get(id)!);
      for (let i = 1; i < placed.length; i++) expect(placed[i]!.x > placed[i - 1]!.x || (placed[i]!.x === placed[i - 1]!.x && placed[i]!.y > placed[i - 1]!.y)).toBe(true);
    }
  });
});

describe("collapsed lanes", () => {
  it(`collapses every lane of a plan of more than ${COLLAPSE_ABOVE} tasks, one box each with its counts`, () => {
    const small = layered(COLLAPSE_ABOVE, 25, 10);
    expect(layoutGraph({ ...small, criticalPath: [] }).lanes.every((l) => !l.collapsed)).toBe(true);
    const { nodes, edges } = layered(COLLAPSE_ABOVE + 1, 25, 10);
    const layout = layoutGraph({ nodes, edges, criticalPath: [] });
    expect(layout.lanes.every((l) => l.collapsed && l.box !== null)).toBe(true);
    expect(layout.positions.size).toBe(0);
    expect(layout.lanes.reduce((n, l) => n + l.taskIds.length, 0)).toBe(COLLAPSE_ABOVE + 1);
    // Boxes stack without overlapping, and the drawing stays narrow enough to read unscaled.
    layout.lanes.forEach((lane, i) => i > 0 && expect(lane.box!.y).toBeGreaterThanOrEqual(layout.lanes[i - 1]!.box!.y + layout.lanes[i - 1]!.box!.height));
    expect(layout.width).toBeLessThan(600);
    // One lane opened: its tasks placed, the others still boxes.
    const one = layoutGraph({ nodes, edges, criticalPath: [] }, { open: new Set(["g3"]) });
    expect(one.lanes.filter((l) => !l.collapsed).map((l) => l.key)).toEqual(["g3"]);
    expect(one.positions.size).toBe(one.lanes[3]!.taskIds.length);
    expect(layoutGraph({ nodes, edges, criticalPath: [] }, { open: "all" }).positions.size).toBe(COLLAPSE_ABOVE + 1);
  });

  it("sums up a lane as a line of counts per state", () => {
    const ids = Array.from({ length: 1_000 }, (_, i) => `t${i}`);
    const statuses = new Map(ids.slice(0, 10).map((id) => [id, "succeeded"]));
    expect(laneSummary("t", ids, statuses, ["blocked", "running", "succeeded"])).toBe("t · 1,000 tasks · 990 blocked · 10 succeeded");
    expect(laneSummary("g", ["x"], new Map([["x", "waiting_approval"]]), ["blocked"])).toBe("g · 1 task · 1 waiting approval");
  });
});
