/** The page's graph layout: every task placed once, columns by level, no two tasks on one spot. */
import { layoutGraph, type GraphNode } from "../../../hosting/src/graph";

function fanPlan(width: number): { nodes: GraphNode[]; edges: Array<[string, string]> } {
  const nodes: GraphNode[] = [{ id: "start", name: null, level: 0, critical: true }];
  const edges: Array<[string, string]> = [];
  for (let i = 0; i < width; i++) {
    nodes.push({ id: `w${i}`, name: null, level: 1, critical: i === 0 });
    edges.push(["start", `w${i}`], [`w${i}`, "join"]);
  }
  nodes.push({ id: "join", name: null, level: 2, critical: true });
  return { nodes, edges };
}

describe("graph layout", () => {
  it("places every task of a 1,000-task plan at a distinct position (its speed is in npm run bench)", () => {
    const { nodes, edges } = fanPlan(998);
    const { positions, width, height } = layoutGraph({ nodes, edges, criticalPath: ["start", "w0", "join"] });
    expect(positions.size).toBe(1000);
    expect(new Set([...positions.values()].map((p) => `${p.x},${p.y}`)).size).toBe(1000);
    expect(new Set([...positions.values()].map((p) => p.x)).size).toBe(3);
    for (const p of positions.values()) {
      expect(p.x).toBeLessThan(width);
      expect(p.y).toBeLessThan(height);
    }
  });

  it("orders a column by the rows of each task's needs", () => {
    const nodes: GraphNode[] = ["a", "b", "x", "y"].map((id) => ({ id, name: null, level: id < "c" ? 0 : 1, critical: false }));
    const { positions } = layoutGraph({ nodes, edges: [["b", "x"], ["a", "y"]], criticalPath: [] });
    expect(positions.get("y")!.y).toBeLessThan(positions.get("x")!.y);
  });
});
