import { randomBytes } from 'node:crypto';
import { otlpTypes } from '../../src/domain/tracing/otlp.ts';

/**
 * Builds OTLP export requests for tests and the benchmark: spans in the OTLP JSON encoding (ids
 * in hex, as the spec's JSON mapping says) and the same request as protobuf bytes.
 */
export interface TestSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startMs: number;
  endMs: number;
  attributes?: Record<string, unknown>;
  status?: 'STATUS_CODE_OK' | 'STATUS_CODE_ERROR' | 'STATUS_CODE_UNSET';
  events?: Array<{ name: string; timeMs: number; attributes?: Record<string, unknown> }>;
}

export function hexId(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function anyValue(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
  if (value && typeof value === 'object') return { kvlistValue: { values: keyValues(value as Record<string, unknown>) } };
  return {};
}

function keyValues(record: Record<string, unknown>): Array<{ key: string; value: Record<string, unknown> }> {
  return Object.entries(record).map(([key, value]) => ({ key, value: anyValue(value) }));
}

const STATUS_NUMBER = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 } as const;

/** An ExportTraceServiceRequest in OTLP JSON. */
export function otlpJsonRequest(spans: TestSpan[], resource: Record<string, unknown> = { 'service.name': 'test' }): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: { attributes: keyValues(resource) },
        scopeSpans: [
          {
            scope: { name: 'trove-tests' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: 1,
              startTimeUnixNano: `${s.startMs}000000`,
              endTimeUnixNano: `${s.endMs}000000`,
              attributes: keyValues(s.attributes ?? {}),
              events: (s.events ?? []).map((e) => ({ name: e.name, timeUnixNano: `${e.timeMs}000000`, attributes: keyValues(e.attributes ?? {}) })),
              status: { code: STATUS_NUMBER[s.status ?? 'STATUS_CODE_OK'] },
            })),
          },
        ],
      },
    ],
  };
}

/** The same request as protobuf bytes (ids as raw bytes). */
export function otlpProtobufRequest(spans: TestSpan[], resource?: Record<string, unknown>): Buffer {
  const json = otlpJsonRequest(spans, resource) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
  for (const rs of json.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        for (const key of ['traceId', 'spanId', 'parentSpanId']) {
          if (typeof span[key] === 'string') span[key] = Buffer.from(span[key] as string, 'hex');
        }
      }
    }
  }
  const message = otlpTypes.request.fromObject(json);
  return Buffer.from(otlpTypes.request.encode(message).finish());
}
