/**
 * Status-page benchmarks on the running local stack (the hosting emulator serving the built page,
 * the `api` function, the Auth emulator): how long a 1,000-task plan takes from navigation to its
 * graph drawn with every task (every lane open), a 5,000-task plan to its collapsed lanes, and how
 * long the overview API answers. Medians of a few runs.
 */
import { idToken } from "../test/support/auth";
import { performance } from "node:perf_hooks";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, ensureChromium } from "../local/chromium";
import { createDemoAccounts } from "../local/demo-accounts";

export interface PageBenchFigure {
  value: number;
  unit: string;
  goal: string;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;


/**
 * `n` tasks in layers of `width`, each needing two of the previous layer; a dry run (compiled, not
 * run). Ids `g<k>.t<i>`: each layer is cut into `groups` runs of neighbours, one lane each on the page.
 */
function planOf(n: number, width: number, groups: number): Record<string, unknown> {
  const id = (j: number): string => `g${Math.floor(((j % width) * groups) / width)}.t${j}`;
  const tasks = Array.from({ length: n }, (_, i) => {
    const layer = Math.floor(i / width);
    const needs = layer === 0 ? [] : [...new Set([(layer - 1) * width + (i % width), (layer - 1) * width + ((i + 1) % width)])].map(id);
    return { id: id(i), run: "noop", needs };
  });
  return { name: `page bench ${n}`, dryRun: true, tasks };
}

const LANES = 10;

/** Creates a bench plan and waits until it is compiled. */
async function createPlan(base: string, token: string, plan: Record<string, unknown>): Promise<string> {
  const created = await fetch(`${base}/api/plans`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify(plan) });
  if (created.status !== 201) throw new Error(`creating the bench plan: HTTP ${created.status} ${await created.text()}`);
  const { id: planId } = (await created.json()) as { id: string };
  for (let deadline = Date.now() + 120_000; ; ) {
    const graph = await fetch(`${base}/api/plans/${planId}/graph`, { headers: { Authorization: `Bearer ${token}` } });
    await graph.arrayBuffer();
    if (graph.status === 200) return planId;
    if (Date.now() > deadline) throw new Error(`the bench plan ${planId} was not compiled within 120 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function benchPage(hostingUrl: string): Promise<Record<string, PageBenchFigure>> {
  const base = hostingUrl.replace(/\/$/, "");
  const { operator, viewer } = await createDemoAccounts();
  const token = await idToken(operator);
  const [planId, largePlanId] = await Promise.all([createPlan(base, token, planOf(1_000, 25, LANES)), createPlan(base, token, planOf(5_000, 50, LANES))]);

  const overview: number[] = [];
  const viewerToken = await idToken(viewer);
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    const response = await fetch(`${base}/api/overview`, { headers: { Authorization: `Bearer ${viewerToken}` } });
    await response.arrayBuffer();
    if (i > 0) overview.push(performance.now() - t0);
  }

  const browser = await chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS, headless: true });
  const renders: number[] = [];
  const drawing: number[] = [];
  const large: number[] = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.fill("#email", viewer.email);
    await page.fill("#password", viewer.password);
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#signed-in-as", { timeout: 15_000 });
    // Every lane open (a 1,000-task plan opens collapsed otherwise): all 1,000 tasks drawn.
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      await page.goto(`${base}/?plan=${encodeURIComponent(planId)}&lanes=open`);
      await page.waitForFunction(() => document.querySelectorAll("#graph [data-task]").length === 1_000, undefined, { timeout: 60_000, polling: 10 });
      const ms = performance.now() - t0;
      if (i > 0) renders.push(ms);
      drawing.push(Number(await page.getAttribute("#graph", "data-render-ms")));
    }
    // As it opens: its lanes collapsed, one box each.
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      await page.goto(`${base}/?plan=${encodeURIComponent(largePlanId)}`);
      await page.waitForFunction((lanes) => document.querySelectorAll("#graph [data-lane].lane-box").length === lanes && document.querySelector<HTMLElement>("#graph")?.dataset.tasks === "5000", LANES, { timeout: 60_000, polling: 10 });
      const ms = performance.now() - t0;
      if (i > 0) large.push(ms);
    }
  } finally {
    await browser.close();
  }
  return {
    "page.render_1000_ms": { value: Math.round(median(renders)), unit: "ms", goal: "< 1000 ms from navigation to a 1,000-task graph drawn (signed in, warm)" },
    "page.graph_draw_1000_ms": { value: Math.round(median(drawing)), unit: "ms", goal: "< 100 ms: layout and drawing of that graph alone" },
    "page.render_5000_ms": { value: Math.round(median(large)), unit: "ms", goal: "< 2000 ms: a 5,000-task plan opening, collapsed" },
    "api.overview_ms": { value: Math.round(median(overview) * 10) / 10, unit: "ms", goal: "< 500 ms (the page refreshes its dashboard within 10 s)" },
  };
}
