import fs from 'node:fs';
import path from 'node:path';
import type { DatasetInputRecord, KeyValue, LifecycleStage, MetricRecord } from '../../store/tracking-store.ts';
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
import { spansFromTraceArtifact } from '../../domain/tracing/artifact-spans.ts';
import type { SpanDict } from '../../domain/tracing/spans.ts';
import type { TraceInfoInput } from '../../domain/tracing/trace-service.ts';
import { listLocal, localPath } from './mlflow-rest-source.ts';
import { metaNumber, metaString, parseMetaYaml, type MetaValue } from './meta-yaml.ts';
import { readTraceAssessments } from './mlruns-assessments.ts';

/** MLflow's RunStatus enum as the FileStore writes it (an integer). */
const RUN_STATUS: Record<number, string> = { 1: 'RUNNING', 2: 'SCHEDULED', 3: 'FINISHED', 4: 'FAILED', 5: 'KILLED' };
/** LoggedModelStatus, when written as an integer. */
const MODEL_STATUS: Record<number, string> = { 0: 'LOGGED_MODEL_STATUS_UNSPECIFIED', 1: 'LOGGED_MODEL_PENDING', 2: 'LOGGED_MODEL_READY', 3: 'LOGGED_MODEL_UPLOAD_FAILED' };
const TRACE_PAGE = 100;
/** Folders of an experiment that are not runs. */
const NOT_RUNS = new Set(['tags', 'datasets', 'traces', 'models']);
const TRASH = '.trash';
const REGISTRY = 'models';
const DELETED_INTERNAL = 'Deleted_Internal';

/**
 * An MLflow FileStore folder (`mlruns/`) read directly, no MLflow needed: experiments (and the
 * deleted ones in `.trash`), runs with meta.yaml, params, tags, every line of every metric file,
 * dataset and model inputs, outputs, MLflow 3 logged models, the file-based model registry
 * (`models/`), and the artifacts below each run's (or model's) artifact location on this machine.
 * A folder moved since it was written is handled: artifact locations that no longer exist are
 * looked for at the same place inside the folder.
 */
export class MlrunsSource implements MigrationSource {
  readonly description: string;
  readonly key: string;
  readonly warnings: string[] = [];
  private readonly root: string;
  /** Run id → its folder, filled while runs are listed. */
  private readonly runDirs = new Map<string, string>();
  /** Logged model id → its folder. */
  private readonly modelDirs = new Map<string, string>();
  private readonly traceDirs = new Map<string, string>();

  constructor(root: string) {
    this.root = path.resolve(root);
    if (!fs.existsSync(this.root) || !fs.statSync(this.root).isDirectory()) throw new Error(`No mlruns folder at ${this.root}.`);
    this.description = `MLflow file store ${this.root}`;
    this.key = `mlruns:${this.root}`;
  }

  async *experiments(): AsyncIterable<SourceExperiment> {
    for (const dir of this.experimentDirs()) {
      const meta = readMeta(dir);
      if (!meta) continue;
      const id = metaString(meta, 'experiment_id') ?? path.basename(dir);
      const inTrash = path.basename(path.dirname(dir)) === TRASH;
      yield {
        experimentId: id,
        name: metaString(meta, 'name') ?? id,
        artifactLocation: metaString(meta, 'artifact_location') ?? '',
        lifecycleStage: inTrash || metaString(meta, 'lifecycle_stage') === 'deleted' ? 'deleted' : 'active',
        creationTime: metaNumber(meta, 'creation_time') ?? 0,
        lastUpdateTime: metaNumber(meta, 'last_update_time') ?? metaNumber(meta, 'creation_time') ?? 0,
        tags: await readKeyValues(path.join(dir, 'tags')),
      };
    }
  }

  async *runs(experimentId: string): AsyncIterable<SourceRun> {
    const dir = this.experimentDir(experimentId);
    if (!dir) return;
    for (const entry of subdirs(dir)) {
      if (NOT_RUNS.has(entry)) continue;
      const runDir = path.join(dir, entry);
      const meta = readMeta(runDir);
      if (!meta) continue;
      const runId = metaString(meta, 'run_id') ?? metaString(meta, 'run_uuid') ?? entry;
      this.runDirs.set(runId, runDir);
      const status = meta.status;
      const tags = await readKeyValues(path.join(runDir, 'tags'));
      const metrics: MetricRecord[] = [];
      for (const key of await listKeys(path.join(runDir, 'metrics'))) {
        const points = await readMetricFile(path.join(runDir, 'metrics', ...key.split('/')), key, 'run');
        const latest = latestOf(points);
        if (latest) metrics.push(latest);
      }
      yield {
        info: {
          runId,
          runName: metaString(meta, 'run_name') ?? tags.find((t) => t.key === 'mlflow.runName')?.value ?? '',
          experimentId,
          userId: metaString(meta, 'user_id') ?? '',
          status: typeof status === 'number' ? (RUN_STATUS[status] ?? 'RUNNING') : typeof status === 'string' ? status : 'RUNNING',
          startTime: metaNumber(meta, 'start_time') ?? 0,
          endTime: metaNumber(meta, 'end_time'),
          lifecycleStage: (metaString(meta, 'lifecycle_stage') === 'deleted' ? 'deleted' : 'active') as LifecycleStage,
          artifactUri: metaString(meta, 'artifact_uri') ?? path.join(runDir, 'artifacts'),
        },
        params: await readKeyValues(path.join(runDir, 'params')),
        tags,
        latestMetrics: metrics,
        datasetInputs: this.datasetInputs(dir, runDir),
        modelInputs: this.vertices(path.join(runDir, 'inputs'), 'MODEL').map((v) => v.id),
        modelOutputs: subdirs(path.join(runDir, 'outputs')).flatMap((id) => {
          const out = readMeta(path.join(runDir, 'outputs', id));
          return out ? [{ modelId: metaString(out, 'source_id') ?? id, step: metaNumber(out, 'step') ?? 0 }] : [];
        }),
      };
    }
  }

  async metricHistory(runId: string, key: string): Promise<MetricRecord[]> {
    const runDir = this.runDirs.get(runId);
    if (!runDir) throw new Error(`run ${runId} was not listed`);
    return readMetricFile(path.join(runDir, 'metrics', ...key.split('/')), key, 'run');
  }

  async *loggedModels(experimentIds: string[]): AsyncIterable<SourceLoggedModel> {
    for (const experimentId of experimentIds) {
      const dir = this.experimentDir(experimentId);
      if (!dir) continue;
      const modelsDir = path.join(dir, 'models');
      for (const id of subdirs(modelsDir)) {
        const modelDir = path.join(modelsDir, id);
        const meta = readMeta(modelDir);
        if (!meta) continue;
        const modelId = metaString(meta, 'model_id') ?? id;
        this.modelDirs.set(modelId, modelDir);
        const metrics: MetricRecord[] = [];
        for (const key of await listKeys(path.join(modelDir, 'metrics'))) {
          metrics.push(...(await readMetricFile(path.join(modelDir, 'metrics', ...key.split('/')), key, 'model')));
        }
        const status = meta.status;
        yield {
          modelId,
          experimentId,
          name: metaString(meta, 'name') ?? '',
          artifactUri: metaString(meta, 'artifact_location') ?? path.join(modelDir, 'artifacts'),
          creationTimestamp: metaNumber(meta, 'creation_timestamp') ?? 0,
          lastUpdatedTimestamp: metaNumber(meta, 'last_updated_timestamp') ?? metaNumber(meta, 'creation_timestamp') ?? 0,
          status: typeof status === 'number' ? (MODEL_STATUS[status] ?? 'LOGGED_MODEL_READY') : normaliseModelStatus(metaString(meta, 'status')),
          statusMessage: metaString(meta, 'status_message'),
          creatorId: metaString(meta, 'creator_id'),
          modelType: metaString(meta, 'model_type'),
          sourceRunId: metaString(meta, 'source_run_id'),
          lifecycleStage: metaString(meta, 'lifecycle_stage') === 'deleted' ? 'deleted' : 'active',
          tags: await readKeyValues(path.join(modelDir, 'tags')),
          params: await readKeyValues(path.join(modelDir, 'params')),
          metrics,
        };
      }
    }
  }

  async *registeredModels(): AsyncIterable<SourceRegisteredModel> {
    const registry = path.join(this.root, REGISTRY);
    for (const entry of subdirs(registry)) {
      const dir = path.join(registry, entry);
      const meta = readMeta(dir);
      if (!meta) continue;
      // Aliases are files in aliases/ (older MLflow) or a map in meta.yaml (newer).
      const aliases = (await readKeyValues(path.join(dir, 'aliases'))).map((a) => ({ alias: a.key, version: Number(a.value.trim()) }));
      const inMeta = meta.aliases;
      if (inMeta && typeof inMeta === 'object' && !Array.isArray(inMeta)) {
        for (const [alias, version] of Object.entries(inMeta)) if (!aliases.some((a) => a.alias === alias)) aliases.push({ alias, version: Number(version) });
      }
      yield {
        name: metaString(meta, 'name') ?? entry,
        description: metaString(meta, 'description'),
        creationTimestamp: metaNumber(meta, 'creation_timestamp') ?? 0,
        lastUpdatedTimestamp: metaNumber(meta, 'last_updated_timestamp') ?? metaNumber(meta, 'creation_timestamp') ?? 0,
        userId: metaString(meta, 'user_id'),
        tags: await readKeyValues(path.join(dir, 'tags')),
        aliases,
      };
    }
  }

  async modelVersions(modelName: string): Promise<SourceModelVersion[]> {
    const registry = path.join(this.root, REGISTRY);
    const dir = subdirs(registry)
      .map((e) => path.join(registry, e))
      .find((d) => (metaString(readMeta(d) ?? {}, 'name') ?? path.basename(d)) === modelName);
    if (!dir) return [];
    const versions: SourceModelVersion[] = [];
    for (const entry of subdirs(dir)) {
      if (!entry.startsWith('version-')) continue;
      const versionDir = path.join(dir, entry);
      const meta = readMeta(versionDir);
      if (!meta) continue;
      const stage = metaString(meta, 'current_stage') ?? 'None';
      if (stage === DELETED_INTERNAL) continue;
      versions.push({
        name: modelName,
        version: metaNumber(meta, 'version') ?? Number(entry.slice('version-'.length)),
        creationTimestamp: metaNumber(meta, 'creation_timestamp') ?? 0,
        lastUpdatedTimestamp: metaNumber(meta, 'last_updated_timestamp') ?? metaNumber(meta, 'creation_timestamp') ?? 0,
        userId: metaString(meta, 'user_id'),
        currentStage: stage,
        description: metaString(meta, 'description'),
        source: metaString(meta, 'source') ?? '',
        runId: metaString(meta, 'run_id') || null,
        runLink: metaString(meta, 'run_link') || null,
        status: metaString(meta, 'status') ?? 'READY',
        statusMessage: metaString(meta, 'status_message') || null,
        modelId: metaString(meta, 'model_id') || null,
        tags: await readKeyValues(path.join(versionDir, 'tags')),
        storageLocation: metaString(meta, 'storage_location'),
      });
    }
    return versions;
  }

  async *listArtifacts(root: string, owner: ArtifactOwner): AsyncIterable<SourceArtifact> {
    const dir = this.artifactDir(root, owner);
    if (dir === undefined) {
      this.warn(`Files at ${root} are not on this machine; they were not copied.`);
      return;
    }
    yield* listLocal(dir, '');
  }

  async openArtifact(root: string, owner: ArtifactOwner, relative: string): Promise<OpenedArtifact> {
    const dir = this.artifactDir(root, owner);
    if (dir === undefined) throw new Error(`files at ${root} are not on this machine`);
    const file = path.join(dir, ...relative.split('/'));
    const size = (await fs.promises.stat(file)).size;
    return { stream: fs.createReadStream(file), size };
  }

  /**
   * Traces (MLflow 3 file store): `<experiment>/traces/<trace id>/` holds `trace_info.yaml`,
   * `tags/` and `request_metadata/` (a file per key), the spans in `artifacts/traces.json` and
   * the assessments in `assessments/*.yaml`.
   */
  async traceIds(experimentId: string, pageToken: string | undefined): Promise<SourceTracePage> {
    const dir = this.experimentDir(experimentId);
    if (!dir) return { traceIds: [] };
    const all = subdirs(path.join(dir, 'traces'));
    for (const id of all) this.traceDirs.set(id, path.join(dir, 'traces', id));
    const start = pageToken === undefined ? 0 : Number(pageToken);
    const end = start + TRACE_PAGE;
    return { traceIds: all.slice(start, end), ...(end < all.length ? { nextPageToken: String(end) } : {}) };
  }

  async trace(traceId: string): Promise<SourceTrace> {
    const dir = this.traceDirs.get(traceId);
    if (!dir) throw new Error(`trace ${traceId} is not in ${this.root}`);
    const meta = parseMetaYaml(await fs.promises.readFile(path.join(dir, 'trace_info.yaml'), 'utf8'));
    const requestTime = Date.parse(metaString(meta, 'request_time') ?? '');
    if (!Number.isFinite(requestTime)) throw new Error(`trace ${traceId}: trace_info.yaml has no request_time`);
    const state = metaString(meta, 'state') ?? 'STATE_UNSPECIFIED';
    const record = (list: KeyValue[]) => Object.fromEntries(list.map((kv) => [kv.key, kv.value]));
    let spans: SpanDict[] = [];
    const spansFile = path.join(dir, 'artifacts', 'traces.json');
    if (fs.existsSync(spansFile)) spans = spansFromTraceArtifact(await fs.promises.readFile(spansFile, 'utf8'));
    const info: TraceInfoInput = {
      traceId,
      experimentId: '',
      requestTime,
      executionDuration: metaNumber(meta, 'execution_duration_ms'),
      state: (['OK', 'ERROR', 'IN_PROGRESS'].includes(state) ? state : 'STATE_UNSPECIFIED') as TraceInfoInput['state'],
      clientRequestId: metaString(meta, 'client_request_id'),
      requestPreview: metaString(meta, 'request_preview'),
      responsePreview: metaString(meta, 'response_preview'),
      metadata: record(await readKeyValues(path.join(dir, 'request_metadata'))),
      tags: record(await readKeyValues(path.join(dir, 'tags'))),
      assessments: await readTraceAssessments(dir),
    };
    return { info, spans };
  }

  async close(): Promise<void> {}

  // ------------------------------------------------------------------ helpers

  private experimentDirs(): string[] {
    const active = subdirs(this.root).filter((e) => e !== TRASH && e !== REGISTRY && !e.startsWith('.')).map((e) => path.join(this.root, e));
    const trash = subdirs(path.join(this.root, TRASH)).map((e) => path.join(this.root, TRASH, e));
    return [...active, ...trash].filter((d) => fs.existsSync(path.join(d, 'meta.yaml')));
  }

  private experimentDir(experimentId: string): string | undefined {
    for (const candidate of [path.join(this.root, experimentId), path.join(this.root, TRASH, experimentId)]) {
      if (fs.existsSync(path.join(candidate, 'meta.yaml'))) return candidate;
    }
    return undefined;
  }

  /** The folder holding an owner's files: its recorded location, else the same place in this folder. */
  private artifactDir(root: string, owner: ArtifactOwner): string | undefined {
    const recorded = localPath(root) ?? (root !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(root) ? path.resolve(root) : undefined);
    if (recorded !== undefined && fs.existsSync(recorded)) return recorded;
    const ownerDir = owner.kind === 'run' ? this.runDirs.get(owner.id) : owner.kind === 'logged-model' ? this.modelDirs.get(owner.id) : undefined;
    if (ownerDir !== undefined) {
      const inside = path.join(ownerDir, 'artifacts');
      return fs.existsSync(inside) ? inside : recorded === undefined ? undefined : inside;
    }
    return undefined;
  }

  private datasetInputs(experimentDir: string, runDir: string): DatasetInputRecord[] {
    return this.vertices(path.join(runDir, 'inputs'), 'DATASET').flatMap((input) => {
      const meta = readMeta(path.join(experimentDir, 'datasets', input.id));
      if (!meta) {
        this.warn(`A dataset input of run ${path.basename(runDir)} names dataset ${input.id}, which is missing; it was left out.`);
        return [];
      }
      return [
        {
          tags: input.tags,
          dataset: {
            name: metaString(meta, 'name') ?? '',
            digest: metaString(meta, 'digest') ?? '',
            sourceType: metaString(meta, 'source_type') ?? '',
            source: metaString(meta, 'source') ?? '',
            schema: metaString(meta, 'schema'),
            profile: metaString(meta, 'profile'),
          },
        },
      ];
    });
  }

  /** The input records of a run of one kind (`DATASET` or `MODEL`). */
  private vertices(inputsDir: string, type: string): Array<{ id: string; tags: KeyValue[] }> {
    return subdirs(inputsDir).flatMap((entry) => {
      const meta = readMeta(path.join(inputsDir, entry));
      if (!meta || metaString(meta, 'source_type') !== type) return [];
      const tags = meta.tags && typeof meta.tags === 'object' && !Array.isArray(meta.tags) ? meta.tags : {};
      return [{ id: metaString(meta, 'source_id') ?? entry, tags: Object.entries(tags).map(([key, value]) => ({ key, value: String(value ?? '') })) }];
    });
  }

  private warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }
}

function normaliseModelStatus(status: string | null): string {
  if (status === null) return 'LOGGED_MODEL_READY';
  return status.startsWith('LOGGED_MODEL_') ? status : `LOGGED_MODEL_${status.toUpperCase()}`;
}

function subdirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

function readMeta(dir: string): Record<string, MetaValue> | undefined {
  try {
    return parseMetaYaml(fs.readFileSync(path.join(dir, 'meta.yaml'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Keys of a params/tags/metrics folder: file paths relative to it (a key with `/` is a subfolder). */
async function listKeys(dir: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const file of listLocal(dir, '')) keys.push(file.path);
  return keys;
}

async function readKeyValues(dir: string): Promise<KeyValue[]> {
  const out: KeyValue[] = [];
  for (const key of await listKeys(dir)) out.push({ key, value: await fs.promises.readFile(path.join(dir, ...key.split('/')), 'utf8') });
  return out;
}

/**
 * One metric file: a line per point, `<timestamp> <value> <step>` (older files lack the step;
 * newer ones may add the dataset name and digest). A logged model's lines also carry the run id.
 */
async function readMetricFile(file: string, key: string, owner: 'run' | 'model'): Promise<MetricRecord[]> {
  const text = await fs.promises.readFile(file, 'utf8');
  const points: MetricRecord[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(' ');
    if (parts.length < 2 || parts[0] === '') continue;
    if (owner === 'run') {
      points.push({
        key,
        timestamp: Number(parts[0]),
        value: Number(parts[1]),
        step: parts.length >= 3 ? Number(parts[2]) : 0,
        ...(parts.length === 5 ? { datasetName: parts[3]!, datasetDigest: parts[4]! } : {}),
      });
    } else {
      points.push({
        key,
        timestamp: Number(parts[0]),
        value: Number(parts[1]),
        step: Number(parts[2] ?? 0),
        ...(parts[3] ? { runId: parts[3] } : {}),
        ...(parts.length === 6 ? { datasetName: parts[4]!, datasetDigest: parts[5]! } : {}),
      });
    }
  }
  return points;
}

/** The point MLflow reports as a metric's value: highest step, then timestamp, then value. */
function latestOf(points: MetricRecord[]): MetricRecord | undefined {
  let best: MetricRecord | undefined;
  for (const p of points) {
    if (!best || p.step > best.step || (p.step === best.step && (p.timestamp > best.timestamp || (p.timestamp === best.timestamp && p.value > best.value)))) best = p;
  }
  return best;
}
