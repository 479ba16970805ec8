import { MlflowError } from '../errors.ts';
import type { KeyValue, RunInfoRecord, TrackingStore } from '../../store/tracking-store.ts';
import { UniqueViolationError } from '../../store/store-errors.ts';
import { currentProjectId, DEFAULT_PROJECT } from '../request-context.ts';
import { NO_AUDIT, type AuditChange, type AuditSink } from '../audit/audit-log.ts';
import { projectArtifactPrefix } from '../artifacts/artifact-scope.ts';

/** Bounds of the downsampled-history endpoint. */
export const DOWNSAMPLE_LIMITS = { runs: 100, defaultBuckets: 1000, maxBuckets: 10_000, countExperiments: 1000 } as const;

/** The project of the bare server URL; the request context names the project a call works in. */
export const DEFAULT_PROJECT_ID = DEFAULT_PROJECT.id;

/** Experiment ids whose project is cached; an experiment never changes project. */
const EXPERIMENT_PROJECT_CACHE_MAX = 50_000;

export const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const LOGGED_MODEL_STATUSES = ['LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'] as const;

export interface Clock {
  now(): number;
}

export interface MetricInput {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  modelId?: string | undefined;
  datasetName?: string | undefined;
  datasetDigest?: string | undefined;
}

export interface SearchPage<T> {
  items: T[];
  nextPageToken?: string;
}

/** System tags the server itself writes; they may exceed the user-facing length limits. */
export const RUN_NAME_TAG = 'mlflow.runName';
export const USER_TAG = 'mlflow.user';
export const LOG_MODEL_HISTORY_TAG = 'mlflow.log-model.history';

/**
 * What every part of the tracking service shares: the store, the clock, the audit sink, and the
 * project scoping of experiments and runs. The service is built as a chain of classes, one file
 * per entity (experiments → runs → run logging → metric history → inputs/outputs → logged
 * models), so each file stays small while callers keep using one `TrackingService`.
 *
 * Every call works in the project of the request context: an experiment, run or logged model of
 * another project answers "not found" exactly as one that does not exist. Experiment id `0`
 * (the MLflow client's default) means the project's own `Default` experiment, created on first
 * use outside the default project. Every change is written to the audit log in its transaction.
 */
export class TrackingBase {
  private readonly experimentProjects = new Map<string, number>();

  constructor(
    protected readonly store: TrackingStore,
    protected readonly defaultArtifactRoot: string,
    protected readonly clock: Clock = { now: () => Date.now() },
    protected readonly audit: AuditSink = NO_AUDIT,
  ) {}

  /** Creates experiment "0" ("Default") when the database is new. */
  async initialize(): Promise<void> {
    await this.store.ensureDefaultExperiment(this.artifactLocationFor('0', DEFAULT_PROJECT_ID), this.clock.now());
  }

  /** `<root>/<experiment id>` in the default project, `<root>/projects/<project id>/<experiment id>` in others. */
  artifactLocationFor(experimentId: string, projectId: number = currentProjectId()): string {
    const root = this.defaultArtifactRoot.replace(/\/+$/, '');
    const prefix = projectArtifactPrefix(projectId);
    return prefix === '' ? `${root}/${experimentId}` : `${root}/${prefix}/${experimentId}`;
  }

  /** Runs `work` in a transaction and appends its audit entries to it. */
  protected async audited<T>(work: (store: TrackingStore) => Promise<T>, change: (result: T) => AuditChange | AuditChange[]): Promise<T> {
    return this.store.transaction(async (tx) => {
      const result = await work(tx);
      const changes = change(result);
      await this.audit.record(tx, ...(Array.isArray(changes) ? changes : [changes]));
      return result;
    });
  }

  /** The project an experiment belongs to, or undefined when it does not exist. */
  protected async projectOfExperiment(experimentId: string, store: TrackingStore = this.store): Promise<number | undefined> {
    const cached = this.experimentProjects.get(experimentId);
    if (cached !== undefined) return cached;
    const experiment = await store.getExperiment(experimentId);
    if (!experiment) return undefined;
    this.rememberProject(experiment);
    return experiment.projectId;
  }

  protected rememberProject(experiment: { experimentId: string; projectId: number }): void {
    if (this.experimentProjects.size >= EXPERIMENT_PROJECT_CACHE_MAX) this.experimentProjects.clear();
    this.experimentProjects.set(experiment.experimentId, experiment.projectId);
  }

  protected async inCurrentProject(experimentId: string, store: TrackingStore = this.store): Promise<boolean> {
    return (await this.projectOfExperiment(experimentId, store)) === currentProjectId();
  }

  /**
   * Experiment ids of a request as stored: `0` (and the empty id) name the project's Default
   * experiment. Outside the default project that experiment is created on first use.
   */
  protected async resolveExperimentId(experimentId: string): Promise<string> {
    if (experimentId !== '' && experimentId !== '0') return experimentId;
    const projectId = currentProjectId();
    if (projectId === DEFAULT_PROJECT_ID) return '0';
    const existing = await this.store.getExperimentByName(projectId, DEFAULT_EXPERIMENT_NAME);
    if (existing) return existing.experimentId;
    try {
      return await this.audited(
        (tx) =>
          tx.createExperiment({
            projectId,
            name: DEFAULT_EXPERIMENT_NAME,
            artifactLocation: null,
            artifactLocationFor: (id) => this.artifactLocationFor(id, projectId),
            tags: [],
            now: this.clock.now(),
          }),
        (id) => ({ action: 'experiment.create', entityType: 'experiment', entityId: id, details: { name: DEFAULT_EXPERIMENT_NAME } }),
      );
    } catch (error) {
      if (!(error instanceof UniqueViolationError)) throw error;
      const raced = await this.store.getExperimentByName(projectId, DEFAULT_EXPERIMENT_NAME);
      if (!raced) throw error;
      return raced.experimentId;
    }
  }

  /** Keeps the experiment ids of the current project; others are dropped as unknown ones are. */
  protected async experimentIdsInProject(experimentIds: string[]): Promise<string[]> {
    const kept: string[] = [];
    for (const id of experimentIds) {
      const resolved = id === '0' || id === '' ? await this.resolveExperimentId(id) : id;
      if (await this.inCurrentProject(resolved)) kept.push(resolved);
    }
    return kept;
  }

  /**
   * The run, in the current project. `store` is the transactional store when the check belongs to
   * a write: on SQLite the read then joins the write's group commit instead of waiting for the
   * group in progress to commit first (group-commit.ts), so concurrent writers share one COMMIT.
   */
  protected async runInfo(runId: string, store: TrackingStore = this.store, audit?: AuditChange): Promise<RunInfoRecord> {
    if (!runId) throw MlflowError.invalidParameter("Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.");
    // With `audit` (a write's entry, `store` its transaction) the entry is written with the read:
    // one round trip on PostgreSQL; a failed check rolls it back with the transaction.
    const info = audit ? await store.getRunInfoForWrite(runId, this.audit.entries(audit)) : await store.getRunInfo(runId);
    if (!info || !(await this.inCurrentProject(info.experimentId, store))) throw runNotFound(runId);
    return info;
  }

  protected async activeRun(runId: string, store: TrackingStore = this.store, audit?: AuditChange): Promise<RunInfoRecord> {
    const info = await this.runInfo(runId, store, audit);
    if (info.lifecycleStage !== 'active') {
      throw MlflowError.invalidParameter(
        `The run ${runId} must be in the 'active' state. Current state is ${info.lifecycleStage}.`,
      );
    }
    return info;
  }
}

/** The name of each project's own default experiment (id 0 in the default project). */
export const DEFAULT_EXPERIMENT_NAME = 'Default';

export function experimentExists(name: string): MlflowError {
  return MlflowError.alreadyExists(`Experiment(name=${name}) already exists. Error: experiment names must be unique.`);
}

export function runNotFound(runId: string): MlflowError {
  return MlflowError.notFound(`Run with id=${runId} not found`);
}

export function lastValue(tags: KeyValue[], key: string): string | undefined {
  let value: string | undefined;
  for (const tag of tags) if (tag.key === key) value = tag.value;
  return value;
}
