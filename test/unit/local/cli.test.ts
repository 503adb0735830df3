/**
 * The command line against a scripted backend (the API's shapes, in memory): flags and exit codes,
 * help, what each command prints, --watch's NDJSON, and command outcomes read from the history.
 * The same commands run against the local stack's real API in test/e2e/cli.test.ts.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApiResponse } from "../../../functions/src/api/http";
import { CliError, type Backend } from "../../../local/cli/backend";
import type { Io } from "../../../local/cli/commands";
import { main } from "../../../local/cli/main";
import { checkTargetFlags, resolveBackend } from "../../../local/cli/target";

interface Run {
  code: number;
  out: string[];
  err: string[];
}

type Handler = (method: "GET" | "POST", path: string, query: Record<string, string | undefined>, body?: Record<string, unknown>) => ApiResponse | undefined;

function fakeBackend(handler: Handler): Backend & { calls: string[] } {
  const calls: string[] = [];
  const answer = (method: "GET" | "POST", path: string, query: Record<string, string | undefined> = {}, body?: Record<string, unknown>) => {
    calls.push(`${method} ${path}`);
    return Promise.resolve(handler(method, path, query, body) ?? { status: 404, body: { error: { code: "not_found", message: `no route ${path}` } } });
  };
  return { describe: "a fake", calls, get: (p, q) => answer("GET", p, q), post: (p, b, q) => answer("POST", p, q, b), close: async () => undefined };
}

async function run(argv: string[], backend: Backend): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  let clock = 1_700_000_000_000;
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), sleep: async (ms) => void (clock += ms), now: () => clock };
  const code = await main(argv, io, () => backend);
  return { code, out, err };
}

const none = fakeBackend(() => undefined);
const ok = (body: unknown, status = 200): ApiResponse => ({ status, body });
const plan = (status: string, extra: Record<string, unknown> = {}) => ({ id: "p1", name: "demo", status, createdAt: 1_700_000_000_000, ...extra });

describe("flags and help", () => {
  it("answers 64 with the help for no command, an unknown one, an unknown flag, a missing value or argument", async () => {
    expect((await run([], none)).code).toBe(64);
    const unknown = await run(["deploy"], none);
    expect(unknown.code).toBe(64);
    expect(unknown.err.join("\n")).toContain('unknown command "deploy"');
    for (const argv of [["list", "--bogus"], ["status"], ["status", "p1", "p2"], ["approve", "p1"], ["status", "p1", "--project"], ["status", "p1", "--project", "--json"], ["list", "--limit", "0"], ["list", "--limit", "ten"], ["status", "p1", "--timeout", "5"], ["list", "--via", "carrier-pigeon"], ["list", "--as", "admin"], ["list", "--as", "viewer", "--project", "real-proj"], ["list", "--api", "example.com"]]) {
      const result = await run(argv, none);
      expect({ argv, code: result.code }).toEqual({ argv, code: 64 });
      expect(result.err.join("\n")).toContain("usage: firebase-orchestrator");
    }
    expect(none.calls).toEqual([]);
  });

  it("prints each command's flags and the exit codes with --help, exit 0", async () => {
    const top = await run(["--help"], none);
    expect(top.code).toBe(0);
    for (const command of ["plan", "apply", "list", "status", "history", "approve", "reject", "cancel", "retry", "rollback"]) expect(top.out.join("\n")).toContain(`  ${command} `);
    for (const [command, flag] of [["apply", "--detach"], ["list", "--status"], ["status", "--watch"], ["history", "--limit"], ["approve", "--reason"], ["rollback", "--timeout"]]) {
      const help = await run([command!, "--help"], none);
      expect(help.code).toBe(0);
      expect(help.out.join("\n")).toContain(flag);
      expect(help.out.join("\n")).toMatch(/exit codes:[\s\S]*64 +usage/);
    }
  });
});

describe("list, status, history", () => {
  it("lists plans as a table, or the API's answer with --json", async () => {
    const backend = fakeBackend((m, p, q) => (m === "GET" && p === "/plans" ? ok({ plans: q.status === "failed" ? [] : [plan("succeeded", { startedAt: 1_700_000_000_000, finishedAt: 1_700_000_012_500 })], nextCursor: null }) : undefined));
    const table = await run(["list"], backend);
    expect(table.code).toBe(0);
    const [header, row] = table.out.join("\n").split("\n");
    expect(header).toMatch(/^PLAN +STATUS +CREATED +TOOK +NAME$/);
    expect(row).toMatch(/^p1 +succeeded +2023-11-14 22:13:20Z +12\.5 s +demo$/);
    expect(JSON.parse((await run(["list", "--json"], backend)).out[0]!)).toMatchObject({ plans: [{ id: "p1" }] });
    expect((await run(["list", "--status", "failed"], backend)).out).toEqual(["no failed plans"]);
  });

  it("shows a plan's counts, what waits and what failed; a missing plan is exit 1 with the API's message", async () => {
    const backend = fakeBackend((_m, p) => {
      if (p === "/plans/p1") return ok({ plan: plan("running", { startedAt: 1_700_000_000_000, failedTask: "b" }), tasks: [{ id: "a", status: "succeeded", attempt: 1 }, { id: "b", status: "failed", attempt: 2, error: { message: "HTTP 503" } }, { id: "gate", status: "waiting_approval", attempt: 1 }], tasksTruncated: false });
      if (p === "/plans/nope") return { status: 404, body: { error: { code: "not_found", message: 'no plan "nope"' } } };
      return undefined;
    });
    const shown = await run(["status", "p1"], backend);
    expect(shown.code).toBe(0);
    const text = shown.out.join("\n");
    expect(text).toContain("tasks    3: 1 failed, 1 succeeded, 1 waiting_approval");
    expect(text).toContain("waiting  gate for approval: firebase-orchestrator approve p1 gate");
    expect(text).toContain("failed   b: HTTP 503");
    expect(text).toContain("commands firebase-orchestrator pause p1 · firebase-orchestrator cancel p1 · firebase-orchestrator rollback p1");
    expect(text).toMatch(/\nb +failed +2 +— +HTTP 503/);
    const missing = await run(["status", "nope"], backend);
    expect(missing.code).toBe(1);
    expect(missing.err.join("\n")).toContain('no plan "nope"');
  });

  it("pages the whole history, oldest first", async () => {
    const events = Array.from({ length: 2_500 }, (_, i) => ({ id: `e${i}`, at: 1_700_000_000_000 + i, type: "task.attempt", actor: "engine", message: `attempt ${i}` }));
    const backend = fakeBackend((_m, p, q) => {
      if (p !== "/plans/p1/events") return undefined;
      const from = q.cursor === undefined ? 0 : Number(Buffer.from(q.cursor, "base64url").toString());
      const size = Number(q.limit);
      const page = events.slice(from, from + size);
      return ok({ events: page, nextCursor: page.length === size ? Buffer.from(String(from + size)).toString("base64url") : null });
    });
    const all = await run(["history", "p1", "--json", "--limit", "5000"], backend);
    expect(all.code).toBe(0);
    expect((JSON.parse(all.out[0]!) as unknown[]).length).toBe(2_500);
    const few = await run(["history", "p1", "--limit", "3"], backend);
    expect(few.out.join("\n").split("\n")).toHaveLength(4);
    expect(few.err.join("\n")).toContain("the first 3 records");
  });
});

describe("status --watch", () => {
  /** A plan that moves on at each poll: running with a gate, then b runs, then it ends `status`. */
  function moving(final: string) {
    const frames = [
      { plan: plan("running"), tasks: [{ id: "a", status: "succeeded", attempt: 1 }, { id: "b", status: "blocked", attempt: 0 }] },
      { plan: plan("running"), tasks: [{ id: "a", status: "succeeded", attempt: 1 }, { id: "b", status: "running", attempt: 1 }] },
      { plan: plan(final, { finishedAt: 1_700_000_003_000 }), tasks: [{ id: "a", status: "succeeded", attempt: 1 }, { id: "b", status: final === "succeeded" ? "succeeded" : "failed", attempt: 1 }] },
    ];
    let poll = 0;
    const history = [{ id: "plan.1.running", at: 1, type: "plan.running", message: "started" }, { id: "plan.2.end", at: 2, type: `plan.${final}`, message: final }];
    return fakeBackend((_m, p, q) => {
      if (p === "/plans/p1") return ok({ ...frames[Math.min(poll++, frames.length - 1)], tasksTruncated: false });
      if (p === "/plans/p1/events") {
        // The first page has the first record; later polls (after its cursor) have the rest.
        return ok({ events: q.cursor === undefined ? history.slice(0, 1) : poll >= 3 ? history.slice(1) : [], nextCursor: null });
      }
      return undefined;
    });
  }

  it("prints NDJSON: each status first seen and each change, the history records, then end", async () => {
    const result = await run(["status", "p1", "--watch", "--json"], moving("succeeded"));
    expect(result.code).toBe(0);
    const lines = result.out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => `${String(l.kind)}:${String(l.taskId ?? l.id ?? l.status)}${l.from ? `<${String(l.from)}` : ""}`)).toEqual([
      "task:a",
      "task:b",
      "plan:running",
      "event:plan.1.running",
      "task:b<blocked",
      "task:b<running",
      "plan:succeeded<running",
      "event:plan.2.end",
      "end:succeeded",
    ]);
    expect(lines.at(-1)).toMatchObject({ kind: "end", status: "succeeded", exitCode: 0 });
    expect(result.err).toEqual([]);
  });

  it("exits 3 when the plan fails, and 5 when --timeout passes first", async () => {
    const failed = await run(["status", "p1", "--watch"], moving("failed"));
    expect(failed.code).toBe(3);
    expect(failed.out.join("\n")).toContain("b                                running → failed");
    const stuck = fakeBackend((_m, p) => (p === "/plans/p1" ? ok({ plan: plan("running"), tasks: [], tasksTruncated: false }) : p === "/plans/p1/events" ? ok({ events: [], nextCursor: null }) : undefined));
    const timedOut = await run(["status", "p1", "--watch", "--timeout", "3", "--json"], stuck);
    expect(timedOut.code).toBe(5);
    expect(JSON.parse(timedOut.out.at(-1)!)).toMatchObject({ kind: "end", timedOut: true, exitCode: 5 });
  });
});

describe("plan commands", () => {
  function engine(outcome: "applied" | "refused" | "never", answer: ApiResponse = ok({ accepted: {} }, 202)) {
    let sent: Record<string, unknown> | undefined;
    let polls = 0;
    const backend = fakeBackend((m, p, _q, body) => {
      if (m === "POST" && p === "/plans/p1/commands") {
        sent = body;
        return answer;
      }
      if (p === "/plans/p1/events" && sent !== undefined) {
        polls++;
        // The engine records its outcome a little later.
        if (polls < 3 || outcome === "never") return ok({ events: [], nextCursor: null });
        const id = `command.${String(sent.commandId)}${outcome === "refused" ? ".refused" : ""}`;
        return ok({ events: [{ id: "other", at: 1, type: "x" }, { id, at: 2, type: outcome === "refused" ? "command.refused" : "task.approved", message: outcome === "refused" ? "approve refused: you are not an approver" : "gate approved by ana@example.com: ship it" }], nextCursor: null });
      }
      return undefined;
    });
    return { backend, sent: () => sent };
  }

  it("sends approve with the task and reason and a fresh commandId, and waits for the engine's record", async () => {
    const { backend, sent } = engine("applied");
    const result = await run(["approve", "p1", "gate", "--reason", "ship it"], backend);
    expect(result.code).toBe(0);
    expect(sent()).toMatchObject({ command: "approve", taskId: "gate", reason: "ship it" });
    expect(String(sent()!.commandId)).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.out).toEqual(["✓ gate approved by ana@example.com: ship it"]);
  });

  it("exits 2 with the engine's reason when refused, 5 when no outcome is recorded in time, 0 at once with --detach", async () => {
    const refused = await run(["approve", "p1", "gate"], engine("refused").backend);
    expect(refused.code).toBe(2);
    expect(refused.out).toEqual(["✗ approve refused: you are not an approver"]);
    const silent = await run(["cancel", "p1", "--timeout", "2"], engine("never").backend);
    expect(silent.code).toBe(5);
    expect(silent.err.join("\n")).toContain("recorded no outcome within 2 s");
    const detached = engine("never");
    const sentOnly = await run(["retry", "p1", "--detach", "--json"], detached.backend);
    expect(sentOnly.code).toBe(0);
    expect(JSON.parse(sentOnly.out[0]!)).toMatchObject({ command: "retry", outcome: "sent" });
    expect(detached.backend.calls).toEqual(["POST /plans/p1/commands"]);
  });

  it("exits 1 with the API's message and a hint when the caller may not", async () => {
    const forbidden = await run(["rollback", "p1"], engine("never", { status: 403, body: { error: { code: "permission_denied", message: 'viewer@example.com has role "viewer"; this needs role "operator"' } } }).backend);
    expect(forbidden.code).toBe(1);
    expect(forbidden.err.join("\n")).toContain('this needs role "operator" (this needs another role)');
  });
});

describe("freeze windows", () => {
  const until = 1_700_003_600_000;
  const frozen = plan("waiting", { waitingFor: { freeze: "holidays", name: "Holiday freeze", environment: "production", until } });

  it("says which window holds a waiting plan and offers the override, which needs a reason", async () => {
    const backend = fakeBackend((m, p) => (p === "/plans/p1" ? ok({ plan: frozen, tasks: [], tasksTruncated: false }) : m === "POST" ? ok({ accepted: {} }, 202) : undefined));
    const text = (await run(["status", "p1"], backend)).out.join("\n");
    expect(text).toContain('waiting  production is frozen by window holidays ("Holiday freeze") until');
    expect(text).toContain("commands firebase-orchestrator override p1 · firebase-orchestrator cancel p1");
    for (const argv of [["override", "p1"], ["override", "p1", "--reason", "  "]]) {
      const refused = await run(argv, backend);
      expect(refused.code).toBe(64);
      expect(refused.err.join("\n")).toContain("override needs --reason");
    }
    expect(backend.calls.filter((c) => c.startsWith("POST"))).toEqual([]);
  });

  it("lists windows with the one on now, sets one from a file and deletes one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-window-"));
    const file = join(dir, "freeze.json");
    const spec = { id: "holidays", kind: "freeze", name: "Holiday freeze", environments: ["production"], oneTime: [{ start: "2026-12-24T00:00:00Z", end: "2026-12-27T00:00:00Z" }] };
    writeFileSync(file, JSON.stringify(spec));
    const row = { ...spec, oneTime: [{ start: Date.parse("2026-12-24T00:00:00Z"), end: Date.parse("2026-12-27T00:00:00Z") }], weekly: [{ days: ["sat", "sun"], start: "22:00", durationMinutes: 480, timeZone: "Europe/Berlin" }], activeUntil: until };
    let posted: Record<string, unknown> | undefined;
    const backend = fakeBackend((m, p, _q, body) => {
      if (m === "GET" && p === "/windows") return ok({ windows: [row], unreadable: [{ id: "typo", problem: "environments: Expected array" }] });
      if (m === "POST" && p === "/windows") return (posted = body), ok({ window: row });
      if (m === "POST" && p === "/windows/holidays/delete") return ok({ deleted: "holidays" });
      return undefined;
    });
    const listed = await run(["windows"], backend);
    expect(listed.code).toBe(0);
    expect(listed.out.join("\n")).toMatch(/holidays +freeze +production +on until .* +Holiday freeze +.*sat,sun 22:00 for 480 min \(Europe\/Berlin\)/);
    expect(listed.err.join("\n")).toContain("✗ window typo cannot be read (environments: Expected array)");
    const set = await run(["set-window", file], backend);
    expect(set.code).toBe(0);
    expect(posted).toEqual(spec);
    expect(set.out[0]).toMatch(/^✓ freeze window holidays set: production · /);
    expect((await run(["delete-window", "holidays"], backend)).out).toEqual(["✓ window holidays deleted: plans waiting on it start within a sweep"]);
  });
});

describe("apply", () => {
  const dir = mkdtempSync(join(tmpdir(), "cli-apply-"));
  const file = join(dir, "plan.json");
  writeFileSync(file, JSON.stringify({ name: "demo", tasks: [{ id: "a", run: "noop" }] }));

  it("creates the plan and follows it; an invalid one is exit 1 with each field's path", async () => {
    let created: Record<string, unknown> | undefined;
    const backend = fakeBackend((m, p, _q, body) => {
      if (m === "POST" && p === "/plans") {
        if (body?.tasks === undefined) return { status: 400, body: { error: { code: "invalid_argument", message: "the plan is not valid; nothing was written", errors: [{ path: "tasks", message: "Required" }] } } };
        created = body;
        return ok({ id: "p1", status: "pending", summary: { taskCount: 1 } }, 201);
      }
      if (p === "/plans/p1") return ok({ plan: plan("succeeded"), tasks: [{ id: "a", status: "succeeded", attempt: 1 }], tasksTruncated: false });
      if (p === "/plans/p1/events") return ok({ events: [], nextCursor: null });
      return undefined;
    });
    const applied = await run(["apply", file], backend);
    expect(applied.code).toBe(0);
    expect(created).toEqual({ name: "demo", tasks: [{ id: "a", run: "noop" }] });
    expect(applied.out[0]).toContain("plan p1 created from");
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ name: "no tasks" }));
    const invalid = await run(["apply", bad], backend);
    expect(invalid.code).toBe(1);
    expect(invalid.err.join("\n")).toContain("    tasks: Required");
    const unreadable = await run(["apply", join(dir, "missing.json")], backend);
    expect(unreadable.code).toBe(1);
  });
});

describe("where requests go", () => {
  it("refuses contradictory target flags before contacting anything", () => {
    expect(() => checkTargetFlags({ via: "grpc" })).toThrow(CliError);
    expect(() => checkTargetFlags({ as: "viewer", email: "a@b.c" })).toThrow(/--as picks a demo account/);
    expect(() => checkTargetFlags({ via: "pubsub", api: "https://x.web.app/api" })).toThrow(/--api means nothing with --via pubsub/);
  });

  it("uses a real project's API with a token, Firestore and Pub/Sub with ADC otherwise, and wants the password from the environment", () => {
    expect(resolveBackend({ project: "acme-orchestrator" }, { ORCHESTRATOR_ID_TOKEN: "header.payload.sig" }).describe).toBe("the API at https://acme-orchestrator.web.app/api as the token in ORCHESTRATOR_ID_TOKEN");
    expect(resolveBackend({ project: "acme-orchestrator", api: "https://ops.acme.dev/api" }, { ORCHESTRATOR_ID_TOKEN: "t" }).describe).toContain("https://ops.acme.dev/api");
    expect(() => resolveBackend({ project: "acme-orchestrator", email: "ana@acme.dev" }, {})).not.toThrow();
    expect(() => resolveBackend({ project: "acme-orchestrator", via: "api" }, {})).toThrow(/needs a signed-in identity/);
  });

  it("sends a real project's Pub/Sub commands to that project even when the shell names another", () => {
    const saved = { GCLOUD_PROJECT: process.env.GCLOUD_PROJECT, GOOGLE_CLOUD_PROJECT: process.env.GOOGLE_CLOUD_PROJECT };
    process.env.GCLOUD_PROJECT = process.env.GOOGLE_CLOUD_PROJECT = "someone-elses-project";
    try {
      expect(resolveBackend({ project: "acme-orchestrator" }, {}).describe).toBe("project acme-orchestrator's Firestore and Pub/Sub as the Application Default Credentials identity");
      expect([process.env.GCLOUD_PROJECT, process.env.GOOGLE_CLOUD_PROJECT]).toEqual(["acme-orchestrator", "acme-orchestrator"]);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });
});
