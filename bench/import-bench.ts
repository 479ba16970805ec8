/**
 * Migration benchmark (not a test): the same MLflow server data moved by `trove import` and by the
 * community `mlflow-export-import` package (PyPI), into Trove and into another MLflow server.
 *
 *   node --import tsx bench/import-bench.ts [--runs 1000] [--metrics 20] [--steps 1000] [--artifact-mb 500]
 *                                            [--concurrency 8] [--seed-workers 4] [--package mlflow-export-import==1.2.0]
 *                                            [--seed bulk|api] [--api-runs 4]
 *                                            [--rows source,import,import-db,import-to,mei-trove,export,export-db,mei-mlflow]
 *                                            [--source-dir <work dir of an earlier run>] [--row-seconds N]
 *
 * Defaults are reduced (50 runs × 5 metrics × 200 steps, 20 MB). Seeding: `--seed bulk` (default)
 * logs the first `--api-runs` runs through the source's REST API with the real client, then copies
 * the rows MLflow wrote for the first of them into its own SQLite tables for every other run (new
 * id, name, artifact URI; the same params, tags and metric values; run r's start/end times and
 * metric timestamps shifted by r hours, as if the runs were trained one after another) and its artifact
 * files into the server's artifact root: the issue's full size (1,000 × 20 × 1,000, 500 MB) in
 * some 20 minutes on 2 busy cores instead of hours (bench/README.md). `--seed api` logs every run through the API. `--rows` picks the rows
 * to measure (all by default), e.g. `--rows source,import` for the full size and the other rows
 * at a reduced size in a second run. Every MLflow server runs with `mlflow server`'s default
 * settings (4 uvicorn workers), as a user would start it. Rows:
 *
 *   source read alone   every request the import makes of the source (run search, each metric's
 *                       history, artifact listings and downloads), at the import's concurrency,
 *                       answers parsed and dropped: the bound the import cannot beat
 *   MLflow → Trove      trove import mlflow --from (straight into the store)
 *   MLflow → Trove      trove import mlflow --from --source-db <the source's SQLite file> (histories read from its database)
 *   MLflow → Trove      trove import mlflow --from --to <running Trove> (bulk import API)
 *   MLflow → Trove      mlflow-export-import: export-experiments, then import-experiments into a Trove server
 *   MLflow → MLflow     trove import mlflow (into a scratch store) + trove export --to <MLflow server>
 *   MLflow → MLflow     trove import mlflow --source-db (into a scratch store) + trove export --to <MLflow server>
 *                       --target-db <its SQLite file> (histories read from and written into the databases)
 *   MLflow → MLflow     mlflow-export-import: export-experiments, then import-experiments into an MLflow server
 *
 * Each target is checked afterwards (run count and one metric's full history) so a fast but
 * incomplete copy cannot pass for a fast one. `--source-dir <dir>` reuses the source of an earlier run
 * kept with IMPORT_BENCH_KEEP=1 (its `source/` folder: MLflow's SQLite file and artifact root), only
 * read: the size is taken from it, seeding is skipped, and everything this run writes goes to a new
 * work dir (a `<dir>` without a source is seeded first, and kept). The tool's venv is `.venvs/export-import`, made here
 * from `.venvs/mlflow3` (the pinned MLflow) with the package installed without its dependencies.
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './servers.ts';
import { MlflowRestSource } from '../src/cli/import/mlflow-rest-source.ts';
import { forEachConcurrent } from '../src/domain/import/pool.ts';
import type { SourceRun } from '../src/domain/import/source.ts';
import { randomUUID } from 'node:crypto';
import { openSqlite } from './mlflow-bulk.ts';
import Database from 'better-sqlite3';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BASE_VENV = path.join(ROOT, '.venvs', 'mlflow3');
const TOOL_VENV = path.join(ROOT, '.venvs', 'export-import');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : (process.env[`IMPORT_BENCH_${name.toUpperCase().replaceAll('-', '_')}`] ?? fallback);
}

const SIZE = {
  runs: Number(arg('runs', '50')),
  metrics: Number(arg('metrics', '5')),
  steps: Number(arg('steps', '200')),
  artifactMb: Number(arg('artifact-mb', '20')),
};
const CONCURRENCY = arg('concurrency', '8');
const SEED_WORKERS = Number(arg('seed-workers', '4'));
const PACKAGE = arg('package', 'mlflow-export-import==1.2.0');
const SEED_MODE = arg('seed', 'bulk');
if (SEED_MODE !== 'bulk' && SEED_MODE !== 'api') throw new Error('--seed is bulk or api');
/** Runs logged through the API before the rest is bulk-loaded (the first is the template). */
const API_RUNS = Math.max(1, Math.min(SIZE.runs, Number(arg('api-runs', '4'))));
/** Seeded run r's times (start, end, every metric point's timestamp) are run 0's plus r × this: runs trained one after another, an hour each. */
const RUN_SPACING_MS = 3_600_000;
const ALL_ROWS = ['source', 'import', 'import-db', 'import-to', 'mei-trove', 'export', 'export-db', 'mei-mlflow'] as const;
type RowName = (typeof ALL_ROWS)[number];
// `--rows seed`: only seed the source and check it (how long seeding takes).
const ROWS = new Set(arg('rows', ALL_ROWS.join(',')).split(',').map((r) => r.trim()));
for (const r of ROWS) if (r !== 'seed' && !(ALL_ROWS as readonly string[]).includes(r)) throw new Error(`--rows: unknown row '${r}' (seed, ${ALL_ROWS.join(', ')})`);
const wanted = (row: RowName): boolean => ROWS.has(row);
/** `--source-dir`: the work dir of an earlier run whose seeded source is reused (read only). */
const SOURCE_DIR = arg('source-dir', '');

interface Server {
  url: string;
  stop(): Promise<void>;
}

function log(message: string): void {
  process.stderr.write(`[import-bench] ${message}\n`);
}

/**
 * `--row-seconds N`: a timed row (the source read, the tools' commands) is stopped after N seconds
 * and reported as partial with how far it got, so a size too large for the time left still gives
 * a rate. Unlimited by default.
 */
const ROW_SECONDS = Number(arg('row-seconds', 'Infinity'));
/** Whether the last {@link run} was stopped by --row-seconds. */
let lastRunStopped = false;

/** A command that exited non-zero: how long it ran and why, so its row can say so with its time. */
class CommandFailed extends Error {
  constructor(
    message: string,
    readonly seconds: number,
    readonly code: number | null,
    /** Its last output lines, short enough for a table cell. */
    readonly reason: string,
  ) {
    super(message);
  }
}

async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, logFile?: string, budgetSeconds = Infinity): Promise<number> {
  const started = performance.now();
  lastRunStopped = false;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    // Written as it comes, so a long row's progress can be followed (and read after a stop).
    if (logFile) fs.writeFileSync(logFile, '');
    const take = (c: Buffer) => {
      output = (output + c.toString()).slice(-100_000);
      if (logFile) fs.appendFileSync(logFile, c);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = Number.isFinite(budgetSeconds)
      ? setTimeout(() => {
          lastRunStopped = true;
          child.kill('SIGINT');
        }, budgetSeconds * 1000)
      : undefined;
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 || lastRunStopped) resolve();
      else {
        const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
        const reason = lines.slice(-2).join(' ').replaceAll('|', '\\|').slice(-300);
        reject(new CommandFailed(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} exited with ${code}:\n${output.slice(-3000)}`, (performance.now() - started) / 1000, code, reason));
      }
    });
  });
  return (performance.now() - started) / 1000;
}

/** A timed command's seconds, and its failure when it exited non-zero (its time is still counted). */
interface Timed {
  seconds: number;
  failure?: CommandFailed;
}

/** Awaits a timed command; a non-zero exit is returned with its time instead of ending the harness. */
async function timed(command: Promise<number>): Promise<Timed> {
  try {
    return { seconds: await command };
  } catch (error) {
    if (!(error instanceof CommandFailed)) throw error;
    log(`${error.message.split('\n')[0]!.replace(/:$/, '')} after ${error.seconds.toFixed(1)} s`);
    return { seconds: error.seconds, failure: error };
  }
}

/** The start of a failed row's note: FAILED, after how long, and the command's last words. */
const failedNote = (t: Timed): string => (t.failure ? `FAILED after ${t.seconds.toFixed(1)} s (exit ${t.failure.code}): ${t.failure.reason}; ` : '');

/** A server on the data in `dir`; its log (and working directory) in `logDir`, `dir` itself by default. */
async function startServer(kind: 'mlflow' | 'trove', dir: string, logDir = dir): Promise<Server> {
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  const port = await freePort();
  const [cmd, args] =
    kind === 'mlflow'
      ? // Default settings but uvicorn's worker health check: at load 30+ under nice its 5 s timeout kills every worker before it starts.
        [path.join(BASE_VENV, 'bin', 'python'), ['-m', 'mlflow', 'server', '--host', '127.0.0.1', '--port', String(port), '--backend-store-uri', `sqlite:///${dir}/mlflow.db`, '--artifacts-destination', `${dir}/artifacts`, '--uvicorn-opts', '--timeout-worker-healthcheck 120']]
      : [process.execPath, [path.join(ROOT, 'bin', 'trove.js'), 'server', '--host', '127.0.0.1', '--port', String(port), '--backend-store-uri', `sqlite:///${dir}/trove.db`, '--artifacts-destination', `${dir}/artifacts`, '--log-level', 'warn']];
  const out = fs.openSync(path.join(logDir, `${kind}.log`), 'w');
  const child = spawn(cmd, args as string[], { cwd: logDir, stdio: ['ignore', out, out], detached: true, env: { ...process.env, MLFLOW_TRACKING_URI: '' } });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 600_000; // minutes on a machine at load 30+
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${kind} server did not start: see ${logDir}/${kind}.log`);
    await new Promise((r) => setTimeout(r, 300));
  }
  // Each uvicorn worker opens its store on its first request, which takes seconds on a busy
  // machine: a few concurrent requests first, so no timed row pays for a worker's start-up.
  await Promise.all(Array.from({ length: 16 }, () => fetch(`${url}/api/2.0/mlflow/experiments/search?max_results=1`).then((r) => r.arrayBuffer())));
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    },
  };
}

function ensureToolVenv(): void {
  const python = path.join(TOOL_VENV, 'bin', 'python');
  if (!fs.existsSync(python)) {
    log(`creating ${TOOL_VENV} with ${PACKAGE}`);
    execFileSync(path.join(BASE_VENV, 'bin', 'python'), ['-m', 'venv', TOOL_VENV]);
    // The pinned MLflow of .venvs/mlflow3 is used as it is; only the tool and its small helpers are added.
    const site = execFileSync(python, ['-c', 'import site; print(site.getsitepackages()[0])']).toString().trim();
    const baseSite = execFileSync(path.join(BASE_VENV, 'bin', 'python'), ['-c', 'import site; print(site.getsitepackages()[0])']).toString().trim();
    fs.writeFileSync(path.join(site, 'mlflow3-base.pth'), `${baseSite}\n`);
    execFileSync(path.join(TOOL_VENV, 'bin', 'pip'), ['install', '-q', '--no-deps', PACKAGE, 'shortuuid', 'tabulate'], { stdio: 'inherit' });
  }
}

// Seeding is split over several client processes (runs r with r % workers == worker), so the
// source's workers share the load as they do when many training jobs log at once.
const SEED = `
import os, sys, mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
runs, metrics, steps, artifact_bytes, worker, workers = (int(x) for x in sys.argv[1:7])
client = MlflowClient(os.environ["SOURCE"])
exp = client.get_experiment_by_name("bench-import").experiment_id
per_run = artifact_bytes // max(runs, 1)
blob = os.urandom(per_run)
path = os.path.join(os.environ["WORK"], f"artifact-{worker}.bin")
with open(path, "wb") as f:
    f.write(blob)
t0 = 1_700_000_000_000
spacing = int(os.environ["RUN_SPACING_MS"])
for r in range(worker, runs, workers):
    run = client.create_run(exp, run_name=f"run-{r}")
    rid = run.info.run_id
    client.log_batch(rid, params=[Param(f"p{i}", str(i)) for i in range(5)])
    # Run r trained after run r - 1: its points' timestamps r × spacing later.
    points = [Metric(f"m{m}", 1.0 / (s + 1), t0 + r * spacing + s, s) for m in range(metrics) for s in range(steps)]
    for i in range(0, len(points), 1000):
        client.log_batch(rid, metrics=points[i:i + 1000])
    if per_run > 0:
        client.log_artifact(rid, path, artifact_path="data")
    client.set_terminated(rid)
`;

/**
 * `--seed bulk`: runs `from`..`to - 1` copied, in MLflow's own SQLite tables, from the run `run-0`
 * the real client logged through the API (its runs, tags, params, metrics and latest_metrics rows,
 * with a new id, name and artifact URI, and its times — start, end, every metric timestamp — plus
 * r × RUN_SPACING_MS), inserted run by run, and its artifact files copied into the
 * server's artifact root where the new run's URI points. The template is checked against the size
 * first, so a change in how MLflow stores a run stops the load instead of loading other data.
 */
async function bulkSeed(sourceDir: string, from: number, to: number): Promise<void> {
  const db = openSqlite(path.join(sourceDir, 'mlflow.db'));
  try {
    const found = await db.all('SELECT * FROM runs WHERE name = ?', ['run-0']);
    if (found.length !== 1) throw new Error(`bulk seed: expected one run named run-0 in MLflow's runs table, found ${found.length}`);
    const template = found[0]!;
    const id = String(template.run_uuid);
    const tags = await db.all('SELECT * FROM tags WHERE run_uuid = ?', [id]);
    const params = await db.all('SELECT * FROM params WHERE run_uuid = ?', [id]);
    const metrics = await db.all('SELECT * FROM metrics WHERE run_uuid = ?', [id]);
    const latest = await db.all('SELECT * FROM latest_metrics WHERE run_uuid = ?', [id]);
    const uri = String(template.artifact_uri);
    const where = /^mlflow-artifacts:\/(.+)$/.exec(uri);
    const templateFiles = where ? path.join(sourceDir, 'artifacts', where[1]!) : '';
    const problems: string[] = [];
    if (metrics.length !== SIZE.metrics * SIZE.steps) problems.push(`${metrics.length} metric rows, not ${SIZE.metrics * SIZE.steps}`);
    if (latest.length !== SIZE.metrics) problems.push(`${latest.length} latest_metrics rows`);
    if (params.length !== 5) problems.push(`${params.length} params`);
    if (!where || !uri.includes(id)) problems.push(`artifact URI ${uri} is not an mlflow-artifacts:/ URI naming the run`);
    else if (SIZE.artifactMb > 0 && !fs.existsSync(templateFiles)) problems.push(`no files at ${templateFiles}`);
    if (problems.length > 0) throw new Error(`bulk seed: MLflow stored run-0 unlike the seed script: ${problems.join('; ')}`);
    // Each new run is trained after the one before it: run r's start and end times and every
    // metric timestamp (metrics and latest_metrics) are the template's plus r × RUN_SPACING_MS, as
    // the API-seeded runs' points are (the seed script). With one shared set of timestamps every
    // run's points scattered across MLflow's metrics primary key (key, timestamp, step, run_uuid, …),
    // unlike a real server's; now each run's points are one stretch per key.
    // The template's rows are first copied into temporary tables (in the order MLflow wrote them),
    // then each table gets INSERT … SELECT from the new runs crossed with them, the new runs
    // outermost and in training order, a chunk of runs at a time, in one transaction: SQLite does
    // the per-row work, rows go in run-major as a server logging one run after the other writes them.
    const runs: Array<Record<string, unknown>> = [];
    for (let r = from; r < to; r++) {
      const runUuid = randomUUID().replaceAll('-', '');
      runs.push({ run_uuid: runUuid, name: `run-${r}`, shift: r * RUN_SPACING_MS, artifact_uri: uri.replace(id, runUuid) });
    }
    await db.run('PRAGMA cache_size = -524288');
    await db.run('CREATE TEMP TABLE bench_new_runs (seq INTEGER PRIMARY KEY, run_uuid TEXT, name TEXT, shift INTEGER, artifact_uri TEXT)');
    const columns = async (table: string) => (await db.all(`SELECT name FROM pragma_table_info('${table}')`)).map((c) => String(c.name));
    const replaced: Record<string, Record<string, string>> = {
      runs: { run_uuid: 'n.run_uuid', name: 'n.name', start_time: 't.start_time + n.shift', end_time: 't.end_time + n.shift', artifact_uri: 'n.artifact_uri' },
      tags: { run_uuid: 'n.run_uuid', value: "CASE WHEN t.value = 'run-0' THEN n.name ELSE t.value END" },
      params: { run_uuid: 'n.run_uuid' },
      metrics: { run_uuid: 'n.run_uuid', timestamp: 't.timestamp + n.shift' },
      latest_metrics: { run_uuid: 'n.run_uuid', timestamp: 't.timestamp + n.shift' },
    };
    const statements: string[] = [];
    for (const [table, swap] of Object.entries(replaced)) {
      const cols = await columns(table);
      for (const c of Object.keys(swap)) if (!cols.includes(c)) throw new Error(`bulk seed: MLflow's ${table} table has no column ${c}`);
      await db.run(`CREATE TEMP TABLE "bench_template_${table}" AS SELECT * FROM main."${table}" WHERE run_uuid = ? ORDER BY rowid`, [id]);
      const select = cols.map((c) => swap[c] ?? `t."${c}"`).join(', ');
      // CROSS JOIN keeps the new runs as the outer loop (SQLite does not reorder it).
      statements.push(`INSERT INTO main."${table}" (${cols.map((c) => `"${c}"`).join(', ')}) SELECT ${select} FROM bench_new_runs n CROSS JOIN "bench_template_${table}" t WHERE n.seq BETWEEN ? AND ? ORDER BY n.seq, t.rowid`);
    }
    const sqlStarted = performance.now();
    const CHUNK = 25;
    let lastLog = performance.now();
    await db.transaction(async () => {
      await db.insert('bench_new_runs', runs.map((r, seq) => ({ seq, ...r })));
      for (let first = 0; first < runs.length; first += CHUNK) {
        for (const sql of statements) await db.run(sql, [first, first + CHUNK - 1]);
        if (performance.now() - lastLog > 60_000) {
          lastLog = performance.now();
          log(`bulk seed: ${Math.min(first + CHUNK, runs.length)} of ${runs.length} runs copied in ${((performance.now() - sqlStarted) / 1000).toFixed(0)} s (load ${load()})`);
        }
      }
    });
    log(`bulk seed: ${runs.length} runs' rows (${(runs.length * metrics.length).toLocaleString('en')} metric points) copied in ${((performance.now() - sqlStarted) / 1000).toFixed(1)} s (load ${load()})`);
    if (SIZE.artifactMb > 0) {
      for (const run of runs) fs.cpSync(templateFiles, path.join(sourceDir, 'artifacts', /^mlflow-artifacts:\/(.+)$/.exec(String(run.artifact_uri))![1]!), { recursive: true });
    }
  } finally {
    await db.close();
  }
}

/**
 * Reads everything `trove import` reads from the source — the run search, every metric's full
 * history, artifact listings and file bodies — at the same concurrency, and drops it: how long the
 * source takes to answer, with nothing written anywhere.
 */
async function readSourceAlone(url: string, concurrency: number): Promise<{ seconds: number; runs: number; points: number; bytes: number; stopped: boolean }> {
  const started = performance.now();
  const deadline = started + ROW_SECONDS * 1000;
  let done = 0;
  let stopped = false;
  const source = new MlflowRestSource(url, {});
  const runs: SourceRun[] = [];
  for await (const e of source.experiments()) {
    if (e.name !== 'bench-import') continue;
    for await (const r of source.runs(e.experimentId)) runs.push(r);
  }
  let points = 0;
  let bytes = 0;
  const ticker = setInterval(() => log(`source read: ${done} runs, ${points.toLocaleString('en')} points in ${((performance.now() - started) / 1000).toFixed(0)} s (load ${load()})`), 60_000);
  await forEachConcurrent(runs, concurrency, async (r) => {
    if (performance.now() > deadline) {
      stopped = true;
      return;
    }
    for (const m of r.latestMetrics) {
      const history = await source.metricHistory(r.info.runId, m.key);
      points += history.length;
    }
    for await (const file of source.listArtifacts(r.info.artifactUri, { kind: 'run', id: r.info.runId })) {
      const opened = await source.openArtifact(r.info.artifactUri, { kind: 'run', id: r.info.runId }, file.path);
      for await (const chunk of opened.stream) bytes += (chunk as Buffer).length;
    }
    done++;
  });
  clearInterval(ticker);
  return { seconds: (performance.now() - started) / 1000, runs: done, points, bytes, stopped };
}

function load(): string {
  return os.loadavg().map((l) => l.toFixed(1)).join(' / ');
}

/** Runs in the target experiment and the length of one metric's history, to check a copy is whole. */
async function check(url: string): Promise<{ runs: number; points: number }> {
  const post = async (endpoint: string, body: unknown) => (await (await fetch(`${url}/api/2.0/mlflow/${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- reads arbitrary JSON
  const exp = (await (await fetch(`${url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=bench-import`)).json()) as { experiment?: { experiment_id: string } };
  if (!exp.experiment) return { runs: 0, points: 0 };
  let runs = 0;
  let token: string | undefined;
  let first: string | undefined;
  do {
    const page = await post('runs/search', { experiment_ids: [exp.experiment.experiment_id], max_results: 1000, ...(token ? { page_token: token } : {}) });
    runs += (page.runs ?? []).length;
    first ??= page.runs?.[0]?.info.run_id;
    token = page.next_page_token || undefined;
  } while (token);
  const history = first ? ((await (await fetch(`${url}/api/2.0/mlflow/metrics/get-history?run_id=${first}&metric_key=m0&max_results=25000`)).json()) as { metrics?: unknown[] }) : {};
  return { runs, points: history.metrics?.length ?? 0 };
}

/** The runs an mlflow-export-import export folder holds whole: its experiment's folder and the ids of runs with a run.json and all their files. */
function exportedRuns(exportDir: string): { experimentId: string; runIds: string[] } | undefined {
  if (!fs.existsSync(exportDir)) return undefined;
  const experiments = fs.readdirSync(exportDir, { withFileTypes: true }).filter((d) => d.isDirectory());
  if (experiments.length !== 1) return undefined;
  const expDir = path.join(exportDir, experiments[0]!.name);
  const runs = fs
    .readdirSync(expDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(expDir, d.name, 'run.json')))
    .map((d) => d.name);
  // It writes run.json once a run's histories are read, before its files: the run in flight when it
  // stopped may have part of its file or none. Every run has the same bytes, so only the full ones count.
  const bytes = (run: string) => (fs.existsSync(path.join(expDir, run, 'artifacts')) ? folderBytes(path.join(expDir, run, 'artifacts')) : 0);
  const full = Math.max(0, ...runs.map(bytes));
  return { experimentId: experiments[0]!.name, runIds: runs.filter((r) => bytes(r) === full) };
}

/**
 * The two manifests mlflow-export-import's export writes when it ends (`experiments.json` listing
 * the experiment, `<experiment>/experiment.json` with the experiment and its run ids), written for
 * a stopped export with the runs it finished, so its `import-experiments` can import those. Only the
 * fields its import reads; the experiment's own from the source server.
 */
async function writeMeiManifests(exportDir: string, exported: { experimentId: string; runIds: string[] }, sourceUrl: string): Promise<void> {
  const found = (await (await fetch(`${sourceUrl}/api/2.0/mlflow/experiments/get-by-name?experiment_name=bench-import`)).json()) as {
    experiment: { experiment_id: string; name: string; artifact_location: string; lifecycle_stage: string; creation_time: number; last_update_time: number; tags?: Array<{ key: string; value: string }> };
  };
  const e = found.experiment;
  const system = { package_version: PACKAGE.split('==')[1] ?? '', script: 'import-bench.ts (manifests of a stopped export)', export_time: Math.floor(Date.now() / 1000) };
  const n = exported.runIds.length;
  fs.writeFileSync(
    path.join(exportDir, 'experiments.json'),
    JSON.stringify({ system, info: { experiments: 1, total_runs: n, ok_runs: n, failed_runs: 0 }, mlflow: { experiments: [{ id: exported.experimentId, name: e.name, ok_runs: n, failed_runs: 0 }] } }, null, 2),
  );
  const experiment = { experiment_id: e.experiment_id, name: e.name, artifact_location: e.artifact_location, lifecycle_stage: e.lifecycle_stage, tags: Object.fromEntries((e.tags ?? []).map((t) => [t.key, t.value])), creation_time: e.creation_time, last_update_time: e.last_update_time };
  fs.writeFileSync(
    path.join(exportDir, exported.experimentId, 'experiment.json'),
    JSON.stringify({ system, info: { num_total_runs: n, num_ok_runs: n, num_failed_runs: 0, failed_runs: [] }, mlflow: { experiment, runs: exported.runIds } }, null, 2),
  );
}

/** Runs of the bench experiment in a target that are FINISHED (mlflow-export-import's import ends each run so). */
async function finishedRuns(url: string): Promise<number> {
  const exp = (await (await fetch(`${url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=bench-import`)).json()) as { experiment?: { experiment_id: string } };
  if (!exp.experiment) return 0;
  let n = 0;
  let token: string | undefined;
  do {
    const response = await fetch(`${url}/api/2.0/mlflow/runs/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ experiment_ids: [exp.experiment.experiment_id], filter: "attributes.status = 'FINISHED'", max_results: 1000, ...(token ? { page_token: token } : {}) }),
    });
    const page = (await response.json()) as { runs?: unknown[]; next_page_token?: string };
    n += (page.runs ?? []).length;
    token = page.next_page_token || undefined;
  } while (token);
  return n;
}

/** What a `trove import` left in its store: runs recorded complete in the import state, and metric points written. */
function storeProgress(storeDir: string): { completeRuns: number; points: number } {
  const file = path.join(storeDir, 'trove.db');
  if (!fs.existsSync(file)) return { completeRuns: 0, points: 0 };
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 30_000 });
  try {
    // A run is recorded with its fingerprint only once all its points and files are in (PENDING before).
    const runs = db.prepare("SELECT count(*) AS n FROM import_state WHERE kind = 'run' AND fingerprint <> 'pending'").get() as { n: number };
    const points = db.prepare('SELECT count(*) AS n FROM metrics').get() as { n: number };
    return { completeRuns: runs.n, points: points.n };
  } finally {
    db.close();
  }
}

/** Every file's size below a folder, in bytes. */
function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

const rate = (n: number, seconds: number): string => `${Math.round(n / seconds).toLocaleString('en')}`;

/**
 * A timed row's extent: how many of the source's runs it completed in its time, and, when it was
 * stopped by --row-seconds, its time extrapolated to the whole size at the same run rate.
 */
interface Extent {
  seconds: number;
  runs: number;
  points: number;
  stopped: boolean;
  /** The command exited non-zero (its time and what it finished still count; it is not extrapolated). */
  failed?: boolean;
}

function wholeSeconds(e: Extent, totalRuns: number): number {
  if (!e.stopped) return e.seconds;
  return e.runs === 0 ? Number.POSITIVE_INFINITY : (e.seconds * totalRuns) / e.runs;
}

function extentNote(e: Extent, totalRuns: number, verb: string): string {
  const rates = `${((e.runs / e.seconds) * 60).toFixed(1)} runs/min, ${rate(e.points, e.seconds)} points/s`;
  if (e.failed) return `${e.runs} of ${totalRuns} runs ${verb} completely before it failed (${rates}); `;
  return e.stopped ? `PARTIAL, stopped by --row-seconds after ${e.seconds.toFixed(0)} s with ${e.runs} of ${totalRuns} runs ${verb} completely (${rates}); ` : `${rates}; `;
}

interface Row {
  path: string;
  tool: string;
  seconds: number;
  note: string;
  check: { runs: number; points: number };
  load: string;
}

/** Seeds the source (the experiment, the API runs, the bulk load): @returns the seconds it took. */
async function seedSource(url: string, sourceRoot: string, work: string, python: string): Promise<number> {
  fs.writeFileSync(path.join(work, 'seed.py'), SEED);
  const seedStarted = performance.now();
  await run(python, ['-c', 'import os; from mlflow.tracking import MlflowClient; MlflowClient(os.environ["SOURCE"]).create_experiment("bench-import")'], { SOURCE: url });
  const apiRuns = SEED_MODE === 'bulk' ? API_RUNS : SIZE.runs;
  const perRunBytes = Math.floor((SIZE.artifactMb * 1024 * 1024) / Math.max(SIZE.runs, 1));
  const sizeArgs = [String(apiRuns), String(SIZE.metrics), String(SIZE.steps), String(perRunBytes * apiRuns)];
  const workers = Math.min(SEED_WORKERS, apiRuns);
  await Promise.all(Array.from({ length: workers }, (_, w) => run(python, [path.join(work, 'seed.py'), ...sizeArgs, String(w), String(workers)], { SOURCE: url, WORK: work, RUN_SPACING_MS: String(RUN_SPACING_MS) }, path.join(work, `seed-${w}.log`))));
  const apiSeconds = (performance.now() - seedStarted) / 1000;
  if (apiRuns < SIZE.runs) {
    await bulkSeed(sourceRoot, apiRuns, SIZE.runs);
    log(`logged ${apiRuns} runs through the API in ${apiSeconds.toFixed(1)} s, bulk-loaded ${SIZE.runs - apiRuns} more in ${((performance.now() - seedStarted) / 1000 - apiSeconds).toFixed(1)} s`);
  }
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  log(`seeded the source in ${seedSeconds.toFixed(1)} s (${SEED_MODE}, load ${load()})`);
  return seedSeconds;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-import-bench-'));
  // The source's folder: in this run's work dir, or reused from an earlier run's (never written to then).
  const sourceRoot = SOURCE_DIR ? path.join(path.resolve(SOURCE_DIR), 'source') : path.join(work, 'source');
  const reuse = SOURCE_DIR !== '' && fs.existsSync(path.join(sourceRoot, 'mlflow.db'));
  const trove = (args: string[], logName: string) => run(process.execPath, [path.join(ROOT, 'bin', 'trove.js'), ...args], {}, path.join(work, logName), ROW_SECONDS);
  const tool = (name: string, args: string[], uri: string, logName: string) => run(path.join(TOOL_VENV, 'bin', name), args, { MLFLOW_TRACKING_URI: uri }, path.join(work, logName), ROW_SECONDS);
  const rows: Row[] = [];
  const servers: Server[] = [];
  try {
    if (reuse) log(`reusing the source in ${sourceRoot} (read only); work dir ${work}`);
    else log(`size: ${SIZE.runs} runs × ${SIZE.metrics} metrics × ${SIZE.steps} steps, ${SIZE.artifactMb} MB of artifacts; work dir ${work}${SOURCE_DIR ? `, source in ${sourceRoot}` : ''}`);
    const source = await startServer('mlflow', sourceRoot, path.join(work, 'source-server'));
    servers.push(source);
    const python = path.join(BASE_VENV, 'bin', 'python');
    let seedSeconds = Number.NaN;
    if (!reuse) seedSeconds = await seedSource(source.url, sourceRoot, work, python);
    const expected = await check(source.url);
    log(`source check: ${expected.runs} runs, ${expected.points} points in one metric's history`);
    if (reuse) {
      // The size is the reused source's own.
      const listed = new MlflowRestSource(source.url, {});
      for await (const e of listed.experiments()) {
        if (e.name !== 'bench-import') continue;
        for await (const r of listed.runs(e.experimentId)) {
          SIZE.metrics = r.latestMetrics.length;
          break;
        }
      }
      SIZE.runs = expected.runs;
      SIZE.steps = expected.points;
      SIZE.artifactMb = Math.round(folderBytes(path.join(sourceRoot, 'artifacts')) / (1024 * 1024));
      log(`reused source: ${SIZE.runs} runs × ${SIZE.metrics} metrics × ${SIZE.steps} steps, ${SIZE.artifactMb} MB of artifacts`);
    }

    let alone = { seconds: Number.NaN, runs: 0, points: 0, bytes: 0, stopped: false };
    if (wanted('source')) {
      // The bound: the source read alone, at the import's concurrency.
      const loadBefore = load();
      alone = await readSourceAlone(source.url, Number(CONCURRENCY));
      rows.push({ path: 'MLflow (source)', tool: 'source read alone, nothing written', seconds: alone.seconds, note: `${extentNote(alone, expected.runs, 'read')}concurrency ${CONCURRENCY}: ${alone.points.toLocaleString('en')} points, ${(alone.bytes / 1e6).toFixed(0)} MB`, check: { runs: alone.runs, points: alone.points / Math.max(1, alone.runs * SIZE.metrics) }, load: `${loadBefore} → ${load()}` });
      log(`source read alone: ${alone.seconds.toFixed(1)} s`);
    }

    /**
     * A `trove import mlflow` row straight into a store: timed, then how far it got read from the
     * store (runs recorded complete, points written), then the target checked through a Trove server.
     */
    const importRow = async (tool: string, extra: string[], storeDir: string, logName: string): Promise<Extent> => {
      const loadBefore = load();
      const t = await timed(trove(['import', 'mlflow', '--from', source.url, ...extra, '--backend-store-uri', `sqlite:///${storeDir}/trove.db`, '--artifacts-destination', `${storeDir}/artifacts`, '--concurrency', CONCURRENCY, '-q'], logName));
      const seconds = t.seconds;
      const stopped = lastRunStopped || t.failure !== undefined;
      const loadAfter = load();
      const written = storeProgress(storeDir);
      const extent: Extent = { seconds, runs: written.completeRuns, points: written.points, stopped, failed: t.failure !== undefined };
      const storeServer = await startServer('trove', storeDir);
      try {
        const got = await check(storeServer.url);
        rows.push({ path: 'MLflow → Trove', tool, seconds, note: `${failedNote(t)}${extentNote(extent, expected.runs, 'imported')}--concurrency ${CONCURRENCY}`, check: stopped ? { runs: written.completeRuns, points: got.points } : got, load: `${loadBefore} → ${loadAfter}` });
      } finally {
        await storeServer.stop();
      }
      log(`${tool}: ${seconds.toFixed(1)} s${t.failure ? ` (FAILED, ${written.completeRuns} runs complete)` : stopped ? ` (stopped, ${written.completeRuns} runs complete)` : ''}`);
      return extent;
    };

    // MLflow → Trove, trove import straight into the store (the export row starts from this store).
    const storeDir = path.join(work, 'trove-store');
    let direct = Number.NaN;
    let directExtent: Extent | undefined;
    if (wanted('import') || wanted('export')) {
      directExtent = await importRow('trove import mlflow (into the store)', [], storeDir, 'trove-import.log');
      direct = directExtent.failed ? Number.NaN : directExtent.seconds;
    }

    // The same with the metric histories read from the source's SQLite file (--source-db); the
    // export-db row starts from this store.
    let dbExtent: Extent | undefined;
    const dbStoreDir = path.join(work, 'trove-store-db');
    if (wanted('import-db') || wanted('export-db')) {
      dbExtent = await importRow('trove import mlflow --source-db (into the store)', ['--source-db', `sqlite:///${path.join(sourceRoot, 'mlflow.db')}`], dbStoreDir, 'trove-import-db.log');
    }

    if (wanted('import-to')) {
      // MLflow → Trove, trove import --to a running Trove.
      const apiTarget = await startServer('trove', path.join(work, 'trove-api'));
      servers.push(apiTarget);
      const loadBefore = load();
      const t = await timed(trove(['import', 'mlflow', '--from', source.url, '--to', apiTarget.url, '--concurrency', CONCURRENCY, '-q'], 'trove-import-to.log'));
      const viaApi = t.seconds;
      rows.push({ path: 'MLflow → Trove', tool: 'trove import mlflow --to (bulk import API)', seconds: viaApi, note: `${failedNote(t)}${lastRunStopped ? 'PARTIAL, stopped by --row-seconds; ' : ''}--concurrency ${CONCURRENCY}`, check: await check(apiTarget.url), load: `${loadBefore} → ${load()}` });
      log(`trove import --to: ${viaApi.toFixed(1)} s`);
    }

    // mlflow-export-import: export once (timed), import into Trove and into MLflow.
    const exportDir = path.join(work, 'mei-export');
    let meiExport = Number.NaN;
    let meiIntoTrove = Number.NaN;
    let meiIntoMlflow = Number.NaN;
    /** Its export alone, as far as it got. */
    let meiExportExtent: Extent | undefined;
    if (wanted('mei-trove') || wanted('mei-mlflow')) {
      ensureToolVenv();
      const loadBefore = load();
      const t = await timed(tool('export-experiments', ['--experiments', 'bench-import', '--output-dir', exportDir], source.url, 'mei-export.log'));
      meiExport = t.seconds;
      if (lastRunStopped || t.failure) {
        // How far its export got: the runs it wrote whole (a run.json and all their files).
        const exported = exportedRuns(exportDir);
        const n = exported?.runIds.length ?? 0;
        meiExportExtent = { seconds: meiExport, runs: n, points: n * SIZE.metrics * SIZE.steps, stopped: true, failed: t.failure !== undefined };
        // Its import reads the manifests the export writes at its end: written here for the runs it finished.
        if (exported && n > 0 && wanted('mei-mlflow')) await writeMeiManifests(exportDir, exported, source.url);
        const next = n > 0 && wanted('mei-mlflow') ? `its import into MLflow runs on these ${n} runs (the harness wrote the two manifests, experiments.json and experiment.json, that the tool writes when it ends)` : 'its imports not run';
        rows.push({ path: 'MLflow → (folder)', tool: `${PACKAGE} export-experiments`, seconds: meiExport, note: `${failedNote(t)}${extentNote(meiExportExtent, expected.runs, 'exported')}${next}`, check: { runs: n, points: 0 }, load: `${loadBefore} → ${load()}` });
        log(`mlflow-export-import export ${t.failure ? 'FAILED' : 'stopped'}: ${n} runs whole in ${meiExport.toFixed(1)} s`);
      } else {
        meiExportExtent = { seconds: meiExport, runs: expected.runs, points: expected.runs * SIZE.metrics * SIZE.steps, stopped: false };
      }
      if (!meiExportExtent.stopped && wanted('mei-trove')) {
        const meiTrove = await startServer('trove', path.join(work, 'trove-mei'));
        servers.push(meiTrove);
        const imported = await timed(tool('import-experiments', ['--input-dir', exportDir], meiTrove.url, 'mei-import-trove.log'));
        const stopped = lastRunStopped;
        if (!imported.failure && !stopped) meiIntoTrove = meiExport + imported.seconds;
        rows.push({ path: 'MLflow → Trove', tool: `${PACKAGE}`, seconds: meiExport + imported.seconds, note: `${failedNote(imported)}${stopped ? 'PARTIAL, its import stopped by --row-seconds; ' : ''}export ${meiExport.toFixed(1)} s + import ${imported.seconds.toFixed(1)} s`, check: await check(meiTrove.url), load: `${loadBefore} → ${load()}` });
        log(`mlflow-export-import into Trove: ${(meiExport + imported.seconds).toFixed(1)} s${imported.failure ? ' (FAILED)' : stopped ? ' (stopped)' : ''}`);
      }
    }
    /** mlflow-export-import MLflow → MLflow at the whole size when a half was partial: each half extrapolated at its own run rate. */
    let meiMlflowExtrapolated: { seconds: number; words: string } | undefined;

    let exportSeconds = Number.NaN;
    if (wanted('export')) {
      // MLflow → MLflow with trove: import into a scratch store, then export --to.
      const mlflowTarget = await startServer('mlflow', path.join(work, 'mlflow-target-trove'));
      servers.push(mlflowTarget);
      const loadBefore = load();
      const t = await timed(trove(['export', '--to', mlflowTarget.url, '--backend-store-uri', `sqlite:///${storeDir}/trove.db`, '--artifacts-destination', `${storeDir}/artifacts`, '--concurrency', CONCURRENCY, '-q'], 'trove-export-to.log'));
      const stopped = lastRunStopped;
      exportSeconds = t.failure || stopped ? Number.NaN : t.seconds;
      rows.push({ path: 'MLflow → MLflow', tool: 'trove import mlflow + trove export --to', seconds: direct + t.seconds, note: `${failedNote(t)}${stopped ? 'PARTIAL, stopped by --row-seconds; ' : ''}import ${direct.toFixed(1)} s + export ${t.seconds.toFixed(1)} s`, check: await check(mlflowTarget.url), load: `${loadBefore} → ${load()}` });
      log(`trove export --to: ${t.seconds.toFixed(1)} s${t.failure ? ' (FAILED)' : ''}`);
    }

    // MLflow → MLflow with the databases: import --source-db into a scratch store, then export --to
    // a fresh MLflow server with --target-db <its SQLite file>, the server running.
    let exportDbSeconds = Number.NaN;
    let exportDbStopped = false;
    if (wanted('export-db') && dbExtent?.failed) log('export-db not run: its import (--source-db) failed');
    if (wanted('export-db') && dbExtent && !dbExtent.failed) {
      const targetDir = path.join(work, 'mlflow-target-trove-db');
      const mlflowTarget = await startServer('mlflow', targetDir);
      servers.push(mlflowTarget);
      const loadBefore = load();
      const t = await timed(trove(['export', '--to', mlflowTarget.url, '--target-db', `sqlite:///${targetDir}/mlflow.db`, '--backend-store-uri', `sqlite:///${dbStoreDir}/trove.db`, '--artifacts-destination', `${dbStoreDir}/artifacts`, '--concurrency', CONCURRENCY, '-q'], 'trove-export-to-db.log'));
      exportDbSeconds = t.failure ? Number.NaN : t.seconds;
      exportDbStopped = lastRunStopped || dbExtent.stopped;
      const seconds = dbExtent.seconds + t.seconds;
      rows.push({
        path: 'MLflow → MLflow',
        tool: 'trove import mlflow --source-db + trove export --to --target-db',
        seconds,
        note: `${failedNote(t)}${exportDbStopped ? 'PARTIAL, stopped by --row-seconds; ' : ''}import ${dbExtent.seconds.toFixed(1)} s + export ${t.seconds.toFixed(1)} s${t.failure || exportDbStopped ? '' : `; ${rate(expected.runs * SIZE.metrics * SIZE.steps, seconds)} points/s whole`}`,
        check: await check(mlflowTarget.url),
        load: `${loadBefore} → ${load()}`,
      });
      log(`trove export --to --target-db: ${t.seconds.toFixed(1)} s${t.failure ? ' (FAILED)' : ''}`);
    }

    if (wanted('mei-mlflow') && meiExportExtent && meiExportExtent.runs > 0) {
      const meiMlflow = await startServer('mlflow', path.join(work, 'mlflow-target-mei'));
      servers.push(meiMlflow);
      const loadBefore = load();
      const t = await timed(tool('import-experiments', ['--input-dir', exportDir], meiMlflow.url, 'mei-import-mlflow.log'));
      const stopped = lastRunStopped || t.failure !== undefined;
      const loadAfter = load();
      // Runs it imported whole: it marks a run FINISHED after its last write (the one in flight when stopped is RUNNING).
      const finished = stopped ? await finishedRuns(meiMlflow.url) : meiExportExtent.runs;
      const got = await check(meiMlflow.url);
      const seconds = meiExport + t.seconds;
      if (!meiExportExtent.stopped && !stopped) {
        meiIntoMlflow = seconds;
        rows.push({ path: 'MLflow → MLflow', tool: `${PACKAGE}`, seconds, note: `export ${meiExport.toFixed(1)} s + import ${t.seconds.toFixed(1)} s`, check: got, load: `${loadBefore} → ${loadAfter}` });
      } else {
        const importExtent: Extent = { seconds: t.seconds, runs: finished, points: finished * SIZE.metrics * SIZE.steps, stopped: true, failed: t.failure !== undefined };
        const exportWhole = wholeSeconds(meiExportExtent, expected.runs);
        const importWhole = wholeSeconds(importExtent, expected.runs);
        const half = (name: string, e: Extent, of: number, why: string) =>
          `${name} ${e.runs} of ${of} runs in ${e.seconds.toFixed(1)} s (${why}; ${((e.runs / e.seconds) * 60).toFixed(1)} runs/min)`;
        const exportWords = half(`export ${meiExportExtent.stopped ? 'PARTIAL' : 'whole'}:`, meiExportExtent, expected.runs, meiExportExtent.failed ? 'FAILED' : meiExportExtent.stopped ? 'stopped by --row-seconds' : 'finished');
        const importWords = half(`import ${stopped ? 'PARTIAL' : 'whole (of what was exported)'}:`, importExtent, meiExportExtent.runs, t.failure ? 'FAILED' : stopped ? 'stopped by --row-seconds' : 'finished');
        const whole = exportWhole + importWhole;
        meiMlflowExtrapolated = Number.isFinite(whole)
          ? { seconds: whole, words: `${exportWords} + ${importWords}, EXTRAPOLATED to all ${expected.runs} runs at each half's run rate: export ${exportWhole.toFixed(0)} s + import ${importWhole.toFixed(0)} s = ${whole.toFixed(0)} s` }
          : undefined;
        rows.push({
          path: 'MLflow → MLflow',
          tool: `${PACKAGE}`,
          seconds,
          note: `${failedNote(t)}${exportWords} + ${importWords}; ${Number.isFinite(whole) ? `extrapolated to all ${expected.runs} runs: ≈ ${exportWhole.toFixed(0)} + ${importWhole.toFixed(0)} = ${whole.toFixed(0)} s (an extrapolation, linear in runs: a lower bound if the target slows as it fills)` : 'no run imported whole: not extrapolated'}`,
          check: { runs: finished, points: got.points },
          load: `${loadBefore} → ${loadAfter}`,
        });
      }
      log(`mlflow-export-import into MLflow: import ${t.seconds.toFixed(1)} s, ${finished} runs whole${t.failure ? ' (FAILED)' : stopped ? ' (stopped)' : ''}`);
    }

    /**
     * mlflow-export-import into Trove against a trove import row, whole size. Where a row was
     * stopped by --row-seconds its time is extrapolated at its run rate; a stopped export (its
     * import-experiments never run) gives a lower bound of the ratio.
     */
    const meiRatio = (name: string, extent: Extent): string => {
      if (!meiExportExtent) return '';
      if (extent.failed) return `mlflow-export-import against ${name}: not measured (${name} FAILED after ${extent.seconds.toFixed(0)} s)`;
      const ours = wholeSeconds(extent, expected.runs);
      if (!Number.isFinite(ours)) return `mlflow-export-import against ${name}: not measured (${name} completed no run before --row-seconds stopped it)`;
      const ourWords = extent.stopped ? `${name} PARTIAL (${extent.runs} runs in ${extent.seconds.toFixed(0)} s), extrapolated to ${ours.toFixed(0)} s for all ${expected.runs} runs` : `${name} ${ours.toFixed(1)} s`;
      if (Number.isFinite(meiIntoTrove)) return `mlflow-export-import into Trove takes ${(meiIntoTrove / ours).toFixed(1)}× ${name}'s time (${meiIntoTrove.toFixed(1)} s vs ${ourWords}; goal: ≥ 10×)`;
      if (!meiExportExtent.stopped) return '';
      const theirs = wholeSeconds(meiExportExtent, expected.runs);
      return (
        `LOWER BOUND: mlflow-export-import's export-experiments alone, PARTIAL (${meiExportExtent.runs} runs in ${meiExportExtent.seconds.toFixed(0)} s) and extrapolated to ${theirs.toFixed(0)} s for all ${expected.runs} runs, ` +
        `takes ≥ ${(theirs / ours).toFixed(1)}× ${name}'s whole time (${ourWords}); its import-experiments half is not counted, so the real ratio is higher${extent.stopped ? ` (${name}'s own time is extrapolated too)` : ''} (goal: ≥ 10×)`
      );
    };

    /**
     * mlflow-export-import MLflow → MLflow (its export + import) against the export-db row (import
     * --source-db + export --target-db). When its export was stopped by --row-seconds, its export
     * alone extrapolated to the whole size gives a LOWER BOUND (its import is not counted).
     */
    const mlflowToMlflowDbRatio = (): string => {
      if (!Number.isFinite(exportDbSeconds) || !dbExtent || exportDbStopped || !meiExportExtent) return '';
      const ours = dbExtent.seconds + exportDbSeconds;
      const ourWords = `trove import --source-db + export --target-db ${ours.toFixed(1)} s`;
      if (Number.isFinite(meiIntoMlflow)) return `mlflow-export-import MLflow → MLflow takes ${(meiIntoMlflow / ours).toFixed(1)}× the time of ${ourWords} (${meiIntoMlflow.toFixed(1)} s; goal: ≥ 10×)`;
      if (meiMlflowExtrapolated)
        return `EXTRAPOLATION: mlflow-export-import MLflow → MLflow (${meiMlflowExtrapolated.words}) takes ≈ ${(meiMlflowExtrapolated.seconds / ours).toFixed(1)}× the whole time of ${ourWords} (both of its halves extrapolated linearly from PARTIAL runs: a lower bound if MLflow slows as its tables fill; goal: ≥ 10×)`;
      if (!meiExportExtent.stopped) return '';
      const theirs = wholeSeconds(meiExportExtent, expected.runs);
      return (
        `LOWER BOUND: mlflow-export-import's export-experiments alone, PARTIAL (${meiExportExtent.runs} runs in ${meiExportExtent.seconds.toFixed(0)} s) and extrapolated to ${theirs.toFixed(0)} s for all ${expected.runs} runs, ` +
        `takes ≥ ${(theirs / ours).toFixed(1)}× the whole MLflow → MLflow time of ${ourWords}; its import-experiments into MLflow is not counted, so the real ratio is higher (goal: ≥ 10×)`
      );
    };

    const cpus = os.cpus();
    const lines = [
      `Size: ${SIZE.runs} runs × ${SIZE.metrics} metrics × ${SIZE.steps} steps (${(SIZE.runs * SIZE.metrics * SIZE.steps).toLocaleString('en')} points), ${SIZE.artifactMb} MB of artifacts in ${SIZE.runs} files; source: \`mlflow server\` ${execFileSync(path.join(BASE_VENV, 'bin', 'python'), ['-c', 'import mlflow; print(mlflow.__version__)']).toString().trim()} on SQLite (${reuse ? `seeded by an earlier run, reused from ${sourceRoot}` : `seeded in ${seedSeconds.toFixed(0)} s, ${SEED_MODE === 'bulk' && API_RUNS < SIZE.runs ? `${API_RUNS} runs through the API, the rest bulk-loaded` : 'every run through the API'}`}). Machine: ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, Node ${process.versions.node}.`,
      `Source check: ${expected.runs} runs, ${expected.points} points in one metric's history.`,
      '',
      '| path | tool | seconds | runs / points checked in the target | load average (1 / 5 / 15 min) before → after | note |',
      '|---|---|---:|---|---|---|',
      ...rows.map((r) => `| ${r.path} | ${r.tool} | ${Number.isNaN(r.seconds) ? '—' : r.seconds.toFixed(1)} | ${r.check.runs} / ${r.check.points} | ${r.load} | ${r.note} |`),
      '',
      // Only the ratios whose rows ran (NaN otherwise).
      [
        Number.isNaN(direct / alone.seconds) ? '' : `trove import takes ${(direct / alone.seconds).toFixed(2)}× the time of reading the source alone (${direct.toFixed(1)} s vs ${alone.seconds.toFixed(1)} s)`,
        Number.isNaN(meiIntoMlflow / (direct + exportSeconds)) ? '' : `mlflow-export-import takes ${(meiIntoMlflow / (direct + exportSeconds)).toFixed(1)}× trove's time MLflow → MLflow (goal: ≥ 10×)`,
        mlflowToMlflowDbRatio(),
        ...[directExtent && { name: 'trove import', extent: directExtent }, dbExtent && { name: 'trove import --source-db', extent: dbExtent }].map((t) => (t ? meiRatio(t.name, t.extent) : '')),
      ].filter((l) => l !== '').map((l) => `Ratio: ${l}.`).join('\n'),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    fs.mkdirSync(path.join(ROOT, 'bench', 'output'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench', 'output', 'import-bench.md'), `${lines.join('\n')}\n`);
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    if (!process.env.IMPORT_BENCH_KEEP) fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
