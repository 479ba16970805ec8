import type { ImportProgress } from '../../domain/import/import-service.ts';
import type { KeyValue, MetricRecord } from '../../store/tracking-store.ts';
import { answerText, TrackingApiError, TrackingClient, withTransientRetries } from '../models/tracking-client.ts';
import { MLFLOW_MAX_DOUBLE } from '../mlflow-db.ts';
import type { MlflowMetricsTarget } from './mlflow-db-metrics.ts';

export const API = '/api/2.0/mlflow';
const RETRIES = 5;

/**
 * The tags by which `trove export --to` finds, in the target, what an earlier export of the same
 * Trove objects made there (MLflow mints its own run and logged-model ids): set when the object is
 * created, searched on every later export, so a second export updates instead of duplicating.
 */
export const SOURCE_RUN_TAG = 'trove.source_run_id';
export const SOURCE_MODEL_TAG = 'trove.source_model_id';
/** Set on the experiments the export creates (not on those it finds by name): `--delete-missing` judges only these. */
export const SOURCE_EXPERIMENT_TAG = 'trove.source_experiment_id';
/**
 * Set beside those on the runs and experiments the export creates: which Trove store and project
 * they come from (`exportSourceIdentity`), so that an export finds and judges only its own
 * objects when several Troves (or projects) export into one target, even into one experiment.
 */
export const SOURCE_STORE_TAG = 'trove.source_store';
const EXPORT_TAGS = new Set([SOURCE_RUN_TAG, SOURCE_MODEL_TAG, SOURCE_EXPERIMENT_TAG, SOURCE_STORE_TAG]);

/** Whose a target object is: this export's source, another source's, or unmarked (the target's own, or an export made before the mark existed). */
export type Ownership = 'ours' | 'other' | 'unmarked';

export type MappedKind = 'experiment' | 'run' | 'logged model' | 'trace' | 'assessment';

export interface ExportToServerTotals {
  experiments: number;
  /** Runs created in the target. */
  runs: number;
  /** Runs an earlier export had made that got something new (points, tags, files, state). */
  runsUpdated: number;
  /** Runs an earlier export had made that needed nothing. */
  runsUnchanged: number;
  metricPoints: number;
  files: number;
  bytes: number;
  loggedModels: number;
  loggedModelsUnchanged: number;
  registeredModels: number;
  modelVersions: number;
  modelVersionsUnchanged: number;
  /** With --delete-missing: what the target had of an earlier export and Trove no longer has. */
  experimentsDeleted: number;
  runsDeleted: number;
  registeredModelsDeleted: number;
  modelVersionsDeleted: number;
  traces: number;
  tracesUnchanged: number;
  assessments: number;
  /** Old id → the id the target gave, per kind (MLflow mints its own run and model ids). */
  mapping: Array<{ kind: MappedKind; from: string; to: string }>;
  warnings: string[];
  failures: Array<{ what: string; message: string }>;
}

/** Where a run's or logged model's files were and where they are now, to rewrite version sources. */
export interface Root {
  id: string;
  newId: string;
  sourceRoot: string;
  targetRoot: string;
}

/**
 * What the parts of `trove export --to` share: the client for the target (with retries of
 * transient failures), the totals, the id mappings built so far, progress, failures and warnings.
 */
export class ExportContext {
  readonly client: TrackingClient;
  readonly totals: ExportToServerTotals = {
    experiments: 0,
    runs: 0,
    runsUpdated: 0,
    runsUnchanged: 0,
    metricPoints: 0,
    files: 0,
    bytes: 0,
    loggedModels: 0,
    loggedModelsUnchanged: 0,
    registeredModels: 0,
    modelVersions: 0,
    modelVersionsUnchanged: 0,
    experimentsDeleted: 0,
    runsDeleted: 0,
    registeredModelsDeleted: 0,
    modelVersionsDeleted: 0,
    traces: 0,
    tracesUnchanged: 0,
    assessments: 0,
    mapping: [],
    warnings: [],
    failures: [],
  };
  /** Trove run id → the target's. */
  readonly runIds = new Map<string, string>();
  /** Trove logged model id → the target's. */
  readonly modelIds = new Map<string, string>();
  readonly roots: Root[] = [];
  /** Logged models written, by the run that logged them and their name (`runs:/<run>/<name>`). */
  readonly loggedByRun = new Map<string, string>();

  constructor(
    trackingUri: string,
    readonly progress: ImportProgress,
    readonly concurrency: number,
    env: NodeJS.ProcessEnv,
    /** This source's identity, the value of {@link SOURCE_STORE_TAG} on what the export creates. */
    readonly sourceStore: string,
    /** `--target-db`: the target server's database, where the metric histories are written. */
    readonly metricsDb?: MlflowMetricsTarget,
  ) {
    this.client = new TrackingClient({ trackingUri, env });
  }

  /**
   * A POST to the target, retried on transient failures; when the connection broke after it was
   * sent, only if the endpoint is safe to repeat ({@link repeatablePost}).
   */
  post<T = unknown>(endpoint: string, body: Record<string, unknown>): Promise<T> {
    return this.retry(() => this.client.post<T>(`${API}/${endpoint}`, body), repeatablePost(endpoint, body));
  }

  /** A read: always safe to repeat. */
  get<T = unknown>(endpoint: string, query: Record<string, string>): Promise<T> {
    return this.retry(() => this.client.get<T>(`${API}/${endpoint}`, query), true);
  }

  /** An update (PATCH: sets values, safe to repeat) or a delete (DELETE: a repeat would answer 404, so not repeated after a broken connection). */
  async call(method: 'PATCH' | 'DELETE', path: string, body: Record<string, unknown> | undefined): Promise<void> {
    await this.retry(async () => {
      const response = await this.client.request(this.client.url(path), {
        method,
        ...(body ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
      });
      const text = await answerText(response, `${method} ${path}`);
      if (!response.ok) throw new TrackingApiError(`${method} ${path} failed with HTTP ${response.status}: ${text.slice(0, 200)}`, response.status, undefined);
    }, method === 'PATCH');
  }

  /**
   * `work` with retries of transient failures; a connection that broke after the request was sent
   * (reset, broken pipe) is retried only when `repeatable` says the request may reach the target twice.
   */
  retry<T>(work: () => Promise<T>, repeatable: boolean): Promise<T> {
    return withTransientRetries(work, RETRIES, { repeatable });
  }

  /** Whose a target object with these tags is, by its {@link SOURCE_STORE_TAG}. */
  ownership(tags: KeyValue[] | undefined): Ownership {
    const mark = tags?.find((t) => t.key === SOURCE_STORE_TAG)?.value;
    return mark === undefined ? 'unmarked' : mark === this.sourceStore ? 'ours' : 'other';
  }

  map(kind: MappedKind, from: string, to: string): void {
    this.totals.mapping.push({ kind, from, to });
  }

  fail(what: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.totals.failures.push({ what, message });
    this.progress.note(`${what} failed: ${message}`);
  }

  warn(message: string): void {
    if (!this.totals.warnings.includes(message)) this.totals.warnings.push(message);
  }

  /**
   * Tags as the target gets them: the parent-run tag follows the new ids, and export markers a
   * Trove object carries from an earlier trip through MLflow are left out (the target's own mark it).
   */
  remapTags(tags: KeyValue[]): KeyValue[] {
    return tags
      .filter((t) => !EXPORT_TAGS.has(t.key))
      .map((t) => (t.key === 'mlflow.parentRunId' && this.runIds.has(t.value) ? { key: t.key, value: this.runIds.get(t.value)! } : t));
  }

  wireMetric(key: string, p: MetricRecord): Record<string, unknown> {
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

  /** The new id of the logged model a `runs:/<run>/<name>` source means in MLflow 3, if one was written. */
  loggedModelOf(source: string): string | undefined {
    const runs = /^runs:\/([^/]+)\/([^/]+)\/?$/.exec(source);
    return runs ? this.loggedByRun.get(`${runs[1]}/${runs[2]}`) : undefined;
  }

  /** `runs:/<old>/...`, `models:/<old model id>` and locations below a copied root point at the copies. */
  rewriteSource(source: string): string {
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
}

/**
 * POST endpoints of MLflow's API that the target applies once however often the same request
 * comes (checked against MLflow's SQL store): reads and searches; set-tag and friends overwrite
 * with the same value; `runs/update` sets the same status, end time and name; `runs/delete` and
 * `runs/restore` set the same lifecycle stage; `log-inputs` skips a dataset input the run already
 * has; alias and stage transitions set the same state.
 */
const REPEATABLE_POSTS = new Set([
  'runs/search',
  'experiments/search',
  'logged-models/search',
  'experiments/set-experiment-tag',
  'runs/set-tag',
  'runs/update',
  'runs/delete',
  'runs/restore',
  'runs/log-inputs',
  'registered-models/set-tag',
  'model-versions/set-tag',
  'registered-models/alias',
  'model-versions/transition-stage',
]);

/**
 * Whether a POST may reach the target twice without changing what it holds. `runs/log-batch` is,
 * without metrics: MLflow accepts a param logged again with the same value and a tag overwrites
 * itself. With metrics it is not: MLflow's SQL store drops a point it already has, but its file
 * store appends it again (a duplicate point), so a metric batch whose connection broke fails the
 * run, which the next export resumes from the points the target has. Creates (runs, experiments,
 * logged models, registered models, versions) are never repeated: a second one would be a second
 * object (or an "already exists" error); the resume path finds what the first made.
 */
export function repeatablePost(endpoint: string, body: Record<string, unknown>): boolean {
  if (endpoint === 'runs/log-batch') return !Array.isArray(body.metrics) || body.metrics.length === 0;
  return REPEATABLE_POSTS.has(endpoint);
}

/**
 * A metric point's identity in a history: step, timestamp and value (NaN as text). An infinity is
 * the largest double, as MLflow stores it and its API answers it, so Trove's infinity and the
 * target's copy of it are the same point.
 */
export function pointKey(p: { step: number; timestamp: number; value: number }): string {
  const value = p.value === Infinity ? MLFLOW_MAX_DOUBLE : p.value === -Infinity ? -MLFLOW_MAX_DOUBLE : p.value;
  return `${p.step}|${p.timestamp}|${String(value)}`;
}
