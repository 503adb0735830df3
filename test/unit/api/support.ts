/**
 * Fakes for calling the API's router without emulators: an in-memory Firestore that does just
 * what the API's handlers ask of one (documents by path, equality filters, limits, counts,
 * create-only writes) and logs every access, a Firestore that refuses to be touched at all (for
 * requests that must be refused before anything is read), an ID-token verifier with one token per
 * kind of caller that records whether revocation was checked, and captured publishes.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { VerifiedToken, VerifyIdToken } from "../../../functions/src/api/auth";
import type { ApiContext } from "../../../functions/src/api/context";
import { routeApiRequest } from "../../../functions/src/api/handler";
import type { ApiRequest, ApiResponse } from "../../../functions/src/api/http";
import { compilePlan } from "../../../functions/src/planner/compile";
import { writePlanReport } from "../../../functions/src/store/reports";

type Data = Record<string, unknown>;
export interface FirestoreAccess {
  op: "get" | "query" | "count" | "create" | "set" | "delete" | "commit";
  path: string;
}

/** `{ code: 6 }` is what the Firestore client throws when `create()` finds the document (ALREADY_EXISTS). */
const alreadyExists = (path: string): Error => Object.assign(new Error(`6 ALREADY_EXISTS: Document already exists: ${path}`), { code: 6 });

export class MemoryFirestore {
  readonly docs = new Map<string, Data>();
  readonly log: FirestoreAccess[] = [];
  readonly db: Firestore;

  constructor() {
    this.db = { collection: (path: string) => this.collection(path), batch: () => this.batch(), runTransaction: (fn: (tx: unknown) => Promise<unknown>) => this.runTransaction(fn) } as unknown as Firestore;
  }

  /** Writes a document directly, without logging (test set-up). */
  seed(path: string, data: Data): void {
    this.docs.set(path, structuredClone(data));
  }

  writes(): FirestoreAccess[] {
    return this.log.filter((a) => a.op === "create" || a.op === "set" || a.op === "commit");
  }

  private snapshot(path: string) {
    const data = this.docs.get(path);
    const copy = data === undefined ? undefined : structuredClone(data);
    return { id: path.split("/").at(-1)!, exists: data !== undefined, ref: this.doc(path), data: () => copy, get: (field: string) => copy?.[field] };
  }

  private doc(path: string) {
    return {
      id: path.split("/").at(-1)!,
      path,
      collection: (name: string) => this.collection(`${path}/${name}`),
      get: async () => {
        this.log.push({ op: "get", path });
        return this.snapshot(path);
      },
      set: async (data: Data) => {
        this.log.push({ op: "set", path });
        this.docs.set(path, structuredClone(data));
      },
      create: async (data: Data) => {
        this.log.push({ op: "create", path });
        if (this.docs.has(path)) throw alreadyExists(path);
        this.docs.set(path, structuredClone(data));
      },
      delete: async () => {
        this.log.push({ op: "delete", path });
        this.docs.delete(path);
      },
    };
  }

  private query(path: string, filters: ReadonlyArray<readonly [string, unknown]>, limit: number | undefined): Record<string, unknown> {
    const matching = () =>
      [...this.docs.keys()]
        .filter((key) => key.startsWith(`${path}/`) && !key.slice(path.length + 1).includes("/"))
        .sort()
        .filter((key) => filters.every(([field, value]) => (Array.isArray(value) ? value.includes(this.docs.get(key)![field]) : this.docs.get(key)![field] === value)));
    const self = (): Record<string, unknown> => this.query(path, filters, limit);
    return {
      where: (field: string, _op: string, value: unknown) => this.query(path, [...filters, [field, value]], limit),
      orderBy: self,
      select: self,
      startAfter: self,
      limit: (n: number) => this.query(path, filters, n),
      get: async () => {
        this.log.push({ op: "query", path });
        const docs = matching().slice(0, limit).map((key) => this.snapshot(key));
        return { docs, size: docs.length, empty: docs.length === 0 };
      },
      count: () => ({
        get: async () => {
          this.log.push({ op: "count", path });
          const count = matching().length;
          return { data: () => ({ count }) };
        },
      }),
    };
  }

  private collection(path: string) {
    return { ...this.query(path, [], undefined), id: path.split("/").at(-1)!, path, doc: (id: string) => this.doc(`${path}/${id}`) };
  }

  /** Reads as they come, writes applied together at the end (no contention here to retry on). */
  private async runTransaction<T>(fn: (tx: unknown) => Promise<T>): Promise<T> {
    const ops: Array<() => void> = [];
    const write = (op: FirestoreAccess["op"], ref: { path: string }, apply: () => void) => ops.push(() => (this.log.push({ op, path: ref.path }), apply()));
    const tx = {
      get: async (ref: { path: string }) => (this.log.push({ op: "get", path: ref.path }), this.snapshot(ref.path)),
      getAll: async (...refs: unknown[]) => refs.filter((r): r is { path: string } => typeof (r as { path?: unknown }).path === "string").map((r) => (this.log.push({ op: "get", path: r.path }), this.snapshot(r.path))),
      set: (ref: { path: string }, data: Data) => write("set", ref, () => this.docs.set(ref.path, structuredClone(data))),
      update: (ref: { path: string }, data: Data) => write("set", ref, () => this.docs.set(ref.path, { ...(this.docs.get(ref.path) ?? {}), ...structuredClone(data) })),
      create: (ref: { path: string }, data: Data) =>
        write("create", ref, () => {
          if (this.docs.has(ref.path)) throw alreadyExists(ref.path);
          this.docs.set(ref.path, structuredClone(data));
        }),
    };
    const result = await fn(tx);
    this.log.push({ op: "commit", path: "" });
    for (const op of ops) op();
    return result;
  }

  private batch() {
    const ops: Array<() => void> = [];
    return {
      create: (ref: { path: string }, data: Data) => {
        ops.push(() => {
          this.log.push({ op: "create", path: ref.path });
          if (this.docs.has(ref.path)) throw alreadyExists(ref.path);
          this.docs.set(ref.path, structuredClone(data));
        });
      },
      set: (ref: { path: string }, data: Data) => {
        ops.push(() => {
          this.log.push({ op: "set", path: ref.path });
          this.docs.set(ref.path, structuredClone(data));
        });
      },
      commit: async () => {
        this.log.push({ op: "commit", path: "" });
        for (const op of ops) op();
      },
    };
  }
}

/** A Firestore whose every member access is recorded and throws: proof that nothing was read. */
export function untouchableFirestore(): { db: Firestore; touched: string[] } {
  const touched: string[] = [];
  const db = new Proxy(
    {},
    {
      get(_target, prop) {
        touched.push(String(prop));
        throw new Error(`Firestore was touched (db.${String(prop)}) by a request that must be refused before any read`);
      },
    },
  ) as Firestore;
  return { db, touched };
}

/** One token per kind of caller. `revoked-token` and `disabled-token` verify only while revocation is not checked. */
export const TOKENS = {
  operator: "operator-token",
  viewer: "viewer-token",
  noRole: "no-role-token",
  revoked: "revoked-token",
  disabled: "disabled-token",
  unverifiedOperator: "unverified-operator-token",
  garbage: "garbage-token",
} as const;

const USERS: Record<string, VerifiedToken> = {
  [TOKENS.operator]: { uid: "op-1", email: "operator@example.com", email_verified: true, role: "operator", groups: ["release-managers@example.com"] },
  [TOKENS.viewer]: { uid: "viewer-1", email: "viewer@example.com", email_verified: true, role: "viewer" },
  [TOKENS.noRole]: { uid: "nobody-1", email: "nobody@example.com", email_verified: true },
  [TOKENS.revoked]: { uid: "revoked-1", email: "revoked@example.com", email_verified: true, role: "operator" },
  [TOKENS.disabled]: { uid: "disabled-1", email: "disabled@example.com", email_verified: true, role: "operator" },
  [TOKENS.unverifiedOperator]: { uid: "op-unverified", email: "claims-to-be@example.com", email_verified: false, role: "operator" },
};

/** firebase-admin's errors carry `code`, e.g. `auth/id-token-revoked`. */
const authError = (code: string): Error => Object.assign(new Error(`Firebase ID token: ${code}`), { code });

export function fakeVerifier(): { verify: VerifyIdToken; calls: Array<{ token: string; checkRevoked: boolean }> } {
  const calls: Array<{ token: string; checkRevoked: boolean }> = [];
  const verify: VerifyIdToken = async (token, options) => {
    calls.push({ token, checkRevoked: options.checkRevoked });
    if (token === TOKENS.revoked && options.checkRevoked) throw authError("auth/id-token-revoked");
    if (token === TOKENS.disabled && options.checkRevoked) throw authError("auth/user-disabled");
    const user = USERS[token];
    if (user === undefined) throw authError("auth/argument-error");
    return user;
  };
  return { verify, calls };
}

export interface UnitApi {
  ctx: ApiContext;
  published: Array<{ topic: string; message: Record<string, unknown> }>;
  verifications: Array<{ token: string; checkRevoked: boolean }>;
  call(method: string, path: string, options?: { token?: string; body?: unknown; query?: Record<string, string> }): Promise<ApiResponse & { json: Record<string, unknown> }>;
}

export function unitApi(db: Firestore, overrides: Partial<ApiContext> = {}): UnitApi {
  const published: UnitApi["published"] = [];
  const { verify, calls } = fakeVerifier();
  let n = 0;
  const ctx: ApiContext = {
    db,
    verifyIdToken: verify,
    publish: async (topic, messages) => {
      for (const message of messages) published.push({ topic, message: message as Record<string, unknown> });
    },
    now: () => 1_800_000_000_000,
    newId: () => `id-${++n}`,
    publicStatus: true,
    web: { projectId: "demo-orchestrator", apiKey: "demo-api-key", authDomain: "demo-orchestrator.firebaseapp.com", emulators: {} },
    ...overrides,
  };
  return {
    ctx,
    published,
    verifications: calls,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = {};
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      const req: ApiRequest = { method, path, query: options.query ?? {}, headers, body: options.body };
      const res = await routeApiRequest(ctx, req);
      return { ...res, json: (res.body ?? {}) as Record<string, unknown> };
    },
  };
}

/** The ids `seedApiData` writes, one per kind of id a route takes from its path. */
export const SEEDED = { planId: "plan-1", gateTaskId: "gate", environmentId: "env-1", reportId: "report-1", windowId: "window-1", scheduleId: "schedule-1", templateId: "template-1", poolId: "deploys" } as const;

/** A compiled plan with its report and tasks (as the plan trigger leaves it), an environment, a health report and an alert. */
export async function seedApiData(memory: MemoryFirestore, now = 1_800_000_000_000): Promise<void> {
  const spec = { name: "unit", tasks: [{ id: "build", run: "noop" }, { id: SEEDED.gateTaskId, run: "approval", needs: ["build"] }] };
  const compiled = compilePlan(spec);
  if (!compiled.ok) throw new Error(`fixture plan is invalid: ${JSON.stringify(compiled.errors)}`);
  await writePlanReport(memory.db, SEEDED.planId, compiled.plan.report);
  memory.seed(`plans/${SEEDED.planId}`, { ...spec, status: "running", compiled: compiled.plan.summary, createdAt: now, startedAt: now });
  for (const task of compiled.plan.tasks) memory.seed(`plans/${SEEDED.planId}/tasks/${task.id}`, { id: task.id, run: task.run, needs: task.needs, status: "blocked", attempt: 1 });
  memory.seed(`plans/${SEEDED.planId}/events/plan.submitted`, { at: now, type: "plan.submitted", actor: "operator@example.com", message: "submitted" });
  memory.seed(`environments/${SEEDED.environmentId}`, { name: "development" });
  memory.seed(`reports/${SEEDED.reportId}`, { runId: SEEDED.reportId, startedAt: now });
  memory.seed("alerts/alert-1", { id: "alert-1", status: "open", title: "slow", lastSeen: now });
  memory.seed(`schedules/${SEEDED.scheduleId}`, { cron: "*/5 * * * *", plan: { tasks: [{ id: "a", run: "noop" }] }, since: 0, createdAt: 0, updatedAt: 0, author: { uid: "op-1", email: "operator@example.com", name: "operator@example.com" } });
  const template = { params: { ms: { type: "integer", default: 1 } }, plan: { tasks: [{ id: "wait", run: "delay", params: { ms: "${params.ms}" } }] }, version: 1, updatedAt: now, updatedBy: "operator@example.com" };
  memory.seed(`templates/${SEEDED.templateId}`, template);
  memory.seed(`templates/${SEEDED.templateId}/versions/1`, template);
  memory.seed(`pools/${SEEDED.poolId}`, { slots: 4, description: "deploys", updatedAt: now, updatedBy: "operator@example.com" });
  memory.seed(`windows/${SEEDED.windowId}`, { kind: "maintenance", name: "database upgrade", environments: ["production"], oneTime: [{ start: now, end: now + 3_600_000 }], weekly: [], updatedAt: now, updatedBy: "operator@example.com" });
  memory.log.length = 0;
}
