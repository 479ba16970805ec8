import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseModelVersionFilter,
  parseModelVersionOrderBy,
  parseRegisteredModelFilter,
  parseRegisteredModelOrderBy,
} from './registry-search.ts';
import { assertInvalid } from './test-support.ts';

describe('parseRegisteredModelFilter', () => {
  test('the prompt-exclusion clause the 3.x client appends parses as a tag clause', () => {
    assert.deepEqual(parseRegisteredModelFilter("tag.`mlflow.prompt.is_prompt` != 'true'"), [
      { entity: 'tag', key: 'mlflow.prompt.is_prompt', comparator: '!=', value: 'true' },
    ]);
  });

  test('a user name filter combined with the prompt-exclusion clause yields both clauses', () => {
    assert.deepEqual(parseRegisteredModelFilter("name LIKE 'fraud%' AND tags.`mlflow.prompt.is_prompt` = 'false'"), [
      { entity: 'attribute', key: 'name', comparator: 'LIKE', value: 'fraud%' },
      { entity: 'tag', key: 'mlflow.prompt.is_prompt', comparator: '=', value: 'false' },
    ]);
  });

  test('an absent or blank filter yields no clauses', () => {
    assert.deepEqual(parseRegisteredModelFilter(undefined), []);
    assert.deepEqual(parseRegisteredModelFilter(''), []);
  });

  for (const op of ['=', '!=', 'LIKE', 'ILIKE']) {
    test(`the name attribute accepts ${op}`, () => {
      assert.equal(parseRegisteredModelFilter(`name ${op} 'm'`)[0]?.comparator, op);
    });
    test(`a registered-model tag accepts ${op}`, () => {
      assert.equal(parseRegisteredModelFilter(`tags."k" ${op} 'v'`)[0]?.comparator, op);
    });
  }

  test('a double-quoted model name is a string value', () => {
    assert.deepEqual(parseRegisteredModelFilter('name = "my-model"'), [
      { entity: 'attribute', key: 'name', comparator: '=', value: 'my-model' },
    ]);
  });

  test('attributes other than name are not filterable', () => {
    assertInvalid(
      () => parseRegisteredModelFilter('creation_timestamp > 1'),
      "Invalid attribute key 'creation_timestamp' specified. Valid keys are '['name']'",
    );
  });

  test('a name IN list is rejected because only run_id supports lists', () => {
    assertInvalid(
      () => parseRegisteredModelFilter("name IN ('a')"),
      "Only the 'run_id' attribute supports comparison with a list of quoted string values.",
    );
  });

  test('a name compared with a number is rejected with the registry wording', () => {
    assertInvalid(
      () => parseRegisteredModelFilter('name = 1'),
      'Expected a quoted string value or a list of quoted string values for attributes. Got value 1',
    );
  });

  test('a name compared with < is rejected as an invalid comparator', () => {
    assertInvalid(() => parseRegisteredModelFilter("name < 'm'"), "Invalid comparator '<' not one of '['=', '!=', 'LIKE', 'ILIKE']'");
  });

  test('a tag compared with an unquoted word is rejected as not quoted', () => {
    assertInvalid(() => parseRegisteredModelFilter('tags.k = v'), /^Parameter value is either not quoted/);
  });

  test('metric prefixes are rejected for registered models', () => {
    assertInvalid(
      () => parseRegisteredModelFilter('metrics.a > 1'),
      "Invalid entity type 'metrics'. Valid entity types are ('attribute', 'tag', 'tags')",
    );
  });

  test('OR is rejected with the unquoted registry clause format', () => {
    assertInvalid(() => parseRegisteredModelFilter("name = 'a' or name = 'b'"), 'Invalid clause(s) in filter string: or');
  });
});

describe('parseRegisteredModelOrderBy', () => {
  test('name, creation_timestamp and last_updated_timestamp are orderable', () => {
    assert.deepEqual(parseRegisteredModelOrderBy(['name DESC', 'creation_timestamp', 'last_updated_timestamp ASC']), [
      { entity: 'attribute', key: 'name', ascending: false },
      { entity: 'attribute', key: 'creation_timestamp', ascending: true },
      { entity: 'attribute', key: 'last_updated_timestamp', ascending: true },
    ]);
  });

  test('the legacy timestamp key is an alias of creation_timestamp', () => {
    assert.deepEqual(parseRegisteredModelOrderBy(['timestamp DESC']), [
      { entity: 'attribute', key: 'creation_timestamp', ascending: false },
    ]);
  });

  test('an unknown registered-model order key is rejected with the valid keys', () => {
    assertInvalid(
      () => parseRegisteredModelOrderBy(['version_number']),
      "Invalid attribute key 'version_number' specified. Valid keys are '['name', 'creation_timestamp', 'timestamp', 'last_updated_timestamp']'",
    );
  });

  test('ordering registered models by a tag is rejected', () => {
    assertInvalid(() => parseRegisteredModelOrderBy(['tag.x']), 'Invalid order_by entity: tag');
  });
});

describe('parseModelVersionFilter', () => {
  test('a name equality and a version threshold parse to an attribute string and number', () => {
    assert.deepEqual(parseModelVersionFilter("name = 'x' AND version_number > 3"), [
      { entity: 'attribute', key: 'name', comparator: '=', value: 'x' },
      { entity: 'attribute', key: 'version_number', comparator: '>', value: 3 },
    ]);
  });

  test('the client\'s double-quoted name filter is accepted', () => {
    assert.deepEqual(parseModelVersionFilter(`name="x" AND version_number > 3`)[0]?.value, 'x');
  });

  for (const op of ['=', '!=', '<', '<=', '>', '>=']) {
    test(`version_number accepts ${op}`, () => {
      assert.equal(parseModelVersionFilter(`version_number ${op} 2`)[0]?.comparator, op);
    });
  }

  test('a quoted integer version_number is read as a number, as upstream int()s it', () => {
    assert.deepEqual(parseModelVersionFilter("version_number = '3'"), [
      { entity: 'attribute', key: 'version_number', comparator: '=', value: 3 },
    ]);
  });

  test('a non-integer quoted version_number is rejected as non-numeric', () => {
    assertInvalid(
      () => parseModelVersionFilter("version_number = 'three'"),
      "Expected numeric value type for numeric attribute: version_number. Found 'three'",
    );
  });

  for (const op of ['=', '!=', 'LIKE', 'ILIKE']) {
    test(`the run_id, name and source_path attributes accept ${op}`, () => {
      for (const key of ['run_id', 'name', 'source_path']) {
        assert.deepEqual(parseModelVersionFilter(`${key} ${op} 'v'`), [{ entity: 'attribute', key, comparator: op, value: 'v' }]);
      }
    });
    test(`a model-version tag accepts ${op}`, () => {
      assert.equal(parseModelVersionFilter(`tags.stage ${op} 'prod'`)[0]?.comparator, op);
    });
  }

  test('run_id accepts an IN list and drops upper-case ids as upstream does', () => {
    assert.deepEqual(parseModelVersionFilter("run_id IN ('abc', 'DEF')"), [
      { entity: 'attribute', key: 'run_id', comparator: 'IN', value: ['abc'] },
    ]);
  });

  test('run_id NOT IN is rejected because model versions only support IN', () => {
    assertInvalid(
      () => parseModelVersionFilter("run_id NOT IN ('abc')"),
      "Invalid comparator 'NOT IN' not one of '['=', '!=', 'LIKE', 'ILIKE', 'IN']'",
    );
  });

  test('a name IN list is rejected because only run_id supports lists', () => {
    assertInvalid(
      () => parseModelVersionFilter("name IN ('a')"),
      "Only the 'run_id' attribute supports comparison with a list of quoted string values.",
    );
  });

  test('a string attribute compared with a number names the numeric attributes', () => {
    assertInvalid(
      () => parseModelVersionFilter('name = 5'),
      "Only the '['version_number']' attributes support comparison with numeric values.",
    );
  });

  test('version_number rejects LIKE', () => {
    assertInvalid(
      () => parseModelVersionFilter('version_number LIKE 3'),
      "Invalid comparator 'LIKE' not one of '['=', '!=', '<', '<=', '>', '>=']'",
    );
  });

  test('an unknown model-version attribute is rejected with the valid keys', () => {
    assertInvalid(
      () => parseModelVersionFilter('creation_timestamp > 1'),
      "Invalid attribute key 'creation_timestamp' specified. Valid keys are '['name', 'version_number', 'run_id', 'source_path']'",
    );
  });

  test('the prompt-exclusion tag clause parses for model versions too', () => {
    assert.deepEqual(parseModelVersionFilter("name = 'm' AND tag.`mlflow.prompt.is_prompt` != 'true'")[1], {
      entity: 'tag',
      key: 'mlflow.prompt.is_prompt',
      comparator: '!=',
      value: 'true',
    });
  });
});

describe('parseModelVersionOrderBy', () => {
  test('every orderable model-version attribute is accepted', () => {
    assert.deepEqual(parseModelVersionOrderBy(['name', 'version_number DESC', 'creation_timestamp', 'last_updated_timestamp desc']), [
      { entity: 'attribute', key: 'name', ascending: true },
      { entity: 'attribute', key: 'version_number', ascending: false },
      { entity: 'attribute', key: 'creation_timestamp', ascending: true },
      { entity: 'attribute', key: 'last_updated_timestamp', ascending: false },
    ]);
  });

  test('run_id is filterable but not orderable for model versions', () => {
    assertInvalid(
      () => parseModelVersionOrderBy(['run_id']),
      "Invalid attribute key 'run_id' specified. Valid keys are '['name', 'version_number', 'creation_timestamp', 'last_updated_timestamp']'",
    );
  });

  test('an order_by entry with three words cannot be parsed', () => {
    assertInvalid(() => parseModelVersionOrderBy(['name ASC DESC']), "Invalid order_by clause 'name ASC DESC'. Could not be parsed.");
  });
});
