/**
 * The persistence contract for experiments, runs and logged models. The SQL implementation serves
 * SQLite and PostgreSQL; domain services hold the rules and call these methods, inside
 * `transaction()` when several must succeed or fail together.
 *
 * Record types use camelCase and plain numbers (ms timestamps, steps); presenters in src/http
 * turn them into MLflow's wire shapes. Query methods return `undefined` for a missing entity and
 * leave it to the domain to raise the MLflow error.
 */
import type { NewAuditRow } from './auth-store.ts';
import type { MetricColumns } from './metric-columns.ts';

export interface KeyValue {
  key: string;
  value: string;
}

export type LifecycleStage = 'active' | 'deleted';
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface ExperimentRecord {
  experimentId: string;
  projectId: number;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime: number;
  lastUpdateTime: number;
  tags: KeyValue[];
}

export interface RunInfoRecord {
  /** Internal integer id; never leaves the server. */
  pk: number;
  runId: string;
  runName: string;
  experimentId: string;
  userId: string;
  status: string;
  startTime: number;
  endTime: number | null;
  artifactUri: string;
  lifecycleStage: LifecycleStage;
}

export interface MetricRecord {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  modelId?: string | null;
  datasetName?: string | null;
  datasetDigest?: string | null;
  runId?: string;
}

export interface DatasetRecord {
  name: string;
  digest: string;
  sourceType: string;
  source: string;
  schema: string | null;
  profile: string | null;
}

export interface DatasetInputRecord {
  tags: KeyValue[];
  dataset: DatasetRecord;
}

export interface RunRecord {
  info: RunInfoRecord;
  metrics: MetricRecord[];
  params: KeyValue[];
  tags: KeyValue[];
  datasetInputs: DatasetInputRecord[];
  modelInputs: string[];
  modelOutputs: Array<{ modelId: string; step: number }>;
}

export interface LoggedModelRecord {
  pk: number;
  modelId: string;
  experimentId: string;
  name: string;
  artifactUri: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  status: string;
  statusMessage: string | null;
  creatorId: string | null;
  modelType: string | null;
  sourceRunId: string | null;
  lifecycleStage: LifecycleStage;
  tags: KeyValue[];
  params: KeyValue[];
  metrics: MetricRecord[];
}

/** A filter clause after the domain has parsed and validated it. */
export interface StoreFilterClause {
  entity: 'attribute' | 'metric' | 'param' | 'tag' | 'dataset';
  key: string;
  comparator: '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';
  value: string | number | string[];
}

export interface StoreOrderBy {
  entity: 'attribute' | 'metric' | 'param' | 'tag' | 'dataset';
  key: string;
  ascending: boolean;
  datasetName?: string;
  datasetDigest?: string;
}

/** One sort key value of a row, as a page token carries it. */
export type SortValue = string | number | null;

/**
 * A page position. `snapshot` is the highest internal id visible when the first page was read:
 * later pages ignore newer rows, so a page token survives concurrent inserts without skipping
 * or repeating anything. `after` (keyset paging) holds the sort key values of the previous page's
 * last row, ending with its unique id: the page starts after that row and `offset` is 0. A
 * position without `after` is an offset (tokens written before keyset paging, still accepted).
 */
export interface PagePosition {
  offset: number;
  snapshot: number | null;
  after?: SortValue[];
}

export interface Page<T> {
  items: T[];
  /** Position of the next page, absent on the last page. */
  next?: PagePosition;
}

/** A page of runs: records, or the text of MLflow's JSON `runs` array (TrackingStore.searchRunsWire). */
export type RunWirePage = Page<RunRecord> | { json: string; next?: PagePosition };

/** A run: its record, or its info and the text of its MLflow JSON object (TrackingStore.getRunWire). */
export type RunWire = RunRecord | { info: RunInfoRecord; json: string };

export interface RunSearchQuery {
  experimentIds: string[];
  filter: StoreFilterClause[];
  orderBy: StoreOrderBy[];
  viewType: ViewType;
  maxResults: number;
  page: PagePosition;
}

export interface ExperimentSearchQuery {
  projectId: number;
  filter: StoreFilterClause[];
  orderBy: StoreOrderBy[];
  viewType: ViewType;
  maxResults: number;
  page: PagePosition;
}

export interface LoggedModelSearchQuery {
  experimentIds: string[];
  filter: StoreFilterClause[];
  orderBy: StoreOrderBy[];
  datasets: Array<{ name: string; digest?: string }>;
  maxResults: number;
  page: PagePosition;
}

export interface NewRun {
  runId: string;
  experimentId: string;
  name: string;
  userId: string;
  status: string;
  startTime: number;
  artifactUri: string;
  tags: KeyValue[];
  /** Audit log entries written with the run (same statement on PostgreSQL, same transaction on SQLite). */
  audit?: NewAuditRow[];
}

/**
 * A run to create in an experiment the store checks itself: the experiment must exist in
 * `projectId` and be active. The run's artifact URI is the experiment's artifact location without
 * trailing slashes followed by `artifactSuffix` (`/<run id>/artifacts`).
 */
export interface NewRunInExperiment extends Omit<NewRun, 'artifactUri'> {
  projectId: number;
  artifactSuffix: string;
}

/**
 * A log-batch for a store that writes it together with its run's check (logRunBatch): the run must
 * exist, be active and belong to an experiment of `projectId`. Params have unique keys; `runName`
 * is the batch's last `mlflow.runName` tag, when it has one.
 */
export interface RunBatch {
  runId: string;
  projectId: number;
  metrics: MetricRecord[] | MetricColumns;
  params: KeyValue[];
  tags: KeyValue[];
  runName: string | undefined;
  audit: NewAuditRow[];
}

export interface RunInfoUpdate {
  status?: string;
  endTime?: number | null;
  name?: string;
}

export interface NewLoggedModel {
  modelId: string;
  experimentId: string;
  name: string;
  artifactUri: string;
  status: string;
  creatorId: string | null;
  modelType: string | null;
  sourceRunId: string | null;
  params: KeyValue[];
  tags: KeyValue[];
  timestamp: number;
}

export interface MetricHistoryQuery {
  runPk: number;
  key: string;
  maxResults: number;
  /** Points to skip (the old offset page tokens); 0 with `after`. */
  offset: number;
  /**
   * Keyset position: the page starts right after this point in (step, timestamp, value) order,
   * NaN after the 0 it is stored as and before any larger value. The point need not exist any more.
   */
  after?: { step: number; timestamp: number; value: number } | undefined;
}

/** A metric series of one run reduced for drawing; see `TrackingStore.getMetricSeriesDownsampled`. */
export interface DownsampleQuery {
  runPk: number;
  key: string;
  /** The x axis the buckets are cut along. */
  xAxis: 'step' | 'timestamp';
  /** Inclusive x range; null = unbounded. */
  start: number | null;
  end: number | null;
  /** At most this many buckets; a series of at most twice as many points comes back whole. */
  maxBuckets: number;
}

/**
 * Parallel arrays, one entry per bucket (or per point when not bucketed). For a point, `x` =
 * `xEnd` and `min` = `max`; for a bucket, `x`/`xEnd` are its first and last x and `min`/`max` the
 * extreme values in it, so a spike of a single point survives any reduction.
 */
export interface DownsampledSeries {
  /** Finite-or-infinite (not NaN) points in range. */
  totalPoints: number;
  bucketed: boolean;
  x: number[];
  xEnd: number[];
  min: number[];
  max: number[];
  count: number[];
}

export interface TrackingStore {
  /** Runs `work` in one transaction: all its writes commit together or none do. */
  transaction<T>(work: (store: TrackingStore) => Promise<T>): Promise<T>;

  // Experiments
  ensureDefaultExperiment(artifactLocation: string, now: number): Promise<void>;
  /** Inserts an experiment; `artifactLocationFor` builds its location from the new id when none was given. */
  createExperiment(input: {
    projectId: number;
    name: string;
    artifactLocation: string | null;
    artifactLocationFor: (experimentId: string) => string;
    tags: KeyValue[];
    now: number;
  }): Promise<string>;
  getExperiment(experimentId: string): Promise<ExperimentRecord | undefined>;
  /** getExperiment without the tags (one statement: what a run needs from its experiment). */
  getExperimentInfo(experimentId: string): Promise<Omit<ExperimentRecord, 'tags'> | undefined>;
  getExperimentByName(projectId: number, name: string): Promise<ExperimentRecord | undefined>;
  searchExperiments(query: ExperimentSearchQuery): Promise<Page<ExperimentRecord>>;
  renameExperiment(experimentId: string, name: string, now: number): Promise<void>;
  /** Sets the lifecycle of an experiment and of all its runs. */
  setExperimentLifecycle(experimentId: string, stage: LifecycleStage, now: number): Promise<void>;
  setExperimentTag(experimentId: string, tag: KeyValue): Promise<void>;
  /** @returns false when the tag did not exist. */
  deleteExperimentTag(experimentId: string, key: string): Promise<boolean>;

  // Runs
  /** Creates the run with its tags; returns it as getRun would. */
  createRun(run: NewRun): Promise<RunRecord>;
  /**
   * Creates the run when its experiment exists in the project and is active (checked with the
   * write: one statement on PostgreSQL, inside the SQLite group's transaction); undefined, with
   * nothing written, when it does not, for the caller to say why.
   */
  createRunInExperiment(run: NewRunInExperiment): Promise<RunRecord | undefined>;
  /**
   * Writes a whole log-batch with its run's check and audit entries, all or nothing, when the store
   * can do so in one step (PostgreSQL: one statement, no transaction); false, with nothing written,
   * when it cannot or when the batch does not simply apply (the run does not qualify, a param would
   * change, a point is already stored), for the caller to take its checked path.
   */
  logRunBatch(batch: RunBatch): Promise<boolean>;
  getRunInfo(runId: string): Promise<RunInfoRecord | undefined>;
  /** getRunInfo for a write, inside its transaction, writing the write's audit entries with the read. */
  getRunInfoForWrite(runId: string, audit: NewAuditRow[]): Promise<RunInfoRecord | undefined>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /**
   * getRun for an answer in MLflow's wire JSON: the run's info with the text of its JSON object
   * when the store can build it in SQL (PostgreSQL, a run without dataset inputs or logged-model
   * inputs/outputs), otherwise the record, as getRun gives it.
   */
  getRunWire(runId: string): Promise<RunWire | undefined>;
  updateRunInfo(runPk: number, update: RunInfoUpdate): Promise<void>;
  setRunLifecycle(runPk: number, stage: LifecycleStage, now: number): Promise<void>;
  getParams(runPk: number, keys: string[]): Promise<KeyValue[]>;
  /** Inserts params that are not yet logged; existing keys are left alone (the domain checks values first). */
  insertParams(runPk: number, params: KeyValue[]): Promise<void>;
  /**
   * A log-batch's params (keys unique): inserts the new ones and returns the stored params whose
   * value differs from the one given (the caller refuses the batch and rolls back); one statement
   * on both databases.
   */
  insertParamsReturningChanged(runPk: number, params: KeyValue[]): Promise<KeyValue[]>;
  setRunTags(runPk: number, tags: KeyValue[]): Promise<void>;
  /** @returns false when the tag did not exist. */
  deleteRunTag(runPk: number, key: string): Promise<boolean>;
  /**
   * Appends metric points (exact duplicates are ignored) and updates the latest values. Points come
   * as objects, or as columns (metric-columns.ts) when the log-batch body was read from its bytes.
   */
  logMetrics(runPk: number, metrics: MetricRecord[] | MetricColumns): Promise<void>;
  getMetricHistory(query: MetricHistoryQuery): Promise<MetricRecord[]>;
  /** Up to `maxPoints` points per run, evenly spread over the steps in range, always with the first and last step. */
  getMetricHistorySampled(input: {
    runs: Array<{ pk: number; runId: string }>;
    key: string;
    startStep: number | null;
    endStep: number | null;
    maxPoints: number;
  }): Promise<MetricRecord[]>;
  /**
   * One run's history of a metric reduced to at most `maxBuckets` min/max buckets along the step or
   * wall-time axis (NaN points left out), computed in SQL with one GROUP BY over the metrics key.
   * Short series come back point by point.
   */
  getMetricSeriesDownsampled(query: DownsampleQuery): Promise<DownsampledSeries>;
  /** Number of runs per experiment in the given lifecycle view; experiments without runs are absent. */
  countRuns(experimentIds: string[], viewType: ViewType): Promise<Map<string, number>>;
  logDatasetInputs(runPk: number, experimentId: string, inputs: DatasetInputRecord[]): Promise<void>;
  logModelInputs(runPk: number, modelIds: string[]): Promise<void>;
  logModelOutputs(runPk: number, outputs: Array<{ modelId: string; step: number }>): Promise<void>;
  searchRuns(query: RunSearchQuery): Promise<Page<RunRecord>>;
  /**
   * searchRuns for an answer in MLflow's wire JSON: the page as the text of the `runs` array when
   * the store can build it in SQL (PostgreSQL, pages without dataset inputs or logged-model
   * inputs/outputs), otherwise as records, as searchRuns gives them.
   */
  searchRunsWire(query: RunSearchQuery): Promise<RunWirePage>;
  /** Dataset summaries of experiments, for the UI's dataset filter. */
  searchDatasets(experimentIds: string[]): Promise<Array<{ experimentId: string; name: string; digest: string; context: string | null }>>;

  // Logged models
  createLoggedModel(model: NewLoggedModel): Promise<void>;
  getLoggedModel(modelId: string): Promise<LoggedModelRecord | undefined>;
  updateLoggedModel(pk: number, update: { status?: string; statusMessage?: string | null; lifecycleStage?: LifecycleStage; now: number }): Promise<void>;
  setLoggedModelTags(pk: number, tags: KeyValue[], now: number): Promise<void>;
  deleteLoggedModelTag(pk: number, key: string): Promise<boolean>;
  insertLoggedModelParams(pk: number, params: KeyValue[]): Promise<void>;
  logLoggedModelMetrics(modelId: string, metrics: MetricRecord[]): Promise<void>;
  searchLoggedModels(query: LoggedModelSearchQuery): Promise<Page<LoggedModelRecord>>;
}
