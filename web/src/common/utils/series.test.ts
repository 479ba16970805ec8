import { describe, expect, test } from 'vitest';
import { alignSeries, bucketsToPoints, displayX, emaSmooth, logSafe, wireToNumber } from './series.ts';

describe('wireToNumber', () => {
  test('reads numbers and MLflow spellings of non-finite doubles', () => {
    expect(wireToNumber(1.5)).toBe(1.5);
    expect(wireToNumber('Infinity')).toBe(Infinity);
    expect(wireToNumber('-Infinity')).toBe(-Infinity);
    expect(wireToNumber('NaN')).toBeNaN();
    expect(wireToNumber(undefined)).toBeNaN();
  });
});

describe('bucketsToPoints', () => {
  test('raw points pass through as typed arrays', () => {
    const xy = bucketsToPoints({ bucketed: false, x: [0, 1, 2], x_end: [0, 1, 2], min: [3, 2, 1], max: [3, 2, 1] });
    expect(Array.from(xy.x)).toEqual([0, 1, 2]);
    expect(Array.from(xy.y)).toEqual([3, 2, 1]);
    expect(xy.x).toBeInstanceOf(Float64Array);
  });

  test('each bucket keeps both its min and its max, so a spike survives', () => {
    const xy = bucketsToPoints({ bucketed: true, x: [0, 10, 20], x_end: [9, 19, 29], min: [1, 1, 1], max: [1, 500, 1] });
    expect(Math.max(...xy.y)).toBe(500);
    expect(xy.x.length).toBe(6);
  });

  test('a falling trend is drawn max-then-min so the line does not zig-zag', () => {
    const xy = bucketsToPoints({ bucketed: true, x: [0, 10], x_end: [9, 19], min: [5, 3], max: [9, 4.9] });
    // first bucket min→max (no previous), second starts with the value closest to the previous end (9 → 4.9)
    expect(Array.from(xy.y)).toEqual([5, 9, 4.9, 3]);
  });
});

describe('emaSmooth', () => {
  test('weight 0 returns the input', () => {
    const y = Float64Array.from([1, 2, 3]);
    expect(emaSmooth(y, 0)).toBe(y);
  });

  test('is bias-corrected: the first value is kept, a constant stays constant', () => {
    const out = emaSmooth(Float64Array.from([4, 4, 4, 4]), 0.9);
    for (const v of out) expect(v).toBeCloseTo(4);
    expect(emaSmooth(Float64Array.from([10, 0]), 0.5)[0]).toBeCloseTo(10);
  });

  test('dampens a step and skips non-finite values', () => {
    const out = emaSmooth(Float64Array.from([0, 0, NaN, 10]), 0.5);
    expect(out[2]).toBeNaN();
    expect(out[3]).toBeGreaterThan(0);
    expect(out[3]).toBeLessThan(10);
  });
});

describe('logSafe', () => {
  test('turns values a log axis cannot draw into gaps', () => {
    expect(logSafe([1, 0, -2, NaN, 0.5, null])).toEqual([1, null, null, null, 0.5, null]);
  });
});

describe('displayX', () => {
  test('step is unchanged, wall time becomes seconds, relative time starts at 0', () => {
    const x = Float64Array.from([1000, 3000]);
    expect(displayX(x, 'step', 0)).toBe(x);
    expect(Array.from(displayX(x, 'wall', 0))).toEqual([1, 3]);
    expect(Array.from(displayX(x, 'relative', 1000))).toEqual([0, 2]);
  });
});

describe('alignSeries', () => {
  const s = (x: number[], y: number[]) => ({ x: Float64Array.from(x), y: Float64Array.from(y) });

  test('joins series onto the union of x with gaps as null', () => {
    const table = alignSeries([s([0, 1, 2], [1, 2, 3]), s([1, 3], [5, 6])]);
    expect(table[0]).toEqual([0, 1, 2, 3]);
    expect(table[1]).toEqual([1, 2, 3, null]);
    expect(table[2]).toEqual([null, 5, null, 6]);
  });

  test('snaps to a grid when the union is too wide, keeping the largest value of a cell', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    const ys = xs.map((i) => (i === 500 ? 99 : 1));
    const table = alignSeries([s(xs, ys)], 100);
    expect(table[0].length).toBe(100);
    expect(Math.max(...(table[1] as number[]).filter((v) => v !== null))).toBe(99);
  });
});
