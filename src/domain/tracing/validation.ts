import { MlflowError } from '../errors.ts';

/** MLflow's limits for traces (mlflow/utils/validation.py and the tracing constants). */
export const TRACE_LIMITS = {
  tagKey: 250,
  tagValue: 8000,
  /** Request/response previews are cut to this many characters, as MLflow's server does. */
  preview: 1000,
  searchMaxResultsDefault: 100,
  searchMaxResults: 500,
  linkToRunMaxTraces: 100,
  /** Spans one OTLP request may carry. */
  spansPerRequest: 100_000,
} as const;

/** Tags the server manages; clients cannot set or delete them. */
export const SYSTEM_TRACE_TAGS = new Set(['mlflow.artifactLocation', 'mlflow.trace.spansLocation', 'mlflow.trace.archiveLocation', 'mlflow.trace.archivalFailure']);

export const TRACE_TAG = {
  artifactLocation: 'mlflow.artifactLocation',
  spansLocation: 'mlflow.trace.spansLocation',
  traceName: 'mlflow.traceName',
} as const;

export const TRACE_METADATA = {
  infoFinalized: 'mlflow.trace.infoFinalized',
  sizeStats: 'mlflow.trace.sizeStats',
  sourceRun: 'mlflow.sourceRun',
  schemaVersion: 'mlflow.trace_schema.version',
} as const;

export const SPANS_IN_TRACKING_STORE = 'TRACKING_STORE';

const TRACE_ID = /^[A-Za-z0-9][\w:.-]{0,254}$/;

export function validateTraceId(traceId: string): string {
  if (!TRACE_ID.test(traceId)) throw MlflowError.invalidParameter(`Invalid trace ID '${traceId}'.`);
  return traceId;
}

export function validateTraceTag(key: string, value: string): void {
  if (key === '') throw MlflowError.invalidParameter('Missing value for required parameter \'key\'. See the API docs for more information about request parameters.');
  if (key.length > TRACE_LIMITS.tagKey) {
    throw MlflowError.invalidParameter(`Trace tag key '${key.slice(0, 50)}...' had length ${key.length}, which exceeded length limit of ${TRACE_LIMITS.tagKey}`);
  }
  if (value.length > TRACE_LIMITS.tagValue) {
    throw MlflowError.invalidParameter(`Trace tag value '${value.slice(0, 50)}...' had length ${value.length}, which exceeded length limit of ${TRACE_LIMITS.tagValue}`);
  }
}

export function truncatePreview(text: string | null): string | null {
  if (text === null) return null;
  return text.length > TRACE_LIMITS.preview ? `${text.slice(0, TRACE_LIMITS.preview - 3)}...` : text;
}

export function traceNotFound(traceId: string): MlflowError {
  return MlflowError.notFound(`Trace with ID '${traceId}' not found.`);
}
