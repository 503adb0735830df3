/**
 * `database`: Firestore Security Rules (release `cloud.firestore`) and composite indexes.
 * Without `settings.rules`, any released rules are fine and locked mode is released when none are.
 */
import { z } from "zod";
import type { ApiCallSite } from "../../clients/errors";
import type { DriftItem, ResourceChange } from "../types";
import { canonicalJson, parseSettings, type FirebaseParams, type IntegrationIo, type IntegrationModule } from "./context";
import { ensureRules, firestoreTarget, LOCKED_FIRESTORE_RULES, observeRules, releaseName, removeRules, rulesDrift } from "./rules";

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

interface ApiIndex {
  name: string;
  queryScope?: string;
  fields?: Array<{ fieldPath: string; order?: string; arrayConfig?: string }>;
  state?: string;
}

const indexSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Firestore ${operation}`,
  resource,
  role: "roles/datastore.indexAdmin",
  api: "firestore.googleapis.com",
});

const databasePath = (projectId: string): string => `projects/${projectId}/databases/(default)`;
const collectionGroupOf = (indexName: string): string => /collectionGroups\/([^/]+)\/indexes/.exec(indexName)?.[1] ?? "";

/** Index identity: collection group, scope and fields (the `__name__` field Firestore appends ignored). */
function indexKey(collectionGroup: string, queryScope: string | undefined, fields: ApiIndex["fields"]): string {
  const own = (fields ?? []).filter((f) => f.fieldPath !== "__name__").map((f) => ({ fieldPath: f.fieldPath, order: f.order ?? null, arrayConfig: f.arrayConfig ?? null }));
  return canonicalJson({ collectionGroup, queryScope: queryScope ?? "COLLECTION", fields: own });
}

async function listIndexes(io: IntegrationIo, projectId: string): Promise<ApiIndex[]> {
  const parent = `${databasePath(projectId)}/collectionGroups/-`;
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

function matchIndexes(desired: DesiredIndex[], observed: ApiIndex[]): Array<{ want: DesiredIndex; have?: ApiIndex }> {
  const byKey = new Map(observed.map((i) => [indexKey(collectionGroupOf(i.name), i.queryScope, i.fields), i]));
  return desired.map((want) => ({ want, have: byKey.get(indexKey(want.collectionGroup, want.queryScope, want.fields)) }));
}

function indexDrift(projectId: string, matched: Array<{ want: DesiredIndex; have?: ApiIndex }>): DriftItem[] {
  return matched
    .filter((m) => m.have === undefined)
    .map((m) => ({
      resource: `${databasePath(projectId)}/collectionGroups/${m.want.collectionGroup}/indexes`,
      field: `(index ${m.want.fields.map((f) => f.fieldPath).join(",")})`,
      desired: m.want,
      observed: "absent",
    }));
}

export const databaseIntegration: IntegrationModule = {
  async observe(p: FirebaseParams, io: IntegrationIo) {
    const s = parseSettings(databaseSettingsSchema, p);
    const target = firestoreTarget(p.projectId);
    const rules = await observeRules(io, target);
    const matched = matchIndexes(s.indexes, s.indexes.length === 0 ? [] : await listIndexes(io, p.projectId));
    return {
      desired: { rules: s.rules ?? "(any released rules)", indexes: s.indexes },
      observed: { release: rules.release ?? null, rules: rules.source ?? null, indexes: matched.map((m) => m.have ?? null) },
      drift: [...rulesDrift(target, rules, s.rules), ...indexDrift(p.projectId, matched)],
    };
  },

  async provision(p, io) {
    const s = parseSettings(databaseSettingsSchema, p);
    const target = firestoreTarget(p.projectId);
    const rules = await ensureRules(io, target, s.rules ?? LOCKED_FIRESTORE_RULES, s.rules === undefined ? "present" : "exact");
    const changes: ResourceChange[] = [...rules.changes];
    const indexNames: string[] = [];
    const matched = matchIndexes(s.indexes, s.indexes.length === 0 ? [] : await listIndexes(io, p.projectId));
    for (const { want, have } of matched) {
      if (have !== undefined) {
        indexNames.push(have.name);
        changes.push({ kind: "unchanged", resource: have.name });
        continue;
      }
      const parent = `${databasePath(p.projectId)}/collectionGroups/${want.collectionGroup}`;
      const op = await io.rest<{ name?: string; metadata?: { index?: string }; response?: { name?: string } }>(indexSite("CreateIndex", parent), {
        service: "firestore",
        method: "POST",
        path: `/v1/${parent}/indexes`,
        body: { queryScope: want.queryScope, fields: want.fields },
      });
      // Index builds are long-running; the name is known at once, the build finishes on its own.
      const name = op.metadata?.index ?? op.response?.name ?? `${parent}/indexes/(building)`;
      indexNames.push(name);
      changes.push({ kind: "created", resource: name });
    }
    return {
      changes,
      desired: { rules: s.rules ?? "(any released rules)", indexes: s.indexes },
      observed: { release: rules.observed.release ?? null, rules: rules.observed.source ?? null, indexNames },
      outputs: { integration: "database", firestoreReleaseName: releaseName(target), rulesetName: rules.rulesetName, indexNames },
    };
  },

  async compensate(p, io) {
    const s = parseSettings(databaseSettingsSchema, p);
    const changes: ResourceChange[] = [];
    if (s.indexes.length > 0) {
      for (const { have } of matchIndexes(s.indexes, await listIndexes(io, p.projectId))) {
        if (have === undefined) continue;
        const gone = await io.restOrAbsent(indexSite("DeleteIndex", have.name), { service: "firestore", method: "DELETE", path: `/v1/${have.name}` });
        if (gone !== undefined) changes.push({ kind: "deleted", resource: have.name });
      }
    }
    changes.push(...(await removeRules(io, firestoreTarget(p.projectId))));
    return changes;
  },
};
