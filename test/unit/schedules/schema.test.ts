/**
 * The schedule document (functions/src/schema/schedule.ts): defaults, what is refused and where,
 * the plan inside compiled with its errors under `plan.`, and a stored document read back.
 */
import { compilePlan } from "../../../functions/src/planner/compile";
import { parseScheduleDoc, parseScheduleSpec, scheduleIdSchema, scheduleSpecSchema, MAX_SCHEDULE_PLAN_BYTES } from "../../../functions/src/schema/schedule";
import { parseWith } from "../../../functions/src/schema/issues";
import { EMPTY_POLICY } from "../../../functions/src/trust/policy";

const taskPlan = { tasks: [{ id: "export", run: "noop" }] };
const paths = (input: unknown): string[] => {
  const parsed = parseScheduleSpec(input);
  return parsed.ok ? [] : parsed.errors.map((e) => e.path);
};
const messages = (input: unknown): string[] => {
  const parsed = parseScheduleSpec(input);
  return parsed.ok ? [] : parsed.errors.map((e) => `${e.path}: ${e.message}`);
};

describe("a schedule's spec", () => {
  it("takes the defaults: UTC, skip, not paused, a 10-minute catch-up window", () => {
    expect(parseScheduleSpec({ cron: "*/5 * * * *", plan: taskPlan })).toEqual({
      ok: true,
      value: { cron: "*/5 * * * *", timeZone: "UTC", plan: taskPlan, overlap: "skip", paused: false, catchupWindowMinutes: 10 },
    });
  });

  it("keeps every field it knows", () => {
    const spec = { cron: "0 9 * * mon-fri", timeZone: "Europe/Berlin", plan: taskPlan, overlap: "buffer_one", paused: true, catchupWindowMinutes: 60, description: "weekday exports", startAt: "2026-12-01T00:00:00Z", endAt: "2027-01-01T00:00:00+01:00" };
    expect(parseScheduleSpec(spec)).toEqual({ ok: true, value: spec });
  });

  it.each(["skip", "buffer_one", "cancel_other", "allow_all"])("accepts the overlap policy %s", (overlap) => {
    expect(parseScheduleSpec({ cron: "* * * * *", plan: taskPlan, overlap }).ok).toBe(true);
  });

  it("refuses fields it does not know, and runs exactly one of a plan and a template", () => {
    expect(paths({ cron: "* * * * *", plan: taskPlan, every: "5m" })).toEqual([""]);
    expect(paths({ cron: "* * * * *", template: "nightly" })).toEqual(["template"]);
    const one = ": a schedule runs either a plan or a template: give exactly one of plan and template";
    expect(messages({ cron: "* * * * *" })).toEqual([one]);
    expect(messages({ cron: "* * * * *", plan: taskPlan, template: { id: "nightly" } })).toEqual([one]);
    // The template is loaded by the caller (the API, the firing pass) and handed over: none here.
    expect(messages({ cron: "* * * * *", template: { id: "nightly" } })).toEqual(['template.id: no template named "nightly" (operators write them with POST /api/templates)']);
  });

  it("names the cron field that is wrong", () => {
    expect(messages({ cron: "61 * * * *", plan: taskPlan })).toEqual(['cron: minute field "61": 61 is outside 0-59']);
    expect(messages({ cron: "* * * *", plan: taskPlan })[0]).toMatch(/^cron: a cron expression has 5 fields/);
  });

  it("refuses a time zone Intl does not know, an unknown policy, and bounds the rest", () => {
    expect(messages({ cron: "* * * * *", timeZone: "Mars/Olympus", plan: taskPlan })).toEqual(['timeZone: an IANA time zone, e.g. "Europe/Berlin" or "UTC"']);
    expect(paths({ cron: "* * * * *", plan: taskPlan, overlap: "terminate_other" })).toEqual(["overlap"]);
    expect(paths({ cron: "* * * * *", plan: taskPlan, catchupWindowMinutes: 0 })).toEqual(["catchupWindowMinutes"]);
    expect(paths({ cron: "* * * * *", plan: taskPlan, catchupWindowMinutes: 7 * 24 * 60 + 1 })).toEqual(["catchupWindowMinutes"]);
    expect(paths({ cron: "* * * * *", plan: taskPlan, catchupWindowMinutes: 1.5 })).toEqual(["catchupWindowMinutes"]);
    expect(paths({ cron: "* * * * *", plan: taskPlan, description: "x".repeat(2001) })).toEqual(["description"]);
    expect(paths({ cron: "x".repeat(201), plan: taskPlan })).toEqual(["cron", "cron"]);
  });

  it("needs instants with their offset for startAt and endAt, endAt after startAt", () => {
    expect(paths({ cron: "* * * * *", plan: taskPlan, startAt: "2026-12-01T00:00:00" })).toEqual(["startAt"]);
    expect(paths({ cron: "* * * * *", plan: taskPlan, startAt: "2026-12-02T00:00:00Z", endAt: "2026-12-01T00:00:00Z" })).toEqual(["endAt"]);
  });

  it("compiles the plan and reports its errors under plan.", () => {
    expect(messages({ cron: "* * * * *", plan: { tasks: [{ id: "a", run: "teleport" }] } })).toEqual([expect.stringMatching(/^plan\.tasks\.0\.run: /)]);
    expect(paths({ cron: "* * * * *", plan: { tasks: [{ id: "a", run: "noop", needs: ["b"] }] } })).toEqual([expect.stringMatching(/^plan\.tasks\.0\.needs/)]);
    expect(messages({ cron: "* * * * *", plan: {} })).toEqual(["plan: a plan needs either tasks (a task plan) or environments (an environment plan)"]);
    // An environment plan, in its snake_case form too, with its errors in the user's terms.
    expect(parseScheduleSpec({ cron: "0 4 * * *", plan: { environments: [{ name: "development", projectId: "lang-trak-dev", region: "us-central1", integrations: ["database"] }] } }).ok).toBe(true);
    expect(paths({ cron: "0 4 * * *", plan: { environments: { development: { project_id: "BAD", region: "us-central1" } } } })).toEqual([expect.stringMatching(/^plan\.environments\.development\.project_id/)]);
  });

  it("compiles with the options given (the deployment's secret bindings)", () => {
    const plan = { tasks: [{ id: "call", run: "http", params: { url: "https://example.com/hook", headersFromSecrets: { Authorization: "HOOK_TOKEN" } } }] };
    expect(parseScheduleSpec({ cron: "* * * * *", plan }).ok).toBe(true);
    const bound = parseScheduleSpec({ cron: "* * * * *", plan }, { protection: EMPTY_POLICY, secretBindings: {} });
    expect(bound.ok ? [] : bound.errors.map((e) => e.path)).toEqual([expect.stringMatching(/^plan\.tasks\.0\.params\.headersFromSecrets/)]);
  });

  it("refuses in the plan what the orchestrator or the schedule sets on each run", () => {
    expect(messages({ cron: "* * * * *", plan: { ...taskPlan, status: "running", createdBy: { uid: "x" } } })).toEqual([
      "plan.status: set by the orchestrator on each run; leave it out",
      "plan.createdBy: set by the orchestrator on each run; leave it out",
    ]);
    expect(messages({ cron: "* * * * *", plan: { ...taskPlan, labels: { team: "data", schedule: "x", tick: "y" } } })).toEqual([
      "plan.labels.schedule: set by the schedule on each run (its id and tick); leave it out",
      "plan.labels.tick: set by the schedule on each run (its id and tick); leave it out",
    ]);
    // A run's labels are the plan's plus those two: the plan keeps what it sets.
    expect(parseScheduleSpec({ cron: "* * * * *", plan: { ...taskPlan, labels: { team: "data" } } }).ok).toBe(true);
  });

  it("bounds the plan's size", () => {
    const big = { tasks: [{ id: "a", run: "noop", name: "x".repeat(200) }], description: "y".repeat(5000), padding: "z".repeat(MAX_SCHEDULE_PLAN_BYTES) };
    expect(messages({ cron: "* * * * *", plan: big })[0]).toMatch(/^plan: the plan is \d+ bytes as JSON; a schedule's plan may be at most 262144/);
  });

  it("parses its shape alone without compiling (scheduleSpecSchema): the compile needs the deployment", () => {
    expect(parseWith(scheduleSpecSchema, { cron: "* * * * *", plan: { tasks: [] } }).ok).toBe(true);
    expect(compilePlan({ tasks: [] }).ok).toBe(false);
  });
});

describe("a schedule's id", () => {
  it.each(["nightly", "a", "Export_2-b", "x".repeat(63)])("accepts %p", (id) => expect(scheduleIdSchema.safeParse(id).success).toBe(true));
  it.each(["", "a/b", "-a", "_a", "a.b", "a b", "x".repeat(64), "ünïcode"])("refuses %p", (id) => expect(scheduleIdSchema.safeParse(id).success).toBe(false));
});

describe("a stored schedule", () => {
  const stored = {
    cron: "*/5 * * * *",
    plan: taskPlan,
    overlap: "skip",
    since: 1,
    lastTick: 300_000,
    open: [{ planId: "s--19700101T0005Z", tick: 300_000 }],
    recent: [{ tick: 300_000, at: 300_001, outcome: "started", planId: "s--19700101T0005Z" }],
    createdAt: 1,
    updatedAt: 2,
    author: { uid: "op-1", email: "ops@example.com", name: "ops@example.com" },
  };

  it("reads back as spec, state and meta", () => {
    expect(parseScheduleDoc("s", stored)).toEqual({
      ok: true,
      schedule: {
        id: "s",
        spec: { cron: "*/5 * * * *", timeZone: "UTC", plan: taskPlan, overlap: "skip", paused: false, catchupWindowMinutes: 10 },
        state: { since: 1, lastTick: 300_000, open: [{ planId: "s--19700101T0005Z", tick: 300_000, cancelFor: null }], buffered: null, recent: stored.recent },
        meta: { createdAt: 1, updatedAt: 2, author: stored.author, pausedAt: null, pausedBy: null },
      },
    });
  });

  it("says what is wrong with one written around the API", () => {
    expect(parseScheduleDoc("s", { cron: "*/5 * * * *", plan: taskPlan })).toEqual({ ok: false, problem: expect.stringMatching(/^since: .*\(write schedules through POST \/api\/schedules\)$/) });
    expect(parseScheduleDoc("s", { ...stored, cron: "nope" })).toEqual({ ok: false, problem: expect.stringMatching(/^cron: a cron expression has 5 fields/) });
  });
});
