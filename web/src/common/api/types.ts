/** MLflow's wire shapes (snake_case, as the REST API speaks them) used by the UI. */

export interface KeyValue {
  key: string;
  value: string;
}

export type LifecycleStage = 'active' | 'deleted';
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: LifecycleStage;
  last_update_time?: number;
  creation_time?: number;
  tags?: KeyValue[];
}

/** A metric value on the wire: a number, or MLflow's spelling of a non-finite double. */
export type WireDouble = number | 'NaN' | 'Infinity' | '-Infinity';

export interface Metric {
  key: string;
  value: WireDouble;
  timestamp: number;
  step: number;
  run_id?: string;
  model_id?: string;
  dataset_name?: string;
  dataset_digest?: string;
}

export interface RunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage: LifecycleStage;
}

export interface Dataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: {
    dataset_inputs?: Array<{ tags?: KeyValue[]; dataset: Dataset }>;
    model_inputs?: Array<{ model_id: string }>;
  };
  outputs?: { model_outputs?: Array<{ model_id: string; step: number }> };
}

export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export interface LoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    artifact_uri: string;
    creation_timestamp_ms?: number;
    last_updated_timestamp_ms?: number;
    status?: string;
    source_run_id?: string;
    model_type?: string;
    tags?: KeyValue[];
    registrations?: Array<{ name: string; version: string }>;
  };
  data?: { params?: KeyValue[]; metrics?: Metric[] };
}

export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  user_id?: string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  status?: string;
  tags?: KeyValue[];
  aliases?: string[];
  model_id?: string;
}

export interface RegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  user_id?: string;
  description?: string;
  latest_versions?: ModelVersion[];
  tags?: KeyValue[];
  aliases?: Array<{ alias: string; version: string }>;
}

/** GET /ajax-api/2.0/trove/metrics/history-downsampled (docs/api-trove.md). */
export interface DownsampledSeriesWire {
  run_id: string;
  total_points: number;
  bucketed: boolean;
  x: number[];
  x_end: number[];
  min: WireDouble[];
  max: WireDouble[];
  count: number[];
}

export interface DownsampledResponse {
  metric_key: string;
  x_axis: 'step' | 'timestamp';
  series: DownsampledSeriesWire[];
}
