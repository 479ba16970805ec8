/**
 * Migration benchmark (not a test): the same MLflow server data moved by `trove import` and by the
 * community `mlflow-export-import` package (PyPI), into Trove and into another MLflow server.
 *
 *   node --import tsx bench/import-bench.ts [--runs 1000] [--metrics 20] [--steps 1000] [--artifact-mb 500]
 *                                            [--concurrency 4] [--package mlflow-export-import==1.2.0]
 *
 * Defaults are reduced (50 runs × 5 metrics × 200 steps, 20 MB): seeding the full size
 * through a real `mlflow server` takes hours on a small machine. Rows:
 *
 *   MLflow → Trove      trove import mlflow --from (straight into the store)
 *   MLflow → Trove      trove import mlflow --from --to <running Trove> (bulk import API)
 *   MLflow → Trove      mlflow-export-import: export-experiments, then import-experiments into a Trove server
 *   MLflow → MLflow     trove import mlflow (into a scratch store) + trove export --to <MLflow server>
 *   MLflow → MLflow     mlflow-export-import: export-experiments, then import-experiments into an MLflow server
 *
 * Each target is checked afterwards (run count and one metric's full history) so a fast but
 * incomplete copy cannot pass for a fast one. The tool's venv is `.venvs/export-import`, made here
 * from `.venvs/mlflow3` (the pinned MLflow) with the package installed without its dependencies.
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './servers.ts';

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
const CONCURRENCY = arg('concurrency', '4');
const PACKAGE = arg('package', 'mlflow-export-import==1.2.0');

interface Server {
  url: string;
  stop(): Promise<void>;
}

function log(message: string): void {
  process.stderr.write(`[import-bench] ${message}\n`);
}

async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, logFile?: string): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => {
      if (logFile) fs.writeFileSync(logFile, output);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} exited with ${code}:\n${output.slice(-3000)}`));
    });
  });
  return (performance.now() - started) / 1000;
}

async function startServer(kind: 'mlflow' | 'trove', dir: string): Promise<Server> {
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const [cmd, args] =
    kind === 'mlflow'
      ? [path.join(BASE_VENV, 'bin', 'python'), ['-m', 'mlflow', 'server', '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--backend-store-uri', `sqlite:///${dir}/mlflow.db`, '--artifacts-destination', `${dir}/artifacts`]]
      : [process.execPath, [path.join(ROOT, 'bin', 'trove.js'), 'server', '--host', '127.0.0.1', '--port', String(port), '--backend-store-uri', `sqlite:///${dir}/trove.db`, '--artifacts-destination', `${dir}/artifacts`, '--log-level', 'warn']];
  const out = fs.openSync(path.join(dir, `${kind}.log`), 'w');
  const child = spawn(cmd, args as string[], { cwd: dir, stdio: ['ignore', out, out], detached: true, env: { ...process.env, MLFLOW_TRACKING_URI: '' } });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${kind} server did not start: see ${dir}/${kind}.log`);
    await new Promise((r) => setTimeout(r, 300));
  }
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

const SEED = `
import os, sys, mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
runs, metrics, steps, artifact_bytes = (int(x) for x in sys.argv[1:5])
client = MlflowClient(os.environ["SOURCE"])
exp = client.create_experiment("bench-import")
per_run = artifact_bytes // max(runs, 1)
blob = os.urandom(per_run)
path = os.path.join(os.environ["WORK"], "artifact.bin")
with open(path, "wb") as f:
    f.write(blob)
t0 = 1_700_000_000_000
for r in range(runs):
    run = client.create_run(exp, run_name=f"run-{r}")
    rid = run.info.run_id
    client.log_batch(rid, params=[Param(f"p{i}", str(i)) for i in range(5)])
    points = [Metric(f"m{m}", 1.0 / (s + 1), t0 + s, s) for m in range(metrics) for s in range(steps)]
    for i in range(0, len(points), 1000):
        client.log_batch(rid, metrics=points[i:i + 1000])
    if per_run > 0:
        client.log_artifact(rid, path, artifact_path="data")
    client.set_terminated(rid)
print(exp)
`;

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

interface Row {
  path: string;
  tool: string;
  seconds: number;
  note: string;
  check: { runs: number; points: number };
}

async function main(): Promise<void> {
  ensureToolVenv();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-import-bench-'));
  const trove = (args: string[], logName: string) => run(process.execPath, [path.join(ROOT, 'bin', 'trove.js'), ...args], {}, path.join(work, logName));
  const tool = (name: string, args: string[], uri: string, logName: string) => run(path.join(TOOL_VENV, 'bin', name), args, { MLFLOW_TRACKING_URI: uri }, path.join(work, logName));
  const rows: Row[] = [];
  const servers: Server[] = [];
  try {
    log(`size: ${SIZE.runs} runs × ${SIZE.metrics} metrics × ${SIZE.steps} steps, ${SIZE.artifactMb} MB of artifacts; work dir ${work}`);
    const source = await startServer('mlflow', path.join(work, 'source'));
    servers.push(source);
    fs.writeFileSync(path.join(work, 'seed.py'), SEED);
    const seedSeconds = await run(path.join(BASE_VENV, 'bin', 'python'), [path.join(work, 'seed.py'), String(SIZE.runs), String(SIZE.metrics), String(SIZE.steps), String(SIZE.artifactMb * 1024 * 1024)], { SOURCE: source.url, WORK: work });
    log(`seeded the source in ${seedSeconds.toFixed(1)} s`);
    const expected = await check(source.url);

    // MLflow → Trove, trove import straight into the store.
    const storeDir = path.join(work, 'trove-store');
    const direct = await trove(['import', 'mlflow', '--from', source.url, '--backend-store-uri', `sqlite:///${storeDir}/trove.db`, '--artifacts-destination', `${storeDir}/artifacts`, '--concurrency', CONCURRENCY, '-q'], 'trove-import.log');
    const storeServer = await startServer('trove', storeDir);
    rows.push({ path: 'MLflow → Trove', tool: 'trove import mlflow (into the store)', seconds: direct, note: `--concurrency ${CONCURRENCY}`, check: await check(storeServer.url) });
    await storeServer.stop();

    // MLflow → Trove, trove import --to a running Trove.
    const apiTarget = await startServer('trove', path.join(work, 'trove-api'));
    servers.push(apiTarget);
    const viaApi = await trove(['import', 'mlflow', '--from', source.url, '--to', apiTarget.url, '--concurrency', CONCURRENCY, '-q'], 'trove-import-to.log');
    rows.push({ path: 'MLflow → Trove', tool: 'trove import mlflow --to (bulk import API)', seconds: viaApi, note: `--concurrency ${CONCURRENCY}`, check: await check(apiTarget.url) });

    // mlflow-export-import: export once (timed), import into Trove and into MLflow.
    const exportDir = path.join(work, 'mei-export');
    const meiExport = await tool('export-experiments', ['--experiments', 'bench-import', '--output-dir', exportDir], source.url, 'mei-export.log');
    const meiTrove = await startServer('trove', path.join(work, 'trove-mei'));
    servers.push(meiTrove);
    let meiIntoTrove = Number.NaN;
    let meiTroveNote = `export ${meiExport.toFixed(1)} s + import`;
    try {
      meiIntoTrove = meiExport + (await tool('import-experiments', ['--input-dir', exportDir], meiTrove.url, 'mei-import-trove.log'));
    } catch (error) {
      meiTroveNote = `failed: ${(error as Error).message.split('\n').slice(-2).join(' ').slice(0, 200)}`;
    }
    rows.push({ path: 'MLflow → Trove', tool: `${PACKAGE}`, seconds: meiIntoTrove, note: meiTroveNote, check: await check(meiTrove.url) });

    // MLflow → MLflow with trove: import into a scratch store, then export --to.
    const mlflowTarget = await startServer('mlflow', path.join(work, 'mlflow-target-trove'));
    servers.push(mlflowTarget);
    const exportSeconds = await trove(['export', '--to', mlflowTarget.url, '--backend-store-uri', `sqlite:///${storeDir}/trove.db`, '--artifacts-destination', `${storeDir}/artifacts`, '--concurrency', CONCURRENCY, '-q'], 'trove-export-to.log');
    rows.push({ path: 'MLflow → MLflow', tool: 'trove import mlflow + trove export --to', seconds: direct + exportSeconds, note: `import ${direct.toFixed(1)} s + export ${exportSeconds.toFixed(1)} s`, check: await check(mlflowTarget.url) });

    const meiMlflow = await startServer('mlflow', path.join(work, 'mlflow-target-mei'));
    servers.push(meiMlflow);
    const meiIntoMlflow = meiExport + (await tool('import-experiments', ['--input-dir', exportDir], meiMlflow.url, 'mei-import-mlflow.log'));
    rows.push({ path: 'MLflow → MLflow', tool: `${PACKAGE}`, seconds: meiIntoMlflow, note: `export ${meiExport.toFixed(1)} s + import`, check: await check(meiMlflow.url) });

    const cpus = os.cpus();
    const lines = [
      `Size: ${SIZE.runs} runs × ${SIZE.metrics} metrics × ${SIZE.steps} steps (${(SIZE.runs * SIZE.metrics * SIZE.steps).toLocaleString('en')} points), ${SIZE.artifactMb} MB of artifacts in ${SIZE.runs} files; source: \`mlflow server\` ${execFileSync(path.join(BASE_VENV, 'bin', 'python'), ['-c', 'import mlflow; print(mlflow.__version__)']).toString().trim()} on SQLite (seeded in ${seedSeconds.toFixed(0)} s). Machine: ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, Node ${process.versions.node}.`,
      `Source check: ${expected.runs} runs, ${expected.points} points in one metric's history.`,
      '',
      '| path | tool | seconds | runs / points checked in the target | note |',
      '|---|---|---:|---|---|',
      ...rows.map((r) => `| ${r.path} | ${r.tool} | ${Number.isNaN(r.seconds) ? '—' : r.seconds.toFixed(1)} | ${r.check.runs} / ${r.check.points} | ${r.note} |`),
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
