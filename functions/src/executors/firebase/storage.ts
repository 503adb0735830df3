/** `storage`: Cloud Storage for Firebase Security Rules, released for the environment's bucket. */
import { z } from "zod";
import { parseSettings, type FirebaseParams, type IntegrationModule } from "./context";
import { applyRules, LOCKED_STORAGE_RULES, releaseChangeOf, releasedRuleset, releaseName, rulesChanges, storageTarget, undoRules } from "./rules";

const storageSettingsSchema = z
  .object({
    /** Default: the project's default Firebase bucket. */
    bucket: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/).optional(),
    rules: z.string().min(1).max(256_000).optional(),
  })
  .passthrough();

export function storageBucketOf(p: FirebaseParams): string {
  const bucket = storageSettingsSchema.safeParse(p.settings).data?.bucket;
  return bucket ?? `${p.projectId}.firebasestorage.app`;
}

/** Without `settings.rules`, any released rules are fine and locked mode is released when none are. */
export const storageIntegration: IntegrationModule = {
  async plan(p, io) {
    const s = parseSettings(storageSettingsSchema, p);
    const bucket = storageBucketOf(p);
    const target = storageTarget(p.projectId, bucket);
    const changes = await rulesChanges(io, target, s.rules ?? LOCKED_STORAGE_RULES, s.rules === undefined ? "present" : "exact");
    return {
      changes,
      desired: { bucket, rules: s.rules ?? "(any released rules)" },
      observed: { release: releaseChangeOf(changes, target)?.before ?? null },
    };
  },
  apply: (_p, change, io, earlier) => applyRules(io, change, earlier),
  undo: (_p, entry, io) => undoRules(io, entry),
  outputs(p, plan, made) {
    const bucket = storageBucketOf(p);
    const target = storageTarget(p.projectId, bucket);
    return { integration: "storage", storageReleaseName: releaseName(target), rulesetName: releasedRuleset(plan.changes, made, target), bucket };
  },
};
