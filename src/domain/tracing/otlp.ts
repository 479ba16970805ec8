import { createRequire } from 'node:module';
import type protobuf from 'protobufjs';
import { MlflowError } from '../errors.ts';

/**
 * OpenTelemetry's OTLP trace export request, in both encodings the OTLP/HTTP spec allows:
 * binary protobuf (`application/x-protobuf`) and its JSON mapping (`application/json`: camelCase
 * or snake_case field names, trace/span ids as hex, 64-bit integers as text or numbers, enums as
 * numbers or names). Both decode to the same plain `OtlpSpan` list.
 *
 * The message layout below is written from the OTLP specification's field numbers (trace/v1,
 * common/v1, resource/v1, collector/trace/v1) and described to protobufjs by reflection.
 */

const T = (id: number, type: string, rule?: 'repeated') => (rule ? { id, type, rule } : { id, type });

const OTLP_DESCRIPTOR = {
  nested: {
    otlp: {
      nested: {
        ExportTraceServiceRequest: { fields: { resourceSpans: T(1, 'ResourceSpans', 'repeated') } },
        ExportTraceServiceResponse: { fields: { partialSuccess: T(1, 'ExportTracePartialSuccess') } },
        ExportTracePartialSuccess: { fields: { rejectedSpans: T(1, 'int64'), errorMessage: T(2, 'string') } },
        ResourceSpans: { fields: { resource: T(1, 'Resource'), scopeSpans: T(2, 'ScopeSpans', 'repeated'), schemaUrl: T(3, 'string') } },
        Resource: { fields: { attributes: T(1, 'KeyValue', 'repeated'), droppedAttributesCount: T(2, 'uint32') } },
        ScopeSpans: { fields: { scope: T(1, 'InstrumentationScope'), spans: T(2, 'Span', 'repeated'), schemaUrl: T(3, 'string') } },
        InstrumentationScope: {
          fields: { name: T(1, 'string'), version: T(2, 'string'), attributes: T(3, 'KeyValue', 'repeated'), droppedAttributesCount: T(4, 'uint32') },
        },
        Span: {
          fields: {
            traceId: T(1, 'bytes'),
            spanId: T(2, 'bytes'),
            traceState: T(3, 'string'),
            parentSpanId: T(4, 'bytes'),
            flags: T(16, 'fixed32'),
            name: T(5, 'string'),
            kind: T(6, 'int32'),
            startTimeUnixNano: T(7, 'fixed64'),
            endTimeUnixNano: T(8, 'fixed64'),
            attributes: T(9, 'KeyValue', 'repeated'),
            droppedAttributesCount: T(10, 'uint32'),
            events: T(11, 'Event', 'repeated'),
            droppedEventsCount: T(12, 'uint32'),
            links: T(13, 'Link', 'repeated'),
            droppedLinksCount: T(14, 'uint32'),
            status: T(15, 'Status'),
          },
        },
        Event: { fields: { timeUnixNano: T(1, 'fixed64'), name: T(2, 'string'), attributes: T(3, 'KeyValue', 'repeated'), droppedAttributesCount: T(4, 'uint32') } },
        Link: {
          fields: {
            traceId: T(1, 'bytes'),
            spanId: T(2, 'bytes'),
            traceState: T(3, 'string'),
            attributes: T(4, 'KeyValue', 'repeated'),
            droppedAttributesCount: T(5, 'uint32'),
            flags: T(6, 'fixed32'),
          },
        },
        Status: { fields: { message: T(2, 'string'), code: T(3, 'int32') } },
        KeyValue: { fields: { key: T(1, 'string'), value: T(2, 'AnyValue') } },
        AnyValue: {
          oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
          fields: {
            stringValue: T(1, 'string'),
            boolValue: T(2, 'bool'),
            intValue: T(3, 'int64'),
            doubleValue: T(4, 'double'),
            arrayValue: T(5, 'ArrayValue'),
            kvlistValue: T(6, 'KeyValueList'),
            bytesValue: T(7, 'bytes'),
          },
        },
        ArrayValue: { fields: { values: T(1, 'AnyValue', 'repeated') } },
        KeyValueList: { fields: { values: T(1, 'KeyValue', 'repeated') } },
      },
    },
  },
};

let requestType: protobuf.Type | undefined;

/**
 * The request message type. protobufjs (about 8 MiB of memory, docs/memory.md) is loaded by the
 * first protobuf request, not by importing this module: the JSON decoder, the types and the
 * import command need none of it.
 */
function requestTypeOf(): protobuf.Type {
  if (requestType === undefined) {
    const runtime = createRequire(import.meta.url)('protobufjs') as typeof protobuf;
    requestType = runtime.Root.fromJSON(OTLP_DESCRIPTOR).lookupType('otlp.ExportTraceServiceRequest');
  }
  return requestType;
}

/** The OTLP message types (tests and the benchmark encode requests with them). */
export const otlpTypes = {
  get request(): protobuf.Type {
    return requestTypeOf();
  },
};

/** A decoded attribute value: what OTLP's AnyValue holds, as plain JSON-able data. */
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

export const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'] as const;
export const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;
export type StatusCodeName = (typeof STATUS_CODES)[number];

export interface OtlpEvent {
  name: string;
  timeUnixNano: string;
  attributes: Array<[string, AttributeValue]>;
}

export interface OtlpLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: Array<[string, AttributeValue]>;
}

/** One span as received, ids in lower-case hex, times in decimal nanoseconds. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  traceState: string;
  name: string;
  kind: (typeof SPAN_KINDS)[number];
  startTimeUnixNano: string;
  endTimeUnixNano: string | null;
  attributes: Array<[string, AttributeValue]>;
  events: OtlpEvent[];
  links: OtlpLink[];
  status: { code: StatusCodeName; message: string };
  resourceAttributes: Array<[string, AttributeValue]>;
}

function invalidFormat(detail = 'Invalid OpenTelemetry format'): MlflowError {
  return MlflowError.invalidParameter(detail);
}

// ------------------------------------------------------------------ protobuf

/** Decodes a binary ExportTraceServiceRequest. */
export function decodeOtlpProtobuf(body: Buffer): OtlpSpan[] {
  let message: protobuf.Message;
  try {
    message = requestTypeOf().decode(body);
  } catch {
    throw invalidFormat();
  }
  // bytes as base64 and 64-bit integers as decimal text: the JSON path then reads both alike.
  const object = requestTypeOf().toObject(message, { longs: String, bytes: String, enums: Number, defaults: false, oneofs: false });
  return fromRequestObject(object, 'base64');
}

// ------------------------------------------------------------------ JSON

/** Decodes the OTLP JSON encoding (ids in hex, as the OTLP spec says). */
export function decodeOtlpJson(body: unknown): OtlpSpan[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidFormat();
  return fromRequestObject(body as Record<string, unknown>, 'hex');
}

type Obj = Record<string, unknown>;

/** A field by its camelCase or snake_case name. */
function field(obj: Obj, camel: string): unknown {
  if (camel in obj) return obj[camel];
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return obj[snake];
}

function list(value: unknown): Obj[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidFormat();
  return value.map((item) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw invalidFormat();
    return item as Obj;
  });
}

function str(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalidFormat();
  return value;
}

function uint64Text(value: unknown): string {
  if (value === undefined || value === null || value === '') return '0';
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return BigInt(value).toString();
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value).toString();
  throw invalidFormat();
}

function idHex(value: unknown, encoding: 'hex' | 'base64', bytes: number, what: string): string {
  const text = str(value);
  if (text === '') return '';
  let hex: string;
  if (encoding === 'hex' && /^[0-9a-fA-F]*$/.test(text)) hex = text.toLowerCase();
  else {
    // Protobuf's canonical JSON writes bytes as base64; accept it in JSON bodies as well.
    const buffer = Buffer.from(text, 'base64');
    hex = buffer.toString('hex');
  }
  if (hex.length !== bytes * 2) throw MlflowError.invalidParameter(`Invalid OpenTelemetry format: ${what} must be ${bytes} bytes.`);
  return hex;
}

function enumIndex<T extends readonly string[]>(value: unknown, names: T): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < names.length) return value;
  if (typeof value === 'string') {
    const index = names.indexOf(value);
    if (index >= 0) return index;
  }
  throw invalidFormat();
}

function anyValue(value: unknown, encoding: 'hex' | 'base64'): AttributeValue {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidFormat();
  const v = value as Obj;
  const s = field(v, 'stringValue');
  if (s !== undefined) return str(s);
  const b = field(v, 'boolValue');
  if (b !== undefined) {
    if (typeof b !== 'boolean') throw invalidFormat();
    return b;
  }
  const i = field(v, 'intValue');
  if (i !== undefined) {
    if (typeof i === 'number' && Number.isInteger(i)) return i;
    if (typeof i === 'string' && /^-?\d+$/.test(i)) {
      const n = Number(i);
      return Number.isSafeInteger(n) ? n : i;
    }
    throw invalidFormat();
  }
  const d = field(v, 'doubleValue');
  if (d !== undefined) {
    if (typeof d === 'number') return d;
    if (typeof d === 'string' && d.trim() !== '' && !Number.isNaN(Number(d))) return Number(d);
    if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return d;
    throw invalidFormat();
  }
  const a = field(v, 'arrayValue');
  if (a !== undefined) {
    const values = a && typeof a === 'object' ? field(a as Obj, 'values') : undefined;
    if (values === undefined || values === null) return [];
    if (!Array.isArray(values)) throw invalidFormat();
    return values.map((item) => anyValue(item, encoding));
  }
  const kv = field(v, 'kvlistValue');
  if (kv !== undefined) {
    const values = kv && typeof kv === 'object' ? field(kv as Obj, 'values') : undefined;
    const result: Record<string, AttributeValue> = {};
    for (const [key, item] of keyValues(values, encoding)) result[key] = item;
    return result;
  }
  const bytes = field(v, 'bytesValue');
  if (bytes !== undefined) return str(bytes);
  return null;
}

function keyValues(value: unknown, encoding: 'hex' | 'base64'): Array<[string, AttributeValue]> {
  return list(value).map((kv) => [str(field(kv, 'key')), anyValue(field(kv, 'value'), encoding)]);
}

function fromRequestObject(request: Obj, encoding: 'hex' | 'base64'): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  for (const resourceSpans of list(field(request, 'resourceSpans'))) {
    const resource = field(resourceSpans, 'resource');
    const resourceAttributes = resource && typeof resource === 'object' ? keyValues(field(resource as Obj, 'attributes'), encoding) : [];
    for (const scopeSpans of list(field(resourceSpans, 'scopeSpans'))) {
      for (const span of list(field(scopeSpans, 'spans'))) spans.push(spanFrom(span, encoding, resourceAttributes));
    }
  }
  return spans;
}

function spanFrom(span: Obj, encoding: 'hex' | 'base64', resourceAttributes: Array<[string, AttributeValue]>): OtlpSpan {
  const traceId = idHex(field(span, 'traceId'), encoding, 16, 'trace_id');
  const spanId = idHex(field(span, 'spanId'), encoding, 8, 'span_id');
  if (traceId === '' || /^0+$/.test(traceId)) throw MlflowError.invalidParameter('Invalid OpenTelemetry format: trace_id is required.');
  if (spanId === '' || /^0+$/.test(spanId)) throw MlflowError.invalidParameter('Invalid OpenTelemetry format: span_id is required.');
  const parent = idHex(field(span, 'parentSpanId'), encoding, 8, 'parent_span_id');
  const statusObj = field(span, 'status');
  const status = statusObj && typeof statusObj === 'object' ? (statusObj as Obj) : {};
  const end = uint64Text(field(span, 'endTimeUnixNano'));
  return {
    traceId,
    spanId,
    parentSpanId: parent === '' || /^0+$/.test(parent) ? null : parent,
    traceState: str(field(span, 'traceState')),
    name: str(field(span, 'name')),
    kind: SPAN_KINDS[enumIndex(field(span, 'kind'), SPAN_KINDS)]!,
    startTimeUnixNano: uint64Text(field(span, 'startTimeUnixNano')),
    endTimeUnixNano: end === '0' ? null : end,
    attributes: keyValues(field(span, 'attributes'), encoding),
    events: list(field(span, 'events')).map((event) => ({
      name: str(field(event, 'name')),
      timeUnixNano: uint64Text(field(event, 'timeUnixNano')),
      attributes: keyValues(field(event, 'attributes'), encoding),
    })),
    links: list(field(span, 'links')).map((link) => ({
      traceId: idHex(field(link, 'traceId'), encoding, 16, 'link trace_id'),
      spanId: idHex(field(link, 'spanId'), encoding, 8, 'link span_id'),
      traceState: str(field(link, 'traceState')),
      attributes: keyValues(field(link, 'attributes'), encoding),
    })),
    status: { code: STATUS_CODES[enumIndex(field(status, 'code'), STATUS_CODES)]!, message: str(field(status, 'message')) },
    resourceAttributes,
  };
}

/** The body of an empty ExportTraceServiceResponse (everything accepted), in the request's encoding. */
export function exportResponse(encoding: 'protobuf' | 'json'): Buffer | object {
  return encoding === 'json' ? {} : Buffer.alloc(0);
}
