import { describe, expect, test } from 'vitest';
import type { Dimension } from './compare.ts';
import { band, boxGroups, boxStats, brushAfterKey, brushDescription, brushFilter, colorScale, defaultAxes, idwGrid, niceTicks, position, quantile } from './plots.ts';

describe('niceTicks', () => {
  test('covers the range in steps of 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.13, 0.87, 4)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(3, 97, 5)).toEqual([20, 40, 60, 80]);
  });

  test('a constant range gets one tick and a reversed range is put right', () => {
    expect(niceTicks(5, 5)).toEqual([5]);
    expect(niceTicks(10, 0, 2)).toEqual([0, 5, 10]);
  });
});

test('a value’s position on an axis is its share of the range; a constant axis is the middle', () => {
  expect(position(5, 0, 10)).toBe(0.5);
  expect(position(2, 2, 2)).toBe(0.5);
});

test('the colour scale runs from dark purple to yellow and clamps', () => {
  expect(colorScale(0)).toBe('rgb(68, 1, 84)');
  expect(colorScale(1)).toBe('rgb(253, 231, 37)');
  expect(colorScale(2)).toBe(colorScale(1));
  expect(colorScale(0.5)).toBe('rgb(33, 145, 140)');
});

describe('brushFilter', () => {
  const positions = [
    [0, 0.5, 1, undefined],
    [1, 0.2, 0.4, 0.5],
  ];
  test('keeps every run without brushes', () => {
    expect(brushFilter(positions, ['a', 'b'], {}, 4)).toEqual([true, true, true, true]);
  });
  test('keeps runs inside every brushed range, not runs without a value on a brushed axis', () => {
    expect(brushFilter(positions, ['a', 'b'], { a: { lo: 0.4, hi: 1 } }, 4)).toEqual([false, true, true, false]);
    expect(brushFilter(positions, ['a', 'b'], { a: { lo: 1, hi: 0.4 }, b: { lo: 0, hi: 0.3 } }, 4)).toEqual([false, true, false, false]);
  });
});

describe('brushAfterKey', () => {
  const close = (b: ReturnType<typeof brushAfterKey>) => (b && b !== 'ignored' ? [Number(b.lo.toFixed(3)), Number(b.hi.toFixed(3))] : b);

  test('an arrow key on an axis without a brush starts one in the middle', () => {
    expect(brushAfterKey(undefined, 'ArrowUp', false)).toEqual({ lo: 0.4, hi: 0.6 });
    expect(brushAfterKey(undefined, 'ArrowDown', true)).toEqual({ lo: 0.4, hi: 0.6 });
  });

  test('↑/↓ move the brush by a step and stop at the ends of the axis', () => {
    expect(close(brushAfterKey({ lo: 0.4, hi: 0.6 }, 'ArrowUp', false))).toEqual([0.45, 0.65]);
    expect(close(brushAfterKey({ lo: 0.6, hi: 0.4 }, 'ArrowDown', false))).toEqual([0.35, 0.55]);
    expect(close(brushAfterKey({ lo: 0.78, hi: 0.98 }, 'ArrowUp', false))).toEqual([0.8, 1]);
    expect(close(brushAfterKey({ lo: 0, hi: 0.2 }, 'ArrowDown', false))).toEqual([0, 0.2]);
  });

  test('Shift+↑/↓ grow and shrink the brush around its centre, never past the axis or thinner than a step', () => {
    expect(close(brushAfterKey({ lo: 0.4, hi: 0.6 }, 'ArrowUp', true))).toEqual([0.375, 0.625]);
    expect(close(brushAfterKey({ lo: 0.4, hi: 0.6 }, 'ArrowDown', true))).toEqual([0.425, 0.575]);
    expect(close(brushAfterKey({ lo: 0, hi: 1 }, 'ArrowUp', true))).toEqual([0, 1]);
    expect(close(brushAfterKey({ lo: 0.45, hi: 0.55 }, 'ArrowDown', true))).toEqual([0.475, 0.525]);
    expect(close(brushAfterKey({ lo: 0.47, hi: 0.53 }, 'ArrowDown', true))).toEqual([0.47, 0.53]);
  });

  test('Escape, Delete and Backspace clear a brush; other keys are left alone', () => {
    expect(brushAfterKey({ lo: 0.4, hi: 0.6 }, 'Escape', false)).toBeUndefined();
    expect(brushAfterKey({ lo: 0.4, hi: 0.6 }, 'Delete', false)).toBeUndefined();
    expect(brushAfterKey({ lo: 0.4, hi: 0.6 }, 'Backspace', false)).toBeUndefined();
    expect(brushAfterKey(undefined, 'Escape', false)).toBe('ignored');
    expect(brushAfterKey({ lo: 0.4, hi: 0.6 }, 'Tab', false)).toBe('ignored');
    expect(brushAfterKey({ lo: 0.4, hi: 0.6 }, 'ArrowLeft', false)).toBe('ignored');
  });
});

describe('box plots', () => {
  test('quartiles interpolate linearly', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.25)).toBe(2);
  });

  test('whiskers stop at 1.5 IQR and further values are outliers', () => {
    const stats = boxStats([1, 2, 3, 4, 5, 100]);
    expect(stats?.median).toBe(3.5);
    expect(stats?.outliers).toEqual([100]);
    expect(stats?.high).toBe(5);
    expect(stats?.low).toBe(1);
    expect(boxStats([])).toBeUndefined();
  });

  test('groups a metric by a categorical param in the param’s order', () => {
    const x: Dimension = { id: 'params.opt', label: 'opt', kind: 'categorical', values: ['sgd', 'adam', 'adam', undefined], categories: ['adam', 'sgd'] };
    const y: Dimension = { id: 'metrics.acc', label: 'acc', kind: 'numeric', values: [0.5, 0.9, 0.7, 0.1], categories: [] };
    const groups = boxGroups(x, y);
    expect(groups.map((g) => [g.group, g.stats.count, g.stats.median])).toEqual([
      ['adam', 2, 0.8],
      ['sgd', 1, 0.5],
    ]);
  });
});

describe('contour grid', () => {
  test('cells near a run take about its value; between two runs the value is in between', () => {
    const grid = idwGrid(
      [
        { x: 0, y: 0, z: 0 },
        { x: 1, y: 1, z: 10 },
      ],
      4,
    );
    expect(grid).toHaveLength(4);
    expect(grid[0]?.[0]).toBeLessThan(2);
    expect(grid[3]?.[3]).toBeGreaterThan(8);
    expect(grid[1]?.[2]).toBeGreaterThan(0);
    expect(grid[1]?.[2]).toBeLessThan(10);
  });

  test('bands count the boundaries a value has reached', () => {
    expect(band(0, [2, 4, 6])).toBe(0);
    expect(band(2, [2, 4, 6])).toBe(1 / 3);
    expect(band(5, [2, 4, 6])).toBe(2 / 3);
    expect(band(9, [2, 4, 6])).toBe(1);
    expect(band(1, [])).toBe(0.5);
  });
});

test('the default axes include the loss metrics first, then other metrics and a few params', () => {
  expect(defaultAxes(['C', 'penalty', 'solver'], ['accuracy', 'loss'])).toEqual(['params.C', 'params.penalty', 'params.solver', 'metrics.loss', 'metrics.accuracy']);
  expect(defaultAxes(['a', 'b', 'c', 'd', 'e', 'f'], ['m1', 'm2', 'm3', 'val_loss'], 7)).toEqual(['params.a', 'params.b', 'params.c', 'params.d', 'metrics.val_loss', 'metrics.m1', 'metrics.m2']);
});

describe('brushDescription', () => {
  const numeric: Dimension = { id: 'metrics.loss', label: 'loss', kind: 'numeric', values: [0.02, 0.07, 0.12, undefined], categories: [] };
  const categorical: Dimension = { id: 'params.penalty', label: 'penalty', kind: 'categorical', values: ['l1', 'l2', 'none'], categories: ['l1', 'l2', 'none'] };

  test('an axis without a brush says no range is selected', () => {
    expect(brushDescription(numeric, undefined)).toBe('no range selected');
  });

  test('a numeric brush is told in the axis values, whichever end was dragged first', () => {
    expect(brushDescription(numeric, { lo: 0.4, hi: 0.6 })).toBe('from 0.06 to 0.08');
    expect(brushDescription(numeric, { lo: 1, hi: 0 })).toBe('from 0.02 to 0.12');
  });

  test('a categorical brush names the categories inside it', () => {
    expect(brushDescription(categorical, { lo: 0.4, hi: 1 })).toBe('l2, none');
    expect(brushDescription(categorical, { lo: 0.1, hi: 0.3 })).toBe('no category in range');
  });
});
