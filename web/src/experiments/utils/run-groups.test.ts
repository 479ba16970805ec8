import { describe, expect, it } from 'vitest';
import { aggregate, groupRows, isGroupRow, tableRowKey } from './run-groups.ts';
import { assignColors, defaultRunColor, runColor, PALETTE } from './run-colors.ts';
import type { RunRow } from './run-rows.ts';

function row(runId: string, params: Record<string, string>, metrics: Record<string, number>): RunRow {
  return { runId, experimentId: '1', name: runId, status: 'FINISHED', lifecycle: 'active', startTime: 1, endTime: 2, user: '', source: '', gitCommit: '', parentId: undefined, metrics, params, tags: {} };
}

const rows = [row('a', { penalty: 'l2' }, { acc: 0.8 }), row('b', { penalty: 'l1' }, { acc: 0.6 }), row('c', { penalty: 'l2' }, { acc: 0.9 }), row('d', {}, { acc: NaN })];
const byId = (x: RunRow, y: RunRow) => x.runId.localeCompare(y.runId);

describe('grouping runs', () => {
  it('makes one row per value, runs without the key last, collapsed by default', () => {
    const out = groupRows(rows, 'params.penalty', new Set(), byId);
    expect(out.map(tableRowKey)).toEqual(['group:l1', 'group:l2', 'group:\u0000']);
    const last = out[2];
    expect(last && isGroupRow(last) ? last.value : 'x').toBeUndefined();
  });

  it('lists an expanded group’s runs under it', () => {
    const out = groupRows(rows, 'params.penalty', new Set(['group:l2']), byId);
    expect(out.map(tableRowKey)).toEqual(['group:l1', 'group:l2', 'a', 'c', 'group:\u0000']);
  });

  it('aggregates a metric by mean, min or max, leaving out NaN and missing values', () => {
    expect(aggregate(rows, 'metrics.acc', 'mean', 0)).toBeCloseTo(0.7667, 3);
    expect(aggregate(rows, 'metrics.acc', 'min', 0)).toBe(0.6);
    expect(aggregate(rows, 'metrics.acc', 'max', 0)).toBe(0.9);
    expect(aggregate(rows, 'metrics.none', 'mean', 0)).toBeUndefined();
  });
});

describe('run colours', () => {
  it('gives a run the same palette colour every time unless one was chosen', () => {
    expect(defaultRunColor('abc')).toBe(defaultRunColor('abc'));
    expect(PALETTE).toContain(defaultRunColor('abc'));
    expect(runColor('abc', { abc: '#000000' })).toBe('#000000');
    expect(runColor('abc', {})).toBe(defaultRunColor('abc'));
  });

  it('gives the runs shown distinct colours while the palette lasts, oldest runs first', () => {
    const runs = Array.from({ length: 16 }, (_, i) => ({ runId: `run-${i}`, startTime: i }));
    const colors = assignColors(runs);
    expect(new Set(Object.values(colors)).size).toBe(16);
    // A newer run does not change the colours of the older ones.
    expect(assignColors([...runs.slice(0, 5), { runId: 'new', startTime: 100 }])).toMatchObject(assignColors(runs.slice(0, 5)));
  });
});
