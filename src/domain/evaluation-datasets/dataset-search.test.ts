import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MlflowError } from '../errors.ts';
import { parseDatasetFilter, parseDatasetOrderBy } from './dataset-search.ts';

function rejects(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => error instanceof MlflowError && error.code === 'INVALID_PARAMETER_VALUE' && message.test(error.message));
}

describe('datasets/search grammar', () => {
  it('parses attributes, tags and name lists joined by AND', () => {
    assert.deepEqual(parseDatasetFilter("name IN ('a', 'b') AND tags.team = 'ml' AND created_time >= 1700000000000 AND created_by LIKE 'al%'"), [
      { entity: 'attribute', key: 'name', comparator: 'IN', value: ['a', 'b'] },
      { entity: 'tag', key: 'team', comparator: '=', value: 'ml' },
      { entity: 'attribute', key: 'created_time', comparator: '>=', value: 1700000000000 },
      { entity: 'attribute', key: 'created_by', comparator: 'LIKE', value: 'al%' },
    ]);
    assert.deepEqual(parseDatasetFilter('name = "with double quotes"'), [{ entity: 'attribute', key: 'name', comparator: '=', value: 'with double quotes' }]);
    assert.deepEqual(parseDatasetFilter(undefined), []);
  });

  it('refuses unknown keys, prefixes, comparators and value types', () => {
    rejects(() => parseDatasetFilter("digest = 'x'"), /Invalid attribute key 'digest'/);
    rejects(() => parseDatasetFilter("params.x = 'y'"), /Invalid identifier token 'params'/);
    rejects(() => parseDatasetFilter("tags.a > 'b'"), /Invalid comparator '>'/);
    rejects(() => parseDatasetFilter("created_by IN ('a')"), /Only the 'name' attribute supports comparison with a list/);
    rejects(() => parseDatasetFilter('created_time > 1.5'), /Invalid value for numeric attribute/);
    rejects(() => parseDatasetFilter("name = 'a' OR name = 'b'"), /Invalid/);
  });

  it('orders by name and times, newest first by default, and refuses other keys', () => {
    assert.deepEqual(parseDatasetOrderBy(undefined), [{ entity: 'attribute', key: 'created_time', ascending: false }]);
    assert.deepEqual(parseDatasetOrderBy(['name', 'last_update_time DESC']), [
      { entity: 'attribute', key: 'name', ascending: true },
      { entity: 'attribute', key: 'last_update_time', ascending: false },
    ]);
    rejects(() => parseDatasetOrderBy(['created_by']), /Invalid attribute key/);
    rejects(() => parseDatasetOrderBy(['tags.team']), /Invalid order_by entity: tag/);
  });
});
