/** The API's pure parts: who the caller is, what each role may do, ETags and page cursors. */
import { identifyCaller, requireRole, type VerifyIdToken } from "../../../functions/src/api/auth";
import { decodeCursor, encodeCursor, withEtag, type ApiRequest } from "../../../functions/src/api/http";

const verify: VerifyIdToken = async (token) => {
  if (token === "op") return { uid: "u1", email: "op@example.com", role: "operator" };
  if (token === "view") return { uid: "u2", role: "viewer" };
  if (token === "none") return { uid: "u3", email: "x@example.com" };
  if (token === "odd") return { uid: "u4", role: "admin" };
  throw new Error("auth/argument-error");
};
const req = (authorization?: string): ApiRequest => ({ method: "GET", path: "/api/plans", query: {}, headers: { authorization } });

describe("identifying the caller", () => {
  it("treats a request without a token as anonymous", async () => {
    expect(await identifyCaller(req(), verify)).toEqual({ kind: "anonymous" });
  });

  it("rejects a malformed header and an invalid token with 401", async () => {
    for (const header of ["Basic abc", "Bearer", "Bearer bad-token"]) {
      const caller = await identifyCaller(req(header), verify);
      expect(caller.kind).toBe("rejected");
      if (caller.kind === "rejected") expect(caller.response.status).toBe(401);
    }
  });

  it("reads the role from the custom claim and ignores unknown roles", async () => {
    expect(await identifyCaller(req("Bearer op"), verify)).toEqual({ kind: "signed-in", principal: { uid: "u1", email: "op@example.com", role: "operator" } });
    expect(await identifyCaller(req("bearer odd"), verify)).toEqual({ kind: "signed-in", principal: { uid: "u4", email: null, role: null } });
  });
});

describe("roles", () => {
  const status = async (header: string | undefined, role: "viewer" | "operator"): Promise<number> => {
    const allowed = requireRole(await identifyCaller(req(header), verify), role);
    return allowed.ok ? 200 : allowed.response.status;
  };

  it("lets operators do what viewers do, and not the other way round", async () => {
    expect(await status("Bearer op", "viewer")).toBe(200);
    expect(await status("Bearer op", "operator")).toBe(200);
    expect(await status("Bearer view", "viewer")).toBe(200);
    expect(await status("Bearer view", "operator")).toBe(403);
  });

  it("answers 401 to the anonymous and 403 to a signed-in user without a role", async () => {
    expect(await status(undefined, "viewer")).toBe(401);
    expect(await status("Bearer none", "viewer")).toBe(403);
    expect(await status("Bearer odd", "operator")).toBe(403);
  });
});

describe("ETags and cursors", () => {
  it("answers an unchanged GET with an empty 304", () => {
    const first = withEtag({ method: "GET", path: "/x", query: {} }, { status: 200, body: { a: 1 } });
    const etag = first.headers!.ETag!;
    expect(etag).toMatch(/^W\/"/);
    expect(withEtag({ method: "GET", path: "/x", query: {}, headers: { "if-none-match": etag } }, { status: 200, body: { a: 1 } })).toMatchObject({ status: 304, body: null });
    expect(withEtag({ method: "GET", path: "/x", query: {}, headers: { "if-none-match": etag } }, { status: 200, body: { a: 2 } }).status).toBe(200);
    expect(withEtag({ method: "POST", path: "/x", query: {} }, { status: 201, body: {} }).headers).toBeUndefined();
  });

  it("round-trips cursors and refuses forged ones", () => {
    expect(decodeCursor(encodeCursor([12, "plan-1"]), 2)).toEqual([12, "plan-1"]);
    expect(decodeCursor(undefined, 2)).toBeUndefined();
    expect(decodeCursor("not-base64-json", 2)).toBe("bad");
    expect(decodeCursor(encodeCursor([1, 2, 3]), 2)).toBe("bad");
    expect(decodeCursor(encodeCursor([{ a: 1 } as unknown as string]), 1)).toBe("bad");
  });
});
