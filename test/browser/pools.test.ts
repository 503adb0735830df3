/**
 * Concurrency controls on the status page, in headless Chromium against the whole local stack: a
 * pool set through the API shown as a card (slots, in use / waiting, who sized it), resized from
 * its form (and Firestore says so), a size of 0 refused in place with its path, deleted after a
 * confirm, and created from the New pool form; a full pool's waiting task says so in its detail; a
 * plan's controls line (maxParallel, priority, pools, a live deadline countdown) and a run ended by
 * its deadline; all of it on a 390 px phone.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { sweepPlans } from "../../functions/src/runtime/sweep-plans";
import { uniqueId, waitFor } from "../support/emulators";
import { callApi, db, demoAccounts, HOSTING, idToken, launch, screenshot, screenshotOf, signIn, sticksOut } from "./support";

let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Resized and deleted by the first test. */
let poolId: string;
/** Kept for the viewer's and the phone's views; deleted at the end. */
let keptId: string;
/** The plan with maxParallel, priority and a deadline (its gate keeps it running); cancelled at the end. */
let controlledPlan: string | undefined;
const created: string[] = [];

const newPoolId = (prefix: string): string => uniqueId(prefix).toLowerCase().replace(/[^a-z0-9-]/g, "-");
const poolDoc = async (id: string) => (await db.collection("pools").doc(id).get()).data();
const card = (id: string): string => `#pools [data-pool="${id}"]`;
const field = (id: string, name: string): string => `${card(id)} [data-field="${name}"]`;

async function operatorToken(): Promise<string> {
  const { operator } = await demoAccounts();
  return idToken(operator);
}

beforeAll(async () => {
  const token = await operatorToken();
  poolId = newPoolId("deploys");
  keptId = newPoolId("builds");
  for (const [id, slots, description] of [[poolId, 3, "deploys to staging"], [keptId, 2, "CI builds shared by every plan that builds something, a long description to wrap"]] as const) {
    const set = await callApi("/api/pools", token, { method: "POST", body: { id, slots, description } });
    expect(set.status).toBe(200);
    created.push(id);
  }
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  const token = await operatorToken();
  if (controlledPlan !== undefined) await callApi(`/api/plans/${controlledPlan}/commands`, token, { method: "POST", body: { command: "cancel", commandId: uniqueId("cancel") } });
  await Promise.all(created.map((id) => db.collection("pools").doc(id).delete()));
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "UTC", locale: "en-GB" });
  page = await context.newPage();
});

afterEach(async () => {
  await context.close();
});

it("shows a pool's card; an operator resizes it (Firestore says so), sees a size of 0 refused with its path, and deletes it after a confirm", async () => {
  const { operator } = await demoAccounts();
  await signIn(page, operator);
  await page.waitForSelector(card(poolId), { timeout: 15_000 });
  expect(await page.textContent(`${card(poolId)} h3`)).toBe(poolId);
  expect(await page.textContent(`${card(poolId)} header .badge`)).toBe("3 free");
  expect(await page.textContent(`${card(poolId)} .description`)).toBe("deploys to staging");
  expect(await page.textContent(field(poolId, "slots"))).toBe("3");
  expect(await page.textContent(field(poolId, "in-use"))).toBe("0 of 3");
  expect(await page.textContent(field(poolId, "waiting"))).toBe("none");
  expect(await page.textContent(field(poolId, "updated"))).toMatch(new RegExp(`^\\d+ (s|min) ago by ${operator.email.replace(/\./g, "\\.")}$`));
  expect(await page.getAttribute(`${card(poolId)} .pool-bar`, "aria-label")).toBe("0 of 3 slots in use");
  expect(await page.isVisible("#new-pool")).toBe(true);

  // Resize from the card: the answer in place, the card redrawn, and the document changed (its description kept).
  await page.fill(`#resize-${poolId}`, "5");
  await page.click(`${card(poolId)} form.resize button[type="submit"]`);
  await page.waitForSelector(`${card(poolId)} [data-result] .ok-note`);
  expect(await page.textContent(`${card(poolId)} [data-result]`)).toBe(`Resized to 5 slots by ${operator.email}.`);
  expect(await page.textContent(field(poolId, "slots"))).toBe("5");
  expect(await poolDoc(poolId)).toMatchObject({ slots: 5, description: "deploys to staging", updatedBy: operator.email });

  // A size of 0: the API's refusal with the field's path, in place; nothing written.
  await page.fill(`#resize-${poolId}`, "0");
  await page.click(`${card(poolId)} form.resize button[type="submit"]`);
  await page.waitForSelector(`${card(poolId)} [data-result] .errors li`);
  expect(await page.textContent(`${card(poolId)} [data-result] .error`)).toBe("Resize refused: the pool is not valid; nothing was written");
  expect(await page.locator(`${card(poolId)} [data-result] .errors li code`).allTextContents()).toEqual(["slots"]);
  expect(await page.textContent(`${card(poolId)} [data-result] .errors li`)).toMatch(/^slots \S/);
  expect(await page.getAttribute(`#resize-${poolId}`, "aria-invalid")).toBe("true");
  expect((await poolDoc(poolId))?.slots).toBe(5);
  // The answer survives the 2 s refreshes (the card is redrawn in place).
  await page.waitForTimeout(2_500);
  expect(await page.locator(`${card(poolId)} [data-result] .errors li`).count()).toBe(1);
  await page.locator("section:has(#pools)").scrollIntoViewIfNeeded();
  await screenshotOf(page, "section:has(#pools)", "overview-pools");

  // Delete: the first click asks, the second deletes.
  const remove = page.locator(`${card(poolId)} [data-action="delete"]`);
  await remove.click();
  expect(await remove.textContent()).toBe(`Confirm: delete pool ${poolId}`);
  expect(await poolDoc(poolId)).toBeDefined();
  await remove.click();
  await page.waitForSelector(card(poolId), { state: "detached", timeout: 10_000 });
  expect(await page.textContent("#pools-result")).toBe(`Pool ${poolId} deleted: tasks that name it fail from now on (pool_missing); attempts holding its slots finish.`);
  await waitFor("the pool's document to go", async () => ((await poolDoc(poolId)) === undefined ? true : undefined));
  // It stays gone through the next refreshes.
  await page.waitForTimeout(2_500);
  expect(await page.locator(card(poolId)).count()).toBe(0);
});

it("creates a pool from the New pool form, after refusing a bad id with its path", async () => {
  const { operator } = await demoAccounts();
  await signIn(page, operator);
  await page.waitForSelector("#new-pool", { timeout: 15_000 });
  await page.fill("#new-pool-id", "Not_A_Pool");
  await page.fill("#new-pool-slots", "2");
  await page.click('#new-pool button[type="submit"]');
  await page.waitForSelector("#new-pool-result .errors li");
  expect(await page.textContent("#new-pool-result .error")).toBe("New pool refused: the pool is not valid; nothing was written");
  expect(await page.locator("#new-pool-result .errors li").allTextContents()).toEqual(["id a pool id is 1-63 lowercase letters, digits and - (starting with a letter, not with plan-)"]);
  expect(await page.getAttribute("#new-pool-id", "aria-invalid")).toBe("true");
  expect(await page.getAttribute("#new-pool-slots", "aria-invalid")).toBeNull();

  const id = newPoolId("exports");
  created.push(id);
  await page.fill("#new-pool-id", id);
  await page.fill("#new-pool-description", "nightly exports");
  await page.click('#new-pool button[type="submit"]');
  await page.waitForSelector("#new-pool-result .ok-note");
  expect(await page.textContent("#new-pool-result")).toBe(`Pool ${id} created with 2 slots.`);
  expect(await page.getAttribute("#new-pool-id", "aria-invalid")).toBeNull();
  expect(await page.inputValue("#new-pool-id")).toBe("");
  await page.waitForSelector(card(id));
  expect(await page.textContent(field(id, "slots"))).toBe("2");
  expect(await poolDoc(id)).toMatchObject({ slots: 2, description: "nightly exports", updatedBy: operator.email });
  // The same id again is an existing pool: the form says so rather than overwriting it.
  await page.fill("#new-pool-id", id);
  await page.fill("#new-pool-slots", "9");
  await page.click('#new-pool button[type="submit"]');
  expect(await page.textContent("#new-pool-result")).toBe(`Pool ${id} already exists: resize it from its card.`);
  expect((await poolDoc(id))?.slots).toBe(2);
});

it("shows viewers the pools without actions, and the public no section", async () => {
  await page.goto(`${HOSTING}/`);
  await page.waitForFunction(() => document.querySelector("#connection")?.textContent?.startsWith("live"), undefined, { timeout: 15_000 });
  expect(await page.locator("#pools, #pools-heading").count()).toBe(0);
  const { viewer } = await demoAccounts();
  await signIn(page, viewer);
  await page.waitForSelector(card(keptId), { timeout: 15_000 });
  expect(await page.isVisible("#pools-heading")).toBe(true);
  expect(await page.textContent(field(keptId, "slots"))).toBe("2");
  expect(await page.locator(`${card(keptId)} form, ${card(keptId)} [data-action], #new-pool`).count()).toBe(0);
});

it("shows a full pool's waiting tasks on its card, and a waiting task's detail names the pool", async () => {
  const { operator } = await demoAccounts();
  const token = await idToken(operator);
  const id = newPoolId("narrow");
  created.push(id);
  expect((await callApi("/api/pools", token, { method: "POST", body: { id, slots: 1 } })).status).toBe(200);
  // Three 9 s tasks in a pool of one: one runs, the others find it full and wait in its queue.
  const tasks = ["a", "b", "c"].map((t) => ({ id: t, run: "delay", params: { ms: 9_000 }, pool: id }));
  const plan = await callApi("/api/plans", token, { method: "POST", body: { name: `narrow ${id}`, tasks } });
  expect(plan.status).toBe(201);
  const planId = plan.json.id as string;

  await signIn(page, operator);
  await page.waitForSelector(`${card(id)}[data-full="true"]`, { timeout: 20_000 });
  await page.waitForFunction((sel) => /^\d+ tasks?$/.test(document.querySelector(sel)?.textContent ?? ""), field(id, "waiting"), { timeout: 10_000 });
  expect(await page.textContent(`${card(id)} header .badge`)).toBe("full");
  expect(await page.getAttribute(`${card(id)} .pool-bar`, "aria-label")).toMatch(/^1 of 1 slot in use, \d+ tasks? waiting$/);

  await page.goto(`${HOSTING}/?plan=${encodeURIComponent(planId)}`);
  await page.waitForSelector("#plan-controls:not([hidden])", { timeout: 15_000 });
  expect(await page.textContent("#plan-controls")).toBe(`Pool: ${id}`);
  const waiting = await waitFor("a task waiting for the pool's slot", async () => {
    const snap = await db.collection("plans").doc(planId).collection("tasks").where("status", "==", "ready").get();
    return snap.docs.find((d) => String((d.get("history") as Array<{ cause: string }>).at(-1)?.cause).includes(`waiting for a slot: pool ${id}`))?.id;
  });
  await page.click(`#graph [data-task="${waiting}"]`);
  await page.waitForSelector(`#task-detail [data-slot-wait="${id}"]`, { timeout: 10_000 });
  expect(await page.textContent(`#task-detail [data-slot-wait="${id}"]`)).toMatch(new RegExp(`^Waiting for a slot in pool ${id} \\(all 1 in use\\) — it starts when a slot is given back`));
  await waitFor("the plan to finish", async () => ((await db.collection("plans").doc(planId).get()).get("status") === "succeeded" ? true : undefined), 60_000, 500);
});

it("shows a plan's controls under its header, with a live deadline countdown", async () => {
  const { operator } = await demoAccounts();
  const body = {
    name: `controlled ${uniqueId("c")}`,
    approvers: [operator.email],
    maxParallel: 2,
    priority: 5,
    deadlineSeconds: 600,
    tasks: [{ id: "build", run: "noop" }, { id: "gate", run: "approval", params: { allowSelfApproval: true }, needs: ["build"] }, { id: "deploy", run: "noop", needs: ["gate"] }],
  };
  const plan = await callApi("/api/plans", await idToken(operator), { method: "POST", body });
  expect(plan.status).toBe(201);
  controlledPlan = plan.json.id as string;
  await signIn(page, operator);
  await page.goto(`${HOSTING}/?plan=${encodeURIComponent(controlledPlan)}`);
  await page.waitForSelector('[data-approve="gate"]', { timeout: 30_000 });
  await page.waitForSelector("#plan-controls .deadline-state", { timeout: 10_000 });
  const line = (await page.textContent("#plan-controls"))!;
  expect(line).toMatch(/^At most 2 tasks at once · Priority 5 · Deadline: 10 min per run — ends in (9 min( \d+ s)?|10 min)$/);
  // The countdown is the run's deadline, and it moves.
  const { runDeadline } = (await db.collection("plans").doc(controlledPlan).get()).data() as { runDeadline: { seconds: number; at: number } };
  expect(runDeadline).toEqual({ seconds: 600, at: expect.any(Number) });
  const left = (text: string): number => {
    const m = /ends in (\d+) min(?: (\d+) s)?$/.exec(text)!;
    return Number(m[1]) * 60 + Number(m[2] ?? 0);
  };
  expect(Math.abs(left(line) - (runDeadline.at - Date.now()) / 1000)).toBeLessThanOrEqual(3);
  await page.waitForFunction((before) => document.querySelector("#plan-controls")?.textContent !== before, line, { timeout: 3_000 });
  expect(left((await page.textContent("#plan-controls"))!)).toBeLessThan(left(line));
  expect(await page.isHidden("#plan-failure")).toBe(true);
  await screenshot(page, "plan-controls", false);
});

it("says prominently that a run ended because it passed its deadline", async () => {
  const { operator } = await demoAccounts();
  const body = { name: `deadline ${uniqueId("d")}`, deadlineSeconds: 60, tasks: [{ id: "root", run: "noop" }, { id: "gate", run: "approval", needs: ["root"] }] };
  const plan = await callApi("/api/plans", await idToken(operator), { method: "POST", body });
  const planId = plan.json.id as string;
  await signIn(page, operator);
  await page.goto(`${HOSTING}/?plan=${encodeURIComponent(planId)}`);
  await page.waitForSelector("#plan-controls .deadline-state", { timeout: 30_000 });
  expect(await page.textContent("#plan-controls")).toMatch(/^Deadline: 60 s per run — ends in (\d+ s|1 min)$/);
  // The sweeper's pass, on a clock just past this run's deadline (no ticker runs in the browser stage).
  const at = await waitFor("the run's deadline", async () => ((await db.collection("plans").doc(planId).get()).get("runDeadline") as { at: number | null } | undefined)?.at ?? undefined);
  await sweepPlans(db, () => Math.max(Date.now(), at + 1_000));
  await waitFor("the plan to end", async () => ((await db.collection("plans").doc(planId).get()).get("failure") === "deadline_exceeded" ? true : undefined));
  await page.waitForSelector("#plan-failure:not([hidden])", { timeout: 10_000 });
  expect(await page.textContent("#plan-failure")).toBe("Ended: the run passed its deadline of 60 s (deadline_exceeded). Attempts that were running finished; retry it for a new deadline.");
  expect(await page.textContent("#plan-controls")).toBe("Deadline: 60 s per run — passed");
  expect(await page.getAttribute("#plan-controls .deadline-state", "class")).toContain("passed");
  await page.waitForSelector('#plan-view[data-status="failed"]', { timeout: 10_000 });
  await screenshot(page, "plan-deadline-passed", false);
});

it("fits a 390 px phone: the pools with their forms, and a plan's controls line", async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, timezoneId: "UTC", locale: "en-GB" });
  const p = await phone.newPage();
  const { operator } = await demoAccounts();
  await signIn(p, operator);
  await p.waitForSelector(`${card(keptId)} form.resize`, { timeout: 15_000 });
  await p.locator(card(keptId)).scrollIntoViewIfNeeded();
  expect(await sticksOut(p)).toEqual({ overflow: 0, elements: [] });
  const box = await p.locator(card(keptId)).boundingBox();
  expect(box!.x + box!.width).toBeLessThanOrEqual(390);
  const form = await p.locator("#new-pool").boundingBox();
  expect(form!.x + form!.width).toBeLessThanOrEqual(390);
  await screenshotOf(p, "section:has(#pools)", "overview-pools-phone");
  await p.emulateMedia({ colorScheme: "dark" });
  await screenshotOf(p, `${card(keptId)}`, "overview-pool-dark");
  await p.emulateMedia({ colorScheme: "light" });
  if (controlledPlan !== undefined) {
    await p.goto(`${HOSTING}/?plan=${encodeURIComponent(controlledPlan)}`);
    await p.waitForSelector("#plan-controls .deadline-state", { timeout: 15_000 });
    expect(await sticksOut(p)).toEqual({ overflow: 0, elements: [] });
    await screenshot(p, "plan-controls-phone", false);
  }
  await phone.close();
});
