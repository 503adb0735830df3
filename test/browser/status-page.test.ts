/**
 * The status page in headless Chromium against the whole local stack (hosting, functions, auth,
 * Firestore, Pub/Sub). Screenshots of the main views go to test/artifacts/.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { seedAlert, seedEnvironments } from "../integration/api/fixtures";
import { ROOT } from "../../local/project";
import { uniqueId, waitFor } from "../support/emulators";
import { callApi, db, demoAccounts, HOSTING, idToken, launch, layeredPlan, screenshot, signIn } from "./support";

let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  await seedEnvironments(db, Date.now());
  await seedAlert(db, "browser-demo-alert", Date.now());
  await demoAccounts();
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

describe("the overview", () => {
  it("renders the demo environments, their uptime bars and open alerts without signing in", async () => {
    await page.goto(`${HOSTING}/`);
    await page.waitForSelector('[data-env="lang-trak-prod"]');
    for (const id of ["lang-trak-dev", "lang-trak-staging", "lang-trak-prod"]) {
      expect(await page.locator(`[data-env="${id}"] .uptime span`).count()).toBe(90);
    }
    expect(await page.textContent('[data-env="lang-trak-prod"] h3')).toBe("production");
    // In promotion order, each named as its plan names it, its project id beside the name.
    const cards = await page.locator("article.env").evaluateAll((els) => els.map((e) => [e.querySelector("h3")?.textContent, e.getAttribute("data-env")]));
    expect(cards).toEqual([["development", "lang-trak-dev"], ["staging", "lang-trak-staging"], ["production", "lang-trak-prod"]]);
    expect(await page.textContent('[data-env="lang-trak-dev"] p.muted')).toMatch(/^lang-trak-dev · checked/);
    // One line for everything, in a status page's words: production is degraded and has an open incident.
    expect(await page.getAttribute("#status-banner", "class")).toBe("banner degraded");
    expect(await page.textContent("#status-banner")).toMatch(/^Degraded performance: production · \d+ open incidents?$/);
    // Dark mode follows the system setting.
    await page.emulateMedia({ colorScheme: "dark" });
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe("rgb(18, 22, 27)");
    await screenshot(page, "overview-dark");
    await page.emulateMedia({ colorScheme: "light" });
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe("rgb(255, 255, 255)");
    expect(await page.textContent("#alerts")).toContain("lang-trak-prod monitoring is slow");
    expect(await page.locator("#goals").count()).toBe(0);
    await screenshot(page, "overview-public");
  });

  it("shows goals with error budgets, the plan list and the operator forms after signing in", async () => {
    const { operator } = await demoAccounts();
    await signIn(page, operator);
    await page.waitForSelector("#goals table");
    expect(await page.locator("#goals tbody tr").count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator("#goals meter").count()).toBeGreaterThanOrEqual(2);
    await page.waitForSelector("#new-plan textarea");
    await screenshot(page, "overview-operator");
  });

  it("works on a phone-sized screen", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const p = await phone.newPage();
    await p.goto(`${HOSTING}/`);
    await p.waitForSelector('[data-env="lang-trak-prod"]');
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(p, "overview-phone");
    await phone.close();
  });
});

describe("plans", () => {
  it("draws every task of a plan's graph, with the critical path", async () => {
    const { operator, viewer } = await demoAccounts();
    const created = await callApi("/api/plans", await idToken(operator), { method: "POST", body: layeredPlan(120, 12, "graph check") });
    expect(created.status).toBe(201);
    const planId = created.json.id as string;
    await signIn(page, viewer);
    await page.goto(`${HOSTING}/?plan=${encodeURIComponent(planId)}`);
    await page.waitForSelector("#graph [data-task]", { timeout: 30_000 });
    expect(await page.locator("#graph [data-task]").count()).toBe(120);
    expect(await page.locator("#graph [data-task].crit").count()).toBeGreaterThan(1);
    expect(await page.textContent("#critical-path")).toMatch(/Critical path: \d+ tasks/);
    await page.click('#graph [data-task="t0"]');
    await page.waitForSelector("#task-detail .detail");
    expect(await page.textContent("#task-detail")).toContain("t0");
    // A viewer sees a task's attempts and transitions, not its output (operators only).
    expect(await page.locator("#task-detail h4").allTextContents()).toEqual(["Attempts"]);
    expect(await page.locator("#task-detail pre.output").count()).toBe(0);
    expect(await page.locator("[data-command]").count()).toBe(0);
    await screenshot(page, "plan-graph", false);
  });

  it("shows an invalid plan's field errors in place and writes nothing", async () => {
    const { operator } = await demoAccounts();
    await signIn(page, operator);
    await page.waitForSelector("#plan-json");
    await page.fill("#plan-json", JSON.stringify({ tasks: [{ id: "x", run: "delay", params: { ms: "soon" } }, { id: "y", run: "noop", needs: ["nowhere"] }] }));
    await page.click('#new-plan button[type="submit"]');
    await page.waitForSelector("#plan-form-result .errors li");
    const paths = await page.locator("#plan-form-result .errors li code").allTextContents();
    expect(paths).toContain("tasks.0.params.ms");
    expect(await page.getAttribute("#plan-json", "aria-invalid")).toBe("true");
    expect(new URL(page.url()).searchParams.get("plan")).toBeNull();
    await screenshot(page, "plan-form-errors");
  });

  it("shows an environment plan's cost, risks, compliance and timeline", async () => {
    const { operator } = await demoAccounts();
    const spec = JSON.parse(readFileSync(join(ROOT, "examples", "lang-trak.json"), "utf8")) as Record<string, unknown>;
    // As `npm run plan -- --refresh --apply` writes it: what the refresh saw, per provision task.
    const seen = (create: number, update: number, noop: number) => ({ resources: {}, summary: { create, update, replace: 0, noop } });
    const expectedState = { refreshedAt: Date.now(), tasks: { "production.backup": seen(0, 1, 0), "production.hosting": seen(0, 0, 2), "staging.monitoring": seen(2, 0, 0) } };
    const created = await callApi("/api/plans", await idToken(operator), { method: "POST", body: { ...spec, dryRun: true, expectedState } });
    expect(created.status).toBe(201);
    await signIn(page, operator);
    await page.goto(`${HOSTING}/?plan=${encodeURIComponent(created.json.id as string)}`);
    await page.waitForSelector("#cost table", { timeout: 30_000 });
    expect(await page.locator("#cost tbody tr").count()).toBeGreaterThan(5);
    expect(await page.locator("#risks li").count()).toBeGreaterThan(0);
    expect(await page.locator("#compliance li").count()).toBeGreaterThan(0);
    // The refresh's change sets, per environment: production changes its backup, staging creates its monitoring.
    expect(await page.locator("#changes").textContent()).toContain("2 to create, 1 to change, 2 unchanged");
    const rows = await page.locator("#changes tbody tr").allTextContents();
    expect(rows).toEqual([expect.stringMatching(/^staging \(lang-trak-staging\)200monitoring$/), expect.stringMatching(/^production \(lang-trak-prod\)012backup$/)]);
    await page.waitForSelector("#gantt svg .planned");
    expect(await page.locator("#gantt svg .planned").count()).toBeGreaterThan(10);
    // Planned waits (the approval gates) are hatched, and the ticks are round times, evenly spaced.
    expect(await page.locator("#gantt svg .planned.wait").count()).toBe(2);
    // The demo mostly waits, so it opens with its waits compressed; uncompressed, the ticks are evenly spaced.
    await page.locator("#compress-waits").uncheck();
    const ticks = await page.locator("#gantt svg text.tick").allTextContents();
    expect(ticks[0]).toBe("0 ms");
    expect(ticks.slice(1, 3)).toEqual(["30 min", "60 min"]);
    await page.locator("#compress-waits").check();
    expect(await page.locator("#gantt svg line.now").count()).toBe(0);
    // A dry run changes nothing: no plan command is offered.
    await page.waitForFunction(() => document.querySelector("#actions-note")?.textContent?.includes("dry run"), undefined, { timeout: 10_000 });
    expect(await page.locator("[data-command]:visible").count()).toBe(0);
    await screenshot(page, "plan-environment");
  });
});

describe("approving a gate from the page (needs the engine's approval support)", () => {
  // On the local stack the page polls a plan's tasks and history; `&listen` uses the listeners the deployed page uses.
  it.each([
    ["polling, as on the local stack", ""],
    ["listeners, as deployed", "&listen"],
  ])("moves the plan on and the page updates live (%s)", async (_mode, query) => {
    const { operator } = await demoAccounts();
    const planSpec = {
      name: `gated ${uniqueId("b")}`,
      approvers: [operator.email],
      tasks: [
        { id: "build", run: "delay", params: { ms: 200 } },
        // Created and approved by the same operator: the gate allows self-approval.
        { id: "approve-deploy", run: "approval", params: { prompt: "Deploy?", allowSelfApproval: true }, needs: ["build"] },
        { id: "deploy", run: "delay", params: { ms: 200 }, needs: ["approve-deploy"] },
      ],
    };
    const created = await callApi("/api/plans", await idToken(operator), { method: "POST", body: planSpec });
    expect(created.status).toBe(201);
    const planId = created.json.id as string;
    await signIn(page, operator);
    await page.goto(`${HOSTING}/?plan=${encodeURIComponent(planId)}${query}`);
    const approve = page.locator('[data-approve="approve-deploy"]');
    await approve.waitFor({ timeout: 30_000 });
    // While the plan runs, the timeline has a "now" line.
    await page.waitForSelector("#gantt svg line.now", { state: "attached", timeout: 10_000 });
    await screenshot(page, "plan-waiting-approval");
    const clickedAt = Date.now();
    await approve.click();
    await page.waitForSelector('#plan-view[data-status="succeeded"]', { timeout: 30_000 });
    await page.waitForSelector('#graph [data-task="deploy"].s-succeeded', { timeout: 5_000 });
    const seenAfterMs = Date.now() - clickedAt;
    await page.waitForFunction(() => document.querySelector("#events")?.textContent?.includes("operator@example.com"), undefined, { timeout: 5_000 });
    const status = await waitFor("the plan document to say succeeded", async () => ((await db.collection("plans").doc(planId).get()).get("status") === "succeeded" ? true : undefined));
    expect(status).toBe(true);
    expect(seenAfterMs).toBeLessThan(30_000);
    // The gate's detail: its attempt, from claim to approval, and (for an operator) its output.
    await page.click('#graph [data-task="approve-deploy"]');
    await page.waitForSelector('#task-detail [data-detail="approve-deploy"] table.attempts tbody tr');
    const attempt = await page.locator("#task-detail table.attempts tbody tr").first().textContent();
    expect(attempt).toMatch(/^1.*succeeded/);
    await page.waitForFunction(() => !document.querySelector("#task-detail pre.output")?.textContent?.includes("loading"), undefined, { timeout: 5_000 });
    expect(await page.textContent("#task-detail pre.output")).toContain("operator@example.com");
    expect(await page.textContent("#task-detail details summary")).toMatch(/^Its transitions \(\d+\)$/);
    await screenshot(page, "plan-task-detail");
    // A succeeded plan can only be rolled back, and only once that is confirmed.
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLElement>("[data-command]")).filter((b) => !b.hidden).map((b) => b.dataset.command).join() === "rollback", undefined, { timeout: 5_000 });
    await page.click('[data-command="rollback"]');
    expect(await page.textContent('[data-command="rollback"]')).toBe("Confirm: roll back everything it did");
    expect(await page.textContent("#command-result")).toContain("click again within 10 s to confirm");
    expect((await db.collection("plans").doc(planId).get()).get("status")).toBe("succeeded");
    await screenshot(page, "plan-approved");
  });
});
