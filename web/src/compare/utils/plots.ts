/** Geometry and statistics behind the compare page's plots. Pure functions. */
import type { Dimension } from './compare.ts';

/**
 * "Nice" tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^n), about `count` of them. A
 * constant range gets one tick.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) return [lo];
  if (lo > hi) [lo, hi] = [hi, lo];
  const raw = (hi - lo) / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude);
  const ticks: number[] = [];
  const first = Math.ceil(lo / step - 1e-9) * step;
  for (let v = first; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Where a value sits on a numeric axis spanning [lo, hi], in [0, 1]; a constant axis puts it in the middle. */
export function position(value: number, lo: number, hi: number): number {
  return hi === lo ? 0.5 : (value - lo) / (hi - lo);
}

/** Sequential colour scale (dark blue → teal → yellow, like viridis) for t in [0, 1]. */
const STOPS: Array<[number, number, number]> = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

export function colorScale(t: number): string {
  const clamped = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const at = clamped * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(at));
  const f = at - i;
  const a = STOPS[i] ?? [0, 0, 0];
  const b = STOPS[i + 1] ?? a;
  const mix = (k: 0 | 1 | 2) => Math.round(a[k] + (b[k] - a[k]) * f);
  return `rgb(${mix(0)}, ${mix(1)}, ${mix(2)})`;
}

/** A brushed range on one axis, in axis positions ([0, 1], 0 = bottom). */
export interface Brush {
  lo: number;
  hi: number;
}

/**
 * Which runs pass every brush: a run passes a brushed axis when it has a value there and the value's
 * position lies inside the range. Without brushes every run passes.
 */
export function brushFilter(positions: Array<Array<number | undefined>>, dimIds: string[], brushes: Record<string, Brush>, runCount: number): boolean[] {
  const passes = new Array<boolean>(runCount).fill(true);
  dimIds.forEach((id, d) => {
    const brush = brushes[id];
    if (!brush) return;
    const lo = Math.min(brush.lo, brush.hi);
    const hi = Math.max(brush.lo, brush.hi);
    for (let run = 0; run < runCount; run++) {
      const t = positions[d]?.[run];
      if (t === undefined || t < lo - 1e-9 || t > hi + 1e-9) passes[run] = false;
    }
  });
  return passes;
}

/** How far one arrow key press moves or resizes a brush, in axis positions. */
export const BRUSH_KEY_STEP = 0.05;

/**
 * A brush after a key pressed on its focused axis: ↑/↓ move it (a new one starts in the middle of
 * the axis), Shift+↑/↓ grow and shrink it around its centre, Escape/Delete/Backspace clear it.
 * 'ignored' for other keys. Stays within the axis, and no thinner than one step. Pure.
 */
export function brushAfterKey(brush: Brush | undefined, key: string, shift: boolean): Brush | undefined | 'ignored' {
  if (key === 'Escape' || key === 'Delete' || key === 'Backspace') return brush === undefined ? 'ignored' : undefined;
  if (key !== 'ArrowUp' && key !== 'ArrowDown') return 'ignored';
  if (!brush) return { lo: 0.4, hi: 0.6 };
  const lo = Math.min(brush.lo, brush.hi);
  const hi = Math.max(brush.lo, brush.hi);
  const up = key === 'ArrowUp';
  if (shift) {
    const half = BRUSH_KEY_STEP / 2;
    if (up) return { lo: Math.max(0, lo - half), hi: Math.min(1, hi + half) };
    if (hi - lo - BRUSH_KEY_STEP < BRUSH_KEY_STEP - 1e-9) return { lo, hi };
    return { lo: lo + half, hi: hi - half };
  }
  const by = up ? Math.min(BRUSH_KEY_STEP, 1 - hi) : -Math.min(BRUSH_KEY_STEP, lo);
  return { lo: lo + by, hi: hi + by };
}

/**
 * What a brush selects, in the axis's own values, for screen readers: "no range selected",
 * "from 0.045 to 0.12" on a numeric axis (positions mapped back through its extent), or the
 * categories inside the range on a categorical one. Pure.
 */
export function brushDescription(dim: Dimension, brush: Brush | undefined): string {
  if (!brush) return 'no range selected';
  const lo = Math.min(brush.lo, brush.hi);
  const hi = Math.max(brush.lo, brush.hi);
  if (dim.kind === 'categorical') {
    const n = dim.categories.length;
    const inside = dim.categories.filter((_, i) => {
      const t = n <= 1 ? 0.5 : i / (n - 1);
      return t >= lo - 1e-9 && t <= hi + 1e-9;
    });
    return inside.length === 0 ? 'no category in range' : inside.join(', ');
  }
  const nums = dim.values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (nums.length === 0) return 'no values';
  const min = Math.min(...nums);
  const max = Math.max(...nums);
  const at = (t: number) => Number((min + t * (max - min)).toPrecision(3));
  return min === max ? `around ${min}` : `from ${at(lo)} to ${at(hi)}`;
}

/** Five-number summary of a box plot (quartiles by linear interpolation) and the points beyond 1.5 IQR. */
export interface BoxStats {
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  /** Whisker ends: the furthest values within 1.5 IQR of the box. */
  low: number;
  high: number;
  outliers: number[];
  count: number;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const i = Math.floor(at);
  const f = at - i;
  const a = sorted[i] ?? Number.NaN;
  const b = sorted[Math.min(sorted.length - 1, i + 1)] ?? a;
  return a + (b - a) * f;
}

export function boxStats(values: number[]): BoxStats | undefined {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  const iqr = q3 - q1;
  const inside = sorted.filter((v) => v >= q1 - 1.5 * iqr && v <= q3 + 1.5 * iqr);
  return {
    min: sorted[0] ?? Number.NaN,
    q1,
    median: quantile(sorted, 0.5),
    q3,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    low: inside[0] ?? q1,
    high: inside[inside.length - 1] ?? q3,
    outliers: sorted.filter((v) => v < q1 - 1.5 * iqr || v > q3 + 1.5 * iqr),
    count: sorted.length,
  };
}

/**
 * Groups a numeric dimension's values by another dimension's value (its category, or its number
 * as text): one box per group, groups in the x dimension's order.
 */
export function boxGroups(x: Dimension, y: Dimension): Array<{ group: string; stats: BoxStats }> {
  const groups = new Map<string, number[]>();
  x.values.forEach((xv, i) => {
    const yv = y.values[i];
    if (xv === undefined || typeof yv !== 'number' || !Number.isFinite(yv)) return;
    const key = String(xv);
    const list = groups.get(key);
    if (list) list.push(yv);
    else groups.set(key, [yv]);
  });
  const order = x.kind === 'categorical' ? x.categories : Array.from(groups.keys()).sort((a, b) => Number(a) - Number(b));
  return order.flatMap((group) => {
    const stats = boxStats(groups.get(group) ?? []);
    return stats ? [{ group, stats }] : [];
  });
}

/**
 * A z value on a regular grid over the runs' (x, y) positions, by inverse-distance weighting of the
 * runs (power 2); the contour plot colours the grid in bands. Points are in [0, 1]²; the grid has
 * `size`×`size` cells, row 0 at the bottom. A cell on a run takes its value.
 */
export function idwGrid(points: Array<{ x: number; y: number; z: number }>, size: number): number[][] {
  const grid: number[][] = [];
  for (let row = 0; row < size; row++) {
    const line: number[] = [];
    const cy = (row + 0.5) / size;
    for (let col = 0; col < size; col++) {
      const cx = (col + 0.5) / size;
      let num = 0;
      let den = 0;
      let exact: number | undefined;
      for (const p of points) {
        const d2 = (p.x - cx) ** 2 + (p.y - cy) ** 2;
        if (d2 < 1e-12) {
          exact = p.z;
          break;
        }
        num += p.z / d2;
        den += 1 / d2;
      }
      line.push(exact ?? (den > 0 ? num / den : Number.NaN));
    }
    grid.push(line);
  }
  return grid;
}

/**
 * The band of a value between sorted boundaries (contour levels), as a position in [0, 1]: below
 * the first boundary is band 0, above the last is the top band.
 */
export function band(value: number, boundaries: number[]): number {
  const bands = boundaries.length + 1;
  let index = 0;
  while (index < boundaries.length && value >= (boundaries[index] ?? Number.POSITIVE_INFINITY)) index++;
  return bands <= 1 ? 0.5 : index / (bands - 1);
}

/**
 * The axes the parallel-coordinates plot starts with: a few params, then the metrics with any
 * `loss` metric first (it is what people look at), at most `max` in all.
 */
export function defaultAxes(params: string[], metrics: string[], max = 7): string[] {
  const losses = metrics.filter((m) => /loss/i.test(m));
  const others = metrics.filter((m) => !/loss/i.test(m));
  const chosenMetrics = [...losses, ...others].slice(0, Math.max(2, max - Math.min(params.length, 4)));
  const chosenParams = params.slice(0, Math.max(0, max - chosenMetrics.length));
  return [...chosenParams.map((k) => `params.${k}`), ...chosenMetrics.map((k) => `metrics.${k}`)];
}
