/**
 * `authentication`: sign-in providers of Firebase Authentication (Identity Platform config,
 * Identity Toolkit admin v2). One resource, `auth.config` (`projects/{p}/config`). It always
 * exists (a project's GET answers the default config), so its change is an update or nothing.
 *
 * The view holds exactly the fields the plan manages: `signIn.<provider>.enabled` for each provider
 * the settings name, and `authorizedDomains` when the settings name domains (desired: the current
 * domains plus the wanted ones; none is ever removed). An update PATCHes the changed fields only
 * (their names are the update mask). A rollback PATCHes those fields back to their before-image,
 * and only while they still hold what the plan set: a provider that was on before the plan stays on.
 */
import { z } from "zod";
import type { ApiCallSite } from "../../clients/errors";
import { diffResource, undoChange, type Change, type JournalEntry, type Made, type View } from "./change-set";
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
type AuthSettings = z.output<typeof authSettingsSchema>;

interface AuthConfig {
  name?: string;
  signIn?: Partial<Record<Provider, { enabled?: boolean }>>;
  authorizedDomains?: string[];
}

export const AUTH_CONFIG = "auth.config";
const DOMAINS = "authorizedDomains";

const authSite = (operation: string, resource: string): ApiCallSite => ({
  operation: `Identity Toolkit ${operation}`,
  resource,
  role: "roles/firebaseauth.admin",
  api: "identitytoolkit.googleapis.com",
});

const configName = (p: FirebaseParams): string => `projects/${p.projectId}/config`;
const enabledField = (provider: Provider): string => `signIn.${provider}.enabled`;
const providerOf = (field: string): Provider | undefined => PROVIDERS.find((provider) => enabledField(provider) === field);

async function getConfig(io: IntegrationIo, p: FirebaseParams): Promise<AuthConfig> {
  return io.rest<AuthConfig>(authSite("GetConfig", configName(p)), { service: "identitytoolkit", method: "GET", path: `/admin/v2/${configName(p)}` });
}

/** One managed field as the config holds it (absent domains: null, an unset provider: off). */
function fieldOf(config: AuthConfig, field: string): unknown {
  if (field === DOMAINS) return config.authorizedDomains === undefined ? null : [...config.authorizedDomains];
  const provider = providerOf(field);
  return provider === undefined ? null : config.signIn?.[provider]?.enabled ?? false;
}

const managedFields = (s: AuthSettings): string[] => [...new Set(s.providers.map(enabledField)), ...(s.authorizedDomains === undefined ? [] : [DOMAINS])];

const viewOf = (config: AuthConfig, fields: readonly string[]): View => Object.fromEntries(fields.map((field) => [field, fieldOf(config, field)]));

function desiredView(config: AuthConfig, s: AuthSettings): View {
  const view: View = Object.fromEntries(s.providers.map((provider) => [enabledField(provider), true]));
  if (s.authorizedDomains !== undefined) view[DOMAINS] = [...new Set([...(config.authorizedDomains ?? []), ...s.authorizedDomains])];
  return view;
}

const enabledOf = (config: AuthConfig): Provider[] => PROVIDERS.filter((provider) => config.signIn?.[provider]?.enabled === true);

/** PATCHes `fields` to their values in `view`; the mask names those fields only. */
async function patchFields(io: IntegrationIo, p: FirebaseParams, view: View, fields: readonly string[]): Promise<AuthConfig> {
  const body: AuthConfig = {};
  for (const field of fields) {
    if (field === DOMAINS) {
      const domains = view[DOMAINS];
      // null: the config had no list; a masked field absent from the body is cleared.
      if (Array.isArray(domains)) body.authorizedDomains = domains.map(String);
      continue;
    }
    const provider = providerOf(field);
    if (provider !== undefined) (body.signIn ??= {})[provider] = { enabled: view[field] === true };
  }
  return io.rest<AuthConfig>(authSite("UpdateConfig", configName(p)), {
    service: "identitytoolkit",
    method: "PATCH",
    path: `/admin/v2/${configName(p)}`,
    query: { updateMask: fields.join(",") },
    body,
  });
}

/** The config's change: the managed fields that differ (before → after), or a noop. */
function configChange(p: FirebaseParams, s: AuthSettings, config: AuthConfig): Change {
  return diffResource(AUTH_CONFIG, configName(p), desiredView(config, s), viewOf(config, managedFields(s)));
}

/** The entry narrowed to the fields it changed: only those decide whether the config is still ours. */
function narrowed(entry: JournalEntry): Pick<JournalEntry, "change" | "made"> {
  const changed = entry.change.fields.map((f) => f.field);
  const pick = (view: View | null): View | null => (view === null ? null : Object.fromEntries(changed.map((field) => [field, view[field] ?? null])));
  return { made: entry.made, change: { ...entry.change, before: pick(entry.change.before), after: pick(entry.change.after)! } };
}

export const authenticationIntegration: IntegrationModule = {
  async plan(p, io) {
    const s = parseSettings(authSettingsSchema, p);
    const config = await getConfig(io, p);
    const change = configChange(p, s, config);
    return {
      changes: [change],
      desired: { enabledProviders: s.providers, authorizedDomains: (change.after[DOMAINS] as string[] | undefined) ?? null },
      observed: { enabledProviders: enabledOf(config), authorizedDomains: config.authorizedDomains ?? [] },
    };
  },

  async apply(p, change, io): Promise<Made> {
    const fields = change.fields.map((f) => f.field);
    const config = await patchFields(io, p, change.after, fields);
    return { name: configName(p), version: null, view: viewOf(config, Object.keys(change.after)) };
  },

  async undo(p, entry, io) {
    const entryOfChanged = narrowed(entry);
    const fields = Object.keys(entryOfChanged.change.after);
    const config = await getConfig(io, p);
    return undoChange(entryOfChanged, { view: viewOf(config, fields) }, {
      restore: (before) => patchFields(io, p, before, fields),
    });
  },

  outputs(p, plan) {
    const observed = plan.observed as { enabledProviders: Provider[] };
    const desired = plan.desired as { enabledProviders: Provider[] };
    const on = new Set([...observed.enabledProviders, ...desired.enabledProviders]);
    return { integration: "authentication", configName: configName(p), enabledProviders: PROVIDERS.filter((provider) => on.has(provider)) };
  },
};
