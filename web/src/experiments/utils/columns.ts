/** Columns of the runs table: which are shown, their order, sorting, values. Pure functions. */
import { formatDuration, formatMetric, formatTimestamp } from '../../common/utils/format.ts';
import type { KeySets, RunRow } from './run-rows.ts';

export const BASE_COLUMNS = ['name', 'status', 'start', 'duration', 'user', 'source', 'commit'] as const;
export type BaseColumn = (typeof BASE_COLUMNS)[number];

const BASE_LABELS: Record<BaseColumn, string> = {
  name: 'Run name',
  status: 'Status',
  start: 'Start time',
  duration: 'Duration',
  user: 'User',
  source: 'Source',
  commit: 'Git commit',
};

export interface SortState {
  column: string;
  desc: boolean;
}

export interface ColumnState {
  /** Column ids in display order: base ids, `metrics.<key>`, `params.<key>`, `tags.<key>`. */
  visible: string[];
  sort: SortState;
}

export const DEFAULT_SORT: SortState = { column: 'start', desc: true };

/** Base columns, then up to 20 metrics and 10 params, as a first-visit default. */
export function defaultColumnState(keys: KeySets): ColumnState {
  return {
    visible: [...BASE_COLUMNS, ...keys.metrics.slice(0, 20).map((k) => `metrics.${k}`), ...keys.params.slice(0, 10).map((k) => `params.${k}`)],
    sort: DEFAULT_SORT,
  };
}

/** Validates a stored column state (it may come from an older UI or be hand-edited). */
export function parseColumnState(raw: unknown): ColumnState | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const record = raw as Record<string, unknown>;
  if (!Array.isArray(record.visible) || !record.visible.every((v) => typeof v === 'string' && isColumnId(v))) return undefined;
  const sort = record.sort as Record<string, unknown> | undefined;
  const validSort = sort && typeof sort.column === 'string' && isColumnId(sort.column) && typeof sort.desc === 'boolean';
  const visible = Array.from(new Set(record.visible as string[]));
  if (!visible.includes('name')) visible.unshift('name');
  return { visible, sort: validSort ? { column: sort.column as string, desc: sort.desc as boolean } : DEFAULT_SORT };
}

export function isColumnId(id: string): boolean {
  return (BASE_COLUMNS as readonly string[]).includes(id) || /^(metrics|params|tags)\..+/.test(id);
}

export function toggleColumn(state: ColumnState, id: string): ColumnState {
  if (id === 'name') return state; // the run name is the row's link, always shown
  const visible = state.visible.includes(id) ? state.visible.filter((c) => c !== id) : [...state.visible, id];
  return { ...state, visible };
}

/** Clicking a header: same column flips direction, another column sorts descending for numbers-ish. */
export function nextSort(current: SortState, column: string): SortState {
  if (current.column === column) return { column, desc: !current.desc };
  return { column, desc: column.startsWith('metrics.') || column === 'start' || column === 'duration' };
}

export function columnLabel(id: string): string {
  if ((BASE_COLUMNS as readonly string[]).includes(id)) return BASE_LABELS[id as BaseColumn];
  const dot = id.indexOf('.');
  return id.slice(dot + 1);
}

export function columnGroup(id: string): 'base' | 'metrics' | 'params' | 'tags' {
  if (id.startsWith('metrics.')) return 'metrics';
  if (id.startsWith('params.')) return 'params';
  if (id.startsWith('tags.')) return 'tags';
  return 'base';
}

/** The raw value of a cell, used for sorting and CSV. undefined = missing. */
export function cellValue(row: RunRow, id: string, now: number): string | number | undefined {
  switch (id) {
    case 'name':
      return row.name;
    case 'status':
      return row.status;
    case 'start':
      return row.startTime;
    case 'duration':
      return row.startTime ? (row.endTime ?? now) - row.startTime : undefined;
    case 'user':
      return row.user || undefined;
    case 'source':
      return row.source || undefined;
    case 'commit':
      return row.gitCommit || undefined;
    default: {
      const group = columnGroup(id);
      const key = id.slice(group.length + 1);
      if (group === 'metrics') return row.metrics[key];
      if (group === 'params') return row.params[key];
      if (group === 'tags') return row.tags[key];
      return undefined;
    }
  }
}

/** The text shown in a cell. */
export function cellText(row: RunRow, id: string, now: number): string {
  const value = cellValue(row, id, now);
  if (value === undefined) return '';
  if (id === 'start') return formatTimestamp(value as number);
  if (id === 'duration') return formatDuration(value as number);
  if (id === 'commit') return String(value).slice(0, 8);
  if (typeof value === 'number') return formatMetric(value);
  return value;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/**
 * A comparator for a column: numbers numerically (numeric-looking params too), text naturally,
 * missing and NaN values last in both directions (as MLflow's search orders).
 */
export function rowComparator(sort: SortState, now: number): (a: RunRow, b: RunRow) => number {
  const direction = sort.desc ? -1 : 1;
  return (a, b) => {
    const va = cellValue(a, sort.column, now);
    const vb = cellValue(b, sort.column, now);
    const missingA = va === undefined || (typeof va === 'number' && Number.isNaN(va));
    const missingB = vb === undefined || (typeof vb === 'number' && Number.isNaN(vb));
    if (missingA || missingB) return missingA === missingB ? a.runId.localeCompare(b.runId) : missingA ? 1 : -1;
    let result: number;
    if (typeof va === 'number' && typeof vb === 'number') result = va - vb;
    else {
      const na = Number(va);
      const nb = Number(vb);
      result = va !== '' && vb !== '' && Number.isFinite(na) && Number.isFinite(nb) ? na - nb : collator.compare(String(va), String(vb));
    }
    return result === 0 ? a.runId.localeCompare(b.runId) : result * direction;
  };
}

/** Width in pixels of a column in the virtualised grid. */
export function columnWidth(id: string): number {
  if (id === 'name') return 240;
  if (id === 'start') return 160;
  if (id === 'status') return 96;
  if (id === 'commit') return 90;
  return 120;
}
