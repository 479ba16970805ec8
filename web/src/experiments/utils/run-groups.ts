/** Grouping the runs table by a param or tag, with aggregate rows. Pure functions. */
import { cellValue } from './columns.ts';
import type { RunRow, TreeRow } from './run-rows.ts';

export type Aggregate = 'mean' | 'min' | 'max';

export interface GroupRow {
  kind: 'group';
  /** Row key: `group:<value>` (`group:` + NUL for runs without the key). */
  key: string;
  groupBy: string;
  /** undefined: the runs that do not have the param or tag. */
  value: string | undefined;
  runs: RunRow[];
}

export type TableRow = TreeRow | GroupRow;

export function isGroupRow(row: TableRow): row is GroupRow {
  return (row as GroupRow).kind === 'group';
}

export function tableRowKey(row: TableRow): string {
  return isGroupRow(row) ? row.key : row.row.runId;
}

const MISSING = '\u0000';
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** The value a run is grouped by (`params.x` / `tags.y`), undefined when it has none. */
export function groupValue(row: RunRow, groupBy: string): string | undefined {
  const value = cellValue(row, groupBy, 0);
  return value === undefined ? undefined : String(value);
}

/**
 * Groups in natural order of their values (runs without the key last); each group row is
 * followed by its runs, in `compare` order, when the group is expanded.
 */
export function groupRows(rows: RunRow[], groupBy: string, expanded: ReadonlySet<string>, compare: (a: RunRow, b: RunRow) => number): TableRow[] {
  const groups = new Map<string, RunRow[]>();
  for (const row of rows) {
    const value = groupValue(row, groupBy) ?? MISSING;
    const list = groups.get(value);
    if (list) list.push(row);
    else groups.set(value, [row]);
  }
  const values = Array.from(groups.keys()).sort((a, b) => (a === MISSING ? 1 : b === MISSING ? -1 : collator.compare(a, b)));
  const out: TableRow[] = [];
  for (const value of values) {
    const runs = (groups.get(value) as RunRow[]).slice().sort(compare);
    const key = `group:${value}`;
    out.push({ kind: 'group', key, groupBy, value: value === MISSING ? undefined : value, runs });
    if (expanded.has(key)) for (const row of runs) out.push({ row, depth: 1, childCount: 0 });
  }
  return out;
}

/** The aggregate of a numeric column over a group's runs (NaN and missing values left out). */
export function aggregate(runs: RunRow[], column: string, how: Aggregate, now: number): number | undefined {
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const run of runs) {
    const value = cellValue(run, column, now);
    if (typeof value !== 'number' || Number.isNaN(value)) continue;
    count++;
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (count === 0) return undefined;
  return how === 'mean' ? sum / count : how === 'min' ? min : max;
}
