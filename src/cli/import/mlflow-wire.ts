import type { DatasetInputRecord, KeyValue, LifecycleStage, MetricRecord } from '../../store/tracking-store.ts';
import type {
  SourceExperiment,
  SourceLoggedModel,
  SourceModelVersion,
  SourceRegisteredModel,
  SourceRun,
  SourceTrace,
} from '../../domain/import/source.ts';
import { quoteNanos } from '../../domain/tracing/artifact-spans.ts';
import { decodeOtlpJson } from '../../domain/tracing/otlp.ts';
import { spanDictFrom } from '../../domain/tracing/spans.ts';
import { traceInfoInputFrom } from '../../http/trace-presenters.ts';

/**
 * MLflow's REST wire shapes (proto JSON, snake_case; int64 as numbers or strings, NaN/Infinity as
 * strings) turned into the import's source records. Shared by the REST source and the export
 * folder reader, which stores the same shapes.
 */

export interface WireKeyValue {
  key?: string;
  value?: string;
}
export interface WireMetric {
  key?: string;
  value?: number | string;
  timestamp?: number | string;
  step?: number | string;
  run_id?: string;
  model_id?: string;
  dataset_name?: string;
  dataset_digest?: string;
}
export interface WireExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  creation_time?: number | string;
  last_update_time?: number | string;
  tags?: WireKeyValue[];
}
export interface WireRun {
  info: {
    run_id?: string;
    run_uuid?: string;
    run_name?: string;
    experiment_id: string;
    user_id?: string;
    status?: string;
    start_time?: number | string;
    end_time?: number | string;
    artifact_uri?: string;
    lifecycle_stage?: string;
  };
  data?: { metrics?: WireMetric[]; params?: WireKeyValue[]; tags?: WireKeyValue[] };
  inputs?: {
    dataset_inputs?: Array<{
      tags?: WireKeyValue[];
      dataset: { name?: string; digest?: string; source_type?: string; source?: string; schema?: string; profile?: string };
    }>;
    model_inputs?: Array<{ model_id?: string }>;
  };
  outputs?: { model_outputs?: Array<{ model_id?: string; step?: number | string }> };
}
export interface WireLoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name?: string;
    artifact_uri?: string;
    creation_timestamp_ms?: number | string;
    last_updated_timestamp_ms?: number | string;
    status?: string;
    status_message?: string;
    creator_id?: string | number;
    model_type?: string;
    source_run_id?: string;
    tags?: WireKeyValue[];
    lifecycle_stage?: string;
  };
  data?: { params?: WireKeyValue[]; metrics?: WireMetric[] };
}
export interface WireRegisteredModel {
  name: string;
  description?: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  user_id?: string;
  tags?: WireKeyValue[];
  aliases?: Array<{ alias?: string; version?: string | number }>;
}
export interface WireModelVersion {
  name: string;
  version: string | number;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  user_id?: string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  run_link?: string;
  status?: string;
  status_message?: string;
  model_id?: string;
  tags?: WireKeyValue[];
}

function num(value: number | string | undefined, fallback = 0): number {
  if (value === undefined || value === null || value === '') return fallback;
  return Number(value);
}

function optionalNum(value: number | string | undefined): number | null {
  return value === undefined || value === null || value === '' ? null : Number(value);
}

function kv(list: WireKeyValue[] | undefined): KeyValue[] {
  return (list ?? []).map((t) => ({ key: t.key ?? '', value: t.value ?? '' }));
}

function stage(value: string | undefined): LifecycleStage {
  return value === 'deleted' ? 'deleted' : 'active';
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

export function metricFromWire(m: WireMetric): MetricRecord {
  return {
    key: m.key ?? '',
    value: num(m.value),
    timestamp: num(m.timestamp),
    step: num(m.step),
    ...(m.model_id ? { modelId: m.model_id } : {}),
    ...(m.dataset_name ? { datasetName: m.dataset_name } : {}),
    ...(m.dataset_digest ? { datasetDigest: m.dataset_digest } : {}),
    ...(m.run_id ? { runId: m.run_id } : {}),
  };
}

export function experimentFromWire(e: WireExperiment): SourceExperiment {
  return {
    experimentId: String(e.experiment_id),
    name: e.name,
    artifactLocation: e.artifact_location ?? '',
    lifecycleStage: stage(e.lifecycle_stage),
    creationTime: num(e.creation_time),
    lastUpdateTime: num(e.last_update_time, num(e.creation_time)),
    tags: kv(e.tags),
  };
}

export function runFromWire(r: WireRun): SourceRun {
  const info = r.info;
  const datasetInputs: DatasetInputRecord[] = (r.inputs?.dataset_inputs ?? []).map((d) => ({
    tags: kv(d.tags),
    dataset: {
      name: d.dataset.name ?? '',
      digest: d.dataset.digest ?? '',
      sourceType: d.dataset.source_type ?? '',
      source: d.dataset.source ?? '',
      schema: nonEmpty(d.dataset.schema),
      profile: nonEmpty(d.dataset.profile),
    },
  }));
  return {
    info: {
      runId: info.run_id ?? info.run_uuid ?? '',
      runName: info.run_name ?? '',
      experimentId: String(info.experiment_id),
      userId: info.user_id ?? '',
      status: info.status ?? 'FINISHED',
      startTime: num(info.start_time),
      endTime: optionalNum(info.end_time),
      lifecycleStage: stage(info.lifecycle_stage),
      artifactUri: info.artifact_uri ?? '',
    },
    params: kv(r.data?.params),
    tags: kv(r.data?.tags),
    latestMetrics: (r.data?.metrics ?? []).map(metricFromWire),
    datasetInputs,
    modelInputs: (r.inputs?.model_inputs ?? []).map((m) => m.model_id ?? '').filter((id) => id !== ''),
    modelOutputs: (r.outputs?.model_outputs ?? []).filter((m) => m.model_id).map((m) => ({ modelId: m.model_id!, step: num(m.step) })),
  };
}

export function loggedModelFromWire(m: WireLoggedModel): SourceLoggedModel {
  const info = m.info;
  return {
    modelId: info.model_id,
    experimentId: String(info.experiment_id),
    name: info.name ?? '',
    artifactUri: info.artifact_uri ?? '',
    creationTimestamp: num(info.creation_timestamp_ms),
    lastUpdatedTimestamp: num(info.last_updated_timestamp_ms, num(info.creation_timestamp_ms)),
    status: info.status ?? 'LOGGED_MODEL_READY',
    statusMessage: nonEmpty(info.status_message),
    creatorId: info.creator_id === undefined ? null : String(info.creator_id),
    modelType: nonEmpty(info.model_type),
    sourceRunId: nonEmpty(info.source_run_id),
    lifecycleStage: stage(info.lifecycle_stage),
    tags: kv(info.tags),
    params: kv(m.data?.params),
    metrics: (m.data?.metrics ?? []).map(metricFromWire),
  };
}

export function registeredModelFromWire(m: WireRegisteredModel): SourceRegisteredModel {
  return {
    name: m.name,
    description: m.description ?? null,
    creationTimestamp: num(m.creation_timestamp),
    lastUpdatedTimestamp: num(m.last_updated_timestamp, num(m.creation_timestamp)),
    userId: nonEmpty(m.user_id),
    tags: kv(m.tags),
    aliases: (m.aliases ?? []).filter((a) => a.alias).map((a) => ({ alias: a.alias!, version: Number(a.version) })),
  };
}

export function modelVersionFromWire(v: WireModelVersion, storageLocation: string | null): SourceModelVersion {
  return {
    name: v.name,
    version: Number(v.version),
    creationTimestamp: num(v.creation_timestamp),
    lastUpdatedTimestamp: num(v.last_updated_timestamp, num(v.creation_timestamp)),
    userId: nonEmpty(v.user_id),
    currentStage: v.current_stage ?? 'None',
    description: v.description ?? null,
    source: v.source ?? '',
    runId: nonEmpty(v.run_id),
    runLink: nonEmpty(v.run_link),
    status: v.status ?? 'READY',
    statusMessage: nonEmpty(v.status_message),
    modelId: nonEmpty(v.model_id),
    tags: kv(v.tags),
    storageLocation,
  };
}

/**
 * A trace in the shape of MLflow 3's `GET /api/3.0/mlflow/traces/get` (`{trace_info, spans}`, spans
 * in OTLP JSON), from its JSON text: nanosecond times beyond 2^53 are quoted before parsing so no
 * digit is lost.
 */
export function traceFromWireText(text: string): SourceTrace {
  const trace = JSON.parse(quoteNanos(text)) as { trace_info?: Record<string, unknown>; spans?: unknown[] };
  const info = traceInfoInputFrom({ trace: { trace_info: trace.trace_info } });
  const spans = decodeOtlpJson({ resource_spans: [{ scope_spans: [{ spans: trace.spans ?? [] }] }] }).map((span) => spanDictFrom(span));
  return { info, spans };
}
