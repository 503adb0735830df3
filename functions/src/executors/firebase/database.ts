/**
 * `database`: Firestore Security Rules (release `cloud.firestore`) and composite indexes.
 * Without `settings.rules`, any released rules are fine and locked mode is released when none are.
 * Indexes are immutable: one that exists is left as it is, one that is absent is created, and a
 * rollback deletes only an index this plan created.
 */
import { z } from "zod";
import type { ApiCallSite } from "../../clients/errors";
import { diffResource, undoChange, type Change, type JournalEntry, type Made, type UndoOutcome, type View } from "./change-set";
import { canonicalJson, parseSettings, type FirebaseParams, type IntegrationIo, type IntegrationModule } from "./context";
import { applyRules, firestoreTarget, isRulesChange, LOCKED_FIRESTORE_RULES, releaseChangeOf, releasedRuleset, releaseName, rulesChanges, undoRules } from "./rules";

const indexFieldSchema = z
  .object({
    fieldPath: z.string().min(1),
    order: z.enum(["ASCENDING", "DESCENDING"]).optional(),
    arrayConfig: z.enum(["CONTAINS"]).optional(),
  })
  .strict();
const indexSchema = z
  .object({
    collectionGroup: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/),
    queryScope: z.enum(["COLLECTION", "COLLECTION_GROUP"]).default("COLLECTION"),
    fields: z.array(indexFieldSchema).min(2).max(100),
  })
  .strict();
const databaseSettingsSchema = z
  .object({
    rules: z.string().min(1).max(256_000).optional(),
    indexes: z.array(indexSchema).max(200).default([]),
  })
  .passthrough();
type DesiredIndex = z.output<typeof indexSchema>;

interface ApiIndexField {
  fieldPath: string;
  order?: string;
  arrayConfig?: string;
}
interface ApiIndex {
  name: string;
  queryScope?: string;
  fields?: ApiIndexField[];
  state?: string;
}

export const FIRESTORE_INDEX = "firestore.index";

const indexSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Firestore ${operation}`,
  resource,
  role: "roles/datastore.indexAdmin",
  api: "firestore.googleapis.com",
});

const databasePath = (projectId: string): string => `projects/${projectId}/databases/(default)`;
const collectionGroupOf = (indexName: string): string => /collectionGroups\/([^/]+)\/indexes/.exec(indexName)?.[1] ?? "";

/** An index's identity and view: collection group, scope and fields (the `__name__` field Firestore appends ignored). */
function indexView(collectionGroup: string, queryScope: string | undefined, fields: readonly ApiIndexField[] | undefined): View {
  const own = (fields ?? []).filter((f) => f.fieldPath !== "__name__").map((f) => ({ fieldPath: f.fieldPath, order: f.order ?? null, arrayConfig: f.arrayConfig ?? null }));
  return { collectionGroup, queryScope: queryScope ?? "COLLECTION", fields: own };
}
const viewOfIndex = (i: ApiIndex): View => indexView(collectionGroupOf(i.name), i.queryScope, i.fields);

async function listIndexes(io: IntegrationIo, projectId: string, collectionGroup = "-"): Promise<ApiIndex[]> {
  const parent = `${databasePath(projectId)}/collectionGroups/${collectionGroup}`;
  const all: ApiIndex[] = [];
  let pageToken: string | undefined;
  do {
    const page = await io.rest<{ indexes?: ApiIndex[]; nextPageToken?: string }>(indexSite("ListIndexes", parent), {
      service: "firestore",
      method: "GET",
      path: `/v1/${parent}/indexes`,
      query: { pageToken },
    });
    all.push(...(page.indexes ?? []));
    pageToken = page.nextPageToken || undefined;
  } while (pageToken !== undefined);
  return all;
}

/** An index's change: noop when one with the same identity exists, else create. */
function indexChange(projectId: string, want: DesiredIndex, observed: readonly ApiIndex[]): Change {
  const view = indexView(want.collectionGroup, want.queryScope, want.fields);
  const have = observed.find((i) => canonicalJson(viewOfIndex(i)) === canonicalJson(view));
  if (have !== undefined) return { resource: have.name, type: FIRESTORE_INDEX, action: "noop", fields: [], before: viewOfIndex(have), after: viewOfIndex(have) };
  const fields = want.fields.map((f) => `${f.fieldPath} ${f.order ?? f.arrayConfig ?? ""}`.trim()).join(", ");
  return diffResource(FIRESTORE_INDEX, `${databasePath(projectId)}/collectionGroups/${want.collectionGroup}/indexes/(new ${want.queryScope}: ${fields})`, view, undefined);
}

async function applyIndex(io: IntegrationIo, change: Change): Promise<Made> {
  const view = change.after as { collectionGroup: string; queryScope: string; fields: Array<{ fieldPath: string; order: string | null; arrayConfig: string | null }> };
  const parent = change.resource.slice(0, change.resource.lastIndexOf("/indexes/"));
  const fields = view.fields.map((f) => ({ fieldPath: f.fieldPath, ...(f.order === null ? {} : { order: f.order }), ...(f.arrayConfig === null ? {} : { arrayConfig: f.arrayConfig }) }));
  const op = await io.rest<{ metadata?: { index?: string }; response?: { name?: string } }>(indexSite("CreateIndex", parent), {
    service: "firestore",
    method: "POST",
    path: `/v1/${parent}/indexes`,
    body: { queryScope: view.queryScope, fields },
  });
  // Index builds are long-running; the name is known at once, the build finishes on its own.
  const name = op.metadata?.index ?? op.response?.name;
  return { ...(name === undefined ? {} : { name }), version: null, view: change.after };
}

/** Deletes an index this plan created: by the name it was given, or (answer lost) by its identity. */
async function undoIndex(io: IntegrationIo, projectId: string, entry: JournalEntry): Promise<UndoOutcome> {
  const name = entry.made?.name;
  const current =
    name !== undefined
      ? await io.restOrAbsent<ApiIndex>(indexSite("GetIndex", name), { service: "firestore", method: "GET", path: `/v1/${name}` })
      : (await listIndexes(io, projectId, String(entry.change.after.collectionGroup))).find((i) => canonicalJson(viewOfIndex(i)) === canonicalJson(entry.change.after));
  return undoChange(entry, current === undefined ? undefined : { view: viewOfIndex(current) }, {
    remove: () => io.restOrAbsent(indexSite("DeleteIndex", current!.name), { service: "firestore", method: "DELETE", path: `/v1/${current!.name}` }),
  });
}

function desired(p: FirebaseParams): { rules: string | undefined; indexes: DesiredIndex[] } {
  const s = parseSettings(databaseSettingsSchema, p);
  return { rules: s.rules, indexes: s.indexes };
}

export const databaseIntegration: IntegrationModule = {
  async plan(p, io) {
    const s = desired(p);
    const target = firestoreTarget(p.projectId);
    const [rules, observedIndexes] = await Promise.all([
      rulesChanges(io, target, s.rules ?? LOCKED_FIRESTORE_RULES, s.rules === undefined ? "present" : "exact"),
      s.indexes.length === 0 ? Promise.resolve([]) : listIndexes(io, p.projectId),
    ]);
    const indexes = s.indexes.map((want) => indexChange(p.projectId, want, observedIndexes));
    const release = releaseChangeOf(rules, target);
    return {
      changes: [...rules, ...indexes],
      desired: { rules: s.rules ?? "(any released rules)", indexes: s.indexes },
      observed: { release: release?.before ?? null, indexes: indexes.map((c) => (c.action === "noop" ? { name: c.resource, ...c.before } : null)) },
    };
  },
  apply: (_p, change, io, earlier) => (isRulesChange(change) ? applyRules(io, change, earlier) : applyIndex(io, change)),
  undo: (p, entry, io) => (isRulesChange(entry.change) ? undoRules(io, entry) : undoIndex(io, p.projectId, entry)),
  outputs(p, plan, made) {
    const target = firestoreTarget(p.projectId);
    return {
      integration: "database",
      firestoreReleaseName: releaseName(target),
      rulesetName: releasedRuleset(plan.changes, made, target),
      indexNames: plan.changes.filter((c) => c.type === FIRESTORE_INDEX).map((c) => made.get(c.resource)?.name ?? c.resource),
    };
  },
};
