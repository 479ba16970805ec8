/**
 * UI benchmark (not a test): the timings of the web UI issues, measured in Debian's Chromium
 * against a real `trove server` on a free port.
 *
 *   1. experiment page, 10,000 runs × 20 metric columns: first table rows on screen
 *   2. run page, one metric of 1,000,000 points: chart drawn
 *   3. compare, 100 runs × 5 metrics × 10,000 steps: all five overlaid charts drawn
 *   4. trace page, one trace of 1,000 spans: span tree, timeline and the first span's details drawn
 *
 * Times are `performance.now()` in the page (ms since navigation start) when the thing appears,
 * over fresh page loads. Data is written over the MLflow REST API (log-batch, 1000 points per
 * request); the trace as an OpenTelemetry exporter sends it (OTLP/HTTP JSON to /v1/traces) plus the
 * trace info the MLflow client sends when a trace ends (POST /api/3.0/mlflow/traces). Results go
 * to bench/output/ui-bench.json and a Markdown table on stdout.
 *
 *   npm run build && npm run bench:ui                # BENCH_REPEAT=5 for more loads
 *   BENCH_UI_ONLY=trace npm run bench:ui             # one measurement (table, chart, compare, trace)
 *
 * It also writes its section of docs/benchmarks.md (bench/ui-report.ts; BENCH_UI_DOC=0 to skip).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { renderUiSection, withUiSection, type UiRow } from './ui-report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
/** BENCH_UI_ONLY=trace (comma-separated: table, chart, compare, trace) measures, and seeds, only those. */
const MEASUREMENTS = ['table', 'chart', 'compare', 'trace'];
const ONLY = new Set((process.env.BENCH_UI_ONLY ?? MEASUREMENTS.join(',')).split(',').map((m) => m.trim()).filter((m) => MEASUREMENTS.includes(m)));
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

/**
 * One agent-like trace of exactly 1,000 spans: a root, 20 steps, each with 16 rounds of retriever →
 * chat model (messages, token usage) → tool, and post-processing spans; one tool raises. Inputs
 * and outputs are JSON strings of a few hundred bytes, as real spans carry.
 */
async function seedBigTrace(): Promise<{ experimentId: string; traceId: string }> {
  const experimentId = await createExperiment('bench-1000-spans');
  const hex = (bytes: number) => Array.from({ length: bytes }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join('');
  const otelTraceId = hex(16);
  const t0 = BigInt(Date.now() - 60_000) * 1_000_000n;
  const us = (n: number) => (t0 + BigInt(Math.round(n * 1000))).toString();
  type OtlpSpan = Record<string, unknown>;
  const spans: OtlpSpan[] = [];
  const attr = (key: string, value: unknown) => ({ key, value: { stringValue: typeof value === 'string' ? value : JSON.stringify(value) } });
  const add = (name: string, type: string, parent: string | null, startUs: number, endUs: number, inputs: unknown, outputs: unknown, extra: Array<ReturnType<typeof attr>> = [], error?: string): string => {
    const spanId = hex(8);
    spans.push({
      traceId: otelTraceId,
      spanId,
      ...(parent ? { parentSpanId: parent } : {}),
      name,
      kind: 1,
      startTimeUnixNano: us(startUs),
      endTimeUnixNano: us(endUs),
      attributes: [attr('mlflow.traceRequestId', `tr-${otelTraceId}`), attr('mlflow.spanType', type), attr('mlflow.spanInputs', inputs), attr('mlflow.spanOutputs', outputs), ...extra],
      status: error ? { code: 2, message: error } : { code: 1 },
      ...(error
        ? { events: [{ name: 'exception', timeUnixNano: us(endUs), attributes: [attr('exception.type', 'TimeoutError'), attr('exception.message', error), attr('exception.stacktrace', `Traceback (most recent call last):\n  File "agent.py", line 42, in call_tool\n    raise TimeoutError("${error}")\nTimeoutError: ${error}\n`)] }] }
        : {}),
    });
    return spanId;
  };
  const question = 'Summarise the incident reports of last week and suggest follow-ups.';
  const root = add('agent', 'AGENT', null, 0, 20 * 16 * 3 * 1000 + 50_000, { question }, { answer: 'Three incidents; two need follow-ups.' });
  let clock = 100;
  for (let s = 0; s < 20; s++) {
    const stepStart = clock;
    const step = add(`step-${s}`, 'CHAIN', root, stepStart, stepStart + 16 * 3000 - 100, { step: s, goal: `sub-question ${s}` }, { done: true });
    for (let r = 0; r < 16; r++) {
      const base = stepStart + r * 3000;
      const query = `incident reports step ${s} round ${r}`;
      add('retrieve', 'RETRIEVER', step, base, base + 400, { query }, [{ doc: `report-${s}-${r}.md`, text: 'Service degraded for 12 minutes after a config push.', score: 0.82 }]);
      add(
        'chat',
        'CHAT_MODEL',
        step,
        base + 450,
        base + 2400,
        { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'You are an incident analyst.' }, { role: 'user', content: query }] },
        { choices: [{ index: 0, message: { role: 'assistant', content: 'The push lacked a canary; add one.' }, finish_reason: 'stop' }] },
        [attr('mlflow.chat.tokenUsage', { input_tokens: 220, output_tokens: 40, total_tokens: 260 })],
      );
      add('call_tool', 'TOOL', step, base + 2450, base + 2900, { tool: 'ticket_search', args: { q: query } }, { tickets: [`INC-${s}${r}`] }, [], s === 7 && r === 3 ? 'ticket search timed out' : undefined);
    }
    clock += 16 * 3000;
  }
  while (spans.length < 1000) add(`postprocess-${spans.length}`, 'PARSER', root, clock, clock + 10, { n: spans.length }, 'ok');
  const res = await fetch(`${base}/v1/traces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-mlflow-experiment-id': experimentId },
    body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans }] }] }),
  });
  if (!res.ok) throw new Error(`/v1/traces: ${res.status} ${await res.text()}`);
  const traceId = `tr-${otelTraceId}`;
  const startMs = Number(t0 / 1_000_000n);
  const end = await fetch(`${base}/api/3.0/mlflow/traces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      trace: {
        trace_info: {
          trace_id: traceId,
          trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
          request_time: new Date(startMs).toISOString(),
          execution_duration: `${(20 * 16 * 3 + 50) / 1000}s`,
          state: 'ERROR',
          trace_metadata: { 'mlflow.trace_schema.version': '3', 'mlflow.trace.tokenUsage': JSON.stringify({ input_tokens: 70400, output_tokens: 12800, total_tokens: 83200 }) },
          tags: { 'mlflow.traceName': 'agent' },
          request_preview: JSON.stringify({ question }),
          response_preview: JSON.stringify({ answer: 'Three incidents; two need follow-ups.' }),
        },
      },
    }),
  });
  if (!end.ok) throw new Error(`traces (StartTraceV3): ${end.status} ${await end.text()}`);
  return { experimentId, traceId };
}

/** The trace page is ready: all 1,000 spans counted, the tree's rows with their timeline bars, the open span's details. */
const TRACE_READY = `(() => {
  const spans = Array.from(document.querySelectorAll('.fact')).find((f) => f.querySelector('dt')?.textContent === 'Spans');
  return spans?.querySelector('dd')?.textContent === '1,000' && document.querySelector('.span-grid .vtable-row .timeline-bar') !== null && document.querySelector('.span-details .span-section') !== null;
})()`;

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
  if (!fs.existsSync(path.join(ROOT, 'web', 'dist', 'index.html'))) throw new Error('Build first: npm run build');
  // BENCH_DATA_DIR keeps the seeded server data between runs (seeding takes minutes).
  const keep = process.env.BENCH_DATA_DIR;
  const dataDir = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'trove-ui-bench-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const seedFile = path.join(dataDir, 'seed.json');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const server: ChildProcess = spawn(
    process.execPath,
    // The compiled server with its shebang's flags, as `trove` runs (npm run build first).
    ['--max-semi-space-size=2', path.join(ROOT, 'bin', 'trove.js'), 'server', '--port', String(port), '--backend-store-uri', `sqlite:///${path.join(dataDir, 'trove.db')}`, '--artifacts-destination', path.join(dataDir, 'art'), '--log-level', 'warn'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TROVE_RUNTIME: process.env.TROVE_RUNTIME ?? 'dist' } },
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
    type Seed = { many?: string; long?: { experimentId: string; runId: string }; compare?: { experimentId: string; runIds: string[] }; trace?: { experimentId: string; traceId: string } };
    const seed: Seed = fs.existsSync(seedFile) ? (JSON.parse(fs.readFileSync(seedFile, 'utf8')) as Seed) : {};
    // Only what the chosen measurements need; kept data (BENCH_DATA_DIR) gets what it lacks.
    if (ONLY.has('table') && !seed.many) seed.many = await seedManyRuns();
    if (ONLY.has('chart') && !seed.long) seed.long = await seedLongSeries();
    if (ONLY.has('compare') && !seed.compare) seed.compare = await seedCompare();
    if (ONLY.has('trace') && !seed.trace) seed.trace = await seedBigTrace();
    fs.writeFileSync(seedFile, JSON.stringify(seed));
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

    const { many, long, compare, trace } = seed;
    const tableUrl = many ? `${base}/experiments/${many}` : undefined;
    const chartUrl = long ? `${base}/experiments/${long.experimentId}/runs/${long.runId}?tab=metrics` : undefined;
    const metricsParam = ['m0', 'm1', 'm2', 'm3', 'm4'].join(',');
    const compareUrl = compare ? `${base}/compare?experiments=${compare.experimentId}&runs=${compare.runIds.join(',')}&metrics=${metricsParam}` : undefined;
    const traceUrl = trace ? `${base}/experiments/${trace.experimentId}/traces/${trace.traceId}` : undefined;
    const results = {
      table: [] as number[],
      tableAllLoaded: [] as number[],
      chart: [] as number[],
      compare: [] as number[],
      trace: [] as number[],
    };
    for (let i = 0; i < REPEAT; i++) {
      if (tableUrl && ONLY.has('table')) {
        results.table.push(await measure(context, tableUrl, "document.querySelector('.runs-row')"));
        results.tableAllLoaded.push(await measure(context, tableUrl, "/10,000 runs$/.test(document.querySelector('.runs-count')?.textContent ?? '')"));
      }
      if (chartUrl && ONLY.has('chart')) results.chart.push(await measure(context, chartUrl, "document.querySelector('figure[data-metric=\"loss\"][data-drawn=\"true\"]')"));
      if (compareUrl && ONLY.has('compare')) results.compare.push(await measure(context, compareUrl, "document.querySelectorAll('figure.metric-chart[data-drawn=\"true\"]').length === 5"));
      if (traceUrl && ONLY.has('trace')) results.trace.push(await measure(context, traceUrl, TRACE_READY));
    }
    const scroll = tableUrl && ONLY.has('table') ? await scrollFrames(context, tableUrl) : undefined;

    // The server side of the chart: the downsampling endpoint alone.
    const apiTimes: number[] = [];
    for (let i = 0; long && ONLY.has('chart') && i < REPEAT; i++) {
      const t0 = performance.now();
      await fetch(`${base}/ajax-api/2.0/trove/metrics/history-downsampled?run_ids=${long.runId}&metric_key=loss&max_buckets=1000`).then((r) => r.text());
      apiTimes.push(performance.now() - t0);
    }

    // The server side of the trace page: traces/get of the 1,000 spans alone.
    const traceApiTimes: number[] = [];
    for (let i = 0; trace && ONLY.has('trace') && i < REPEAT; i++) {
      const t0 = performance.now();
      await fetch(`${base}/ajax-api/3.0/mlflow/traces/get?trace_id=${trace.traceId}`).then((r) => r.text());
      traceApiTimes.push(performance.now() - t0);
    }

    const summary = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.cpus()[0]?.model ?? ''}`,
      repeat: REPEAT,
      measured: [...ONLY],
      seedSeconds: Math.round(seedSeconds),
      results: Object.fromEntries(Object.entries(results).filter(([, v]) => v.length > 0).map(([k, v]) => [k, { runs: v.map((x) => Math.round(x)), median: Math.round(median(v)) }])),
      ...(apiTimes.length > 0 ? { downsampleApiMs: { runs: apiTimes.map((x) => Math.round(x)), median: Math.round(median(apiTimes)) } } : {}),
      ...(traceApiTimes.length > 0 ? { traceGetApiMs: { runs: traceApiTimes.map((x) => Math.round(x)), median: Math.round(median(traceApiTimes)) } } : {}),
      ...(scroll ? { scroll: { frames: scroll.frames, p50: Math.round(scroll.p50 * 10) / 10, p95: Math.round(scroll.p95 * 10) / 10, max: Math.round(scroll.max) } } : {}),
    };
    fs.mkdirSync(path.join(ROOT, 'bench', 'output'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench', 'output', 'ui-bench.json'), `${JSON.stringify(summary, null, 2)}\n`);
    const rows: UiRow[] = [];
    const row = (label: string, goal: string, v: number[]) => {
      if (v.length > 0) rows.push({ label, goal, median: `${Math.round(median(v))} ms`, loads: v.map((x) => Math.round(x)).join(', ') });
    };
    row('Experiment page, 10,000 runs × 20 metric columns: first rows of the table', '< 1500 ms', results.table);
    row('… all 10,000 runs loaded into the table', '—', results.tableAllLoaded);
    // Goals as issue 14 raised them (the first UI issue asked for < 1000 ms and < 2000 ms).
    row('Run page, 1,000,000-point metric: chart drawn', '< 500 ms', results.chart);
    row('Compare 100 runs × 5 metrics × 10,000 steps: all charts drawn', '< 1500 ms', results.compare);
    row('Trace page, 1,000-span trace: span tree, timeline and span details drawn', '< 1000 ms', results.trace);
    row('Downsampling API alone, 1,000,000 points → 1,000 buckets', '—', apiTimes);
    row('traces/get API alone, 1,000 spans', '—', traceApiTimes);
    const heading = `${summary.date.slice(0, 16).replace('T', ' ')} UTC, ${summary.machine}, load average ${os.loadavg()[0]?.toFixed(1)}; headless Chromium, ${REPEAT} fresh page loads each (ms since navigation start until the thing is on screen).`;
    // BENCH_UI_DOC=0 leaves docs/benchmarks.md alone (a trial run).
    if (process.env.BENCH_UI_DOC !== '0') {
      const doc = path.join(ROOT, 'docs', 'benchmarks.md');
      const previous = fs.existsSync(doc) ? fs.readFileSync(doc, 'utf8') : undefined;
      fs.writeFileSync(doc, withUiSection(previous ?? '# Benchmarks\n', renderUiSection(previous, rows, heading)));
    }
    process.stdout.write(
      [
        `UI benchmark, ${heading}`,
        '',
        '| measurement | goal | median | loads |',
        '| --- | --- | --- | --- |',
        ...rows.map((r) => `| ${r.label} | ${r.goal} | ${r.median} | ${r.loads} |`),
        '',
        ...(scroll ? [`Scrolling the 10,000-row table: ${scroll.frames} frames, p50 ${Math.round(scroll.p50 * 10) / 10} ms, p95 ${Math.round(scroll.p95 * 10) / 10} ms, max ${Math.round(scroll.max)} ms per frame.`, ''] : []),
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
