/**
 * Where a page load's time goes (not a benchmark): loads one URL of a running server in headless
 * Chromium and prints the waterfall — every script/API request (start → end, ms since navigation
 * start), when the "Loading…" placeholder came and went, and when `ready` first held.
 *
 *   node --import tsx bench/ui-waterfall.ts <url> "<ready expression>" [loads]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [url, ready = "document.querySelector('figure[data-drawn=\"true\"]')", loads = '2'] = process.argv.slice(2);
if (!url) throw new Error('usage: ui-waterfall.ts <url> [ready] [loads]');
const context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'trove-waterfall-')), {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1400, height: 900 },
});
// Records when a loading placeholder (.loading) is added to and removed from the page.
await context.addInitScript(() => {
  const marks: Array<[string, number]> = [];
  (window as unknown as { __marks: typeof marks }).__marks = marks;
  let shown: Element | null = null;
  new MutationObserver(() => {
    const now = document.querySelector('.state-loading');
    if (now !== shown) marks.push([now ? `placeholder shown: ${now.textContent?.trim() ?? ''}` : 'placeholder gone', performance.now()]);
    shown = now;
  }).observe(document, { subtree: true, childList: true });
});
for (let i = 0; i < Number(loads) + 1; i++) {
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForFunction(ready, undefined, { polling: 'raf', timeout: 60_000 });
  const result = await page.evaluate(() => ({
    ready: performance.now(),
    marks: (window as unknown as { __marks: Array<[string, number]> }).__marks,
    resources: performance.getEntriesByType('resource').map((e) => {
      const r = e as PerformanceResourceTiming;
      return [r.name.replace(location.origin, ''), r.startTime, r.responseEnd] as const;
    }),
  }));
  await page.close();
  if (i === 0) continue; // warm-up: the disk cache holds the bundles afterwards
  const lines: Array<[number, string]> = [];
  for (const [name, start, end] of result.resources) lines.push([start, `${start.toFixed(0).padStart(5)} → ${end.toFixed(0).padStart(5)} ms  ${name.slice(0, 110)}`]);
  for (const [label, at] of result.marks) lines.push([at, `${at.toFixed(0).padStart(5)}            ${label}`]);
  lines.push([result.ready, `${result.ready.toFixed(0).padStart(5)}            READY`]);
  process.stdout.write(`load ${i}:\n${lines.sort((a, b) => a[0] - b[0]).map((l) => l[1]).join('\n')}\n\n`);
}
await context.close();
