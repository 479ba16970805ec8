/**
 * MLflow 3 tracing on the wire (snake_case, as GET /api/3.0/mlflow/traces/get, batchGet and
 * POST traces/search answer; see docs of the trace v3 protos). Spans come in OTLP's JSON form:
 * ids base64, attribute values typed (`string_value`, `kvlist_value`, ...).
 */

export type TraceState = 'STATE_UNSPECIFIED' | 'OK' | 'ERROR' | 'IN_PROGRESS';

export interface TraceLocation {
  type: string;
  mlflow_experiment?: { experiment_id: string };
}

export interface AssessmentSource {
  source_type: 'HUMAN' | 'LLM_JUDGE' | 'CODE' | 'SOURCE_TYPE_UNSPECIFIED' | string;
  source_id?: string;
}

export interface AssessmentError {
  error_code?: string;
  error_message?: string;
  stack_trace?: string;
}

export interface Assessment {
  assessment_id?: string;
  assessment_name: string;
  trace_id?: string;
  span_id?: string;
  source?: AssessmentSource;
  create_time?: string;
  last_update_time?: string;
  feedback?: { value?: unknown; error?: AssessmentError };
  expectation?: { value?: unknown; serialized_value?: { serialization_format?: string; value?: string } };
  rationale?: string;
  metadata?: Record<string, string>;
  valid?: boolean;
  overrides?: string;
}

export interface TraceInfo {
  trace_id: string;
  client_request_id?: string;
  trace_location?: TraceLocation;
  request_preview?: string;
  response_preview?: string;
  /** RFC 3339 (proto Timestamp JSON). */
  request_time?: string;
  /** Proto Duration JSON, e.g. "0.031s". */
  execution_duration?: string;
  state?: TraceState;
  trace_metadata?: Record<string, string>;
  tags?: Record<string, string>;
  assessments?: Assessment[];
}

/** OTLP AnyValue in its JSON mapping (snake_case from MLflow; camelCase accepted too). */
export interface WireAnyValue {
  string_value?: string;
  bool_value?: boolean;
  int_value?: string | number;
  double_value?: number | string;
  bytes_value?: string;
  array_value?: { values?: WireAnyValue[] };
  kvlist_value?: { values?: WireKeyValue[] };
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  bytesValue?: string;
  arrayValue?: { values?: WireAnyValue[] };
  kvlistValue?: { values?: WireKeyValue[] };
}

export interface WireKeyValue {
  key: string;
  value?: WireAnyValue;
}

/** Typed OTLP attribute list (traces/get), or the JSON-string map of a `traces.json` artifact. */
export type WireAttributes = WireKeyValue[] | Record<string, unknown>;

export interface WireSpanEvent {
  time_unix_nano?: number | string;
  name: string;
  attributes?: WireAttributes;
}

export interface WireSpan {
  trace_id?: string;
  span_id: string;
  parent_span_id?: string | null;
  name: string;
  kind?: string;
  start_time_unix_nano: number | string;
  end_time_unix_nano?: number | string | null;
  attributes?: WireAttributes;
  events?: WireSpanEvent[];
  status?: { code?: string; message?: string };
}

export interface Trace {
  trace_info: TraceInfo;
  spans?: WireSpan[];
}
