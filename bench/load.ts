/**
 * Load generator of the server benchmark (bench/run.ts forks it): a separate Node process that
 * talks to one server at a time over loopback with undici keep-alive pools. It seeds datasets and
 * runs the measured workloads, each bounded in requests and time, and answers the parent over the
 * IPC channel with plain JSON results. It never touches a server's database or files.
 *
 * Every operation is written once against the MLflow REST API, so Trove and MLflow get exactly the
 * same requests; the only server-specific request is the downsampled metric history (Trove's
 * `trove/metrics/history-downsampled` vs MLflow's `get-history-bulk-interval`).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { BASE_TS, historyPoint, HISTORY_KEY, historyValue, random, searchRun, windowRates, type SeedCompletion } from './seed-data.ts';
import { exportRequest, freshTrace, searchBody, seededTrace, startTraceBody } from './traces-load.ts';

export type ServerKind = 'trove' | 'mlflow' | 'fasttrackml';

/**
 * What a server cannot be measured on, with the reason the report gives ("n/a" rows): FastTrackML
 * 0.6.0 implements MLflow's 2.x tracking REST API but not MLflow 3 tracing, the artifact proxy
 * (`mlflow-artifacts`, it hands out `file://` artifact URIs) or `get-history-bulk-interval`.
 */
export const UNSUPPORTED: Record<ServerKind, Partial<Record<'traces' | 'downsampled' | 'artifacts', string>>> = {
  trove: {},
  mlflow: {},
  fasttrackml: {
    traces: 'no MLflow 3 tracing endpoints (`/v1/traces`, `/api/3.0/mlflow/traces`)',
    downsampled: 'no `get-history-bulk-interval` (nor another downsampled history in the MLflow API)',
    artifacts: 'no artifact proxy (`/api/2.0/mlflow-artifacts`): its runs get `file://` artifact URIs the client writes to directly',
  },
};

export interface WorkloadResult {
  requests: number;
  errors: number;
  /** Error counts by kind: 'database is locked', 'http 503', 'network', ... */
  errorKinds: Record<string, number>;
  /** The first answer of each error kind (truncated), to see what the server said. */
  errorSamples?: Record<string, string>;
  seconds: number;
  /** Successful requests per second. */
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  /** Workload-specific numbers (points/s, MiB/s, rows returned, result hash, ...). */
  extra: Record<string, number | string>;
}

export type LoadRequest =
  | { op: 'setup'; base: string; kind: ServerKind; connections: number }
  | { op: 'create-experiment'; base: string; name: string }
  | { op: 'create-runs'; base: string; experimentId: string; count: number; prefix: string }
  | { op: 'seed-search'; base: string; experimentIds: string[]; runsPerExperiment: number; from: number; to: number; concurrency: number }
  | { op: 'seed-get-run'; base: string; experimentId: string; params: number; metrics: number }
  | { op: 'history-run'; base: string; experimentId: string }
  | { op: 'seed-history'; base: string; runId: string; from: number; to: number; concurrency: number }
  | { op: 'verify-seeded'; base: string; kind: ServerKind; check: SeedCheck }
  | { op: 'artifact-run'; base: string; experimentId: string }
  | { op: 'seed-traces'; base: string; experimentId: string; count: number; spans: number; perRequest: number; concurrency: number }
  | { op: 'workload'; base: string; kind: ServerKind; workload: Workload }
  | { op: 'close' };

export type Workload =
  | { name: 'create-run'; experimentId: string; clients: number; seconds: number }
  | { name: 'log-batch'; runIds: string[]; metrics: number; seconds: number }
  | { name: 'ingest'; runIds: string[]; batch: number; seconds: number; maxBatches: number }
  | { name: 'search'; experimentIds: string[]; filter: string; orderBy: string[]; maxResults: number; pageToken?: string; maxRequests: number; seconds: number }
  | { name: 'get-run'; runId: string; maxRequests: number; seconds: number }
  | { name: 'history-full'; runId: string; key: string; pageSize: number; seconds: number }
  | { name: 'history-downsampled'; runId: string; key: string; buckets: number; maxRequests: number; seconds: number }
  | { name: 'artifact-upload'; artifactPath: string; mib: number }
  | { name: 'artifact-download'; artifactPath: string; mib: number }
  | { name: 'trace-ingest'; experimentId: string; clients: number; spans: number; seconds: number }
  | { name: 'trace-search'; experimentId: string; filter: string; maxResults: number; maxRequests: number; seconds: number };

const pools = new Map<string, Pool>();

function pool(base: string, connections = 80): Pool {
  let p = pools.get(base);
  if (!p) {
    p = new Pool(base, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 600_000, bodyTimeout: 600_000 });
    pools.set(base, p);
  }
  return p;
}

interface Outcome {
  status: number;
  text: string;
}

async function send(base: string, method: 'GET' | 'POST', path: string, body?: string): Promise<Outcome> {
  const res = await pool(base).request({
    path,
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

/** A POST with its own content type and headers (OTLP protobuf). */
async function sendRaw(base: string, path: string, body: Buffer | string, headers: Record<string, string>): Promise<Outcome> {
  const res = await pool(base).request({ path, method: 'POST', headers, body });
  return { status: res.statusCode, text: await res.body.text() };
}

/** One trace as the MLflow 3 client logs it: its spans over OTLP, then StartTraceV3. */
async function logTrace(base: string, experimentId: string, spans: number): Promise<void> {
  const spec = freshTrace(spans);
  const otlp = await sendRaw(base, '/v1/traces', exportRequest([spec]), { 'content-type': 'application/x-protobuf', 'x-mlflow-experiment-id': experimentId });
  if (otlp.status !== 200) throw new HttpError(otlp.status, otlp.text, 'v1/traces');
  const info = await sendRaw(base, '/api/3.0/mlflow/traces', startTraceBody(spec, experimentId), { 'content-type': 'application/json' });
  if (info.status !== 200) throw new HttpError(info.status, info.text, 'StartTraceV3');
}

/** Seeds `count` traces (deterministic ids/times/teams) over OTLP, `perRequest` traces per export. */
async function seedTraces(base: string, experimentId: string, count: number, spans: number, perRequest: number, concurrency: number): Promise<{ traces: number; seconds: number }> {
  const t0 = performance.now();
  const batches = Math.ceil(count / perRequest);
  await forEachLimited(batches, concurrency, async (b) => {
    const specs = [];
    for (let g = b * perRequest; g < Math.min(count, (b + 1) * perRequest); g++) specs.push(seededTrace(g, spans));
    const body = exportRequest(specs);
    await retrying(async () => {
      const res = await sendRaw(base, '/v1/traces', body, { 'content-type': 'application/x-protobuf', 'x-mlflow-experiment-id': experimentId });
      if (res.status !== 200) throw new HttpError(res.status, res.text, 'v1/traces');
    });
  });
  return { traces: count, seconds: (performance.now() - t0) / 1000 };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${text.slice(0, 300)}`);
  }
}

function errorKind(error: unknown): string {
  if (error instanceof HttpError) {
    if (/database is locked/i.test(error.text)) return 'database is locked';
    return `http ${error.status}`;
  }
  const code = (error as { code?: string }).code;
  return `network ${code ?? (error as Error).message?.slice(0, 60)}`;
}

async function rpc<T>(base: string, method: 'GET' | 'POST', name: string, payload: Record<string, unknown>): Promise<T> {
  let path = `/api/2.0/mlflow/${name}`;
  let body: string | undefined;
  if (method === 'GET') path += `?${query(payload)}`;
  else body = JSON.stringify(payload);
  const res = await send(base, method, path, body);
  if (res.status !== 200) throw new HttpError(res.status, res.text, name);
  return JSON.parse(res.text) as T;
}

function query(fields: Record<string, unknown>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    if (Array.isArray(v)) for (const item of v) q.append(k, String(item));
    else if (v !== undefined) q.append(k, String(v));
  }
  return q.toString();
}

/** Seeding retries what a busy server refuses (5xx, locks, resets) so both datasets end up identical. */
async function retrying<T>(what: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await what();
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 0;
      if (i >= attempts || (status !== 0 && status < 500 && status !== 429)) throw error;
      await new Promise((r) => setTimeout(r, 50 * 2 ** i));
    }
  }
}

/** Runs `work` over 0..count-1 with at most `limit` in flight. */
async function forEachLimited(count: number, limit: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

async function createRun(base: string, experimentId: string, name: string, startTime: number, tags: { key: string; value: string }[] = []): Promise<{ runId: string; artifactUri: string }> {
  const res = await rpc<{ run: { info: { run_id: string; artifact_uri: string } } }>(base, 'POST', 'runs/create', {
    experiment_id: experimentId,
    run_name: name,
    start_time: startTime,
    tags,
  });
  return { runId: res.run.info.run_id, artifactUri: res.run.info.artifact_uri };
}

/**
 * Runs `from`..`to - 1` of the search dataset (bench/seed-data.ts), `perExperiment` to an
 * experiment; two requests per run: runs/create (with the tag) and one log-batch.
 */
async function seedSearch(base: string, experimentIds: string[], perExperiment: number, from: number, to: number, concurrency: number): Promise<{ runs: number; seconds: number; windows: number[] }> {
  const t0 = performance.now();
  const done: SeedCompletion[] = [];
  await forEachLimited(to - from, concurrency, async (i) => {
    const run = searchRun(from + i, perExperiment);
    const experimentId = experimentIds[run.experimentIndex] as string;
    // A retried runs/create first looks for the run by its start time (unique in the dataset): an
    // overloaded server may have created it before the failed answer (seen on MLflow at load 30,
    // which left 8 duplicate runs in a 100,000-run seeding).
    let attempt = 0;
    const { runId } = await retrying(async () => {
      if (attempt++ > 0) {
        const found = await rpc<{ runs?: { info: { run_id: string } }[] }>(base, 'POST', 'runs/search', { experiment_ids: [experimentId], filter: `attributes.start_time = ${run.startTime}`, max_results: 2 });
        const existing = found.runs?.[0];
        if (existing) return { runId: existing.info.run_id, artifactUri: '' };
      }
      return createRun(base, experimentId, run.name, run.startTime, run.tags);
    });
    await retrying(() => rpc(base, 'POST', 'runs/log-batch', { run_id: runId, metrics: run.metrics, params: run.params }));
    done.push({ at: performance.now(), amount: 1 });
  });
  return { runs: to - from, seconds: (performance.now() - t0) / 1000, windows: windowRates(t0, done) };
}

async function seedGetRun(base: string, experimentId: string, nParams: number, nMetrics: number): Promise<string> {
  const { runId } = await retrying(() => createRun(base, experimentId, 'wide-run', BASE_TS));
  const params = Array.from({ length: nParams }, (_, i) => ({ key: `param_${String(i).padStart(3, '0')}`, value: `value-${i}-${'x'.repeat(i % 20)}` }));
  const metrics = Array.from({ length: nMetrics }, (_, i) => ({ key: `metric_${String(i).padStart(3, '0')}`, value: i / 7, timestamp: BASE_TS + i, step: i }));
  // MLflow allows 100 params and 1000 entries per log-batch.
  for (let i = 0; i < Math.max(params.length, metrics.length); i += 100) {
    await retrying(() => rpc(base, 'POST', 'runs/log-batch', { run_id: runId, params: params.slice(i, i + 100), metrics: metrics.slice(i, i + 100) }));
  }
  return runId;
}

/** A metric batch as a JSON string built by hand (cheap for the client on a shared 2-core box). */
function metricBatchBody(runId: string, key: string, firstStep: number, count: number, tsBase: number, value: (step: number) => number): string {
  const parts: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const step = firstStep + i;
    parts[i] = `{"key":"${key}","value":${value(step)},"timestamp":${tsBase + step},"step":${step}}`;
  }
  return `{"run_id":"${runId}","metrics":[${parts.join(',')}]}`;
}

/** Creates the long-history run (its metric follows with seed-history). */
async function historyRun(base: string, experimentId: string): Promise<string> {
  return (await retrying(() => createRun(base, experimentId, 'long-history', BASE_TS))).runId;
}

/** Steps `from`..`to - 1` of the long series, in 1,000-point log-batches, `concurrency` in flight. */
async function seedHistory(base: string, runId: string, from: number, to: number, concurrency: number): Promise<{ points: number; seconds: number; windows: number[] }> {
  const t0 = performance.now();
  const done: SeedCompletion[] = [];
  const batches = Math.ceil((to - from) / 1000);
  await forEachLimited(batches, concurrency, async (b) => {
    const first = from + b * 1000;
    const body = metricBatchBody(runId, HISTORY_KEY, first, Math.min(1000, to - first), BASE_TS, historyValue);
    await retrying(async () => {
      const res = await send(base, 'POST', '/api/2.0/mlflow/runs/log-batch', body);
      if (res.status !== 200) throw new HttpError(res.status, res.text, 'log-batch');
    });
    done.push({ at: performance.now(), amount: Math.min(1000, to - first) });
  });
  return { points: to - from, seconds: (performance.now() - t0) / 1000, windows: windowRates(t0, done) };
}

/** What verify-seeded reads back through a server's REST API once it is seeded. */
export interface SeedCheck {
  experimentIds: string[];
  perExperiment: number;
  /** Runs of the search dataset read back (found by start time) and compared with bench/seed-data.ts; the first should be an API-seeded one. */
  runIndices: number[];
  /** Also count each experiment's runs by asking for the page after all but its last run (offset page tokens: MLflow). */
  countByOffset: boolean;
  historyRunId: string;
  historyPoints: number;
  /** Steps of the long series read back with get-history-bulk-interval (MLflow only; [] for none). */
  historySteps: number[];
}

interface ApiRun {
  info: { run_name?: string; start_time?: number | string; lifecycle_stage?: string };
  data: { tags?: { key: string; value: string }[]; params?: { key: string; value: string }[]; metrics?: { key: string; value: number; timestamp: number | string; step: number | string }[] };
}

/**
 * How a run read back through the API differs from run `want` of the dataset ([] when it does
 * not), and the keys of its tags, params and metrics (to compare bulk-loaded runs with API-seeded ones).
 */
export function compareRun(got: ApiRun, want: ReturnType<typeof searchRun>): { differences: string[]; shape: string } {
  const differences: string[] = [];
  if (got.info.run_name !== want.name) differences.push(`name ${got.info.run_name}`);
  if (Number(got.info.start_time) !== want.startTime) differences.push(`start_time ${got.info.start_time} instead of ${want.startTime}`);
  if (got.info.lifecycle_stage !== 'active') differences.push(`lifecycle_stage ${got.info.lifecycle_stage}`);
  const tags = new Map((got.data.tags ?? []).map((t) => [t.key, t.value]));
  for (const t of want.tags) if (tags.get(t.key) !== t.value) differences.push(`tag ${t.key}=${tags.get(t.key)} instead of ${t.value}`);
  const params = new Map((got.data.params ?? []).map((p) => [p.key, p.value]));
  if (params.size !== want.params.length) differences.push(`${params.size} params instead of ${want.params.length}`);
  for (const p of want.params) if (params.get(p.key) !== p.value) differences.push(`param ${p.key}=${params.get(p.key)} instead of ${p.value}`);
  const metrics = new Map((got.data.metrics ?? []).map((m) => [m.key, m]));
  if (metrics.size !== want.metrics.length) differences.push(`${metrics.size} metrics instead of ${want.metrics.length}`);
  for (const m of want.metrics) {
    const g = metrics.get(m.key);
    if (!g || g.value !== m.value || Number(g.step) !== m.step || Number(g.timestamp) !== m.timestamp) {
      differences.push(`metric ${m.key}=${g ? `${g.value}@${g.step}/${g.timestamp}` : 'missing'} instead of ${m.value}@${m.step}/${m.timestamp}`);
    }
  }
  const keys = (list: { key: string }[] | undefined): string => (list ?? []).map((x) => x.key).sort().join(',');
  return { differences, shape: `tags ${keys(got.data.tags)}; params ${keys(got.data.params)}; metrics ${keys(got.data.metrics)}` };
}

/** Reads the seeded data back through the REST API and lists what differs from bench/seed-data.ts. */
async function verifySeeded(base: string, kind: ServerKind, check: SeedCheck): Promise<{ checked: string[]; problems: string[] }> {
  const problems: string[] = [];
  const checked: string[] = [];
  let firstShape = '';
  for (const g of check.runIndices) {
    const want = searchRun(g, check.perExperiment);
    // Found by its start time, unique in the dataset (FastTrackML 0.6.0 finds nothing by run_name).
    const res = await rpc<{ runs?: ApiRun[] }>(base, 'POST', 'runs/search', {
      experiment_ids: [check.experimentIds[want.experimentIndex]],
      filter: `attributes.start_time = ${want.startTime}`,
      max_results: 10,
    });
    const runs = res.runs ?? [];
    if (runs.length !== 1) {
      problems.push(`${want.name}: ${runs.length} runs with its start time`);
      continue;
    }
    const { differences, shape } = compareRun(runs[0] as ApiRun, want);
    firstShape ||= shape;
    if (shape !== firstShape) differences.push(`${shape} where run-${check.runIndices[0]} has ${firstShape}`);
    problems.push(...differences.map((d) => `${want.name}: ${d}`));
    checked.push(want.name);
  }
  if (check.countByOffset) {
    for (const [e, experimentId] of check.experimentIds.entries()) {
      const first = e * check.perExperiment;
      const last = first + check.perExperiment - 1;
      const page = async (offset: number): Promise<string[]> => {
        const token = offset ? { page_token: Buffer.from(JSON.stringify({ offset })).toString('base64') } : {};
        const res = await rpc<{ runs?: ApiRun[] }>(base, 'POST', 'runs/search', { experiment_ids: [experimentId], order_by: ['attributes.start_time ASC'], max_results: 2, ...token });
        return (res.runs ?? []).map((r) => r.info.run_name ?? '?');
      };
      const head = await page(0);
      const tail = await page(check.perExperiment - 1);
      if (head[0] !== `run-${first}` || tail.length !== 1 || tail[0] !== `run-${last}`) {
        problems.push(`experiment ${experimentId}: first runs ${head.join(', ')} and after ${check.perExperiment - 1} runs ${tail.join(', ') || 'none'}, instead of run-${first} and only run-${last}`);
      } else checked.push(`${check.perExperiment} runs in experiment ${experimentId}`);
    }
  }
  if (check.historyRunId) {
    const { run } = await rpc<{ run: ApiRun }>(base, 'GET', 'runs/get', { run_id: check.historyRunId });
    const latest = run.data.metrics?.find((m) => m.key === HISTORY_KEY);
    const want = historyPoint(check.historyPoints - 1);
    if (!latest || latest.value !== want.value || Number(latest.step) !== want.step) problems.push(`history: latest ${HISTORY_KEY} ${latest ? `${latest.value}@${latest.step}` : 'missing'} instead of ${want.value}@${want.step}`);
    else checked.push(`latest ${HISTORY_KEY} at step ${want.step}`);
    for (const step of kind === 'mlflow' ? check.historySteps : []) {
      const res = await send(base, 'GET', `/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?${query({ run_ids: [check.historyRunId], metric_key: HISTORY_KEY, start_step: step, end_step: step + 4, max_results: 5 })}`);
      if (res.status !== 200) throw new HttpError(res.status, res.text, 'get-history-bulk-interval');
      const points = (JSON.parse(res.text) as { metrics?: { value: number; step: number | string; timestamp: number | string }[] }).metrics ?? [];
      const wrong = points.filter((p) => {
        const w = historyPoint(Number(p.step));
        return p.value !== w.value || Number(p.timestamp) !== w.timestamp || Number(p.step) < step || Number(p.step) > step + 4;
      });
      if (points.length !== 5 || wrong.length) problems.push(`history steps ${step}..${step + 4}: ${points.length} points, ${wrong.length} wrong`);
      else checked.push(`history steps ${step}..${step + 4}`);
    }
  }
  return { checked, problems };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

interface LoopOptions {
  clients: number;
  seconds: number;
  maxRequests: number;
  /** At least this many requests even past `seconds` (latency workloads on slow servers). */
  minRequests?: number;
}

/**
 * Closed loop: `clients` concurrent callers, each issuing its next request when the last one
 * answered, until the time or request budget is spent. Latencies in ms of every request.
 */
async function closedLoop(opts: LoopOptions, call: (client: number, seq: number) => Promise<void>): Promise<Omit<WorkloadResult, 'extra'>> {
  const latencies: number[] = [];
  const errorKinds: Record<string, number> = {};
  const errorSamples: Record<string, string> = {};
  let errors = 0;
  let issued = 0;
  const t0 = performance.now();
  const deadline = t0 + opts.seconds * 1000;
  const min = opts.minRequests ?? 0;
  await Promise.all(
    Array.from({ length: opts.clients }, async (_, client) => {
      for (;;) {
        const now = performance.now();
        if (issued >= opts.maxRequests) break;
        if (now >= deadline && issued >= min) break;
        const seq = issued++;
        const start = performance.now();
        try {
          await call(client, seq);
          latencies.push(performance.now() - start);
        } catch (error) {
          errors++;
          const kind = errorKind(error);
          errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
          errorSamples[kind] ??= (error instanceof HttpError ? error.text : String(error)).slice(0, 300);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length + errors,
    errors,
    errorKinds,
    errorSamples,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
  };
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

const MIB = 1024 * 1024;

async function runWorkload(base: string, kind: ServerKind, w: Workload): Promise<WorkloadResult> {
  switch (w.name) {
    case 'trace-ingest': {
      const r = await closedLoop({ clients: w.clients, seconds: w.seconds, maxRequests: 10_000_000 }, async () => logTrace(base, w.experimentId, w.spans));
      return { ...r, extra: { traces_per_s: r.rps, spans_per_s: r.rps * w.spans } };
    }
    case 'trace-search': {
      let rows = -1;
      let digest = '';
      const body = searchBody(w.experimentId, w.filter, w.maxResults);
      const r = await closedLoop({ clients: 1, seconds: w.seconds, maxRequests: w.maxRequests, minRequests: 2 }, async () => {
        const res = await sendRaw(base, '/api/3.0/mlflow/traces/search', body, { 'content-type': 'application/json' });
        if (res.status !== 200) throw new HttpError(res.status, res.text, 'traces/search');
        if (rows < 0) {
          const traces = (JSON.parse(res.text) as { traces?: { trace_id: string }[] }).traces ?? [];
          rows = traces.length;
          digest = hash(traces.map((t) => t.trace_id).join('\n'));
        }
      });
      return { ...r, extra: { rows, result_hash: digest } };
    }
    case 'create-run': {
      let n = 0;
      const r = await closedLoop({ clients: w.clients, seconds: w.seconds, maxRequests: 1_000_000 }, async () => {
        await rpc(base, 'POST', 'runs/create', { experiment_id: w.experimentId, start_time: BASE_TS + n++ });
      });
      return { ...r, extra: {} };
    }
    case 'log-batch': {
      const steps = new Map<string, number>();
      const r = await closedLoop({ clients: w.runIds.length, seconds: w.seconds, maxRequests: 10_000_000 }, async (client) => {
        const runId = w.runIds[client] as string;
        const step = steps.get(runId) ?? 0;
        steps.set(runId, step + 1);
        const metrics = Array.from({ length: w.metrics }, (_, i) => ({ key: `m${i}`, value: Math.sin(step + i), timestamp: BASE_TS + step, step }));
        await rpc(base, 'POST', 'runs/log-batch', { run_id: runId, metrics });
      });
      return { ...r, extra: { points_per_s: r.rps * w.metrics } };
    }
    case 'ingest': {
      const steps = new Map<string, number>();
      const r = await closedLoop({ clients: w.runIds.length, seconds: w.seconds, maxRequests: w.maxBatches }, async (client) => {
        const runId = w.runIds[client] as string;
        const first = steps.get(runId) ?? 0;
        steps.set(runId, first + w.batch);
        const body = metricBatchBody(runId, 'throughput', first, w.batch, BASE_TS, (s) => Math.cos(s / 100));
        const res = await send(base, 'POST', '/api/2.0/mlflow/runs/log-batch', body);
        if (res.status !== 200) throw new HttpError(res.status, res.text, 'log-batch');
      });
      return { ...r, extra: { points_per_s: r.rps * w.batch, writers: w.runIds.length } };
    }
    case 'search': {
      let rows = -1;
      let digest = '';
      const r = await closedLoop({ clients: 1, seconds: w.seconds, maxRequests: w.maxRequests, minRequests: 2 }, async () => {
        const res = await rpc<{ runs?: { info: { run_name: string } }[] }>(base, 'POST', 'runs/search', {
          experiment_ids: w.experimentIds,
          filter: w.filter,
          order_by: w.orderBy,
          max_results: w.maxResults,
          ...(w.pageToken ? { page_token: w.pageToken } : {}),
        });
        if (rows < 0) {
          rows = res.runs?.length ?? 0;
          digest = hash((res.runs ?? []).map((run) => run.info.run_name).join('\n'));
        }
      });
      return { ...r, extra: { rows, result_hash: digest } };
    }
    case 'get-run': {
      let counts = '';
      const r = await closedLoop({ clients: 1, seconds: w.seconds, maxRequests: w.maxRequests, minRequests: 2 }, async () => {
        const res = await rpc<{ run: { data: { params?: unknown[]; metrics?: unknown[] } } }>(base, 'GET', 'runs/get', { run_id: w.runId });
        counts ||= `${res.run.data.params?.length ?? 0} params, ${res.run.data.metrics?.length ?? 0} metrics`;
      });
      return { ...r, extra: { returned: counts } };
    }
    case 'history-full': {
      // One "request" here is the whole paged read of the series (pages of `pageSize`), cut short
      // after `seconds`; points/s counts what was read.
      let points = 0;
      let pages = 0;
      let complete = 1;
      const t0 = performance.now();
      const deadline = t0 + w.seconds * 1000;
      let token: string | undefined;
      const pageLatencies: number[] = [];
      // A failed page (a worker that died, a reset) ends the read: logged as an error, no points/s.
      let failure: { kind: string; sample: string } | undefined;
      for (;;) {
        const start = performance.now();
        let res: { metrics?: unknown[]; next_page_token?: string };
        try {
          res = await rpc<{ metrics?: unknown[]; next_page_token?: string }>(base, 'GET', 'metrics/get-history', {
            run_id: w.runId,
            metric_key: w.key,
            max_results: w.pageSize,
            ...(token ? { page_token: token } : {}),
          });
        } catch (error) {
          failure = { kind: errorKind(error), sample: (error instanceof HttpError ? error.text : String(error)).slice(0, 300) };
          complete = 0;
          break;
        }
        pageLatencies.push(performance.now() - start);
        points += res.metrics?.length ?? 0;
        pages++;
        token = res.next_page_token;
        if (!token) break;
        if (performance.now() > deadline) {
          complete = 0;
          break;
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      pageLatencies.sort((a, b) => a - b);
      return {
        requests: pages + (failure ? 1 : 0),
        errors: failure ? 1 : 0,
        errorKinds: failure ? { [failure.kind]: 1 } : {},
        ...(failure ? { errorSamples: { [failure.kind]: failure.sample } } : {}),
        seconds,
        rps: pages / seconds,
        p50: percentile(pageLatencies, 50),
        p90: percentile(pageLatencies, 90),
        p99: percentile(pageLatencies, 99),
        mean: pageLatencies.reduce((a, b) => a + b, 0) / Math.max(1, pageLatencies.length),
        extra: { points, points_per_s: failure ? NaN : points / seconds, complete },
      };
    }
    case 'history-downsampled': {
      let returned = 0;
      const r = await closedLoop({ clients: 1, seconds: w.seconds, maxRequests: w.maxRequests, minRequests: 2 }, async () => {
        if (kind === 'trove') {
          const res = await send(base, 'GET', `/ajax-api/2.0/trove/metrics/history-downsampled?${query({ run_ids: [w.runId], metric_key: w.key, max_buckets: w.buckets })}`);
          if (res.status !== 200) throw new HttpError(res.status, res.text, 'history-downsampled');
          returned ||= (JSON.parse(res.text) as { series: { x: unknown[] }[] }).series[0]?.x.length ?? 0;
        } else {
          const res = await send(base, 'GET', `/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?${query({ run_ids: [w.runId], metric_key: w.key, max_results: w.buckets })}`);
          if (res.status !== 200) throw new HttpError(res.status, res.text, 'get-history-bulk-interval');
          returned ||= (JSON.parse(res.text) as { metrics?: unknown[] }).metrics?.length ?? 0;
        }
      });
      return { ...r, extra: { returned } };
    }
    case 'artifact-upload': {
      const chunk = Buffer.alloc(MIB);
      const rnd = random(42);
      for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE(Math.floor(rnd() * 2 ** 32), i);
      const mib = w.mib;
      async function* body(): AsyncGenerator<Buffer> {
        for (let i = 0; i < mib; i++) yield chunk;
      }
      const t0 = performance.now();
      let status = 0;
      let error = '';
      try {
        const res = await pool(base).request({
          path: `/api/2.0/mlflow-artifacts/artifacts/${w.artifactPath}`,
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(w.mib * MIB) },
          body: Readable.from(body(), { objectMode: false }),
        });
        status = res.statusCode;
        const text = await res.body.text();
        if (status !== 200) error = `HTTP ${status} ${text.slice(0, 200)}`;
      } catch (e) {
        error = errorKind(e);
      }
      const seconds = (performance.now() - t0) / 1000;
      return single(seconds, error, { mib_per_s: error ? 0 : w.mib / seconds, status });
    }
    case 'artifact-download': {
      const t0 = performance.now();
      let bytes = 0;
      let error = '';
      try {
        const res = await pool(base).request({ path: `/api/2.0/mlflow-artifacts/artifacts/${w.artifactPath}`, method: 'GET' });
        for await (const part of res.body) bytes += (part as Buffer).length;
        if (res.statusCode !== 200) error = `HTTP ${res.statusCode}`;
        else if (bytes !== w.mib * MIB) error = `short download: ${bytes} bytes`;
      } catch (e) {
        error = errorKind(e);
      }
      const seconds = (performance.now() - t0) / 1000;
      return single(seconds, error, { mib_per_s: error ? 0 : bytes / MIB / seconds });
    }
  }
}

function single(seconds: number, error: string, extra: Record<string, number | string>): WorkloadResult {
  const ms = seconds * 1000;
  return {
    requests: 1,
    errors: error ? 1 : 0,
    errorKinds: error ? { [error]: 1 } : {},
    seconds,
    rps: error ? 0 : 1 / seconds,
    p50: ms,
    p90: ms,
    p99: ms,
    mean: ms,
    extra,
  };
}

async function handle(req: LoadRequest): Promise<unknown> {
  switch (req.op) {
    case 'setup':
      pool(req.base, req.connections);
      return null;
    case 'create-experiment':
      return (await retrying(() => rpc<{ experiment_id: string }>(req.base, 'POST', 'experiments/create', { name: req.name }))).experiment_id;
    case 'create-runs': {
      const ids: string[] = [];
      for (let i = 0; i < req.count; i++) ids.push((await retrying(() => createRun(req.base, req.experimentId, `${req.prefix}-${i}`, BASE_TS + i))).runId);
      return ids;
    }
    case 'seed-search':
      return seedSearch(req.base, req.experimentIds, req.runsPerExperiment, req.from, req.to, req.concurrency);
    case 'seed-get-run':
      return seedGetRun(req.base, req.experimentId, req.params, req.metrics);
    case 'history-run':
      return historyRun(req.base, req.experimentId);
    case 'seed-history':
      return seedHistory(req.base, req.runId, req.from, req.to, req.concurrency);
    case 'verify-seeded':
      return verifySeeded(req.base, req.kind, req.check);
    case 'artifact-run': {
      const run = await retrying(() => createRun(req.base, req.experimentId, 'artifacts', BASE_TS));
      // mlflow-artifacts:/<experiment>/<run>/artifacts -> the proxy path
      return { runId: run.runId, path: run.artifactUri.replace(/^mlflow-artifacts:\/*/, '') };
    }
    case 'seed-traces':
      return seedTraces(req.base, req.experimentId, req.count, req.spans, req.perRequest, req.concurrency);
    case 'workload':
      return runWorkload(req.base, req.kind, req.workload);
    case 'close':
      await Promise.all([...pools.values()].map((p) => p.close()));
      pools.clear();
      return null;
  }
}

process.on('message', (message: { id: number; request: LoadRequest }) => {
  handle(message.request).then(
    (result) => process.send?.({ id: message.id, ok: true, result }),
    (error: Error) => process.send?.({ id: message.id, ok: false, error: error.stack ?? String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
