import { describe, expect, it } from 'vitest';
import { splitId } from './ids.ts';

describe('splitId', () => {
  it('keeps the last eight characters apart so they stay visible', () => {
    expect(splitId('0123456789abcdef0123456789abcdef')).toEqual({ head: '0123456789abcdef01234567', tail: '89abcdef' });
  });

  it('does not split ids short enough to show whole', () => {
    expect(splitId('m-1234')).toEqual({ head: 'm-1234', tail: '' });
    expect(splitId('0123456789abcdef')).toEqual({ head: '0123456789abcdef', tail: '' });
  });

  it('joins back to the whole id', () => {
    const id = 'mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts';
    const { head, tail } = splitId(id);
    expect(head + tail).toBe(id);
  });
});
