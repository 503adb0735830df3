/**
 * Reads the deployment's protection policy (`config/protection`, trust/policy.ts). A document
 * that does not validate is an error, never an empty policy: a typo in the policy must not
 * unprotect production.
 */
import type { Firestore } from "firebase-admin/firestore";
import { parseWith, type FieldError } from "../schema/issues";
import { EMPTY_POLICY, PROTECTION_POLICY_PATH, protectionPolicySchema, type ProtectionPolicy } from "../trust/policy";

export type PolicyRead = { ok: true; policy: ProtectionPolicy } | { ok: false; errors: FieldError[] };

export const policyPath = `${PROTECTION_POLICY_PATH.collection}/${PROTECTION_POLICY_PATH.doc}`;

export async function readProtectionPolicy(db: Firestore): Promise<PolicyRead> {
  const snap = await db.collection(PROTECTION_POLICY_PATH.collection).doc(PROTECTION_POLICY_PATH.doc).get();
  if (!snap.exists) return { ok: true, policy: EMPTY_POLICY };
  const parsed = parseWith(protectionPolicySchema, snap.data());
  if (parsed.ok) return { ok: true, policy: parsed.value };
  return { ok: false, errors: parsed.errors.map((e) => ({ path: `(${policyPath}).${e.path}`, message: `the deployment's protection policy is invalid: ${e.message}; an admin must fix ${policyPath}` })) };
}
