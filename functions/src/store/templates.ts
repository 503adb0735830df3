/**
 * Plan templates in Firestore (schema/template.ts): `templates/{id}` holds the current version,
 * `templates/{id}/versions/{version}` a copy of every version ever written, both written in one
 * transaction that counts the version up. A plan keeps the version it was first compiled from
 * (`compiled.template`): when it is started again (it waited for a lock or a freeze, its start
 * died, a retry of a plan that never began) it renders that version again, whatever was written
 * since. Deleting a template leaves a tombstone with its last version number, so a number never
 * names two different plans, and its history, which the plans compiled from it still render.
 *
 * The plan trigger, `POST /api/plans` and the schedules load a plan document's template here and
 * hand it to the (pure) compile as `CompileOptions.template`.
 */
import type { DocumentReference, Firestore } from "firebase-admin/firestore";
import { parseTemplateSpec, type LoadedTemplate } from "../planner/template";
import type { FieldError } from "../schema/issues";
import { TEMPLATE_ID_PATTERN, TEMPLATE_SYSTEM_FIELDS, templateMetaSchema, type StoredTemplate, type TemplateDoc } from "../schema/template";

/** `templates/{templateId}`; store/paths.ts is where the engine's collections live. */
export const TEMPLATES_COLLECTION = "templates";
export const TEMPLATE_VERSIONS_COLLECTION = "versions";
export const templatesOf = (db: Firestore) => db.collection(TEMPLATES_COLLECTION);
export const templateRef = (db: Firestore, templateId: string): DocumentReference => templatesOf(db).doc(templateId);
export const templateVersionRef = (db: Firestore, templateId: string, version: number): DocumentReference => templateRef(db, templateId).collection(TEMPLATE_VERSIONS_COLLECTION).doc(String(version));

/** Bounded: the API lists templates whole. */
export const MAX_LISTED_TEMPLATES = 500;

export type TemplateRead =
  | { kind: "found"; template: StoredTemplate }
  | { kind: "missing" }
  | { kind: "deleted"; version: number; deletedAt: number | null; deletedBy: string | null }
  | { kind: "unreadable"; problem: string };

/** A stored template (or one of its versions), a tombstone, or what is wrong with it (one written around the API). */
export function parseStoredTemplate(id: string, data: Record<string, unknown> | undefined): TemplateRead {
  if (data === undefined) return { kind: "missing" };
  if (data.deleted === true) {
    return { kind: "deleted", version: typeof data.version === "number" ? data.version : 0, deletedAt: typeof data.deletedAt === "number" ? data.deletedAt : null, deletedBy: typeof data.deletedBy === "string" ? data.deletedBy : null };
  }
  const own = new Set<string>(TEMPLATE_SYSTEM_FIELDS);
  const spec = parseTemplateSpec(Object.fromEntries(Object.entries(data).filter(([field]) => !own.has(field))));
  const meta = templateMetaSchema.safeParse(data);
  if (spec.ok && meta.success) return { kind: "found", template: { id, doc: spec.value, ...meta.data } };
  const first = spec.ok ? { path: meta.error!.issues[0]!.path.join("."), message: meta.error!.issues[0]!.message } : spec.errors[0]!;
  return { kind: "unreadable", problem: `${first.path || "(document)"}: ${first.message} (write templates through POST /api/templates)` };
}

export async function readTemplate(db: Firestore, templateId: string): Promise<TemplateRead> {
  const snap = await templateRef(db, templateId).get();
  return parseStoredTemplate(templateId, snap.exists ? snap.data() : undefined);
}

/** Version `version` of a template from its history (a deleted template's too). */
export async function readTemplateVersion(db: Firestore, templateId: string, version: number): Promise<TemplateRead> {
  const snap = await templateVersionRef(db, templateId, version).get();
  const read = parseStoredTemplate(templateId, snap.exists ? snap.data() : undefined);
  return read.kind === "found" && read.template.version !== version ? { kind: "unreadable", problem: `versions/${version} holds version ${read.template.version}` } : read;
}

export interface StoredTemplates {
  templates: StoredTemplate[];
  unreadable: Array<{ id: string; problem: string }>;
}

/** Every template (tombstones left out), and the documents that do not parse. */
export async function readTemplates(db: Firestore): Promise<StoredTemplates> {
  const snap = await templatesOf(db).limit(MAX_LISTED_TEMPLATES + 1).get();
  const result: StoredTemplates = { templates: [], unreadable: [] };
  for (const doc of snap.docs.slice(0, MAX_LISTED_TEMPLATES)) {
    const read = parseStoredTemplate(doc.id, doc.data());
    if (read.kind === "found") result.templates.push(read.template);
    else if (read.kind === "unreadable") result.unreadable.push({ id: doc.id, problem: read.problem });
  }
  if (snap.size > MAX_LISTED_TEMPLATES) result.unreadable.push({ id: "(templates)", problem: `more than ${MAX_LISTED_TEMPLATES} templates: only the first are listed` });
  return result;
}

/** Firestore refuses `undefined`; through JSON an absent optional is absent. */
const storable = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * Creates or replaces a template: the next version (one more than the stored one, a tombstone's
 * too), written as the current document and into the history in one transaction. The history's
 * document is created, never overwritten: a version, once written, is what it is.
 */
export async function writeTemplate(db: Firestore, templateId: string, doc: TemplateDoc, by: string, now: number): Promise<{ created: boolean; template: StoredTemplate }> {
  return db.runTransaction(async (tx) => {
    const ref = templateRef(db, templateId);
    const snap = await tx.get(ref);
    const before = snap.exists ? snap.data()! : undefined;
    const previous = typeof before?.version === "number" && Number.isInteger(before.version) ? before.version : 0;
    const template: StoredTemplate = { id: templateId, doc, version: previous + 1, updatedAt: now, updatedBy: by };
    const data = storable({ ...doc, version: template.version, updatedAt: now, updatedBy: by });
    tx.set(ref, data);
    tx.create(templateVersionRef(db, templateId, template.version), data);
    return { created: before === undefined || before.deleted === true, template };
  });
}

/** Deletes a template (a tombstone keeps its version number; its history stays); false when there was none. */
export async function deleteTemplate(db: Firestore, templateId: string, by: string, now: number): Promise<boolean> {
  return db.runTransaction(async (tx) => {
    const ref = templateRef(db, templateId);
    const snap = await tx.get(ref);
    const data = snap.exists ? snap.data()! : undefined;
    if (data === undefined || data.deleted === true) return false;
    tx.set(ref, { deleted: true, version: typeof data.version === "number" ? data.version : 0, deletedAt: now, deletedBy: by });
    return true;
  });
}

const positiveInteger = (value: unknown): number | undefined => (typeof value === "number" && Number.isInteger(value) && value >= 1 ? value : undefined);

/** The version a plan document was compiled from before (`compiled.template`), if it was, from this template. */
function compiledVersion(doc: Record<string, unknown>, templateId: string): number | undefined {
  const compiled = doc.compiled as { template?: { id?: unknown; version?: unknown } | null } | null | undefined;
  return compiled?.template?.id === templateId ? positiveInteger(compiled.template.version) : undefined;
}

export type TemplateForPlan = { ok: true; template?: LoadedTemplate } | { ok: false; errors: FieldError[] };

const loaded = (t: StoredTemplate): TemplateForPlan => ({ ok: true, template: { id: t.id, version: t.version, doc: t.doc } });

/**
 * The template a plan document names, at the version it renders: the one it was compiled from
 * before (it is being started again), else the one it pins (`version`), else the current one.
 * Nothing (and the compile says "no template named …") when it names none, or one that is not
 * there (never written, or deleted: a deleted template starts no new plan). A document that does
 * not name one properly is left to the compile to describe.
 */
export async function templateForPlan(db: Firestore, doc: Record<string, unknown>): Promise<TemplateForPlan> {
  const templateId = doc.template;
  if (typeof templateId !== "string" || !TEMPLATE_ID_PATTERN.test(templateId)) return { ok: true };
  const before = compiledVersion(doc, templateId);
  if (before !== undefined) {
    const kept = await readTemplateVersion(db, templateId, before);
    if (kept.kind === "found") return loaded(kept.template);
    return { ok: false, errors: [{ path: "template", message: `the plan was compiled from version ${before} of template "${templateId}", which ${kept.kind === "unreadable" ? `cannot be read (${kept.problem})` : "is no longer in its history"}` }] };
  }
  const current = await readTemplate(db, templateId);
  if (current.kind === "unreadable") return { ok: false, errors: [{ path: "template", message: `template "${templateId}" cannot be read: ${current.problem}` }] };
  if (current.kind !== "found") return { ok: true };
  const pinned = positiveInteger(doc.version);
  if (pinned === undefined || pinned === current.template.version) return loaded(current.template);
  const old = await readTemplateVersion(db, templateId, pinned);
  // No such version: the current one, and the compile says which version there is.
  return old.kind === "found" ? loaded(old.template) : loaded(current.template);
}
