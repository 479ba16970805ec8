import { createHash } from 'node:crypto';
import type { ImportProgress } from '../../domain/import/import-service.ts';
import { forEachConcurrent } from '../../domain/import/pool.ts';
import type { ArtifactOwner, MigrationSource, SourceExperiment, SourceLoggedModel, SourceRun } from '../../domain/import/source.ts';
import type { KeyValue, MetricRecord } from '../../store/tracking-store.ts';
import { TrackingApiError, TrackingClient, withTransientRetries } from '../models/tracking-client.ts';
import { exportTrace, TracingUnsupportedError } from './trace-export.ts';

const API = '/api/2.0/mlflow';
const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
/** MLflow's log-batch limits: 1000 metrics, 100 params, 100 tags per request. */
const METRICS_PER_BATCH = 1000;
const PARAMS_PER_BATCH = 100;
const TAGS_PER_BATCH = 100;
const RETRIES = 5;

export interface ExportToServerTotals {
  experiments: number;
  runs: number;
  metricPoints: number;
  files: number;
  bytes: number;
  loggedModels: number;
  registeredModels: number;
  modelVersions: number;
  traces: number;
  assessments: number;
  /** Old id → the id the target gave, per kind (MLflow mints its own run and model ids). */
  mapping: Array<{ kind: 'experiment' | 'run' | 'logged model' | 'trace' | 'assessment'; from: string; to: string }>;
  warnings: string[];
  failures: Array<{ what: string; message: string }>;
}

/** Where a run's or logged model's files were and where they are now, to rewrite version sources. */
interface Root {
  id: string;
  newId: string;
  sourceRoot: string;
  targetRoot: string;
}

interface WireRunInfo {
  run_id: string;
  artifact_uri: string;
}

/**
 * Writes what a {@link MigrationSource} holds into an MLflow tracking server through its REST API
 * (`trove export --to`): experiments (matched by name when the target has them), runs with their
 * params, tags and the full history of every metric (log-batch), inputs, files through the
 * target's artifact proxy, logged models, registered models with their versions (numbers kept by
 * creating and deleting placeholders over gaps), stages, aliases and tags. MLflow mints run and
 * logged model ids itself: the mapping is returned, and parent-run tags, versions' run ids and
 * `runs:/`/`models:/` sources follow it.
 */
export class MlflowRestWriter {
  private readonly client: TrackingClient;
  private readonly totals: ExportToServerTotals = {
    experiments: 0,
    runs: 0,
    metricPoints: 0,
    files: 0,
    bytes: 0,
    loggedModels: 0,
    registeredModels: 0,
    modelVersions: 0,
    traces: 0,
    assessments: 0,
    mapping: [],
    warnings: [],
    failures: [],
  };
  private readonly runIds = new Map<string, string>();
  private readonly modelIds = new Map<string, string>();
  private readonly roots: Root[] = [];
  /** Logged models written, by the run that logged them and their name (`runs:/<run>/<name>`). */
  private readonly loggedByRun = new Map<string, string>();

  constructor(
    trackingUri: string,
    private readonly progress: ImportProgress,
    private readonly concurrency = 4,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.client = new TrackingClient({ trackingUri, env });
  }

  async write(source: MigrationSource): Promise<ExportToServerTotals> {
    const experiments: SourceExperiment[] = [];
    for await (const e of source.experiments()) experiments.push(e);
    const runs: Array<{ run: SourceRun; experimentId: string }> = [];
    const experimentIds = new Map<string, string>();

    this.progress.phase('experiments', { items: experiments.length });
    for (const e of experiments) {
      try {
        const id = await this.experiment(e);
        experimentIds.set(e.experimentId, id);
        for await (const run of source.runs(e.experimentId)) runs.push({ run, experimentId: id });
      } catch (error) {
        this.fail(`experiment '${e.name}'`, error);
      }
      this.progress.item();
    }
    this.progress.endPhase();

    // Runs are created first (ids are needed for parent tags and logged models), then filled.
    this.progress.phase('creating runs', { items: runs.length });
    await forEachConcurrent(runs, this.concurrency, async ({ run, experimentId }) => {
      try {
        const created = await this.post<{ run: { info: WireRunInfo } }>('runs/create', {
          experiment_id: experimentId,
          user_id: run.info.userId,
          start_time: run.info.startTime,
          run_name: run.info.runName,
        });
        this.runIds.set(run.info.runId, created.run.info.run_id);
        this.roots.push({ id: run.info.runId, newId: created.run.info.run_id, sourceRoot: run.info.artifactUri, targetRoot: created.run.info.artifact_uri });
        this.totals.mapping.push({ kind: 'run', from: run.info.runId, to: created.run.info.run_id });
      } catch (error) {
        this.fail(`run ${run.info.runId}`, error);
      }
      this.progress.item();
    });
    this.progress.endPhase();

    const models: SourceLoggedModel[] = [];
    for await (const m of source.loggedModels([...experimentIds.keys()])) models.push(m);
    this.progress.phase('logged models', { items: models.length });
    await forEachConcurrent(models, this.concurrency, async (model) => {
      try {
        await this.loggedModel(source, model, experimentIds);
      } catch (error) {
        this.fail(`logged model ${model.modelId}`, error);
      }
      this.progress.item();
    });
    this.progress.endPhase();

    this.progress.phase('runs', { items: runs.length });
    await forEachConcurrent(runs, this.concurrency, async ({ run }) => {
      const newId = this.runIds.get(run.info.runId);
      try {
        if (newId) await this.fillRun(source, run, newId);
      } catch (error) {
        this.fail(`run ${run.info.runId}`, error);
      }
      this.progress.item();
    });
    this.progress.endPhase();

    await this.traces(source, experimentIds);

    // Deleted experiments last: MLflow does not take runs (or traces) into a deleted experiment.
    for (const e of experiments) {
      const id = experimentIds.get(e.experimentId);
      if (id !== undefined && e.lifecycleStage === 'deleted' && id !== '0') await this.post('experiments/delete', { experiment_id: id }).catch((error: unknown) => this.fail(`experiment '${e.name}'`, error));
    }

    await this.registry(source);
    for (const w of source.warnings) this.warn(w);
    return this.totals;
  }

  // ------------------------------------------------------------------ experiments and runs

  private async experiment(e: SourceExperiment): Promise<string> {
    let id: string | undefined;
    try {
      const found = await this.get<{ experiment: { experiment_id: string; lifecycle_stage: string } }>('experiments/get-by-name', { experiment_name: e.name });
      id = found.experiment.experiment_id;
      if (found.experiment.lifecycle_stage === 'deleted') await this.post('experiments/restore', { experiment_id: id });
      if (e.name !== 'Default') this.warn(`Experiment '${e.name}' already exists in the target (id ${id}); its runs were added to it.`);
    } catch (error) {
      if (!(error instanceof TrackingApiError) || error.errorCode !== 'RESOURCE_DOES_NOT_EXIST') throw error;
    }
    if (id === undefined) {
      id = (await this.post<{ experiment_id: string }>('experiments/create', { name: e.name })).experiment_id;
      this.totals.experiments++;
    }
    for (const tag of e.tags) await this.post('experiments/set-experiment-tag', { experiment_id: id, key: tag.key, value: tag.value });
    if (id !== e.experimentId) this.totals.mapping.push({ kind: 'experiment', from: e.experimentId, to: id });
    return id;
  }

  private async fillRun(source: MigrationSource, run: SourceRun, runId: string): Promise<void> {
    const tags = this.remapTags(run.tags);
    for (let i = 0; i < run.params.length; i += PARAMS_PER_BATCH) await this.post('runs/log-batch', { run_id: runId, params: run.params.slice(i, i + PARAMS_PER_BATCH) });
    for (let i = 0; i < tags.length; i += TAGS_PER_BATCH) await this.post('runs/log-batch', { run_id: runId, tags: tags.slice(i, i + TAGS_PER_BATCH) });
    for (const latest of run.latestMetrics) {
      const points = await source.metricHistory(run.info.runId, latest.key);
      for (let i = 0; i < points.length; i += METRICS_PER_BATCH) {
        await this.post('runs/log-batch', { run_id: runId, metrics: points.slice(i, i + METRICS_PER_BATCH).map((p) => this.wireMetric(latest.key, p)) });
      }
      this.totals.metricPoints += points.length;
      this.progress.points(points.length);
    }
    if (run.datasetInputs.length > 0) {
      await this.post('runs/log-inputs', {
        run_id: runId,
        datasets: run.datasetInputs.map((d) => ({
          tags: d.tags,
          dataset: {
            name: d.dataset.name,
            digest: d.dataset.digest,
            source_type: d.dataset.sourceType,
            source: d.dataset.source,
            ...(d.dataset.schema ? { schema: d.dataset.schema } : {}),
            ...(d.dataset.profile ? { profile: d.dataset.profile } : {}),
          },
        })),
      });
    }
    const root = this.roots.find((r) => r.id === run.info.runId);
    if (root) await this.copyFiles(source, run.info.artifactUri, { kind: 'run', id: run.info.runId }, root.targetRoot, `run ${run.info.runId}`);
    await this.post('runs/update', { run_id: runId, status: run.info.status, ...(run.info.endTime !== null ? { end_time: run.info.endTime } : {}), run_name: run.info.runName });
    if (run.info.lifecycleStage === 'deleted') await this.post('runs/delete', { run_id: runId });
    this.totals.runs++;
  }

  private wireMetric(key: string, p: MetricRecord): Record<string, unknown> {
    const value = Number.isFinite(p.value) ? p.value : String(p.value);
    const modelId = p.modelId ? (this.modelIds.get(p.modelId) ?? p.modelId) : undefined;
    return {
      key,
      value,
      timestamp: p.timestamp,
      step: p.step,
      ...(modelId ? { model_id: modelId } : {}),
      ...(p.datasetName ? { dataset_name: p.datasetName } : {}),
      ...(p.datasetDigest ? { dataset_digest: p.datasetDigest } : {}),
    };
  }

  private remapTags(tags: KeyValue[]): KeyValue[] {
    return tags.map((t) => (t.key === 'mlflow.parentRunId' && this.runIds.has(t.value) ? { key: t.key, value: this.runIds.get(t.value)! } : t));
  }

  // ------------------------------------------------------------------ traces

  /**
   * Every trace of the exported experiments, into the experiment each now has in the target. A
   * target without tracing routes (404) gets no traces and a warning, once.
   */
  private async traces(source: MigrationSource, experimentIds: Map<string, string>): Promise<void> {
    if (!source.traceIds || !source.trace) return;
    const ids: Array<{ traceId: string; experimentId: string }> = [];
    for (const [from, to] of experimentIds) {
      let pageToken: string | undefined;
      do {
        const page = await source.traceIds(from, pageToken);
        for (const traceId of page.traceIds) ids.push({ traceId, experimentId: to });
        pageToken = page.nextPageToken;
      } while (pageToken !== undefined);
    }
    if (ids.length === 0) return;
    let unsupported = false;
    this.progress.phase('traces', { items: ids.length });
    await forEachConcurrent(ids, this.concurrency, async ({ traceId, experimentId }) => {
      try {
        if (unsupported) return;
        const trace = await source.trace!(traceId);
        const written = await exportTrace(this.client, (work) => this.retry(work), trace, experimentId, this.runIds);
        this.totals.traces++;
        this.totals.assessments += written.assessments.length;
        if (written.traceId !== traceId) this.totals.mapping.push({ kind: 'trace', from: traceId, to: written.traceId });
        for (const a of written.assessments) this.totals.mapping.push({ kind: 'assessment', from: a.from, to: a.to });
      } catch (error) {
        if (error instanceof TracingUnsupportedError) {
          unsupported = true;
          this.warn(`The target has no tracing routes (HTTP 404 on ${error.message.includes('/v1/traces') ? '/v1/traces' : '/api/3.0/mlflow/traces'}): ${ids.length} trace(s) were not exported (MLflow 3 servers take them).`);
        } else {
          this.fail(`trace ${traceId}`, error);
        }
      } finally {
        this.progress.item();
      }
    });
    this.progress.endPhase();
  }

  // ------------------------------------------------------------------ files

  /**
   * Streams every file below a source root to the target's artifact proxy, hashing on the way,
   * then checks the target's listing has each file with the size sent.
   */
  private async copyFiles(source: MigrationSource, sourceRoot: string, owner: ArtifactOwner, targetRoot: string, what: string): Promise<void> {
    const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(targetRoot);
    const sent = new Map<string, number>();
    for await (const file of source.listArtifacts(sourceRoot, owner)) {
      if (!proxied) {
        this.warn(`The target stores files at ${targetRoot}, which its artifact proxy does not serve: files were not sent (start it with --serve-artifacts).`);
        return;
      }
      const target = `${proxied[1]!.replace(/\/+$/, '')}/${file.path}`;
      const opened = await source.openArtifact(sourceRoot, owner, file.path);
      const hash = createHash('sha256');
      let bytes = 0;
      const progress = this.progress;
      async function* body(): AsyncGenerator<Uint8Array> {
        for await (const chunk of opened.stream) {
          const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
          hash.update(b);
          bytes += b.length;
          progress.bytes(b.length);
          yield b;
        }
      }
      const response = await this.client.request(this.client.url(`${ARTIFACTS}/${target.split('/').map(encodeURIComponent).join('/')}`), {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: body() as unknown as BodyInit,
        duplex: 'half',
      } as RequestInit & { signal?: AbortSignal });
      if (!response.ok) throw new Error(`${what}: uploading '${file.path}' failed with HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
      await response.arrayBuffer();
      if (file.sha256 && file.sha256 !== hash.digest('hex')) throw new Error(`${what}: '${file.path}' did not match its recorded sha256`);
      if (file.size !== null && file.size !== bytes) throw new Error(`${what}: '${file.path}' had ${bytes} bytes, ${file.size} expected`);
      sent.set(file.path, bytes);
      this.totals.files++;
      this.totals.bytes += bytes;
    }
    if (sent.size > 0 && proxied) await this.checkListing(proxied[1]!.replace(/\/+$/, ''), sent, what);
  }

  /** The target lists every file sent with the size sent. */
  private async checkListing(base: string, sent: Map<string, number>, what: string): Promise<void> {
    const seen = new Map<string, number>();
    const walk = async (relative: string): Promise<void> => {
      const listed = await this.client.get<{ files?: Array<{ path: string; is_dir?: boolean; file_size?: number | string }> }>(ARTIFACTS, { path: relative === '' ? base : `${base}/${relative}` });
      for (const f of listed.files ?? []) {
        const child = relative === '' ? f.path : `${relative}/${f.path}`;
        if (f.is_dir) await walk(child);
        else seen.set(child, Number(f.file_size));
      }
    };
    await walk('');
    for (const [path, size] of sent) {
      if (seen.get(path) !== size) throw new Error(`${what}: the target lists '${path}' with ${seen.get(path) ?? 'no'} bytes after ${size} were sent`);
    }
  }

  // ------------------------------------------------------------------ logged models

  private async loggedModel(source: MigrationSource, model: SourceLoggedModel, experimentIds: Map<string, string>): Promise<void> {
    const experimentId = experimentIds.get(model.experimentId);
    if (experimentId === undefined) return;
    const sourceRunId = model.sourceRunId ? (this.runIds.get(model.sourceRunId) ?? undefined) : undefined;
    const created = await this.post<{ model: { info: { model_id: string; artifact_uri: string } } }>('logged-models', {
      experiment_id: experimentId,
      name: model.name,
      ...(model.modelType ? { model_type: model.modelType } : {}),
      ...(sourceRunId ? { source_run_id: sourceRunId } : {}),
      params: model.params,
      tags: this.remapTags(model.tags),
    });
    const newId = created.model.info.model_id;
    this.modelIds.set(model.modelId, newId);
    if (model.sourceRunId) this.loggedByRun.set(`${model.sourceRunId}/${model.name}`, newId);
    this.totals.mapping.push({ kind: 'logged model', from: model.modelId, to: newId });
    this.roots.push({ id: model.modelId, newId, sourceRoot: model.artifactUri, targetRoot: created.model.info.artifact_uri });
    await this.copyFiles(source, model.artifactUri, { kind: 'logged-model', id: model.modelId }, created.model.info.artifact_uri, `logged model ${model.modelId}`);
    await this.call('PATCH', `${API}/logged-models/${encodeURIComponent(newId)}`, { model_id: newId, status: model.status === 'LOGGED_MODEL_PENDING' ? 'LOGGED_MODEL_PENDING' : model.status });
    if (model.lifecycleStage === 'deleted') await this.call('DELETE', `${API}/logged-models/${encodeURIComponent(newId)}`, undefined);
    this.totals.loggedModels++;
  }

  // ------------------------------------------------------------------ registry

  private async registry(source: MigrationSource): Promise<void> {
    const models = [];
    for await (const m of source.registeredModels()) models.push(m);
    this.progress.phase('registered models', { items: models.length });
    // Longest roots first, so a logged model's folder inside a run's maps to the logged model.
    this.roots.sort((a, b) => b.sourceRoot.length - a.sourceRoot.length);
    await forEachConcurrent(models, this.concurrency, async (model) => {
      try {
        await this.post('registered-models/create', { name: model.name, ...(model.description ? { description: model.description } : {}), tags: model.tags });
        this.totals.registeredModels++;
        const versions = (await source.modelVersions(model.name)).sort((a, b) => a.version - b.version);
        let next = 1;
        for (const v of versions) {
          const runId = v.runId ? this.runIds.get(v.runId) : undefined;
          const mappedModel = v.modelId ? this.modelIds.get(v.modelId) : this.loggedModelOf(v.source);
          // A version of an MLflow 3 logged model: its files are the model's, not the run's, and
          // MLflow takes a model_id only with a source inside that model, so it is registered from
          // `models:/<new model id>` (a `runs:/` source would resolve to the run's empty folder).
          const source = mappedModel && /^runs:\//.test(v.source) ? `models:/${mappedModel}` : this.rewriteSource(v.source);
          const modelId = mappedModel;
          // MLflow numbers versions itself; a number deleted at the source is used up by a placeholder.
          const placeholders: string[] = [];
          while (next < v.version) {
            const p = await this.post<{ model_version: { version: string } }>('model-versions/create', {
              name: model.name,
              source,
              ...(modelId ? { model_id: modelId } : {}),
              description: 'placeholder for a deleted version',
            });
            placeholders.push(p.model_version.version);
            next++;
          }
          for (const p of placeholders) await this.call('DELETE', `${API}/model-versions/delete`, { name: model.name, version: p });
          const created = await this.post<{ model_version: { version: string } }>('model-versions/create', {
            name: model.name,
            source,
            ...(runId ? { run_id: runId } : {}),
            ...(modelId ? { model_id: modelId } : {}),
            ...(v.description ? { description: v.description } : {}),
            tags: v.tags,
          });
          next = Number(created.model_version.version) + 1;
          if (created.model_version.version !== String(v.version)) this.warn(`Version ${v.version} of '${model.name}' became version ${created.model_version.version} in the target.`);
          if (v.currentStage && v.currentStage !== 'None') {
            await this.post('model-versions/transition-stage', { name: model.name, version: created.model_version.version, stage: v.currentStage, archive_existing_versions: false });
          }
          this.totals.modelVersions++;
        }
        for (const alias of model.aliases) await this.post('registered-models/alias', { name: model.name, alias: alias.alias, version: String(alias.version) });
      } catch (error) {
        this.fail(`registered model '${model.name}'`, error);
      }
      this.progress.item();
    });
    this.progress.endPhase();
  }

  /** The new id of the logged model a `runs:/<run>/<name>` source means in MLflow 3, if one was written. */
  private loggedModelOf(source: string): string | undefined {
    const runs = /^runs:\/([^/]+)\/([^/]+)\/?$/.exec(source);
    return runs ? this.loggedByRun.get(`${runs[1]}/${runs[2]}`) : undefined;
  }

  /** `runs:/<old>/...`, `models:/<old model id>` and locations below a copied root point at the copies. */
  private rewriteSource(source: string): string {
    const runs = /^runs:\/([^/]+)(\/.*)?$/.exec(source);
    if (runs) return this.runIds.has(runs[1]!) ? `runs:/${this.runIds.get(runs[1]!)}${runs[2] ?? ''}` : source;
    const models = /^models:\/(m-[^/]+)(\/.*)?$/.exec(source);
    if (models) return this.modelIds.has(models[1]!) ? `models:/${this.modelIds.get(models[1]!)}${models[2] ?? ''}` : source;
    const trimmed = source.replace(/\/+$/, '');
    for (const root of this.roots) {
      const from = root.sourceRoot.replace(/\/+$/, '');
      if (trimmed === from) return root.targetRoot;
      if (trimmed.startsWith(`${from}/`)) return `${root.targetRoot.replace(/\/+$/, '')}${trimmed.slice(from.length)}`;
    }
    return source;
  }

  // ------------------------------------------------------------------ HTTP

  private post<T = unknown>(endpoint: string, body: Record<string, unknown>): Promise<T> {
    return this.retry(() => this.client.post<T>(`${API}/${endpoint}`, body));
  }

  private get<T = unknown>(endpoint: string, query: Record<string, string>): Promise<T> {
    return this.retry(() => this.client.get<T>(`${API}/${endpoint}`, query));
  }

  private async call(method: 'PATCH' | 'DELETE', path: string, body: Record<string, unknown> | undefined): Promise<void> {
    await this.retry(async () => {
      const response = await this.client.request(this.client.url(path), {
        method,
        ...(body ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
      });
      const text = await response.text();
      if (!response.ok) throw new TrackingApiError(`${method} ${path} failed with HTTP ${response.status}: ${text.slice(0, 200)}`, response.status, undefined);
    });
  }

  private async retry<T>(work: () => Promise<T>): Promise<T> {
    return withTransientRetries(work, RETRIES);
  }

  private fail(what: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.totals.failures.push({ what, message });
    this.progress.note(`${what} failed: ${message}`);
  }

  private warn(message: string): void {
    if (!this.totals.warnings.includes(message)) this.totals.warnings.push(message);
  }
}
