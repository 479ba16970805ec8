/**
 * The runs view of an experiment as the URL carries it, so a link shows the same table to anyone:
 * filter, lifecycle, time range, grouping, other experiments shown, hidden runs, run colours,
 * columns and sort. Saved views are named copies of that query. Pure functions.
 */
import type { ViewType } from '../../common/api/types.ts';
import { parseLayout, type ChartsLayout } from './charts-layout.ts';
import { isColumnId, parseColumnState, type ColumnState, type SortState } from './columns.ts';

export type TimeRange = '' | '1h' | '24h' | '7d' | '30d';

export const TIME_RANGES: Array<{ value: TimeRange; label: string; ms: number }> = [
  { value: '', label: 'Any time', ms: 0 },
  { value: '1h', label: 'Last hour', ms: 3600_000 },
  { value: '24h', label: 'Last 24 hours', ms: 86400_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86400_000 },
  { value: '30d', label: 'Last 30 days', ms: 30 * 86400_000 },
];

export interface RunsView {
  filter: string;
  lifecycle: ViewType;
  since: TimeRange;
  /** `params.<key>` or `tags.<key>`, or '' for no grouping. */
  groupBy: string;
  /** Experiments shown besides the page's own. */
  experiments: string[];
  /** Runs left out of the charts. */
  hidden: string[];
  /** Colours chosen per run (others get their default colour). */
  colors: Record<string, string>;
  /** Columns and sort when the URL names them (a shared link); undefined = the user's own. */
  columns: ColumnState | undefined;
  /** The charts workspace; undefined = the default one. */
  charts: ChartsLayout | undefined;
}

const LIFECYCLES: ViewType[] = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'];

function list(value: string | null): string[] {
  return value ? value.split(',').filter(Boolean) : [];
}

function parseJson(value: string | null): unknown {
  if (!value) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

/** Parses `sort=metrics.acc:desc`. */
export function parseSort(value: string | null): SortState | undefined {
  if (!value) return undefined;
  const at = value.lastIndexOf(':');
  const column = at > 0 ? value.slice(0, at) : value;
  if (!isColumnId(column)) return undefined;
  return { column, desc: at > 0 ? value.slice(at + 1) !== 'asc' : true };
}

export function readView(params: URLSearchParams): RunsView {
  const lifecycle = params.get('lifecycle') as ViewType | null;
  const since = params.get('since') as TimeRange | null;
  const group = params.get('group') ?? '';
  const colors: Record<string, string> = {};
  const rawColors = parseJson(params.get('colors'));
  if (rawColors && typeof rawColors === 'object') {
    for (const [k, v] of Object.entries(rawColors as Record<string, unknown>)) if (typeof v === 'string' && /^#[0-9a-f]{6}$/i.test(v)) colors[k] = v;
  }
  const cols = parseJson(params.get('cols'));
  const sort = parseSort(params.get('sort'));
  let columns: ColumnState | undefined;
  if (Array.isArray(cols)) columns = parseColumnState({ visible: cols, sort: sort ?? { column: 'start', desc: true } });
  return {
    filter: params.get('filter') ?? '',
    lifecycle: lifecycle && LIFECYCLES.includes(lifecycle) ? lifecycle : 'ACTIVE_ONLY',
    since: since && TIME_RANGES.some((r) => r.value === since) ? since : '',
    groupBy: /^(params|tags)\..+/.test(group) ? group : '',
    experiments: list(params.get('exps')),
    hidden: list(params.get('hidden')),
    colors,
    columns,
    charts: parseLayout(parseJson(params.get('charts'))),
  };
}

/**
 * The URL query of a view on top of `base` (keeps what is not the view's, like `tab`). Defaults are
 * left out so plain links stay short; columns are written only when given.
 */
export function writeView(view: RunsView, base: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const next = new URLSearchParams(base);
  const set = (key: string, value: string) => {
    if (value) next.set(key, value);
    else next.delete(key);
  };
  set('filter', view.filter);
  set('lifecycle', view.lifecycle === 'ACTIVE_ONLY' ? '' : view.lifecycle);
  set('since', view.since);
  set('group', view.groupBy);
  set('exps', view.experiments.join(','));
  set('hidden', view.hidden.join(','));
  set('colors', Object.keys(view.colors).length > 0 ? JSON.stringify(view.colors) : '');
  set('cols', view.columns ? JSON.stringify(view.columns.visible) : '');
  set('charts', view.charts ? JSON.stringify(view.charts) : '');
  set('sort', view.columns ? `${view.columns.sort.column}:${view.columns.sort.desc ? 'desc' : 'asc'}` : '');
  return next;
}

/** The server filter: the user's, and the start of the time range when one is chosen. */
export function effectiveFilter(filter: string, since: TimeRange, now: number): string {
  const range = TIME_RANGES.find((r) => r.value === since);
  if (!range || range.ms === 0) return filter;
  // Rounded to the minute so the filter (and the load it starts) does not change on every render.
  const from = Math.floor((now - range.ms) / 60_000) * 60_000;
  const clause = `attributes.start_time >= ${from}`;
  return filter.trim() ? `${filter.trim()} and ${clause}` : clause;
}

export interface SavedView {
  name: string;
  /** The view's URL query (see writeView), columns and sort included. */
  query: string;
}

export function parseSavedViews(raw: unknown): SavedView[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  return raw.filter((v): v is SavedView => !!v && typeof v === 'object' && typeof (v as SavedView).name === 'string' && typeof (v as SavedView).query === 'string');
}

/** Saves (or replaces, by name) a view; sorted by name. */
export function saveView(views: SavedView[], view: SavedView): SavedView[] {
  return [...views.filter((v) => v.name !== view.name), view].sort((a, b) => a.name.localeCompare(b.name));
}
