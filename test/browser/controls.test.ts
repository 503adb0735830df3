/**
 * An operator's controls on the plan page, in headless Chromium against the whole local stack:
 * pause and resume a running plan, a plan held by a freeze window (named, with its end) and the
 * override that needs a reason, and the cost's subtotals per environment.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ROOT } from "../../local/project";
import { uniqueId, waitFor } from "../support/emulators";
import { callApi, db, demoAccounts, HOSTING, idToken, launch, screenshot, signIn } from "./support";

let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
});
afterEach(async () => {
  await context.close();
});

const offered = (p: Page) => p.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>("[data-command]")).filter((b) => !b.hidden).map((b) => b.dataset.command).join());
const status = async (planId: string) => (await db.collection("plans").doc(planId).get()).get("status") as string;

it("pauses and resumes a running plan, offering only what applies", async () => {
  const { operator } = await demoAccounts();
  const created = await callApi("/api/plans", await idToken(operator), { method: "POST", body: { name: `pausable ${uniqueId("p")}`, approvers: [operator.email], tasks: [{ id: "build", run: "noop" }, { id: "gate", run: "approval", params: { allowSelfApproval: true }, needs: ["build"] }, { id: "deploy", run: "noop", needs: ["gate"] }] } });
  const planId = created.json.id as string;
  await signIn(page, operator);
  await page.goto(`${HOSTING}/?plan=${encodeURIComponent(planId)}`);
  await page.waitForSelector('[data-approve="gate"]', { timeout: 30_000 });
  await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLElement>("[data-command]")).some((b) => !b.hidden && b.dataset.command === "pause"), undefined, { timeout: 10_000 });
  expect(await offered(page)).toBe("pause,cancel,rollback");
  await page.click('[data-command="pause"]');
  await waitFor("the plan to be paused", async () => ((await status(planId)) === "paused" ? true : undefined));
  await page.waitForFunction(() => document.querySelector("#plan-waiting")?.textContent?.startsWith("Paused"), undefined, { timeout: 10_000 });
  expect(await offered(page)).toBe("resume,cancel,rollback");
  await screenshot(page, "plan-paused");
  await page.click('[data-command="resume"]');
  await waitFor("the plan to run again", async () => ((await status(planId)) === "running" ? true : undefined));
  await page.waitForFunction(() => document.querySelector("#plan-waiting")?.textContent === "", undefined, { timeout: 10_000 });
});

it("names the freeze that holds a plan, and overrides it only with a reason", async () => {
  const { operator } = await demoAccounts();
  const env = uniqueId("frzb").toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 20).padEnd(6, "x");
  const windowId = uniqueId("freeze");
  await db.collection("windows").doc(windowId).set({ kind: "freeze", name: "Release freeze", environments: [env], oneTime: [{ start: Date.now() - 60_000, end: Date.now() + 3_600_000 }], weekly: [], updatedAt: Date.now(), updatedBy: "test" });
  try {
    const verify = { id: "verify", run: "firebase", params: { integration: "environment", action: "verify", environment: "staging", projectId: env, region: "us-central1", settings: { integrations: [] } } };
    const created = await callApi("/api/plans", await idToken(operator), { method: "POST", body: { name: `frozen ${env}`, tasks: [verify] } });
    const planId = created.json.id as string;
    await signIn(page, operator);
    await page.goto(`${HOSTING}/?plan=${encodeURIComponent(planId)}`);
    await page.waitForFunction(() => document.querySelector("#plan-waiting")?.textContent?.includes("frozen by window"), undefined, { timeout: 30_000 });
    // Named as its task names the environment.
    expect(await page.textContent("#plan-waiting")).toMatch(/^Waiting: staging is frozen by window "Release freeze" until /);
    expect(await offered(page)).toBe("override,cancel");
    await screenshot(page, "plan-frozen");
    // Armed, then confirmed, but without a reason: nothing is sent.
    await page.click('[data-command="override"]');
    await page.click('[data-command="override"]');
    expect(await page.textContent("#command-result")).toContain("needs a reason");
    expect(await status(planId)).toBe("waiting");
    await page.fill("#command-reason", "hotfix for INC-7");
    await page.click('[data-command="override"]');
    await page.click('[data-command="override"]');
    await waitFor("the plan to run past the freeze", async () => ((await status(planId)) === "succeeded" ? true : undefined), 30_000);
    const events = (await db.collection("plans").doc(planId).collection("events").where("type", "==", "plan.freeze_overridden").get()).docs.map((d) => d.get("message") as string);
    expect(events).toEqual(["freeze window overridden by operator@example.com: hotfix for INC-7"]);
  } finally {
    await db.collection("windows").doc(windowId).delete();
  }
});

it("shows an environment plan's cost with a subtotal per environment", async () => {
  const { operator } = await demoAccounts();
  const spec = JSON.parse(readFileSync(join(ROOT, "examples", "lang-trak.json"), "utf8")) as Record<string, unknown>;
  const created = await callApi("/api/plans", await idToken(operator), { method: "POST", body: { ...spec, dryRun: true } });
  await signIn(page, operator);
  await page.goto(`${HOSTING}/?plan=${encodeURIComponent(created.json.id as string)}`);
  await page.waitForSelector("#cost tr.subtotal", { timeout: 30_000 });
  const subtotals = await page.locator("#cost tr.subtotal th").allTextContents();
  expect(subtotals).toEqual(["development subtotal", "staging subtotal", "production subtotal"]);
});

it("recovers a failed plan from one task: marked succeeded only with a reason, and what follows it runs", async () => {
  const { operator } = await demoAccounts();
  const created = await callApi("/api/plans", await idToken(operator), {
    method: "POST",
    body: { name: `recoverable ${uniqueId("r")}`, tasks: [{ id: "a", run: "noop" }, { id: "b", run: "http", params: { url: "http://127.0.0.1:9/refused" }, needs: ["a"] }, { id: "c", run: "noop", needs: ["b"] }] },
  });
  const planId = created.json.id as string;
  await waitFor("the plan to fail", async () => ((await status(planId)) === "failed" ? true : undefined), 60_000);
  await signIn(page, operator);
  await page.goto(`${HOSTING}/?plan=${encodeURIComponent(planId)}`);
  await page.waitForSelector('#graph [data-task="b"].s-failed', { timeout: 30_000 });
  await page.click('#graph [data-task="b"]');
  await page.waitForSelector('[data-task-command="mark-success"]');
  expect(await page.locator("[data-task-command]").evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.taskCommand))).toEqual(["retry", "skip", "mark-success"]);
  await page.click('[data-task-command="mark-success"]');
  expect(await page.textContent("#command-result")).toContain("needs a reason");
  await page.fill("#command-reason", "the endpoint was retired; nothing to call");
  await page.click('[data-task-command="mark-success"]');
  await waitFor("the plan to succeed past b", async () => ((await status(planId)) === "succeeded" ? true : undefined), 30_000);
  await page.waitForSelector('#graph [data-task="c"].s-succeeded', { timeout: 10_000 });
  await screenshot(page, "plan-task-recovered");
});
