/** Senders of plan commands as the command trigger hands them to the engine after verifying a credential. */
import type { CommandRules, CommandSender } from "../../functions/src/runtime/commands";
import type { VerifiedPrincipal } from "../../functions/src/trust/principals";

export function person(email: string, extra: Partial<VerifiedPrincipal> = {}): VerifiedPrincipal {
  return { uid: `uid-${email.split("@")[0]}`, email, emailVerified: true, groups: [], role: null, via: "firebase", ...extra };
}

export const verified = (email: string, extra: Partial<VerifiedPrincipal> = {}): CommandSender => ({ principal: person(email, extra) });
export const operator = (email = "ops@example.com"): CommandSender => verified(email, { role: "operator" });
export const unverified: CommandSender = { principal: null };
export const RULES: CommandRules = { allowUnverified: false, commandSenders: [] };
