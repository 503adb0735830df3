/**
 * Driving the status page in headless Chromium (Debian's, through playwright-core) against the
 * running local stack: the hosting emulator serves the built page, the Auth emulator signs in.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { localFirestore } from "../../local/admin";
import { CHROMIUM_ARGS, ensureChromium } from "../../local/chromium";
import { createDemoAccounts, type DemoAccount } from "../../local/demo-accounts";
import { emulator, ROOT } from "../../local/project";

export const HOSTING = `http://${emulator("hosting").host}:${emulator("hosting").port}`;
export const ARTIFACTS = join(ROOT, "test", "artifacts");
export const db = localFirestore();

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS, headless: true });
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

let accounts: Promise<{ operator: DemoAccount; viewer: DemoAccount }> | undefined;
export const demoAccounts = (): Promise<{ operator: DemoAccount; viewer: DemoAccount }> => (accounts ??= createDemoAccounts());

export { idToken } from "../support/auth";

/** Calls the API through the Hosting rewrite, as the page does. */
export async function callApi(path: string, token: string | null, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${HOSTING}${path}`, {
    method: init.method ?? "GET",
    headers: { ...(token === null ? {} : { Authorization: `Bearer ${token}` }), ...(init.body === undefined ? {} : { "Content-Type": "application/json" }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: response.status, json: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

export async function signIn(page: Page, account: DemoAccount): Promise<void> {
  await page.goto(`${HOSTING}/`);
  await page.fill("#email", account.email);
  await page.fill("#password", account.password);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("#signed-in-as", { timeout: 15_000 });
}

/** A task plan of `n` tasks in layers of `width` (each task needs two of the previous layer). */
export function layeredPlan(n: number, width: number, name = `layered ${n}`): Record<string, unknown> {
  const tasks = Array.from({ length: n }, (_, i) => {
    const layer = Math.floor(i / width);
    const needs = layer === 0 ? [] : [...new Set([(layer - 1) * width + (i % width), (layer - 1) * width + ((i + 1) % width)])].filter((j) => j < n).map((j) => `t${j}`);
    return { id: `t${i}`, run: "noop", needs };
  });
  return { name, dryRun: true, tasks };
}

/** layeredPlan with ids `g<k>.t<i>`: each layer cut into `groups` runs of neighbours, one lane each on the page. */
export function groupedLayeredPlan(n: number, width: number, groups: number, name = `grouped ${n}`): Record<string, unknown> {
  const plan = layeredPlan(n, width, name);
  const id = (t: string): string => `g${Math.floor(((Number(t.slice(1)) % width) * groups) / width)}.${t}`;
  const tasks = plan.tasks as Array<{ id: string; run: string; needs: string[] }>;
  return { ...plan, tasks: tasks.map((t) => ({ ...t, id: id(t.id), needs: t.needs.map(id) })) };
}

/** A screenshot of one element (e.g. `#graph`) into test/artifacts/. */
export async function screenshotOf(page: Page, selector: string, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.locator(selector).screenshot({ path });
  return path;
}

/**
 * What makes the page wider than its viewport: how far the document overflows (0 when it fits), and
 * up to 5 innermost elements whose right edge passes the viewport, leaving out those inside a box
 * that scrolls or clips sideways (a wide table in a `.scroll` box is meant to). Both empty: it fits.
 */
export async function sticksOut(page: Page): Promise<{ overflow: number; elements: string[] }> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const clipped = (e: Element): boolean => {
      for (let a = e.parentElement; a !== null && a !== document.body; a = a.parentElement) if (getComputedStyle(a).overflowX !== "visible") return true;
      return false;
    };
    const elements = Array.from(document.querySelectorAll("body *"))
      .filter((e) => e.children.length === 0 && e.getBoundingClientRect().right > width + 0.5 && !clipped(e))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}.${Array.from(e.classList).join(".")} (${Math.round(e.getBoundingClientRect().right)} px): ${(e.textContent ?? "").slice(0, 60)}`);
    return { overflow: Math.max(0, document.documentElement.scrollWidth - width), elements };
  });
}
