/** Renders the benchmark results (bench/output/bench-results.json) as docs/benchmarks.md. */
import type { BenchConfig } from './config.ts';
import type { ServerKind, WorkloadResult } from './load.ts';
import type { Machine } from './servers.ts';

export interface BackendResults {
  backend: 'sqlite' | 'postgres';
  seeding: Partial<Record<ServerKind, { runs: number; runSeconds: number; points: number; pointSeconds: number; peakMiB: number }>>;
  /** Per server, per measurement key: one value per round (or one for first start and seeding). */
  values: Record<ServerKind, Record<string, number[]>>;
  raw: Record<ServerKind, Record<string, WorkloadResult[]>>;
  notes: string[];
}

export interface Results {
  config: BenchConfig;
  machine: Machine;
  startedAt: string;
  finishedAt: string;
  minutes: number;
  load: { at: string; phase: string; avg: number[] }[];
  backends: Partial<Record<'sqlite' | 'postgres', BackendResults>>;
}

interface Row {
  key: string;
  label: (c: BenchConfig) => string;
  unit: string;
  better: 'higher' | 'lower';
  /** Shown next to the value: another measurement of the same workload. */
  detail?: { key: string; label: string; unit: string };
}

const n = (x: number): string => x.toLocaleString('en-US');

const ROWS: Row[] = [
  { key: 'create-run.rps', label: (c) => `create-run, ${c.writeClients} clients`, unit: 'req/s', better: 'higher', detail: { key: 'create-run.p99', label: 'p99', unit: 'ms' } },
  { key: 'log-batch.rps', label: (c) => `log-batch of ${c.logBatchMetrics} metrics, ${c.writeClients} clients`, unit: 'req/s', better: 'higher', detail: { key: 'log-batch.p99', label: 'p99', unit: 'ms' } },
  { key: 'ingest.points', label: (c) => `sustained ingest, 1,000-point batches, ${c.ingestWriters} writers`, unit: 'points/s', better: 'higher', detail: { key: 'ingest.p99', label: 'batch p99', unit: 'ms' } },
  { key: 'contention.points', label: (c) => `ingest, 1,000-point batches, ${c.contentionWriters} writers`, unit: 'points/s', better: 'higher', detail: { key: 'contention.errors', label: 'failed batches', unit: '' } },
  { key: 'search.p50', label: (c) => `search_runs, page of ${n(c.searchPageSize)} from a ${n(c.searchRuns)}-run experiment`, unit: 'ms', better: 'lower' },
  { key: 'filter1.p50', label: (c) => `search, metric filter + metric order, page 1 (${c.filterPageSize}) over ${n(c.filterRuns)} runs`, unit: 'ms', better: 'lower' },
  { key: 'filterdeep.p50', label: (c) => `… same search, deep page (offset ${n(c.deepOffset)})`, unit: 'ms', better: 'lower' },
  { key: 'get-run.p50', label: (c) => `get-run, ${c.wideParams} params + ${c.wideMetrics} metrics`, unit: 'ms', better: 'lower' },
  { key: 'history.points', label: (c) => `metric history, ${n(c.historyPoints)} points, full read in pages of ${n(c.historyPageSize)}`, unit: 'points/s', better: 'higher' },
  { key: 'downsampled.p50', label: (c) => `metric history, ${n(c.historyPoints)} points, downsampled (${n(c.downsampleBuckets)})`, unit: 'ms', better: 'lower' },
  { key: 'upload.mibps', label: (c) => `artifact upload, ${sizeLabel(c.artifactMb)} through the proxy`, unit: 'MiB/s', better: 'higher', detail: { key: 'upload.growth', label: 'RSS +', unit: 'MiB' } },
  { key: 'download.mibps', label: (c) => `artifact download, ${sizeLabel(c.artifactMb)} through the proxy`, unit: 'MiB/s', better: 'higher', detail: { key: 'download.growth', label: 'RSS +', unit: 'MiB' } },
  { key: 'upload.growth', label: (c) => `server memory growth during the ${sizeLabel(c.artifactMb)} upload`, unit: 'MiB', better: 'lower' },
  { key: 'trace-ingest.traces', label: (c) => `trace ingest: traces of ${c.traceSpans} spans (OTLP + StartTraceV3), ${c.traceClients} clients`, unit: 'traces/s', better: 'higher', detail: { key: 'trace-ingest.p99', label: 'p99', unit: 'ms' } },
  { key: 'trace-search.p50', label: (c) => `search_traces, tag filter, page of 100 over ${n(c.searchTraces)} traces`, unit: 'ms', better: 'lower' },
  { key: 'idle.mib', label: () => 'idle memory after restart (RSS, whole process tree)', unit: 'MiB', better: 'lower', detail: { key: 'idle-empty.mib', label: 'empty DB', unit: 'MiB' } },
  { key: 'idle-pss.mib', label: () => '… the same as PSS (shared pages split between processes)', unit: 'MiB', better: 'lower', detail: { key: 'idle.processes', label: 'processes', unit: '' } },
  { key: 'peak.mib', label: () => 'peak memory during a round of all workloads', unit: 'MiB', better: 'lower' },
  { key: 'cold-start.ms', label: () => 'cold start: spawn → /health 200 (seeded database)', unit: 'ms', better: 'lower', detail: { key: 'first-start.ms', label: 'first start', unit: 'ms' } },
  { key: 'seed-runs.per_s', label: (c) => `seeding: runs created + logged (${c.seedConcurrency} clients)`, unit: 'runs/s', better: 'higher' },
  { key: 'seed-traces.per_s', label: (c) => `seeding: traces of ${c.traceSpans} spans over OTLP, 100 per request (${c.seedConcurrency} clients)`, unit: 'traces/s', better: 'higher' },
  { key: 'seed-points.per_s', label: () => 'seeding: history points, 1,000-point batches, 4 clients', unit: 'points/s', better: 'higher' },
];

function sizeLabel(mib: number): string {
  return mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

export function median(values: number[] | undefined): number {
  const v = (values ?? []).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

function fmt(x: number, unit = ''): string {
  if (!Number.isFinite(x)) return '—';
  let s: string;
  if (Math.abs(x) >= 100 || (unit === '' && Number.isInteger(x))) s = n(Math.round(x));
  else if (Math.abs(x) >= 10) s = x.toFixed(1);
  else if (Math.abs(x) >= 1) s = x.toFixed(2);
  else if (x === 0) s = '0';
  else s = x.toPrecision(2);
  return unit ? `${s} ${unit}` : s;
}

/** How many times better Trove is: throughput Trove/MLflow, times and memory MLflow/Trove. */
export function advantage(row: Pick<Row, 'better'>, trove: number, mlflow: number): number {
  if (!Number.isFinite(trove) || !Number.isFinite(mlflow)) return NaN;
  if (row.better === 'higher') return mlflow === 0 ? (trove > 0 ? Infinity : NaN) : trove / mlflow;
  return trove === 0 ? (mlflow > 0 ? Infinity : NaN) : mlflow / trove;
}

function fmtRatio(r: number): string {
  if (Number.isNaN(r)) return '—';
  if (r === Infinity) return '∞';
  const s = r >= 100 ? n(Math.round(r)) : r >= 10 ? r.toFixed(0) : r.toFixed(1);
  return r < 1 ? `${s}× (worse)` : `**${s}×**`;
}

function spread(values: number[] | undefined, unit: string): string {
  const v = (values ?? []).filter(Number.isFinite);
  if (v.length < 2) return '';
  return ` <sub>(${fmt(Math.min(...v))}–${fmt(Math.max(...v))}${unit ? '' : ''})</sub>`;
}

function cell(b: BackendResults, server: ServerKind, row: Row): string {
  const values = b.values[server][row.key];
  let text = fmt(median(values), row.unit) + spread(values, row.unit);
  if (row.detail) {
    const d = median(b.values[server][row.detail.key]);
    if (Number.isFinite(d)) text += `; ${row.detail.label} ${fmt(d, row.detail.unit)}`;
  }
  return text;
}

export function summaryTable(results: Results): string {
  const c = results.config;
  const backends = Object.values(results.backends).filter(Boolean) as BackendResults[];
  const lines = ['| workload | ' + backends.map((b) => `${b.backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'}: Trove vs MLflow`).join(' | ') + ' |', '|---|' + backends.map(() => '---:|').join('')];
  for (const row of ROWS) {
    if (row.key.startsWith('seed') || backends.every((b) => !b.values.trove[row.key] && !b.values.mlflow[row.key])) continue;
    const ratios = backends.map((b) => fmtRatio(advantage(row, median(b.values.trove[row.key]), median(b.values.mlflow[row.key]))));
    lines.push(`| ${row.label(c)} | ${ratios.join(' | ')} |`);
  }
  return lines.join('\n');
}

function goals(results: Results): string[] {
  const s = results.backends.sqlite;
  const out: string[] = [];
  const mark = (ok: boolean | undefined): string => (ok === undefined ? '—' : ok ? 'reached' : '**missed**');
  const m = (b: BackendResults | undefined, server: ServerKind, key: string): number => (b ? median(b.values[server][key]) : NaN);
  const all = Object.values(results.backends).filter(Boolean) as BackendResults[];
  const ok = (x: number, pred: (x: number) => boolean): boolean | undefined => (Number.isFinite(x) ? pred(x) : undefined);

  const ingestRatio = m(s, 'trove', 'ingest.points') / m(s, 'mlflow', 'ingest.points');
  out.push(`| ingest ≥ 20× MLflow's points/s (SQLite) | ${fmt(ingestRatio)}× | ${mark(ok(ingestRatio, (x) => x >= 20))} |`);
  const ingest = Math.max(m(s, 'trove', 'ingest.points'), m(s, 'trove', 'contention.points'));
  out.push(`| ingest ≥ 150,000 points/s on SQLite | ${fmt(m(s, 'trove', 'ingest.points'))} (${results.config.ingestWriters} writers), ${fmt(m(s, 'trove', 'contention.points'))} (${results.config.contentionWriters} writers) | ${mark(ok(ingest, (x) => x >= 150_000))} |`);
  const locked = s ? (s.values.trove['contention.errors'] ?? []).reduce((a, b) => a + b, 0) : NaN;
  const mlLocked = s ? (s.values.mlflow['contention.errors'] ?? []).reduce((a, b) => a + b, 0) : NaN;
  out.push(`| no "database is locked" (or any failed batch) at ${results.config.contentionWriters} writers on SQLite | Trove ${fmt(locked)} failed batches over all rounds (MLflow ${fmt(mlLocked)}) | ${mark(ok(locked, (x) => x === 0))} |`);
  for (const b of all) {
    const name = b.backend === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    const sr = advantage({ better: 'lower' }, m(b, 'trove', 'search.p50'), m(b, 'mlflow', 'search.p50'));
    const f1 = advantage({ better: 'lower' }, m(b, 'trove', 'filter1.p50'), m(b, 'mlflow', 'filter1.p50'));
    const fd = advantage({ better: 'lower' }, m(b, 'trove', 'filterdeep.p50'), m(b, 'mlflow', 'filterdeep.p50'));
    out.push(`| search pages ≥ 10× faster (${name}) | page of 1,000: ${fmt(sr)}×; filtered page 1: ${fmt(f1)}×; deep page: ${fmt(fd)}× | ${mark(ok(Math.min(sr, f1, fd), (x) => x >= 10))} |`);
    const deep = m(b, 'trove', 'filterdeep.p50');
    const first = m(b, 'trove', 'filter1.p50');
    out.push(`| deep page no slower than page 1 (${name}) | ${fmt(deep, 'ms')} vs ${fmt(first, 'ms')} | ${mark(ok(deep / first, (x) => x <= 1.1))} |`);
    const gr = advantage({ better: 'lower' }, m(b, 'trove', 'get-run.p50'), m(b, 'mlflow', 'get-run.p50'));
    out.push(`| get-run ≥ 5× (${name}) | ${fmt(gr)}× | ${mark(ok(gr, (x) => x >= 5))} |`);
    const ds = m(b, 'trove', 'downsampled.p50');
    out.push(`| ${n(results.config.historyPoints)}-point downsampled history < 30 ms (${name}) | ${fmt(ds, 'ms')} | ${mark(ok(ds, (x) => x < 30))} |`);
    const idle = m(b, 'trove', 'idle.mib');
    out.push(`| idle memory < 80 MiB (${name}) | ${fmt(idle, 'MiB')} (MLflow ${fmt(m(b, 'mlflow', 'idle.mib'), 'MiB')}) | ${mark(ok(idle, (x) => x < 80))} |`);
    const up = m(b, 'trove', 'upload.growth');
    out.push(`| ${sizeLabel(results.config.artifactMb)} upload with server memory growth < 64 MiB (${name}) | ${fmt(up, 'MiB')} (MLflow ${fmt(m(b, 'mlflow', 'upload.growth'), 'MiB')}) | ${mark(ok(up, (x) => x < 64))} |`);
  }
  return out;
}

export function renderReport(results: Results): string {
  const c = results.config;
  const mc = results.machine;
  const loads = results.load.map((l) => l.avg[0] ?? NaN).filter(Number.isFinite);
  const backends = Object.values(results.backends).filter(Boolean) as BackendResults[];
  const lines: string[] = [];
  lines.push('# Benchmarks: Trove vs the MLflow server');
  lines.push('');
  lines.push('Written by `npm run bench` (`bench/run.ts`); rerun it to refresh this page. Both servers run on');
  lines.push('the same machine in the same run, each with its own fresh database and artifact folder, seeded');
  lines.push('with identical data through the REST API, and loaded with the same requests by a separate');
  lines.push('load-generator process (`bench/load.ts`, undici keep-alive pools over loopback). Each number');
  lines.push(`is the **median of ${c.rounds} round${c.rounds > 1 ? 's' : ''}** (min–max in small print); the servers alternate who goes first`);
  lines.push('in each round, and each round starts with a restart of the server.');
  lines.push('');
  lines.push('## Machine and versions');
  lines.push('');
  lines.push('| | |');
  lines.push('|---|---|');
  lines.push(`| date | ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${fmt(results.minutes)} minutes |`);
  lines.push(`| CPU | ${mc.cpu}, ${mc.cores} cores |`);
  lines.push(`| memory | ${mc.ramGiB} GiB |`);
  lines.push(`| OS, kernel | ${mc.os}, ${mc.kernel} |`);
  lines.push(`| load average (1 min) during the run | min ${fmt(Math.min(...loads))}, median ${fmt(median(loads))}, max ${fmt(Math.max(...loads))} on ${mc.cores} cores${median(loads) > mc.cores * 0.75 ? ' — **the machine was shared with other test suites: absolute numbers are pessimistic and noisy, ratios less so**' : ''} |`);
  lines.push(`| Trove | ${mc.trove}, Node.js ${mc.node}, SQLite ${mc.sqliteNode} (better-sqlite3), default settings: one process (\`--workers 1\`), log level info |`);
  lines.push(`| MLflow | mlflow ${mc.mlflow} (\`compat/requirements-mlflow3.txt\` + \`bench/requirements-bench.txt\`), Python ${mc.python}, SQLite ${mc.sqlitePython}, default settings: \`mlflow server\` = uvicorn with 4 workers + job runner |`);
  lines.push(`| PostgreSQL | ${mc.postgres} |`);
  lines.push('');
  lines.push('## Trove vs MLflow');
  lines.push('');
  lines.push('How many times better Trove is: for throughput Trove ÷ MLflow, for times and memory MLflow ÷ Trove.');
  lines.push('Above 1 Trove is better; "worse" marks where MLflow wins.');
  lines.push('');
  lines.push(summaryTable(results));
  lines.push('');
  lines.push('## Absolute numbers');
  for (const b of backends) {
    lines.push('');
    lines.push(`### ${b.backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'} + local artifacts`);
    lines.push('');
    lines.push('| workload | Trove | MLflow | Trove vs MLflow |');
    lines.push('|---|---:|---:|---:|');
    for (const row of ROWS) {
      if (!b.values.trove[row.key] && !b.values.mlflow[row.key]) continue;
      const ratio = advantage(row, median(b.values.trove[row.key]), median(b.values.mlflow[row.key]));
      lines.push(`| ${row.label(c)} | ${cell(b, 'trove', row)} | ${cell(b, 'mlflow', row)} | ${fmtRatio(ratio)} |`);
    }
    const errs: string[] = [];
    for (const server of ['trove', 'mlflow'] as const) {
      for (const [key, rs] of Object.entries(b.raw[server])) {
        const kinds: Record<string, number> = {};
        const samples: Record<string, string> = {};
        for (const r of rs) {
          for (const [k, v] of Object.entries(r.errorKinds)) kinds[k] = (kinds[k] ?? 0) + v;
          for (const [k, v] of Object.entries(r.errorSamples ?? {})) samples[k] ??= v;
        }
        const said = (k: string): string => {
          const text = samples[k];
          if (!text) return '';
          let message = text;
          try {
            message = (JSON.parse(text) as { message?: string }).message ?? text;
          } catch {
            /* not JSON */
          }
          return ` ("${message.replace(/\s*\(Background on this error.*$/, '').replace(/\|/g, '/').slice(0, 120)}")`;
        };
        if (Object.keys(kinds).length) errs.push(`${server === 'trove' ? 'Trove' : 'MLflow'} ${key}: ${Object.entries(kinds).map(([k, v]) => `${v} × ${k}${said(k)}`).join(', ')} over ${rs.length} round(s)`);
      }
      const hist = b.raw[server]['history-full'] ?? [];
      const partial = hist.filter((r) => r.extra.complete === 0);
      if (partial.length) errs.push(`${server === 'trove' ? 'Trove' : 'MLflow'} full history read stopped after ${c.historyFullSeconds} s in ${partial.length} of ${hist.length} rounds (read ${partial.map((r) => n(Number(r.extra.points))).join(', ')} points); points/s counts what was read`);
    }
    const hashes = (key: string): string => {
      const note = (server: string) => b.notes.find((x) => x.startsWith(`${server} ${key} `)) ?? '';
      const t = note('trove');
      const m = note('mlflow');
      return t && m ? (t.replace(/^trove /, '') === m.replace(/^mlflow /, '') ? `${key}: same runs in the same order` : `${key}: results differ (Trove ${t.replace(/^trove \S+ /, '')}, MLflow ${m.replace(/^mlflow \S+ /, '')})`) : '';
    };
    const checks = ['search-page', 'filter-page1', 'filter-deep'].map(hashes).filter(Boolean);
    lines.push('');
    if (checks.length) lines.push(`Same answers: ${checks.join('; ')}.`);
    const ds = ['trove', 'mlflow'].map((s) => b.notes.find((x) => x.startsWith(`${s} downsampled`))?.replace(/^\S+ downsampled returned=/, '') ?? '?');
    lines.push(`Downsampled history: Trove returned ${ds[0]} min/max buckets, MLflow ${ds[1]} sampled points.`);
    if (errs.length) {
      lines.push('');
      lines.push('Errors and cut-offs:');
      lines.push('');
      for (const e of errs) lines.push(`- ${e}`);
    }
  }
  lines.push('');
  lines.push('## Goals of the issue');
  lines.push('');
  lines.push('Targets, not assertions; measured as above.');
  lines.push('');
  lines.push('| goal | measured (Trove) | |');
  lines.push('|---|---|---|');
  lines.push(...goals(results));
  lines.push('');
  lines.push('## Workloads and parameters');
  lines.push('');
  lines.push(`Profile \`${c.profile}\`; every knob is an environment variable or flag (\`bench/README.md\`).`);
  lines.push('');
  lines.push(`- **Data, identical on both servers** (fixed timestamps, values from a seeded PRNG): ${n(c.filterRuns)} runs in ${c.filterRuns / c.searchRuns} experiment(s) of ${n(c.searchRuns)}, each with a tag, params \`model\` ('a' for ~80%), \`lr\`, \`optimizer\` and metrics \`acc\`, \`loss\`, \`f1\` (runs/create + one log-batch each, ${c.seedConcurrency} concurrent clients); one run with ${c.wideParams} params and ${c.wideMetrics} metrics; one run with a ${n(c.historyPoints)}-point \`loss\` series (log-batch of 1,000 points, 4 clients).`);
  lines.push(`- **Writes** (closed loop, ${c.duration} s per round): create-run with ${c.writeClients} clients; log-batch of ${c.logBatchMetrics} metrics with ${c.writeClients} clients, each on its own run; ingest of 1,000-point batches by ${c.ingestWriters} writers, then by ${c.contentionWriters} writers, each on its own run, counting every failed request ("database is locked", 5xx, resets).`);
  lines.push(`- **Reads** (one client, sequential, up to ${c.latencyRequests} requests or ${c.latencySeconds} s, at least 2; the p50 latency): search_runs of the first experiment, \`max_results=${c.searchPageSize}\`, default order; \`metrics.acc > 0.3 and params.model = 'a'\` ordered by \`metrics.acc DESC\`, \`max_results=${c.filterPageSize}\`, over all ${n(c.filterRuns)} runs, page 1 and the page at offset ${n(c.deepOffset)} (the page token \`{"offset": ${c.deepOffset}}\` in base64, which both servers accept); runs/get of the wide run; the downsampled history (Trove \`/ajax-api/2.0/trove/metrics/history-downsampled?max_buckets=${c.downsampleBuckets}\`, min/max per bucket; MLflow \`get-history-bulk-interval?max_results=${c.downsampleBuckets}\`, sampled points).`);
  lines.push(`- **Full history**: metrics/get-history paged with \`max_results=${c.historyPageSize}\` (the page the MLflow client uses) until done or ${c.historyFullSeconds} s.`);
  lines.push(`- **Artifacts**: one PUT of ${sizeLabel(c.artifactMb)} (a streamed body, \`Content-Length\` set) to \`/api/2.0/mlflow-artifacts/artifacts/<run artifact path>/big.bin\`, then one GET of it; memory growth = peak RSS of the server's process tree (sampled every 20 ms from /proc/<pid>/status) minus its RSS just before.`);
  lines.push('- **Memory**: VmRSS summed over the server\'s process tree (MLflow: launcher, uvicorn master and 4 workers, job runner and huey consumers; Trove: one process) — sums count shared pages more than once, which flatters neither side much since MLflow\'s workers are spawned, not forked. Idle = 2 s after the restart that starts each round; peak = sampled every 100 ms over the round.');
  lines.push('- **Cold start**: spawn of `trove server` / `mlflow server` until `GET /health` answers 200, polled every 20 ms; "first start" is on the empty database (migrations included), the others restart on the seeded one.');
  lines.push('');
  lines.push('## What the numbers mean');
  lines.push('');
  lines.push(...meaning(results));
  lines.push('');
  return lines.join('\n');
}

function meaning(results: Results): string[] {
  const c = results.config;
  const all = Object.values(results.backends).filter(Boolean) as BackendResults[];
  const pick = (key: string, server: ServerKind, unit: string): string =>
    all.map((b) => `${fmt(median(b.values[server][key]), unit)} on ${b.backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`).join(', ');
  const out: string[] = [];
  out.push('- **Ratios are the point, not absolute numbers.** The servers share 2 cores with the load generator');
  out.push('  (and, during this run, with other test suites), so absolute throughput is below published');
  out.push('  figures from bigger machines. Each server runs as it ships: MLflow as `mlflow server` (4 uvicorn');
  out.push('  workers, a job runner and its huey consumers), Trove as `trove server` (one Node.js process).');
  out.push(`- **Writes.** Trove turns a request into one transaction on one connection (SQLite) or a pool of 10`);
  out.push('  (PostgreSQL); MLflow\'s four workers each hold a SQLAlchemy pool of 5 + 10 and, on SQLite, queue for');
  out.push('  the file lock. Under 20–64 concurrent writers MLflow\'s requests wait until its pool gives up after');
  out.push('  30 s ("QueuePool limit of size 5 overflow 10 reached", answered as HTTP 400), which is what the');
  out.push('  failed batches and its multi-second p99 are; Trove queues the writers in-process and fails none.');
  out.push(`- **Searches.** Trove answers a search with one SQL statement whose metric/param clauses are`);
  out.push('  correlated `EXISTS` lookups on `latest_metrics (key_id, value)` and `params`; MLflow needs');
  out.push(`  ${pick('filter1.p50', 'mlflow', 'ms')} for the filtered, metric-ordered page. Trove\'s deep page`);
  out.push('  costs about what page 1 costs because both sort every match (offset paging): it is not slower, but');
  out.push('  both grow with the number of matching runs (see the bottleneck notes in the README).');
  out.push(`- **Metric history.** Trove keeps min/max rollups per block of steps at write time, so the downsampled`);
  out.push(`  ${n(c.historyPoints)}-point series is read from a few thousand rows; MLflow's bulk-interval endpoint`);
  out.push('  samples with SQL window functions over every row of the series. The answers differ in kind: Trove returns');
  out.push('  min/max per bucket over every point (spikes survive), MLflow about `max_results` sampled points —');
  out.push('  each is what its UI draws a long series from.');
  out.push('- **Artifacts** stream to disk on both servers; both are bound by the loopback and disk. Trove\'s');
  out.push(`  memory grows by a few tens of MiB during a ${sizeLabel(c.artifactMb)} upload (socket and file-stream buffers`);
  out.push('  awaiting garbage collection) against almost nothing for MLflow\'s worker, far under the 64 MiB goal.');
  out.push('- **Memory and start.** MLflow\'s default server is about fifteen Python processes, hence gigabytes of');
  out.push('  RSS even idle. Trove\'s idle RSS is one Node.js process that compiles its TypeScript at start');
  out.push('  (tsx) and loads every driver; see the README for what it would take to reach the 80 MiB goal.');
  out.push('- **Noise.** Rounds are few and short and the machine was shared: read the min–max spread before');
  out.push('  trusting a ratio to more than one digit. The same-answer check above confirms both servers');
  out.push('  returned the same runs in the same order for every search.');
  return out;
}
