import { MlflowError } from '../domain/errors.ts';
import type { AttributeValue } from '../domain/tracing/otlp.ts';
import { decodedAttribute, type SpanDict } from '../domain/tracing/spans.ts';
import type { AssessmentInput } from '../domain/tracing/assessments.ts';
import type { TraceInfoInput, TraceWithSpans } from '../domain/tracing/trace-service.ts';
import type { AssessmentRecord, TraceRecord, TraceState } from '../store/trace-store.ts';

/**
 * MLflow's wire shapes for traces: TraceInfoV3 (times as protobuf Timestamp/Duration JSON, maps
 * as objects), the v2 TraceInfo (ms numbers, key/value lists), assessments, and spans as
 * OpenTelemetry `Span` messages in protobuf JSON (snake_case names, ids base64, attribute values
 * typed AnyValues), which is how MLflow's server returns them from `traces/get`.
 */

// ------------------------------------------------------------------ times

/** Protobuf Timestamp JSON: RFC 3339 in UTC. */
export function timestampJson(ms: number): string {
  return new Date(ms).toISOString();
}

/** Protobuf Duration JSON: seconds with 0 or 3 decimals (`0.030s`, `2s`). */
export function durationJson(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
}

/** A Timestamp field: RFC 3339 text, or `{seconds, nanos}`; in ms. */
export function parseTimestamp(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  } else if (typeof value === 'object' && !Array.isArray(value)) {
    const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
    const s = Number(seconds ?? 0);
    const n = Number(nanos ?? 0);
    if (Number.isFinite(s) && Number.isFinite(n)) return Math.floor(s * 1000 + n / 1e6);
  }
  throw MlflowError.invalidParameter(`Invalid value ${JSON.stringify(value)} for parameter '${field}' supplied: expected an RFC 3339 timestamp.`);
}

/** A Duration field: `1.5s` text, or `{seconds, nanos}`; in ms. */
export function parseDuration(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    const match = /^(-?\d+(?:\.\d{1,9})?)s$/.exec(value.trim());
    if (match) return Math.round(Number(match[1]) * 1000);
  } else if (typeof value === 'object' && !Array.isArray(value)) {
    const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
    const s = Number(seconds ?? 0);
    const n = Number(nanos ?? 0);
    if (Number.isFinite(s) && Number.isFinite(n)) return Math.round(s * 1000 + n / 1e6);
  }
  throw MlflowError.invalidParameter(`Invalid value ${JSON.stringify(value)} for parameter '${field}' supplied: expected a duration such as "1.5s".`);
}

// ------------------------------------------------------------------ requests

const STATES: readonly TraceState[] = ['STATE_UNSPECIFIED', 'OK', 'ERROR', 'IN_PROGRESS'];

/** A TraceInfoV3.State or v2 TraceStatus, by name or number. */
export function parseState(value: unknown, field: string): TraceState {
  if (value === undefined || value === null || value === '') return 'STATE_UNSPECIFIED';
  if (typeof value === 'number' && STATES[value] !== undefined) return STATES[value];
  if (typeof value === 'string') {
    if (value === 'TRACE_STATUS_UNSPECIFIED') return 'STATE_UNSPECIFIED';
    const found = STATES.find((s) => s === value);
    if (found) return found;
  }
  throw MlflowError.invalidParameter(`Invalid value ${JSON.stringify(value)} for parameter '${field}' supplied. Valid values are OK, ERROR, IN_PROGRESS.`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A string map field: a JSON object, or (v2 style) a `[{key, value}]` list. */
export function stringMap(value: unknown, field: string): Record<string, string> {
  const result: Record<string, string> = {};
  if (value === undefined || value === null) return result;
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (!isObject(entry) || typeof entry.key !== 'string') throw MlflowError.invalidParameter(`Invalid value for parameter '${field}' supplied: expected key/value pairs.`);
      result[entry.key] = entry.value === undefined || entry.value === null ? '' : String(entry.value);
    }
    return result;
  }
  if (!isObject(value)) throw MlflowError.invalidParameter(`Invalid value for parameter '${field}' supplied: expected an object of strings.`);
  for (const [key, entry] of Object.entries(value)) result[key] = entry === null || entry === undefined ? '' : String(entry);
  return result;
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The `assessment` of a request, split into the record's ids/times and MLflow's fields. */
export function assessmentInputFrom(value: unknown, field = 'assessment'): AssessmentInput & { traceId?: string } {
  if (!isObject(value)) throw MlflowError.invalidParameter(`Missing value for required parameter '${field}'. See the API docs for more information about request parameters.`);
  const { assessment_id, trace_id, create_time, last_update_time, ...body } = value;
  return {
    ...(typeof assessment_id === 'string' && assessment_id !== '' ? { assessmentId: assessment_id } : {}),
    ...(typeof trace_id === 'string' && trace_id !== '' ? { traceId: trace_id } : {}),
    createTime: parseTimestamp(create_time, `${field}.create_time`),
    lastUpdateTime: parseTimestamp(last_update_time, `${field}.last_update_time`),
    body,
  };
}

/** StartTraceV3's `trace.trace_info`. */
export function traceInfoInputFrom(fields: Record<string, unknown>): TraceInfoInput {
  const trace = fields.trace;
  const info = isObject(trace) ? trace.trace_info : undefined;
  if (!isObject(info)) throw MlflowError.invalidParameter("Missing value for required parameter 'trace.trace_info'. See the API docs for more information about request parameters.");
  const traceId = info.trace_id;
  if (typeof traceId !== 'string' || traceId === '') {
    throw MlflowError.invalidParameter("Missing value for required parameter 'trace.trace_info.trace_id'. See the API docs for more information about request parameters.");
  }
  const location = info.trace_location;
  const experimentId = isObject(location) && isObject(location.mlflow_experiment) ? location.mlflow_experiment.experiment_id : undefined;
  if (typeof experimentId !== 'string' && typeof experimentId !== 'number') {
    throw MlflowError.invalidParameter('Trace location must be an MLflow experiment (trace_location.mlflow_experiment.experiment_id).');
  }
  const assessments = info.assessments;
  if (assessments !== undefined && !Array.isArray(assessments)) throw MlflowError.invalidParameter("Invalid value for parameter 'trace.trace_info.assessments' supplied.");
  return {
    traceId,
    experimentId: String(experimentId),
    requestTime: parseTimestamp(info.request_time, 'trace.trace_info.request_time') ?? Date.now(),
    executionDuration: parseDuration(info.execution_duration, 'trace.trace_info.execution_duration') ?? null,
    state: parseState(info.state, 'trace.trace_info.state'),
    clientRequestId: optionalString(info.client_request_id),
    requestPreview: optionalString(info.request_preview) ?? optionalString(info.request),
    responsePreview: optionalString(info.response_preview) ?? optionalString(info.response),
    metadata: stringMap(info.trace_metadata, 'trace.trace_info.trace_metadata'),
    tags: stringMap(info.tags, 'trace.trace_info.tags'),
    assessments: (assessments ?? []).map((a, i) => assessmentInputFrom(a, `trace.trace_info.assessments[${i}]`)),
  };
}

// ------------------------------------------------------------------ responses

export function presentAssessment(record: AssessmentRecord): Record<string, unknown> {
  return {
    assessment_id: record.assessmentId,
    assessment_name: record.name,
    trace_id: record.traceId,
    ...record.body,
    create_time: timestampJson(record.createTime),
    last_update_time: timestampJson(record.lastUpdateTime),
  };
}

export function presentTraceInfoV3(record: TraceRecord): Record<string, unknown> {
  return {
    trace_id: record.traceId,
    ...(record.clientRequestId ? { client_request_id: record.clientRequestId } : {}),
    trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: record.experimentId } },
    request_time: timestampJson(record.requestTime),
    ...(record.executionDuration !== null ? { execution_duration: durationJson(record.executionDuration) } : {}),
    state: record.state,
    trace_metadata: record.metadata,
    ...(record.assessments.length > 0 ? { assessments: record.assessments.map(presentAssessment) } : {}),
    tags: record.tags,
    ...(record.requestPreview !== null ? { request_preview: record.requestPreview } : {}),
    ...(record.responsePreview !== null ? { response_preview: record.responsePreview } : {}),
  };
}

/** MLflow 2.x TraceInfo (`status` is the v2 TraceStatus enum name). */
export function presentTraceInfoV2(record: TraceRecord): Record<string, unknown> {
  return {
    request_id: record.traceId,
    experiment_id: record.experimentId,
    timestamp_ms: record.requestTime,
    ...(record.executionDuration !== null ? { execution_time_ms: record.executionDuration } : {}),
    status: record.state === 'STATE_UNSPECIFIED' ? 'TRACE_STATUS_UNSPECIFIED' : record.state,
    request_metadata: Object.entries(record.metadata).map(([key, value]) => ({ key, value })),
    tags: Object.entries(record.tags).map(([key, value]) => ({ key, value })),
  };
}

/** An attribute value as an OTLP AnyValue in protobuf JSON (snake_case). */
export function anyValueJson(value: AttributeValue | undefined): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value === 'string') return { string_value: value };
  if (typeof value === 'boolean') return { bool_value: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { int_value: value } : { double_value: value };
  if (Array.isArray(value)) return { array_value: { values: value.map(anyValueJson) } };
  return { kvlist_value: { values: Object.entries(value).map(([key, v]) => ({ key, value: anyValueJson(v) })) } };
}

function keyValuesJson(record: Record<string, AttributeValue>): Array<{ key: string; value: Record<string, unknown> }> {
  return Object.entries(record).map(([key, value]) => ({ key, value: anyValueJson(value) }));
}

/** A stored span as an OTLP Span in protobuf JSON (int64 nanoseconds as decimal text: they exceed 2^53). */
export function presentSpan(span: SpanDict): Record<string, unknown> {
  const attributes = Object.entries(span.attributes).map(([key, stored]) => ({ key, value: anyValueJson(decodedAttribute(stored)) }));
  return {
    trace_id: span.trace_id,
    span_id: span.span_id,
    ...(span.trace_state ? { trace_state: span.trace_state } : {}),
    ...(span.parent_span_id ? { parent_span_id: span.parent_span_id } : {}),
    name: span.name,
    kind: span.kind,
    start_time_unix_nano: span.start_time_unix_nano,
    ...(span.end_time_unix_nano !== null ? { end_time_unix_nano: span.end_time_unix_nano } : {}),
    attributes,
    ...(span.events.length > 0
      ? { events: span.events.map((e) => ({ time_unix_nano: e.time_unix_nano, name: e.name, attributes: keyValuesJson(e.attributes) })) }
      : {}),
    ...(span.links.length > 0
      ? {
          links: span.links.map((l) => ({
            trace_id: l.trace_id,
            span_id: l.span_id,
            ...(l.trace_state ? { trace_state: l.trace_state } : {}),
            attributes: keyValuesJson(l.attributes),
          })),
        }
      : {}),
    status: { ...(span.status.message ? { message: span.status.message } : {}), code: span.status.code },
  };
}

export function presentTraceV3(trace: TraceWithSpans): Record<string, unknown> {
  return { trace_info: presentTraceInfoV3(trace.info), spans: trace.spans.map(presentSpan) };
}
