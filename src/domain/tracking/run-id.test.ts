import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newRunId } from './run-id.ts';

describe('run ids', () => {
  test('a run id is 32 lowercase hex digits laid out as a version 7 UUID', () => {
    for (let i = 0; i < 1000; i++) {
      const id = newRunId();
      assert.match(id, /^[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    }
  });

  test('the first 48 bits are the creation time in milliseconds', () => {
    const now = Date.UTC(2026, 11, 7, 20, 30);
    assert.equal(parseInt(newRunId(now).slice(0, 12), 16), now);
  });

  test('ids made in a later millisecond sort after earlier ones, as strings and as index keys', () => {
    const t = Date.UTC(2026, 11, 7);
    const ids = Array.from({ length: 200 }, (_, i) => newRunId(t + i));
    assert.deepEqual([...ids].sort(), ids);
  });

  test('ids made in the same millisecond differ', () => {
    const t = Date.UTC(2026, 11, 7);
    const ids = new Set(Array.from({ length: 10_000 }, () => newRunId(t)));
    assert.equal(ids.size, 10_000);
  });
});
