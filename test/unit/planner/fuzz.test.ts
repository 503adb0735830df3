/**
 * Malformed plans never crash the planner: 1,000 plans generated from the examples with a
 * seeded PRNG (field deletions, wrong types, huge arrays, unicode, deep nesting) each give
 * either a compiled plan or a bounded list of `{path, message}` errors.
 */
import { prng } from "../../support/prng";
import { compilePlan, MAX_ERRORS } from "../../../functions/src/planner/compile";
import { example } from "./helpers";


type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function deepNest(depth: number): Json {
  let value: Json = "bottom";
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { nested: value } : [value];
  return value;
}

const WEIRD: Json[] = [
  null, true, 0, -1, 1e308, Number.MAX_SAFE_INTEGER, 0.5, "", " ", "🚀🔥", "ß\u0000\u202e", "a".repeat(10_000), "__proto__", "constructor", "prod.verify", [], {},
];

function mutate(doc: Json, rand: () => number): Json {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const clone = JSON.parse(JSON.stringify(doc)) as Json;
  const steps = 1 + Math.floor(rand() * 4);
  for (let s = 0; s < steps; s++) {
    // Walk to a random container.
    let node: Json = clone;
    const depth = Math.floor(rand() * 5);
    for (let d = 0; d < depth; d++) {
      const children: Json[] = Array.isArray(node) ? node : node !== null && typeof node === "object" ? Object.values(node) : [];
      const containers = children.filter((c) => c !== null && typeof c === "object");
      if (containers.length === 0) break;
      node = pick(containers);
    }
    if (node === null || typeof node !== "object") continue;
    const keys = Array.isArray(node) ? node.map((_, i) => String(i)) : Object.keys(node);
    const key = keys.length > 0 && rand() < 0.8 ? pick(keys) : pick(["extra_field", "🦄", "id", "name", "needs", "__proto__"]);
    const set = (value: Json | undefined): void => {
      if (Array.isArray(node)) {
        if (value === undefined) node.splice(Number(key), 1);
        else node[Number(key) || 0] = value;
      } else if (node !== null && typeof node === "object") {
        if (value === undefined) delete node[key];
        else node[key] = value;
      }
    };
    switch (Math.floor(rand() * 6)) {
      case 0:
        set(undefined);
        break;
      case 1:
        set(pick(WEIRD));
        break;
      case 2:
        set(Array.from({ length: pick([201, 5_000, 30_000]) }, (_, i) => (rand() < 0.5 ? `x${i}` : i)));
        break;
      case 3:
        set(`${pick(["ünïcødé", "环境", "🔥", "\u202e", "a b"])}${Math.floor(rand() * 100)}`);
        break;
      case 4:
        set(deepNest(pick([10, 500, 2_000])));
        break;
      default:
        set(pick(keys.length > 0 ? [Array.isArray(node) ? node[0] ?? null : (node as Record<string, Json>)[pick(keys)] ?? null] : [null]));
    }
  }
  return clone;
}

describe("the planner under malformed input", () => {
  const bases: Json[] = [
    example("lang-trak.json") as Json,
    example("lang-trak-snake-case.json") as Json,
    { tasks: [{ id: "a", run: "noop" }, { id: "b", run: "delay", params: { ms: 5 }, needs: ["a"] }, { id: "c", run: "approval", needs: ["a", "b"] }] },
  ];

  it("never throws on 1,000 generated plans, and always answers in the documented shape", () => {
    const rand = prng(20_250_115);
    let invalid = 0;
    for (let i = 0; i < 1_000; i++) {
      const doc = mutate(bases[i % bases.length]!, rand);
      const input = doc !== null && typeof doc === "object" && !Array.isArray(doc) ? doc : { value: doc };
      let result: ReturnType<typeof compilePlan> | undefined;
      expect(() => {
        result = compilePlan(input);
      }).not.toThrow();
      if (!result!.ok) {
        invalid += 1;
        expect(result!.errors.length).toBeGreaterThan(0);
        expect(result!.errors.length).toBeLessThanOrEqual(MAX_ERRORS);
        for (const e of result!.errors) {
          expect(typeof e.path).toBe("string");
          expect(typeof e.message).toBe("string");
        }
      } else {
        expect(() => JSON.stringify(result!.ok && result!.plan.report)).not.toThrow();
      }
    }
    // Most mutations break the plan; the rest (e.g. a deleted optional field) must still compile.
    expect(invalid).toBeGreaterThan(600);
  });

  it("caps the error list so it fits on the plan document", () => {
    const tasks = Array.from({ length: 5_000 }, (_, i) => ({ id: `t${i}`, run: "delay", params: { ms: -1 } }));
    const result = compilePlan({ tasks });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(MAX_ERRORS);
    expect(result.errors[MAX_ERRORS - 1]).toEqual({ path: "", message: "… and 4801 more problems not listed" });
  });
});
