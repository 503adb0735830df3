/**
 * Plan templates (schema/template.ts): the parameters' zod schema, the references checked when a
 * template is written, and the rendering of an instance into the plan document it stands for.
 * Pure: no Firebase, no clock; the template is loaded by the caller (store/templates.ts).
 *
 * Substitution, in the string values of the template's plan (never in keys):
 *   - a string that is exactly `${params.name}` becomes the parameter's value with its type (a
 *     number stays a number, a boolean a boolean); an optional parameter without a value leaves
 *     the field out (an array's element too);
 *   - `${params.name}` inside other text is interpolated as text (`String(value)`; nothing for an
 *     optional parameter without a value);
 *   - `$${` is a literal `${`; any other `${…}` is a mistake, reported with its path when the
 *     template is written, as is a reference to a parameter the template does not declare.
 */
import { z } from "zod";
import { parseWith, type FieldError, type Parsed } from "../schema/issues";
import { paramValueSchemaOf, templateInstanceSchema, templateSpecSchema, type ParamValue, type StoredTemplate, type TemplateDoc } from "../schema/template";

/** A loaded template, as the compile is given it. */
export type LoadedTemplate = Pick<StoredTemplate, "id" | "version" | "doc">;

/** One piece of a template string: literal text, or a parameter's reference. */
export type TemplatePart = { text: string } | { param: string };

const REFERENCE = /^params\.([A-Za-z][A-Za-z0-9_]{0,62})$/;
const REFERENCE_ADVICE = "write ${params.<name>} for a parameter, or $${ for a literal ${";

/** A template string's pieces, or why it is not one (an unclosed or unknown `${…}`). */
export function parseTemplateString(value: string): { ok: true; parts: TemplatePart[] } | { ok: false; message: string } {
  const parts: TemplatePart[] = [];
  let text = "";
  let i = 0;
  while (i < value.length) {
    if (value.startsWith("$${", i)) {
      text += "${";
      i += 3;
      continue;
    }
    if (value.startsWith("${", i)) {
      const close = value.indexOf("}", i + 2);
      if (close === -1) return { ok: false, message: `"\${" at character ${i + 1} is not closed: ${REFERENCE_ADVICE}` };
      const inner = value.slice(i + 2, close);
      const ref = REFERENCE.exec(inner);
      if (ref === null) return { ok: false, message: `"\${${inner.length > 40 ? `${inner.slice(0, 40)}…` : inner}}" is not a parameter reference: ${REFERENCE_ADVICE}` };
      if (text !== "") parts.push({ text });
      text = "";
      parts.push({ param: ref[1]! });
      i = close + 1;
      continue;
    }
    text += value[i];
    i += 1;
  }
  if (text !== "" || parts.length === 0) parts.push({ text });
  return { ok: true, parts };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const join = (path: string, key: string | number): string => (path === "" ? String(key) : `${path}.${key}`);

/** Calls `visit` for every string value of `value` (depth first), with its path; keys go to `visitKey`. */
function eachString(value: unknown, path: string, visit: (s: string, path: string) => void, visitKey: (key: string, path: string) => void): void {
  if (typeof value === "string") visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => eachString(v, join(path, i), visit, visitKey));
  else if (isRecord(value)) {
    for (const [key, v] of Object.entries(value)) {
      visitKey(key, join(path, key));
      eachString(v, join(path, key), visit, visitKey);
    }
  }
}

/** Every reference of the template's plan that is malformed or names no declared parameter, by its path (`plan.tasks.0.params.url`). */
export function templateReferenceErrors(template: TemplateDoc): FieldError[] {
  const errors: FieldError[] = [];
  const declared = Object.keys(template.params);
  eachString(
    template.plan,
    "plan",
    (s, path) => {
      if (!s.includes("${")) return;
      const parsed = parseTemplateString(s);
      if (!parsed.ok) {
        errors.push({ path, message: parsed.message });
        return;
      }
      for (const part of parsed.parts) {
        if ("param" in part && !declared.includes(part.param)) {
          errors.push({ path, message: `\${params.${part.param}}: the template declares no parameter "${part.param}" (${declared.length === 0 ? "it declares none" : `it declares ${declared.join(", ")}`})` });
        }
      }
    },
    (key, path) => {
      if (key.includes("${params.")) errors.push({ path, message: "parameters are substituted in values, not in keys" });
    },
  );
  return errors;
}

/** A template as an operator writes it: its shape (schema/template.ts), then its references. */
export function parseTemplateSpec(input: unknown): Parsed<TemplateDoc> {
  const parsed = parseWith(templateSpecSchema, input);
  if (!parsed.ok) return parsed;
  const errors = templateReferenceErrors(parsed.value);
  return errors.length > 0 ? { ok: false, errors } : parsed;
}

/**
 * The typed parameters, validated with zod: one field per declared parameter, its default filled
 * in, an optional one without a default left out; a parameter the template does not declare is
 * refused (strict).
 */
export function buildParamsSchema(template: TemplateDoc): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, decl] of Object.entries(template.params)) {
    const value = paramValueSchemaOf(decl);
    shape[name] = decl.default !== undefined ? value.default(decl.default) : decl.required === false ? value.optional() : value;
  }
  return z.object(shape).strict();
}

/** The values of the parameters, or each problem at `params.<name>`. */
export function parseTemplateParams(template: TemplateDoc, params: unknown): Parsed<Record<string, ParamValue | undefined>> {
  if (!isRecord(params)) return { ok: false, errors: [{ path: "params", message: "an object of the template's parameters, by name" }] };
  const declared = Object.keys(template.params);
  const result = buildParamsSchema(template).safeParse(params);
  if (result.success) return { ok: true, value: result.data as Record<string, ParamValue | undefined> };
  const errors: FieldError[] = result.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: `params.${key}`, message: `the template has no parameter "${key}" (${declared.length === 0 ? "it has none" : `it has ${declared.join(", ")}`})` }))
      : [{ path: ["params", ...issue.path.map(String)].join("."), message: issue.message }],
  );
  return { ok: false, errors };
}

/** Where a rendered value came from: the parameters in it, whether it was exactly one reference, and its path in the template. */
export interface ValueSource {
  params: string[];
  whole: boolean;
  templatePath: string;
}

export type Instantiated = { ok: true; doc: Record<string, unknown>; sources: Map<string, ValueSource> } | { ok: false; errors: FieldError[] };

const ABSENT = Symbol("absent");

/**
 * The template's plan with the parameters' values in (see the header for the rules). `sources`
 * maps each substituted value's path in the result to where it came from, so a problem the
 * compile finds there can be put on the parameter that caused it.
 */
export function instantiateTemplate(template: TemplateDoc, params: unknown): Instantiated {
  const parsed = parseTemplateParams(template, params);
  if (!parsed.ok) return parsed;
  const values = parsed.value;
  const errors: FieldError[] = [];
  const sources = new Map<string, ValueSource>();

  const render = (value: unknown, path: string, templatePath: string): unknown => {
    if (typeof value === "string") {
      if (!value.includes("${")) return value;
      const pieces = parseTemplateString(value);
      if (!pieces.ok) {
        errors.push({ path: `plan.${templatePath}`, message: pieces.message });
        return value;
      }
      const used = pieces.parts.flatMap((p) => ("param" in p ? [p.param] : []));
      const unknown = used.filter((name) => !(name in template.params));
      if (unknown.length > 0) {
        errors.push({ path: `plan.${templatePath}`, message: `\${params.${unknown[0]}}: the template declares no parameter "${unknown[0]}"` });
        return value;
      }
      const [only] = pieces.parts;
      const whole = pieces.parts.length === 1 && only !== undefined && "param" in only;
      if (used.length > 0) sources.set(path, { params: [...new Set(used)], whole, templatePath: `plan.${templatePath}` });
      if (whole) return values[only.param] ?? ABSENT;
      return pieces.parts.map((p) => ("text" in p ? p.text : String(values[p.param] ?? ""))).join("");
    }
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      value.forEach((v, i) => {
        const rendered = render(v, join(path, out.length), join(templatePath, i));
        if (rendered !== ABSENT) out.push(rendered);
      });
      return out;
    }
    if (isRecord(value)) {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        const rendered = render(v, join(path, key), join(templatePath, key));
        if (rendered !== ABSENT) out[key] = rendered;
      }
      return out;
    }
    return value;
  };

  const doc = render(template.plan, "", "") as Record<string, unknown>;
  return errors.length > 0 ? { ok: false, errors } : { ok: true, doc, sources };
}

/** A plan document names a template (it has `template`): compile renders it first. */
export const namesTemplate = (spec: Record<string, unknown>): boolean => spec.template !== undefined;

export type RenderedInstance =
  | { ok: true; doc: Record<string, unknown>; template: { id: string; version: number }; locate: (errors: FieldError[]) => FieldError[] }
  | { ok: false; errors: FieldError[] };

/**
 * A plan document `{template, params, …}` (its user fields) as the plan it stands for: the
 * template's plan with the parameters in, then the instance's own `name`, `description`,
 * `dryRun` over the template's and its `labels` merged over the template's. `loaded` is the
 * template the caller loaded for it (absent, or another one: "no template named …").
 *
 * `locate` turns a problem the compile finds in the rendered plan into one the instance's author
 * can act on: a value that was exactly one parameter's reference is that parameter's problem
 * (`params.projectId`); anything else is the template's, at its path in the template
 * (`(template nightly@3).plan.tasks.0.params.url`).
 */
export function renderTemplateInstance(spec: Record<string, unknown>, loaded: LoadedTemplate | undefined): RenderedInstance {
  const both = ["tasks", "environments"].filter((f) => f in spec);
  if (both.length > 0) return { ok: false, errors: both.map((f) => ({ path: f, message: "a plan names a template, or gives tasks or environments itself: not both" })) };
  const parsed = parseWith(templateInstanceSchema, spec);
  if (!parsed.ok) return parsed;
  const instance = parsed.value;
  if (loaded === undefined || loaded.id !== instance.template) return { ok: false, errors: [{ path: "template", message: `no template named "${instance.template}" (operators write them with POST /api/templates)` }] };
  if (instance.version !== undefined && instance.version !== loaded.version) {
    return { ok: false, errors: [{ path: "version", message: `template "${loaded.id}" has no version ${instance.version} (it is at version ${loaded.version})` }] };
  }
  const rendered = instantiateTemplate(loaded.doc, instance.params);
  if (!rendered.ok) return { ok: false, errors: rendered.errors.map((e) => (e.path.startsWith("params") ? e : { path: `(template ${loaded.id}@${loaded.version}).${e.path}`, message: e.message })) };
  const plan = rendered.doc;
  const where = `(template ${loaded.id}@${loaded.version})`;
  // schema/template.ts refuses this when the template is written; checked again, since the compile renders what it is given.
  if (namesTemplate(plan)) return { ok: false, errors: [{ path: `${where}.plan.template`, message: "a template's plan may not name another template" }] };
  const templateLabels = isRecord(plan.labels) ? plan.labels : undefined;
  const labels = templateLabels === undefined && instance.labels === undefined ? undefined : { ...templateLabels, ...instance.labels };
  const doc: Record<string, unknown> = {
    ...plan,
    ...(instance.name === undefined ? {} : { name: instance.name }),
    ...(instance.description === undefined ? {} : { description: instance.description }),
    ...(instance.dryRun === undefined ? {} : { dryRun: instance.dryRun }),
    ...(labels === undefined ? {} : { labels }),
  };
  const locate = (errors: FieldError[]): FieldError[] =>
    errors.map((e) => {
      const source = rendered.sources.get(e.path);
      if (source?.whole === true) return { path: `params.${source.params[0]}`, message: `${e.message} (template ${loaded.id} puts it at ${source.templatePath})` };
      const at = source?.templatePath ?? (e.path === "" ? "plan" : e.path.startsWith("(") ? e.path : `plan.${e.path}`);
      const from = source === undefined ? "" : ` (from ${source.params.map((p) => `params.${p}`).join(", ")})`;
      return { path: `${where}.${at}`, message: `${e.message}${from}` };
    });
  return { ok: true, doc, template: { id: loaded.id, version: loaded.version }, locate };
}
