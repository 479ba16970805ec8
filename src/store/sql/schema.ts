import type { Generated } from 'kysely';

/**
 * Table types of the SQL store, shared by SQLite and PostgreSQL. Runs and metric keys have integer
 * surrogate ids so the hot tables (metrics, latest_metrics, params, tags) stay narrow; the MLflow
 * run id (32 hex chars) lives once, in runs.run_uuid.
 */
export interface Database {
  projects: ProjectTable;
  experiments: ExperimentTable;
  experiment_tags: ExperimentTagTable;
  runs: RunTable;
  params: ParamTable;
  run_tags: RunTagTable;
  metric_keys: MetricKeyTable;
  metric_rollups: MetricRollupTable;
  metrics: MetricTable;
  latest_metrics: LatestMetricTable;
  datasets: DatasetTable;
  run_inputs: RunInputTable;
  run_input_tags: RunInputTagTable;
  run_model_inputs: RunModelInputTable;
  run_model_outputs: RunModelOutputTable;
  logged_models: LoggedModelTable;
  logged_model_params: LoggedModelParamTable;
  logged_model_tags: LoggedModelTagTable;
  logged_model_metrics: LoggedModelMetricTable;
  traces: TraceTable;
  trace_tags: TraceKeyValueTable;
  trace_metadata: TraceKeyValueTable;
  spans: SpanTable;
  assessments: AssessmentTable;
  trace_run_links: TraceRunLinkTable;
}

export interface ProjectTable {
  id: Generated<number>;
  name: string;
  description: string | null;
  created_at: number;
}

export interface ExperimentTable {
  experiment_id: Generated<number>;
  project_id: number;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
  deleted_time: number | null;
}

export interface ExperimentTagTable {
  experiment_id: number;
  key: string;
  value: string;
}

export interface RunTable {
  id: Generated<number>;
  run_uuid: string;
  experiment_id: number;
  name: string;
  user_id: string;
  status: string;
  start_time: number;
  end_time: number | null;
  lifecycle_stage: string;
  artifact_uri: string;
  deleted_time: number | null;
}

export interface ParamTable {
  run_id: number;
  key: string;
  value: string;
}

export interface RunTagTable {
  run_id: number;
  key: string;
  value: string;
}

export interface MetricKeyTable {
  id: Generated<number>;
  key: string;
}

/** One point of a metric history. NaN is stored as value 0 with is_nan = 1 (SQLite turns NaN into NULL). */
export interface MetricTable {
  run_id: number;
  key_id: number;
  step: number;
  timestamp: number;
  value: number;
  is_nan: number;
  model_id: string | null;
  dataset_name: string | null;
  dataset_digest: string | null;
}

/** Min/max per block of 8^level steps of one series; see metric-rollups.ts. */
export interface MetricRollupTable {
  run_id: number;
  key_id: number;
  level: number;
  block: number;
  step_min: number;
  step_max: number;
  vmin: number;
  vmax: number;
  n: number;
}

/** The latest point per (run, key): highest step, then timestamp, then value. Kept up to date on write. */
export interface LatestMetricTable {
  run_id: number;
  key_id: number;
  step: number;
  timestamp: number;
  value: number;
  is_nan: number;
  /** The run's experiment (0011), so metric-ordered searches walk one experiment's values in order. */
  experiment_id: number | null;
}

export interface DatasetTable {
  id: Generated<number>;
  dataset_uuid: string;
  experiment_id: number;
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
}

export interface RunInputTable {
  run_id: number;
  dataset_id: number;
}

export interface RunInputTagTable {
  run_id: number;
  dataset_id: number;
  key: string;
  value: string;
}

export interface RunModelInputTable {
  run_id: number;
  model_id: string;
}

export interface RunModelOutputTable {
  run_id: number;
  model_id: string;
  step: number;
}

export interface LoggedModelTable {
  id: Generated<number>;
  model_id: string;
  experiment_id: number;
  name: string;
  artifact_uri: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  status: string;
  status_message: string | null;
  creator_id: string | null;
  model_type: string | null;
  source_run_id: string | null;
  lifecycle_stage: string;
}

export interface LoggedModelParamTable {
  model_pk: number;
  key: string;
  value: string;
}

export interface LoggedModelTagTable {
  model_pk: number;
  key: string;
  value: string;
}

export interface LoggedModelMetricTable {
  model_pk: number;
  key: string;
  step: number;
  timestamp: number;
  value: number;
  is_nan: number;
  run_uuid: string | null;
  dataset_name: string | null;
  dataset_digest: string | null;
}

// ------------------------------------------------------------------ tracing (0007)

export interface TraceTable {
  trace_id: string;
  project_id: number;
  experiment_id: number;
  request_time: number;
  execution_duration: number | null;
  state: string;
  client_request_id: string | null;
  request_preview: string | null;
  response_preview: string | null;
}

export interface TraceKeyValueTable {
  trace_id: string;
  key: string;
  value: string;
}

export interface SpanTable {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  start_time_ns: string;
  content: string;
}

export interface AssessmentTable {
  assessment_id: string;
  trace_id: string;
  name: string;
  create_time: number;
  last_update_time: number;
  content: string;
}

export interface TraceRunLinkTable {
  trace_id: string;
  run_id: string;
}
