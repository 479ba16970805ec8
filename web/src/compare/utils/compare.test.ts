import { describe, expect, test } from 'vitest';
import type { RunRow } from '../../experiments/utils/run-rows.ts';
import { buildDimension, diffTable, extent, normalize } from './compare.ts';

function row(runId: string, params: Record<string, string>, metrics: Record<string, number> = {}): RunRow {
  return { runId, experimentId: '1', name: runId, status: 'FINISHED', lifecycle: 'active', startTime: 0, endTime: 0, user: '', source: '', gitCommit: '', parentId: undefined, metrics, params, tags: {} };
}

describe('compare', () => {
  const rows = [row('a', { lr: '0.1', opt: 'adam', seed: '1' }, { acc: 0.9 }), row('b', { lr: '0.01', opt: 'adam', seed: '1' }, { acc: 0.7 }), row('c', { lr: '0.1', opt: 'sgd' })];

  test('the param diff flags keys whose values differ, including missing ones', () => {
    const diff = diffTable(rows, (r) => r.params);
    expect(diff.map((d) => [d.key, d.differs])).toEqual([
      ['lr', true],
      ['opt', true],
      ['seed', true],
    ]);
    expect(diffTable(rows.slice(0, 2), (r) => r.params).find((d) => d.key === 'seed')?.differs).toBe(false);
  });

  test('numeric params become numeric axes, others categorical', () => {
    const lr = buildDimension('params.lr', rows);
    expect(lr.kind).toBe('numeric');
    expect(lr.values).toEqual([0.1, 0.01, 0.1]);
    const opt = buildDimension('params.opt', rows);
    expect(opt.kind).toBe('categorical');
    expect(opt.categories).toEqual(['adam', 'sgd']);
    const acc = buildDimension('metrics.acc', rows);
    expect(acc.values).toEqual([0.9, 0.7, undefined]);
  });

  test('normalize maps values into [0, 1], constant axes to the middle, missing to undefined', () => {
    expect(normalize(buildDimension('metrics.acc', rows))).toEqual([1, 0, undefined]);
    expect(normalize(buildDimension('params.opt', rows))).toEqual([0, 0, 1]);
    expect(normalize(buildDimension('params.seed', rows.slice(0, 2)))).toEqual([0.5, 0.5]);
    expect(extent(buildDimension('params.lr', rows))).toEqual([0.01, 0.1]);
  });
});
