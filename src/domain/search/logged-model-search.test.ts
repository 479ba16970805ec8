import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLoggedModelFilter, parseLoggedModelOrderBy } from './logged-model-search.ts';
import type { LoggedModelOrderByInput } from './types.ts';
import { assertInvalid } from './test-support.ts';

describe('parseLoggedModelFilter', () => {
  test('the filter the MLflow 3 client sends to resolve runs:/ URIs parses to two attribute clauses', () => {
    assert.deepEqual(parseLoggedModelFilter("name = 'model' AND source_run_id = 'abc123'"), [
      { entity: 'attribute', key: 'name', comparator: '=', value: 'model' },
      { entity: 'attribute', key: 'source_run_id', comparator: '=', value: 'abc123' },
    ]);
  });

  test('an absent or blank filter yields no clauses', () => {
    assert.deepEqual(parseLoggedModelFilter(undefined), []);
    assert.deepEqual(parseLoggedModelFilter('   '), []);
  });

  test('metrics, params and tags parse alongside attributes', () => {
    assert.deepEqual(parseLoggedModelFilter("metrics.accuracy >= 0.9 AND params.alpha = '0.1' AND tags.`team.name` LIKE 'ml%'"), [
      { entity: 'metric', key: 'accuracy', comparator: '>=', value: 0.9 },
      { entity: 'param', key: 'alpha', comparator: '=', value: '0.1' },
      { entity: 'tag', key: 'team.name', comparator: 'LIKE', value: 'ml%' },
    ]);
  });

  test('the creation_time and last_updated_time aliases resolve to the timestamp attributes', () => {
    assert.deepEqual(parseLoggedModelFilter('creation_time > 10 AND last_updated_time <= 20 AND creation_timestamp != 5'), [
      { entity: 'attribute', key: 'creation_timestamp', comparator: '>', value: 10 },
      { entity: 'attribute', key: 'last_updated_timestamp', comparator: '<=', value: 20 },
      { entity: 'attribute', key: 'creation_timestamp', comparator: '!=', value: 5 },
    ]);
  });

  for (const key of ['name', 'model_id', 'model_type', 'status', 'source_run_id']) {
    test(`the string attribute ${key} accepts IN and NOT IN lists`, () => {
      assert.deepEqual(parseLoggedModelFilter(`${key} IN ('A', 'b') AND attributes.${key} NOT IN ("c")`), [
        { entity: 'attribute', key, comparator: 'IN', value: ['A', 'b'] },
        { entity: 'attribute', key, comparator: 'NOT IN', value: ['c'] },
      ]);
    });
  }

  test('dataset prefixes are rejected because datasets are a separate request field here', () => {
    assertInvalid(
      () => parseLoggedModelFilter("datasets.name = 'x'"),
      "Invalid entity type 'datasets'. Valid values are ['metric', 'parameter', 'tag', 'attribute']",
    );
  });

  test('an unknown logged-model attribute is rejected with the valid keys', () => {
    assertInvalid(
      () => parseLoggedModelFilter("artifact_location = 'x'"),
      "Invalid attribute key 'artifact_location' specified. Valid keys are '['name', 'model_id', 'model_type', 'status', 'source_run_id', 'creation_timestamp', 'creation_time', 'last_updated_timestamp', 'last_updated_time']'",
    );
  });

  test('a metric clause with a string value is rejected with MLflow\'s message', () => {
    assertInvalid(() => parseLoggedModelFilter("metrics.acc > 'high'"), "Expected numeric value type for metric. Found 'high'");
  });

  test('a timestamp attribute with a list is rejected as non-numeric', () => {
    assertInvalid(
      () => parseLoggedModelFilter("creation_time IN ('1')"),
      "Expected numeric value type for numeric attribute: creation_time. Found ('1')",
    );
  });

  test('a param compared with IN is rejected as needing a quoted string', () => {
    assertInvalid(
      () => parseLoggedModelFilter("params.a IN ('x')"),
      "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('x')",
    );
  });

  test('invalid clauses are quoted as in the run grammar', () => {
    assertInvalid(() => parseLoggedModelFilter("name = 'a' OR name = 'b'"), "Invalid clause(s) in filter string: 'OR'");
  });
});

describe('parseLoggedModelOrderBy', () => {
  test('an absent or empty order_by yields no clauses', () => {
    assert.deepEqual(parseLoggedModelOrderBy(undefined), []);
    assert.deepEqual(parseLoggedModelOrderBy([]), []);
  });

  test('an attribute ordering defaults to ascending', () => {
    assert.deepEqual(parseLoggedModelOrderBy([{ field_name: 'name' }]), [{ entity: 'attribute', key: 'name', ascending: true }]);
  });

  test('attribute aliases resolve to their canonical timestamps', () => {
    assert.deepEqual(
      parseLoggedModelOrderBy([
        { field_name: 'creation_time', ascending: false },
        { field_name: 'last_updated_time' },
      ]),
      [
        { entity: 'attribute', key: 'creation_timestamp', ascending: false },
        { entity: 'attribute', key: 'last_updated_timestamp', ascending: true },
      ],
    );
  });

  test('a metric ordering carries its dataset name and digest', () => {
    assert.deepEqual(
      parseLoggedModelOrderBy([{ field_name: 'metrics.val.loss', ascending: true, dataset_name: 'eval', dataset_digest: 'abc' }]),
      [{ entity: 'metric', key: 'val.loss', ascending: true, datasetName: 'eval', datasetDigest: 'abc' }],
    );
  });

  test('a backtick-quoted metric key is unquoted', () => {
    assert.equal(parseLoggedModelOrderBy([{ field_name: 'metrics.`my metric`' }])[0]?.key, 'my metric');
  });

  test('a prefix other than metrics is rejected', () => {
    assertInvalid(
      () => parseLoggedModelOrderBy([{ field_name: 'params.alpha' }]),
      'Invalid order by field name: params, only `metrics.<name>` is allowed.',
    );
  });

  test('an unknown attribute field name is rejected', () => {
    assertInvalid(() => parseLoggedModelOrderBy([{ field_name: 'artifact_location' }]), 'Invalid order by field name: artifact_location.');
  });

  test('a missing field_name is rejected', () => {
    // Request JSON is untyped at runtime; simulate a client omitting the field.
    const entry = JSON.parse('{"ascending": true}') as LoggedModelOrderByInput;
    assertInvalid(() => parseLoggedModelOrderBy([entry]), '`field_name` in the `order_by` clause must be specified.');
  });

  test('a non-boolean ascending flag is rejected', () => {
    const entry = JSON.parse('{"field_name": "name", "ascending": "yes"}') as LoggedModelOrderByInput;
    assertInvalid(
      () => parseLoggedModelOrderBy([entry]),
      'Value of `ascending` in the `order_by` clause must be a boolean, got string for field name.',
    );
  });

  test('a dataset digest without a dataset name is rejected', () => {
    assertInvalid(
      () => parseLoggedModelOrderBy([{ field_name: 'metrics.acc', dataset_digest: 'abc' }]),
      '`dataset_digest` can only be specified if `dataset_name` is also specified.',
    );
  });

  test('an order_by entry that is not an object is rejected', () => {
    const entries = JSON.parse('["name"]') as LoggedModelOrderByInput[];
    assertInvalid(() => parseLoggedModelOrderBy(entries), '`order_by` must be a list of dictionaries.');
  });
});
