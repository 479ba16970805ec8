/**
 * `npm run bench -- --search-scale`: one row of the server benchmark at the issue's size, over
 * HTTP, Trove beside MLflow 3.18 and FastTrackML — the filtered, metric-ordered page of 100
 * (`metrics.acc > 0.3 and params.model = 'a'` ORDER BY `metrics.acc DESC`) over BENCH_FILTER_RUNS
 * runs (100,000 in this mode), and the page after BENCH_DEEP_OFFSET rows (50,000) reached by the
 * page token each server hands out. Not a test.
 *
 * Seeding is the standard harness's (bench/seed-data.ts, identical data): the first
 * BENCH_SEED_SAMPLE_RUNS runs through every server's API (MLflow's template run included), the
 * rest through the API to Trove and FastTrackML and bulk-loaded into MLflow's own tables
 * (bench/mlflow-bulk.ts), then read back through every API. Seeding rates are not measured here,
 * so the three servers are seeded at the same time. Then, one server after the other (Trove,
 * FastTrackML, MLflow last): BENCH_LATENCY_REQUESTS sequential requests of each page after one
 * warm-up, or, for MLflow, whose page takes minutes at 100,000 runs on SQLite,
 * BENCH_MLFLOW_SEARCH_SAMPLES requests (1) each bounded by BENCH_MLFLOW_SEARCH_TIMEOUT seconds;
 * a request that times out is recorded as "> timeout". Beside every figure: the load average and
 * the server's own CPU time per request (utime + stime of its process tree, /proc/<pid>/stat).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import type { BenchConfig } from './config.ts';
import type { LoadRequest, SeedCheck, ServerKind } from './load.ts';
import { analyzeLoaded, bulkLoadRuns, openMlflowDatabase } from './mlflow-bulk.ts';
import { runsToVerify, seedPlan } from './seed-data.ts';
import { freePort, processTree, startServer, stopServer, type RunningServer, type ServerSpec } from './servers.ts';

export interface ScaleContext {
  config: BenchConfig;
  backend: 'sqlite' | 'postgres';
  root: string;
  troveRoot: string;
  venv: string;
  fasttrackmlVenv: string;
  load: { call<T>(request: LoadRequest): Promise<T> };
  /** PostgreSQL admin URI and a way to run statements on it (backend postgres). */
  pg?: { adminUri: string; admin(statements: string[]): Promise<void> };
  log(message: string): void;
}

export interface PageMeasure {
  server: ServerKind;
  page: 'page1' | 'deep';
  /** Latencies of the timed requests, ms (a timed-out request is not among them). */
  latencies: number[];
  timedOut: number;
  timeoutSeconds?: number;
  p50: number;
  rows: number;
  /** Server CPU (process tree utime + stime) per request, ms. */
  cpuPerRequestMs: number;
  loadBefore: number[];
  loadAfter: number[];
  note?: string;
}

export interface ScaleBackendResult {
  backend: 'sqlite' | 'postgres';
  runs: number;
  experiments: number;
  deepOffset: number;
  startedAt: string;
  finishedAt: string;
  seedSeconds: Partial<Record<ServerKind, number>>;
  verified: Partial<Record<ServerKind, string[]>>;
  measures: PageMeasure[];
  uptime: string[];
}

const FILTER = "metrics.acc > 0.3 and params.model = 'a'";
const ORDER_BY = ['metrics.acc DESC'];
const CLK_TCK = 100;

function treeCpuMs(rootPid: number): number {
  let ticks = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] is field 3 (state): utime is field 14, stime field 15.
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      /* exited */
    }
  }
  return (ticks * 1000) / CLK_TCK;
}

function uptime(): string {
  const [a, b, c] = os.loadavg().map((l) => l.toFixed(2));
  return `${new Date().toISOString().slice(0, 19)}Z load average ${a}, ${b}, ${c}`;
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** One runs/search request with its own deadline; undici's default 300 s header timeout does not apply. */
async function search(base: string, experimentIds: string[], maxResults: number, pageToken: string | undefined, timeoutSeconds: number): Promise<{ ms: number; rows: number; next?: string }> {
  const dispatcher = new Agent({ headersTimeout: timeoutSeconds * 1000, bodyTimeout: timeoutSeconds * 1000, connectTimeout: 10_000 });
  const t0 = performance.now();
  try {
    const res = await request(`${base}/api/2.0/mlflow/runs/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ experiment_ids: experimentIds, filter: FILTER, order_by: ORDER_BY, max_results: maxResults, ...(pageToken ? { page_token: pageToken } : {}) }),
      dispatcher,
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
    const text = await res.body.text();
    const ms = performance.now() - t0;
    if (res.statusCode !== 200) throw new Error(`runs/search answered ${res.statusCode}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { runs?: unknown[]; next_page_token?: string };
    return { ms, rows: body.runs?.length ?? 0, next: body.next_page_token };
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}

function isTimeout(error: unknown): boolean {
  const e = error as { name?: string; code?: string };
  return e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT';
}

async function measure(ctx: ScaleContext, running: RunningServer, server: ServerKind, page: 'page1' | 'deep', experimentIds: string[], token: string | undefined): Promise<PageMeasure> {
  const { config } = ctx;
  const slow = server === 'mlflow';
  const samples = slow ? config.mlflowSearchSamples : config.latencyRequests;
  const timeoutSeconds = slow ? config.mlflowSearchTimeout : 120;
  const pid = running.child.pid as number;
  const latencies: number[] = [];
  let timedOut = 0;
  const errors: string[] = [];
  let rows = -1;
  let warmUpFailed = false;
  if (!slow) {
    // A server that refuses the request (FastTrackML answers 400 to its own deep-page token) is
    // recorded as failed for this page; the run goes on to the next server.
    try {
      await search(running.base, experimentIds, config.filterPageSize, token, timeoutSeconds);
    } catch (error) {
      warmUpFailed = true;
      errors.push(String((error as Error).message ?? error).slice(0, 200));
      ctx.log(`  ${server} ${page} warm-up failed, no timed requests: ${errors.at(-1)}`);
    }
  }
  const loadBefore = os.loadavg();
  const cpu0 = treeCpuMs(pid);
  for (let i = 0; i < (warmUpFailed ? 0 : samples); i++) {
    try {
      const r = await search(running.base, experimentIds, config.filterPageSize, token, timeoutSeconds);
      latencies.push(r.ms);
      rows = r.rows;
      ctx.log(`  ${server} ${page} #${i + 1}: ${r.ms.toFixed(1)} ms, ${r.rows} rows`);
    } catch (error) {
      if (isTimeout(error)) {
        timedOut++;
        ctx.log(`  ${server} ${page} #${i + 1}: no answer within ${timeoutSeconds} s`);
      } else {
        errors.push(String((error as Error).message ?? error).slice(0, 200));
        ctx.log(`  ${server} ${page} #${i + 1}: failed: ${errors.at(-1)}`);
      }
    }
  }
  const cpuMs = treeCpuMs(pid) - cpu0;
  const m: PageMeasure = {
    server,
    page,
    latencies,
    timedOut,
    ...(slow ? { timeoutSeconds } : {}),
    p50: median(latencies),
    rows,
    cpuPerRequestMs: warmUpFailed ? NaN : cpuMs / samples,
    loadBefore,
    loadAfter: os.loadavg(),
    ...(errors.length ? { note: `${errors.length} failed: ${errors[0]}` } : {}),
  };
  ctx.log(`${ctx.backend}/${server} ${page}: p50 ${Number.isFinite(m.p50) ? `${m.p50.toFixed(1)} ms` : warmUpFailed ? 'failed' : `> ${timeoutSeconds} s`} over ${latencies.length} request(s)${timedOut ? `, ${timedOut} timed out` : ''}, server CPU ${m.cpuPerRequestMs.toFixed(1)} ms/request, load ${loadBefore[0]?.toFixed(1)} -> ${m.loadAfter[0]?.toFixed(1)}`);
  return m;
}

/** Seeds the three servers (at the same time), reads them back, then measures the two pages one server after the other. */
export async function runSearchScaleBackend(ctx: ScaleContext): Promise<ScaleBackendResult> {
  const { config, backend, load, log } = ctx;
  const servers = (['trove', 'fasttrackml', 'mlflow'] as const).filter((s) => config.servers.includes(s));
  const dataRoot = path.join(ctx.root, 'bench/output/data', `scale-${backend}`);
  fs.rmSync(dataRoot, { recursive: true, force: true });
  const experimentsCount = config.filterRuns / config.searchRuns;
  const result: ScaleBackendResult = {
    backend,
    runs: config.filterRuns,
    experiments: experimentsCount,
    deepOffset: config.deepOffset,
    startedAt: new Date().toISOString(),
    finishedAt: '',
    seedSeconds: {},
    verified: {},
    measures: [],
    uptime: [uptime()],
  };
  const plan = seedPlan(config);
  const specs = new Map<ServerKind, ServerSpec>();
  const running = new Map<ServerKind, RunningServer>();
  const experiments = new Map<ServerKind, string[]>();
  try {
    for (const kind of servers) {
      const dir = path.join(dataRoot, kind);
      fs.mkdirSync(path.join(dir, 'artifacts'), { recursive: true });
      let backendUri = `sqlite:///${path.join(dir, `${kind}.db`)}`;
      if (backend === 'postgres') {
        if (!ctx.pg) throw new Error('no PostgreSQL');
        const db = `${config.pgDbPrefix}scale_${kind}`;
        await ctx.pg.admin([`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`, `CREATE DATABASE ${db}`]);
        backendUri = ctx.pg.adminUri.replace(/\/[^/]+$/, `/${db}`);
      }
      specs.set(kind, {
        kind,
        root: ctx.troveRoot,
        port: await freePort(),
        backendUri,
        artifactsDir: path.join(dir, 'artifacts'),
        // Outside the data folder, so a failed request can be read about after the data is deleted.
        logFile: path.join(ctx.root, 'bench/output', `search-scale-${backend}-${kind}.log`),
        venv: kind === 'fasttrackml' ? ctx.fasttrackmlVenv : ctx.venv,
        nodeFlags: [],
        cwd: dir,
      });
    }

    // Seeding, the three servers at once (no rate is measured in this mode).
    log(`${backend}: seeding ${plan.runs.total} runs (${experimentsCount} experiment(s) of ${config.searchRuns}) into ${servers.join(', ')} at the same time; the first ${plan.runs.sample} through every API, the rest ${servers.includes('mlflow') ? 'bulk-loaded into MLflow and ' : ''}through the API to the others`);
    await Promise.all(
      servers.map(async (kind) => {
        const spec = specs.get(kind) as ServerSpec;
        const t0 = performance.now();
        const r = await startServer(spec);
        running.set(kind, r);
        await load.call({ op: 'setup', base: r.base, kind, connections: 16 });
        const ids: string[] = [];
        for (let e = 0; e < experimentsCount; e++) ids.push(await load.call<string>({ op: 'create-experiment', base: r.base, name: `search-${e}` }));
        experiments.set(kind, ids);
        await load.call({ op: 'seed-search', base: r.base, experimentIds: ids, runsPerExperiment: config.searchRuns, from: 0, to: plan.runs.sample, concurrency: config.seedConcurrency });
        const bulk = kind === 'mlflow' && plan.runs.rest > 0;
        if (bulk) {
          const db = await openMlflowDatabase(spec.backendUri);
          try {
            await bulkLoadRuns(db, { experimentIds: ids, perExperiment: config.searchRuns, from: plan.runs.sample, to: plan.runs.total });
            await analyzeLoaded(db);
          } finally {
            await db.close();
          }
        } else if (plan.runs.rest > 0) {
          await load.call({ op: 'seed-search', base: r.base, experimentIds: ids, runsPerExperiment: config.searchRuns, from: plan.runs.sample, to: plan.runs.total, concurrency: config.seedConcurrency });
        }
        result.seedSeconds[kind] = (performance.now() - t0) / 1000;
        log(`${backend}/${kind}: ${plan.runs.total} runs seeded in ${result.seedSeconds[kind]?.toFixed(0)} s (${bulk ? `${plan.runs.rest} bulk-loaded` : 'all through the API'})`);
        const check: SeedCheck = {
          experimentIds: ids,
          perExperiment: config.searchRuns,
          runIndices: runsToVerify(plan, config.searchRuns),
          countByOffset: bulk,
          historyRunId: '',
          historyPoints: 0,
          historySteps: [],
        };
        const verified = await load.call<{ checked: string[]; problems: string[] }>({ op: 'verify-seeded', base: r.base, kind, check });
        log(`${backend}/${kind}: read back through the API: ${verified.checked.join('; ')}${verified.problems.length ? `; DIFFERENT: ${verified.problems.join('; ')}` : ''}`);
        if (verified.problems.length) throw new Error(`${kind}: the seeded data differs from bench/seed-data.ts: ${verified.problems.join('; ')}`);
        result.verified[kind] = verified.checked;
      }),
    );
    for (const r of running.values()) await stopServer(r);
    running.clear();
    result.uptime.push(uptime());

    // Measurements, one server at a time (restarted, the others stopped), MLflow last.
    for (const kind of servers) {
      const spec = specs.get(kind) as ServerSpec;
      const ids = experiments.get(kind) as string[];
      log(`${backend}/${kind}: start`);
      const r = await startServer(spec);
      running.set(kind, r);
      await new Promise((res) => setTimeout(res, 2000));
      result.measures.push(await measure(ctx, r, kind, 'page1', ids, undefined));
      if (kind !== 'mlflow' || config.mlflowSearchDeep) {
        // The deep page as a client reaches it: the token handed out after deepOffset rows.
        const t0 = performance.now();
        let token: string | undefined;
        let why = '';
        try {
          const tokenPage = await search(r.base, ids, config.deepOffset, undefined, Math.max(600, config.mlflowSearchTimeout));
          log(`${backend}/${kind}: token after ${tokenPage.rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
          token = tokenPage.next;
          if (!token) why = `no page token after ${tokenPage.rows} rows`;
        } catch (error) {
          why = `the page of ${config.deepOffset} rows for the token failed after ${((performance.now() - t0) / 1000).toFixed(0)} s: ${String((error as Error).message).slice(0, 200)}`;
        }
        if (token) result.measures.push(await measure(ctx, r, kind, 'deep', ids, token));
        else {
          log(`${backend}/${kind}: deep page not measured: ${why}`);
          result.measures.push({ server: kind, page: 'deep', latencies: [], timedOut: 0, p50: NaN, rows: -1, cpuPerRequestMs: NaN, loadBefore: os.loadavg(), loadAfter: os.loadavg(), note: why });
        }
      }
      result.uptime.push(uptime());
      await stopServer(r);
      running.delete(kind);
    }
    result.finishedAt = new Date().toISOString();
  } finally {
    for (const r of running.values()) await stopServer(r).catch(() => undefined);
    // A failed run keeps its data (seeding 100,000 runs takes half an hour on a busy machine).
    if (!config.keep && result.finishedAt) {
      fs.rmSync(dataRoot, { recursive: true, force: true });
      if (backend === 'postgres' && ctx.pg) await ctx.pg.admin(servers.map((k) => `DROP DATABASE IF EXISTS ${config.pgDbPrefix}scale_${k} WITH (FORCE)`)).catch(() => undefined);
    }
  }
  return result;
}

/** The Markdown table of one backend's figures (stdout and bench/output/search-scale.md). */
export function renderScale(r: ScaleBackendResult): string {
  const fmt = (m: PageMeasure | undefined): string => {
    if (!m) return 'not measured';
    if (m.latencies.length === 0 && !m.timedOut) return `not measured (${m.note ?? 'no answer'})`;
    if (m.latencies.length === 0) return `> ${m.timeoutSeconds} s (timed out${m.timedOut > 1 ? ` ×${m.timedOut}` : ''})`;
    const ms = m.p50 >= 1000 ? `${(m.p50 / 1000).toFixed(1)} s` : `${m.p50.toFixed(1)} ms`;
    return `${ms} (${m.latencies.length} req${m.timedOut ? `, ${m.timedOut} timed out` : ''}${m.note ? `, ${m.note}` : ''}; CPU ${m.cpuPerRequestMs.toFixed(1)} ms/req; load ${m.loadBefore[0]?.toFixed(1)})`;
  };
  const get = (s: ServerKind, p: 'page1' | 'deep'): PageMeasure | undefined => r.measures.find((m) => m.server === s && m.page === p);
  const ratio = (a: PageMeasure | undefined, b: PageMeasure | undefined): string => {
    if (!a || !b || !Number.isFinite(a.p50)) return '—';
    if (b.latencies.length === 0 && !b.timedOut) return '—';
    if (b.latencies.length === 0) return `> ${Math.floor((b.timeoutSeconds as number) * 1000 / a.p50).toLocaleString('en-US')}×`;
    return `${(b.p50 / a.p50).toFixed(1)}×`;
  };
  const lines = [
    `#### ${r.backend}: ${r.runs.toLocaleString('en-US')} runs in ${r.experiments} experiment(s), \`${FILTER}\` ordered by \`${ORDER_BY.join(', ')}\`, page of 100`,
    '',
    '| page | Trove p50 | FastTrackML p50 | MLflow p50 | Trove vs FastTrackML | Trove vs MLflow |',
    '|---|---|---|---|---:|---:|',
    `| page 1 | ${fmt(get('trove', 'page1'))} | ${fmt(get('fasttrackml', 'page1'))} | ${fmt(get('mlflow', 'page1'))} | ${ratio(get('trove', 'page1'), get('fasttrackml', 'page1'))} | ${ratio(get('trove', 'page1'), get('mlflow', 'page1'))} |`,
    `| page after ${r.deepOffset.toLocaleString('en-US')} rows (each server's own token) | ${fmt(get('trove', 'deep'))} | ${fmt(get('fasttrackml', 'deep'))} | ${fmt(get('mlflow', 'deep'))} | ${ratio(get('trove', 'deep'), get('fasttrackml', 'deep'))} | ${ratio(get('trove', 'deep'), get('mlflow', 'deep'))} |`,
    '',
    `Seeding (not a measured row; the three servers at once): ${Object.entries(r.seedSeconds).map(([k, s]) => `${k} ${s?.toFixed(0)} s`).join(', ')}. Read back: ${Object.entries(r.verified).map(([k, v]) => `${k} ${v?.length} checks`).join(', ')}.`,
    '',
    `Load: ${r.uptime.join('; ')}.`,
    '',
  ];
  return lines.join('\n');
}
