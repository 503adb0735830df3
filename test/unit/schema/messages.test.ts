/**
 * Inbound messages that validate can be written: every id that becomes (part of) a document id is
 * Firestore-safe, and an external output is one Firestore stores. Each of these bodies used to pass
 * validation and then make its handler throw (so Pub/Sub redelivered it for seven days) or record
 * nothing; now it is refused with the path of its bad part, and dead-lettered once.
 */
import { parseMessage } from "../../../functions/src/bus/parse";
import { fieldErrors } from "../../../functions/src/schema/issues";
import { MAX_EXTERNAL_OUTPUT_BYTES, planCommandSchema, taskEventSchema, taskReadyMessageSchema } from "../../../functions/src/schema/messages";
import { healthRunRequestSchema } from "../../../functions/src/schema/health";
import { documentIdProblem } from "../../../functions/src/schema/storable";
import type { z } from "zod";

const TOKEN = "t".repeat(32);
const command = (extra: Record<string, unknown>) => ({ planId: "p1", command: "cancel", by: "ops@example.com", ...extra });
const completion = (output: unknown) => ({ planId: "p1", taskId: "wait", token: TOKEN, outcome: "succeeded", output });

function errorsOf(schema: z.ZodType, body: unknown): Array<{ path: string; message: string }> {
  const parsed = schema.safeParse(body);
  return parsed.success ? [] : fieldErrors(parsed.error);
}

describe("plan commands: commandId names records, so it is a safe id fragment", () => {
  it.each(["c-1", "0b7f6c1e-4d1e-4c43-9d9b-2f7a8c9e0a11", "demo-production.approval", "ci:run-42@deployer", "1234567890123456", "x".repeat(200)])("accepts %j", (commandId) => {
    expect(errorsOf(planCommandSchema, command({ commandId }))).toEqual([]);
  });

  it.each([
    ["a '/' (it would address another document)", "a/b"],
    ["three segments", "x/y/z"],
    ["'.'", "."],
    ["'..'", ".."],
    ["a reserved __x__", "__x__"],
    ["201 characters", "x".repeat(201)],
    ["an empty string", ""],
    ["a space", "a b"],
    ["a non-ASCII letter", "é"],
  ])("refuses %s, naming commandId", (_what, commandId) => {
    const errors = errorsOf(planCommandSchema, command({ commandId }));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.path === "commandId")).toBe(true);
  });

  it("says what a commandId may hold", () => {
    expect(errorsOf(planCommandSchema, command({ commandId: "a/b" }))).toEqual([
      { path: "commandId", message: "the id contains '/': an id is one path segment; use 1 to 200 letters, digits, '-', '_', '.', ':' or '@' (it becomes part of a document id; a UUID is best)" },
    ]);
    expect(errorsOf(planCommandSchema, command({ commandId: "a b" }))).toEqual([
      { path: "commandId", message: "use 1 to 200 letters, digits, '-', '_', '.', ':' or '@' (it becomes part of a document id; a UUID is best)" },
    ]);
  });

  it("every accepted commandId makes safe record ids", () => {
    for (const commandId of ["c-1", ".", "..", "__x__", "x".repeat(200)].filter((candidate) => planCommandSchema.safeParse(command({ commandId: candidate })).success)) {
      for (const id of [`command.${commandId}`, `command.${commandId}.refused`, `api.${commandId}`]) expect([id, documentIdProblem(id)]).toEqual([id, undefined]);
    }
  });
});

describe("plan ids in every message are one document id", () => {
  it.each([
    ["a '/'", "a/b"],
    ["'.'", "."],
    ["'..'", ".."],
    ["__x__", "__x__"],
    ["over 1,500 bytes", "é".repeat(751)],
    ["empty", ""],
  ])("refuses %s", (_what, planId) => {
    expect(errorsOf(planCommandSchema, command({ planId })).map((e) => e.path)).toEqual(["planId"]);
    expect(errorsOf(taskEventSchema, { ...completion(undefined), planId }).map((e) => e.path)).toEqual(["planId"]);
    expect(errorsOf(taskReadyMessageSchema, { planId, taskId: "a", attempt: 1 }).map((e) => e.path)).toEqual(["planId"]);
  });

  it("refuses task ids that are not one document id", () => {
    for (const taskId of ["a/b", ".", "..", "__x__"]) expect(errorsOf(taskEventSchema, { ...completion(undefined), taskId }).map((e) => e.path)).toEqual(["taskId"]);
  });

  it("health-run requests carry no id the engine stores under (their run id is derived from the message id)", () => {
    // Informative fields only: none of them becomes a document id, so any text is safe.
    expect(healthRunRequestSchema.safeParse({ requestedBy: "a/b", environment: "__x__", projectId: "..", region: "." }).success).toBe(true);
  });
});

describe("task events: an output Firestore cannot store is refused at its path", () => {
  it("names the array directly inside an array", () => {
    expect(errorsOf(taskEventSchema, completion({ rows: [{ a: 1 }, { a: 2 }, { a: 3 }, [4, 5]] }))).toEqual([
      { path: "output.rows.3", message: "an array directly inside an array cannot be stored in Firestore; wrap it in an object" },
    ]);
    expect(errorsOf(taskEventSchema, completion([[1, 2], [3, 4]]))[0]!.path).toBe("output.0");
  });

  it("refuses more than 20 levels of maps and arrays, and accepts 20", () => {
    let twenty: unknown = "leaf";
    for (let i = 0; i < 20; i++) twenty = { next: twenty };
    expect(errorsOf(taskEventSchema, completion(twenty))).toEqual([]);
    const errors = errorsOf(taskEventSchema, completion({ next: twenty }));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe(`output${".next".repeat(20)}`);
    expect(errors[0]!.message).toMatch(/level 21 .* at most 20/);
  });

  it("refuses reserved and empty field names, and numbers JSON cannot carry", () => {
    expect(errorsOf(taskEventSchema, completion({ meta: { __id__: 1 } }))).toEqual([{ path: "output.meta.__id__", message: expect.stringMatching(/reserved by Firestore/) }]);
    expect(errorsOf(taskEventSchema, completion({ meta: { "": 1 } }))).toEqual([{ path: "output.meta", message: expect.stringMatching(/empty name/) }]);
    expect(errorsOf(taskEventSchema, completion({ n: Number.NaN }))).toEqual([{ path: "output.n", message: expect.stringMatching(/NaN is not a finite number/) }]);
  });

  it("keeps the 256 KiB limit, with its message", () => {
    const errors = errorsOf(taskEventSchema, completion({ s: "x".repeat(MAX_EXTERNAL_OUTPUT_BYTES) }));
    expect(errors).toEqual([{ path: "output", message: `output is ${MAX_EXTERNAL_OUTPUT_BYTES + 8} bytes as JSON; at most ${MAX_EXTERNAL_OUTPUT_BYTES} (it is stored with the task, in one Firestore document)` }]);
  });

  it("accepts what Firestore stores: arrays in maps in arrays, null, a failure without output", () => {
    expect(errorsOf(taskEventSchema, completion({ rows: [{ cells: [1, 2] }, { cells: [] }], none: null, "a.b": true }))).toEqual([]);
    expect(errorsOf(taskEventSchema, completion(null))).toEqual([]);
    expect(errorsOf(taskEventSchema, { planId: "p1", taskId: "wait", token: TOKEN, outcome: "failed", error: "no" })).toEqual([]);
  });
});

describe("parseMessage never throws on what was sent", () => {
  const message = (body: string) => ({ data: Buffer.from(body).toString("base64") });

  it("refuses an output nested 100,000 levels deep with its path (it used to overflow the stack in the size check)", () => {
    const depth = 100_000;
    const body = `{"planId":"p1","taskId":"wait","token":"${TOKEN}","outcome":"succeeded","output":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const parsed = parseMessage(taskEventSchema, message(body));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors).toEqual([{ path: "output.0", message: expect.stringMatching(/array directly inside an array/) }]);
  });

  it("turns a validator that throws into a field error, to be dead-lettered once", () => {
    const throwing = taskEventSchema.superRefine(() => {
      throw new RangeError("Maximum call stack size exceeded");
    });
    const parsed = parseMessage(throwing, message(JSON.stringify(completion(1))));
    expect(parsed).toEqual({ ok: false, errors: [{ path: "", message: expect.stringMatching(/could not be validated \(RangeError: Maximum call stack size exceeded\)/) }], raw: JSON.stringify(completion(1)) });
  });

  it("refuses a commandId with '/' as a field error (it used to throw in the handler)", () => {
    const parsed = parseMessage(planCommandSchema, message(JSON.stringify(command({ commandId: "a/b" }))));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.map((e) => e.path)).toEqual(["commandId"]);
  });
});
