import { prng } from "../../support/prng";
import { analyseGraph } from "../../../functions/src/engine/graph";


describe("analyseGraph", () => {
  it("orders a diamond topologically with levels, roots, sinks and dependents", () => {
    const result = analyseGraph([
      { id: "d", needs: ["b", "c"] },
      { id: "b", needs: ["a"] },
      { id: "c", needs: ["a"] },
      { id: "a", needs: [] },
    ]);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const { graph } = result;
    expect(graph.order).toEqual(["a", "b", "c", "d"]);
    expect(Object.fromEntries(graph.level)).toEqual({ a: 0, b: 1, c: 1, d: 2 });
    expect(graph.roots).toEqual(["a"]);
    expect(graph.sinks).toEqual(["d"]);
    expect(graph.dependents.get("a")).toEqual(["b", "c"]);
    expect(graph.edgeCount).toBe(4);
    expect(graph.levelCount).toBe(3);
  });

  it("puts a task at the level of its longest path, not its shortest", () => {
    const result = analyseGraph([
      { id: "a", needs: [] },
      { id: "b", needs: ["a"] },
      { id: "c", needs: ["b"] },
      { id: "z", needs: ["a", "c"] },
    ]);
    expect(result.ok && result.graph.level.get("z")).toBe(3);
  });

  it("reports every duplicate id, unknown need, self need and repeated need with its path", () => {
    const result = analyseGraph([
      { id: "a", needs: ["a"] },
      { id: "a", needs: [] },
      { id: "b", needs: ["ghost", "a", "a"] },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      { path: "tasks.1.id", message: 'duplicate task id "a" (first at tasks.0)' },
      { path: "tasks.0.needs.0", message: 'task "a" cannot need itself' },
      { path: "tasks.2.needs.0", message: 'unknown task "ghost"' },
      { path: "tasks.2.needs.2", message: '"a" is listed twice' },
    ]);
  });

  it("reports a cycle with the cycle's path", () => {
    const result = analyseGraph([
      { id: "start", needs: [] },
      { id: "a", needs: ["start", "c"] },
      { id: "b", needs: ["a"] },
      { id: "c", needs: ["b"] },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]!.path).toBe("tasks.1.needs");
    expect(result.errors[0]!.message).toBe("dependency cycle: a → c → b → a (each task needs the next)");
  });

  it("finds a 20,000-task cycle without overflowing the stack", () => {
    const n = 20_000;
    const tasks = Array.from({ length: n }, (_, i) => ({ id: `t${i}`, needs: [`t${(i + 1) % n}`] }));
    const result = analyseGraph(tasks);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]!.message.split(" → ")).toHaveLength(n + 1);
  });

  it("on random DAGs, orders every task after all it needs and levels each one past its needs", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const n = 1 + Math.floor(random() * 60);
      const tasks = Array.from({ length: n }, (_, i) => {
        const needs = new Set<string>();
        for (let j = 0; j < i; j++) if (random() < 0.15) needs.add(`t${j}`);
        return { id: `t${i}`, needs: [...needs] };
      });
      tasks.sort(() => random() - 0.5);
      const result = analyseGraph(tasks);
      expect(result.ok).toBe(true);
      if (!result.ok) continue;
      const position = new Map(result.graph.order.map((id, i) => [id, i]));
      expect(position.size).toBe(n);
      for (const task of tasks) {
        for (const need of task.needs) {
          expect(position.get(need)!).toBeLessThan(position.get(task.id)!);
          expect(result.graph.level.get(need)!).toBeLessThan(result.graph.level.get(task.id)!);
        }
        expect(result.graph.level.get(task.id) === 0).toBe(task.needs.length === 0);
      }
    }
  });
});
