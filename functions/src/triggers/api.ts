/**
 * HTTPS entry of the `api` function: adapts the Express-style request to the pure router. The
 * Authorization header (an ID token) is passed to the router only: never logged here, and an
 * unexpected error is logged with the method and path, not the request.
 */
import { AUTH_DOMAIN, paramValue, PUBLIC_STATUS, WEB_API_KEY } from "../params";
import { randomUUID } from "node:crypto";
import { getAuth } from "firebase-admin/auth";
import type { Request } from "firebase-functions/v2/https";
import type { Response } from "express";
import type { ApiContext, WebConfig } from "../api/context";
import { routeApiRequest } from "../api/handler";
import { publishJson } from "../bus/publish";
import { logs } from "../logs";
import { firestore } from "../store/firestore";

function hostPort(value: string | undefined): { host: string; port: number } | undefined {
  const match = value === undefined ? null : /^(.*):(\d+)$/.exec(value);
  return match === null ? undefined : { host: match[1]!, port: Number(match[2]) };
}

/**
 * The web config the page signs in with. In production set ORCHESTRATOR_WEB_API_KEY (the
 * project's public web API key); in the Emulator Suite any key works and the emulators are named.
 */
function webConfig(): WebConfig {
  const projectId = process.env.GCLOUD_PROJECT ?? process.env.GOOGLE_CLOUD_PROJECT ?? "demo-orchestrator";
  const auth = process.env.FIREBASE_AUTH_EMULATOR_HOST;
  const firestoreHost = hostPort(process.env.FIRESTORE_EMULATOR_HOST);
  return {
    projectId,
    apiKey: paramValue(WEB_API_KEY) || (auth !== undefined ? "demo-api-key" : ""),
    authDomain: paramValue(AUTH_DOMAIN) || `${projectId}.firebaseapp.com`,
    emulators: { ...(auth === undefined ? {} : { auth: `http://${auth}` }), ...(firestoreHost === undefined ? {} : { firestore: firestoreHost }) },
  };
}

let context: ApiContext | undefined;

function apiContext(): ApiContext {
  context ??= {
    db: firestore(),
    // firestore() initialised the default app; with FIREBASE_AUTH_EMULATOR_HOST set it verifies emulator tokens.
    // checkRevoked (actions) costs one Auth lookup and throws auth/id-token-revoked or auth/user-disabled.
    verifyIdToken: async (token, options) => {
      const decoded = await getAuth().verifyIdToken(token, options.checkRevoked);
      return { uid: decoded.uid, email: decoded.email, email_verified: decoded.email_verified, role: decoded.role as unknown, groups: decoded.groups as unknown };
    },
    publish: publishJson,
    now: Date.now,
    newId: () => randomUUID(),
    publicStatus: paramValue(PUBLIC_STATUS),
    web: webConfig(),
  };
  return context;
}

export async function handleApiRequest(req: Request, res: Response): Promise<void> {
  try {
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
    const result = await routeApiRequest(apiContext(), { method: req.method, path: req.path, query: req.query as Record<string, unknown>, headers, body: req.body as unknown });
    res.status(result.status).set({ "Cache-Control": "no-store", ...result.headers });
    if (result.status === 304 || req.method === "HEAD") res.end();
    // A feed or a badge is text of its own type; everything else is JSON.
    else if (typeof result.body === "string") res.send(result.body);
    else res.json(result.body);
  } catch (error) {
    logs.unexpected(`api ${req.method} ${req.path}`, error);
    res.status(500).json({ error: { code: "internal", message: "internal error; see the function logs" } });
  }
}
