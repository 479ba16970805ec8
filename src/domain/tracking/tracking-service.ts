import { randomBytes } from 'node:crypto';
import { MlflowError } from '../errors.ts';
import { decodePageToken, encodePageToken } from '../page-token.ts';
import {
  parseExperimentFilter,
  parseExperimentOrderBy,
  parseLoggedModelFilter,
  parseLoggedModelOrderBy,
  parseRunFilter,
  parseRunOrderBy,
} from '../search/index.ts';
import type { LoggedModelOrderByInput } from '../search/types.ts';
import type {
  DatasetInputRecord,
  DownsampledSeries,
  ExperimentRecord,
  KeyValue,
  LoggedModelRecord,
  MetricRecord,
  RunInfoRecord,
  RunRecord,
  TrackingStore,
  ViewType,
} from '../../store/tracking-store.ts';
import { UniqueViolationError } from '../../store/store-errors.ts';
import { randomRunName } from './run-names.ts';
import { currentProjectId, DEFAULT_PROJECT } from '../request-context.ts';
import { NO_AUDIT, type AuditChange, type AuditSink } from '../audit/audit-log.ts';
import { checkProxiedLocation, projectArtifactPrefix } from '../artifacts/artifact-scope.ts';
import {
  LIMITS,
  validateExperimentName,
  validateLength,
  validateMetricValue,
  validateParamOrMetricName,
  validateParamValue,
  validateRunTagValue,
  validateSearchMaxResults,
  validateTagKey,
} from './validation.ts';

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
const RUN_NAME_TAG = 'mlflow.runName';
const USER_TAG = 'mlflow.user';
const LOG_MODEL_HISTORY_TAG = 'mlflow.log-model.history';

/**
 * The tracking rules: experiment and run lifecycle, param immutability, metric history, run
 * search, datasets, and MLflow 3 logged models. Everything here is transport-free; the HTTP
 * layer parses requests into these calls and presents the records it gets back.
 *
 * Every call works in the project of the request context: an experiment, run or logged model of
 * another project answers "not found" exactly as one that does not exist. Experiment id `0`
 * (the MLflow client's default) means the project's own `Default` experiment, created on first
 * use outside the default project. Every change is written to the audit log in its transaction.
 */
export class TrackingService {
  private readonly experimentProjects = new Map<string, number>();

  constructor(
    private readonly store: TrackingStore,
    private readonly defaultArtifactRoot: string,
    private readonly clock: Clock = { now: () => Date.now() },
    private readonly audit: AuditSink = NO_AUDIT,
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
  private async audited<T>(work: (store: TrackingStore) => Promise<T>, change: (result: T) => AuditChange | AuditChange[]): Promise<T> {
    return this.store.transaction(async (tx) => {
      const result = await work(tx);
      const changes = change(result);
      await this.audit.record(tx, ...(Array.isArray(changes) ? changes : [changes]));
      return result;
    });
  }

  /** The project an experiment belongs to, or undefined when it does not exist. */
  private async projectOfExperiment(experimentId: string): Promise<number | undefined> {
    const cached = this.experimentProjects.get(experimentId);
    if (cached !== undefined) return cached;
    const experiment = await this.store.getExperiment(experimentId);
    if (!experiment) return undefined;
    this.rememberProject(experiment);
    return experiment.projectId;
  }

  private rememberProject(experiment: { experimentId: string; projectId: number }): void {
    if (this.experimentProjects.size >= EXPERIMENT_PROJECT_CACHE_MAX) this.experimentProjects.clear();
    this.experimentProjects.set(experiment.experimentId, experiment.projectId);
  }

  private async inCurrentProject(experimentId: string): Promise<boolean> {
    return (await this.projectOfExperiment(experimentId)) === currentProjectId();
  }

  /**
   * Experiment ids of a request as stored: `0` (and the empty id) name the project's Default
   * experiment. Outside the default project that experiment is created on first use.
   */
  private async resolveExperimentId(experimentId: string): Promise<string> {
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
  private async experimentIdsInProject(experimentIds: string[]): Promise<string[]> {
    const kept: string[] = [];
    for (const id of experimentIds) {
      const resolved = id === '0' || id === '' ? await this.resolveExperimentId(id) : id;
      if (await this.inCurrentProject(resolved)) kept.push(resolved);
    }
    return kept;
  }

  // ------------------------------------------------------------------ experiments

  async createExperiment(input: { name: unknown; artifactLocation?: string | undefined; tags?: KeyValue[] | undefined }): Promise<string> {
    const name = validateExperimentName(input.name);
    const tags = input.tags ?? [];
    for (const tag of tags) this.validateExperimentTag(tag);
    let artifactLocation: string | null = null;
    if (input.artifactLocation !== undefined && input.artifactLocation !== '') {
      artifactLocation = validateArtifactLocation(input.artifactLocation);
      checkProxiedLocation(artifactLocation);
    }
    const projectId = currentProjectId();
    const existing = await this.store.getExperimentByName(projectId, name);
    if (existing) throw experimentExists(name);
    try {
      return await this.audited(
        (tx) =>
          tx.createExperiment({
            projectId,
            name,
            artifactLocation,
            artifactLocationFor: (id) => this.artifactLocationFor(id, projectId),
            tags,
            now: this.clock.now(),
          }),
        (id) => ({ action: 'experiment.create', entityType: 'experiment', entityId: id, details: { name } }),
      );
    } catch (error) {
      if (error instanceof UniqueViolationError) throw experimentExists(name);
      throw error;
    }
  }

  async getExperiment(experimentId: string): Promise<ExperimentRecord> {
    const experiment = await this.store.getExperiment(await this.resolveExperimentId(experimentId));
    if (!experiment || experiment.projectId !== currentProjectId()) throw MlflowError.notFound(`No Experiment with id=${experimentId} exists`);
    this.rememberProject(experiment);
    return experiment;
  }

  async getExperimentByName(name: string): Promise<ExperimentRecord> {
    const experiment = await this.store.getExperimentByName(currentProjectId(), name);
    if (!experiment) throw MlflowError.notFound(`Could not find experiment with name '${name}'`);
    return experiment;
  }

  async searchExperiments(input: {
    maxResults?: number | undefined;
    pageToken?: string | undefined;
    filter?: string | undefined;
    orderBy?: string[] | undefined;
    viewType?: ViewType | undefined;
  }): Promise<SearchPage<ExperimentRecord>> {
    const maxResults = input.maxResults ?? LIMITS.searchDefaultResults;
    validateSearchMaxResults(maxResults);
    const filter = parseExperimentFilter(input.filter);
    const orderBy = parseExperimentOrderBy(input.orderBy);
    const page = await this.store.searchExperiments({
      projectId: currentProjectId(),
      filter,
      orderBy,
      viewType: input.viewType ?? 'ACTIVE_ONLY',
      maxResults,
      page: decodePageToken(input.pageToken),
    });
    return page.next ? { items: page.items, nextPageToken: encodePageToken(page.next) } : { items: page.items };
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    const experiment = await this.getExperiment(experimentId);
    if (experiment.lifecycleStage !== 'active') {
      throw MlflowError.notFound(`Cannot delete non-active experiment with id=${experimentId}`);
    }
    await this.audited(
      (tx) => tx.setExperimentLifecycle(experiment.experimentId, 'deleted', this.clock.now()),
      () => ({ action: 'experiment.delete', entityType: 'experiment', entityId: experiment.experimentId, details: { name: experiment.name } }),
    );
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    const experiment = await this.getExperiment(experimentId);
    if (experiment.lifecycleStage !== 'deleted') {
      throw MlflowError.notFound(`Cannot restore an active experiment with id=${experimentId}`);
    }
    await this.audited(
      (tx) => tx.setExperimentLifecycle(experiment.experimentId, 'active', this.clock.now()),
      () => ({ action: 'experiment.restore', entityType: 'experiment', entityId: experiment.experimentId, details: { name: experiment.name } }),
    );
  }

  async renameExperiment(experimentId: string, newName: unknown): Promise<void> {
    const experiment = await this.getExperiment(experimentId);
    if (newName === undefined || newName === null || newName === '') return;
    const name = validateExperimentName(newName);
    if (experiment.lifecycleStage !== 'active') {
      throw MlflowError.invalidParameter('Cannot rename a non-active experiment.');
    }
    if (name === experiment.name) return;
    const clash = await this.store.getExperimentByName(experiment.projectId, name);
    if (clash) throw experimentExists(name);
    try {
      await this.audited(
        (tx) => tx.renameExperiment(experiment.experimentId, name, this.clock.now()),
        () => ({ action: 'experiment.rename', entityType: 'experiment', entityId: experiment.experimentId, details: { name, previous_name: experiment.name } }),
      );
    } catch (error) {
      if (error instanceof UniqueViolationError) throw experimentExists(name);
      throw error;
    }
  }

  async setExperimentTag(experimentId: string, tag: KeyValue): Promise<void> {
    this.validateExperimentTag(tag);
    const experiment = await this.activeExperiment(experimentId);
    await this.audited(
      (tx) => tx.setExperimentTag(experiment.experimentId, tag),
      () => ({ action: 'experiment.set_tag', entityType: 'experiment', entityId: experiment.experimentId, details: { key: tag.key } }),
    );
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    const experiment = await this.activeExperiment(experimentId);
    const deleted = await this.audited(
      (tx) => tx.deleteExperimentTag(experiment.experimentId, key),
      () => ({ action: 'experiment.delete_tag', entityType: 'experiment', entityId: experiment.experimentId, details: { key } }),
    );
    if (!deleted) throw MlflowError.notFound(`No tag with name: ${key} in experiment with id ${experimentId}`);
  }

  private validateExperimentTag(tag: KeyValue): void {
    validateTagKey(tag.key);
    validateLength(tag.value, LIMITS.experimentTagValue, 'value');
  }

  private async activeExperiment(experimentId: string): Promise<ExperimentRecord> {
    const experiment = await this.getExperiment(experimentId);
    if (experiment.lifecycleStage !== 'active') {
      throw MlflowError.invalidParameter(
        `The experiment ${experimentId} must be in the 'active' state. Current state is ${experiment.lifecycleStage}.`,
      );
    }
    return experiment;
  }

  // ------------------------------------------------------------------ runs

  async createRun(input: {
    experimentId?: string | undefined;
    userId?: string | undefined;
    runName?: string | undefined;
    startTime?: number | undefined;
    tags?: KeyValue[] | undefined;
  }): Promise<RunRecord> {
    const experimentId = input.experimentId === undefined || input.experimentId === '' ? '0' : input.experimentId;
    const experiment = await this.activeExperiment(experimentId);
    const tags = [...(input.tags ?? [])];
    for (const tag of tags) {
      validateTagKey(tag.key);
      validateRunTagValue(tag.key, tag.value);
    }
    const tagName = lastValue(tags, RUN_NAME_TAG);
    if (input.runName && tagName !== undefined && tagName !== input.runName) {
      throw MlflowError.invalidParameter(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${input.runName}', mlflow.runName='${tagName}').`,
      );
    }
    const runName = input.runName || tagName || randomRunName();
    if (tagName === undefined) tags.push({ key: RUN_NAME_TAG, value: runName });
    const userId = input.userId || lastValue(tags, USER_TAG) || '';
    const runId = randomBytes(16).toString('hex');
    await this.audited(
      (tx) =>
        tx.createRun({
          runId,
          experimentId: experiment.experimentId,
          name: runName,
          userId,
          status: 'RUNNING',
          startTime: input.startTime ?? this.clock.now(),
          artifactUri: `${experiment.artifactLocation.replace(/\/+$/, '')}/${runId}/artifacts`,
          tags,
        }),
      () => ({ action: 'run.create', entityType: 'run', entityId: runId, details: { experiment_id: experiment.experimentId, run_name: runName } }),
    );
    return this.getRun(runId);
  }

  async getRun(runId: string): Promise<RunRecord> {
    const run = await this.store.getRun(runId);
    if (!run || !(await this.inCurrentProject(run.info.experimentId))) throw runNotFound(runId);
    return run;
  }

  async getRunArtifactUri(runId: string): Promise<string> {
    return (await this.runInfo(runId)).artifactUri;
  }

  async updateRun(input: { runId: string; status?: string | undefined; endTime?: number | undefined; runName?: string | undefined }): Promise<RunInfoRecord> {
    const info = await this.activeRun(input.runId);
    const update: { status?: string; endTime?: number | null; name?: string } = {};
    if (input.status !== undefined) update.status = parseRunStatus(input.status);
    // MLflow stores end_time as given; an update without one (a rename, a resume) clears it.
    update.endTime = input.endTime ?? null;
    if (input.runName) update.name = input.runName;
    await this.store.transaction(async (store) => {
      await store.updateRunInfo(info.pk, update);
      if (input.runName) await store.setRunTags(info.pk, [{ key: RUN_NAME_TAG, value: input.runName }]);
      await this.audit.record(store, {
        action: 'run.update',
        entityType: 'run',
        entityId: info.runId,
        details: { ...(update.status !== undefined ? { status: update.status } : {}), ...(input.runName ? { run_name: input.runName } : {}) },
      });
    });
    return this.runInfo(input.runId);
  }

  async deleteRun(runId: string): Promise<void> {
    const info = await this.runInfo(runId);
    await this.audited(
      (tx) => tx.setRunLifecycle(info.pk, 'deleted', this.clock.now()),
      () => ({ action: 'run.delete', entityType: 'run', entityId: info.runId }),
    );
  }

  async restoreRun(runId: string): Promise<void> {
    const info = await this.runInfo(runId);
    await this.audited(
      (tx) => tx.setRunLifecycle(info.pk, 'active', this.clock.now()),
      () => ({ action: 'run.restore', entityType: 'run', entityId: info.runId }),
    );
  }

  async logMetric(runId: string, metric: MetricInput): Promise<void> {
    await this.logBatch({ runId, metrics: [metric], params: [], tags: [] });
  }

  async logParam(runId: string, param: KeyValue): Promise<void> {
    await this.logBatch({ runId, metrics: [], params: [param], tags: [] });
  }

  async setTag(runId: string, tag: KeyValue): Promise<void> {
    await this.logBatch({ runId, metrics: [], params: [], tags: [tag] });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    const info = await this.activeRun(runId);
    const deleted = await this.audited(
      (tx) => tx.deleteRunTag(info.pk, key),
      () => ({ action: 'run.delete_tag', entityType: 'run', entityId: info.runId, details: { key } }),
    );
    if (!deleted) throw MlflowError.notFound(`No tag with name: ${key} in run with id ${runId}`);
  }

  /**
   * Logs metrics, params and tags in one transaction: either all of it is stored or, when any
   * entry is invalid or a param would change value, none of it.
   */
  async logBatch(input: { runId: string; metrics: MetricInput[]; params: KeyValue[]; tags: KeyValue[] }): Promise<void> {
    const { metrics, params, tags } = input;
    validateBatchLimits(metrics.length, params.length, tags.length);
    for (const metric of metrics) {
      validateParamOrMetricName(metric.key);
      validateMetricValue(metric.key, metric.value, metric.timestamp, metric.step);
    }
    const paramValues = new Map<string, string>();
    for (const param of params) {
      validateParamOrMetricName(param.key);
      validateParamValue(param.key, param.value);
      const seen = paramValues.get(param.key);
      if (seen !== undefined && seen !== param.value) {
        throw MlflowError.invalidParameter(
          `Duplicate parameter keys have been submitted: [${param.key}]. Please ensure the request contains only one param value per param key.`,
        );
      }
      paramValues.set(param.key, param.value);
    }
    for (const tag of tags) {
      validateTagKey(tag.key);
      validateRunTagValue(tag.key, tag.value);
    }

    const info = await this.activeRun(input.runId);
    const renamed = lastValue(tags, RUN_NAME_TAG);
    const modelMetrics = new Map<string, MetricRecord[]>();
    for (const metric of metrics) {
      if (!metric.modelId) continue;
      const list = modelMetrics.get(metric.modelId) ?? [];
      list.push({ ...metric, runId: info.runId });
      modelMetrics.set(metric.modelId, list);
    }
    // A model of another project is treated as an unknown one: its metrics are not linked.
    for (const modelId of [...modelMetrics.keys()]) {
      const model = await this.store.getLoggedModel(modelId);
      if (model && !(await this.inCurrentProject(model.experimentId))) modelMetrics.delete(modelId);
    }
    await this.store.transaction(async (store) => {
      if (paramValues.size > 0) {
        const existing = await store.getParams(info.pk, [...paramValues.keys()]);
        for (const old of existing) {
          const value = paramValues.get(old.key);
          if (value !== undefined && value !== old.value) {
            throw MlflowError.invalidParameter(
              `Changing param values is not allowed. Param with key='${old.key}' was already logged with value='${old.value}' for run ID='${info.runId}'. Attempted logging new value '${value}'.`,
            );
          }
        }
        await store.insertParams(info.pk, [...paramValues].map(([key, value]) => ({ key, value })));
      }
      if (tags.length > 0) {
        await store.setRunTags(info.pk, tags);
        // The run name and its tag are one fact; keep them in step.
        if (renamed !== undefined) await store.updateRunInfo(info.pk, { name: renamed });
      }
      if (metrics.length > 0) await store.logMetrics(info.pk, metrics);
      for (const [modelId, list] of modelMetrics) await store.logLoggedModelMetrics(modelId, list);
      await this.audit.record(store, {
        action: 'run.log',
        entityType: 'run',
        entityId: info.runId,
        details: { metrics: metrics.length, params: paramValues.size, tags: tags.length },
      });
    });
  }

  async searchRuns(input: {
    experimentIds: string[];
    filter?: string | undefined;
    viewType?: ViewType | undefined;
    maxResults?: number | undefined;
    orderBy?: string[] | undefined;
    pageToken?: string | undefined;
  }): Promise<SearchPage<RunRecord>> {
    const maxResults = input.maxResults ?? LIMITS.searchDefaultResults;
    validateSearchMaxResults(maxResults);
    const filter = parseRunFilter(input.filter);
    const orderBy = parseRunOrderBy(input.orderBy);
    const page = await this.store.searchRuns({
      experimentIds: await this.experimentIdsInProject(input.experimentIds),
      filter,
      orderBy,
      viewType: input.viewType ?? 'ACTIVE_ONLY',
      maxResults,
      page: decodePageToken(input.pageToken),
    });
    return page.next ? { items: page.items, nextPageToken: encodePageToken(page.next) } : { items: page.items };
  }

  async getMetricHistory(input: {
    runId: string;
    key: string;
    maxResults?: number | undefined;
    pageToken?: string | undefined;
  }): Promise<SearchPage<MetricRecord>> {
    const info = await this.runInfo(input.runId);
    const position = decodePageToken(input.pageToken);
    const maxResults = input.maxResults ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(maxResults) || maxResults <= 0) {
      throw MlflowError.invalidParameter(`Invalid value for request parameter max_results. It must be a positive integer, but got ${maxResults}`);
    }
    // Fetch one extra point to know whether another page exists.
    const limit = maxResults === Number.MAX_SAFE_INTEGER ? maxResults : maxResults + 1;
    const points = await this.store.getMetricHistory({ runPk: info.pk, key: input.key, maxResults: limit, offset: position.offset });
    if (points.length > maxResults) {
      return { items: points.slice(0, maxResults), nextPageToken: encodePageToken({ offset: position.offset + maxResults, snapshot: null }) };
    }
    return { items: points };
  }

  async getMetricHistoryBulkInterval(input: {
    runIds: string[];
    key: string;
    startStep?: number | undefined;
    endStep?: number | undefined;
    maxResults?: number | undefined;
  }): Promise<MetricRecord[]> {
    if (input.runIds.length === 0) throw MlflowError.invalidParameter('GetMetricHistoryBulkInterval request must specify at least one run_id.');
    if (input.runIds.length > LIMITS.bulkIntervalRuns) {
      throw MlflowError.invalidParameter(
        `GetMetricHistoryBulkInterval request cannot specify more than ${LIMITS.bulkIntervalRuns} run_ids. Received ${input.runIds.length} run_ids.`,
      );
    }
    const maxResults = input.maxResults ?? LIMITS.bulkIntervalMaxResults;
    if (!Number.isSafeInteger(maxResults) || maxResults <= 0 || maxResults > LIMITS.bulkIntervalMaxResults) {
      throw MlflowError.invalidParameter(
        `max_results must be between 1 and ${LIMITS.bulkIntervalMaxResults}. Received ${maxResults}.`,
      );
    }
    if (input.startStep !== undefined && input.endStep !== undefined && input.startStep > input.endStep) {
      throw MlflowError.invalidParameter(
        `end_step must be greater than start_step. Found start_step=${input.startStep} and end_step=${input.endStep}.`,
      );
    }
    const runs: Array<{ pk: number; runId: string }> = [];
    for (const runId of input.runIds) {
      const info = await this.runInfo(runId);
      runs.push({ pk: info.pk, runId: info.runId });
    }
    return this.store.getMetricHistorySampled({
      runs,
      key: input.key,
      startStep: input.startStep ?? null,
      endStep: input.endStep ?? null,
      maxPoints: maxResults,
    });
  }

  /**
   * Metric histories of up to 100 runs reduced for drawing (Trove's UI endpoint): each series is
   * cut into at most `maxBuckets` buckets along the step or wall-time axis, keeping the min and
   * max of each bucket so spikes survive. Series with at most 2 × maxBuckets points come back whole.
   * @throws RESOURCE_DOES_NOT_EXIST for an unknown run, INVALID_PARAMETER_VALUE for bad bounds.
   */
  async getMetricSeriesDownsampled(input: {
    runIds: string[];
    key: string;
    xAxis?: string | undefined;
    start?: number | undefined;
    end?: number | undefined;
    maxBuckets?: number | undefined;
  }): Promise<Array<DownsampledSeries & { runId: string }>> {
    if (input.runIds.length === 0) throw MlflowError.invalidParameter('At least one run_id is required.');
    if (input.runIds.length > DOWNSAMPLE_LIMITS.runs) {
      throw MlflowError.invalidParameter(`At most ${DOWNSAMPLE_LIMITS.runs} run_ids are allowed, got ${input.runIds.length}.`);
    }
    const xAxis = input.xAxis ?? 'step';
    if (xAxis !== 'step' && xAxis !== 'timestamp') {
      throw MlflowError.invalidParameter(`Invalid x_axis '${xAxis}'. Valid values are step, timestamp.`);
    }
    const maxBuckets = input.maxBuckets ?? DOWNSAMPLE_LIMITS.defaultBuckets;
    if (!Number.isSafeInteger(maxBuckets) || maxBuckets < 1 || maxBuckets > DOWNSAMPLE_LIMITS.maxBuckets) {
      throw MlflowError.invalidParameter(`max_buckets must be between 1 and ${DOWNSAMPLE_LIMITS.maxBuckets}, got ${maxBuckets}.`);
    }
    if (input.start !== undefined && input.end !== undefined && input.start > input.end) {
      throw MlflowError.invalidParameter(`start must not be greater than end (start=${input.start}, end=${input.end}).`);
    }
    const runs: RunInfoRecord[] = [];
    for (const runId of input.runIds) runs.push(await this.runInfo(runId));
    const result: Array<DownsampledSeries & { runId: string }> = [];
    for (const run of runs) {
      const series = await this.store.getMetricSeriesDownsampled({
        runPk: run.pk,
        key: input.key,
        xAxis,
        start: input.start ?? null,
        end: input.end ?? null,
        maxBuckets,
      });
      result.push({ ...series, runId: run.runId });
    }
    return result;
  }

  /**
   * Number of runs of each experiment (Trove's UI endpoint; MLflow has no count). Experiments
   * without runs, or unknown, count 0.
   * @throws INVALID_PARAMETER_VALUE for more than 1000 ids.
   */
  async countRuns(experimentIds: string[], viewType: ViewType = 'ACTIVE_ONLY'): Promise<Record<string, number>> {
    if (experimentIds.length > DOWNSAMPLE_LIMITS.countExperiments) {
      throw MlflowError.invalidParameter(`At most ${DOWNSAMPLE_LIMITS.countExperiments} experiment_ids are allowed, got ${experimentIds.length}.`);
    }
    const counts = await this.store.countRuns(await this.experimentIdsInProject(experimentIds), viewType);
    return Object.fromEntries(experimentIds.map((id) => [id, counts.get(id) ?? 0]));
  }

  async logInputs(input: { runId: string; datasets: DatasetInputRecord[]; modelIds: string[] }): Promise<void> {
    if (input.datasets.length > LIMITS.datasetsPerRequest) {
      throw MlflowError.invalidParameter(
        `Exceeded the maximum number of datasets per request: ${input.datasets.length} > ${LIMITS.datasetsPerRequest}.`,
      );
    }
    for (const entry of input.datasets) validateDatasetInput(entry);
    const info = await this.activeRun(input.runId);
    await this.store.transaction(async (store) => {
      if (input.datasets.length > 0) await store.logDatasetInputs(info.pk, info.experimentId, input.datasets);
      if (input.modelIds.length > 0) await store.logModelInputs(info.pk, input.modelIds);
      await this.audit.record(store, {
        action: 'run.log_inputs',
        entityType: 'run',
        entityId: info.runId,
        details: { datasets: input.datasets.length, models: input.modelIds.length },
      });
    });
  }

  async logOutputs(input: { runId: string; models: Array<{ modelId: string; step: number }> }): Promise<void> {
    const info = await this.activeRun(input.runId);
    await this.audited(
      (tx) => tx.logModelOutputs(info.pk, input.models),
      () => ({ action: 'run.log_outputs', entityType: 'run', entityId: info.runId, details: { models: input.models.length } }),
    );
  }

  /** MLflow 2's `runs/log-model`: appends the MLmodel JSON to the run's model history tag. */
  async logModelHistory(runId: string, modelJson: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(modelJson);
    } catch {
      throw MlflowError.invalidParameter(`Malformed model info. \n ${modelJson} \n is not a valid JSON.`);
    }
    const model = parsed as Record<string, unknown>;
    const missing = ['artifact_path', 'flavors', 'utc_time_created', 'run_id'].filter((k) => !(k in (model ?? {})));
    if (!model || typeof model !== 'object' || missing.length > 0) {
      throw MlflowError.invalidParameter(`Model json is missing mandatory fields: ${missing.join(', ')}`);
    }
    const info = await this.activeRun(runId);
    const run = await this.getRun(info.runId);
    const current = run.tags.find((t) => t.key === LOG_MODEL_HISTORY_TAG)?.value;
    let history: unknown[] = [];
    if (current) {
      try {
        const value = JSON.parse(current) as unknown;
        if (Array.isArray(value)) history = value;
      } catch {
        history = [];
      }
    }
    history.push(model);
    await this.audited(
      (tx) => tx.setRunTags(info.pk, [{ key: LOG_MODEL_HISTORY_TAG, value: JSON.stringify(history) }]),
      () => ({ action: 'run.log_model', entityType: 'run', entityId: info.runId }),
    );
  }

  async searchDatasets(experimentIds: string[]): Promise<Array<{ experimentId: string; name: string; digest: string; context: string | null }>> {
    if (experimentIds.length > 20) {
      throw MlflowError.invalidParameter(`SearchDatasets request cannot specify more than 20 experiment_ids. Received ${experimentIds.length} experiment_ids.`);
    }
    return this.store.searchDatasets(await this.experimentIdsInProject(experimentIds));
  }

  private async runInfo(runId: string): Promise<RunInfoRecord> {
    if (!runId) throw MlflowError.invalidParameter("Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.");
    const info = await this.store.getRunInfo(runId);
    if (!info || !(await this.inCurrentProject(info.experimentId))) throw runNotFound(runId);
    return info;
  }

  private async activeRun(runId: string): Promise<RunInfoRecord> {
    const info = await this.runInfo(runId);
    if (info.lifecycleStage !== 'active') {
      throw MlflowError.invalidParameter(
        `The run ${runId} must be in the 'active' state. Current state is ${info.lifecycleStage}.`,
      );
    }
    return info;
  }

  // ------------------------------------------------------------------ logged models

  async createLoggedModel(input: {
    experimentId: string;
    name?: string | undefined;
    modelType?: string | undefined;
    sourceRunId?: string | undefined;
    params?: KeyValue[] | undefined;
    tags?: KeyValue[] | undefined;
  }): Promise<LoggedModelRecord> {
    const experiment = await this.activeExperiment(input.experimentId);
    if (input.sourceRunId) await this.runInfo(input.sourceRunId);
    const params = input.params ?? [];
    const tags = input.tags ?? [];
    for (const p of params) {
      validateParamOrMetricName(p.key);
      validateParamValue(p.key, p.value);
    }
    for (const t of tags) {
      validateTagKey(t.key);
      validateRunTagValue(t.key, t.value);
    }
    const name = input.name || randomRunName();
    const modelId = `m-${randomBytes(16).toString('hex')}`;
    await this.audited(
      (tx) =>
        tx.createLoggedModel({
          modelId,
          experimentId: experiment.experimentId,
          name,
          artifactUri: `${experiment.artifactLocation.replace(/\/+$/, '')}/models/${modelId}/artifacts`,
          status: 'LOGGED_MODEL_PENDING',
          creatorId: lastValue(tags, USER_TAG) ?? null,
          modelType: input.modelType || null,
          sourceRunId: input.sourceRunId || null,
          params,
          tags,
          timestamp: this.clock.now(),
        }),
      () => ({ action: 'logged_model.create', entityType: 'logged_model', entityId: modelId, details: { name, experiment_id: experiment.experimentId } }),
    );
    return this.getLoggedModel(modelId);
  }

  async getLoggedModel(modelId: string, allowDeleted = false): Promise<LoggedModelRecord> {
    const model = await this.store.getLoggedModel(modelId);
    if (!model || (model.lifecycleStage === 'deleted' && !allowDeleted) || !(await this.inCurrentProject(model.experimentId))) {
      throw MlflowError.notFound(`Logged model with ID '${modelId}' not found.`);
    }
    return model;
  }

  async finalizeLoggedModel(modelId: string, status: string): Promise<LoggedModelRecord> {
    const model = await this.getLoggedModel(modelId);
    const normalized = parseLoggedModelStatus(status);
    await this.audited(
      (tx) => tx.updateLoggedModel(model.pk, { status: normalized, now: this.clock.now() }),
      () => ({ action: 'logged_model.finalize', entityType: 'logged_model', entityId: model.modelId, details: { status: normalized } }),
    );
    return this.getLoggedModel(modelId);
  }

  async deleteLoggedModel(modelId: string): Promise<void> {
    const model = await this.getLoggedModel(modelId);
    await this.audited(
      (tx) => tx.updateLoggedModel(model.pk, { lifecycleStage: 'deleted', now: this.clock.now() }),
      () => ({ action: 'logged_model.delete', entityType: 'logged_model', entityId: model.modelId }),
    );
  }

  async setLoggedModelTags(modelId: string, tags: KeyValue[]): Promise<void> {
    for (const t of tags) {
      validateTagKey(t.key);
      validateRunTagValue(t.key, t.value);
    }
    const model = await this.getLoggedModel(modelId);
    await this.audited(
      (tx) => tx.setLoggedModelTags(model.pk, tags, this.clock.now()),
      () => ({ action: 'logged_model.set_tags', entityType: 'logged_model', entityId: model.modelId, details: { keys: tags.map((t) => t.key) } }),
    );
  }

  async deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    const model = await this.getLoggedModel(modelId);
    const deleted = await this.audited(
      (tx) => tx.deleteLoggedModelTag(model.pk, key),
      () => ({ action: 'logged_model.delete_tag', entityType: 'logged_model', entityId: model.modelId, details: { key } }),
    );
    if (!deleted) throw MlflowError.notFound(`No tag with key '${key}' found for logged model with ID '${modelId}'.`);
  }

  async logLoggedModelParams(modelId: string, params: KeyValue[]): Promise<void> {
    if (params.length > LIMITS.batchParams) {
      throw MlflowError.invalidParameter(`A batch logging request can contain at most ${LIMITS.batchParams} params. Got ${params.length} params.`);
    }
    for (const p of params) {
      validateParamOrMetricName(p.key);
      validateParamValue(p.key, p.value);
    }
    const model = await this.getLoggedModel(modelId);
    await this.audited(
      (tx) => tx.insertLoggedModelParams(model.pk, params),
      () => ({ action: 'logged_model.log_params', entityType: 'logged_model', entityId: model.modelId, details: { params: params.length } }),
    );
  }

  async searchLoggedModels(input: {
    experimentIds: string[];
    filter?: string | undefined;
    datasets?: Array<{ name: string; digest?: string | undefined }> | undefined;
    maxResults?: number | undefined;
    orderBy?: LoggedModelOrderByInput[] | undefined;
    pageToken?: string | undefined;
  }): Promise<SearchPage<LoggedModelRecord>> {
    const maxResults = input.maxResults ?? 100;
    validateSearchMaxResults(maxResults);
    const filter = parseLoggedModelFilter(input.filter);
    const orderBy = parseLoggedModelOrderBy(input.orderBy);
    const page = await this.store.searchLoggedModels({
      experimentIds: await this.experimentIdsInProject(input.experimentIds),
      filter,
      orderBy,
      datasets: (input.datasets ?? []).map((d) => (d.digest ? { name: d.name, digest: d.digest } : { name: d.name })),
      maxResults,
      page: decodePageToken(input.pageToken),
    });
    return page.next ? { items: page.items, nextPageToken: encodePageToken(page.next) } : { items: page.items };
  }
}

/** The name of each project's own default experiment (id 0 in the default project). */
const DEFAULT_EXPERIMENT_NAME = 'Default';

function experimentExists(name: string): MlflowError {
  return MlflowError.alreadyExists(`Experiment(name=${name}) already exists. Error: experiment names must be unique.`);
}

function runNotFound(runId: string): MlflowError {
  return MlflowError.notFound(`Run with id=${runId} not found`);
}

function lastValue(tags: KeyValue[], key: string): string | undefined {
  let value: string | undefined;
  for (const tag of tags) if (tag.key === key) value = tag.value;
  return value;
}

/** Run status by name or by MLflow's enum number. */
export function parseRunStatus(status: string | number): RunStatus {
  const byNumber: Record<string, RunStatus> = { '1': 'RUNNING', '2': 'SCHEDULED', '3': 'FINISHED', '4': 'FAILED', '5': 'KILLED' };
  const text = String(status).toUpperCase();
  const resolved = byNumber[text] ?? (RUN_STATUSES as readonly string[]).find((s) => s === text);
  if (!resolved) {
    throw MlflowError.invalidParameter(`Invalid value ${JSON.stringify(status)} for parameter 'status' supplied. Valid values are ${RUN_STATUSES.join(', ')}.`);
  }
  return resolved as RunStatus;
}

function parseLoggedModelStatus(status: string | number): string {
  const byNumber: Record<string, string> = { '1': 'LOGGED_MODEL_PENDING', '2': 'LOGGED_MODEL_READY', '3': 'LOGGED_MODEL_UPLOAD_FAILED' };
  const text = String(status).toUpperCase();
  const resolved = byNumber[text] ?? (LOGGED_MODEL_STATUSES as readonly string[]).find((s) => s === text);
  if (!resolved) {
    throw MlflowError.invalidParameter(`Invalid value ${JSON.stringify(status)} for parameter 'status' supplied. Valid values are ${LOGGED_MODEL_STATUSES.join(', ')}.`);
  }
  return resolved;
}

function validateBatchLimits(metrics: number, params: number, tags: number): void {
  if (metrics > LIMITS.batchMetrics) {
    throw MlflowError.invalidParameter(`A batch logging request can contain at most ${LIMITS.batchMetrics} metrics. Got ${metrics} metrics. Please split up metrics across multiple requests and try again.`);
  }
  if (params > LIMITS.batchParams) {
    throw MlflowError.invalidParameter(`A batch logging request can contain at most ${LIMITS.batchParams} params. Got ${params} params. Please split up params across multiple requests and try again.`);
  }
  if (tags > LIMITS.batchTags) {
    throw MlflowError.invalidParameter(`A batch logging request can contain at most ${LIMITS.batchTags} tags. Got ${tags} tags. Please split up tags across multiple requests and try again.`);
  }
  const total = metrics + params + tags;
  if (total > LIMITS.batchTotal) {
    throw MlflowError.invalidParameter(`A batch logging request can contain at most ${LIMITS.batchTotal} total metrics, params and tags. Got ${total}. Please split up across multiple requests and try again.`);
  }
}

function validateArtifactLocation(location: string): string {
  validateLength(location, LIMITS.artifactLocation, 'artifact_location');
  if (location.startsWith('runs:')) {
    throw MlflowError.invalidParameter(`Artifact location cannot be a runs:/ URI. Given: '${location}'`);
  }
  if (location.split(/[\\/]/).includes('..')) {
    throw MlflowError.invalidParameter(`Artifact location must not contain path traversal ('..'). Given: '${location}'`);
  }
  return location;
}

function validateDatasetInput(entry: DatasetInputRecord): void {
  const d = entry.dataset;
  validateLength(d.name, LIMITS.datasetName, 'dataset.name');
  validateLength(d.digest, LIMITS.datasetDigest, 'dataset.digest');
  validateLength(d.source, LIMITS.datasetSource, 'dataset.source');
  if (d.schema !== null) validateLength(d.schema, LIMITS.datasetSchema, 'dataset.schema');
  if (d.profile !== null) validateLength(d.profile, LIMITS.datasetProfile, 'dataset.profile');
  for (const tag of entry.tags) {
    validateLength(tag.key, LIMITS.inputTagKey, 'input tag key');
    validateLength(tag.value, LIMITS.inputTagValue, 'input tag value');
  }
}
