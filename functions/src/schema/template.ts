/**
 * `templates/{templateId}`: a plan with typed parameters, written by operators through the API
 * (`POST /api/templates`) and instantiated by a plan document `{template, params}` or by a
 * schedule (`template: {id, params}`). The spec is what the operator writes: the parameters'
 * declarations and the plan, in which `"${params.name}"` stands for a value (planner/template.ts
 * substitutes them). The orchestrator keeps `version` (1, 2, … one more on every write),
 * `updatedAt` and `updatedBy` beside it, and a copy of every version in
 * `templates/{id}/versions/{version}`, so a plan compiled from version 3 renders version 3 again
 * when it starts later (after waiting for a lock) whatever was written since (store/templates.ts).
 *
 * These schemas are the one source of truth for what a template and an instance are; the JSON
 * Schemas (schema/template.schema.json, the instance form of schema/plan.schema.json) are
 * generated from them.
 */
import { z } from "zod";
import { SYSTEM_PLAN_FIELDS } from "./plan";

/** Like a schedule's id (schema/schedule.ts SCHEDULE_ID_PATTERN): a Firestore document id, short and plain, fit for a label. */
export const TEMPLATE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
export const templateIdSchema = z.string().regex(TEMPLATE_ID_PATTERN, "a template id is 1-63 letters, digits, _ and - (not starting with a symbol)");

/** A parameter's name, as written in `${params.name}`: an identifier. */
export const PARAM_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
export const MAX_TEMPLATE_PARAMS = 50;
/** The template's plan is a plan document's user fields; a Firestore document holds it with room to spare. */
export const MAX_TEMPLATE_PLAN_BYTES = 512 * 1024;
/** A parameter's value as text: bounded, since it may be interpolated into many strings of the plan. */
export const MAX_PARAM_STRING_LENGTH = 10_000;

export const PARAM_TYPES = ["string", "number", "integer", "boolean", "enum"] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

/** Fields the orchestrator keeps on a template document; a template written through the API may not set them. */
export const TEMPLATE_SYSTEM_FIELDS = ["version", "updatedAt", "updatedBy", "deleted", "deletedAt", "deletedBy"] as const;

const PARAM_NAME_MESSAGE = "a parameter name is 1-63 letters, digits and _, starting with a letter";

/** A value a parameter can take: text, a number or a boolean (what a plan's fields are made of). */
export const paramValueSchema = z.union([z.string().max(MAX_PARAM_STRING_LENGTH), z.number(), z.boolean()]);
export type ParamValue = z.output<typeof paramValueSchema>;

const typeName: Record<ParamType, string> = { string: "a string", number: "a number", integer: "an integer", boolean: "a boolean", enum: "one of its values" };

/**
 * The schema of one parameter's value, built from its declaration (planner/template.ts
 * buildParamsSchema puts them together; the declaration's own check uses it for the default).
 * `min`/`max` bound a number, or a string's length; `pattern` must match the whole string.
 */
export function paramValueSchemaOf(decl: ParamDecl): z.ZodType<ParamValue> {
  const expected = (what: string) => (issue: { input: unknown }) => (issue.input === undefined ? "required: the template gives it no default" : `expected ${what}, got ${describe(issue.input)}`);
  switch (decl.type) {
    case "string": {
      let s = z.string({ error: expected(typeName.string) }).max(MAX_PARAM_STRING_LENGTH);
      if (decl.min !== undefined) s = s.min(decl.min, `at least ${decl.min} characters`);
      if (decl.max !== undefined) s = s.max(decl.max, `at most ${decl.max} characters`);
      if (decl.pattern !== undefined) s = s.regex(new RegExp(`^(?:${decl.pattern})$`, "u"), `must match the pattern ${decl.pattern}`);
      return s;
    }
    case "number":
    case "integer": {
      let n = z.number({ error: expected(typeName[decl.type]) });
      if (decl.type === "integer") n = n.int(`expected an integer, got a fraction`);
      if (decl.min !== undefined) n = n.min(decl.min, `at least ${decl.min}`);
      if (decl.max !== undefined) n = n.max(decl.max, `at most ${decl.max}`);
      return n;
    }
    case "boolean":
      return z.boolean({ error: expected(typeName.boolean) });
    case "enum": {
      const values = decl.values ?? [];
      return z.string({ error: expected(`one of ${values.map((v) => JSON.stringify(v)).join(", ")}`) }).refine((v) => values.includes(v), `expected one of ${values.map((v) => JSON.stringify(v)).join(", ")}`);
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  return typeof value === "object" ? "an object" : typeof value;
}

function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, "u");
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * One parameter's declaration. Without a `default` it is required unless `required: false` (then
 * a value that is exactly its reference is left out: see planner/template.ts); with one it never
 * is. Each option belongs to some types only, and the default must be a value the parameter takes.
 */
const paramDeclShape = z
  .object({
    type: z.enum(PARAM_TYPES),
    description: z.string().max(2000).optional(),
    /** enum: the values it may take. */
    values: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
    default: paramValueSchema.optional(),
    /** number, integer: the least value; string: the least length. */
    min: z.number().optional(),
    /** number, integer: the greatest value; string: the greatest length. */
    max: z.number().optional(),
    /** string: a regular expression (JavaScript, Unicode) the whole value must match. */
    pattern: z.string().min(1).max(500).optional(),
    required: z.boolean().optional(),
  })
  .strict();
export type ParamDecl = z.output<typeof paramDeclShape>;

export const paramDeclSchema = paramDeclShape.superRefine((decl, ctx) => {
  let problems = 0;
  const problem = (path: string, message: string) => {
    problems += 1;
    ctx.addIssue({ code: "custom", path: [path], message });
  };
  if (decl.type === "enum") {
    if (decl.values === undefined) problem("values", "an enum parameter lists its values");
    else if (new Set(decl.values).size !== decl.values.length) problem("values", "each value once");
  } else if (decl.values !== undefined) problem("values", `only an enum parameter has values (this one is ${decl.type})`);
  const bounded = decl.type === "string" || decl.type === "number" || decl.type === "integer";
  for (const bound of ["min", "max"] as const) {
    const value = decl[bound];
    if (value === undefined) continue;
    if (!bounded) problem(bound, `only string, number and integer parameters have ${bound} (this one is ${decl.type})`);
    else if (decl.type === "string" && (!Number.isInteger(value) || value < 0)) problem(bound, "a string's length: a whole number, at least 0");
  }
  if (bounded && decl.min !== undefined && decl.max !== undefined && decl.min > decl.max) problem("max", `at least min (${decl.min})`);
  if (decl.pattern !== undefined) {
    if (decl.type !== "string") problem("pattern", `only a string parameter has a pattern (this one is ${decl.type})`);
    else {
      const bad = regexProblem(decl.pattern);
      if (bad !== undefined) problem("pattern", `not a regular expression: ${bad}`);
    }
  }
  if (decl.required === true && decl.default !== undefined) problem("required", "a parameter with a default is not required: leave one of them out");
  // The default is checked against a declaration that is sound, so its message is about the value.
  if (problems > 0 || decl.default === undefined) return;
  const checked = paramValueSchemaOf(decl).safeParse(decl.default);
  if (!checked.success) problem("default", `not a value of this parameter: ${checked.error.issues[0]!.message}`);
});

/**
 * The template's plan: a plan document's user fields (a task plan or an environment plan), with
 * `${params.name}` references in its string values. Its shape is the compile's to check, once the
 * parameters are in; here only what no instance could fix: the orchestrator's fields, a template
 * inside a template, neither form or both, the size.
 */
export const templatePlanSchema = z
  .record(z.string(), z.unknown())
  .describe('A plan document\'s user fields (a task plan or an environment plan); a string value "${params.name}" stands for that parameter\'s value, with its type, and "${params.name}" inside other text is interpolated; "$${" is a literal "${".')
  .superRefine((plan, ctx) => {
    const bytes = Buffer.byteLength(JSON.stringify(plan), "utf8");
    if (bytes > MAX_TEMPLATE_PLAN_BYTES) ctx.addIssue({ code: "custom", message: `the plan is ${bytes} bytes as JSON; a template's plan may be at most ${MAX_TEMPLATE_PLAN_BYTES}` });
    for (const field of SYSTEM_PLAN_FIELDS) {
      if (field in plan) ctx.addIssue({ code: "custom", path: [field], message: "set by the orchestrator on each plan; leave it out" });
    }
    for (const field of ["template", "params"]) {
      if (field in plan) ctx.addIssue({ code: "custom", path: [field], message: "a template's plan is a task plan or an environment plan, not an instance of another template" });
    }
    if (("tasks" in plan) === ("environments" in plan)) ctx.addIssue({ code: "custom", message: "a template's plan gives either tasks (a task plan) or environments (an environment plan)" });
  });

export const templateSpecSchema = z
  .object({
    /** The JSON schema an editor validates the file against (schema/template.schema.json); ignored. */
    $schema: z.string().max(2000).optional(),
    description: z.string().max(5000).optional(),
    params: z
      .record(z.string().regex(PARAM_NAME_PATTERN), paramDeclSchema, { error: (issue) => (issue.code === "invalid_key" ? PARAM_NAME_MESSAGE : undefined) })
      .refine((params) => Object.keys(params).length <= MAX_TEMPLATE_PARAMS, { error: (issue) => `${Object.keys(issue.input as object).length} parameters; at most ${MAX_TEMPLATE_PARAMS}` })
      .default({}),
    plan: templatePlanSchema,
  })
  .strict();
/** What an operator writes: the parameters and the plan (planner/template.ts checks its references). */
export type TemplateDoc = z.output<typeof templateSpecSchema>;

/** What the orchestrator keeps beside the spec. */
export const templateMetaSchema = z.object({
  version: z.number().int().min(1),
  updatedAt: z.number(),
  updatedBy: z.string(),
});
export type TemplateMeta = z.output<typeof templateMetaSchema>;

/** A stored template: its spec at `version`. */
export interface StoredTemplate extends TemplateMeta {
  id: string;
  doc: TemplateDoc;
}

/**
 * A plan document that instantiates a template. Besides `template` and `params` it may carry only
 * what is about this run rather than about the plan: its `name` and `description`, `labels`
 * (merged over the template's), `dryRun`, and `version`, which pins the template's version: the
 * plan renders exactly that version, from the template's history, or is invalid when there is no
 * such version (a reviewed version, or the version a schedule's tick checked, runs and nothing
 * else). How the plan runs (its tasks, failure policy, approvers, …) is the template's.
 */
export const templateInstanceSchema = z
  .object({
    $schema: z.string().max(2000).optional(),
    template: templateIdSchema,
    params: z.record(z.string(), z.unknown()).default({}),
    version: z.number().int().min(1).optional(),
    name: z.string().max(200).optional(),
    description: z.string().max(5000).optional(),
    labels: z.record(z.string().max(63), z.string().max(63)).optional(),
    dryRun: z.boolean().optional(),
  })
  .strict();
export type TemplateInstance = z.output<typeof templateInstanceSchema>;

/** What a schedule runs instead of a plan: a template (its current version at each firing) with its parameters. */
export const scheduleTemplateSchema = z
  .object({
    id: templateIdSchema,
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type ScheduleTemplate = z.output<typeof scheduleTemplateSchema>;
