/**
 * `security`: releases hardened Firestore and Storage rules over whatever `database` and `storage`
 * released (so it should run after them). A rollback puts back exactly what was released before
 * (and deletes a release this plan created), like every other change set.
 */
import { z } from "zod";
import { parseSettings, type FirebaseParams, type IntegrationModule } from "./context";
import { applyRules, firestoreTarget, HARDENED_FIRESTORE_RULES, HARDENED_STORAGE_RULES, releaseChangeOf, releasedRuleset, releaseName, rulesChanges, storageTarget, undoRules, type RulesTarget } from "./rules";
import { storageBucketOf } from "./storage";

const securitySettingsSchema = z
  .object({
    firestoreRules: z.string().min(1).max(256_000).default(HARDENED_FIRESTORE_RULES),
    storageRules: z.string().min(1).max(256_000).default(HARDENED_STORAGE_RULES),
    bucket: z.string().optional(),
  })
  .passthrough();

function targets(p: FirebaseParams): Array<{ target: RulesTarget; content: string }> {
  const s = parseSettings(securitySettingsSchema, p);
  return [
    { target: firestoreTarget(p.projectId), content: s.firestoreRules },
    { target: storageTarget(p.projectId, storageBucketOf(p)), content: s.storageRules },
  ];
}

export const securityIntegration: IntegrationModule = {
  async plan(p, io) {
    const all = targets(p);
    // Firestore first, then Storage: each a new ruleset, then its release.
    const changes = (await Promise.all(all.map(({ target, content }) => rulesChanges(io, target, content, "exact")))).flat();
    return {
      changes,
      desired: Object.fromEntries(all.map(({ target, content }) => [releaseName(target), content])),
      observed: Object.fromEntries(all.map(({ target }) => [releaseName(target), releaseChangeOf(changes, target)?.before ?? null])),
    };
  },
  apply: (_p, change, io, earlier) => applyRules(io, change, earlier),
  undo: (_p, entry, io) => undoRules(io, entry),
  outputs(p, plan, made) {
    const all = targets(p);
    return {
      integration: "security",
      releaseNames: all.map(({ target }) => releaseName(target)),
      rulesetNames: all.map(({ target }) => releasedRuleset(plan.changes, made, target)),
    };
  },
};
