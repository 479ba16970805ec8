/**
 * UI benchmark (not a test): the three timings of the web UI issue, measured in Debian's Chromium
 * against a real `trove server` on a free port.
 *
 *   1. experiment page, 10,000 runs × 20 metric columns: first table rows on screen
 *   2. run page, one metric of 1,000,000 points: chart drawn
 *   3. compare, 100 runs × 5 metrics × 10,000 steps: all five overlaid charts drawn
 *
 * Times are `performance.now()` in the page (ms since navigation start) when the thing appears,
 * over fresh page loads. Data is written over the MLflow REST API (log-batch, 1000 points per
 * request). Results go to bench/output/ui-bench.json and a Markdown table on stdout.
 *
 *   npm run build:web && npm run bench:ui            # BENCH_REPEAT=5 for more loads
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
    server.on('error', reject);
  });
}

let base = '';

async function call<T>(method: 'GET' | 'POST', pathName: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/api/2.0/mlflow/${pathName}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${pathName}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i] as T, i);
    }
  });
  await Promise.all(workers);
}

async function createExperiment(name: string): Promise<string> {
  return (await call<{ experiment_id: string }>('POST', 'experiments/create', { name })).experiment_id;
}

async function createRun(experimentId: string, name: string): Promise<string> {
  const res = await call<{ run: { info: { run_id: string } } }>('POST', 'runs/create', { experiment_id: experimentId, run_name: name, start_time: Date.now() });
  return res.run.info.run_id;
}

type Point = { key: string; value: number; timestamp: number; step: number };

async function logPoints(runId: string, points: Point[], concurrency = 4): Promise<void> {
  const batches: Point[][] = [];
  for (let i = 0; i < points.length; i += 1000) batches.push(points.slice(i, i + 1000));
  await pool(batches, concurrency, async (metrics) => {
    await call('POST', 'runs/log-batch', { run_id: runId, metrics });
  });
}

async function seedManyRuns(): Promise<string> {
  const experimentId = await createExperiment('bench-10k-runs');
  const indexes = Array.from({ length: 10_000 }, (_, i) => i);
  await pool(indexes, 8, async (i) => {
    const runId = await createRun(experimentId, `run-${i}`);
    const t = Date.now();
    const metrics = Array.from({ length: 20 }, (_, m) => ({ key: `metric_${String(m).padStart(2, '0')}`, value: Math.sin(i + m) + m, timestamp: t, step: 0 }));
    const params = Array.from({ length: 5 }, (_, p) => ({ key: `param_${p}`, value: String((i * (p + 1)) % 17) }));
    await call('POST', 'runs/log-batch', { run_id: runId, metrics, params, tags: [{ key: 'team', value: i % 2 ? 'a' : 'b' }] });
    await call('POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: t + 1000 });
  });
  return experimentId;
}

async function seedLongSeries(): Promise<{ experimentId: string; runId: string }> {
  const experimentId = await createExperiment('bench-1m-points');
  const runId = await createRun(experimentId, 'one-million');
  const t0 = Date.now();
  const points: Point[] = [];
  for (let s = 0; s < 1_000_000; s++) points.push({ key: 'loss', value: Math.exp(-s / 200_000) + 0.05 * Math.sin(s / 50) + (s === 777_777 ? 5 : 0), timestamp: t0 + s, step: s });
  await logPoints(runId, points, 4);
  await call('POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: Date.now() });
  return { experimentId, runId };
}

async function seedCompare(): Promise<{ experimentId: string; runIds: string[] }> {
  const experimentId = await createExperiment('bench-compare-100');
  const runIds: string[] = [];
  for (let r = 0; r < 100; r++) runIds.push(await createRun(experimentId, `cmp-${r}`));
  await pool(runIds, 4, async (runId, r) => {
    const t0 = Date.now();
    const points: Point[] = [];
    for (let m = 0; m < 5; m++) for (let s = 0; s < 10_000; s++) points.push({ key: `m${m}`, value: (1 + r / 100) * Math.exp(-s / 3000) + m, timestamp: t0 + s, step: s });
    await logPoints(runId, points, 1);
    await call('POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: Date.now() });
  });
  return { experimentId, runIds };
}

/** Loads `url` in a fresh page and returns performance.now() when `ready` first holds. */
async function measure(context: BrowserContext, url: string, ready: string): Promise<number> {
  const page: Page = await context.newPage();
  try {
    await page.goto(url, { waitUntil: 'commit' });
    await page.waitForFunction(ready, undefined, { polling: 'raf', timeout: 60_000 });
    return await page.evaluate(() => performance.now());
  } finally {
    await page.close();
  }
}

/** Scrolls the runs grid top to bottom and reports frame times. */
async function scrollFrames(context: BrowserContext, url: string): Promise<{ frames: number; p50: number; p95: number; max: number }> {
  const page = await context.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(() => /10,000 runs$/.test(document.querySelector('.runs-count')?.textContent ?? ''), undefined, { timeout: 120_000 });
    const frames = await page.evaluate(async () => {
      const grid = document.querySelector('.runs-grid') as HTMLElement;
      const times: number[] = [];
      let last = performance.now();
      for (let i = 0; i < 240; i++) {
        grid.scrollTop += 900;
        await new Promise((r) => requestAnimationFrame(() => r(undefined)));
        const now = performance.now();
        times.push(now - last);
        last = now;
      }
      return times;
    });
    const sorted = [...frames].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return { frames: frames.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] ?? 0 };
  } finally {
    await page.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'web', 'dist', 'index.html'))) throw new Error('Build the UI first: npm run build:web');
  // BENCH_DATA_DIR keeps the seeded server data between runs (seeding takes minutes).
  const keep = process.env.BENCH_DATA_DIR;
  const dataDir = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'trove-ui-bench-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const seedFile = path.join(dataDir, 'seed.json');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const server: ChildProcess = spawn(
    process.execPath,
    [path.join(ROOT, 'bin', 'trove.js'), 'server', '--port', String(port), '--backend-store-uri', `sqlite:///${path.join(dataDir, 'trove.db')}`, '--artifacts-destination', path.join(dataDir, 'art'), '--log-level', 'warn'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let context: BrowserContext | undefined;
  try {
    for (let i = 0; i < 150; i++) {
      try {
        if ((await fetch(`${base}/health`)).ok) break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const seed0 = performance.now();
    type Seed = { many: string; long: { experimentId: string; runId: string }; compare: { experimentId: string; runIds: string[] } };
    let seed: Seed;
    if (fs.existsSync(seedFile)) {
      seed = JSON.parse(fs.readFileSync(seedFile, 'utf8')) as Seed;
    } else {
      seed = { many: await seedManyRuns(), long: await seedLongSeries(), compare: await seedCompare() };
      fs.writeFileSync(seedFile, JSON.stringify(seed));
    }
    const { many, long, compare } = seed;
    const seedSeconds = (performance.now() - seed0) / 1000;
    process.stderr.write(`seeded in ${seedSeconds.toFixed(0)} s\n`);

    context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'trove-bench-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
    });
    // One warm-up load so the browser's disk cache holds the bundles, as for a returning user.
    await measure(context, `${base}/experiments`, "document.querySelector('h1')");

    const tableUrl = `${base}/experiments/${many}`;
    const chartUrl = `${base}/experiments/${long.experimentId}/runs/${long.runId}?tab=metrics`;
    const metricsParam = ['m0', 'm1', 'm2', 'm3', 'm4'].join(',');
    const compareUrl = `${base}/compare?experiments=${compare.experimentId}&runs=${compare.runIds.join(',')}&metrics=${metricsParam}`;
    const results = {
      table: [] as number[],
      tableAllLoaded: [] as number[],
      chart: [] as number[],
      compare: [] as number[],
    };
    for (let i = 0; i < REPEAT; i++) {
      results.table.push(await measure(context, tableUrl, "document.querySelector('.runs-row')"));
      results.tableAllLoaded.push(await measure(context, tableUrl, "/10,000 runs$/.test(document.querySelector('.runs-count')?.textContent ?? '')"));
      results.chart.push(await measure(context, chartUrl, "document.querySelector('figure[data-metric=\"loss\"][data-drawn=\"true\"]')"));
      results.compare.push(await measure(context, compareUrl, "document.querySelectorAll('figure.metric-chart[data-drawn=\"true\"]').length === 5"));
    }
    const scroll = await scrollFrames(context, tableUrl);

    // The server side of the chart: the downsampling endpoint alone.
    const apiTimes: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const t0 = performance.now();
      await fetch(`${base}/ajax-api/2.0/trove/metrics/history-downsampled?run_ids=${long.runId}&metric_key=loss&max_buckets=1000`).then((r) => r.text());
      apiTimes.push(performance.now() - t0);
    }

    const summary = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.cpus()[0]?.model ?? ''}`,
      repeat: REPEAT,
      seedSeconds: Math.round(seedSeconds),
      results: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { runs: v.map((x) => Math.round(x)), median: Math.round(median(v)) }])),
      downsampleApiMs: { runs: apiTimes.map((x) => Math.round(x)), median: Math.round(median(apiTimes)) },
      scroll: { frames: scroll.frames, p50: Math.round(scroll.p50 * 10) / 10, p95: Math.round(scroll.p95 * 10) / 10, max: Math.round(scroll.max) },
    };
    fs.mkdirSync(path.join(ROOT, 'bench', 'output'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench', 'output', 'ui-bench.json'), `${JSON.stringify(summary, null, 2)}\n`);
    const row = (label: string, goal: string, v: number[]) => `| ${label} | ${goal} | ${Math.round(median(v))} ms | ${v.map((x) => Math.round(x)).join(', ')} |`;
    process.stdout.write(
      [
        `UI benchmark, ${summary.machine}, headless Chromium, ${REPEAT} fresh page loads each (ms since navigation start):`,
        '',
        '| measurement | goal | median | loads |',
        '| --- | --- | --- | --- |',
        row('Experiment page, 10,000 runs × 20 metric columns: first rows of the table', '< 1500 ms', results.table),
        row('… all 10,000 runs loaded into the table', '—', results.tableAllLoaded),
        row('Run page, 1,000,000-point metric: chart drawn', '< 1000 ms', results.chart),
        row('Compare 100 runs × 5 metrics × 10,000 steps: all charts drawn', '< 2000 ms', results.compare),
        row('Downsampling API alone, 1,000,000 points → 1,000 buckets', '—', apiTimes),
        '',
        `Scrolling the 10,000-row table: ${scroll.frames} frames, p50 ${summary.scroll.p50} ms, p95 ${summary.scroll.p95} ms, max ${summary.scroll.max} ms per frame.`,
        '',
      ].join('\n'),
    );
  } finally {
    await context?.close();
    server.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
