/**
 * Knobs of `npm run bench`. Each is an environment variable, or the same name as a flag:
 * `BENCH_ROUNDS=5` or `npm run bench -- --rounds 5` (flag = the name without BENCH_, lower case,
 * dashes for underscores). `--quick` (or BENCH_PROFILE=quick) picks the smoke-test sizes.
 */
export interface BenchConfig {
  profile: 'standard' | 'quick';
  rounds: number;
  backends: ('sqlite' | 'postgres')[];
  servers: ('trove' | 'mlflow' | 'fasttrackml')[];
  /** Seconds each throughput workload runs per round. */
  duration: number;
  /** Sequential latency workloads: stop after this many requests or seconds (at least 2 requests). */
  latencyRequests: number;
  latencySeconds: number;
  writeClients: number;
  logBatchMetrics: number;
  ingestWriters: number;
  contentionWriters: number;
  searchRuns: number;
  filterRuns: number;
  filterPageSize: number;
  searchPageSize: number;
  deepOffset: number;
  wideParams: number;
  wideMetrics: number;
  historyPoints: number;
  historyPageSize: number;
  historyFullSeconds: number;
  downsampleBuckets: number;
  artifactMb: number;
  seedConcurrency: number;
  /**
   * Seeding sample: the first this-many runs (points of the long history) go through every
   * server's REST API and give the seeding rates; the rest of the same data is bulk-loaded into
   * MLflow's database and still sent through the API to Trove and FastTrackML (bench/seed-data.ts).
   */
  seedSampleRuns: number;
  seedSamplePoints: number;
  pgPort: number;
  /** An already running PostgreSQL to use instead of starting the benchmark's own cluster ('' = start one). */
  pgUri: string;
  /** Prefix of the databases the benchmark creates (and drops) on PostgreSQL: <prefix><server>. */
  pgDbPrefix: string;
  output: string;
  json: string;
  keep: boolean;
  troveCpuProf: boolean;
  /** BENCH_TROVE_NODE_FLAGS: more `node` flags for Trove's process (A/B of V8 settings). */
  troveNodeFlags: string[];
  /** BENCH_TROVE_SERVER_ARGS: more `trove server` arguments (e.g. `--workers 2`). */
  troveServerArgs: string[];
  /** A git revision to benchmark instead of the working tree ('' = the working tree). */
  troveRef: string;
  /** Tracing: concurrent clients logging traces, spans per trace, traces seeded for search. */
  traceClients: number;
  traceSpans: number;
  searchTraces: number;
  /** Only the trace workloads (no run seeding or run workloads): a reduced run. */
  onlyTraces: boolean;
  /** Existing venvs to run `mlflow server` / `fml server` from ('' = build .venvs/bench, .venvs/fasttrackml). */
  mlflowVenv: string;
  fasttrackmlVenv: string;
  /** `--search-scale`: only the filtered search and its deep page at 100,000 runs (bench/search-scale-http.ts). */
  searchScale: boolean;
  /** In that mode: MLflow's timed requests per page, and each one's deadline in seconds. */
  mlflowSearchSamples: number;
  mlflowSearchTimeout: number;
  /** In that mode: also MLflow's deep page (its token needs a page of BENCH_DEEP_OFFSET rows first). */
  mlflowSearchDeep: boolean;
}

export const KNOBS: { name: string; help: string }[] = [
  { name: 'BENCH_PROFILE', help: '`standard` (default) or `quick`: small sizes for a smoke run (~5 min); knobs below override either' },
  { name: 'BENCH_ROUNDS', help: 'measured rounds per server and backend; the table shows medians (standard 3, quick 1)' },
  { name: 'BENCH_BACKENDS', help: 'comma list of `sqlite`, `postgres` (default both; PostgreSQL comes from scripts/start-postgres.sh)' },
  { name: 'BENCH_SERVERS', help: 'comma list of `trove`, `mlflow`, `fasttrackml` (default all three; `trove` alone is for profiling, the report then has no ratios)' },
  { name: 'BENCH_DURATION', help: 'seconds per throughput workload per round (standard 5, quick 2)' },
  { name: 'BENCH_LATENCY_REQUESTS', help: 'sequential latency workloads stop after this many requests … (standard 100, quick 10)' },
  { name: 'BENCH_LATENCY_SECONDS', help: '… or this many seconds, with at least 2 requests (standard 5, quick 2)' },
  { name: 'BENCH_WRITE_CLIENTS', help: 'concurrent clients of create-run and log-batch (20)' },
  { name: 'BENCH_LOG_BATCH_METRICS', help: 'metrics per log-batch request in the log-batch workload (10)' },
  { name: 'BENCH_INGEST_WRITERS', help: 'concurrent writers of the sustained 1,000-point ingest (4)' },
  { name: 'BENCH_CONTENTION_WRITERS', help: 'concurrent writers of the contention ingest (64)' },
  { name: 'BENCH_SEARCH_RUNS', help: 'runs per search experiment; search_runs reads a page from the first one (standard 25000, quick 2000)' },
  { name: 'BENCH_FILTER_RUNS', help: 'runs the filtered search spans, in experiments of BENCH_SEARCH_RUNS (standard 25000, quick 2000; the issue\'s 100000 is `BENCH_FILTER_RUNS=100000`)' },
  { name: 'BENCH_SEARCH_PAGE', help: 'page size of the plain search (1000)' },
  { name: 'BENCH_FILTER_PAGE', help: 'page size of the filtered search (100)' },
  { name: 'BENCH_DEEP_OFFSET', help: 'offset of the filtered search\'s deep page (default BENCH_FILTER_RUNS / 2)' },
  { name: 'BENCH_WIDE_PARAMS', help: 'params of the get-run run (100)' },
  { name: 'BENCH_WIDE_METRICS', help: 'metrics of the get-run run (100)' },
  { name: 'BENCH_HISTORY_POINTS', help: 'points of the long metric history (standard 1000000, quick 100000)' },
  { name: 'BENCH_HISTORY_PAGE', help: 'get-history page size for the full read (25000, MLflow\'s client page)' },
  { name: 'BENCH_HISTORY_FULL_SECONDS', help: 'the full paged read stops after this many seconds; points/s counts what was read (standard 20, quick 10)' },
  { name: 'BENCH_DOWNSAMPLE_BUCKETS', help: 'buckets (Trove) / max_results (MLflow) of the downsampled history (1000)' },
  { name: 'BENCH_ARTIFACT_MB', help: 'MiB of the artifact uploaded and downloaded through the proxy (standard 1024, quick 64)' },
  { name: 'BENCH_SEED_CONCURRENCY', help: 'concurrent requests while seeding (8)' },
  { name: 'BENCH_SEED_SAMPLE_RUNS', help: 'the first this-many runs are seeded through every server\'s REST API and give the seeding rate; MLflow gets the rest of the identical runs bulk-loaded into its database, Trove and FastTrackML through the API (standard 5000, quick 1000; BENCH_FILTER_RUNS or more seeds MLflow through the API alone, ~40 runs/s)' },
  { name: 'BENCH_SEED_SAMPLE_POINTS', help: 'the same for the long history: the first this-many points through every API, the rest bulk-loaded into MLflow (standard 250000, quick 50000; rounded down to 1,000-point batches)' },
  { name: 'BENCH_PG_PORT', help: 'port of the benchmark\'s own PostgreSQL cluster (54339; its files in /tmp/trove-bench-pg-<port>)' },
  { name: 'BENCH_PG_URI', help: 'use this running PostgreSQL (an admin URI, e.g. `postgresql://trove:trove@127.0.0.1:54400/trove`) instead of starting the benchmark\'s own cluster; it is never stopped' },
  { name: 'BENCH_PG_DB_PREFIX', help: 'prefix of the databases created and dropped on PostgreSQL, one per server (`bench_`: bench_trove, bench_mlflow, bench_fasttrackml)' },
  { name: 'BENCH_OUTPUT', help: 'report written (standard docs/benchmarks.md, quick bench/output/benchmarks-quick.md)' },
  { name: 'BENCH_JSON', help: 'raw results written (bench/output/bench-results[-quick].json)' },
  { name: 'BENCH_TROVE_NODE_FLAGS', help: 'more node flags for the Trove server, space-separated (e.g. `--interrupt-budget=67584` for V8\'s default; bin/trove.js then leaves that setting alone)' },
  { name: 'BENCH_TROVE_SERVER_ARGS', help: 'more `trove server` arguments, space-separated (e.g. `--workers 2`: a process per core; the memory rows then count the whole process tree)' },
  { name: 'BENCH_KEEP', help: '1 keeps the data folders and databases after the run' },
  { name: 'BENCH_TROVE_REF', help: 'benchmark this git revision of Trove (e.g. `HEAD`), exported to bench/output/trove-<sha>/, instead of the working tree — for a clean run while src/ is being edited' },
  { name: 'BENCH_TRACE_CLIENTS', help: 'concurrent clients of the trace ingest, each logging one trace after the other (8)' },
  { name: 'BENCH_TRACE_SPANS', help: 'spans per trace in the trace ingest and the seeded traces (10)' },
  { name: 'BENCH_SEARCH_TRACES', help: 'traces seeded for search_traces with a tag filter (standard 2000, quick 500; the issue\'s 100000 is `BENCH_SEARCH_TRACES=100000`, hours of MLflow seeding)' },
  { name: 'BENCH_ONLY_TRACES', help: '1 runs only the trace workloads (seeding traces, trace ingest, trace search): a reduced run' },
  { name: 'BENCH_MLFLOW_VENV', help: 'run `mlflow server` from this existing venv (e.g. .venvs/mlflow3, enough for SQLite) instead of building .venvs/bench' },
  { name: 'BENCH_FASTTRACKML_VENV', help: 'run `fml server` from this existing venv instead of building .venvs/fasttrackml from bench/requirements-fasttrackml.txt' },
  { name: 'BENCH_SEARCH_SCALE', help: '1 (`--search-scale`) measures only the filtered, metric-ordered page of 100 and the page after BENCH_DEEP_OFFSET rows, over BENCH_FILTER_RUNS runs (100,000 in this mode), beside MLflow and FastTrackML (bench/search-scale-http.ts); figures to stdout and bench/output/search-scale.md' },
  { name: 'BENCH_MLFLOW_SEARCH_SAMPLES', help: 'with --search-scale: MLflow\'s timed requests per page (1; Trove and FastTrackML take BENCH_LATENCY_REQUESTS after a warm-up)' },
  { name: 'BENCH_MLFLOW_SEARCH_TIMEOUT', help: 'with --search-scale: seconds each MLflow request may take before it is recorded as "> N s" (900)' },
  { name: 'BENCH_MLFLOW_SEARCH_DEEP', help: 'with --search-scale: 1 also measures MLflow\'s deep page (it first reads a page of BENCH_DEEP_OFFSET rows for the token; 0 by default)' },
  { name: 'BENCH_TROVE_CPU_PROF', help: '1 runs Trove with `node --cpu-prof` (profiles in bench/output/profiles/)' },
];

function flagsToEnv(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    let [name, value] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (name === 'quick') {
      out.BENCH_PROFILE = 'quick';
      continue;
    }
    if (name === 'report-only') continue;
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) value = '1';
      else i++;
    }
    const key = `BENCH_${name.toUpperCase().replace(/-/g, '_')}`;
    if (!KNOBS.some((k) => k.name === key)) throw new Error(`unknown option --${name}; see bench/README.md`);
    out[key] = value;
  }
  return out;
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const e: Record<string, string | undefined> = { ...env, ...flagsToEnv(argv) };
  const quick = e.BENCH_PROFILE === 'quick';
  const scale = e.BENCH_SEARCH_SCALE === '1';
  if (e.BENCH_PROFILE && !['quick', 'standard'].includes(e.BENCH_PROFILE)) throw new Error(`BENCH_PROFILE must be standard or quick`);
  const num = (name: string, standard: number, quickValue = standard): number => {
    const raw = e[name];
    if (raw === undefined || raw === '') return quick ? quickValue : standard;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number, not ${raw}`);
    return n;
  };
  const searchRuns = num('BENCH_SEARCH_RUNS', 25_000, 2_000);
  const filterRuns = num('BENCH_FILTER_RUNS', scale ? 100_000 : 25_000, scale ? 100_000 : 2_000);
  if (filterRuns % searchRuns !== 0 || filterRuns < searchRuns) throw new Error('BENCH_FILTER_RUNS must be a multiple of BENCH_SEARCH_RUNS');
  const backends = (e.BENCH_BACKENDS ?? 'sqlite,postgres').split(',').map((b) => b.trim()).filter(Boolean);
  for (const b of backends) if (b !== 'sqlite' && b !== 'postgres') throw new Error(`unknown backend ${b}`);
  const servers = (e.BENCH_SERVERS ?? 'trove,mlflow,fasttrackml').split(',').map((b) => b.trim()).filter(Boolean);
  for (const s of servers) if (s !== 'trove' && s !== 'mlflow' && s !== 'fasttrackml') throw new Error(`unknown server ${s}`);
  const pgDbPrefix = e.BENCH_PG_DB_PREFIX ?? 'bench_';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(pgDbPrefix)) throw new Error('BENCH_PG_DB_PREFIX must be lower-case letters, digits and underscores');
  return {
    profile: quick ? 'quick' : 'standard',
    rounds: Math.max(1, Math.round(num('BENCH_ROUNDS', 3, 1))),
    backends: backends as BenchConfig['backends'],
    servers: servers as BenchConfig['servers'],
    duration: num('BENCH_DURATION', 5, 2),
    latencyRequests: num('BENCH_LATENCY_REQUESTS', scale ? 30 : 100, 10),
    latencySeconds: num('BENCH_LATENCY_SECONDS', 5, 2),
    writeClients: num('BENCH_WRITE_CLIENTS', 20),
    logBatchMetrics: num('BENCH_LOG_BATCH_METRICS', 10),
    ingestWriters: num('BENCH_INGEST_WRITERS', 4),
    contentionWriters: num('BENCH_CONTENTION_WRITERS', 64),
    searchRuns,
    filterRuns,
    searchPageSize: num('BENCH_SEARCH_PAGE', 1000),
    filterPageSize: num('BENCH_FILTER_PAGE', 100),
    deepOffset: num('BENCH_DEEP_OFFSET', Math.floor(filterRuns / 2), Math.floor(filterRuns / 2)),
    wideParams: num('BENCH_WIDE_PARAMS', 100),
    wideMetrics: num('BENCH_WIDE_METRICS', 100),
    historyPoints: num('BENCH_HISTORY_POINTS', 1_000_000, 100_000),
    historyPageSize: num('BENCH_HISTORY_PAGE', 25_000),
    historyFullSeconds: num('BENCH_HISTORY_FULL_SECONDS', 20, 10),
    downsampleBuckets: num('BENCH_DOWNSAMPLE_BUCKETS', 1000),
    artifactMb: num('BENCH_ARTIFACT_MB', 1024, 64),
    seedConcurrency: num('BENCH_SEED_CONCURRENCY', 8),
    seedSampleRuns: Math.max(1, Math.round(num('BENCH_SEED_SAMPLE_RUNS', scale ? 1_000 : 5_000, 1_000))),
    seedSamplePoints: Math.max(1000, Math.round(num('BENCH_SEED_SAMPLE_POINTS', 250_000, 50_000))),
    pgPort: num('BENCH_PG_PORT', 54339),
    pgUri: e.BENCH_PG_URI ?? '',
    pgDbPrefix,
    output: e.BENCH_OUTPUT ?? (quick ? 'bench/output/benchmarks-quick.md' : 'docs/benchmarks.md'),
    json: e.BENCH_JSON ?? (scale ? 'bench/output/search-scale.json' : quick ? 'bench/output/bench-results-quick.json' : 'bench/output/bench-results.json'),
    keep: e.BENCH_KEEP === '1',
    troveCpuProf: e.BENCH_TROVE_CPU_PROF === '1',
    troveNodeFlags: (e.BENCH_TROVE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
    troveServerArgs: (e.BENCH_TROVE_SERVER_ARGS ?? '').split(/\s+/).filter(Boolean),
    troveRef: e.BENCH_TROVE_REF ?? '',
    traceClients: num('BENCH_TRACE_CLIENTS', 8),
    traceSpans: num('BENCH_TRACE_SPANS', 10),
    searchTraces: num('BENCH_SEARCH_TRACES', 2_000, 500),
    onlyTraces: e.BENCH_ONLY_TRACES === '1',
    mlflowVenv: e.BENCH_MLFLOW_VENV ?? '',
    fasttrackmlVenv: e.BENCH_FASTTRACKML_VENV ?? '',
    searchScale: scale,
    mlflowSearchSamples: Math.max(1, Math.round(num('BENCH_MLFLOW_SEARCH_SAMPLES', 1))),
    mlflowSearchTimeout: Math.max(1, num('BENCH_MLFLOW_SEARCH_TIMEOUT', 900)),
    mlflowSearchDeep: e.BENCH_MLFLOW_SEARCH_DEEP === '1',
  };
}
