/**
 * Renders the benchmark results (bench/output/bench-results.json) as the generated block of
 * docs/benchmarks.md: the page's hand-written sections outside the block's markers are kept.
 */
import fs from 'node:fs';
import type { BenchConfig } from './config.ts';
import { UNSUPPORTED, type ServerKind, type WorkloadResult } from './load.ts';
import { SEED_RATE_WINDOWS, seedPlan, type SeedPlan } from './seed-data.ts';
import type { Machine } from './servers.ts';

export interface BackendResults {
  backend: 'sqlite' | 'postgres';
  /**
   * Per server: the API sample the seeding rates come from (runs, points and their seconds), and
   * how the rest of the same data got there. Results written before the split lack the `rest*` fields.
   */
  seeding: Partial<Record<ServerKind, SeedingResult>>;
  /** Wall-clock seconds: `setup <server>` (first start + seeding) and `round <n> <server>`. */
  timings: Record<string, number>;
  /** Per server, per measurement key: one value per round (or one for first start and seeding). Older results lack fasttrackml. */
  values: Partial<Record<ServerKind, Record<string, number[]>>>;
  raw: Partial<Record<ServerKind, Record<string, WorkloadResult[]>>>;
  notes: string[];
}

export interface SeedingResult {
  runs: number;
  runSeconds: number;
  points: number;
  pointSeconds: number;
  peakMiB: number;
  /** Runs and points seeded after the sample: through the API ('api') or into the database ('bulk'). */
  restRuns?: number;
  restPoints?: number;
  rest?: 'api' | 'bulk';
  restSeconds?: number;
  /** How many read-back checks through the API passed after seeding. */
  verified?: number;
}

export function emptyBackendResults(backend: 'sqlite' | 'postgres'): BackendResults {
  return { backend, seeding: {}, timings: {}, values: { trove: {}, mlflow: {}, fasttrackml: {} }, raw: { trove: {}, mlflow: {}, fasttrackml: {} }, notes: [] };
}

/** The seeding split of a configuration; results written before it seeded everything through the API. */
export function planOf(c: BenchConfig): SeedPlan {
  if (c.seedSampleRuns === undefined) return { runs: { total: c.filterRuns, sample: c.filterRuns, rest: 0 }, points: { total: c.historyPoints, sample: c.historyPoints, rest: 0 } };
  return seedPlan(c);
}

export const SERVER_NAMES: Record<ServerKind, string> = { trove: 'Trove', mlflow: 'MLflow', fasttrackml: 'FastTrackML' };
/** The peers Trove is compared with, in the order of the tables. */
const PEERS: ServerKind[] = ['fasttrackml', 'mlflow'];
/** The issue's bar against FastTrackML: every supported row at least this many times better. */
export const FASTTRACKML_GOAL = 1.5;

const valuesOf = (b: BackendResults, server: ServerKind): Record<string, number[]> => b.values[server] ?? {};
const rawOf = (b: BackendResults, server: ServerKind): Record<string, WorkloadResult[]> => b.raw[server] ?? {};
/** Whether the server took part in this backend's run (it has any measurement). */
const ran = (b: BackendResults, server: ServerKind): boolean => Object.keys(valuesOf(b, server)).length > 0;

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
  /** A capability some servers lack (UNSUPPORTED in bench/load.ts): their cell reads "n/a". */
  needs?: 'traces' | 'downsampled' | 'artifacts';
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
  { key: 'downsampled.p50', label: (c) => `metric history, ${n(c.historyPoints)} points, downsampled (${n(c.downsampleBuckets)})`, unit: 'ms', better: 'lower', needs: 'downsampled' },
  { key: 'upload.mibps', label: (c) => `artifact upload, ${sizeLabel(c.artifactMb)} through the proxy`, unit: 'MiB/s', better: 'higher', detail: { key: 'upload.growth', label: 'RSS +', unit: 'MiB' }, needs: 'artifacts' },
  { key: 'download.mibps', label: (c) => `artifact download, ${sizeLabel(c.artifactMb)} through the proxy`, unit: 'MiB/s', better: 'higher', detail: { key: 'download.growth', label: 'RSS +', unit: 'MiB' }, needs: 'artifacts' },
  { key: 'upload.growth', label: (c) => `server memory growth during the ${sizeLabel(c.artifactMb)} upload`, unit: 'MiB', better: 'lower', needs: 'artifacts' },
  { key: 'trace-ingest.traces', label: (c) => `trace ingest: traces of ${c.traceSpans} spans (OTLP + StartTraceV3), ${c.traceClients} clients`, unit: 'traces/s', better: 'higher', detail: { key: 'trace-ingest.p99', label: 'p99', unit: 'ms' }, needs: 'traces' },
  { key: 'trace-search.p50', label: (c) => `search_traces, tag filter, page of 100 over ${n(c.searchTraces)} traces`, unit: 'ms', better: 'lower', needs: 'traces' },
  { key: 'idle.mib', label: () => 'idle memory after restart (RSS, whole process tree)', unit: 'MiB', better: 'lower', detail: { key: 'idle-empty.mib', label: 'empty DB', unit: 'MiB' } },
  { key: 'idle-pss.mib', label: () => '… the same as PSS (shared pages split between processes)', unit: 'MiB', better: 'lower', detail: { key: 'idle.processes', label: 'processes', unit: '' } },
  { key: 'peak.mib', label: () => 'peak memory during a round of all workloads', unit: 'MiB', better: 'lower' },
  { key: 'cold-start.ms', label: () => 'cold start: spawn → /health 200 (seeded database)', unit: 'ms', better: 'lower', detail: { key: 'first-start.ms', label: 'first start', unit: 'ms' } },
  { key: 'seed-runs.per_s', label: (c) => `seeding: runs created + logged${sampleOf(planOf(c).runs, 'runs')} (${c.seedConcurrency} clients)`, unit: 'runs/s', better: 'higher' },
  { key: 'seed-traces.per_s', label: (c) => `seeding: traces of ${c.traceSpans} spans over OTLP, 100 per request (${c.seedConcurrency} clients)`, unit: 'traces/s', better: 'higher', needs: 'traces' },
  { key: 'seed-points.per_s', label: (c) => `seeding: history points${sampleOf(planOf(c).points, 'points')}, 1,000-point batches, 4 clients`, unit: 'points/s', better: 'higher' },
];

/** ", the first 5,000 runs" when the rate is measured on a sample, "" when on everything. */
function sampleOf(part: { sample: number; rest: number }, what: string): string {
  return part.rest > 0 ? `, the first ${n(part.sample)} ${what}` : '';
}

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

/** Why the server has no number in this row, or undefined when it can be measured. */
function lacking(server: ServerKind, row: Row): string | undefined {
  return row.needs ? UNSUPPORTED[server][row.needs] : undefined;
}

function cell(b: BackendResults, server: ServerKind, row: Row): string {
  if (lacking(server, row)) return 'n/a';
  const values = valuesOf(b, server)[row.key];
  let text = fmt(median(values), row.unit) + spread(values, row.unit);
  if (row.detail) {
    const d = median(valuesOf(b, server)[row.detail.key]);
    if (Number.isFinite(d)) text += `; ${row.detail.label} ${fmt(d, row.detail.unit)}`;
  }
  return text;
}

/** Trove's advantage over `peer` in this row: a ratio, "n/a" when the peer cannot do it, "—" when not measured. */
function ratioCell(b: BackendResults, peer: ServerKind, row: Row): string {
  if (lacking(peer, row)) return 'n/a';
  return fmtRatio(advantage(row, median(valuesOf(b, 'trove')[row.key]), median(valuesOf(b, peer)[row.key])));
}

const backendName = (b: BackendResults): string => (b.backend === 'sqlite' ? 'SQLite' : 'PostgreSQL');

/** The peers with results in any backend, FastTrackML first. */
function peersOf(backends: BackendResults[]): ServerKind[] {
  return PEERS.filter((p) => backends.some((b) => ran(b, p)));
}

export function summaryTable(results: Results): string {
  const c = results.config;
  const backends = Object.values(results.backends).filter(Boolean) as BackendResults[];
  const peers = peersOf(backends);
  const columns = backends.flatMap((b) => peers.map((p) => ({ b, p })));
  const lines = [
    '| workload | ' + columns.map(({ b, p }) => `${backendName(b)}: Trove vs ${SERVER_NAMES[p]}`).join(' | ') + ' |',
    '|---|' + columns.map(() => '---:|').join(''),
  ];
  for (const row of ROWS) {
    if (row.key.startsWith('seed') || backends.every((b) => ALL_KINDS.every((k) => !valuesOf(b, k)[row.key]))) continue;
    lines.push(`| ${row.label(c)} | ${columns.map(({ b, p }) => ratioCell(b, p, row)).join(' | ')} |`);
  }
  return lines.join('\n');
}

const ALL_KINDS: ServerKind[] = ['trove', 'fasttrackml', 'mlflow'];

function goals(results: Results): string[] {
  const s = results.backends.sqlite;
  const out: string[] = [];
  const mark = (ok: boolean | undefined): string => (ok === undefined ? '—' : ok ? 'reached' : '**missed**');
  const m = (b: BackendResults | undefined, server: ServerKind, key: string): number => (b ? median(valuesOf(b, server)[key]) : NaN);
  const all = Object.values(results.backends).filter(Boolean) as BackendResults[];
  const ok = (x: number, pred: (x: number) => boolean): boolean | undefined => (Number.isFinite(x) ? pred(x) : undefined);
  const sum = (b: BackendResults | undefined, server: ServerKind, key: string): number => (b ? (valuesOf(b, server)[key] ?? []).reduce((a, v) => a + v, 0) : NaN);
  const c = results.config;

  const locked = sum(s, 'trove', 'contention.errors');
  const others = s ? PEERS.filter((p) => ran(s, p)).map((p) => `${SERVER_NAMES[p]} ${fmt(sum(s, p, 'contention.errors'))}`).join(', ') : '';
  if (s) out.push(`| no "database is locked" (or any failed batch) at ${c.contentionWriters} writers on SQLite (6) | Trove ${fmt(locked)} failed batches over all rounds${others ? ` (${others})` : ''} | ${mark(ok(locked, (x) => x === 0))} |`);
  for (const b of all) {
    const name = backendName(b);
    const sqlite = b === s;
    // Issue 14 §2: ingest with 4 writers ≥ 250,000 points/s on SQLite, ≥ 150,000 on PostgreSQL, ≥ 20× MLflow on both.
    const ingestGoal = sqlite ? 250_000 : 150_000;
    const ingest = m(b, 'trove', 'ingest.points');
    out.push(`| ingest ≥ ${n(ingestGoal)} points/s with ${c.ingestWriters} writers (${name}) (14) | ${fmt(ingest)} (${fmt(m(b, 'trove', 'contention.points'))} at ${c.contentionWriters} writers) | ${mark(ok(ingest, (x) => x >= ingestGoal))} |`);
    if (ran(b, 'mlflow')) {
      const ratio = ingest / m(b, 'mlflow', 'ingest.points');
      out.push(`| ingest ≥ 20× MLflow's points/s (${name}) (14) | ${fmt(ratio)}× | ${mark(ok(ratio, (x) => x >= 20))} |`);
    }
    // Issue 14 §2: the filtered, metric-ordered page of 100 < 20 ms p50 and ≥ 10× MLflow (the issue names 100,000 runs).
    const first = m(b, 'trove', 'filter1.p50');
    out.push(`| metric filter + order, page of ${c.filterPageSize} over ${n(c.filterRuns)} runs < 20 ms p50${c.filterRuns < 100_000 ? ' (the issue names 100,000 runs)' : ''} (${name}) (14) | ${fmt(first, 'ms')} | ${mark(ok(first, (x) => x < 20))} |`);
    if (ran(b, 'mlflow')) {
      const sr = advantage({ better: 'lower' }, m(b, 'trove', 'search.p50'), m(b, 'mlflow', 'search.p50'));
      const f1 = advantage({ better: 'lower' }, first, m(b, 'mlflow', 'filter1.p50'));
      const fd = advantage({ better: 'lower' }, m(b, 'trove', 'filterdeep.p50'), m(b, 'mlflow', 'filterdeep.p50'));
      out.push(`| search pages ≥ 10× faster than MLflow (${name}) (6, 14) | page of 1,000: ${fmt(sr)}×; filtered page 1: ${fmt(f1)}×; deep page: ${fmt(fd)}× | ${mark(ok(Math.min(sr, f1, fd), (x) => x >= 10))} |`);
    }
    const deep = m(b, 'trove', 'filterdeep.p50');
    out.push(`| deep page (after ${n(c.deepOffset)} rows) no slower than page 1 (${name}) (14) | ${fmt(deep, 'ms')} vs ${fmt(first, 'ms')} | ${mark(ok(deep / first, (x) => x <= 1.1))} |`);
    if (ran(b, 'mlflow')) {
      const gr = advantage({ better: 'lower' }, m(b, 'trove', 'get-run.p50'), m(b, 'mlflow', 'get-run.p50'));
      out.push(`| get-run ≥ 5× MLflow (${name}) (6) | ${fmt(gr)}× | ${mark(ok(gr, (x) => x >= 5))} |`);
    }
    const ds = m(b, 'trove', 'downsampled.p50');
    out.push(`| ${n(c.historyPoints)}-point downsampled history < 20 ms (${name}) (14) | ${fmt(ds, 'ms')} | ${mark(ok(ds, (x) => x < 20))} |`);
    // Issue 14 §1 names SQLite for the idle figure; PostgreSQL is shown against the same bar.
    const idle = m(b, 'trove', 'idle.mib');
    const idlePeers = PEERS.filter((p) => ran(b, p)).map((p) => `${SERVER_NAMES[p]} ${fmt(m(b, p, 'idle.mib'), 'MiB')}`).join(', ');
    out.push(`| idle memory ≤ 64 MiB (${name}) (14) | ${fmt(idle, 'MiB')}${idlePeers ? ` (${idlePeers})` : ''} | ${mark(ok(idle, (x) => x <= 64))} |`);
    const peak = m(b, 'trove', 'peak.mib');
    out.push(`| peak memory during a round ≤ 200 MiB (${name}) (14) | ${fmt(peak, 'MiB')} | ${mark(ok(peak, (x) => x <= 200))} |`);
    const cold = m(b, 'trove', 'cold-start.ms');
    out.push(`| cold start to /health ≤ 300 ms on the seeded database (${name}) (14) | ${fmt(cold, 'ms')} | ${mark(ok(cold, (x) => x <= 300))} |`);
    const up = m(b, 'trove', 'upload.growth');
    out.push(`| ${sizeLabel(c.artifactMb)} upload with server memory growth ≤ 8 MiB (${name}) (14) | ${fmt(up, 'MiB')}${ran(b, 'mlflow') ? ` (MLflow ${fmt(m(b, 'mlflow', 'upload.growth'), 'MiB')})` : ''} | ${mark(ok(up, (x) => x <= 8))} |`);
    if (ran(b, 'fasttrackml')) {
      // Issue 16: every row FastTrackML can do at least 1.5× better, memory within 1.5× of its own.
      const rows = ROWS.filter((r) => !lacking('fasttrackml', r) && !['idle.mib', 'idle-pss.mib', 'peak.mib'].includes(r.key));
      const measured = rows
        .map((r) => ({ r, x: advantage(r, m(b, 'trove', r.key), m(b, 'fasttrackml', r.key)) }))
        .filter(({ x }) => Number.isFinite(x) || x === Infinity);
      const below = measured.filter(({ x }) => x < FASTTRACKML_GOAL);
      const detail = below.length === 0 ? `all ${measured.length} rows` : `${measured.length - below.length} of ${measured.length} rows; below: ${below.map(({ r, x }) => `${r.label(c)} ${fmt(x)}×`).join('; ')}`;
      out.push(`| every row FastTrackML supports ≥ ${FASTTRACKML_GOAL}× FastTrackML (${name}) (16) | ${detail} | ${mark(measured.length ? below.length === 0 : undefined)} |`);
      for (const key of ['idle.mib', 'peak.mib']) {
        const t = m(b, 'trove', key);
        const f = m(b, 'fasttrackml', key);
        const label = key === 'idle.mib' ? 'idle' : 'peak (loaded)';
        out.push(`| ${label} memory within ${FASTTRACKML_GOAL}× FastTrackML's (${name}) (16) | ${fmt(t, 'MiB')} vs ${fmt(f, 'MiB')} (${fmt(t / f)}×) | ${mark(ok(t / f, (x) => x <= FASTTRACKML_GOAL))} |`);
      }
    }
  }
  return out;
}

/** Where `npm run bench` writes into docs/benchmarks.md: between these, per profile. */
export function reportMarkers(profile: BenchConfig['profile']): { start: string; end: string } {
  const name = profile === 'quick' ? 'bench:server-quick' : 'bench:server';
  return { start: `<!-- ${name} start: written by npm run bench, edits inside are lost -->`, end: `<!-- ${name} end -->` };
}

/**
 * `doc` with the generated block of `profile` replaced by `block`; everything outside the markers
 * (hand-written sections, the web UI block) is kept. A page without the block gets it appended
 * before the web UI block (or at the end); a missing page starts with a title.
 */
export function withReportBlock(doc: string | undefined, profile: BenchConfig['profile'], block: string): string {
  const { start, end } = reportMarkers(profile);
  const wrapped = `${start}\n${block.trim()}\n${end}`;
  if (doc === undefined) return `# Benchmarks\n\n${wrapped}\n`;
  const startAt = doc.indexOf(start.slice(0, start.indexOf(' start') + 6));
  const endAt = doc.indexOf(end);
  if (startAt >= 0 && endAt > startAt) return doc.slice(0, startAt) + wrapped + doc.slice(endAt + end.length);
  const ui = doc.indexOf('<!-- bench:ui start -->');
  if (ui >= 0) return `${doc.slice(0, ui)}${wrapped}\n\n${doc.slice(ui)}`;
  return `${doc.replace(/\s*$/, '')}\n\n${wrapped}\n`;
}

/** Writes the report block into `file`, keeping the rest of the page. */
export function writeReport(file: string, profile: BenchConfig['profile'], block: string): void {
  const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  fs.writeFileSync(file, withReportBlock(previous, profile, block));
}

/** The load average (1 min) the run recorded: before it started, after it ended, and over it. */
export interface LoadSummary {
  before: number;
  after: number;
  min: number;
  median: number;
  max: number;
  cores: number;
  /** Whether other work shared the cores: more load before the run, or during it, than the benchmark alone makes. */
  shared: boolean;
}

export function loadSummary(results: Pick<Results, 'load' | 'machine'>): LoadSummary {
  const first = (phase: string): number => results.load.find((l) => l.phase === phase)?.avg[0] ?? NaN;
  const all = results.load.map((l) => l.avg[0] ?? NaN).filter(Number.isFinite);
  const cores = results.machine.cores;
  const before = first('start');
  const med = median(all);
  // The benchmark alone keeps about two processes busy (the server under test and the load
  // generator; MLflow's workers can add to it): above that, something else was running.
  const shared = before > cores * 0.75 || med > Math.max(2, cores) * 1.5;
  return { before, after: first('end'), min: all.length ? Math.min(...all) : NaN, median: med, max: all.length ? Math.max(...all) : NaN, cores, shared };
}

/** The machine table's load row: what was measured, and what it says about the run. */
export function loadText(l: LoadSummary): string {
  const measured = `before the run ${fmt(l.before)}, after it ${fmt(l.after)}; during it median ${fmt(l.median)} (min ${fmt(l.min)}, max ${fmt(l.max)}, sampled every 30 s) on ${l.cores} cores`;
  if (!Number.isFinite(l.median)) return measured;
  return l.shared
    ? `${measured} — **other work shared the cores** (more load than the benchmark's own server and load generator make): absolute numbers are pessimistic and noisy, ratios less so`
    : `${measured} — nothing else of note ran: the load is the benchmark's own (the server under test and the load generator)`;
}

/** How the data got into each server: the API sample the seeding rates come from, and the rest. */
export function seedingText(results: Results): string[] {
  const c = results.config;
  const plan = planOf(c);
  const out: string[] = [];
  // Results written before the windows have one rate per server and row.
  const windowed = Object.values(results.backends).some((b) => b && Object.values(b.values).some((v) => (v?.['seed-runs.per_s']?.length ?? 0) > 1));
  const windows = windowed ? `, each the median rate over ${SEED_RATE_WINDOWS} consecutive windows of the sample, min–max in small print` : '';
  if (plan.runs.rest === 0 && plan.points.rest === 0) {
    out.push(`- **Seeding**: everything through each server's REST API (the seeding rows are measured over all ${n(plan.runs.total)} runs and ${n(plan.points.total)} points${windows}).`);
    return out;
  }
  const how = (server: ServerKind): string[] => {
    const seen = new Set<string>();
    for (const b of Object.values(results.backends)) {
      const s = b?.seeding[server];
      if (s?.rest) seen.add(s.rest);
    }
    return [...seen];
  };
  const measured = `the first ${n(plan.runs.sample)} runs${plan.points.rest > 0 ? ` and the first ${n(plan.points.sample)} points of the long series` : ''} went through every server's REST API, one server at a time, and the seeding rows are measured on them${windows ? ` (${windows.slice(2)})` : ''}`;
  const bulk = ALL_KINDS.filter((k) => how(k).includes('bulk')).map((k) => SERVER_NAMES[k]);
  const api = ALL_KINDS.filter((k) => how(k).includes('api')).map((k) => SERVER_NAMES[k]);
  const rest = `the other ${n(plan.runs.rest)} runs${plan.points.rest > 0 ? ` and ${n(plan.points.rest)} points` : ''}, the same data,`;
  const parts: string[] = [];
  if (api.length) parts.push(`${rest} followed through the API to ${api.join(' and ')}`);
  if (bulk.length) {
    parts.push(
      `${api.length ? 'and were' : `${rest} were`} bulk-loaded straight into ${bulk.join(' and ')}'s own database (the one \`mlflow server\` created and migrated): each row a copy of the row MLflow wrote for an API-seeded run, with the id, name, start time, artifact URI and values of the same generator (\`bench/mlflow-bulk.ts\`); the bulk-loaded runs were then read back through MLflow's REST API and compared with the generator (runs from the sample and from the rest, every experiment's run count, the long series' last point and windows across the sample's end)${results.backends.postgres ? ', and on PostgreSQL its loaded tables analyzed (as autovacuum would have done during a long API seeding)' : ''}`,
    );
  }
  const timing = Object.values(results.backends)
    .flatMap((b) => (b ? ALL_KINDS.filter((k) => b.seeding[k]?.rest && b.seeding[k]?.restSeconds !== undefined).map((k) => `${SERVER_NAMES[k]} ${b.seeding[k]?.rest === 'bulk' ? 'bulk' : 'API'} ${fmt(b.seeding[k]?.restSeconds ?? NaN)} s (${backendName(b)})`) : []))
    .join(', ');
  out.push(`- **Seeding**: ${measured}; ${parts.join(' ')}.${timing ? ` The rest took ${timing}.` : ''} Every search row reads across sample and rest alike, and the same-answer check above compares the servers' results.`);
  return out;
}

export function renderReport(results: Results): string {
  const c = results.config;
  const mc = results.machine;
  const load = loadSummary(results);
  const backends = Object.values(results.backends).filter(Boolean) as BackendResults[];
  const peers = peersOf(backends);
  const quick = c.profile === 'quick';
  const lines: string[] = [];
  const date = results.startedAt.slice(0, 16).replace('T', ' ');
  lines.push(
    quick
      ? `## Reduced run (\`--quick\`), ${date} UTC: Trove vs ${peers.map((p) => SERVER_NAMES[p]).join(' and ')}`
      : `## Server benchmark: Trove vs ${peers.map((p) => SERVER_NAMES[p]).join(' and ')}`,
  );
  lines.push('');
  if (quick) {
    lines.push(`**Reduced run**: the \`quick\` profile's small sizes (${n(c.searchRuns)} runs, ${n(c.historyPoints)}-point history, ${sizeLabel(c.artifactMb)} artifact, ${c.duration} s per throughput workload), ${c.rounds} round${c.rounds > 1 ? 's' : ''}, load average ${fmt(load.min)}–${fmt(load.max)} (median ${fmt(load.median)}) on ${mc.cores} cores. A smoke-sized comparison, not the standard run.`);
    lines.push('');
  }
  lines.push('Written by `npm run bench` (`bench/run.ts`). The servers run on');
  lines.push('the same machine in the same run, each with its own fresh database and artifact folder, seeded');
  lines.push(`with identical data (through the REST API${planOf(c).runs.rest > 0 ? '; past the sample the seeding rates are measured on, MLflow\'s share bulk-loaded: see Seeding below' : ''}), and loaded with the same requests by a separate`);
  lines.push('load-generator process (`bench/load.ts`, undici keep-alive pools over loopback). Each number');
  lines.push(`is the **median of ${c.rounds} round${c.rounds > 1 ? 's' : ''}** (min–max in small print); who goes first rotates`);
  lines.push('from round to round, and each round starts with a restart of the server. "n/a": the server has no such endpoint.');
  lines.push('');
  lines.push('### Machine and versions');
  lines.push('');
  lines.push('| | |');
  lines.push('|---|---|');
  lines.push(`| date | ${date} UTC, ${fmt(results.minutes)} minutes |`);
  lines.push(`| CPU | ${mc.cpu}, ${mc.cores} cores |`);
  lines.push(`| memory | ${mc.ramGiB} GiB |`);
  lines.push(`| OS, kernel | ${mc.os}, ${mc.kernel} |`);
  lines.push(`| load average (1 min) | ${loadText(load)} |`);
  const times = backends.map((b) => {
    const t = Object.entries(b.timings ?? {});
    const sum = (prefix: string): number => t.filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0) / 60;
    return t.length ? `${backendName(b)}: starts + seeding ${fmt(sum('setup '))} min, rounds ${fmt(sum('round '))} min` : '';
  }).filter(Boolean);
  if (times.length) lines.push(`| where the time went | ${times.join('; ')} |`);
  // Older result files have no such fields.
  const troveExtras = [...(results.config.troveNodeFlags ?? []).map((f) => `node ${f}`), ...(results.config.troveServerArgs ?? [])];
  const troveSettings = troveExtras.length
    ? `**not the defaults**: ${troveExtras.map((x) => `\`${x}\``).join(', ')}; log level info`
    : 'default settings: one process (`--workers 1`), log level info';
  lines.push(`| Trove | ${mc.trove}, Node.js ${mc.node}, SQLite ${mc.sqliteNode} (better-sqlite3), ${troveSettings} |`);
  if (peers.includes('fasttrackml')) {
    lines.push(`| FastTrackML | ${mc.fasttrackml ?? 'unknown'} (the \`fml\` binary of the PyPI wheel pinned in \`bench/requirements-fasttrackml.txt\`), default settings: one Go process, log level info, \`--database-pool-max 20\` |`);
  }
  if (peers.includes('mlflow')) {
    lines.push(`| MLflow | mlflow ${mc.mlflow} (\`compat/requirements-mlflow3.txt\` + \`bench/requirements-bench.txt\`), Python ${mc.python}, SQLite ${mc.sqlitePython}, default settings: \`mlflow server\` = uvicorn with 4 workers + job runner |`);
  }
  lines.push(`| PostgreSQL | ${mc.postgres} |`);
  lines.push('');
  lines.push('### Ratios');
  lines.push('');
  lines.push('How many times better Trove is: for throughput Trove ÷ other, for times and memory other ÷ Trove.');
  lines.push('Above 1 Trove is better; "worse" marks where the other server wins.');
  lines.push('');
  lines.push(summaryTable(results));
  lines.push('');
  lines.push('### Absolute numbers');
  for (const b of backends) {
    const present = ALL_KINDS.filter((k) => ran(b, k));
    const bPeers = present.filter((k) => k !== 'trove');
    lines.push('');
    lines.push(`#### ${backendName(b)} + local artifacts`);
    lines.push('');
    lines.push(`| workload | ${present.map((k) => SERVER_NAMES[k]).join(' | ')} | ${bPeers.map((p) => `Trove vs ${SERVER_NAMES[p]}`).join(' | ')} |`);
    lines.push(`|---|${present.map(() => '---:|').join('')}${bPeers.map(() => '---:|').join('')}`);
    for (const row of ROWS) {
      if (present.every((k) => !valuesOf(b, k)[row.key])) continue;
      lines.push(`| ${row.label(c)} | ${present.map((k) => cell(b, k, row)).join(' | ')} | ${bPeers.map((p) => ratioCell(b, p, row)).join(' | ')} |`);
    }
    const errs: string[] = [];
    for (const server of present) {
      for (const [key, rs] of Object.entries(rawOf(b, server))) {
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
        if (Object.keys(kinds).length) errs.push(`${SERVER_NAMES[server]} ${key}: ${Object.entries(kinds).map(([k, v]) => `${v} × ${k}${said(k)}`).join(', ')} over ${rs.length} round(s)`);
      }
      const hist = rawOf(b, server)['history-full'] ?? [];
      const partial = hist.filter((r) => r.extra.complete === 0 && !r.errors);
      if (partial.length) errs.push(`${SERVER_NAMES[server]} full history read stopped after ${c.historyFullSeconds} s in ${partial.length} of ${hist.length} rounds (read ${partial.map((r) => n(Number(r.extra.points))).join(', ')} points); points/s counts what was read`);
      const pages = hist.map((r) => r.requests);
      if (server === 'fasttrackml' && pages.length && pages.every((p) => p === 1) && c.historyPoints > c.historyPageSize) {
        errs.push(`FastTrackML ignores \`max_results\` of metrics/get-history: it answered the whole ${n(c.historyPoints)}-point series in one page`);
      }
    }
    for (const server of present) {
      const seedCheck = b.notes.find((x) => x.startsWith(`${server} seed-check `));
      if (seedCheck) errs.push(`${SERVER_NAMES[server]} read its seeded data back differently from the generator: ${seedCheck.replace(/^\S+ seed-check /, '')}`);
    }
    const hashes = (key: string): string => {
      const found = present.map((k) => ({ k, note: b.notes.find((x) => x.startsWith(`${k} ${key} `))?.replace(/^\S+ \S+ /, '') })).filter((x) => x.note);
      if (found.length < 2) return '';
      return found.every((x) => x.note === found[0]!.note)
        ? `${key}: same runs in the same order`
        : `${key}: results differ (${found.map((x) => `${SERVER_NAMES[x.k]} ${x.note}`).join(', ')})`;
    };
    const checks = ['search-page', 'filter-page1', 'filter-deep'].map(hashes).filter(Boolean);
    lines.push('');
    if (checks.length) lines.push(`Same answers: ${checks.join('; ')}.`);
    const ds = present
      .filter((k) => !UNSUPPORTED[k].downsampled)
      .map((k) => `${SERVER_NAMES[k]} ${b.notes.find((x) => x.startsWith(`${k} downsampled`))?.replace(/^\S+ downsampled returned=/, '') ?? '?'} ${k === 'trove' ? 'min/max buckets' : 'sampled points'}`);
    if (ds.length) lines.push(`Downsampled history returned: ${ds.join(', ')}.`);
    const na = bPeers.flatMap((p) => Object.values(UNSUPPORTED[p]).map((why) => `${SERVER_NAMES[p]}: ${why}`));
    if (na.length) lines.push(`Not measured ("n/a"): ${na.join('; ')}.`);
    if (errs.length) {
      lines.push('');
      lines.push('Errors and cut-offs:');
      lines.push('');
      for (const e of errs) lines.push(`- ${e}`);
    }
  }
  lines.push('');
  lines.push('### Goals');
  lines.push('');
  lines.push('Targets of the performance issues (6 and 14 against MLflow and in absolute terms, 16 against FastTrackML; the issue is in brackets), not assertions; measured as above.');
  lines.push('');
  lines.push('| goal | measured (Trove) | |');
  lines.push('|---|---|---|');
  lines.push(...goals(results));
  lines.push('');
  lines.push('### Workloads and parameters');
  lines.push('');
  lines.push(`Profile \`${c.profile}\`; every knob is an environment variable or flag (\`bench/README.md\`).`);
  lines.push('');
  lines.push(`- **Data, identical on every server** (fixed timestamps, values from a seeded PRNG): ${n(c.filterRuns)} runs in ${c.filterRuns / c.searchRuns} experiment(s) of ${n(c.searchRuns)}, each with a tag, params \`model\` ('a' for ~80%), \`lr\`, \`optimizer\` and metrics \`acc\`, \`loss\`, \`f1\` (runs/create + one log-batch each, ${c.seedConcurrency} concurrent clients); one run with ${c.wideParams} params and ${c.wideMetrics} metrics; one run with a ${n(c.historyPoints)}-point \`loss\` series (log-batch of 1,000 points, 4 clients).`);
  lines.push(...seedingText(results));
  lines.push(`- **Writes** (closed loop, ${c.duration} s per round): create-run with ${c.writeClients} clients; log-batch of ${c.logBatchMetrics} metrics with ${c.writeClients} clients, each on its own run; ingest of 1,000-point batches by ${c.ingestWriters} writers, then by ${c.contentionWriters} writers, each on its own run, counting every failed request ("database is locked", 5xx, resets).`);
  lines.push(`- **Reads** (one client, sequential, up to ${c.latencyRequests} requests or ${c.latencySeconds} s, at least 2; the p50 latency): search_runs of the first experiment, \`max_results=${c.searchPageSize}\`, default order; \`metrics.acc > 0.3 and params.model = 'a'\` ordered by \`metrics.acc DESC\`, \`max_results=${c.filterPageSize}\`, over all ${n(c.filterRuns)} runs, page 1 and the page after ${n(c.deepOffset)} rows (reached with the page token each server returns for a page of ${n(c.deepOffset)} rows: a keyset token from Trove, an offset from MLflow and FastTrackML); runs/get of the wide run; the downsampled history (Trove \`/ajax-api/2.0/trove/metrics/history-downsampled?max_buckets=${c.downsampleBuckets}\`, min/max per bucket; MLflow \`get-history-bulk-interval?max_results=${c.downsampleBuckets}\`, sampled points).`);
  lines.push(`- **Full history**: metrics/get-history paged with \`max_results=${c.historyPageSize}\` (the page the MLflow client uses) until done or ${c.historyFullSeconds} s.`);
  lines.push(`- **Artifacts**: one PUT of ${sizeLabel(c.artifactMb)} (a streamed body, \`Content-Length\` set) to \`/api/2.0/mlflow-artifacts/artifacts/<run artifact path>/big.bin\`, then one GET of it; memory growth = peak RSS of the server's process tree (sampled every 20 ms from /proc/<pid>/status) minus its RSS just before.`);
  lines.push('- **Memory**: VmRSS summed over the server\'s process tree (MLflow: launcher, uvicorn master and 4 workers, job runner and huey consumers; Trove and FastTrackML: one process) — sums count shared pages more than once, which flatters neither side much since MLflow\'s workers are spawned, not forked. Idle = 2 s after the restart that starts each round; peak = sampled every 100 ms over the round.');
  lines.push('- **Cold start**: spawn of the server until `GET /health` answers 200, polled every 2 ms (every server alike); "first start" is on the empty database (migrations included), the others restart on the seeded one.');
  if (!quick) {
    lines.push('');
    lines.push('### What the numbers mean');
    lines.push('');
    lines.push(...meaning(results));
  }
  lines.push('');
  return lines.join('\n');
}

function meaning(results: Results): string[] {
  const c = results.config;
  const load = loadSummary(results);
  const all = Object.values(results.backends).filter(Boolean) as BackendResults[];
  const pick = (key: string, server: ServerKind, unit: string): string =>
    all.map((b) => `${fmt(median(valuesOf(b, server)[key]), unit)} on ${backendName(b)}`).join(', ');
  const out: string[] = [];
  out.push(`- **Ratios are the point, not absolute numbers.** The servers share ${load.cores} cores with the load generator`);
  out.push(`  (${load.shared ? `and, during this run, with other work: load average ${fmt(load.before)} before it, median ${fmt(load.median)} during it` : `load average ${fmt(load.before)} before the run, median ${fmt(load.median)} during it`}), so absolute throughput is below published`);
  out.push('  figures from bigger machines. Each server runs as it ships: MLflow as `mlflow server` (4 uvicorn');
  out.push('  workers, a job runner and its huey consumers), FastTrackML as `fml server` (one Go process),');
  out.push('  Trove as `trove server` (one Node.js process).');
  out.push('- **FastTrackML** is the fast peer: a compiled Go server with the same REST API for runs, metrics and');
  out.push('  searches, which idles in a few tens of MiB. See the section on it below the generated block for');
  out.push('  where Trove leads it, where it does not, and why.');
  out.push(`- **Writes.** Trove turns a request into one transaction on one connection (SQLite) or a pool of 10`);
  out.push('  (PostgreSQL); MLflow\'s four workers each hold a SQLAlchemy pool of 5 + 10 and, on SQLite, queue for');
  out.push('  the file lock. Under 20–64 concurrent writers MLflow\'s requests wait until its pool gives up after');
  out.push('  30 s ("QueuePool limit of size 5 overflow 10 reached", answered as HTTP 400), which is what the');
  out.push('  failed batches and its multi-second p99 are; Trove queues the writers in-process and fails none.');
  out.push(`- **Searches.** Trove answers a search with one SQL statement whose metric/param clauses are`);
  out.push('  correlated `EXISTS` lookups on `latest_metrics (key_id, value)` and `params`, and the planner walks');
  out.push('  the latest-metric index in the requested order and stops after the page (docs/query-plans.md); MLflow needs');
  out.push(`  ${pick('filter1.p50', 'mlflow', 'ms')} for the filtered, metric-ordered page. Trove\'s page tokens carry the`);
  out.push('  last row\'s sort key (keyset), so the deep page starts where the previous page ended instead of counting an offset.');
  out.push(`- **Metric history.** Trove keeps min/max rollups per block of steps at write time, so the downsampled`);
  out.push(`  ${n(c.historyPoints)}-point series is read from a few thousand rows; MLflow's bulk-interval endpoint`);
  out.push('  samples with SQL window functions over every row of the series. The answers differ in kind: Trove returns');
  out.push('  min/max per bucket over every point (spikes survive), MLflow about `max_results` sampled points —');
  out.push('  each is what its UI draws a long series from.');
  out.push('- **Artifacts** stream to disk on both servers; both are bound by the loopback and disk. Trove\'s');
  out.push(`  memory growth during the ${sizeLabel(c.artifactMb)} upload is in the table: its young generation is kept at`);
  out.push('  1 MiB semi-spaces until the server is in use and at most 2 MiB after (bin/trove.js), so the socket\'s read');
  out.push('  buffers are collected as the upload goes instead of piling up until a late scavenge (docs/memory.md).');
  out.push('- **Memory and start.** MLflow\'s default server is about fifteen Python processes, hence gigabytes of');
  out.push('  RSS even idle. Trove runs compiled (one esbuild bundle, drivers loaded on first use); a bare');
  out.push('  Node.js 20 process is already ~40 MiB here. docs/memory.md says where the rest goes.');
  out.push(`- **Noise.** Rounds are few and short${load.shared ? ' and the machine was shared' : ''}: read the min–max spread before`);
  out.push('  trusting a ratio to more than one digit. The same-answer check above confirms both servers');
  out.push('  returned the same runs in the same order for every search.');
  return out;
}
