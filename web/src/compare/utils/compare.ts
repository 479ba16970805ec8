/** Data prep of the compare page. Pure functions. */
import type { RunRow } from '../../experiments/utils/run-rows.ts';

export interface DiffRow {
  key: string;
  values: Array<string | undefined>;
  differs: boolean;
}

/** Param (or tag) table across runs: one row per key, flagged when the runs disagree. */
export function diffTable(rows: RunRow[], pick: (row: RunRow) => Record<string, string>): DiffRow[] {
  const keys = new Set<string>();
  for (const row of rows) for (const k in pick(row)) keys.add(k);
  return Array.from(keys)
    .sort((a, b) => a.localeCompare(b))
    .map((key) => {
      const values = rows.map((row) => pick(row)[key]);
      const differs = values.some((v) => v !== values[0]);
      return { key, values, differs };
    });
}

/** A dimension of the parallel-coordinates and scatter plots: a param or a metric. */
export interface Dimension {
  id: string;
  label: string;
  kind: 'numeric' | 'categorical';
  /** Per run: a number (numeric) or a category (categorical); undefined = missing. */
  values: Array<number | string | undefined>;
  /** Categories in axis order (categorical only). */
  categories: string[];
}

/** Builds a dimension; params whose every present value parses as a number are numeric. */
export function buildDimension(id: string, rows: RunRow[]): Dimension {
  const dot = id.indexOf('.');
  const group = id.slice(0, dot);
  const key = id.slice(dot + 1);
  const raw = rows.map((row) => (group === 'metrics' ? row.metrics[key] : row.params[key]));
  const present = raw.filter((v): v is string | number => v !== undefined);
  const numeric = present.length > 0 && present.every((v) => typeof v === 'number' || (v.trim() !== '' && Number.isFinite(Number(v))));
  if (numeric) {
    return { id, label: key, kind: 'numeric', values: raw.map((v) => (v === undefined ? undefined : Number(v))), categories: [] };
  }
  const categories = Array.from(new Set(present.map(String))).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return { id, label: key, kind: 'categorical', values: raw.map((v) => (v === undefined ? undefined : String(v))), categories };
}

/**
 * Position of each run's value on a dimension's axis, in [0, 1] (0 = bottom), or undefined.
 * Numeric axes span min..max (a constant axis sits in the middle); categories are spread evenly.
 */
export function normalize(dim: Dimension): Array<number | undefined> {
  if (dim.kind === 'categorical') {
    const n = dim.categories.length;
    return dim.values.map((v) => (v === undefined ? undefined : n <= 1 ? 0.5 : dim.categories.indexOf(String(v)) / (n - 1)));
  }
  const nums = dim.values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const lo = Math.min(...nums);
  const hi = Math.max(...nums);
  return dim.values.map((v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    return hi === lo ? 0.5 : (v - lo) / (hi - lo);
  });
}

/** Numeric range of a dimension for axis labels. */
export function extent(dim: Dimension): [number, number] | undefined {
  const nums = dim.values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (nums.length === 0) return undefined;
  return [Math.min(...nums), Math.max(...nums)];
}
