/**
 * Schedules on the status page, in headless Chromium against the whole local stack: a schedule set
 * and backfilled through the API, shown with its cron expression in words, next and last tick and
 * its last run (followed live to the run's plan view and back); an operator pauses it from its card
 * (and Firestore says so), a backfill with its end before its start is refused in place, and the
 * section fits a 390 px phone. No ticker runs in the browser stage, so nothing fires on its own.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { uniqueId, waitFor } from "../support/emulators";
import { callApi, db, demoAccounts, HOSTING, idToken, launch, screenshot, screenshotOf, signIn, sticksOut } from "./support";

const MINUTE = 60_000;
const DAY = 86_400_000;

let browser: Browser;
let context: BrowserContext;
let page: Page;
let scheduleId: string;
/** The backfilled runs, and the range they were backfilled for (whole minutes, as a datetime-local input has them). */
let backfilled: string[];
let range: { from: number; to: number };

/** A datetime-local input's value for `ms` in the page's time zone (the contexts below run in UTC). */
const local = (ms: number): string => new Date(ms).toISOString().slice(0, 16);

beforeAll(async () => {
  const { operator } = await demoAccounts();
  const token = await idToken(operator);
  scheduleId = uniqueId("nightly").replace(/[^A-Za-z0-9_-]/g, "-");
  const set = await callApi("/api/schedules", token, {
    method: "POST",
    body: { id: scheduleId, cron: "30 2 * * mon-fri", timeZone: "Europe/Berlin", overlap: "skip", description: "weekday exports", plan: { tasks: [{ id: "export", run: "noop" }] } },
  });
  expect(set.status).toBe(200);
  // Four days hold at least one weekday at 02:30 in Berlin: its runs are the schedule's last ones.
  const to = Math.floor(Date.now() / MINUTE) * MINUTE;
  range = { from: to - 4 * DAY, to };
  const filled = await callApi(`/api/schedules/${scheduleId}/backfill`, token, { method: "POST", body: { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() } });
  expect(filled.status).toBe(200);
  backfilled = filled.json.started as string[];
  expect(backfilled.length).toBeGreaterThanOrEqual(1);
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  if (scheduleId !== undefined) await db.collection("schedules").doc(scheduleId).delete();
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "UTC", locale: "en-GB" });
  page = await context.newPage();
});

afterEach(async () => {
  await context.close();
});

const card = (id: string): string => `#schedules [data-schedule="${id}"]`;
const field = (id: string, name: string): string => `${card(id)} [data-field="${name}"]`;

it("shows each schedule's cron in words, next and last tick, last run, overlap, pause and open runs; its run links back to it", async () => {
  const { operator } = await demoAccounts();
  const listed = await callApi("/api/schedules", await idToken(operator));
  const view = (listed.json.schedules as Array<{ id: string; nextTick: number; lastRun: { planId: string } }>).find((s) => s.id === scheduleId)!;
  // The last run is the latest tick's (the backfill's last), with its plan's status.
  expect(view.lastRun).toMatchObject({ planId: backfilled.at(-1), backfill: true });

  await signIn(page, operator);
  await page.waitForSelector(card(scheduleId), { timeout: 15_000 });
  expect(await page.textContent(`${card(scheduleId)} h3`)).toBe(scheduleId);
  expect(await page.textContent(`${card(scheduleId)} header .badge`)).toBe("active");
  expect(await page.textContent(`${card(scheduleId)} .description`)).toBe("weekday exports");
  expect(await page.textContent(field(scheduleId, "cron"))).toBe("30 2 * * mon-fri · Europe/Berlin — at 02:30 on Mon–Fri");
  // The next tick on the schedule's clock (Berlin: 02:30), as the API computed it.
  expect(await page.getAttribute(`${field(scheduleId, "next")} time`, "datetime")).toBe(new Date(view.nextTick).toISOString());
  expect(await page.textContent(`${field(scheduleId, "next")} time`)).toMatch(/02:30 CES?T$/);
  expect(await page.textContent(field(scheduleId, "next"))).toMatch(/ in \d+ (min|h|d)$/);
  expect(await page.textContent(field(scheduleId, "last-tick"))).toMatch(/02:30 CES?T started$/);
  expect(await page.getAttribute(`${field(scheduleId, "last-run")} a`, "data-run")).toBe(backfilled.at(-1));
  expect(await page.textContent(field(scheduleId, "overlap"))).toBe("skip — a tick is skipped while a run is open");
  expect(await page.textContent(field(scheduleId, "open"))).toMatch(/^\d+ as of the last firing pass$/);
  expect(await page.textContent(field(scheduleId, "paused"))).toBe("no");
  // Live: the engine runs the noop plans, and the card follows the last one to succeeded.
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes("succeeded"), `${field(scheduleId, "last-run")} .badge`, { timeout: 30_000 });
  // An operator's actions: pause, and a backfill form behind its summary.
  expect(await page.textContent(`${card(scheduleId)} [data-action]`)).toBe("Pause");
  expect(await page.locator(`${card(scheduleId)} form.backfill input[type="datetime-local"]:visible`).count()).toBe(0);
  await page.click(`${card(scheduleId)} .backfill-box summary`);
  expect(await page.locator(`${card(scheduleId)} form.backfill input[type="datetime-local"]:visible`).count()).toBe(2);
  await page.locator(card(scheduleId)).scrollIntoViewIfNeeded();
  await screenshotOf(page, "section:has(#schedules)", "overview-schedules");

  // The run's plan view names its schedule and tick, and links back to the schedule's card.
  await page.click(`${field(scheduleId, "last-run")} a`);
  await page.waitForSelector("#plan-schedule:not([hidden])", { timeout: 15_000 });
  const tick = await page.getAttribute("#plan-schedule time", "datetime");
  expect(tick).toMatch(/^\d{4}-\d\d-\d\dT\d\d:30:00Z$/);
  expect(await page.textContent("#plan-schedule")).toContain(`Started by schedule ${scheduleId} for its tick `);
  expect(backfilled.at(-1)).toBe(`${scheduleId}--${tick!.replace(/[-:]/g, "").replace(/00Z$/, "Z")}`);
  await page.click("#plan-schedule a");
  await page.waitForSelector(`${card(scheduleId)}.targeted`, { timeout: 15_000 });
  expect(new URL(page.url()).hash).toBe(`#schedule-${scheduleId}`);
});

it("pauses and resumes from the card (Firestore says so), and shows a backfill's answer and its errors in place", async () => {
  const { operator } = await demoAccounts();
  await signIn(page, operator);
  const pause = page.locator(`${card(scheduleId)} [data-action]`);
  await pause.waitFor({ timeout: 15_000 });
  await pause.click();
  await page.waitForSelector(`${card(scheduleId)}[data-paused="true"]`, { timeout: 10_000 });
  expect(await page.textContent(`${card(scheduleId)} [data-result]`)).toBe(`Paused by ${operator.email}: no tick fires until it is resumed; open runs go on.`);
  expect(await pause.textContent()).toBe("Resume");
  expect(await page.textContent(`${card(scheduleId)} header .badge`)).toBe("paused");
  expect(await page.textContent(field(scheduleId, "next"))).toBe("none while paused");
  expect(await page.textContent(field(scheduleId, "paused"))).toMatch(new RegExp(`^yes, by ${operator.email.replace(/\./g, "\\.")} \\d+ s ago$`));
  const stored = (await db.collection("schedules").doc(scheduleId).get()).data()!;
  expect(stored).toMatchObject({ paused: true, pausedBy: operator.email });
  // The answer stays through the next refreshes (the card is redrawn in place, not rebuilt).
  await page.waitForTimeout(2_500);
  expect(await page.textContent(`${card(scheduleId)} [data-result]`)).toContain("Paused by");

  // A backfill ending before it starts: the API's answer, with the field's path, in place; nothing started.
  const runsBefore = (await db.collection("plans").where("labels.schedule", "==", scheduleId).get()).size;
  await page.click(`${card(scheduleId)} .backfill-box summary`);
  await page.fill(`#backfill-from-${scheduleId}`, local(range.to - DAY));
  await page.fill(`#backfill-to-${scheduleId}`, local(range.to - 2 * DAY));
  await page.click(`${card(scheduleId)} form.backfill button[type="submit"]`);
  await page.waitForSelector(`${card(scheduleId)} [data-result] .errors li`);
  expect(await page.textContent(`${card(scheduleId)} [data-result] .error`)).toBe("Backfill refused: the backfill range is not valid; nothing was started");
  expect(await page.locator(`${card(scheduleId)} [data-result] .errors li`).allTextContents()).toEqual(["to must be after from"]);
  expect(await page.getAttribute(`#backfill-to-${scheduleId}`, "aria-invalid")).toBe("true");
  expect(await page.getAttribute(`#backfill-from-${scheduleId}`, "aria-invalid")).toBeNull();
  await screenshotOf(page, card(scheduleId), "overview-schedules-backfill-error");
  expect((await db.collection("plans").where("labels.schedule", "==", scheduleId).get()).size).toBe(runsBefore);

  // The range the API backfilled, again from the form (a paused schedule backfills too): every run is already there.
  await page.fill(`#backfill-from-${scheduleId}`, local(range.from));
  await page.fill(`#backfill-to-${scheduleId}`, local(range.to));
  await page.click(`${card(scheduleId)} form.backfill button[type="submit"]`);
  await page.waitForSelector(`${card(scheduleId)} [data-result] .runs li`);
  expect(await page.textContent(`${card(scheduleId)} [data-result] p`)).toBe(`Backfill: 0 runs started, ${backfilled.length} already there, 0 skipped.`);
  expect(await page.locator(`${card(scheduleId)} [data-result] .runs a`).evaluateAll((links) => links.map((a) => a.getAttribute("data-run")))).toEqual(backfilled);
  expect(await page.getAttribute(`#backfill-to-${scheduleId}`, "aria-invalid")).toBeNull();

  await pause.click();
  await page.waitForSelector(`${card(scheduleId)}[data-paused="false"]`, { timeout: 10_000 });
  expect(await page.textContent(`${card(scheduleId)} [data-result]`)).toMatch(/^Resumed: ticks missed while paused beyond the catch-up window stay missed\. Next tick: .*02:30/);
  expect(await pause.textContent()).toBe("Pause");
  const resumed = await waitFor("the schedule to be resumed in Firestore", async () => ((await db.collection("schedules").doc(scheduleId).get()).get("paused") === false ? true : undefined));
  expect(resumed).toBe(true);
});

it("shows viewers the schedules without actions, and the public no section at all", async () => {
  await page.goto(`${HOSTING}/`);
  // The overview has loaded (its first refresh is done) and has no schedules section.
  await page.waitForFunction(() => document.querySelector("#connection")?.textContent?.startsWith("live"), undefined, { timeout: 15_000 });
  expect(await page.locator("#env-heading").count()).toBe(1);
  expect(await page.locator("#schedules, #schedules-heading").count()).toBe(0);
  const { viewer } = await demoAccounts();
  await signIn(page, viewer);
  await page.waitForSelector(card(scheduleId), { timeout: 15_000 });
  expect(await page.textContent(field(scheduleId, "cron"))).toContain("30 2 * * mon-fri");
  expect(await page.locator(`${card(scheduleId)} [data-action], ${card(scheduleId)} form.backfill`).count()).toBe(0);
});

it("fits a 390 px phone with the schedules and their forms", async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, timezoneId: "UTC", locale: "en-GB" });
  const p = await phone.newPage();
  const { operator } = await demoAccounts();
  await signIn(p, operator);
  await p.waitForSelector(`${card(scheduleId)} .backfill-box summary`, { timeout: 15_000 });
  await p.click(`${card(scheduleId)} .backfill-box summary`);
  await p.locator(card(scheduleId)).scrollIntoViewIfNeeded();
  expect(await sticksOut(p)).toEqual({ overflow: 0, elements: [] });
  const box = await p.locator(card(scheduleId)).boundingBox();
  expect(box!.x + box!.width).toBeLessThanOrEqual(390);
  await screenshot(p, "overview-schedules-phone");
  await phone.close();
});
