/**
 * `authentication`: sign-in providers of Firebase Authentication (Identity Platform config,
 * Identity Toolkit admin v2). Only the providers named in settings are touched; compensation
 * disables exactly those.
 */
import { z } from "zod";
import type { ApiCallSite } from "../../clients/errors";
import type { DriftItem } from "../types";
import { parseSettings, type FirebaseParams, type IntegrationIo, type IntegrationModule } from "./context";

const PROVIDERS = ["email", "anonymous", "phoneNumber"] as const;
type Provider = (typeof PROVIDERS)[number];

const authSettingsSchema = z
  .object({
    providers: z.array(z.enum(PROVIDERS)).max(PROVIDERS.length).default(["email"]),
    /** Extra domains allowed for OAuth redirects (the hosting site's domains are Firebase's default). */
    authorizedDomains: z.array(z.string().min(1).max(253)).max(100).optional(),
  })
  .passthrough();

interface AuthConfig {
  name?: string;
  signIn?: Partial<Record<Provider, { enabled?: boolean }>>;
  authorizedDomains?: string[];
}

const authSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Identity Toolkit ${operation}`,
  resource,
  role: "roles/firebaseauth.admin",
  api: "identitytoolkit.googleapis.com",
});

const configName = (p: FirebaseParams): string => `projects/${p.projectId}/config`;

async function getConfig(io: IntegrationIo, p: FirebaseParams): Promise<AuthConfig> {
  return io.rest<AuthConfig>(authSite("GetConfig", configName(p)), { service: "identitytoolkit", method: "GET", path: `/admin/v2/${configName(p)}` });
}

function drift(p: FirebaseParams, providers: readonly Provider[], enabled: boolean, domains: string[] | undefined, config: AuthConfig): DriftItem[] {
  const items: DriftItem[] = providers
    .filter((provider) => (config.signIn?.[provider]?.enabled ?? false) !== enabled)
    .map((provider) => ({ resource: configName(p), field: `signIn.${provider}.enabled`, desired: enabled, observed: config.signIn?.[provider]?.enabled ?? false }));
  if (domains !== undefined && domains.some((d) => !(config.authorizedDomains ?? []).includes(d))) {
    items.push({ resource: configName(p), field: "authorizedDomains", desired: domains, observed: config.authorizedDomains ?? [] });
  }
  return items;
}

async function patchProviders(io: IntegrationIo, p: FirebaseParams, providers: readonly Provider[], enabled: boolean, domains?: string[], current?: AuthConfig): Promise<AuthConfig> {
  const mask = providers.map((provider) => `signIn.${provider}.enabled`);
  const body: AuthConfig = { signIn: Object.fromEntries(providers.map((provider) => [provider, { enabled }])) };
  if (domains !== undefined) {
    mask.push("authorizedDomains");
    body.authorizedDomains = [...new Set([...(current?.authorizedDomains ?? []), ...domains])];
  }
  return io.rest<AuthConfig>(authSite("UpdateConfig", configName(p)), {
    service: "identitytoolkit",
    method: "PATCH",
    path: `/admin/v2/${configName(p)}`,
    query: { updateMask: mask.join(",") },
    body,
  });
}

const enabledOf = (config: AuthConfig): string[] => PROVIDERS.filter((provider) => config.signIn?.[provider]?.enabled === true);

export const authenticationIntegration: IntegrationModule = {
  async observe(p, io) {
    const s = parseSettings(authSettingsSchema, p);
    const config = await getConfig(io, p);
    return {
      desired: { enabledProviders: s.providers, authorizedDomains: s.authorizedDomains ?? null },
      observed: { enabledProviders: enabledOf(config), authorizedDomains: config.authorizedDomains ?? [] },
      drift: drift(p, s.providers, true, s.authorizedDomains, config),
    };
  },

  async provision(p, io) {
    const s = parseSettings(authSettingsSchema, p);
    let config = await getConfig(io, p);
    const changed = drift(p, s.providers, true, s.authorizedDomains, config).length > 0;
    if (changed) config = await patchProviders(io, p, s.providers, true, s.authorizedDomains, config);
    return {
      changes: [{ kind: changed ? "updated" : "unchanged", resource: configName(p) }],
      desired: { enabledProviders: s.providers, authorizedDomains: s.authorizedDomains ?? null },
      observed: { enabledProviders: enabledOf(config), authorizedDomains: config.authorizedDomains ?? [] },
      outputs: { integration: "authentication", configName: configName(p), enabledProviders: enabledOf(config) },
    };
  },

  async compensate(p, io) {
    const s = parseSettings(authSettingsSchema, p);
    const config = await getConfig(io, p);
    const stillOn = s.providers.filter((provider) => config.signIn?.[provider]?.enabled === true);
    if (stillOn.length === 0) return [{ kind: "unchanged", resource: configName(p) }];
    await patchProviders(io, p, stillOn, false);
    return [{ kind: "updated", resource: configName(p) }];
  },
};
