import { hexToBase64, type SpanDict } from './spans.ts';
import type { StatusCodeName } from './otlp.ts';
import type { AttributeValue } from './otlp.ts';

/**
 * Spans a client uploaded to the trace's artifact location (`traces.json`) instead of the
 * tracking store: MLflow 2.x always does, MLflow 3 when the server did not confirm it stored the
 * spans. Two layouts exist: MLflow 3's span dicts (ids base64, `start_time_unix_nano`) and
 * MLflow 2's (`context.span_id` hex, `start_time`, `status_code`). Both become span dicts, so
 * `traces/get` serves these traces like any other.
 */

/** Quotes the nanosecond integers so JSON.parse keeps every digit (they exceed 2^53). */
/** JSON text with its nanosecond numbers (beyond 2^53) quoted, so parsing keeps every digit. */
export function quoteNanos(text: string): string {
  return text.replace(/"(start_time_unix_nano|end_time_unix_nano|time_unix_nano|start_time|end_time|timestamp)"(\s*):(\s*)(\d{16,})/g, '"$1"$2:$3"$4"');
}

function nanos(value: unknown): string | null {
  if (typeof value === 'string' && /^\d+$/.test(value)) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.round(value)).toString();
  return null;
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function hexId(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  return value.replace(/^0x/, '');
}

function statusName(code: unknown): StatusCodeName {
  if (code === 'OK' || code === 'STATUS_CODE_OK') return 'STATUS_CODE_OK';
  if (code === 'ERROR' || code === 'STATUS_CODE_ERROR') return 'STATUS_CODE_ERROR';
  return 'STATUS_CODE_UNSET';
}

function storedAttributes(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(record(value))) out[key] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

function fromV3(span: Record<string, unknown>): SpanDict | null {
  const start = nanos(span.start_time_unix_nano);
  if (typeof span.span_id !== 'string' || typeof span.trace_id !== 'string' || start === null) return null;
  const status = record(span.status);
  return {
    trace_id: span.trace_id,
    span_id: span.span_id,
    parent_span_id: typeof span.parent_span_id === 'string' && span.parent_span_id !== '' ? span.parent_span_id : null,
    name: typeof span.name === 'string' ? span.name : '',
    kind: typeof span.kind === 'string' ? span.kind : 'SPAN_KIND_INTERNAL',
    start_time_unix_nano: start,
    end_time_unix_nano: nanos(span.end_time_unix_nano),
    events: (Array.isArray(span.events) ? span.events : []).map((e) => {
      const event = record(e);
      return { name: String(event.name ?? ''), time_unix_nano: nanos(event.time_unix_nano) ?? '0', attributes: record(event.attributes) as Record<string, AttributeValue> };
    }),
    status: { code: statusName(status.code), message: typeof status.message === 'string' ? status.message : '' },
    attributes: storedAttributes(span.attributes),
    links: [],
  };
}

function fromV2(span: Record<string, unknown>): SpanDict | null {
  const context = record(span.context);
  const spanId = hexId(context.span_id);
  const traceId = hexId(context.trace_id);
  const start = nanos(span.start_time);
  if (spanId === null || traceId === null || start === null) return null;
  const parent = hexId(span.parent_id);
  return {
    trace_id: hexToBase64(traceId.padStart(32, '0')),
    span_id: hexToBase64(spanId.padStart(16, '0')),
    parent_span_id: parent === null ? null : hexToBase64(parent.padStart(16, '0')),
    name: typeof span.name === 'string' ? span.name : '',
    kind: 'SPAN_KIND_INTERNAL',
    start_time_unix_nano: start,
    end_time_unix_nano: nanos(span.end_time),
    events: (Array.isArray(span.events) ? span.events : []).map((e) => {
      const event = record(e);
      return { name: String(event.name ?? ''), time_unix_nano: nanos(event.timestamp) ?? '0', attributes: record(event.attributes) as Record<string, AttributeValue> };
    }),
    status: { code: statusName(span.status_code), message: typeof span.status_message === 'string' ? span.status_message : '' },
    attributes: storedAttributes(span.attributes),
    links: [],
  };
}

/** The spans of a `traces.json` artifact; an unreadable file gives none rather than an error. */
export function spansFromTraceArtifact(text: string): SpanDict[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(quoteNanos(text));
  } catch {
    return [];
  }
  const spans = record(parsed).spans;
  if (!Array.isArray(spans)) return [];
  return spans.flatMap((s) => {
    const span = record(s);
    const dict = 'context' in span ? fromV2(span) : fromV3(span);
    return dict ? [dict] : [];
  });
}
