/**
 * The command line's template commands (`templates`, `set-template`, `delete-template`) through
 * the real API router over an in-memory Firestore (test/unit/api/support.ts): what each prints,
 * a template's next version, field errors with their paths, and a file that names another id.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Backend } from "../../../local/cli/backend";
import type { Io } from "../../../local/cli/commands";
import { main } from "../../../local/cli/main";
import { MemoryFirestore, TOKENS, unitApi } from "../api/support";

/** A backend that answers through the API's router as the demo operator. */
function routerBackend(memory: MemoryFirestore): Backend {
  const api = unitApi(memory.db);
  const answer = async (method: string, path: string, query: Record<string, string | undefined> = {}, body?: unknown) => {
    const res = await api.call(method, `/api${path}`, { token: TOKENS.operator, body, query: Object.fromEntries(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined)) });
    return { status: res.status, body: res.body };
  };
  return { describe: "the router", get: (p, q) => answer("GET", p, q), post: (p, b, q) => answer("POST", p, q, b), close: async () => undefined };
}

async function run(argv: string[], backend: Backend): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), sleep: async () => undefined, now: () => 1_800_000_000_000 };
  return { code: await main(argv, io, () => backend), out, err };
}

const dir = mkdtempSync(join(tmpdir(), "cli-template-"));
const file = (name: string, doc: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
};

const TEMPLATE = {
  description: "nightly export",
  params: { region: { type: "string" }, ms: { type: "integer", default: 5 }, note: { type: "string", required: false } },
  plan: { tasks: [{ id: "wait", run: "delay", params: { ms: "${params.ms}" } }, { id: "done", run: "noop", name: "in ${params.region}", needs: ["wait"] }] },
};

describe("template commands", () => {
  it("set-template writes a template and then its next version; templates lists it; delete-template removes it", async () => {
    const memory = new MemoryFirestore();
    const backend = routerBackend(memory);
    expect((await run(["templates"], backend)).out).toEqual(["no plan templates (set-template <id> <template.json> writes one)"]);

    const first = await run(["set-template", "nightly", file("t.json", TEMPLATE)], backend);
    expect(first).toMatchObject({ code: 0, out: ["✓ template nightly created: version 1 · params region, ms=5, note?"] });
    expect((await run(["set-template", "nightly", file("t2.json", { ...TEMPLATE, description: "v2" })], backend)).out).toEqual(["✓ template nightly set: version 2 · params region, ms=5, note?"]);
    expect(memory.docs.get("templates/nightly")).toMatchObject({ version: 2, description: "v2", updatedBy: "operator@example.com" });
    expect(memory.docs.get("templates/nightly/versions/1")).toMatchObject({ version: 1, description: "nightly export" });

    const listed = await run(["templates"], backend);
    expect(listed.code).toBe(0);
    expect(listed.out.join("\n")).toMatch(/^TEMPLATE +VERSION +PARAMS +UPDATED +BY +DESCRIPTION\nnightly +2 +region, ms=5, note\? +2027-01-15 08:00:00Z +operator@example\.com +v2$/);
    const json = JSON.parse((await run(["templates", "--json"], backend)).out.join("\n")) as { templates: Array<{ id: string; version: number }> };
    expect(json.templates).toEqual([expect.objectContaining({ id: "nightly", version: 2 })]);

    expect((await run(["delete-template", "nightly"], backend)).out).toEqual(["✓ template nightly deleted: new plans naming it are invalid; plans compiled from it go on"]);
    expect((await run(["templates"], backend)).out).toEqual(["no plan templates (set-template <id> <template.json> writes one)"]);
    const again = await run(["delete-template", "nightly"], backend);
    expect(again.code).toBe(1);
    expect(again.err.join("\n")).toContain('there is no template "nightly"');
  });

  it("prints each field error with its path, and refuses a file that names another template", async () => {
    const backend = routerBackend(new MemoryFirestore());
    const bad = await run(["set-template", "nightly", file("bad.json", { params: { region: { type: "string", default: 3 } }, plan: { tasks: [{ id: "a", run: "noop", name: "${params.regoin}" }] } })], backend);
    expect(bad.code).toBe(1);
    expect(bad.err.join("\n")).toContain("params.region.default: not a value of this parameter");
    const refs = await run(["set-template", "nightly", file("refs.json", { params: { region: { type: "string" } }, plan: { tasks: [{ id: "a", run: "noop", name: "${params.regoin}" }] } })], backend);
    expect(refs.err.join("\n")).toContain('plan.tasks.0.name: ${params.regoin}: the template declares no parameter "regoin" (it declares region)');
    const other = await run(["set-template", "nightly", file("other.json", { ...TEMPLATE, id: "weekly" })], backend);
    expect(other.code).toBe(1);
    expect(other.err.join("\n")).toContain(`names template "weekly", not "nightly"`);
    expect((await run(["set-template", "nightly"], backend)).code).toBe(64);
  });
});
