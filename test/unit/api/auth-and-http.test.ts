/** The API's pure parts: who the caller is, what each role may do, ids from the path, ETags and page cursors. */
import { identifyCaller, principalName, requireRole, type Caller, type VerifyIdToken } from "../../../functions/src/api/auth";
import { decodeCursor, documentIdProblem, encodeCursor, withEtag, type ApiRequest } from "../../../functions/src/api/http";

const seen: Array<{ token: string; checkRevoked: boolean }> = [];
const verify: VerifyIdToken = async (token, { checkRevoked }) => {
  seen.push({ token, checkRevoked });
  if (token === "op") return { uid: "u1", email: "op@example.com", email_verified: true, role: "operator", groups: ["release", 7, "", "ops"] };
  if (token === "view") return { uid: "u2", role: "viewer" };
  if (token === "none") return { uid: "u3", email: "x@example.com", email_verified: true };
  if (token === "odd") return { uid: "u4", role: "admin", groups: "release" };
  if (token === "unverified") return { uid: "u5", email: "ceo@example.com", email_verified: false, role: "operator" };
  if (token === "revoked" && checkRevoked) throw Object.assign(new Error("revoked"), { code: "auth/id-token-revoked" });
  if (token === "revoked") return { uid: "u6", email: "gone@example.com", email_verified: true, role: "operator" };
  if (token === "disabled") throw Object.assign(new Error("disabled"), { errorInfo: { code: "auth/user-disabled" } });
  if (token === "expired") throw Object.assign(new Error("expired"), { code: "auth/id-token-expired" });
  throw new Error("auth/argument-error");
};
const req = (authorization?: string): ApiRequest => ({ method: "GET", path: "/api/plans", query: {}, headers: { authorization } });
const READ = { checkRevoked: false };
const ACTION = { checkRevoked: true };
const principalOf = (caller: Caller) => {
  if (caller.kind !== "signed-in") throw new Error(`expected a signed-in caller, got ${caller.kind}`);
  return caller.principal;
};
const refusalOf = (caller: Caller) => {
  if (caller.kind !== "rejected") throw new Error(`expected a rejected caller, got ${caller.kind}`);
  return caller.response as { status: number; body: { error: { code: string; message: string } } };
};

describe("identifying the caller", () => {
  it("treats a request without a token as anonymous", async () => {
    expect(await identifyCaller(req(), verify, READ)).toEqual({ kind: "anonymous" });
  });

  it("rejects a malformed header and an invalid token with 401", async () => {
    for (const header of ["Basic abc", "Bearer", "Bearer bad-token"]) {
      expect(refusalOf(await identifyCaller(req(header), verify, READ)).status).toBe(401);
    }
  });

  it("reads the role, the verified email and the groups from the token, and ignores what is malformed", async () => {
    expect(await identifyCaller(req("Bearer op"), verify, READ)).toEqual({ kind: "signed-in", principal: { uid: "u1", email: "op@example.com", emailVerified: true, role: "operator", groups: ["release", "ops"] } });
    expect(await identifyCaller(req("bearer odd"), verify, READ)).toEqual({ kind: "signed-in", principal: { uid: "u4", email: null, emailVerified: false, role: null, groups: [] } });
  });

  it("passes checkRevoked through to the verifier", async () => {
    seen.length = 0;
    await identifyCaller(req("Bearer op"), verify, READ);
    await identifyCaller(req("Bearer op"), verify, ACTION);
    expect(seen).toEqual([
      { token: "op", checkRevoked: false },
      { token: "op", checkRevoked: true },
    ]);
  });

  it("says a revoked session was revoked (401), a disabled account is disabled (403), an expired token expired (401)", async () => {
    expect(principalOf(await identifyCaller(req("Bearer revoked"), verify, READ)).uid).toBe("u6");
    const revoked = refusalOf(await identifyCaller(req("Bearer revoked"), verify, ACTION));
    expect(revoked.status).toBe(401);
    expect(revoked.body.error).toEqual({ code: "unauthenticated", message: expect.stringMatching(/session was revoked.*sign in again/) });
    const disabled = refusalOf(await identifyCaller(req("Bearer disabled"), verify, ACTION));
    expect(disabled.status).toBe(403);
    expect(disabled.body.error.message).toMatch(/account is disabled/);
    const expired = refusalOf(await identifyCaller(req("Bearer expired"), verify, READ));
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired/);
  });

  it("keeps the bearer token on the principal for forwarding, out of JSON and out of equality", async () => {
    const principal = principalOf(await identifyCaller(req("Bearer op"), verify, ACTION));
    expect(principal.idToken).toBe("op");
    expect(Object.keys(principal)).not.toContain("idToken");
    expect(JSON.stringify(principal)).not.toContain('"op"');
    expect(JSON.stringify({ principal })).not.toContain("idToken");
  });
});

describe("naming the caller", () => {
  it("uses the email only when it is verified, else the uid", async () => {
    expect(principalName(principalOf(await identifyCaller(req("Bearer op"), verify, READ)))).toBe("op@example.com");
    expect(principalName(principalOf(await identifyCaller(req("Bearer unverified"), verify, READ)))).toBe("u5");
    expect(principalName(principalOf(await identifyCaller(req("Bearer view"), verify, READ)))).toBe("u2");
    expect(principalName({ uid: "u9", email: "a@example.com", emailVerified: false })).toBe("u9");
  });
});

describe("roles", () => {
  const status = async (header: string | undefined, role: "viewer" | "operator"): Promise<number> => {
    const allowed = requireRole(await identifyCaller(req(header), verify, READ), role);
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

  it("names an unverified caller by uid when refusing them", async () => {
    const refused = requireRole(await identifyCaller(req("Bearer none"), verify, READ), "operator");
    expect(refused.ok).toBe(false);
    const unverified = requireRole({ kind: "signed-in", principal: { uid: "u7", email: "boss@example.com", emailVerified: false, role: "viewer", groups: [], idToken: "t" } }, "operator");
    if (unverified.ok) throw new Error("a viewer must not pass as operator");
    expect(JSON.stringify(unverified.response.body)).toContain("u7 has role");
    expect(JSON.stringify(unverified.response.body)).not.toContain("boss@example.com");
  });
});

describe("ids from the path", () => {
  it("accepts what Firestore accepts as one document id", () => {
    for (const id of ["plan-1", "a.b", "...", "__x", "x__", "_x_", "é".repeat(750), "a".repeat(1500), "a b", "%2F"]) expect([id.slice(0, 8), documentIdProblem(id)]).toEqual([id.slice(0, 8), undefined]);
  });

  it("refuses the empty id, slashes, . and .., reserved __.*__ ids and ids over 1,500 bytes", () => {
    const problems: Array<[string, RegExp]> = [
      ["", /empty/],
      ["a/tasks/b", /'\/'/],
      ["/", /'\/'/],
      [".", /does not allow/],
      ["..", /does not allow/],
      ["__x__", /reserves/],
      ["____", /reserves/],
      ["__a\nb__", /reserves/],
      ["a".repeat(1501), /1501 bytes/],
      ["é".repeat(751), /1502 bytes/],
    ];
    for (const [id, problem] of problems) expect([id.slice(0, 8), documentIdProblem(id)]).toEqual([id.slice(0, 8), expect.stringMatching(problem)]);
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
