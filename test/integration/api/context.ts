/**
 * An API context against the Firestore emulator, with fake ID tokens and captured publishes.
 * `revoked-token` verifies for reads but not for actions (the verifier is asked to check
 * revocation there, as firebase-admin's `verifyIdToken(token, true)` is).
 */
import type { VerifiedToken } from "../../../functions/src/api/auth";
import type { ApiContext } from "../../../functions/src/api/context";
import type { ApiRequest, ApiResponse } from "../../../functions/src/api/http";
import { routeApiRequest } from "../../../functions/src/api/handler";
import { testFirestore } from "../../support/emulators";

export const TOKENS: Record<string, VerifiedToken> = {
  "operator-token": { uid: "op-1", email: "operator@example.com", email_verified: true, role: "operator" },
  "viewer-token": { uid: "viewer-1", email: "viewer@example.com", email_verified: true, role: "viewer" },
  "no-role-token": { uid: "nobody-1", email: "nobody@example.com", email_verified: true },
  "unverified-operator-token": { uid: "op-unverified", email: "unverified@example.com", email_verified: false, role: "operator" },
  "revoked-token": { uid: "revoked-1", email: "revoked@example.com", email_verified: true, role: "operator" },
};

export interface TestApi {
  ctx: ApiContext;
  published: Array<{ topic: string; message: object }>;
  ids: string[];
  call(method: string, path: string, options?: { token?: string; body?: unknown; query?: Record<string, string>; headers?: Record<string, string> }): Promise<ApiResponse & { json: Record<string, unknown> }>;
}

export function testApi(overrides: Partial<ApiContext> = {}): TestApi {
  const published: TestApi["published"] = [];
  const ids: string[] = [];
  let n = 0;
  const ctx: ApiContext = {
    db: testFirestore(),
    verifyIdToken: async (token, { checkRevoked }) => {
      if (token === "revoked-token" && checkRevoked) throw Object.assign(new Error("the ID token has been revoked"), { code: "auth/id-token-revoked" });
      const known = TOKENS[token];
      if (known === undefined) throw Object.assign(new Error("decoding failed"), { code: "auth/argument-error" });
      return known;
    },
    publish: async (topic, messages) => {
      for (const message of messages) published.push({ topic, message });
    },
    now: () => Date.now(),
    newId: () => {
      const id = `api-${Date.now().toString(36)}-${++n}-${Math.random().toString(36).slice(2, 6)}`;
      ids.push(id);
      return id;
    },
    publicStatus: true,
    web: { projectId: "demo-orchestrator", apiKey: "demo-api-key", authDomain: "demo-orchestrator.firebaseapp.com", emulators: { auth: "http://127.0.0.1:9099" } },
    ...overrides,
  };
  return {
    ctx,
    published,
    ids,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      const req: ApiRequest = { method, path, query: options.query ?? {}, headers, body: options.body };
      const res = await routeApiRequest(ctx, req);
      return { ...res, json: (res.body ?? {}) as Record<string, unknown> };
    },
  };
}
