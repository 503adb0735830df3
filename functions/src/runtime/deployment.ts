/**
 * What the deployment adds to compiling a plan: its protection policy (`config/protection`) and
 * its secret bindings (ORCHESTRATOR_SECRET_BINDINGS). The plan trigger and the API's
 * `POST /plans` compile with the same options, so a plan the API accepts is the plan that runs.
 * A policy or binding that does not parse is an error naming it, never an empty policy.
 */
import { readDurationStats } from "../store/durations";
import type { Firestore } from "firebase-admin/firestore";
import { egressConfig } from "../egress/config";
import type { FieldError } from "../schema/issues";
import { readProtectionPolicy } from "../store/policy";
import type { CompileOptions } from "../planner/compile";

export async function deploymentCompileOptions(db: Firestore): Promise<{ ok: true; options: CompileOptions } | { ok: false; errors: FieldError[] }> {
  const [policy, durationStats] = await Promise.all([readProtectionPolicy(db), readDurationStats(db)]);
  if (!policy.ok) return policy;
  try {
    return { ok: true, options: { protection: policy.policy, secretBindings: egressConfig().secretBindings, durationStats } };
  } catch (error) {
    return { ok: false, errors: [{ path: "(deployment)", message: `the deployment's egress configuration is invalid: ${(error as Error).message}` }] };
  }
}
