/**
 * The plan page's dependency graph and timeline in headless Chromium against the local stack:
 * lanes, fitting the page, keyboard use, collapsed lanes of a large plan, zoom, state glyphs, and
 * compressed waits. Screenshots go to test/artifacts/.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { TASK_STATUSES } from "../../functions/src/engine/statuses";
import { COLLAPSE_ABOVE } from "../../hosting/src/graph-layout";
import { ROOT } from "../../local/project";
import { callApi, demoAccounts, groupedLayeredPlan, HOSTING, idToken, launch, screenshot, screenshotOf, signIn } from "./support";

let browser: Browser;
let context: BrowserContext;
let page: Page;
let demoPlan: string;
let largePlan: string;

async function createPlan(body: Record<string, unknown>): Promise<string> {
  const { operator } = await demoAccounts();
  const created = await callApi("/api/plans", await idToken(operator), { method: "POST", body });
  expect(created.status).toBe(201);
  return created.json.id as string;
}

beforeAll(async () => {
  await demoAccounts();
  browser = await launch();
  const spec = JSON.parse(readFileSync(join(ROOT, "examples", "lang-trak.json"), "utf8")) as Record<string, unknown>;
  demoPlan = await createPlan({ ...spec, dryRun: true });
  largePlan = await createPlan(groupedLayeredPlan(1_000, 20, 10, "graph lanes 1000"));
});

afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  await signIn(page, (await demoAccounts()).viewer);
});

afterEach(async () => {
  await context.close();
});

async function openPlan(planId: string, query = ""): Promise<void> {
  await page.goto(`${HOSTING}/?plan=${encodeURIComponent(planId)}${query}`);
  await page.waitForSelector("#graph [data-lane]", { timeout: 30_000 });
}

const scaleOf = async (): Promise<number> => Number(await page.getAttribute("#graph", "data-scale"));

describe("the timeline", () => {
  it("compresses the demo's waits by default, and unchecking Compress waits widens them", async () => {
    await openPlan(demoPlan);
    await page.waitForSelector("#gantt svg .planned.wait");
    const compress = page.locator("#compress-waits");
    expect(await compress.isChecked()).toBe(true);
    const waitWidths = async (): Promise<number[]> => page.locator("#gantt svg .planned.wait").evaluateAll((els) => els.map((e) => Number(e.getAttribute("width"))));
    const compressed = await waitWidths();
    expect(compressed).toHaveLength(2);
    expect(await page.locator("#gantt svg .break").count()).toBe(2);
    expect(await page.locator("#gantt svg .break title").first().textContent()).toMatch(/^60 min of waits only/);
    // Ticks stay on round times, none inside a break.
    const ticks = await page.locator("#gantt svg text.tick").allTextContents();
    expect(ticks[0]).toBe("0 ms");
    expect(ticks.every((t) => /^(0 ms|\d+ min|[\d.]+ h)$/.test(t))).toBe(true);
    await page.locator("#timeline-heading").scrollIntoViewIfNeeded();
    await screenshotOf(page, "#gantt", "timeline-compressed");
    await compress.uncheck();
    const full = await waitWidths();
    expect(full).toHaveLength(2);
    for (let i = 0; i < 2; i++) expect(full[i]!).toBeGreaterThan(compressed[i]! * 4);
    expect(await page.locator("#gantt svg .break").count()).toBe(0);
    expect((await page.locator("#gantt svg text.tick").allTextContents()).slice(0, 3)).toEqual(["0 ms", "30 min", "60 min"]);
    await screenshotOf(page, "#gantt", "timeline-uncompressed");
  });
});

describe("the dependency graph", () => {
  it("draws the demo plan in one lane per environment, in order, all of it on a 1,280-px screen", async () => {
    await openPlan(demoPlan);
    expect(await page.locator("#graph [data-task]").count()).toBe(26);
    expect(await page.locator("#graph .graph-lanes .lane-label").allTextContents()).toEqual(["development", "staging", "production"]);
    expect(await page.locator("#graph [data-lane]").evaluateAll((els) => els.map((e) => e.getAttribute("data-lane")))).toEqual(["development", "staging", "production"]);
    // Short labels inside a lane; the full id in the tooltip and the accessible name.
    const db = page.locator('#graph [data-task="staging.database"]');
    expect(await db.locator("text").textContent()).toBe("database");
    expect(await db.locator("title").textContent()).toContain("staging.database");
    expect(await db.getAttribute("aria-label")).toBe("staging.database: blocked");
    // It fits at 100 %: no task is off screen, none is cut.
    expect(await scaleOf()).toBe(1);
    const boxes = await page.locator("#graph [data-task]").evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.left, r.right]));
    for (const [left, right] of boxes) {
      expect(left).toBeGreaterThanOrEqual(0);
      expect(right).toBeLessThanOrEqual(1280);
    }
    const labels = await page.locator("#graph [data-task] text").allTextContents();
    expect(labels.filter((l) => l.endsWith("…"))).toEqual([]);
    // The critical path keeps its heavier outline.
    expect(await page.locator("#graph [data-task].crit").count()).toBe(16);
    await page.locator("#graph-heading").scrollIntoViewIfNeeded();
    await screenshotOf(page, "#graph", "graph-demo-lanes");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshotOf(page, "#graph", "graph-demo-lanes-dark");
  });

  it("gives every task a state glyph, and a legend of every state under the graph", async () => {
    await openPlan(demoPlan);
    const glyphs = await page.locator("#graph [data-task]").evaluateAll((els) => els.map((e) => [/\bs-(\w+)/.exec(e.getAttribute("class") ?? "")?.[1], e.querySelector("use.glyph")?.getAttribute("href")]));
    expect(glyphs).toHaveLength(26);
    for (const [status, href] of glyphs) expect(href).toBe(`#gl-${status}`);
    for (const status of TASK_STATUSES) expect(await page.locator(`#gl-${status}`).count()).toBe(1);
    const legend = await page.locator("#graph .graph-legend li").allTextContents();
    expect(legend).toEqual([...TASK_STATUSES.map((s) => s.replace(/_/g, " ")), "critical path (heavier outline and edges)"]);
    expect(await page.locator("#graph .graph-legend li use").count()).toBe(TASK_STATUSES.length);
  });

  it("is used from the keyboard: Tab visits the tasks in lane, level, row order and Enter opens one", async () => {
    await openPlan(demoPlan);
    const order = await page.locator("#graph [data-task]").evaluateAll((els) => els.map((e) => e.getAttribute("data-task")!));
    await page.locator("#graph [data-task]").first().focus();
    const visited = [await page.evaluate(() => document.activeElement?.getAttribute("data-task"))];
    for (let i = 1; i < order.length; i++) {
      await page.keyboard.press("Tab");
      visited.push(await page.evaluate(() => document.activeElement?.getAttribute("data-task")));
    }
    expect(visited).toEqual(order);
    expect(order.slice(0, 3).every((id) => id.startsWith("development."))).toBe(true);
    expect(order.at(-1)).toBe("production.verify");
    await screenshotOf(page, "#graph .graph-box", "graph-keyboard-focus");
    await page.keyboard.press("Enter");
    await page.waitForSelector('#task-detail [data-detail="production.verify"]');
    // Space opens a task too.
    await page.locator('#graph [data-task="staging.approval"]').focus();
    await page.keyboard.press(" ");
    await page.waitForSelector('#task-detail [data-detail="staging.approval"]');
  });

  it("opens a 1,000-task plan with its lanes collapsed, counts per lane, and opens a lane on a click", async () => {
    await openPlan(largePlan);
    expect(await page.locator("#graph [data-task]").count()).toBe(0);
    const boxes = page.locator("#graph [data-lane].lane-box");
    expect(await boxes.count()).toBe(10);
    for (const text of await boxes.locator("text").allTextContents()) expect(text).toMatch(/^g\d · 100 tasks( · [\d,]+ [a-z ]+)+$/);
    expect(await boxes.first().getAttribute("role")).toBe("button");
    await screenshotOf(page, "#graph", "graph-collapsed-lanes");
    await page.click('#graph [data-lane="g3"]');
    await page.waitForSelector('#graph [data-lane="g3"] [data-task]');
    expect(await page.locator("#graph [data-task]").count()).toBe(100);
    expect(await page.locator("#graph [data-lane].lane-box").count()).toBe(9);
    expect(await page.evaluate(() => document.activeElement?.closest("[data-lane]")?.getAttribute("data-lane"))).toBe("g3");
    await screenshotOf(page, "#graph", "graph-lane-open");
    // From the keyboard: Enter on a collapsed lane opens it.
    await page.locator('#graph [data-lane="g4"]').focus();
    await page.keyboard.press("Enter");
    await page.waitForSelector('#graph [data-lane="g4"] [data-task]');
    await page.click('#graph [data-lanes="open"]');
    await page.waitForFunction(() => document.querySelectorAll("#graph [data-task]").length === 1_000);
    expect(await page.locator('#graph [data-lanes="open"]').isHidden()).toBe(true);
  });

  it("opens every lane at once with lanes=open in the URL", async () => {
    await openPlan(largePlan, "&lanes=open");
    await page.waitForFunction(() => document.querySelectorAll("#graph [data-task]").length === 1_000);
    expect(await page.locator("#graph [data-lane].lane-box").count()).toBe(0);
    await screenshot(page, "graph-1000-open", false);
  });

  it("zooms with the buttons and ctrl + wheel, pans by dragging, and Fit returns to the page's width", async () => {
    await openPlan(largePlan, "&lanes=open");
    await page.waitForFunction(() => document.querySelectorAll("#graph [data-task]").length === 1_000);
    // Wider than its box, so it opens fitted to the width, below 100 %.
    const fitted = await scaleOf();
    expect(fitted).toBeLessThan(1);
    const svgWidth = async (): Promise<number> => Number(await page.getAttribute("#graph svg.graph", "width"));
    const fittedWidth = await svgWidth();
    await page.click('#graph [data-zoom="in"]');
    expect(await scaleOf()).toBeCloseTo(fitted * 1.25, 2);
    expect(await svgWidth()).toBeGreaterThan(fittedWidth);
    await page.click('#graph [data-zoom="in"]');
    await page.click('#graph [data-zoom="out"]');
    expect(await scaleOf()).toBeCloseTo(fitted * 1.25, 2);
    const box = (await page.locator("#graph .graph-box").boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 100));
    await page.keyboard.down("Control");
    await page.mouse.wheel(0, -300);
    await page.keyboard.up("Control");
    await page.waitForFunction((s) => Number(document.querySelector<HTMLElement>("#graph")!.dataset.scale) > s, fitted * 1.3);
    // Drag to pan: the box scrolls, and the drag opens no task.
    const scrolled = async (): Promise<number> => page.locator("#graph .graph-box").evaluate((e) => e.scrollLeft);
    const before = await scrolled();
    await page.mouse.move(box.x + box.width / 2, box.y + 40);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 - 200, box.y + 40, { steps: 5 });
    await page.mouse.up();
    expect(await scrolled()).toBeGreaterThan(before + 100);
    expect(await page.locator("#task-detail .detail").count()).toBe(0);
    await page.click('#graph [data-zoom="fit"]');
    expect(await scaleOf()).toBeCloseTo(fitted, 3);
    expect(await svgWidth()).toBeCloseTo(fittedWidth, 0);
  });

  it("counts a collapsed lane's tasks again as their states change", async () => {
    // More than 500 tasks behind one approval gate: the gate moves on to waiting, the rest wait for it (no load left behind).
    const plan = groupedLayeredPlan(COLLAPSE_ABOVE + 10, 170, 2, "graph live lanes");
    const tasks = (plan.tasks as Array<{ id: string; needs: string[] }>).map((t) => (t.needs.length === 0 ? { ...t, needs: ["g0.gate"] } : t));
    const { operator } = await demoAccounts();
    const planId = await createPlan({ ...plan, dryRun: false, approvers: [operator.email], tasks: [{ id: "g0.gate", run: "approval", params: { prompt: "Go?" } }, ...tasks] });
    await openPlan(planId);
    expect(await page.locator("#graph [data-task]").count()).toBe(0);
    const boxes = page.locator("#graph .lane-box");
    await page.waitForFunction(() => /^g0 · 256 tasks · 255 blocked · 1 waiting approval$/.test(document.querySelector("#graph .lane-box text")?.textContent ?? ""), undefined, { timeout: 60_000 });
    expect(await boxes.locator("text").allTextContents()).toEqual(["g0 · 256 tasks · 255 blocked · 1 waiting approval", "g1 · 255 tasks · 255 blocked"]);
    expect(await boxes.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label") === e.querySelector("text")?.textContent))).toEqual([true, true]);
    const widths = await boxes.locator("rect.box").evaluateAll((els) => els.map((e) => e.getAttribute("width")));
    expect(new Set(widths).size).toBe(1);
    await screenshotOf(page, "#graph", "graph-collapsed-live");
  });
});
