/**
 * Status-page benchmarks on the running local stack (the hosting emulator serving the built page,
 * the `api` function, the Auth emulator): how long a 1,000-task plan takes from navigation to its
 * graph drawn with every task, and how long the overview API answers. Medians of a few runs.
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


/** 1,000 tasks in 40 layers of 25, each needing two of the previous layer; a dry run (compiled, not run). */
function planOf(n: number, width: number): Record<string, unknown> {
  const tasks = Array.from({ length: n }, (_, i) => {
    const layer = Math.floor(i / width);
    const needs = layer === 0 ? [] : [...new Set([(layer - 1) * width + (i % width), (layer - 1) * width + ((i + 1) % width)])].map((j) => `t${j}`);
    return { id: `t${i}`, run: "noop", needs };
  });
  return { name: `page bench ${n}`, dryRun: true, tasks };
}

export async function benchPage(hostingUrl: string): Promise<Record<string, PageBenchFigure>> {
  const base = hostingUrl.replace(/\/$/, "");
  const { operator, viewer } = await createDemoAccounts();
  const token = await idToken(operator);
  const created = await fetch(`${base}/api/plans`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify(planOf(1_000, 25)) });
  if (created.status !== 201) throw new Error(`creating the bench plan: HTTP ${created.status} ${await created.text()}`);
  const { id: planId } = (await created.json()) as { id: string };
  for (let deadline = Date.now() + 60_000; ; ) {
    const graph = await fetch(`${base}/api/plans/${planId}/graph`, { headers: { Authorization: `Bearer ${token}` } });
    if (graph.status === 200) break;
    if (Date.now() > deadline) throw new Error(`the bench plan ${planId} was not compiled within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }

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
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.fill("#email", viewer.email);
    await page.fill("#password", viewer.password);
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#signed-in-as", { timeout: 15_000 });
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      await page.goto(`${base}/?plan=${encodeURIComponent(planId)}`);
      await page.waitForFunction(() => document.querySelectorAll("#graph [data-task]").length === 1_000, undefined, { timeout: 60_000, polling: 10 });
      const ms = performance.now() - t0;
      if (i > 0) renders.push(ms);
      drawing.push(Number(await page.getAttribute("#graph", "data-render-ms")));
    }
  } finally {
    await browser.close();
  }
  return {
    "page.render_1000_ms": { value: Math.round(median(renders)), unit: "ms", goal: "< 1000 ms from navigation to a 1,000-task graph drawn (signed in, warm)" },
    "page.graph_draw_1000_ms": { value: Math.round(median(drawing)), unit: "ms", goal: "< 100 ms: layout and drawing of that graph alone" },
    "api.overview_ms": { value: Math.round(median(overview) * 10) / 10, unit: "ms", goal: "< 500 ms (the page refreshes its dashboard within 10 s)" },
  };
}
