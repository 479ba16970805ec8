import { describe, expect, test } from 'vitest';
import { cellText, cellValue, columnLabel, defaultColumnState, nextSort, parseColumnState, rowComparator, toggleColumn } from './columns.ts';
import type { RunRow } from './run-rows.ts';

function row(partial: Partial<RunRow> & { runId: string }): RunRow {
  return {
    experimentId: '1',
    name: partial.runId,
    status: 'FINISHED',
    lifecycle: 'active',
    startTime: 1000,
    endTime: 2000,
    user: 'u',
    source: '',
    gitCommit: '',
    parentId: undefined,
    metrics: {},
    params: {},
    tags: {},
    ...partial,
  };
}

describe('column state', () => {
  test('the default shows base columns, up to 20 metrics and 10 params', () => {
    const metrics = Array.from({ length: 25 }, (_, i) => `m${i}`);
    const state = defaultColumnState({ metrics, params: ['p'], tags: ['t'] });
    expect(state.visible.slice(0, 3)).toEqual(['name', 'status', 'start']);
    expect(state.visible.filter((c) => c.startsWith('metrics.')).length).toBe(20);
    expect(state.visible).toContain('params.p');
    expect(state.visible).not.toContain('tags.t');
    expect(state.sort).toEqual({ column: 'start', desc: true });
  });

  test('stored state is validated: junk is rejected, name is always kept, duplicates dropped', () => {
    expect(parseColumnState(null)).toBeUndefined();
    expect(parseColumnState({ visible: [1, 2] })).toBeUndefined();
    expect(parseColumnState({ visible: ['bogus'] })).toBeUndefined();
    expect(parseColumnState({ visible: ['status', 'metrics.a', 'metrics.a'], sort: { column: 'metrics.a', desc: false } })).toEqual({
      visible: ['name', 'status', 'metrics.a'],
      sort: { column: 'metrics.a', desc: false },
    });
    expect(parseColumnState({ visible: ['name'], sort: { column: 'x', desc: 1 } })?.sort).toEqual({ column: 'start', desc: true });
  });

  test('toggling adds at the end, removes, and never hides the run name', () => {
    const state = { visible: ['name', 'status'], sort: { column: 'start', desc: true } };
    expect(toggleColumn(state, 'params.lr').visible).toEqual(['name', 'status', 'params.lr']);
    expect(toggleColumn(state, 'status').visible).toEqual(['name']);
    expect(toggleColumn(state, 'name')).toBe(state);
  });

  test('clicking a header flips the direction; a new metric column sorts descending first', () => {
    expect(nextSort({ column: 'name', desc: false }, 'name')).toEqual({ column: 'name', desc: true });
    expect(nextSort({ column: 'name', desc: false }, 'metrics.acc')).toEqual({ column: 'metrics.acc', desc: true });
    expect(nextSort({ column: 'start', desc: true }, 'params.lr')).toEqual({ column: 'params.lr', desc: false });
  });

  test('labels', () => {
    expect(columnLabel('start')).toBe('Start time');
    expect(columnLabel('metrics.val.acc')).toBe('val.acc');
  });
});

describe('cells and sorting', () => {
  const a = row({ runId: 'a', metrics: { acc: 0.9 }, params: { lr: '0.1', C: '10' } });
  const b = row({ runId: 'b', metrics: { acc: 0.5 }, params: { lr: '0.01', C: '9' } });
  const c = row({ runId: 'c', metrics: {}, params: {} });
  const n = row({ runId: 'n', metrics: { acc: NaN } });

  test('values and text of cells', () => {
    expect(cellValue(a, 'metrics.acc', 0)).toBe(0.9);
    expect(cellValue(a, 'duration', 0)).toBe(1000);
    expect(cellValue(row({ runId: 'r', endTime: undefined }), 'duration', 5000)).toBe(4000);
    expect(cellText(a, 'duration', 0)).toBe('1.0s');
    expect(cellText(row({ runId: 'r', gitCommit: 'abcdef0123456' }), 'commit', 0)).toBe('abcdef01');
    expect(cellText(c, 'metrics.acc', 0)).toBe('');
  });

  test('metrics sort numerically with missing and NaN last in both directions', () => {
    const desc = [c, b, n, a].sort(rowComparator({ column: 'metrics.acc', desc: true }, 0)).map((r) => r.runId);
    expect(desc.slice(0, 2)).toEqual(['a', 'b']);
    const asc = [c, a, n, b].sort(rowComparator({ column: 'metrics.acc', desc: false }, 0)).map((r) => r.runId);
    expect(asc.slice(0, 2)).toEqual(['b', 'a']);
  });

  test('numeric-looking params sort as numbers, not as text', () => {
    const asc = [a, b].sort(rowComparator({ column: 'params.C', desc: false }, 0)).map((r) => r.runId);
    expect(asc).toEqual(['b', 'a']);
  });
});
