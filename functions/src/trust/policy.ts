/**
 * The deployment's protection policy: which Firebase projects are protected environments, who
 * approves changes to them, how many approvals a change needs, whether a plan's creator may
 * approve it, and how long an approval may take. Like GitHub's environment protection rules, it is
 * server-side and not plan content: it lives at `config/protection`, which the security rules close
 * to every client (only the Admin SDK or the console change it), and the planner puts its gates
 * into every plan that touches a protected project, whatever the plan says.
 */
import { z } from "zod";
import { approverEntrySchema } from "./principals";

/** Where the policy is kept (a collection the security rules close to clients). */
export const PROTECTION_POLICY_PATH = { collection: "config", doc: "protection" } as const;

export const protectedEnvironmentSchema = z
  .object({
    projectId: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "a Google Cloud project id"),
    /** Emails, uids or `group:<name>`; a plan's own approvers never replace these. */
    approvers: z.array(approverEntrySchema).min(1, "a protected environment needs at least one approver").max(100),
    requiredApprovals: z.number().int().min(1).max(20).default(1),
    allowSelfApproval: z.boolean().default(false),
    /** An approval after this long (from when the gate starts waiting) is refused, and the gate fails as timed out. */
    approvalDeadlineHours: z.number().positive().max(30 * 24).default(72),
  })
  .strict()
  .superRefine((env, ctx) => {
    if (env.requiredApprovals > env.approvers.length && !env.approvers.some((a) => a.startsWith("group:"))) {
      ctx.addIssue({ code: "custom", path: ["requiredApprovals"], message: `needs ${env.requiredApprovals} distinct approvers but lists only ${env.approvers.length}` });
    }
  });
export type ProtectedEnvironment = z.output<typeof protectedEnvironmentSchema>;

export const protectionPolicySchema = z
  .object({
    protectedEnvironments: z.array(protectedEnvironmentSchema).max(500).default([]),
    /**
     * Verified senders (service-account emails, uids, `group:<name>`) that may cancel, retry and roll
     * back plans over Pub/Sub. Firebase users with role `operator` always may.
     */
    commandSenders: z.array(approverEntrySchema).max(100).default([]),
    /** Free text for whoever reads the document (who changed it, why). */
    description: z.string().max(2000).optional(),
    updatedAt: z.unknown().optional(),
    updatedBy: z.string().max(320).optional(),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const seen = new Set<string>();
    policy.protectedEnvironments.forEach((env, i) => {
      if (seen.has(env.projectId)) ctx.addIssue({ code: "custom", path: ["protectedEnvironments", i, "projectId"], message: `${env.projectId} is listed twice` });
      seen.add(env.projectId);
    });
  });
export type ProtectionPolicy = z.output<typeof protectionPolicySchema>;

export const EMPTY_POLICY: ProtectionPolicy = { protectedEnvironments: [], commandSenders: [] };

export function protectedEnvironmentOf(policy: ProtectionPolicy, projectId: string): ProtectedEnvironment | undefined {
  return policy.protectedEnvironments.find((e) => e.projectId === projectId);
}
