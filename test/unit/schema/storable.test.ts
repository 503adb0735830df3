/**
 * What Firestore can store (schema/storable.ts): document ids, id fragments, and values, with the
 * exact path of the part that cannot be stored. The depth rule is checked against the Admin SDK's
 * own validation (a batch's `set` validates synchronously, without a server).
 */
import { deleteApp, initializeApp, type App } from "firebase-admin/app";
import { getFirestore } from "firebase-admin/firestore";
import {
  documentIdProblem,
  firestoreIdSchema,
  idFragmentSchema,
  MAX_FIRESTORE_DEPTH,
  storableIssue,
  storableProblem,
} from "../../../functions/src/schema/storable";

/** `levels` nested maps (`{a: {a: ... leaf}}`): a value that uses exactly `levels` levels. */
function nestedMaps(levels: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe("document ids", () => {
  it.each([
    ["", /is empty/],
    ["a/b", /contains '\/'/],
    [".", /is "\."/],
    ["..", /is "\.\."/],
    ["__x__", /__\.\*__/],
    ["__", null],
    ["é".repeat(751), /1502 bytes as UTF-8; at most 1500/],
    ["é".repeat(750), null],
    ["plan-1", null],
    ["...", null],
    ["__x", null],
  ])("%j: %p", (id, problem) => {
    const found = documentIdProblem(id);
    if (problem === null) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });

  it("firestoreIdSchema says what is wrong and what to use", () => {
    expect(firestoreIdSchema.safeParse("plan-1").success).toBe(true);
    const bad = firestoreIdSchema.safeParse("a/tasks/b");
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.message).toBe("the id contains '/': an id is one path segment; use letters, digits, '-', '_', '.' or ':'");
  });

  it.each(["c-1", "0b7f6c1e-4d1e-4c43-9d9b-2f7a8c9e0a11", "ci:deploy@42", "a.b_c", "x".repeat(200)])("idFragmentSchema accepts %j", (id) => {
    expect(idFragmentSchema.safeParse(id).success).toBe(true);
  });

  it.each(["", "a/b", ".", "..", "__x__", "x".repeat(201), "a b", "é", "a%2Fb", "a\nb"])("idFragmentSchema refuses %j", (id) => {
    expect(idFragmentSchema.safeParse(id).success).toBe(false);
  });
});

describe("storableProblem", () => {
  it("passes plain JSON data", () => {
    expect(storableProblem({ rows: [{ cells: [1, "a", null, true] }], nested: { deep: { er: [] } }, "a.b": 1 }, "output")).toBeNull();
    expect(storableProblem(null, "output")).toBeNull();
    expect(storableProblem("text", "output")).toBeNull();
    expect(storableProblem([], "output")).toBeNull();
  });

  it("names the array directly inside an array, at any depth", () => {
    expect(storableProblem({ rows: [[1], [2], [3], [4]] }, "output")).toEqual({ path: "output.rows.0", message: "an array directly inside an array cannot be stored in Firestore; wrap it in an object" });
    expect(storableProblem({ rows: [{ a: 1 }, { a: 2 }, { a: 3 }, [4]] }, "output")).toEqual({ path: "output.rows.3", message: "an array directly inside an array cannot be stored in Firestore; wrap it in an object" });
    expect(storableProblem([{ a: [{ b: [[]] }] }], "output")?.path).toBe("output.0.a.0.b.0");
    // An array inside a map inside an array is fine.
    expect(storableProblem([{ a: [1] }, { b: [{ c: [2] }] }], "output")).toBeNull();
  });

  it(`counts every map and array as a level, from the value itself, and allows ${MAX_FIRESTORE_DEPTH}`, () => {
    expect(storableProblem(nestedMaps(MAX_FIRESTORE_DEPTH), "output")).toBeNull();
    expect(storableProblem(nestedMaps(MAX_FIRESTORE_DEPTH, {}), "output")).toEqual({
      path: `output${".a".repeat(MAX_FIRESTORE_DEPTH)}`,
      message: "this map is level 21 of nested maps and arrays; Firestore stores at most 20: flatten it, or send this part as a JSON string",
    });
    // Arrays count like maps: [ {a: [ {a: ... } ] } ].
    let mixed: unknown = 1;
    for (let i = 0; i < MAX_FIRESTORE_DEPTH; i++) mixed = i % 2 === 0 ? { a: mixed } : [mixed];
    expect(storableProblem(mixed, "output")).toBeNull();
    // The innermost map ({a: 1}) is now level 21.
    expect(storableProblem({ a: mixed }, "output")?.message).toMatch(/this map is level 21/);
    expect(storableProblem(nestedMaps(5), "output", { maxDepth: 4 })?.message).toMatch(/level 5 .* at most 4/);
  });

  it("stops at the depth limit: a cycle or a value 100,000 levels deep is refused, not a stack overflow", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(storableProblem(cycle, "output")?.message).toMatch(/level 21/);
    const deep = JSON.parse("[".repeat(100_000) + "]".repeat(100_000)) as unknown;
    expect(storableProblem({ deep }, "output")?.path).toBe("output.deep.0");
  });

  it.each([
    ["NaN", { n: Number.NaN }, "output.n", /NaN is not a finite number/],
    ["Infinity", { n: [Number.POSITIVE_INFINITY] }, "output.n.0", /Infinity is not a finite number/],
    ["undefined in a map", { u: undefined }, "output.u", /undefined cannot be stored/],
    ["undefined in an array", [1, undefined], "output.1", /undefined cannot be stored/],
    ["a function", { f: () => 1 }, "output.f", /a function is not JSON data/],
    ["a bigint", { b: BigInt(1) }, "output.b", /a bigint is not JSON data/],
    ["a Date", { d: new Date(0) }, "output.d", /a Date is not plain JSON data/],
    ["a Map", { m: new Map() }, "output.m", /a Map is not plain JSON data/],
    ["an empty field name", { x: { "": 1 } }, "output.x", /a field with an empty name/],
    ["a reserved field name", { x: { __name__: 1 } }, "output.x.__name__", /__\.\*__ are reserved/],
    ["a field name over 1,500 bytes", { ["k".repeat(1501)]: 1 }, `output.${"k".repeat(40)}…`, /field name of 1501 bytes/],
  ])("refuses %s, at its path", (_what, value, path, message) => {
    const found = storableProblem(value, "output");
    expect(found?.path).toBe(path);
    expect(found?.message).toMatch(message);
  });

  it("measures the value as JSON, in bytes of UTF-8, against the caller's limit", () => {
    expect(storableProblem({ s: "é".repeat(10) }, "output", { maxBytes: 28 })).toBeNull(); // {"s":"…"} is 8 + 20 bytes
    expect(storableProblem({ s: "é".repeat(10) }, "output", { maxBytes: 27 })).toEqual({ path: "output", message: "28 bytes as JSON; at most 27 can be stored here: send less, or a reference to where the rest is" });
    expect(storableProblem("x".repeat(2_000_000), "output")?.message).toMatch(/at most 1048576/);
    expect(storableProblem("x".repeat(2_000_000), "output", { maxBytes: Number.POSITIVE_INFINITY })).toBeNull();
  });

  it("keeps path segments whole for zod (a key with a dot is one segment)", () => {
    expect(storableIssue({ "a.b": [[1]] }, ["output"])).toEqual({ path: ["output", "a.b", 0], message: expect.stringMatching(/array directly inside an array/) });
    expect(storableProblem({ a: [[1]] }, "")?.path).toBe("a.0");
  });
});

describe("the depth rule against the Admin SDK's own check", () => {
  let app: App;
  beforeAll(() => {
    app = initializeApp({ projectId: "demo-storable-unit" }, "storable-unit");
  });
  afterAll(() => deleteApp(app));

  /** Whether the SDK accepts `{ output: value }` as a document (validated when added to a batch; nothing is sent). */
  const sdkAccepts = (value: unknown): boolean => {
    const db = getFirestore(app);
    try {
      db.batch().set(db.doc("plans/p/outputs/t"), { output: value });
      return true;
    } catch {
      return false;
    }
  };

  it.each([1, 10, 19, 20, 21, 22, 30])("%i levels of maps: storable only if the SDK accepts it too", (levels) => {
    const value = nestedMaps(levels);
    const ours = storableProblem(value, "output") === null;
    expect(ours).toBe(levels <= MAX_FIRESTORE_DEPTH);
    // Everything this passes, the SDK passes (the server then applies the same 20 levels).
    if (ours) expect(sdkAccepts(value)).toBe(true);
  });

  it("refuses what the SDK refuses: 21 levels with something in the last", () => {
    expect(sdkAccepts(nestedMaps(MAX_FIRESTORE_DEPTH + 1))).toBe(false);
    expect(storableProblem(nestedMaps(MAX_FIRESTORE_DEPTH + 1), "output")).not.toBeNull();
    // And what the SDK refuses outright, before any server would.
    expect(sdkAccepts({ u: undefined })).toBe(false);
    expect(storableProblem({ u: undefined }, "output")).not.toBeNull();
  });
});
