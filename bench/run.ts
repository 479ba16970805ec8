/**
 * Server benchmark (not a test): Trove against the real MLflow server and FastTrackML (a Go
 * reimplementation of MLflow's tracking server), same machine, same run.
 *
 *   npm run bench                  # standard sizes, SQLite then PostgreSQL, 3 rounds (~45 min)
 *   npm run bench -- --quick       # smoke run with small sizes (~5 min)
 *   BENCH_FILTER_RUNS=100000 npm run bench      # the issue's 100k-run filtered search
 *   npm run bench -- --report-only # rewrite the report from the last JSON results
 *
 * For each backend (SQLite + local artifacts, then PostgreSQL + local artifacts) every server gets
 * its own fresh database and artifact folder, is seeded with identical data (bench/seed-data.ts:
 * a sample through every REST API, on which the seeding rates are measured; the rest through the
 * API to Trove and FastTrackML and bulk-loaded into MLflow's database, bench/mlflow-bulk.ts, then
 * read back through each API), and then, round after round (the order of the servers rotates), each is restarted
 * (cold start), left idle (idle memory) and loaded with the same bounded workloads by a separate
 * load process (bench/load.ts) over loopback. Knobs: bench/config.ts and bench/README.md.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig, type BenchConfig } from './config.ts';
import { UNSUPPORTED, type LoadRequest, type SeedCheck, type ServerKind, type Workload, type WorkloadResult } from './load.ts';
import { analyzeLoaded, bulkLoadHistory, bulkLoadRuns, openMlflowDatabase } from './mlflow-bulk.ts';
import { renderScale, runSearchScaleBackend, type ScaleBackendResult } from './search-scale-http.ts';
import { historyStepsToVerify, runsToVerify, seedPlan, type SeedPlan } from './seed-data.ts';
import { emptyBackendResults, renderReport, writeReport, type BackendResults, type Results } from './report.ts';
import {
  describeMachine,
  exportRevision,
  freePort,
  maxHwmMiB,
  resetPeaks,
  RssSampler,
  runningServers,
  startServer,
  stopServer,
  treePssMiB,
  treeRssMiB,
  processTree,
  type RunningServer,
  type ServerSpec,
} from './servers.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The venv `mlflow server` runs from; BENCH_MLFLOW_VENV reuses an existing one (e.g. .venvs/mlflow3, SQLite only). */
let VENV = path.join(ROOT, '.venvs/bench');
/** The venv `fml server` runs from (the pinned wheel of bench/requirements-fasttrackml.txt); BENCH_FASTTRACKML_VENV reuses another. */
let FTML_VENV = path.join(ROOT, '.venvs/fasttrackml');
/** The Trove checkout that is benchmarked: the working tree, or an export of BENCH_TROVE_REF. */
let TROVE_ROOT = ROOT;
const ALL_SERVERS: ServerKind[] = ['trove', 'mlflow', 'fasttrackml'];

function log(message: string): void {
  const [l1] = os.loadavg();
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)} load ${l1?.toFixed(1)}] ${message}\n`);
}

/** The load generator: a separate process, spoken to over IPC. */
class LoadClient {
  private readonly child: ChildProcess;
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    this.child = fork(path.join(ROOT, 'bench/load.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(m.error));
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load process exited with ${code}`));
      this.waiting.clear();
    });
  }

  call<T>(request: LoadRequest): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, request });
    });
  }

  async close(): Promise<void> {
    await this.call({ op: 'close' }).catch(() => undefined);
    this.child.disconnect();
  }
}

function ensureVenv(): void {
  log('ensuring .venvs/bench (pinned mlflow from compat/requirements-mlflow3.txt + bench/requirements-bench.txt)');
  execFileSync('bash', [path.join(ROOT, 'scripts/ensure-venv.sh'), 'bench', path.join(ROOT, 'compat/requirements-mlflow3.txt'), path.join(ROOT, 'bench/requirements-bench.txt')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** .venvs/fasttrackml: the pinned `fasttrackml` wheel alone (--no-deps: only its `fml` binary is used). */
function ensureFasttrackmlVenv(): void {
  log('ensuring .venvs/fasttrackml (bench/requirements-fasttrackml.txt)');
  execFileSync('bash', [path.join(ROOT, 'scripts/ensure-venv.sh'), 'fasttrackml', path.join(ROOT, 'bench/requirements-fasttrackml.txt')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

interface Postgres {
  adminUri: string;
  startedHere: boolean;
  env: NodeJS.ProcessEnv;
}

function startPostgres(config: BenchConfig): Postgres {
  if (config.pgUri) return { adminUri: config.pgUri, startedHere: false, env: process.env };
  const env = { ...process.env, TROVE_PG_PORT: String(config.pgPort), TROVE_PG_DIR: `/tmp/trove-bench-pg-${config.pgPort}` };
  let running = false;
  try {
    execFileSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${config.pgPort}`], { stdio: 'ignore' });
    running = true;
  } catch {
    running = false;
  }
  const adminUri = execFileSync('bash', [path.join(ROOT, 'scripts/start-postgres.sh')], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return { adminUri, startedHere: !running, env };
}

async function pgAdmin(pgInfo: Postgres, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: pgInfo.adminUri });
  await client.connect();
  try {
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}

function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Average RSS over a second of idleness. */
async function idleRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(treeRssMiB(pid));
    await sleep(200);
  }
  return median(samples);
}

interface ServerState {
  spec: ServerSpec;
  running?: RunningServer;
  searchExperiments: string[];
  wideRunId: string;
  historyRunId: string;
  writesExperiment: string;
  artifactPath: string;
  traceSearchExperiment: string;
  traceIngestExperiment: string;
  /** The token of the filtered search's deep page, fetched once (the searched runs do not change between rounds). */
  deepToken?: string;
}

/** What verify-seeded reads back from a server once it is seeded. */
function seedCheck(config: BenchConfig, plan: SeedPlan, experimentIds: string[], historyRunId: string, bulkLoaded: boolean): SeedCheck {
  return {
    experimentIds,
    perExperiment: config.searchRuns,
    runIndices: runsToVerify(plan, config.searchRuns),
    countByOffset: bulkLoaded,
    historyRunId,
    historyPoints: plan.points.total,
    historySteps: bulkLoaded ? historyStepsToVerify(plan) : [],
  };
}

async function runBackend(config: BenchConfig, backend: 'sqlite' | 'postgres', load: LoadClient, results: Results, pgInfo: Postgres | undefined): Promise<BackendResults> {
  // FastTrackML has no trace endpoints: a traces-only run leaves it out.
  const SERVERS = ALL_SERVERS.filter((s) => config.servers.includes(s) && !(config.onlyTraces && UNSUPPORTED[s].traces));
  const out: BackendResults = emptyBackendResults(backend);
  results.backends[backend] = out;
  const record = (server: ServerKind, key: string, value: number): void => {
    ((out.values[server] ??= {})[key] ??= []).push(value);
  };
  const raw = (server: ServerKind, key: string, value: WorkloadResult): void => {
    ((out.raw[server] ??= {})[key] ??= []).push(value);
  };

  const dataRoot = path.join(ROOT, 'bench/output/data', backend);
  fs.rmSync(dataRoot, { recursive: true, force: true });
  const states = new Map<ServerKind, ServerState>();
  for (const kind of SERVERS) {
    const dir = path.join(dataRoot, kind);
    fs.mkdirSync(path.join(dir, 'artifacts'), { recursive: true });
    let backendUri = `sqlite:///${path.join(dir, `${kind}.db`)}`;
    if (backend === 'postgres' && pgInfo) {
      const db = `${config.pgDbPrefix}${kind}`;
      await pgAdmin(pgInfo, [`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`, `CREATE DATABASE ${db}`]);
      backendUri = pgInfo.adminUri.replace(/\/[^/]+$/, `/${db}`);
    }
    states.set(kind, {
      spec: {
        kind,
        root: TROVE_ROOT,
        port: await freePort(),
        backendUri,
        artifactsDir: path.join(dir, 'artifacts'),
        logFile: path.join(dir, 'server.log'),
        venv: kind === 'fasttrackml' ? FTML_VENV : VENV,
        serverArgs: config.troveServerArgs,
        nodeFlags: [...config.troveNodeFlags, ...(config.troveCpuProf ? ['--cpu-prof', '--cpu-prof-dir', path.join(ROOT, 'bench/output/profiles', backend)] : [])],
        cwd: dir,
      },
      searchExperiments: [],
      wideRunId: '',
      historyRunId: '',
      writesExperiment: '',
      artifactPath: '',
      traceSearchExperiment: '',
      traceIngestExperiment: '',
    });
  }

  // First start on an empty database (migrations included), idle memory, then seeding, one
  // server at a time so seeding rates are clean numbers too.
  for (const kind of SERVERS) {
    const st = states.get(kind) as ServerState;
    const setupStarted = performance.now();
    log(`${backend}/${kind}: first start (empty database)`);
    st.running = await startServer(st.spec);
    record(kind, 'first-start.ms', st.running.startMs);
    await sleep(2000);
    record(kind, 'idle-empty.mib', await idleRss(st.running.child.pid as number));
    const base = st.running.base;
    await load.call({ op: 'setup', base, kind, connections: Math.max(80, config.contentionWriters + 8) });
    const lacks = UNSUPPORTED[kind];

    if (!lacks.traces) {
      st.traceSearchExperiment = await load.call<string>({ op: 'create-experiment', base, name: 'bench-trace-search' });
      st.traceIngestExperiment = await load.call<string>({ op: 'create-experiment', base, name: 'bench-trace-ingest' });
      log(`${backend}/${kind}: seeding ${config.searchTraces} traces of ${config.traceSpans} spans over OTLP`);
      const traceSeed = await load.call<{ traces: number; seconds: number }>({
        op: 'seed-traces',
        base,
        experimentId: st.traceSearchExperiment,
        count: config.searchTraces,
        spans: config.traceSpans,
        perRequest: 100,
        concurrency: config.seedConcurrency,
      });
      log(`${backend}/${kind}: ${traceSeed.traces} traces in ${traceSeed.seconds.toFixed(1)} s`);
      record(kind, 'seed-traces.per_s', traceSeed.traces / traceSeed.seconds);
    }
    if (config.onlyTraces) continue;

    const experiments = config.filterRuns / config.searchRuns;
    for (let e = 0; e < experiments; e++) st.searchExperiments.push(await load.call<string>({ op: 'create-experiment', base, name: `search-${e}` }));
    const misc = await load.call<string>({ op: 'create-experiment', base, name: 'bench-misc' });
    st.writesExperiment = await load.call<string>({ op: 'create-experiment', base, name: 'bench-writes' });

    // The first runs and points go through the API (the seeding rates); the rest of the same data
    // follows through the API, or is bulk-loaded into MLflow's own tables (bench/mlflow-bulk.ts).
    const plan = seedPlan(config);
    const bulk = kind === 'mlflow' && (plan.runs.rest > 0 || plan.points.rest > 0) ? await openMlflowDatabase(st.spec.backendUri) : undefined;
    log(`${backend}/${kind}: seeding ${plan.runs.total} runs (${experiments} experiment(s) of ${config.searchRuns}), the first ${plan.runs.sample} through the API for the rate`);
    const sampler = new RssSampler(st.running.child.pid as number);
    sampler.start(200);
    const search = await load.call<{ runs: number; seconds: number; windows: number[] }>({ op: 'seed-search', base, experimentIds: st.searchExperiments, runsPerExperiment: config.searchRuns, from: 0, to: plan.runs.sample, concurrency: config.seedConcurrency });
    log(`${backend}/${kind}: ${search.runs} runs in ${search.seconds.toFixed(1)} s = ${(search.runs / search.seconds).toFixed(1)} runs/s through the API (windows: ${search.windows.map((r) => r.toFixed(0)).join(', ')})`);
    let restRunSeconds = 0;
    if (plan.runs.rest > 0) {
      const t0 = performance.now();
      if (bulk) await bulkLoadRuns(bulk, { experimentIds: st.searchExperiments, perExperiment: config.searchRuns, from: plan.runs.sample, to: plan.runs.total });
      else await load.call({ op: 'seed-search', base, experimentIds: st.searchExperiments, runsPerExperiment: config.searchRuns, from: plan.runs.sample, to: plan.runs.total, concurrency: config.seedConcurrency });
      restRunSeconds = (performance.now() - t0) / 1000;
      log(`${backend}/${kind}: the other ${plan.runs.rest} runs ${bulk ? 'bulk-loaded into its database' : 'through the API'} in ${restRunSeconds.toFixed(1)} s`);
    }
    st.wideRunId = await load.call<string>({ op: 'seed-get-run', base, experimentId: misc, params: config.wideParams, metrics: config.wideMetrics });
    st.historyRunId = await load.call<string>({ op: 'history-run', base, experimentId: misc });
    const history = await load.call<{ points: number; seconds: number; windows: number[] }>({ op: 'seed-history', base, runId: st.historyRunId, from: 0, to: plan.points.sample, concurrency: 4 });
    log(`${backend}/${kind}: ${history.points} history points in ${history.seconds.toFixed(1)} s = ${Math.round(history.points / history.seconds)} points/s through the API`);
    let restPointSeconds = 0;
    if (plan.points.rest > 0) {
      const t0 = performance.now();
      if (bulk) await bulkLoadHistory(bulk, { runId: st.historyRunId, from: plan.points.sample, to: plan.points.total });
      else await load.call({ op: 'seed-history', base, runId: st.historyRunId, from: plan.points.sample, to: plan.points.total, concurrency: 4 });
      restPointSeconds = (performance.now() - t0) / 1000;
      log(`${backend}/${kind}: the other ${plan.points.rest} points ${bulk ? 'bulk-loaded into its database' : 'through the API'} in ${restPointSeconds.toFixed(1)} s`);
    }
    if (bulk) {
      await analyzeLoaded(bulk);
      await bulk.close();
    }
    if (!lacks.artifacts) {
      const art = await load.call<{ runId: string; path: string }>({ op: 'artifact-run', base, experimentId: misc });
      st.artifactPath = `${art.path}/big.bin`;
    }
    const seedPeak = sampler.stop();
    // Read back through the API: the bulk-loaded runs must be what the API would have stored.
    const verified = await load.call<{ checked: string[]; problems: string[] }>({ op: 'verify-seeded', base, kind, check: seedCheck(config, plan, st.searchExperiments, st.historyRunId, Boolean(bulk)) });
    log(`${backend}/${kind}: read back through the API: ${verified.checked.join('; ')}${verified.problems.length ? `; DIFFERENT: ${verified.problems.join('; ')}` : ''}`);
    if (verified.problems.length) {
      if (bulk) throw new Error(`the bulk-loaded MLflow data differs from the API-seeded data: ${verified.problems.join('; ')}`);
      out.notes.push(`${kind} seed-check ${verified.problems.join('; ')}`);
    }
    out.seeding[kind] = {
      runs: search.runs,
      runSeconds: search.seconds,
      points: history.points,
      pointSeconds: history.seconds,
      peakMiB: seedPeak,
      restRuns: plan.runs.rest,
      restPoints: plan.points.rest,
      rest: bulk ? 'bulk' : 'api',
      restSeconds: restRunSeconds + restPointSeconds,
      verified: verified.checked.length,
    };
    out.timings[`setup ${kind}`] = (performance.now() - setupStarted) / 1000;
    log(`${backend}/${kind}: started and seeded in ${out.timings[`setup ${kind}`]?.toFixed(0)} s (peak RSS ${seedPeak.toFixed(0)} MiB while seeding)`);
    // One value per window of the sample: the report's median and min–max (seed-data.ts, SEED_RATE_WINDOWS).
    for (const rate of search.windows) record(kind, 'seed-runs.per_s', rate);
    for (const rate of history.windows) record(kind, 'seed-points.per_s', rate);
  }

  const filter = 'metrics.acc > 0.3 and params.model = \'a\'';
  const orderBy = ['metrics.acc DESC'];
  // The deep page is reached the way a client reaches it: by following the page token each server
  // hands out after `deepOffset` rows (Trove's is a keyset token, MLflow's and FastTrackML's an
  // offset). Forging an offset token would measure Trove's compatibility path for old tokens instead.
  const forgedDeepToken = Buffer.from(JSON.stringify({ offset: config.deepOffset })).toString('base64');
  async function deepPageToken(base: string, experimentIds: string[]): Promise<string | undefined> {
    try {
      const res = await fetch(`${base}/api/2.0/mlflow/runs/search`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ experiment_ids: experimentIds, filter, order_by: orderBy, max_results: config.deepOffset }),
      });
      if (!res.ok) return undefined;
      const body = (await res.json()) as { next_page_token?: string };
      return body.next_page_token;
    } catch (error) {
      log(`deep page token: ${(error as Error).message}; this round uses an offset token`);
      return undefined;
    }
  }

  for (let round = 1; round <= config.rounds; round++) {
    // Who goes first rotates from round to round.
    const shift = (round - 1) % SERVERS.length;
    const order = [...SERVERS.slice(shift), ...SERVERS.slice(0, shift)];
    results.load.push({ at: new Date().toISOString(), phase: `${backend} round ${round}`, avg: os.loadavg() });
    for (const kind of order) {
      const st = states.get(kind) as ServerState;
      const roundStarted = performance.now();
      const roundTook = (): void => {
        out.timings[`round ${round} ${kind}`] = (performance.now() - roundStarted) / 1000;
      };
      log(`${backend} round ${round}/${config.rounds}: ${kind}: restart`);
      if (st.running) await stopServer(st.running);
      st.running = await startServer(st.spec);
      const pid = st.running.child.pid as number;
      const base = st.running.base;
      record(kind, 'cold-start.ms', st.running.startMs);
      await sleep(2000);
      record(kind, 'idle.mib', await idleRss(pid));
      record(kind, 'idle-pss.mib', treePssMiB(pid));
      record(kind, 'idle.processes', processTree(pid).length);

      const roundSampler = new RssSampler(pid);
      roundSampler.start(100);
      const writers = config.onlyTraces
        ? []
        : await load.call<string[]>({ op: 'create-runs', base, experimentId: st.writesExperiment, count: config.writeClients + config.ingestWriters + config.contentionWriters, prefix: `r${round}` });
      const batchRuns = writers.slice(0, config.writeClients);
      const ingestRuns = writers.slice(config.writeClients, config.writeClients + config.ingestWriters);
      const contentionRuns = writers.slice(config.writeClients + config.ingestWriters);

      const run = async (key: string, workload: Workload): Promise<WorkloadResult> => {
        roundSampler.takeWindow();
        const r = await load.call<WorkloadResult>({ op: 'workload', base, kind, workload });
        // Which workload makes the round's peak (docs/memory.md): RSS peak while this one ran.
        r.extra.peak_rss_mib = roundSampler.takeWindow();
        raw(kind, key, r);
        const errs = r.errors ? ` errors ${r.errors} ${JSON.stringify(r.errorKinds)}` : '';
        const extra = Object.entries(r.extra).map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 10) / 10 : v}`).join(' ');
        // A workload whose every request failed has no latencies (NaN arrives as null over the wire).
        const ms = (x: number | null): string => (typeof x === 'number' && Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'n/a');
        log(`  ${kind} ${key}: ${r.requests} req in ${r.seconds.toFixed(1)} s, ${r.rps.toFixed(1)}/s, p50 ${ms(r.p50)}, p99 ${ms(r.p99)} ${extra}${errs}`);
        return r;
      };
      const latency = { maxRequests: config.latencyRequests, seconds: config.latencySeconds };

      const lacks = UNSUPPORTED[kind];
      if (!lacks.traces) {
        let tr = await run('trace-ingest', { name: 'trace-ingest', experimentId: st.traceIngestExperiment, clients: config.traceClients, spans: config.traceSpans, seconds: config.duration });
        record(kind, 'trace-ingest.traces', tr.rps);
        record(kind, 'trace-ingest.p99', tr.p99);
        record(kind, 'trace-ingest.errors', tr.errors);
        tr = await run('trace-search', { name: 'trace-search', experimentId: st.traceSearchExperiment, filter: "tags.team = 'red'", maxResults: 100, ...latency });
        record(kind, 'trace-search.p50', tr.p50);
        out.notes.push(`${kind} trace-search rows=${tr.extra.rows} hash=${tr.extra.result_hash}`);
      }
      if (config.onlyTraces) {
        record(kind, 'peak.mib', roundSampler.stop());
        roundTook();
        continue;
      }

      let r = await run('create-run', { name: 'create-run', experimentId: st.writesExperiment, clients: config.writeClients, seconds: config.duration });
      record(kind, 'create-run.rps', r.rps);
      record(kind, 'create-run.p99', r.p99);
      record(kind, 'create-run.errors', r.errors);
      r = await run('log-batch', { name: 'log-batch', runIds: batchRuns, metrics: config.logBatchMetrics, seconds: config.duration });
      record(kind, 'log-batch.rps', r.rps);
      record(kind, 'log-batch.p99', r.p99);
      record(kind, 'log-batch.errors', r.errors);
      r = await run('ingest', { name: 'ingest', runIds: ingestRuns, batch: 1000, seconds: config.duration, maxBatches: 1_000_000 });
      record(kind, 'ingest.points', r.extra.points_per_s as number);
      record(kind, 'ingest.p99', r.p99);
      record(kind, 'ingest.errors', r.errors);
      r = await run('ingest-contention', { name: 'ingest', runIds: contentionRuns, batch: 1000, seconds: config.duration, maxBatches: 1_000_000 });
      record(kind, 'contention.points', r.extra.points_per_s as number);
      record(kind, 'contention.errors', r.errors);
      record(kind, 'contention.locked', r.errorKinds['database is locked'] ?? 0);
      record(kind, 'contention.p99', r.p99);

      r = await run('search-page', { name: 'search', experimentIds: st.searchExperiments.slice(0, 1), filter: '', orderBy: [], maxResults: config.searchPageSize, ...latency });
      record(kind, 'search.p50', r.p50);
      out.notes.push(`${kind} search-page rows=${r.extra.rows} hash=${r.extra.result_hash}`);
      r = await run('filter-page1', { name: 'search', experimentIds: st.searchExperiments, filter, orderBy, maxResults: config.filterPageSize, ...latency });
      record(kind, 'filter1.p50', r.p50);
      out.notes.push(`${kind} filter-page1 rows=${r.extra.rows} hash=${r.extra.result_hash}`);
      const deepToken = (st.deepToken ??= await deepPageToken(base, st.searchExperiments)) ?? forgedDeepToken;
      r = await run('filter-deep', { name: 'search', experimentIds: st.searchExperiments, filter, orderBy, maxResults: config.filterPageSize, pageToken: deepToken, ...latency });
      record(kind, 'filterdeep.p50', r.p50);
      out.notes.push(`${kind} filter-deep rows=${r.extra.rows} hash=${r.extra.result_hash}`);
      r = await run('get-run', { name: 'get-run', runId: st.wideRunId, ...latency });
      record(kind, 'get-run.p50', r.p50);
      if (!lacks.downsampled) {
        r = await run('history-downsampled', { name: 'history-downsampled', runId: st.historyRunId, key: 'loss', buckets: config.downsampleBuckets, ...latency });
        record(kind, 'downsampled.p50', r.p50);
        out.notes.push(`${kind} downsampled returned=${r.extra.returned}`);
      }
      r = await run('history-full', { name: 'history-full', runId: st.historyRunId, key: 'loss', pageSize: config.historyPageSize, seconds: config.historyFullSeconds });
      record(kind, 'history.points', r.extra.points_per_s as number);

      // Artifacts: memory growth over the RSS just before the transfer, sampled every 20 ms,
      // plus the kernel's per-process peak (VmHWM, reset first) which sampling could miss.
      for (const dir of lacks.artifacts ? [] : (['upload', 'download'] as const)) {
        await sleep(500);
        const before = treeRssMiB(pid);
        resetPeaks(pid);
        const sampler = new RssSampler(pid);
        sampler.start(20);
        r = await run(`artifact-${dir}`, { name: `artifact-${dir}`, artifactPath: st.artifactPath, mib: config.artifactMb });
        const peak = sampler.stop();
        record(kind, `${dir}.mibps`, r.extra.mib_per_s as number);
        record(kind, `${dir}.growth`, Math.max(0, peak - before));
        record(kind, `${dir}.hwm`, maxHwmMiB(pid));
        record(kind, `${dir}.errors`, r.errors);
      }
      record(kind, 'peak.mib', roundSampler.stop());
      roundTook();
      log(`${backend} round ${round}/${config.rounds}: ${kind} took ${out.timings[`round ${round} ${kind}`]?.toFixed(0)} s`);
    }
  }
  for (const st of states.values()) if (st.running) await stopServer(st.running);
  if (!config.keep) {
    fs.rmSync(dataRoot, { recursive: true, force: true });
    if (backend === 'postgres' && pgInfo) await pgAdmin(pgInfo, SERVERS.map((k) => `DROP DATABASE IF EXISTS ${config.pgDbPrefix}${k} WITH (FORCE)`));
  }
  return out;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const config = loadConfig(argv);
  const jsonPath = path.resolve(ROOT, config.json);
  if (argv.includes('--report-only')) {
    const results = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as Results;
    const md = renderReport(results);
    writeReport(path.resolve(ROOT, results.config.output), results.config.profile, md);
    process.stdout.write(md);
    return;
  }
  const t0 = Date.now();
  if (config.mlflowVenv) VENV = path.resolve(ROOT, config.mlflowVenv);
  if (config.fasttrackmlVenv) FTML_VENV = path.resolve(ROOT, config.fasttrackmlVenv);
  if (config.troveRef) {
    const { dir, sha } = exportRevision(ROOT, config.troveRef);
    TROVE_ROOT = dir;
    log(`benchmarking Trove at ${config.troveRef} = ${sha} (${path.relative(ROOT, dir)})`);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping the servers`);
      void Promise.all([...runningServers].map((s) => stopServer(s))).finally(() => process.exit(130));
    });
  }
  if (!config.servers.includes('mlflow')) log('mlflow server is not benchmarked (BENCH_SERVERS)');
  else if (config.mlflowVenv) log(`using the existing venv ${VENV} for mlflow server`);
  else ensureVenv();
  if (!config.servers.includes('fasttrackml')) log('FastTrackML is not benchmarked (BENCH_SERVERS)');
  else if (config.fasttrackmlVenv) log(`using the existing venv ${FTML_VENV} for fml server`);
  else ensureFasttrackmlVenv();
  fs.mkdirSync(path.join(ROOT, 'bench/output'), { recursive: true });
  const results: Results = {
    config,
    machine: await describeMachine(ROOT, VENV, TROVE_ROOT, config.servers.includes('fasttrackml') ? FTML_VENV : ''),
    startedAt: new Date().toISOString(),
    finishedAt: '',
    minutes: 0,
    load: [{ at: new Date().toISOString(), phase: 'start', avg: os.loadavg() }],
    backends: {},
  };
  log(`config: ${JSON.stringify(config)}`);
  if (config.searchScale) {
    await searchScale(config, results, jsonPath);
    return;
  }
  const loadTimer = setInterval(() => results.load.push({ at: new Date().toISOString(), phase: 'sample', avg: os.loadavg() }), 30_000);
  const load = new LoadClient();
  let pgInfo: Postgres | undefined;
  try {
    for (const backend of config.backends) {
      if (backend === 'postgres') {
        pgInfo = startPostgres(config);
        results.machine.postgres += config.pgUri
          ? ` (an already running server at ${config.pgUri.replace(/\/\/[^@/]*@/, '//')}, databases ${config.pgDbPrefix}<server>)`
          : ` (scripts/start-postgres.sh cluster on :${config.pgPort}: fsync=off, full_page_writes=off)`;
      }
      await runBackend(config, backend, load, results, pgInfo);
      fs.writeFileSync(jsonPath, JSON.stringify(results, null, 2));
    }
  } finally {
    clearInterval(loadTimer);
    await load.close();
    if (pgInfo?.startedHere && !config.keep) {
      execFileSync('bash', [path.join(ROOT, 'scripts/stop-postgres.sh')], { env: pgInfo.env, stdio: 'inherit' });
    }
  }
  results.load.push({ at: new Date().toISOString(), phase: 'end', avg: os.loadavg() });
  results.finishedAt = new Date().toISOString();
  results.minutes = (Date.now() - t0) / 60_000;
  fs.writeFileSync(jsonPath, JSON.stringify(results, null, 2));
  const md = renderReport(results);
  writeReport(path.resolve(ROOT, config.output), config.profile, md);
  process.stdout.write(md);
  log(`done in ${results.minutes.toFixed(1)} min; report ${config.output}, raw results ${config.json}`);
}

/** `--search-scale`: the filtered search at 100,000 runs alone, beside MLflow and FastTrackML (bench/search-scale-http.ts). */
async function searchScale(config: BenchConfig, results: Results, jsonPath: string): Promise<void> {
  const load = new LoadClient();
  const scale: ScaleBackendResult[] = [];
  const mdPath = path.join(ROOT, 'bench/output/search-scale.md');
  let pgInfo: Postgres | undefined;
  try {
    for (const backend of config.backends) {
      if (backend === 'postgres') pgInfo = startPostgres(config);
      const info = pgInfo;
      const r = await runSearchScaleBackend({
        config,
        backend,
        root: ROOT,
        troveRoot: TROVE_ROOT,
        venv: VENV,
        fasttrackmlVenv: FTML_VENV,
        load,
        ...(backend === 'postgres' && info ? { pg: { adminUri: info.adminUri, admin: (statements: string[]) => pgAdmin(info, statements) } } : {}),
        log,
      });
      scale.push(r);
      const md = renderScale(r);
      fs.appendFileSync(mdPath, `\n${md}`);
      process.stdout.write(`${md}\n`);
      fs.writeFileSync(jsonPath, JSON.stringify({ config, machine: results.machine, scale }, null, 2));
    }
  } finally {
    await load.close();
    if (pgInfo?.startedHere && !config.keep) execFileSync('bash', [path.join(ROOT, 'scripts/stop-postgres.sh')], { env: pgInfo.env, stdio: 'inherit' });
  }
  log(`done; figures appended to ${path.relative(ROOT, mdPath)}, raw results ${path.relative(ROOT, jsonPath)}`);
}

main().catch(async (error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  // A run that fails part-way stops the servers it started (each in its own process group),
  // instead of leaving MLflow's fifteen processes running.
  await Promise.all([...runningServers].map((s) => stopServer(s).catch(() => undefined)));
  process.exit(1);
});
