import { describe, expect, it } from 'vitest';
import type { WireSpan } from '../api/types.ts';
import { decodeAnyValue, decodeAttributes, parseJsonString } from './attributes.ts';
import { buildSpanTree, flattenSpanTree, nanosToMillis, normaliseSpan, spanIdToHex, traceTokenUsage, type Span } from './spans.ts';

/** A span as traces/get sends it (OTLP JSON, base64 ids, typed attributes). */
function wire(id: string, parent: string | null, startMs: number, endMs: number, extra: Partial<WireSpan> = {}): WireSpan {
  return {
    span_id: id,
    parent_span_id: parent,
    name: id,
    start_time_unix_nano: startMs * 1e6,
    end_time_unix_nano: endMs * 1e6,
    attributes: [{ key: 'mlflow.spanType', value: { string_value: 'UNKNOWN' } }],
    ...extra,
  };
}

function spans(list: WireSpan[]): Span[] {
  return list.map(normaliseSpan);
}

describe('span attributes', () => {
  it('decodes every OTLP value type, in snake_case and camelCase', () => {
    expect(decodeAnyValue({ string_value: 'a' })).toBe('a');
    expect(decodeAnyValue({ stringValue: 'b' })).toBe('b');
    expect(decodeAnyValue({ int_value: '20' })).toBe(20);
    expect(decodeAnyValue({ int_value: '9007199254740993' })).toBe('9007199254740993');
    expect(decodeAnyValue({ double_value: 0.5 })).toBe(0.5);
    expect(decodeAnyValue({ bool_value: false })).toBe(false);
    expect(decodeAnyValue({ kvlist_value: { values: [{ key: 'q', value: { string_value: 'hi' } }] } })).toEqual({ q: 'hi' });
    expect(decodeAnyValue({ arrayValue: { values: [{ intValue: 1 }, { kvlistValue: { values: [{ key: 'doc', value: { stringValue: 'x' } }] } }] } })).toEqual([1, { doc: 'x' }]);
  });

  it('reads the JSON-string attributes of a traces.json artifact as values, leaving plain strings alone', () => {
    expect(decodeAttributes({ 'mlflow.spanInputs': '{"q": "hi"}', 'mlflow.spanOutputs': '"42"', 'mlflow.spanLogLevel': '10' })).toEqual({
      'mlflow.spanInputs': { q: 'hi' },
      'mlflow.spanOutputs': '42',
      'mlflow.spanLogLevel': '10',
    });
    expect(parseJsonString('42')).toBe('42');
    expect(parseJsonString('{not json')).toBe('{not json');
  });

  it('turns base64 span ids into hex and nanoseconds into milliseconds', () => {
    expect(spanIdToHex('uUk0/9ykr30=')).toBe('b94934ffdca4af7d');
    expect(spanIdToHex('b94934ffdca4af7d')).toBe('b94934ffdca4af7d');
    expect(nanosToMillis('1796408994547329034')).toBeCloseTo(1796408994547.329, 2);
    expect(nanosToMillis(null)).toBeUndefined();
  });

  it('separates inputs, outputs and type from the other attributes and reads the status and events', () => {
    const span = normaliseSpan({
      span_id: 'a',
      name: 'llm',
      start_time_unix_nano: 1e6,
      end_time_unix_nano: 3e6,
      status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
      attributes: [
        { key: 'mlflow.spanType', value: { string_value: 'CHAT_MODEL' } },
        { key: 'mlflow.spanInputs', value: { kvlist_value: { values: [{ key: 'q', value: { string_value: 'hi' } }] } } },
        { key: 'mlflow.spanOutputs', value: { string_value: '42' } },
        { key: 'model', value: { string_value: 'tiny' } },
        { key: 'mlflow.chat.tokenUsage', value: { string_value: '{"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}' } },
      ],
      events: [{ name: 'exception', time_unix_nano: '2000000', attributes: [{ key: 'exception.type', value: { string_value: 'ValueError' } }] }],
    });
    expect(span.type).toBe('CHAT_MODEL');
    expect(span.inputs).toEqual({ q: 'hi' });
    expect(span.outputs).toBe('42');
    expect(span.attributes).toEqual({ model: 'tiny', 'mlflow.chat.tokenUsage': { input_tokens: 5, output_tokens: 2, total_tokens: 7 } });
    expect(span.statusCode).toBe('ERROR');
    expect(span.statusMessage).toBe('boom');
    expect(span.events).toEqual([{ name: 'exception', time: 2, attributes: { 'exception.type': 'ValueError' } }]);
    expect(span.tokenUsage).toEqual({ input: 5, output: 2, total: 7 });
    expect(span.parentId).toBeUndefined();
  });
});

describe('span tree', () => {
  it('puts children under their parent in start order, whatever order the spans arrive in', () => {
    const roots = buildSpanTree(spans([wire('c2', 'root', 5, 6), wire('g1', 'c1', 2, 3), wire('root', null, 0, 10), wire('c1', 'root', 1, 4)]));
    expect(roots).toHaveLength(1);
    expect(roots[0]!.span.id).toBe('root');
    expect(roots[0]!.children.map((n) => n.span.id)).toEqual(['c1', 'c2']);
    expect(roots[0]!.children[0]!.children.map((n) => n.span.id)).toEqual(['g1']);
  });

  it('keeps a span whose parent is missing as a root instead of dropping it', () => {
    const roots = buildSpanTree(spans([wire('root', '', 0, 10), wire('orphan', 'gone', 3, 4)]));
    expect(roots.map((n) => n.span.id)).toEqual(['root', 'orphan']);
  });

  it('breaks a parent cycle instead of looping', () => {
    const roots = buildSpanTree(spans([wire('a', 'b', 0, 1), wire('b', 'a', 1, 2)]));
    const count = (list: typeof roots): number => list.reduce((n, node) => n + 1 + count(node.children), 0);
    expect(count(roots)).toBe(2);
    expect(roots.length).toBeGreaterThan(0);
  });

  it('flattens depth-first with depths, skips what is under a collapsed span, and marks failures below', () => {
    const roots = buildSpanTree(
      spans([wire('root', null, 0, 10), wire('c1', 'root', 1, 4), wire('g1', 'c1', 2, 3, { status: { code: 'STATUS_CODE_ERROR' } }), wire('c2', 'root', 5, 6)]),
    );
    const rows = flattenSpanTree(roots, new Set());
    expect(rows.map((r) => [r.span.id, r.depth, r.childCount])).toEqual([
      ['root', 0, 2],
      ['c1', 1, 1],
      ['g1', 2, 0],
      ['c2', 1, 0],
    ]);
    expect(rows.map((r) => r.errorBelow)).toEqual([true, true, true, false]);
    expect(flattenSpanTree(roots, new Set(['c1'])).map((r) => r.span.id)).toEqual(['root', 'c1', 'c2']);
  });

  it('flattens a 1,000-deep chain without overflowing the stack', () => {
    const list = Array.from({ length: 1000 }, (_, i) => wire(`s${i}`, i === 0 ? null : `s${i - 1}`, i, 2000 - i));
    const rows = flattenSpanTree(buildSpanTree(spans(list)), new Set());
    expect(rows).toHaveLength(1000);
    expect(rows[999]!.depth).toBe(999);
  });

  it('counts token usage once per model call, not again in the spans wrapping it', () => {
    const usage = (n: number) => [{ key: 'mlflow.chat.tokenUsage', value: { kvlist_value: { values: [{ key: 'input_tokens', value: { int_value: String(n) } }, { key: 'output_tokens', value: { int_value: '1' } }] } } }];
    const roots = buildSpanTree(
      spans([
        wire('root', null, 0, 10),
        wire('wrapper', 'root', 1, 5, { attributes: usage(10) }),
        wire('inner', 'wrapper', 2, 4, { attributes: usage(10) }),
        wire('second', 'root', 6, 8, { attributes: usage(3) }),
      ]),
    );
    expect(traceTokenUsage(roots)).toEqual({ input: 13, output: 2, total: 15 });
    expect(traceTokenUsage(buildSpanTree(spans([wire('root', null, 0, 1)])))).toBeUndefined();
  });
});
