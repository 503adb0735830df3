/**
 * Plan templates (`templates/{id}`, schema/template.ts): listed and read by viewers, set and
 * deleted by operators, like schedules and windows. A template is checked when it is written: its
 * parameters' declarations and every `${params.…}` reference of its plan (planner/template.ts);
 * its plan is compiled when it is instantiated (`POST /plans?validateOnly=true` with
 * `{template, params}` checks an instance without running it). Problems come back as 400s with
 * their paths (`params.region.default`, `plan.tasks.0.params.url`).
 */
import { parseTemplateSpec } from "../planner/template";
import { parseWith } from "../schema/issues";
import { TEMPLATE_SYSTEM_FIELDS, templateIdSchema, type StoredTemplate } from "../schema/template";
import { deleteTemplate, readTemplate, readTemplates, readTemplateVersion, writeTemplate } from "../store/templates";
import { principalName, type Principal } from "./auth";
import type { ApiContext } from "./context";
import { invalid, jsonObjectBody, notFound, ok, type ApiRequest, type ApiResponse } from "./http";

export type TemplateView = { id: string; version: number; updatedAt: number; updatedBy: string } & StoredTemplate["doc"];

export const templateView = (t: StoredTemplate): TemplateView => ({ id: t.id, ...t.doc, version: t.version, updatedAt: t.updatedAt, updatedBy: t.updatedBy });

/** `GET /templates` */
export async function listTemplates(ctx: ApiContext): Promise<ApiResponse> {
  const { templates, unreadable } = await readTemplates(ctx.db);
  return ok({ templates: templates.map(templateView), unreadable });
}

/** `GET /templates/:id`, and `?version=3` for that version from its history (what plans compiled from it rendered). */
export async function getTemplate(ctx: ApiContext, templateId: string, req: ApiRequest): Promise<ApiResponse> {
  const asked = req.query.version;
  const version = asked === undefined ? undefined : Number(asked);
  if (version !== undefined && !(Number.isInteger(version) && version >= 1)) return invalid("the version is a whole number", [{ path: "version", message: "a template's version: 1, 2, …" }]);
  const read = version === undefined ? await readTemplate(ctx.db, templateId) : await readTemplateVersion(ctx.db, templateId, version);
  switch (read.kind) {
    case "found":
      return ok({ template: templateView(read.template) });
    case "unreadable":
      return invalid(`template "${templateId}" cannot be read: set it again`, [{ path: "", message: read.problem }]);
    case "deleted":
      return notFound(`template "${templateId}" was deleted${read.deletedBy === null ? "" : ` by ${read.deletedBy}`} (at version ${read.version}); its versions stay readable with ?version=`);
    case "missing":
      return notFound(version === undefined ? `there is no template "${templateId}"` : `template "${templateId}" has no version ${version}`);
  }
}

/** `POST /templates`: `{ id, description?, params, plan }` creates template `id`, or writes its next version. */
export async function setTemplate(ctx: ApiContext, principal: Principal, req: ApiRequest): Promise<ApiResponse> {
  const body = jsonObjectBody(req);
  if (!body.ok) return body.response;
  const { id, ...spec } = body.value;
  const parsedId = parseWith(templateIdSchema, id);
  if (!parsedId.ok) return invalid("the template needs an id; nothing was written", parsedId.errors.map((e) => ({ ...e, path: ["id", e.path].filter(Boolean).join(".") })));
  const system = TEMPLATE_SYSTEM_FIELDS.filter((f) => f in spec).map((f) => ({ path: f, message: "set by the orchestrator; leave it out" }));
  if (system.length > 0) return invalid("the template sets fields the orchestrator owns; nothing was written", system);
  const parsed = parseTemplateSpec(spec);
  if (!parsed.ok) return invalid("the template is not valid; nothing was written", parsed.errors);
  const saved = await writeTemplate(ctx.db, parsedId.value, parsed.value, principalName(principal), ctx.now());
  return ok({ created: saved.created, template: templateView(saved.template) });
}

/** `POST /templates/:id/delete`: plans compiled from it go on (they render their version from its history); new instances are invalid. */
export async function removeTemplate(ctx: ApiContext, principal: Principal, templateId: string): Promise<ApiResponse> {
  return (await deleteTemplate(ctx.db, templateId, principalName(principal), ctx.now())) ? ok({ deleted: templateId }) : notFound(`there is no template "${templateId}"`);
}
