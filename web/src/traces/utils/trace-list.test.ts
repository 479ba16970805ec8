import { describe, expect, it } from 'vitest';
import type { TraceInfo } from '../api/types.ts';
import { composeTraceFilter, formatOrder, mergeTraces, orderByOf, parseOrder, traceComparator } from './trace-list.ts';

function trace(id: string, secondsAfter: number, latencyMs = 10, extra: Partial<TraceInfo> = {}): TraceInfo {
  return { trace_id: id, request_time: new Date(Date.UTC(2026, 11, 4, 12, 0, secondsAfter)).toISOString(), execution_duration: `${latencyMs / 1000}s`, state: 'OK', ...extra };
}

describe('trace filter and order', () => {
  it('ANDs the quick filters with the typed filter, quoting values', () => {
    const now = Date.UTC(2026, 11, 4, 12);
    expect(composeTraceFilter({ text: " tags.user = 'u1' ", state: 'ERROR', since: '1h', runId: "r'1", now })).toBe(
      `trace.status = 'ERROR' AND trace.timestamp_ms >= ${now - 3_600_000} AND trace.run_id = 'r\\'1' AND tags.user = 'u1'`,
    );
    expect(composeTraceFilter({ text: '', state: 'nonsense', since: 'forever', now })).toBe('');
  });

  it('orders by MLflow trace attributes and round-trips the order through the URL', () => {
    expect(orderByOf({ column: 'timestamp', desc: true })).toEqual(['timestamp_ms DESC']);
    expect(orderByOf({ column: 'latency', desc: false })).toEqual(['execution_time_ms ASC', 'timestamp_ms DESC']);
    expect(parseOrder(formatOrder({ column: 'latency', desc: false }) ?? null)).toEqual({ column: 'latency', desc: false });
    expect(formatOrder({ column: 'timestamp', desc: true })).toBeUndefined();
    expect(parseOrder('bogus')).toEqual({ column: 'timestamp', desc: true });
  });

  it('compares like the server orders: by the column, then newest first', () => {
    const list = [trace('a', 1, 30), trace('b', 2, 10), trace('c', 3, 30)];
    expect([...list].sort(traceComparator({ column: 'timestamp', desc: true })).map((t) => t.trace_id)).toEqual(['c', 'b', 'a']);
    expect([...list].sort(traceComparator({ column: 'latency', desc: true })).map((t) => t.trace_id)).toEqual(['c', 'a', 'b']);
  });
});

describe('merging live traces', () => {
  const order = { column: 'timestamp' as const, desc: true };

  it('puts new traces at the top and reports them', () => {
    const current = [trace('b', 2), trace('a', 1)];
    const result = mergeTraces(current, [trace('c', 3), trace('b', 2)], order, true);
    expect(result.traces.map((t) => t.trace_id)).toEqual(['c', 'b', 'a']);
    expect(result.added).toEqual(['c']);
  });

  it('updates a trace that finished in place and keeps the same list when nothing changed', () => {
    const current = [trace('b', 2, 10, { state: 'IN_PROGRESS' }), trace('a', 1)];
    const finished = mergeTraces(current, [trace('b', 2, 50)], order, true);
    expect(finished.traces[0]?.state).toBe('OK');
    expect(finished.added).toEqual([]);
    const same = mergeTraces(current, [trace('b', 2, 10, { state: 'IN_PROGRESS' })], order, true);
    expect(same.traces).toBe(current);
  });

  it('leaves a new trace that sorts after the loaded pages to its own page', () => {
    const current = [trace('z', 50, 100), trace('y', 40, 90)];
    const latency = { column: 'latency' as const, desc: true };
    const result = mergeTraces(current, [trace('slow', 60, 500), trace('fast', 61, 1)], latency, false);
    expect(result.traces.map((t) => t.trace_id)).toEqual(['slow', 'z', 'y']);
    expect(mergeTraces(current, [trace('fast', 61, 1)], latency, true).traces.map((t) => t.trace_id)).toEqual(['z', 'y', 'fast']);
  });
});
