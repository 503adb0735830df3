/** `storage`: Cloud Storage for Firebase Security Rules, released for the environment's bucket. */
import { z } from "zod";
import { parseSettings, type FirebaseParams, type IntegrationModule } from "./context";
import { ensureRules, LOCKED_STORAGE_RULES, observeRules, releaseName, removeRules, rulesDrift, storageTarget } from "./rules";

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

export const storageIntegration: IntegrationModule = {
  async observe(p, io) {
    const s = parseSettings(storageSettingsSchema, p);
    const target = storageTarget(p.projectId, storageBucketOf(p));
    const rules = await observeRules(io, target);
    return {
      desired: { bucket: storageBucketOf(p), rules: s.rules ?? "(any released rules)" },
      observed: { release: rules.release ?? null, rules: rules.source ?? null },
      drift: rulesDrift(target, rules, s.rules),
    };
  },

  async provision(p, io) {
    const s = parseSettings(storageSettingsSchema, p);
    const bucket = storageBucketOf(p);
    const target = storageTarget(p.projectId, bucket);
    const rules = await ensureRules(io, target, s.rules ?? LOCKED_STORAGE_RULES, s.rules === undefined ? "present" : "exact");
    return {
      changes: rules.changes,
      desired: { bucket, rules: s.rules ?? "(any released rules)" },
      observed: { release: rules.observed.release ?? null, rules: rules.observed.source ?? null },
      outputs: { integration: "storage", storageReleaseName: releaseName(target), rulesetName: rules.rulesetName, bucket },
    };
  },

  async compensate(p, io) {
    parseSettings(storageSettingsSchema, p);
    return removeRules(io, storageTarget(p.projectId, storageBucketOf(p)));
  },
};
