import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processUniqueId } from './process-unique-id.ts';

describe('process-unique ids', () => {
  it('are shaped like version 4 UUIDs', () => {
    assert.match(processUniqueId(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('never repeat within a process', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => processUniqueId()));
    assert.equal(ids.size, 10_000);
  });

  it('share one random prefix and count up in the last group', () => {
    const [first, second] = [processUniqueId(), processUniqueId()];
    assert.equal(first.slice(0, 23), second.slice(0, 23));
    assert.equal(Number.parseInt(second.slice(24), 16), Number.parseInt(first.slice(24), 16) + 1);
  });
});
