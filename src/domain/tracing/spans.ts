import type { SpanRow } from '../../store/trace-store.ts';
import type { AttributeValue, OtlpSpan, StatusCodeName } from './otlp.ts';

/**
 * Spans as MLflow keeps them: its "span dict" (the shape of `Span.to_dict()` and of a trace's
 * `traces.json` artifact), where every attribute value is JSON-encoded text. Keeping this shape
 * means a span reads back exactly as MLflow's own server returns it.
 */

export const SPAN_ATTRIBUTE = {
  requestId: 'mlflow.traceRequestId',
  inputs: 'mlflow.spanInputs',
  outputs: 'mlflow.spanOutputs',
  spanType: 'mlflow.spanType',
  traceTagPrefix: 'mlflow.traceTag.',
} as const;

export interface SpanDict {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: string;
  /** Decimal text: nanoseconds exceed 2^53. */
  start_time_unix_nano: string;
  end_time_unix_nano: string | null;
  trace_state?: string;
  events: Array<{ name: string; time_unix_nano: string; attributes: Record<string, AttributeValue> }>;
  status: { code: StatusCodeName; message: string };
  /** Attribute values JSON-encoded, as MLflow stores them. */
  attributes: Record<string, string>;
  links: Array<{ trace_id: string; span_id: string; trace_state: string; attributes: Record<string, AttributeValue> }>;
}

/** MLflow's trace id for an OpenTelemetry trace id: `tr-` and the 32 hex digits. */
export function mlflowTraceId(otelTraceIdHex: string): string {
  return `tr-${otelTraceIdHex}`;
}

export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

export function base64ToHex(base64: string): string {
  return Buffer.from(base64, 'base64').toString('hex');
}

/**
 * One attribute value as MLflow stores it. MLflow's exporters send values that are already JSON
 * text (`"\"tiny\""`), which a plain JSON encoding would wrap a second time; like MLflow's server,
 * a string holding a JSON string, object or list is taken as that JSON. Any other value (a plain
 * string from another SDK, a number, a bool) is encoded once.
 */
export function storedAttributeValue(value: AttributeValue): string {
  if (typeof value === 'string') {
    try {
      const inner: unknown = JSON.parse(value);
      if (typeof inner === 'string' || (inner !== null && typeof inner === 'object')) return value;
    } catch {
      // Not JSON: a plain string.
    }
  }
  return JSON.stringify(value);
}

function toRecord(pairs: Array<[string, AttributeValue]>): Record<string, AttributeValue> {
  const record: Record<string, AttributeValue> = {};
  for (const [key, value] of pairs) record[key] = value;
  return record;
}

/** Converts a received OTLP span into the stored span dict (under its MLflow trace id). */
export function spanDictFrom(span: OtlpSpan): SpanDict {
  const attributes: Record<string, string> = {};
  for (const [key, value] of span.attributes) attributes[key] = storedAttributeValue(value);
  // The trace id is derived from the OTLP trace id, never taken from what the client claims.
  attributes[SPAN_ATTRIBUTE.requestId] = JSON.stringify(mlflowTraceId(span.traceId));
  return {
    trace_id: hexToBase64(span.traceId),
    span_id: hexToBase64(span.spanId),
    parent_span_id: span.parentSpanId === null ? null : hexToBase64(span.parentSpanId),
    name: span.name,
    kind: span.kind,
    start_time_unix_nano: span.startTimeUnixNano,
    end_time_unix_nano: span.endTimeUnixNano,
    ...(span.traceState ? { trace_state: span.traceState } : {}),
    events: span.events.map((event) => ({ name: event.name, time_unix_nano: event.timeUnixNano, attributes: toRecord(event.attributes) })),
    status: span.status,
    attributes,
    links: span.links.map((link) => ({
      trace_id: hexToBase64(link.traceId),
      span_id: hexToBase64(link.spanId),
      trace_state: link.traceState,
      attributes: toRecord(link.attributes),
    })),
  };
}

export function spanRowFrom(span: OtlpSpan, dict: SpanDict = spanDictFrom(span)): SpanRow {
  return {
    traceId: mlflowTraceId(span.traceId),
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    startTimeNs: span.startTimeUnixNano,
    content: JSON.stringify(dict),
  };
}

/** A stored attribute decoded back to its value (text that is not JSON stays text). */
export function decodedAttribute(stored: string | undefined): AttributeValue | undefined {
  if (stored === undefined) return undefined;
  try {
    return JSON.parse(stored) as AttributeValue;
  } catch {
    return stored;
  }
}

export function nanosToMillis(nanos: string): number {
  return Number(BigInt(nanos) / 1_000_000n);
}

/** MLflow trace ids of the traces whose root span is among `spans`. */
export function mlflowTraceIdsOfRoots(spans: OtlpSpan[]): string[] {
  return [...new Set(spans.filter((s) => s.parentSpanId === null).map((s) => mlflowTraceId(s.traceId)))];
}
