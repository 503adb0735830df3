/**
 * How the command line reaches an orchestrator. Both ways answer in the API's shapes (status and
 * JSON body), so every command is written once:
 *   - `api`: the orchestrator's HTTP API (`/api/**`) with a Firebase ID token, as the page does;
 *     the API checks the token and the role, and forwards commands with it as their credential.
 *   - `pubsub`: with Application Default Credentials, reads come from Firestore through the API's
 *     own read functions (in this process), plans are written as the API writes them, and commands
 *     are published on the plan-commands topic carrying a credential the command function verifies
 *     (a Firebase ID token, or a Google-signed ID token of the ADC identity).
 */
import { randomUUID } from "node:crypto";
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";
import type { ApiContext } from "../../functions/src/api/context";
import { createPlan, listPlans, planDetail, planEvents, planSummary, sendPlanCommand } from "../../functions/src/api/plans";
import { listWindows, removeWindow, setWindow } from "../../functions/src/api/windows";
import { listTemplates, removeTemplate, setTemplate } from "../../functions/src/api/templates";
import type { ApiRequest, ApiResponse } from "../../functions/src/api/http";
import type { Principal } from "../../functions/src/api/auth";
import { documentIdProblem } from "../../functions/src/schema/storable";
import { publishJson } from "../../functions/src/bus/publish";

export interface Backend {
  /** One line naming where requests go and as whom, printed on stderr before a command runs. */
  readonly describe: string;
  get(path: string, query?: Record<string, string | undefined>): Promise<ApiResponse>;
  post(path: string, body: Record<string, unknown>, query?: Record<string, string>): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** A failure the command line reports and exits with. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number, readonly details: ReadonlyArray<{ path: string; message: string }> = []) {
    super(message);
  }
}

/** Exit codes shared by every command (`plan` keeps its own, documented with it). */
export const EXIT = { ok: 0, error: 1, refused: 2, ended: 3, timeout: 5, usage: 64 } as const;

const queryString = (query: Record<string, string | undefined> = {}): string => {
  const entries = Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined);
  return entries.length === 0 ? "" : `?${new URLSearchParams(entries).toString()}`;
};

/** The orchestrator's HTTP API with a bearer ID token; GETs send the last ETag, so polling a quiet plan costs a 304. */
export function apiBackend(baseUrl: string, idToken: () => Promise<string>, who: string): Backend {
  const base = baseUrl.replace(/\/$/, "");
  const cache = new Map<string, { etag: string; body: unknown }>();
  const call = async (method: "GET" | "POST", path: string, query: Record<string, string | undefined> | undefined, body?: unknown): Promise<ApiResponse> => {
    const url = `${base}${path}${queryString(query)}`;
    const cached = method === "GET" ? cache.get(url) : undefined;
    const headers: Record<string, string> = { Authorization: `Bearer ${await idToken()}`, Accept: "application/json" };
    if (cached !== undefined) headers["If-None-Match"] = cached.etag;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      throw new CliError(`cannot reach the API at ${base}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`, EXIT.error);
    }
    if (response.status === 304 && cached !== undefined) return { status: 200, body: cached.body };
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? {} : JSON.parse(text);
    } catch {
      throw new CliError(`${method} ${url} answered ${response.status} with something that is not JSON (is ${base} the orchestrator's API?): ${text.slice(0, 200)}`, EXIT.error);
    }
    const etag = response.headers.get("etag");
    if (method === "GET" && response.status === 200 && etag !== null) cache.set(url, { etag, body: parsed });
    return { status: response.status, body: parsed };
  };
  return {
    describe: `the API at ${base} as ${who}`,
    get: (path, query) => call("GET", path, query),
    post: (path, body, query) => call("POST", path, query, body),
    close: async () => undefined,
  };
}

/** The claims of a JWT, read without verifying it: only to say who a credential names (the orchestrator verifies it). */
export function unverifiedClaims(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * Firestore and Pub/Sub with Application Default Credentials (or the emulators, when their hosts
 * are set). The API's read functions run here against that Firestore; plans are created and
 * commands sent exactly as the API does it, with `credential()` as the proof of who sends them.
 */
export function pubsubBackend(projectId: string, credential: () => Promise<string>, who: string): Backend {
  // The Pub/Sub client takes its project from these: a shell set up for another project must not
  // send this project's commands there.
  process.env.GCLOUD_PROJECT = projectId;
  process.env.GOOGLE_CLOUD_PROJECT = projectId;
  if (!getApps().some((app) => app.name === "[DEFAULT]")) initializeApp({ projectId });
  const db: Firestore = getFirestore();
  const ctx: ApiContext = {
    db,
    verifyIdToken: () => Promise.reject(new Error("not used: the caller is the ADC identity")),
    publish: publishJson,
    now: Date.now,
    newId: randomUUID,
    publicStatus: false,
    web: { projectId, apiKey: "", authDomain: "", emulators: {} },
  };
  // The principal the API would have built from a verified token; here it only attributes the
  // request (`createdBy`, `by`): the command function verifies the credential itself.
  const principal = async (): Promise<Principal> => {
    const token = await credential();
    const claims = unverifiedClaims(token);
    const email = typeof claims.email === "string" ? claims.email : null;
    const p = { uid: String(claims.user_id ?? claims.sub ?? "adc"), email, emailVerified: claims.email_verified === true, role: "operator", groups: [] } as unknown as Principal;
    Object.defineProperty(p, "idToken", { value: token, enumerable: false });
    return p;
  };
  const request = (method: string, path: string, query: Record<string, string | undefined> = {}, body?: unknown): ApiRequest => ({
    method,
    path,
    query: Object.fromEntries(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined)),
    headers: {},
    body,
  });
  const segments = (path: string): string[] => path.split("/").filter(Boolean).map(decodeURIComponent);
  const badId = (id: string): ApiResponse | undefined => {
    const problem = documentIdProblem(id);
    return problem === undefined ? undefined : { status: 400, body: { error: { code: "invalid_argument", message: `"${id}" is not a plan id: ${problem}` } } };
  };
  return {
    describe: `project ${projectId}'s Firestore and Pub/Sub as ${who}`,
    async get(path, query) {
      const [root, planId, view] = segments(path);
      if (root === "windows" && planId === undefined) return listWindows(ctx, true);
      if (root === "templates" && planId === undefined) return listTemplates(ctx);
      if (root !== "plans") throw new Error(`no direct read for ${path}`);
      if (planId === undefined) return listPlans(db, request("GET", path, query));
      const bad = badId(planId);
      if (bad !== undefined) return bad;
      if (view === undefined) return planDetail(db, planId, request("GET", path, query));
      if (view === "events") return planEvents(db, planId, request("GET", path, query));
      if (view === "summary") return planSummary(db, planId);
      throw new Error(`no direct read for ${path}`);
    },
    async post(path, body, query) {
      const [root, planId, action] = segments(path);
      if (root === "plans" && planId === undefined) return createPlan(ctx, await principal(), request("POST", path, query, body));
      if (root === "windows" && planId === undefined) return setWindow(ctx, await principal(), request("POST", path, query, body));
      if (root === "windows" && planId !== undefined && action === "delete") return badId(planId) ?? removeWindow(ctx, planId);
      if (root === "templates" && planId === undefined) return setTemplate(ctx, await principal(), request("POST", path, query, body));
      if (root === "templates" && planId !== undefined && action === "delete") return badId(planId) ?? removeTemplate(ctx, await principal(), planId);
      if (root === "plans" && planId !== undefined && action === "commands") {
        const bad = badId(planId);
        return bad ?? sendPlanCommand(ctx, await principal(), planId, request("POST", path, query, body));
      }
      throw new Error(`no direct request for ${path}`);
    },
    close: async () => undefined,
  };
}
