import { describe, expect, test } from 'vitest';
import type { Run } from '../../common/api/types.ts';
import { collectKeys, flattenTree, toRunRow, type RunRow } from './run-rows.ts';

function run(id: string, tags: Record<string, string> = {}, extra: Partial<Run['data']> = {}): Run {
  return {
    info: { run_id: id, run_name: `run-${id}`, experiment_id: '1', status: 'FINISHED', lifecycle_stage: 'active', start_time: 1, user_id: 'me' },
    data: { tags: Object.entries(tags).map(([key, value]) => ({ key, value })), ...extra },
  };
}

describe('toRunRow', () => {
  test('flattens MLflow run JSON, reading system tags', () => {
    const row = toRunRow(
      run('a', { 'mlflow.source.name': '/home/x/train.py', 'mlflow.source.git.commit': 'abc', 'mlflow.parentRunId': 'p' }, {
        metrics: [{ key: 'acc', value: 0.5, timestamp: 1, step: 2 }, { key: 'inf', value: 'Infinity', timestamp: 1, step: 0 }],
        params: [{ key: 'lr', value: '0.1' }],
      }),
    );
    expect(row.name).toBe('run-a');
    expect(row.source).toBe('train.py');
    expect(row.gitCommit).toBe('abc');
    expect(row.parentId).toBe('p');
    expect(row.metrics).toEqual({ acc: 0.5, inf: Infinity });
    expect(row.params).toEqual({ lr: '0.1' });
  });

  test('collectKeys lists keys sorted and leaves mlflow.* tags out', () => {
    const rows = [toRunRow(run('a', { team: 'x', 'mlflow.user': 'u' }, { params: [{ key: 'b', value: '1' }, { key: 'a', value: '2' }] }))];
    expect(collectKeys(rows)).toEqual({ metrics: [], params: ['a', 'b'], tags: ['team'] });
  });
});

describe('flattenTree', () => {
  const rows: RunRow[] = [
    toRunRow(run('parent')),
    toRunRow(run('child2', { 'mlflow.parentRunId': 'parent' })),
    toRunRow(run('child1', { 'mlflow.parentRunId': 'parent' })),
    toRunRow(run('orphan', { 'mlflow.parentRunId': 'not-loaded' })),
    toRunRow(run('grandchild', { 'mlflow.parentRunId': 'child1' })),
  ];
  const byId = (x: RunRow, y: RunRow) => x.runId.localeCompare(y.runId);

  test('collapsed: only top-level runs, with their child counts; orphans are top level', () => {
    const flat = flattenTree(rows, new Set(), byId);
    expect(flat.map((t) => [t.row.runId, t.depth, t.childCount])).toEqual([
      ['orphan', 0, 0],
      ['parent', 0, 2],
    ]);
  });

  test('expanded parents show their sorted children indented', () => {
    const flat = flattenTree(rows, new Set(['parent', 'child1']), byId);
    expect(flat.map((t) => `${'-'.repeat(t.depth)}${t.row.runId}`)).toEqual(['orphan', 'parent', '-child1', '--grandchild', '-child2']);
  });

  test('a parent cycle in bad data does not loop', () => {
    const cyclic = [toRunRow(run('x', { 'mlflow.parentRunId': 'y' })), toRunRow(run('y', { 'mlflow.parentRunId': 'x' }))];
    expect(flattenTree(cyclic, new Set(['x', 'y']), byId).length).toBeLessThanOrEqual(2);
  });
});
