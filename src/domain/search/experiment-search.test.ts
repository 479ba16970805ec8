import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExperimentFilter, parseExperimentOrderBy } from './experiment-search.ts';
import { assertInvalid } from './test-support.ts';

const ENTITY_TYPES = "('attribute', 'tag', 'tags')";

describe('parseExperimentFilter', () => {
  test('an absent or blank filter yields no clauses', () => {
    assert.deepEqual(parseExperimentFilter(undefined), []);
    assert.deepEqual(parseExperimentFilter(' '), []);
  });

  test('a name pattern and a tag equality parse to attribute and tag clauses', () => {
    assert.deepEqual(parseExperimentFilter("name LIKE 'exp-%' AND tags.team = 'ml'"), [
      { entity: 'attribute', key: 'name', comparator: 'LIKE', value: 'exp-%' },
      { entity: 'tag', key: 'team', comparator: '=', value: 'ml' },
    ]);
  });

  for (const op of ['=', '!=', 'LIKE', 'ILIKE']) {
    test(`the name attribute accepts ${op}`, () => {
      assert.deepEqual(parseExperimentFilter(`attribute.name ${op} "Default"`), [
        { entity: 'attribute', key: 'name', comparator: op, value: 'Default' },
      ]);
    });
    test(`an experiment tag accepts ${op}`, () => {
      assert.equal(parseExperimentFilter(`tag.\`k\` ${op} 'v'`)[0]?.comparator, op);
    });
  }

  for (const key of ['creation_time', 'last_update_time']) {
    for (const op of ['=', '!=', '<', '<=', '>', '>=']) {
      test(`the numeric ${key} attribute accepts ${op}`, () => {
        assert.deepEqual(parseExperimentFilter(`${key} ${op} 1700000000000`), [
          { entity: 'attribute', key, comparator: op, value: 1700000000000 },
        ]);
      });
    }
  }

  test('both tag and tags prefixes resolve to tags', () => {
    assert.deepEqual(
      parseExperimentFilter(`tag.a = 'x' AND tags."b.c" = 'y'`).map((c) => [c.entity, c.key]),
      [
        ['tag', 'a'],
        ['tag', 'b.c'],
      ],
    );
  });

  test('the run grammar\'s attributes alias is not accepted for experiments', () => {
    assertInvalid(
      () => parseExperimentFilter("attributes.name = 'x'"),
      `Invalid entity type 'attributes'. Valid entity types are ${ENTITY_TYPES}`,
    );
  });

  test('metrics and params are not experiment entities', () => {
    assertInvalid(() => parseExperimentFilter('metrics.a > 1'), `Invalid entity type 'metrics'. Valid entity types are ${ENTITY_TYPES}`);
    assertInvalid(() => parseExperimentFilter("params.a = 'x'"), /^Invalid entity type 'params'/);
  });

  test('an unknown experiment attribute is rejected with the valid keys', () => {
    assertInvalid(
      () => parseExperimentFilter("experiment_id = '1'"),
      "Invalid attribute key 'experiment_id' specified. Valid keys are '['name', 'creation_time', 'last_update_time']'",
    );
  });

  test('a name IN list is rejected because only run_id supports lists', () => {
    assertInvalid(
      () => parseExperimentFilter("name IN ('a', 'b')"),
      "Only the 'run_id' attribute supports comparison with a list of quoted string values.",
    );
  });

  test('the name attribute rejects an ordering comparator', () => {
    assertInvalid(() => parseExperimentFilter("name > 'a'"), "Invalid comparator '>' not one of '['=', '!=', 'LIKE', 'ILIKE']'");
  });

  test('a numeric attribute rejects LIKE', () => {
    assertInvalid(
      () => parseExperimentFilter('creation_time LIKE 5'),
      "Invalid comparator 'LIKE' not one of '['=', '!=', '<', '<=', '>', '>=']'",
    );
  });

  test('a numeric attribute rejects a quoted value', () => {
    assertInvalid(
      () => parseExperimentFilter("last_update_time > '5'"),
      "Expected numeric value type for numeric attribute: last_update_time. Found '5'",
    );
  });

  test('the name attribute rejects a number', () => {
    assertInvalid(() => parseExperimentFilter('name = 5'), 'Expected a quoted string value for attributes. Got value 5');
  });

  test('a tag rejects a number', () => {
    assertInvalid(() => parseExperimentFilter('tags.a = 5'), "Expected a quoted string value for tag (e.g. 'my-value'). Got value 5");
  });

  test('invalid clauses are listed without quotes, as the experiment parser does upstream', () => {
    assertInvalid(() => parseExperimentFilter("name = 'a' OR name = 'b'"), 'Invalid clause(s) in filter string: OR');
  });
});

describe('parseExperimentOrderBy', () => {
  test('every orderable experiment attribute is accepted with its direction', () => {
    assert.deepEqual(parseExperimentOrderBy(['name', 'experiment_id DESC', 'creation_time asc', 'attribute.last_update_time DESC']), [
      { entity: 'attribute', key: 'name', ascending: true },
      { entity: 'attribute', key: 'experiment_id', ascending: false },
      { entity: 'attribute', key: 'creation_time', ascending: true },
      { entity: 'attribute', key: 'last_update_time', ascending: false },
    ]);
  });

  test('an absent order_by yields no clauses', () => {
    assert.deepEqual(parseExperimentOrderBy(undefined), []);
  });

  test('ordering by a tag is rejected as an invalid order_by entity', () => {
    assertInvalid(() => parseExperimentOrderBy(['tags.team']), 'Invalid order_by entity: tag');
  });

  test('an unknown experiment order key is rejected with the valid keys', () => {
    assertInvalid(
      () => parseExperimentOrderBy(['artifact_location']),
      "Invalid attribute key 'artifact_location' specified. Valid keys are '['name', 'experiment_id', 'creation_time', 'last_update_time']'",
    );
  });

  test('an unknown direction is rejected as an invalid ordering key', () => {
    assertInvalid(() => parseExperimentOrderBy(['name UP']), "Invalid ordering key in order_by clause 'name UP'.");
  });
});
