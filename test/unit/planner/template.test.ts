/**
 * Plan templates (functions/src/schema/template.ts, functions/src/planner/template.ts): the
 * parameters' declarations and their zod schema, substitution (typed values, interpolation, the
 * `$${` escape, optional parameters left out), references checked when a template is written,
 * bad and missing parameters at `params.<name>`, and compiling an instance, whose summary keeps the
 * template's id and version. Also what a schedule runs when it names a template.
 */
import { compilePlan } from "../../../functions/src/planner/compile";
import { buildParamsSchema, instantiateTemplate, parseTemplateSpec, parseTemplateString, type LoadedTemplate } from "../../../functions/src/planner/template";
import { runDocument } from "../../../functions/src/schedules/fire";
import { parseScheduleSpec, scheduleSpecSchema, scheduleRunErrors, type ScheduleDoc } from "../../../functions/src/schema/schedule";
import type { TemplateDoc } from "../../../functions/src/schema/template";
import { compiled, errorsOf } from "./helpers";

/** A template that must be valid: the test fails with its errors otherwise. */
function template(input: Record<string, unknown>): TemplateDoc {
  const parsed = parseTemplateSpec(input);
  if (!parsed.ok) throw new Error(`expected a valid template, got:\n${parsed.errors.map((e) => `${e.path}: ${e.message}`).join("\n")}`);
  return parsed.value;
}

const templateErrors = (input: Record<string, unknown>): string[] => {
  const parsed = parseTemplateSpec(input);
  return parsed.ok ? [] : parsed.errors.map((e) => `${e.path}: ${e.message}`);
};

const rendered = (doc: TemplateDoc, params: Record<string, unknown>): Record<string, unknown> => {
  const result = instantiateTemplate(doc, params);
  if (!result.ok) throw new Error(`expected it to render, got:\n${result.errors.map((e) => `${e.path}: ${e.message}`).join("\n")}`);
  return result.doc;
};

const paramErrors = (doc: TemplateDoc, params: Record<string, unknown>): Array<{ path: string; message: string }> => {
  const result = instantiateTemplate(doc, params);
  if (result.ok) throw new Error("expected the parameters to be refused");
  return result.errors;
};

/** An http call and a delay, each field from a parameter of another type. */
const deploy = template({
  description: "deploy one region",
  params: {
    region: { type: "string", pattern: "[a-z]+-[a-z]+[0-9]", description: "a Google Cloud region" },
    waitMs: { type: "integer", min: 0, max: 60_000, default: 250 },
    capture: { type: "boolean", default: false },
    tier: { type: "enum", values: ["dev", "prod"] },
    ticket: { type: "string", required: false, min: 3, max: 20 },
  },
  plan: {
    name: "deploy ${params.tier} in ${params.region}",
    labels: { team: "platform", tier: "${params.tier}" },
    tasks: [
      { id: "wait", run: "delay", params: { ms: "${params.waitMs}" } },
      {
        id: "call",
        run: "http",
        needs: ["wait"],
        params: {
          url: "https://${params.region}.example.com/deploy?ms=${params.waitMs}",
          captureBody: "${params.capture}",
          body: { ticket: "${params.ticket}", notes: ["from a template", "${params.ticket}", "$${not.a.parameter}"] },
        },
      },
    ],
  },
});

describe("template strings", () => {
  it("are text and references; $${ is a literal ${", () => {
    expect(parseTemplateString("plain")).toEqual({ ok: true, parts: [{ text: "plain" }] });
    expect(parseTemplateString("")).toEqual({ ok: true, parts: [{ text: "" }] });
    expect(parseTemplateString("${params.a}")).toEqual({ ok: true, parts: [{ param: "a" }] });
    expect(parseTemplateString("x-${params.a}-${params.b_2}")).toEqual({ ok: true, parts: [{ text: "x-" }, { param: "a" }, { text: "-" }, { param: "b_2" }] });
    expect(parseTemplateString("$${params.a} costs $5")).toEqual({ ok: true, parts: [{ text: "${params.a} costs $5" }] });
  });

  it("refuses a ${ that is no reference, or is not closed", () => {
    expect(parseTemplateString("${env.HOME}")).toMatchObject({ ok: false, message: expect.stringContaining('"${env.HOME}" is not a parameter reference') });
    expect(parseTemplateString("${params.}")).toMatchObject({ ok: false });
    expect(parseTemplateString("a ${params.a")).toMatchObject({ ok: false, message: expect.stringContaining("is not closed") });
  });
});

describe("substitution", () => {
  it("puts a parameter's typed value where a string is exactly its reference, and text where it is inside other text", () => {
    const plan = rendered(deploy, { region: "europe-west1", tier: "prod", waitMs: 1500, capture: true });
    const [wait, call] = plan.tasks as Array<{ params: Record<string, unknown> }>;
    expect(wait!.params.ms).toBe(1500);
    expect(call!.params.captureBody).toBe(true);
    expect(call!.params.url).toBe("https://europe-west1.example.com/deploy?ms=1500");
    expect(plan.name).toBe("deploy prod in europe-west1");
    expect(plan.labels).toEqual({ team: "platform", tier: "prod" });
  });

  it("fills in defaults, and leaves out a field (or an array's element) that is exactly an optional parameter with no value", () => {
    const plan = rendered(deploy, { region: "europe-west1", tier: "dev" });
    const [wait, call] = plan.tasks as Array<{ params: Record<string, unknown> }>;
    expect(wait!.params.ms).toBe(250);
    expect(call!.params.captureBody).toBe(false);
    expect(call!.params.body).toEqual({ notes: ["from a template", "${not.a.parameter}"] });
    // Given, it is there.
    const withTicket = rendered(deploy, { region: "europe-west1", tier: "dev", ticket: "CHG-42" });
    expect((withTicket.tasks as Array<{ params: { body: unknown } }>)[1]!.params.body).toEqual({ ticket: "CHG-42", notes: ["from a template", "CHG-42", "${not.a.parameter}"] });
  });

  it("interpolates an optional parameter with no value as nothing", () => {
    const doc = template({ params: { suffix: { type: "string", required: false } }, plan: { name: "run${params.suffix}", tasks: [{ id: "a", run: "noop" }] } });
    expect(rendered(doc, {}).name).toBe("run");
    expect(rendered(doc, { suffix: "-2" }).name).toBe("run-2");
  });

  it("leaves the template itself as it was", () => {
    const before = JSON.stringify(deploy);
    rendered(deploy, { region: "europe-west1", tier: "dev" });
    expect(JSON.stringify(deploy)).toBe(before);
  });
});

describe("parameters", () => {
  it("are validated with zod: buildParamsSchema is the typed parameters' schema, defaults filled in", () => {
    const schema = buildParamsSchema(deploy);
    expect(schema.parse({ region: "us-central1", tier: "dev" })).toEqual({ region: "us-central1", tier: "dev", waitMs: 250, capture: false });
    expect(schema.safeParse({ region: "us-central1", tier: "staging" }).success).toBe(false);
    expect(schema.safeParse({ region: "us-central1", tier: "dev", colour: "red" }).success).toBe(false);
  });

  it("reports a parameter of the wrong type at params.<name>", () => {
    expect(paramErrors(deploy, { region: 7, tier: "dev" })).toEqual([{ path: "params.region", message: "expected a string, got number 7" }]);
    expect(paramErrors(deploy, { region: "us-central1", tier: "dev", capture: "yes" })).toEqual([{ path: "params.capture", message: 'expected a boolean, got the string "yes"' }]);
    expect(paramErrors(deploy, { region: "us-central1", tier: "dev", waitMs: 2.5 })).toEqual([{ path: "params.waitMs", message: expect.stringContaining("integer") }]);
  });

  it("reports a missing required parameter at params.<name>, every one at once", () => {
    expect(paramErrors(deploy, {})).toEqual([
      { path: "params.region", message: "required: the template gives it no default" },
      { path: "params.tier", message: "required: the template gives it no default" },
    ]);
  });

  it("checks enum values, min and max (a number's value, a string's length) and patterns (the whole string)", () => {
    const base = { region: "us-central1", tier: "dev" };
    expect(paramErrors(deploy, { ...base, tier: "staging" })).toEqual([{ path: "params.tier", message: 'expected one of "dev", "prod"' }]);
    expect(paramErrors(deploy, { ...base, waitMs: -1 })).toEqual([{ path: "params.waitMs", message: "at least 0" }]);
    expect(paramErrors(deploy, { ...base, waitMs: 60_001 })).toEqual([{ path: "params.waitMs", message: "at most 60000" }]);
    expect(paramErrors(deploy, { ...base, ticket: "ab" })).toEqual([{ path: "params.ticket", message: "at least 3 characters" }]);
    expect(paramErrors(deploy, { ...base, ticket: "x".repeat(21) })).toEqual([{ path: "params.ticket", message: "at most 20 characters" }]);
    expect(paramErrors(deploy, { ...base, region: "Europe-West1" })).toEqual([{ path: "params.region", message: "must match the pattern [a-z]+-[a-z]+[0-9]" }]);
    // Anchored: a match inside the value is not enough.
    expect(paramErrors(deploy, { ...base, region: "us-central1; rm -rf" })).toEqual([{ path: "params.region", message: "must match the pattern [a-z]+-[a-z]+[0-9]" }]);
  });

  it("refuses a parameter the template does not declare, naming the ones it does", () => {
    expect(paramErrors(deploy, { region: "us-central1", tier: "dev", regoin: "x" })).toEqual([{ path: "params.regoin", message: 'the template has no parameter "regoin" (it has region, waitMs, capture, tier, ticket)' }]);
  });
});

describe("a template as it is written", () => {
  const plan = { tasks: [{ id: "a", run: "noop" }] };

  it("reports a reference to an undeclared parameter, or a ${ that is none, with its path in the template", () => {
    expect(templateErrors({ params: { region: { type: "string" } }, plan: { tasks: [{ id: "a", run: "noop", name: "in ${params.regin}" }] } })).toEqual([
      'plan.tasks.0.name: ${params.regin}: the template declares no parameter "regin" (it declares region)',
    ]);
    expect(templateErrors({ plan: { tasks: [{ id: "a", run: "http", params: { url: "https://${host}/" } }] } })).toEqual([
      'plan.tasks.0.params.url: "${host}" is not a parameter reference: write ${params.<name>} for a parameter, or $${ for a literal ${',
    ]);
    expect(templateErrors({ params: { h: { type: "string" } }, plan: { tasks: [{ id: "a", run: "http", params: { url: "https://x", headers: { "X-${params.h}": "1" } } }] } })).toEqual([
      "plan.tasks.0.params.headers.X-${params.h}: parameters are substituted in values, not in keys",
    ]);
    // Escaped, it is text.
    expect(templateErrors({ plan: { tasks: [{ id: "a", run: "noop", name: "$${host}" }] } })).toEqual([]);
  });

  it("checks each declaration: names, the options of its type, a default it could take, a pattern that compiles", () => {
    expect(
      templateErrors({
        params: {
          "2fast": { type: "string" },
          colour: { type: "enum" },
          size: { type: "enum", values: ["s", "s"] },
          on: { type: "boolean", min: 1, pattern: "x" },
          n: { type: "number", min: 5, max: 1 },
          len: { type: "string", min: 1.5 },
          name: { type: "string", pattern: "(" },
          port: { type: "integer", default: 80.5 },
          kind: { type: "enum", values: ["a", "b"], default: "c" },
          both: { type: "string", default: "x", required: true },
          odd: { type: "date" },
        },
        plan,
      }),
    ).toEqual([
      "params.2fast: a parameter name is 1-63 letters, digits and _, starting with a letter",
      "params.colour.values: an enum parameter lists its values",
      "params.size.values: each value once",
      "params.on.min: only string, number and integer parameters have min (this one is boolean)",
      "params.on.pattern: only a string parameter has a pattern (this one is boolean)",
      "params.n.max: at least min (5)",
      "params.len.min: a string's length: a whole number, at least 0",
      expect.stringMatching(/^params\.name\.pattern: not a regular expression: /),
      "params.port.default: not a value of this parameter: expected an integer, got a fraction",
      'params.kind.default: not a value of this parameter: expected one of "a", "b"',
      "params.both.required: a parameter with a default is not required: leave one of them out",
      expect.stringMatching(/^params\.odd\.type: /),
    ]);
  });

  it("refuses a plan with orchestrator fields, another template inside, or neither form; and more than 50 parameters", () => {
    expect(templateErrors({ plan: { ...plan, status: "succeeded" } })).toEqual(["plan.status: set by the orchestrator on each plan; leave it out"]);
    expect(templateErrors({ plan: { template: "other" } })).toEqual([
      "plan.template: a template's plan is a task plan or an environment plan, not an instance of another template",
      "plan: a template's plan gives either tasks (a task plan) or environments (an environment plan)",
    ]);
    expect(templateErrors({ plan: { ...plan, environments: [] } })).toEqual(["plan: a template's plan gives either tasks (a task plan) or environments (an environment plan)"]);
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`p${i}`, { type: "string", default: "x" }]));
    expect(templateErrors({ params: many, plan })).toEqual(["params: 51 parameters; at most 50"]);
    expect(templateErrors({ plan, version: 3 })).toEqual([expect.stringMatching(/^: /)]);
  });
});

describe("compiling an instance", () => {
  const loaded: LoadedTemplate = { id: "deploy", version: 4, doc: deploy };
  const instance = { template: "deploy", params: { region: "europe-west1", tier: "prod" } };

  it("compiles the rendered plan and keeps the template's id and version in the summary", () => {
    const plan = compiled(instance, { template: loaded });
    expect(plan.summary).toMatchObject({ form: "tasks", taskCount: 2, template: { id: "deploy", version: 4 } });
    expect(plan.tasks.map((t) => t.id)).toEqual(["wait", "call"]);
    // A plan written as a plan says so.
    expect(compiled({ tasks: [{ id: "a", run: "noop" }] }).summary.template).toBeNull();
  });

  it("lets the instance name the run, label it over the template's labels, and make it a dry run", () => {
    const plan = compiled({ ...instance, name: "prod deploy", description: "weekly", labels: { tier: "override", ticket: "CHG-1" }, dryRun: true }, { template: loaded });
    expect(plan.spec).toMatchObject({ name: "prod deploy", description: "weekly", labels: { team: "platform", tier: "override", ticket: "CHG-1" }, dryRun: true });
    expect(plan.outcome).toBe("planned");
  });

  it("is invalid at `template` without the template it names loaded", () => {
    const noTemplate = [{ path: "template", message: 'no template named "deploy" (operators write them with POST /api/templates)' }];
    expect(errorsOf(instance)).toEqual(noTemplate);
    expect(errorsOf(instance, { template: { ...loaded, id: "other" } })).toEqual(noTemplate);
  });

  it("is invalid when it pins another version than the one loaded, or carries what a plan's template decides", () => {
    expect(errorsOf({ ...instance, version: 3 }, { template: loaded })).toEqual([{ path: "version", message: 'template "deploy" has no version 3 (it is at version 4)' }]);
    expect(compiled({ ...instance, version: 4 }, { template: loaded }).summary.template).toEqual({ id: "deploy", version: 4 });
    expect(errorsOf({ ...instance, tasks: [{ id: "a", run: "noop" }] }, { template: loaded })).toEqual([{ path: "tasks", message: "a plan names a template, or gives tasks or environments itself: not both" }]);
    expect(errorsOf({ ...instance, failurePolicy: "rollback" }, { template: loaded }).map((e) => e.path)).toEqual([""]);
    expect(errorsOf({ template: "no/slashes" }, { template: loaded }).map((e) => e.path)).toEqual(["template"]);
  });

  it("reports bad parameters at params.<name>, with the template's system fields of the document ignored", () => {
    expect(errorsOf({ ...instance, params: { region: 7, tier: "prod" }, status: "pending", createdAt: 1 }, { template: loaded })).toEqual([{ path: "params.region", message: "expected a string, got number 7" }]);
    expect(errorsOf({ template: "deploy" }, { template: loaded }).map((e) => e.path)).toEqual(["params.region", "params.tier"]);
  });

  it("puts a problem the compile finds on the parameter when the field was exactly its reference, else on the template's path", () => {
    const doc = template({
      params: { projectId: { type: "string" }, host: { type: "string" } },
      plan: {
        tasks: [
          { id: "env", run: "firebase", params: { integration: "hosting", environment: "dev", projectId: "${params.projectId}", region: "us-central1" } },
          { id: "call", run: "http", params: { url: "${params.host}/path" } },
        ],
      },
    });
    const errors = errorsOf({ template: "t", params: { projectId: "NOT A PROJECT", host: "not a url" } }, { template: { id: "t", version: 2, doc } });
    expect(errors).toEqual([
      { path: "params.projectId", message: expect.stringMatching(/a Google Cloud project id.*\(template t puts it at plan\.tasks\.0\.params\.projectId\)$/) },
      { path: "(template t@2).plan.tasks.1.params.url", message: expect.stringMatching(/\(from params\.host\)$/) },
    ]);
  });

  it("renders an environment plan template too", () => {
    const env = template({
      params: { project: { type: "string" }, region: { type: "string", default: "europe-west1" } },
      plan: { environments: [{ name: "development", projectId: "${params.project}", region: "${params.region}", integrations: ["hosting"] }] },
    });
    const plan = compiled({ template: "env", params: { project: "acme-dev" } }, { template: { id: "env", version: 1, doc: env } });
    expect(plan.summary).toMatchObject({ form: "environments", environments: [{ projectId: "acme-dev", name: "development" }], template: { id: "env", version: 1 } });
  });

  it("stops at a template whose plan names another template, rather than render forever", () => {
    const loop: LoadedTemplate = { id: "loop", version: 1, doc: { params: {}, plan: { template: "loop" } } };
    expect(errorsOf({ template: "loop" }, { template: loop })).toEqual([{ path: "(template loop@1).plan.template", message: "a template's plan may not name another template" }]);
  });
});

describe("a schedule that runs a template", () => {
  const loaded: LoadedTemplate = { id: "deploy", version: 7, doc: deploy };
  const spec = { cron: "0 3 * * *", template: { id: "deploy", params: { region: "europe-west1", tier: "dev" } } };

  it("is checked by compiling its instance with the template's current version; problems come back under template.", () => {
    expect(parseScheduleSpec(spec, { template: loaded })).toMatchObject({ ok: true, value: { template: { id: "deploy", params: { region: "europe-west1", tier: "dev" } } } });
    const parsed = scheduleSpecSchema.parse({ ...spec, template: { id: "deploy", params: { region: 1 } } });
    expect(scheduleRunErrors(parsed, { template: loaded }).map((e) => e.path)).toEqual(["template.params.region", "template.params.tier"]);
    expect(scheduleRunErrors(scheduleSpecSchema.parse(spec)).map((e) => e.path)).toEqual(["template.id"]);
  });

  it("creates each run as an instance pinned to the version the firing checked, labelled with the schedule and tick", () => {
    const schedule: Pick<ScheduleDoc, "id" | "spec" | "meta"> = {
      id: "nightly",
      spec: scheduleSpecSchema.parse(spec),
      meta: { createdAt: 0, updatedAt: 0, author: { uid: "uid-ana", email: "ana@example.com", name: "ana@example.com" }, pausedAt: null, pausedBy: null },
    };
    const tick = Date.parse("2026-12-01T03:00:00Z");
    const run = runDocument(schedule, tick, tick + 500, 7);
    expect(run).toEqual({
      template: "deploy",
      version: 7,
      params: { region: "europe-west1", tier: "dev" },
      name: "nightly @ 2026-12-01T03:00:00Z",
      labels: { schedule: "nightly", tick: "2026-12-01T03:00:00Z" },
      createdAt: tick + 500,
      createdBy: { uid: "uid-ana", email: "ana@example.com" },
    });
    // The trigger compiles it as any plan document: with the version it pins.
    expect(compilePlan(run, { template: loaded }).ok).toBe(true);
    expect(compiled(run, { template: loaded }).spec).toMatchObject({ labels: { team: "platform", tier: "dev", schedule: "nightly" } });
  });
});
