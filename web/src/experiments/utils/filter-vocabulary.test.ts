import { describe, expect, it } from 'vitest';
import type { Run } from '../../common/api/types.ts';
import { addToVocabulary, emptyVocabulary } from './filter-vocabulary.ts';
import { toRunRow } from './run-rows.ts';

function run(id: string, params: Record<string, string>, tags: Record<string, string>, metrics: string[]): Run {
  return {
    info: { run_id: id, run_name: id, experiment_id: '1', status: 'FINISHED', lifecycle_stage: 'active', start_time: 1, user_id: 'me' },
    data: {
      params: Object.entries(params).map(([key, value]) => ({ key, value })),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      metrics: metrics.map((key) => ({ key, value: 1, timestamp: 1, step: 0 })),
    },
  };
}

describe('filter vocabulary', () => {
  it('collects keys and distinct param and tag values, sorted, keeping what earlier rows added', () => {
    const first = addToVocabulary(emptyVocabulary(), [toRunRow(run('a', { penalty: 'l2' }, { team: 'nlp', 'mlflow.user': 'me' }, ['loss']))]);
    const next = addToVocabulary(first, [toRunRow(run('b', { penalty: 'l1' }, { team: 'nlp' }, ['acc']))]);
    expect(next.metrics).toEqual(['acc', 'loss']);
    expect(next.params).toEqual(['penalty']);
    expect(next.tags).toEqual(['mlflow.user', 'team']);
    expect(next.values).toEqual({ 'params.penalty': ['l1', 'l2'], 'tags.team': ['nlp'] });
  });
});
