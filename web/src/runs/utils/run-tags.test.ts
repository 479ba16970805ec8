import { describe, expect, it } from 'vitest';
import { isSystemTag, modelOfExperiment, splitTags } from './run-tags.ts';

describe('run tags', () => {
  it('puts mlflow.* tags in the system group and the rest in the user group, each sorted', () => {
    const { user, system } = splitTags(
      [
        { key: 'team', value: 'nlp' },
        { key: 'mlflow.user', value: 'ana' },
        { key: 'alpha', value: '1' },
        { key: 'mlflow.runName', value: 'r' },
      ],
      [],
    );
    expect(user.map((t) => t.key)).toEqual(['alpha', 'team']);
    expect(system.map((t) => t.key)).toEqual(['mlflow.runName', 'mlflow.user']);
  });

  it('leaves hidden keys out of both groups', () => {
    const { user, system } = splitTags([{ key: 'mlflow.note.content', value: 'd' }, { key: 'x', value: '1' }], ['mlflow.note.content']);
    expect(system).toEqual([]);
    expect(user).toEqual([{ key: 'x', value: '1' }]);
  });

  it('treats only the mlflow. prefix as system', () => {
    expect(isSystemTag('mlflow.source.name')).toBe(true);
    expect(isSystemTag('mlflowish')).toBe(false);
  });
});

describe('modelOfExperiment', () => {
  it('names the model of a [model]<name> experiment', () => {
    expect(modelOfExperiment('[model]iris-classifier')).toBe('iris-classifier');
  });

  it('is undefined for other experiments and for a bare prefix', () => {
    expect(modelOfExperiment('e2e-iris')).toBeUndefined();
    expect(modelOfExperiment('[model]')).toBeUndefined();
    expect(modelOfExperiment(undefined)).toBeUndefined();
  });
});
