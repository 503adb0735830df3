/**
 * `security`: releases hardened Firestore and Storage rules over whatever `database` and `storage`
 * released (so it should run after them). Compensation returns both releases to locked mode, which
 * is always safe, rather than to rules that may have been open.
 */
import { z } from "zod";
import type { ResourceChange } from "../types";
import { parseSettings, type FirebaseParams, type IntegrationModule } from "./context";
import {
  ensureRules,
  firestoreTarget,
  HARDENED_FIRESTORE_RULES,
  HARDENED_STORAGE_RULES,
  LOCKED_FIRESTORE_RULES,
  LOCKED_STORAGE_RULES,
  observeRules,
  releaseName,
  replaceRulesIf,
  rulesDrift,
  storageTarget,
  type RulesTarget,
} from "./rules";
import { storageBucketOf } from "./storage";

const securitySettingsSchema = z
  .object({
    firestoreRules: z.string().min(1).max(256_000).default(HARDENED_FIRESTORE_RULES),
    storageRules: z.string().min(1).max(256_000).default(HARDENED_STORAGE_RULES),
    bucket: z.string().optional(),
  })
  .passthrough();

function targets(p: FirebaseParams): Array<{ target: RulesTarget; content: string; locked: string }> {
  const s = parseSettings(securitySettingsSchema, p);
  return [
    { target: firestoreTarget(p.projectId), content: s.firestoreRules, locked: LOCKED_FIRESTORE_RULES },
    { target: storageTarget(p.projectId, storageBucketOf(p)), content: s.storageRules, locked: LOCKED_STORAGE_RULES },
  ];
}

export const securityIntegration: IntegrationModule = {
  async observe(p, io) {
    const all = targets(p);
    const observed = await Promise.all(all.map(({ target }) => observeRules(io, target)));
    return {
      desired: Object.fromEntries(all.map(({ target, content }) => [releaseName(target), content])),
      observed: Object.fromEntries(all.map(({ target }, i) => [releaseName(target), observed[i]!.source ?? null])),
      drift: all.flatMap(({ target, content }, i) => rulesDrift(target, observed[i]!, content)),
    };
  },

  async provision(p, io) {
    const all = targets(p);
    const changes: ResourceChange[] = [];
    const rulesetNames: string[] = [];
    for (const { target, content } of all) {
      const result = await ensureRules(io, target, content, "exact");
      changes.push(...result.changes);
      rulesetNames.push(result.rulesetName);
    }
    return {
      changes,
      desired: Object.fromEntries(all.map(({ target, content }) => [releaseName(target), content])),
      observed: Object.fromEntries(all.map(({ target, content }) => [releaseName(target), content])),
      outputs: { integration: "security", releaseNames: all.map(({ target }) => releaseName(target)), rulesetNames },
    };
  },

  async compensate(p, io) {
    const changes: ResourceChange[] = [];
    for (const { target, content, locked } of targets(p)) changes.push(...(await replaceRulesIf(io, target, content, locked)));
    return changes;
  },
};
