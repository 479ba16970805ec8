/**
 * Data preparation for metric charts. Pure functions over typed arrays: the chart components only
 * hand the results to uPlot.
 */
import type { DownsampledSeriesWire, WireDouble } from '../api/types.ts';

export function wireToNumber(value: WireDouble | null | undefined): number {
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === 'number') return value;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number.NaN;
}

export interface XY {
  x: Float64Array;
  y: Float64Array;
}

/**
 * Turns a downsampled series into drawable points. Raw points pass through. Each bucket becomes
 * two points, its min and its max (at the bucket's first and last x), in the order that joins the
 * previous bucket most smoothly, so the line keeps every spike (min/max decimation) without
 * zig-zagging along a steady trend.
 */
export function bucketsToPoints(series: Pick<DownsampledSeriesWire, 'bucketed' | 'x' | 'x_end' | 'min' | 'max'>): XY {
  const n = series.x.length;
  if (!series.bucketed) {
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = series.x[i] ?? Number.NaN;
      y[i] = wireToNumber(series.min[i]);
    }
    return { x, y };
  }
  const x: number[] = [];
  const y: number[] = [];
  let previous = Number.NaN;
  for (let i = 0; i < n; i++) {
    const x0 = series.x[i] ?? Number.NaN;
    const x1 = series.x_end[i] ?? x0;
    const lo = wireToNumber(series.min[i]);
    const hi = wireToNumber(series.max[i]);
    if (lo === hi || x0 === x1) {
      // One value, or one x: a vertical stroke min→max (or a single point) is all there is.
      const nearHiFirst = Number.isFinite(previous) && Math.abs(previous - hi) < Math.abs(previous - lo);
      x.push(x0, x1 === x0 ? x0 : x1);
      if (nearHiFirst) y.push(hi, lo);
      else y.push(lo, hi);
      previous = y[y.length - 1] ?? previous;
      continue;
    }
    const hiFirst = Number.isFinite(previous) && Math.abs(previous - hi) < Math.abs(previous - lo);
    x.push(x0, x1);
    if (hiFirst) y.push(hi, lo);
    else y.push(lo, hi);
    previous = hiFirst ? lo : hi;
  }
  return { x: Float64Array.from(x), y: Float64Array.from(y) };
}

/**
 * Exponential moving average with bias correction (as TensorBoard and MLflow smooth curves).
 * `weight` in [0, 1): 0 = no smoothing. Non-finite values are kept and skipped.
 */
export function emaSmooth(y: Float64Array, weight: number): Float64Array {
  if (weight <= 0) return y;
  const w = Math.min(weight, 0.999);
  const out = new Float64Array(y.length);
  let last = 0;
  let debias = 0;
  for (let i = 0; i < y.length; i++) {
    const value = y[i] ?? Number.NaN;
    if (!Number.isFinite(value)) {
      out[i] = value;
      continue;
    }
    last = last * w + (1 - w) * value;
    debias = debias * w + (1 - w);
    out[i] = last / debias;
  }
  return out;
}

/** For a log scale: values ≤ 0 (and non-finite) cannot be drawn and become gaps. */
export function logSafe(y: ArrayLike<number | null>): Array<number | null> {
  const out: Array<number | null> = new Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    out[i] = v !== null && v !== undefined && Number.isFinite(v) && v > 0 ? v : null;
  }
  return out;
}

export type XMode = 'step' | 'wall' | 'relative';

/**
 * x values for display: steps as they are; wall time in seconds (uPlot's time unit); relative
 * time in seconds since `t0` (ms) — the run's first point.
 */
export function displayX(x: Float64Array, mode: XMode, t0: number): Float64Array {
  if (mode === 'step') return x;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = mode === 'wall' ? (x[i] ?? 0) / 1000 : ((x[i] ?? 0) - t0) / 1000;
  return out;
}

/** uPlot's aligned table: one shared x column, one y column per series (null = no point). */
export type AlignedTable = [number[], ...Array<Array<number | null>>];

/**
 * Joins several series onto one sorted x column for an overlaid chart. When the union of x values
 * would exceed `maxColumns`, x is snapped to a grid of `maxColumns` cells; a cell hit by several
 * points of one series keeps the one of largest magnitude, so spikes stay visible.
 */
export function alignSeries(list: XY[], maxColumns = 20_000): AlignedTable {
  const all = new Set<number>();
  for (const s of list) for (const v of s.x) if (Number.isFinite(v)) all.add(v);
  let xs = Array.from(all).sort((a, b) => a - b);
  let snap: ((v: number) => number) | undefined;
  if (xs.length > maxColumns && xs.length > 1) {
    const lo = xs[0] ?? 0;
    const hi = xs[xs.length - 1] ?? 0;
    const width = (hi - lo) / (maxColumns - 1);
    snap = (v: number) => lo + Math.round((v - lo) / width) * width;
    xs = Array.from({ length: maxColumns }, (_, i) => lo + i * width);
  }
  const index = new Map<number, number>();
  xs.forEach((v, i) => index.set(v, i));
  const table: AlignedTable = [xs];
  for (const s of list) {
    const column: Array<number | null> = new Array(xs.length).fill(null);
    for (let i = 0; i < s.x.length; i++) {
      const raw = s.x[i] ?? Number.NaN;
      if (!Number.isFinite(raw)) continue;
      const key = snap ? snap(raw) : raw;
      const at = index.get(key);
      if (at === undefined) continue;
      const value = s.y[i] ?? Number.NaN;
      const current = column[at];
      // Snapped cells keep the value with the larger magnitude of change, so spikes stay.
      if (current === null || current === undefined || !snap) column[at] = Number.isFinite(value) ? value : null;
      else if (Number.isFinite(value) && Math.abs(value) > Math.abs(current)) column[at] = value;
    }
    table.push(column);
  }
  return table;
}

/** A categorical palette readable on white, cycled by series index. */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export function colorFor(index: number): string {
  return PALETTE[index % PALETTE.length] ?? '#1f77b4';
}
