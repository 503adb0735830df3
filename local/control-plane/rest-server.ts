/**
 * REST side of the control plane: the Firebase APIs that have no gRPC client (Firebase Rules v1,
 * Firebase Hosting v1beta1, Identity Toolkit admin v2, Firestore index admin v1), with Google's JSON
 * error shape, plus the `/__control/*` admin endpoints for faults, the call log and state.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApiError, codeOfHttpStatus, GRPC_CODE_NAMES, httpStatusOfCode, latencyOf, sleep, type FaultBook, type FaultSpec } from "./faults";
import type { LocalGoogleAccounts } from "./google-accounts";
import { projectOfCall, retryInfoJson, type QuotaBook, type QuotaSpec } from "./quota";
import type { ChaosRequest, ProbeSites } from "./sites";
import { applyMask, clone, page, rfc3339, type ControlPlaneState, type Resource, type UptimeOutage } from "./state";

export interface RestContext {
  state: () => ControlPlaneState;
  faults: FaultBook;
  /** Rate quotas (absent: none, and no `/__control/quotas`). */
  quotas?: QuotaBook;
  now: () => number;
  nextId: (prefix: string) => string;
  reset: () => void;
  snapshot: () => unknown;
  addOutage: (outage: UptimeOutage) => void;
  /** Public endpoints of provisioned environments and their chaos (optional: absent, not served). */
  sites?: ProbeSites;
  /** Service-account ID tokens and the certificates that verify them (optional: absent, not served). */
  accounts?: LocalGoogleAccounts;
}

interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Resource;
}
type Route = { method: string; pattern: RegExp; handle: (req: Request, m: string[]) => Resource };

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const notFound = (name: string): ApiError => new ApiError(5, `Requested entity was not found: ${name}`);
const invalid = (message: string): ApiError => new ApiError(3, message);

function routes(ctx: RestContext): Route[] {
  const st = ctx.state;
  const listPage = <T extends Resource>(items: T[], q: URLSearchParams): { items: T[]; nextPageToken?: string } => {
    const p = page(items, q.get("pageSize") ? Number(q.get("pageSize")) : undefined, q.get("pageToken") ?? undefined);
    return p.nextPageToken ? p : { items: p.items };
  };
  const byName = (a: Resource, b: Resource): number => str(a.name).localeCompare(str(b.name));
  const rulesetReferenced = (name: string): boolean => Object.values(st().rulesReleases).some((r) => r.rulesetName === name);
  const siteId = (site: string): string => site;

  const accounts = ctx.accounts;
  const identity: Route[] =
    accounts === undefined
      ? []
      : [
          // ---- Google's OAuth2 certificates and IAM Credentials generateIdToken ----
          { method: "GET", pattern: /^\/oauth2\/v1\/certs$/, handle: () => accounts.certificates() },
          {
            method: "POST",
            pattern: /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateIdToken$/,
            handle: (req, [serviceAccount]) => {
              if (typeof req.body.audience !== "string" || req.body.audience === "") throw invalid("audience is required");
              return { token: accounts.generateIdToken({ serviceAccount: serviceAccount!, audience: req.body.audience, includeEmail: req.body.includeEmail === true }) };
            },
          },
        ];

  return [
    ...identity,
    // ---- Firebase Rules v1 ----
    {
      method: "POST",
      pattern: /^\/v1\/projects\/([^/]+)\/rulesets$/,
      handle: (req, [p]) => {
        const files = (req.body.source as { files?: Array<{ name?: string; content?: string }> } | undefined)?.files;
        if (!Array.isArray(files) || files.length === 0 || files.some((f) => !f.name || typeof f.content !== "string")) throw invalid("ruleset.source.files must name and hold at least one file");
        const name = `projects/${p}/rulesets/${ctx.nextId("ruleset")}`;
        const stored = { name, source: clone(req.body.source) as Resource, createTime: rfc3339(ctx.now()) };
        st().rulesets[name] = stored;
        return stored;
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/projects\/([^/]+)\/rulesets$/,
      handle: (req, [p]) => {
        // Like the real API, listings carry metadata only, not the source.
        const all = Object.values(st().rulesets).filter((r) => str(r.name).startsWith(`projects/${p}/rulesets/`)).sort(byName).map((r) => ({ name: r.name, createTime: r.createTime }));
        const { items, nextPageToken } = listPage(all, req.query);
        return { rulesets: items, ...(nextPageToken ? { nextPageToken } : {}) };
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/(projects\/[^/]+\/rulesets\/[^/]+)$/,
      handle: (_req, [name]) => st().rulesets[name!] ?? (() => { throw notFound(name!); })(),
    },
    {
      method: "DELETE",
      pattern: /^\/v1\/(projects\/[^/]+\/rulesets\/[^/]+)$/,
      handle: (_req, [name]) => {
        if (st().rulesets[name!] === undefined) throw notFound(name!);
        if (rulesetReferenced(name!)) throw new ApiError(9, `Ruleset ${name} is referenced by a release and cannot be deleted`, 400);
        delete st().rulesets[name!];
        return {};
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/projects\/([^/]+)\/releases$/,
      handle: (req, [p]) => {
        const name = str(req.body.name);
        if (!name.startsWith(`projects/${p}/releases/`)) throw invalid(`release name ${name} is not under projects/${p}`);
        if (st().rulesReleases[name] !== undefined) throw new ApiError(6, `Release ${name} already exists`);
        if (st().rulesets[str(req.body.rulesetName)] === undefined) throw notFound(str(req.body.rulesetName));
        const now = rfc3339(ctx.now());
        const stored = { name, rulesetName: req.body.rulesetName, createTime: now, updateTime: now };
        st().rulesReleases[name] = stored;
        return stored;
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/projects\/([^/]+)\/releases$/,
      handle: (req, [p]) => {
        const all = Object.values(st().rulesReleases).filter((r) => str(r.name).startsWith(`projects/${p}/releases/`)).sort(byName);
        const { items, nextPageToken } = listPage(all, req.query);
        return { releases: items, ...(nextPageToken ? { nextPageToken } : {}) };
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/(projects\/[^/]+\/releases\/.+)$/,
      handle: (_req, [name]) => st().rulesReleases[name!] ?? (() => { throw notFound(name!); })(),
    },
    {
      method: "PATCH",
      pattern: /^\/v1\/(projects\/[^/]+\/releases\/.+)$/,
      handle: (req, [name]) => {
        const current = st().rulesReleases[name!] ?? (() => { throw notFound(name!); })();
        const release = (req.body.release ?? {}) as Resource;
        if (st().rulesets[str(release.rulesetName)] === undefined) throw notFound(str(release.rulesetName));
        const updated = { ...current, rulesetName: release.rulesetName, updateTime: rfc3339(ctx.now()) };
        st().rulesReleases[name!] = updated;
        return updated;
      },
    },
    {
      method: "DELETE",
      pattern: /^\/v1\/(projects\/[^/]+\/releases\/.+)$/,
      handle: (_req, [name]) => {
        if (st().rulesReleases[name!] === undefined) throw notFound(name!);
        delete st().rulesReleases[name!];
        return {};
      },
    },

    // ---- Firestore index admin v1 ----
    {
      method: "GET",
      pattern: /^\/v1\/projects\/([^/]+)\/databases\/([^/]+)\/collectionGroups\/([^/]+)\/indexes$/,
      handle: (req, [p, db, cg]) => {
        const prefix = `projects/${p}/databases/${db}/collectionGroups/`;
        const all = Object.values(st().firestoreIndexes)
          .filter((i) => str(i.name).startsWith(prefix) && (cg === "-" || str(i.name).startsWith(`${prefix}${cg}/`)))
          .sort(byName);
        const { items, nextPageToken } = listPage(all, req.query);
        return { indexes: items, ...(nextPageToken ? { nextPageToken } : {}) };
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/projects\/([^/]+)\/databases\/([^/]+)\/collectionGroups\/([^/]+)\/indexes$/,
      handle: (req, [p, db, cg]) => {
        const fields = req.body.fields;
        if (!Array.isArray(fields) || fields.length < 2) throw invalid("a composite index needs at least two fields");
        const same = Object.values(st().firestoreIndexes).find(
          (i) => str(i.name).startsWith(`projects/${p}/databases/${db}/collectionGroups/${cg}/`) && JSON.stringify(i.fields) === JSON.stringify(fields) && i.queryScope === (req.body.queryScope ?? "COLLECTION"),
        );
        if (same !== undefined) throw new ApiError(6, "index already exists");
        const name = `projects/${p}/databases/${db}/collectionGroups/${cg}/indexes/${ctx.nextId("idx")}`;
        const index = { name, queryScope: req.body.queryScope ?? "COLLECTION", fields: clone(fields), state: "READY" };
        st().firestoreIndexes[name] = index;
        return { name: `projects/${p}/databases/${db}/operations/${ctx.nextId("op")}`, metadata: { "@type": "type.googleapis.com/google.firestore.admin.v1.IndexOperationMetadata", index: name, state: "SUCCESSFUL" }, done: true, response: { "@type": "type.googleapis.com/google.firestore.admin.v1.Index", ...index } };
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/(projects\/[^/]+\/databases\/[^/]+\/collectionGroups\/[^/]+\/indexes\/[^/]+)$/,
      handle: (_req, [name]) => st().firestoreIndexes[name!] ?? (() => { throw notFound(name!); })(),
    },
    {
      method: "DELETE",
      pattern: /^\/v1\/(projects\/[^/]+\/databases\/[^/]+\/collectionGroups\/[^/]+\/indexes\/[^/]+)$/,
      handle: (_req, [name]) => {
        if (st().firestoreIndexes[name!] === undefined) throw notFound(name!);
        delete st().firestoreIndexes[name!];
        return {};
      },
    },

    // ---- Firebase Hosting v1beta1 ----
    {
      method: "GET",
      pattern: /^\/v1beta1\/projects\/([^/]+)\/sites$/,
      handle: (req, [p]) => {
        const all = Object.values(st().hostingSites).filter((s) => str(s.name).startsWith(`projects/${p}/sites/`)).sort(byName);
        const { items, nextPageToken } = listPage(all, req.query);
        return { sites: items, ...(nextPageToken ? { nextPageToken } : {}) };
      },
    },
    {
      method: "POST",
      pattern: /^\/v1beta1\/projects\/([^/]+)\/sites$/,
      handle: (req, [p]) => {
        const id = req.query.get("siteId") ?? "";
        if (!/^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$/.test(id)) throw invalid(`siteId "${id}" is invalid`);
        if (Object.keys(st().hostingSites).some((n) => n.endsWith(`/sites/${id}`))) throw new ApiError(6, `Site ${id} already exists (site ids are global)`);
        const name = `projects/${p}/sites/${id}`;
        const site = { name, defaultUrl: `https://${id}.web.app`, appId: "", labels: clone(req.body.labels ?? {}), type: "USER_SITE" };
        st().hostingSites[name] = site;
        return site;
      },
    },
    {
      method: "GET",
      pattern: /^\/v1beta1\/(projects\/[^/]+\/sites\/[^/]+)$/,
      handle: (_req, [name]) => st().hostingSites[name!] ?? (() => { throw notFound(name!); })(),
    },
    {
      method: "DELETE",
      pattern: /^\/v1beta1\/(projects\/[^/]+\/sites\/([^/]+))$/,
      handle: (_req, [name, id]) => {
        const site = st().hostingSites[name!] ?? (() => { throw notFound(name!); })();
        if (site.type === "DEFAULT_SITE") throw new ApiError(9, "the default site of a project cannot be deleted", 400);
        delete st().hostingSites[name!];
        delete st().hostingReleases[`sites/${id}`];
        for (const v of Object.keys(st().hostingVersions)) if (v.startsWith(`sites/${id}/`)) delete st().hostingVersions[v];
        return {};
      },
    },
    {
      method: "POST",
      pattern: /^\/v1beta1\/sites\/([^/]+)\/versions$/,
      handle: (req, [id]) => {
        if (!Object.keys(st().hostingSites).some((n) => n.endsWith(`/sites/${id}`))) throw notFound(`sites/${id}`);
        const name = `sites/${siteId(id!)}/versions/${ctx.nextId("v")}`;
        const version = { name, status: "CREATED", config: clone(req.body.config ?? {}), labels: clone(req.body.labels ?? {}), createTime: rfc3339(ctx.now()) };
        st().hostingVersions[name] = version;
        return version;
      },
    },
    {
      method: "PATCH",
      pattern: /^\/v1beta1\/(sites\/[^/]+\/versions\/[^/]+)$/,
      handle: (req, [name]) => {
        const version = st().hostingVersions[name!] ?? (() => { throw notFound(name!); })();
        const paths = (req.query.get("updateMask") ?? "status").split(",");
        const updated = applyMask(version, req.body, paths);
        if (version.status !== "CREATED" && updated.status !== version.status) throw new ApiError(9, `version ${name} is ${str(version.status)}`, 400);
        if (updated.status === "FINALIZED") updated.finalizeTime = rfc3339(ctx.now());
        st().hostingVersions[name!] = updated;
        return updated;
      },
    },
    {
      method: "POST",
      pattern: /^\/v1beta1\/sites\/([^/]+)\/releases$/,
      handle: (req, [id]) => {
        if (!Object.keys(st().hostingSites).some((n) => n.endsWith(`/sites/${id}`))) throw notFound(`sites/${id}`);
        const type = str(req.body.type) || "DEPLOY";
        let version: Resource | undefined;
        if (type === "DEPLOY") {
          const versionName = req.query.get("versionName") ?? "";
          version = st().hostingVersions[versionName];
          if (version === undefined) throw notFound(versionName);
          if (version.status !== "FINALIZED") throw new ApiError(9, `version ${versionName} is not FINALIZED`, 400);
        }
        const release = { name: `sites/${id}/releases/${ctx.nextId("r")}`, type, message: str(req.body.message), releaseTime: rfc3339(ctx.now()), ...(version ? { version: clone(version) } : {}) };
        (st().hostingReleases[`sites/${id}`] ??= []).unshift(release);
        return release;
      },
    },
    {
      method: "GET",
      pattern: /^\/v1beta1\/sites\/([^/]+)\/releases$/,
      handle: (req, [id]) => {
        if (!Object.keys(st().hostingSites).some((n) => n.endsWith(`/sites/${id}`))) throw notFound(`sites/${id}`);
        const { items, nextPageToken } = listPage(st().hostingReleases[`sites/${id}`] ?? [], req.query);
        return { releases: items, ...(nextPageToken ? { nextPageToken } : {}) };
      },
    },

    // ---- Identity Toolkit admin v2 ----
    {
      method: "GET",
      pattern: /^\/admin\/v2\/(projects\/([^/]+)\/config)$/,
      handle: (_req, [name, p]) => st().authConfigs[name!] ?? defaultAuthConfig(name!, p!),
    },
    {
      method: "PATCH",
      pattern: /^\/admin\/v2\/(projects\/([^/]+)\/config)$/,
      handle: (req, [name, p]) => {
        const mask = req.query.get("updateMask");
        if (!mask) throw invalid("updateMask is required");
        const updated = applyMask(st().authConfigs[name!] ?? defaultAuthConfig(name!, p!), req.body, mask.split(","));
        st().authConfigs[name!] = updated;
        return updated;
      },
    },
  ];
}

function defaultAuthConfig(name: string, projectId: string): Resource {
  return {
    name,
    signIn: { email: { enabled: false, passwordRequired: true }, anonymous: { enabled: false }, phoneNumber: { enabled: false } },
    authorizedDomains: ["localhost", `${projectId}.firebaseapp.com`, `${projectId}.web.app`],
  };
}

/** Runs a call's handler for its effect alone (a fault that lets the call land); its error is dropped. */
function applyQuietly(table: Route[], method: string, path: string, query: URLSearchParams, body: Resource): void {
  for (const route of table) {
    const m = route.method === method ? route.pattern.exec(path) : null;
    if (m === null) continue;
    try {
      route.handle({ method, path, query, body }, m.slice(1));
    } catch {
      // The caller hears the injected error either way.
    }
    return;
  }
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function errorBody(status: number, code: number, message: string): unknown {
  return { error: { code: status, message, status: GRPC_CODE_NAMES[code] ?? "UNKNOWN" } };
}

async function readBody(req: http.IncomingMessage): Promise<Resource> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== "object") throw invalid("request body must be a JSON object");
  return parsed as Resource;
}

async function handleControl(ctx: RestContext, method: string, path: string, body: () => Promise<Resource>, res: http.ServerResponse): Promise<void> {
  if (method === "GET" && path === "/__control/calls") return send(res, 200, { calls: ctx.faults.calls() });
  if (method === "GET" && path === "/__control/state") return send(res, 200, ctx.snapshot());
  if (method === "GET" && path === "/__control/faults") return send(res, 200, { faults: ctx.faults.pending() });
  if (method === "DELETE" && path === "/__control/faults") {
    ctx.faults.clear();
    return send(res, 200, {});
  }
  if (method === "POST" && path === "/__control/faults") {
    const b = (await body()) as Resource & { faults?: FaultSpec[] };
    ctx.faults.inject(Array.isArray(b.faults) ? b.faults : (b as FaultSpec));
    return send(res, 200, { faults: ctx.faults.pending() });
  }
  if (ctx.quotas !== undefined && path === "/__control/quotas") {
    if (method === "GET") return send(res, 200, { quotas: ctx.quotas.list() });
    if (method === "DELETE") {
      ctx.quotas.clear();
      return send(res, 200, {});
    }
    if (method === "POST") {
      const b = (await body()) as Resource & { quotas?: QuotaSpec[] };
      try {
        ctx.quotas.add(Array.isArray(b.quotas) ? b.quotas : (b as unknown as QuotaSpec));
      } catch (error) {
        throw invalid((error as Error).message);
      }
      return send(res, 200, { quotas: ctx.quotas.list() });
    }
  }
  if (method === "POST" && path === "/__control/outages") {
    const b = await body();
    if (typeof b.start !== "number" || typeof b.end !== "number") throw invalid("an outage needs numeric start and end (epoch ms)");
    ctx.addOutage({ start: b.start, end: b.end, ...(typeof b.checkId === "string" ? { checkId: b.checkId } : {}), ...(typeof b.projectId === "string" ? { projectId: b.projectId } : {}) });
    return send(res, 200, { uptimeOutages: ctx.state().uptimeOutages });
  }
  if (ctx.sites !== undefined && method === "POST" && path === "/__control/endpoints") {
    const b = (await body()) as Resource & { endpoints?: unknown };
    const list = Array.isArray(b.endpoints) ? (b.endpoints as Resource[]) : [b];
    for (const e of list) {
      if (typeof e.host !== "string") throw invalid("an endpoint needs a host");
      ctx.sites.setEndpoint(e.host, {
        ...(typeof e.pathPrefix === "string" ? { pathPrefix: e.pathPrefix } : {}),
        ...(typeof e.latencyMs === "number" ? { latencyMs: e.latencyMs } : {}),
        ...(e.mode === "serve" || e.mode === "down" || e.mode === "hang" ? { mode: e.mode } : {}),
        ...(typeof e.status === "number" ? { status: e.status } : {}),
      });
    }
    return send(res, 200, { endpoints: list.length });
  }
  if (ctx.sites !== undefined && path === "/__control/chaos") {
    if (method === "GET") return send(res, 200, ctx.sites.list());
    if (method === "POST") {
      const b = await body();
      if (typeof b.environment !== "string" || typeof b.integration !== "string" || typeof b.mode !== "string") {
        throw invalid("chaos needs environment, integration and mode (down|slow|hang|up) as strings");
      }
      const request: ChaosRequest = { environment: b.environment, integration: b.integration, mode: b.mode as ChaosRequest["mode"], ...(typeof b.latencyMs === "number" ? { latencyMs: b.latencyMs } : {}) };
      try {
        return send(res, 200, ctx.sites.applyChaos(request));
      } catch (error) {
        throw invalid((error as Error).message);
      }
    }
  }
  if (method === "POST" && path === "/__control/reset") {
    ctx.reset();
    return send(res, 200, {});
  }
  send(res, 404, errorBody(404, 5, `no control endpoint ${method} ${path}`));
}

export async function startRestServer(ctx: RestContext, port: number): Promise<{ port: number; stop(): Promise<void> }> {
  const table = routes(ctx);
  const server = http.createServer((req, res) => {
    void (async () => {
      const started = Date.now();
      const url = new URL(req.url ?? "/", "http://local");
      const method = req.method ?? "GET";
      const path = decodeURIComponent(url.pathname);
      try {
        if (path.startsWith("/__control/")) return await handleControl(ctx, method, path, () => readBody(req), res);
        if (ctx.sites !== undefined && path.startsWith("/__sites/")) return await ctx.sites.serve(path.slice("/__sites/".length), res);
        const call = `${method} ${path}`;
        // A quota refuses before anything else: the call is not applied and takes no fault.
        const refusal = ctx.quotas?.check("rest", call, projectOfCall(path, ctx.state()));
        if (refusal !== undefined) {
          ctx.faults.record({ at: started, protocol: "rest", method: call, resource: path, status: "RESOURCE_EXHAUSTED", httpStatus: 429, injected: true, quota: true, durationMs: Date.now() - started });
          const body = { error: { code: 429, message: refusal.message, status: "RESOURCE_EXHAUSTED", details: [retryInfoJson(refusal.retryAfterMs)] } };
          return send(res, 429, body, { "retry-after": String(Math.ceil(refusal.retryAfterMs / 1000)) });
        }
        const fault = ctx.faults.take("rest", call);
        if (fault?.latencyMs) await sleep(latencyOf(fault));
        if (fault && (fault.httpStatus !== undefined || fault.grpcCode !== undefined)) {
          const status = fault.httpStatus ?? httpStatusOfCode(fault.grpcCode!);
          const code = fault.grpcCode ?? codeOfHttpStatus(status);
          // `after`: the call applies, and only its answer is lost.
          if (fault.after === true) applyQuietly(table, method, path, url.searchParams, method === "GET" || method === "DELETE" ? {} : await readBody(req));
          ctx.faults.record({ at: started, protocol: "rest", method: call, resource: path, status: GRPC_CODE_NAMES[code] ?? String(code), httpStatus: status, injected: true, durationMs: Date.now() - started });
          return send(res, status, errorBody(status, code, fault.message ?? `injected HTTP ${status} for ${call}`));
        }
        let matched: { route: Route; groups: string[] } | undefined;
        for (const route of table) {
          const m = route.method === method ? route.pattern.exec(path) : null;
          if (m !== null) {
            matched = { route, groups: m.slice(1) };
            break;
          }
        }
        if (matched === undefined) throw new ApiError(12, `${call} is not implemented by the local control plane`, 404);
        const body = method === "GET" || method === "DELETE" ? {} : await readBody(req);
        const result = matched.route.handle({ method, path, query: url.searchParams, body }, matched.groups);
        ctx.faults.record({ at: started, protocol: "rest", method: call, resource: path, status: "OK", httpStatus: 200, injected: false, durationMs: Date.now() - started });
        send(res, 200, clone(result));
      } catch (error) {
        const apiError = error instanceof ApiError ? error : error instanceof SyntaxError ? new ApiError(3, `invalid JSON: ${error.message}`) : new ApiError(13, String(error));
        if (!path.startsWith("/__control/")) {
          ctx.faults.record({ at: started, protocol: "rest", method: `${method} ${path}`, resource: path, status: GRPC_CODE_NAMES[apiError.code] ?? "UNKNOWN", httpStatus: apiError.httpStatus, injected: false, durationMs: Date.now() - started });
        }
        send(res, apiError.httpStatus, errorBody(apiError.httpStatus, apiError.code, apiError.message));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
