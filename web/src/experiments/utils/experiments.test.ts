import { describe, expect, it } from 'vitest';
import { experimentDescription, userTags } from './experiments.ts';

describe('experiment list details', () => {
  it('shows the description as one line of plain text', () => {
    expect(experimentDescription({ tags: [{ key: 'mlflow.note.content', value: 'A **small**\n\nsweep' }] })).toBe('A small sweep');
    expect(experimentDescription({})).toBe('');
  });

  it('lists user tags by key without the system ones', () => {
    const tags = [
      { key: 'team', value: 'nlp' },
      { key: 'mlflow.note.content', value: 'x' },
      { key: 'area', value: 'vision' },
    ];
    expect(userTags({ tags }).map((t) => t.key)).toEqual(['area', 'team']);
  });
});
