import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { MetricRecord } from '../../store/tracking-store.ts';
import type {
  ArtifactOwner,
  MigrationSource,
  OpenedArtifact,
  SourceArtifact,
  SourceExperiment,
  SourceLoggedModel,
  SourceModelVersion,
  SourceRegisteredModel,
  SourceRun,
  SourceTrace,
  SourceTracePage,
} from '../../domain/import/source.ts';
import { quoteNanos, spansFromTraceArtifact } from '../../domain/tracing/artifact-spans.ts';
import { decodeOtlpJson } from '../../domain/tracing/otlp.ts';
import { spanDictFrom, type SpanDict } from '../../domain/tracing/spans.ts';
import { SPANS_IN_TRACKING_STORE, TRACE_TAG } from '../../domain/tracing/validation.ts';
import { traceInfoInputFrom } from '../../http/trace-presenters.ts';
import { TrackingApiError, TrackingClient, withTransientRetries } from '../models/tracking-client.ts';
import {
  experimentFromWire,
  loggedModelFromWire,
  metricFromWire,
  modelVersionFromWire,
  registeredModelFromWire,
  runFromWire,
  type WireExperiment,
  type WireLoggedModel,
  type WireMetric,
  type WireModelVersion,
  type WireRegisteredModel,
  type WireRun,
} from './mlflow-wire.ts';

const API = '/api/2.0/mlflow';
const API_V3 = '/api/3.0/mlflow';
const PROMPT_FILTER = "tags.`mlflow.prompt.is_prompt` = 'true'";
const RETRIES = 5;

/**
 * An MLflow tracking server read over its REST API (MLflow 2.x and 3.x, and GitLab's
 * `/api/v4/projects/<id>/ml/mlflow`), with the client's credentials (MLFLOW_TRACKING_TOKEN, or
 * MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD). Routes the server lacks (logged models on
 * 2.x, several on GitLab) are skipped with a warning instead of failing the import. Transient
 * failures (5xx, 429, a dropped connection) are retried with backoff.
 */
export class MlflowRestSource implements MigrationSource {
  readonly description: string;
  readonly key: string;
  readonly warnings: string[] = [];
  private readonly client: TrackingClient;

  constructor(trackingUri: string, env: NodeJS.ProcessEnv = process.env) {
    this.client = new TrackingClient({ trackingUri, env });
    const url = new URL(this.client.baseUrl);
    url.username = '';
    url.password = '';
    this.description = `MLflow tracking server ${url.toString().replace(/\/+$/, '')}`;
    this.key = `mlflow:${url.toString().replace(/\/+$/, '')}`;
  }

  async *experiments(): AsyncIterable<SourceExperiment> {
    let pageToken: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.post<{ experiments?: WireExperiment[]; next_page_token?: string }>(`${API}/experiments/search`, {
          max_results: 1000,
          view_type: 'ALL',
          ...(pageToken ? { page_token: pageToken } : {}),
        }),
      );
      for (const e of page.experiments ?? []) yield experimentFromWire(e);
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
  }

  async *runs(experimentId: string): AsyncIterable<SourceRun> {
    let pageToken: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.post<{ runs?: WireRun[]; next_page_token?: string }>(`${API}/runs/search`, {
          experiment_ids: [experimentId],
          run_view_type: 'ALL',
          max_results: 1000,
          ...(pageToken ? { page_token: pageToken } : {}),
        }),
      );
      for (const r of page.runs ?? []) yield runFromWire(r);
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
  }

  async metricHistory(runId: string, key: string): Promise<MetricRecord[]> {
    const points: MetricRecord[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.get<{ metrics?: WireMetric[]; next_page_token?: string }>(`${API}/metrics/get-history`, {
          run_id: runId,
          metric_key: key,
          max_results: '25000',
          ...(pageToken ? { page_token: pageToken } : {}),
        }),
      );
      for (const m of page.metrics ?? []) points.push(metricFromWire(m));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return points;
  }

  async *loggedModels(experimentIds: string[]): AsyncIterable<SourceLoggedModel> {
    for (let i = 0; i < experimentIds.length; i += 100) {
      const batch = experimentIds.slice(i, i + 100);
      let pageToken: string | undefined;
      do {
        const page = await this.optional('logged-models/search', 'logged models (MLflow 3) were not read', () =>
          this.client.post<{ models?: WireLoggedModel[]; next_page_token?: string }>(`${API}/logged-models/search`, {
            experiment_ids: batch,
            max_results: 100,
            ...(pageToken ? { page_token: pageToken } : {}),
          }),
        );
        if (!page) return;
        for (const m of page.models ?? []) yield loggedModelFromWire(m);
        pageToken = page.next_page_token || undefined;
      } while (pageToken);
    }
  }

  async traceIds(experimentId: string, pageToken: string | undefined): Promise<SourceTracePage> {
    const page = await this.optional('traces/search (MLflow 3)', 'traces were not read', () =>
      this.client.post<{ traces?: Array<Record<string, unknown>>; next_page_token?: string }>(`${API_V3}/traces/search`, {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
        max_results: 100,
        ...(pageToken ? { page_token: pageToken } : {}),
      }),
    );
    if (!page) return { traceIds: [] };
    const listed = (page.traces ?? []).filter((t) => typeof t.trace_id === 'string' && t.trace_id !== '');
    // The listing carries each trace's tags and assessments: an already imported trace is refreshed from it.
    const infos = listed.flatMap((t) => {
      try {
        return [traceInfoInputFrom({ trace: { trace_info: t } })];
      } catch {
        return [];
      }
    });
    return { traceIds: listed.map((t) => t.trace_id as string), infos, nextPageToken: page.next_page_token || undefined };
  }

  /** One trace with its spans: from the tracking store, else from its `traces.json` artifact. */
  async trace(traceId: string): Promise<SourceTrace> {
    const text = await this.call(async () => {
      const response = await this.client.request(this.client.url(`${API_V3}/traces/get?${new URLSearchParams({ trace_id: traceId }).toString()}`));
      const body = await response.text();
      if (!response.ok) throw new TrackingApiError(`GET traces/get failed with HTTP ${response.status}: ${body.slice(0, 200)}`, response.status, undefined);
      return body;
    });
    // Span times are nanoseconds beyond 2^53: quoted before parsing so no digit is lost.
    const trace = (JSON.parse(quoteNanos(text)) as { trace?: { trace_info?: Record<string, unknown>; spans?: unknown[] } }).trace ?? {};
    const info = traceInfoInputFrom({ trace: { trace_info: trace.trace_info } });
    let spans: SpanDict[] = decodeOtlpJson({ resource_spans: [{ scope_spans: [{ spans: trace.spans ?? [] }] }] }).map((span) => spanDictFrom(span));
    if (spans.length === 0 && info.tags[TRACE_TAG.spansLocation] !== SPANS_IN_TRACKING_STORE) {
      // Traces logged by MLflow 2.x clients keep their spans in an artifact only.
      const artifact = await this.optional('get-trace-artifact', 'traces whose spans are kept as artifacts came without spans', async () => {
        const response = await this.client.request(this.client.url(`${API}/get-trace-artifact?${new URLSearchParams({ request_id: traceId }).toString()}`));
        const body = await response.text();
        if (!response.ok) throw new TrackingApiError(`GET get-trace-artifact failed with HTTP ${response.status}: ${body.slice(0, 200)}`, response.status, undefined);
        return body;
      });
      if (artifact !== undefined) spans = spansFromTraceArtifact(artifact);
    }
    return { info, spans };
  }

  async *registeredModels(): AsyncIterable<SourceRegisteredModel> {
    const seen = new Set<string>();
    // MLflow 3 leaves prompts out of a plain search; they are asked for by their tag.
    for (const filter of [undefined, PROMPT_FILTER]) {
      let pageToken: string | undefined;
      do {
        const route = 'registered-models/search';
        const page = await this.optional(route, filter ? 'prompts were not read' : 'the model registry was not read', () =>
          this.client.get<{ registered_models?: WireRegisteredModel[]; next_page_token?: string }>(`${API}/${route}`, {
            max_results: '1000',
            ...(filter ? { filter } : {}),
            ...(pageToken ? { page_token: pageToken } : {}),
          }),
        );
        if (!page) break;
        for (const m of page.registered_models ?? []) {
          if (seen.has(m.name)) continue;
          seen.add(m.name);
          yield registeredModelFromWire(m);
        }
        pageToken = page.next_page_token || undefined;
      } while (pageToken);
    }
  }

  async modelVersions(modelName: string): Promise<SourceModelVersion[]> {
    const wire: WireModelVersion[] = [];
    const seen = new Set<string>();
    const quoted = `'${modelName.replaceAll("'", "\\'")}'`;
    for (const filter of [`name = ${quoted}`, `name = ${quoted} AND ${PROMPT_FILTER}`]) {
      let pageToken: string | undefined;
      do {
        const page = await this.optional('model-versions/search', 'model versions were not read', () =>
          this.client.get<{ model_versions?: WireModelVersion[]; next_page_token?: string }>(`${API}/model-versions/search`, {
            filter,
            max_results: '10000',
            ...(pageToken ? { page_token: pageToken } : {}),
          }),
        );
        if (!page) break;
        for (const v of page.model_versions ?? []) {
          if (v.name !== modelName || seen.has(String(v.version))) continue;
          seen.add(String(v.version));
          wire.push(v);
        }
        pageToken = page.next_page_token || undefined;
      } while (pageToken);
    }
    const versions: SourceModelVersion[] = [];
    for (const v of wire) {
      const download = await this.optional('model-versions/get-download-uri', "versions keep their source as their files' location", () =>
        this.client.get<{ artifact_uri?: string }>(`${API}/model-versions/get-download-uri`, { name: v.name, version: String(v.version) }),
      );
      versions.push(modelVersionFromWire(v, download?.artifact_uri || null));
    }
    return versions;
  }

  async *listArtifacts(root: string, owner: ArtifactOwner): AsyncIterable<SourceArtifact> {
    const proxied = proxiedPath(root);
    if (proxied !== undefined) {
      yield* this.listProxied(proxied, '');
      return;
    }
    const local = localPath(root);
    if (local !== undefined && fs.existsSync(local)) {
      yield* listLocal(local, '');
      return;
    }
    if (owner.kind === 'run') {
      yield* this.listRunArtifacts(owner.id, '');
      return;
    }
    this.warn(`Files at ${root} are neither served by the source's artifact proxy nor on this machine; they were not copied.`);
  }

  async openArtifact(root: string, owner: ArtifactOwner, relative: string): Promise<OpenedArtifact> {
    const proxied = proxiedPath(root);
    if (proxied !== undefined) {
      const full = proxied === '' ? relative : `${proxied}/${relative}`;
      return this.download(`${API.replace('/mlflow', '/mlflow-artifacts')}/artifacts/${full.split('/').map(encodeURIComponent).join('/')}`);
    }
    const local = localPath(root);
    if (local !== undefined && fs.existsSync(local)) {
      const file = path.join(local, ...relative.split('/'));
      const size = (await fs.promises.stat(file)).size;
      return { stream: fs.createReadStream(file), size };
    }
    if (owner.kind === 'run') {
      return this.download(`/get-artifact?${new URLSearchParams({ path: relative, run_uuid: owner.id, run_id: owner.id }).toString()}`);
    }
    throw new Error(`cannot read ${relative} at ${root}`);
  }

  async close(): Promise<void> {}

  // ------------------------------------------------------------------ helpers

  private async *listProxied(base: string, relative: string): AsyncIterable<SourceArtifact> {
    const full = [base, relative].filter((p) => p !== '').join('/');
    const page = await this.call(() =>
      this.client.get<{ files?: Array<{ path: string; is_dir?: boolean; file_size?: number | string }> }>(
        `${API.replace('/mlflow', '/mlflow-artifacts')}/artifacts`,
        full === '' ? {} : { path: full },
      ),
    );
    for (const f of page.files ?? []) {
      // The proxy lists names relative to the folder asked for.
      const name = f.path.split('/').pop() ?? f.path;
      const child = relative === '' ? name : `${relative}/${name}`;
      if (f.is_dir) yield* this.listProxied(base, child);
      else yield { path: child, size: f.file_size === undefined ? null : Number(f.file_size) };
    }
  }

  private async *listRunArtifacts(runId: string, relative: string): AsyncIterable<SourceArtifact> {
    let pageToken: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.get<{ files?: Array<{ path: string; is_dir?: boolean; file_size?: number | string }>; next_page_token?: string }>(`${API}/artifacts/list`, {
          run_id: runId,
          ...(relative ? { path: relative } : {}),
          ...(pageToken ? { page_token: pageToken } : {}),
        }),
      );
      for (const f of page.files ?? []) {
        if (f.is_dir) yield* this.listRunArtifacts(runId, f.path);
        else yield { path: f.path, size: f.file_size === undefined ? null : Number(f.file_size) };
      }
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
  }

  private async download(route: string): Promise<OpenedArtifact> {
    return this.call(async () => {
      const response = await this.client.request(this.client.url(route));
      if (!response.ok || !response.body) {
        const text = await response.text().catch(() => '');
        throw new TrackingApiError(`GET ${route.split('?')[0]} failed with HTTP ${response.status}: ${text.slice(0, 200)}`, response.status, undefined);
      }
      const length = response.headers.get('content-length');
      return { stream: Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), size: length === null ? null : Number(length) };
    });
  }

  /** Retries transient failures (5xx, 429, network) with exponential backoff. */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    return withTransientRetries(work, RETRIES);
  }

  /** A route the source may not serve: on 404/405/501 (no such endpoint), a warning and undefined. */
  private async optional<T>(route: string, consequence: string, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(work);
    } catch (error) {
      if (error instanceof TrackingApiError && isMissingRoute(error)) {
        this.warn(`The source does not serve ${route} (HTTP ${error.status}): ${consequence}.`);
        return undefined;
      }
      throw error;
    }
  }

  private warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }
}

function isMissingRoute(error: TrackingApiError): boolean {
  if (error.status === 405 || error.status === 501) return true;
  if (error.status !== 404) return false;
  // A missing object (RESOURCE_DOES_NOT_EXIST) is an answer; a missing route has no MLflow error code.
  return error.errorCode === undefined || error.errorCode === 'ENDPOINT_NOT_FOUND';
}

function proxiedPath(root: string): string | undefined {
  if (!root.toLowerCase().startsWith('mlflow-artifacts:')) return undefined;
  let rest = root.slice('mlflow-artifacts:'.length).replace(/[?#].*$/, '');
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    rest = slash === -1 ? '' : rest.slice(slash);
  }
  return rest.replace(/^\/+/, '').replace(/\/+$/, '');
}

/** A `file://` URI or a plain absolute path, as the source server recorded it. */
export function localPath(root: string): string | undefined {
  if (root.startsWith('file://')) return fileURLToPath(root);
  if (path.isAbsolute(root)) return root;
  return undefined;
}

/** Every file below a local folder; symlinks are not followed out of it. */
export async function* listLocal(dir: string, relative: string): AsyncIterable<SourceArtifact> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(path.join(dir, ...relative.split('/').filter((s) => s !== '')), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw error;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) yield* listLocal(dir, child);
    else if (entry.isFile()) yield { path: child, size: (await fs.promises.stat(path.join(dir, ...child.split('/')))).size };
  }
}
