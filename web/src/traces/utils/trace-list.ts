/** The traces list: its filter, its order, and merging newly arrived traces in. Pure functions. */
import type { TraceInfo } from '../api/types.ts';
import { traceLatency, traceStart } from './trace-info.ts';

export type TraceOrderColumn = 'timestamp' | 'latency';

export interface TraceOrder {
  column: TraceOrderColumn;
  desc: boolean;
}

export const DEFAULT_TRACE_ORDER: TraceOrder = { column: 'timestamp', desc: true };

/** The search's `order_by` (MLflow's trace attribute names), newest first on ties. */
export function orderByOf(order: TraceOrder): string[] {
  const dir = order.desc ? 'DESC' : 'ASC';
  return order.column === 'latency' ? [`execution_time_ms ${dir}`, 'timestamp_ms DESC'] : [`timestamp_ms ${dir}`];
}

export function parseOrder(raw: string | null): TraceOrder {
  const match = /^(timestamp|latency)(?:\.(asc|desc))?$/.exec(raw ?? '');
  if (!match) return DEFAULT_TRACE_ORDER;
  return { column: match[1] as TraceOrderColumn, desc: match[2] !== 'asc' };
}

export function formatOrder(order: TraceOrder): string | undefined {
  if (order.column === DEFAULT_TRACE_ORDER.column && order.desc === DEFAULT_TRACE_ORDER.desc) return undefined;
  return `${order.column}.${order.desc ? 'desc' : 'asc'}`;
}

export const STATES = ['OK', 'ERROR', 'IN_PROGRESS'] as const;

/** Time-range choices: a window back from now, in milliseconds. */
export const TIME_RANGES: Array<{ value: string; label: string; ms: number }> = [
  { value: '1h', label: 'Last hour', ms: 3_600_000 },
  { value: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
];

export interface TraceFilterInput {
  /** What the user typed (MLflow search_traces grammar). */
  text: string;
  state?: string | undefined;
  /** A TIME_RANGES value. */
  since?: string | undefined;
  runId?: string | undefined;
  now: number;
}

function quote(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** The filter string sent to traces/search: the quick filters and the typed filter, ANDed. */
export function composeTraceFilter(input: TraceFilterInput): string {
  const parts: string[] = [];
  if (input.state && (STATES as readonly string[]).includes(input.state)) parts.push(`trace.status = ${quote(input.state)}`);
  const range = TIME_RANGES.find((r) => r.value === input.since);
  if (range) parts.push(`trace.timestamp_ms >= ${Math.floor(input.now - range.ms)}`);
  if (input.runId) parts.push(`trace.run_id = ${quote(input.runId)}`);
  const text = input.text.trim();
  if (text) parts.push(text);
  return parts.join(' AND ');
}

function sortValue(info: TraceInfo, column: TraceOrderColumn): number {
  const value = column === 'latency' ? traceLatency(info) : traceStart(info);
  return value ?? -Infinity;
}

/** Orders like the server does for `order` (ties: newer first, then by id). */
export function traceComparator(order: TraceOrder): (a: TraceInfo, b: TraceInfo) => number {
  return (a, b) => {
    const diff = sortValue(a, order.column) - sortValue(b, order.column);
    if (diff !== 0 && Number.isFinite(diff)) return order.desc ? -diff : diff;
    const time = sortValue(b, 'timestamp') - sortValue(a, 'timestamp');
    if (time !== 0 && Number.isFinite(time)) return time;
    return a.trace_id.localeCompare(b.trace_id);
  };
}

export interface MergeResult {
  traces: TraceInfo[];
  /** Ids of traces that were not in the list before. */
  added: string[];
}

/**
 * Folds a fresh first page (live polling) into the loaded list: known traces are replaced by their
 * newer info (an IN_PROGRESS trace that finished), new ones are put where the order puts them.
 * While more pages are still to load, a new trace that sorts after the last loaded one is left
 * for its page, so the list never skips or repeats a trace.
 */
export function mergeTraces(current: TraceInfo[], fresh: TraceInfo[], order: TraceOrder, allLoaded: boolean): MergeResult {
  const compare = traceComparator(order);
  const byId = new Map(fresh.map((t) => [t.trace_id, t]));
  const known = new Set(current.map((t) => t.trace_id));
  let changed = false;
  const updated = current.map((t) => {
    const newer = byId.get(t.trace_id);
    if (newer && newer !== t && JSON.stringify(newer) !== JSON.stringify(t)) {
      changed = true;
      return newer;
    }
    return t;
  });
  const last = current[current.length - 1];
  const added = fresh.filter((t) => !known.has(t.trace_id) && (allLoaded || last === undefined || compare(t, last) < 0));
  if (added.length === 0) return { traces: changed ? updated : current, added: [] };
  return { traces: [...updated, ...added].sort(compare), added: added.map((t) => t.trace_id) };
}
