/**
 * Incidents on the status page and for other tools, in headless Chromium against the whole local
 * stack: scheduled maintenance, the past incidents with what they cost, the Atom feed (parsed by
 * the browser's own XML parser) and an environment's uptime badge, all without signing in.
 */
import type { Browser } from "playwright-core";
import { seedAlert, seedEnvironments } from "../integration/api/fixtures";
import { uniqueId } from "../support/emulators";
import { db, HOSTING, launch, screenshot } from "./support";

let browser: Browser;

beforeAll(async () => {
  await seedEnvironments(db, Date.now());
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

it("lists past incidents with their duration and budget cost, serves them as an Atom feed, and badges each environment's uptime", async () => {
  const now = Date.now();
  const id = uniqueId("incident");
  await seedAlert(db, id, now, { status: "resolved", title: "lang-trak-prod hosting is down", firstSeen: now - 2 * 86_400_000, lastSeen: now - 2 * 86_400_000 + 42 * 60_000, resolvedAt: now - 2 * 86_400_000 + 42 * 60_000, resolvedByRun: "run-x", budgetCost: { minutes: 42, fraction: 0.194 } });
  // Compliance findings are internal: not among the public's incidents.
  await seedAlert(db, `${id}-c`, now, { kind: "compliance", status: "resolved", title: "a compliance finding", resolvedAt: now - 60_000 });
  // Planned work is announced; a freeze is for signed-in viewers only.
  await db.collection("windows").doc(`${id}-m`).set({ kind: "maintenance", name: "database upgrade", environments: ["production"], oneTime: [{ start: now - 60_000, end: now + 3_600_000 }], weekly: [{ days: ["sat"], start: "22:00", durationMinutes: 120, timeZone: "Europe/Berlin" }], updatedAt: now, updatedBy: "test" });
  await db.collection("windows").doc(`${id}-f`).set({ kind: "freeze", name: "secret freeze", environments: ["production"], oneTime: [{ start: now - 60_000, end: now + 3_600_000 }], weekly: [], updatedAt: now, updatedBy: "test" });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${HOSTING}/`);
  await page.waitForSelector(`#windows [data-window="${id}-m"]`, { timeout: 15_000 });
  expect(await page.textContent(`#windows [data-window="${id}-m"]`)).toMatch(/^maintenance now database upgrade · production · until .*every sat at 22:00 for 2 h \(Europe\/Berlin\)$/);
  expect(await page.locator(`#windows [data-window="${id}-f"]`).count()).toBe(0);
  await db.collection("windows").doc(`${id}-m`).delete();
  await db.collection("windows").doc(`${id}-f`).delete();
  const row = page.locator(`#incidents [data-incident="${id}"]`);
  await row.waitFor({ timeout: 15_000 });
  const cells = await row.locator("td").allTextContents();
  expect(cells[0]).toContain("lang-trak-prod hosting is down");
  expect(cells[1]).toBe("lang-trak-prod");
  expect(cells[3]).toBe("42 min");
  expect(cells[4]).toBe("42.0 min (19.4 %)");
  expect(await page.locator(`#incidents [data-incident="${id}-c"]`).count()).toBe(0);
  await screenshot(page, "overview-incidents");

  const feed = await page.evaluate(async () => {
    const response = await fetch("/api/incidents.atom");
    const text = await response.text();
    const xml = new DOMParser().parseFromString(text, "application/xml");
    return {
      type: response.headers.get("content-type"),
      error: xml.querySelector("parsererror")?.textContent ?? null,
      title: xml.querySelector("feed > title")?.textContent,
      entries: Array.from(xml.querySelectorAll("entry > title")).map((t) => t.textContent),
    };
  });
  expect(feed.type).toMatch(/^application\/atom\+xml/);
  expect(feed.error).toBeNull();
  expect(feed.title).toMatch(/^Status: /);
  expect(feed.entries).toContain("[resolved] lang-trak-prod hosting is down");
  expect(feed.entries).not.toContain("[resolved] a compliance finding");

  const badge = await page.goto(`${HOSTING}/api/environments/lang-trak-prod/badge.svg`);
  expect(badge?.headers()["content-type"]).toMatch(/^image\/svg\+xml/);
  expect(await page.locator("svg title").textContent()).toMatch(/^production: (\d+(\.\d+)? %|no data) uptime$/);
  await context.close();
});
