import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunFilter, parseRunOrderBy } from './run-search.ts';
import { assertInvalid } from './test-support.ts';

const RUN_KEYS =
  "['run_id', 'run_name', 'status', 'user_id', 'artifact_uri', 'start_time', 'end_time', 'created', 'Created', 'run name', 'Run name', 'Run Name']";
const NUMERIC = "['=', '!=', '<', '<=', '>', '>=']";
const STRING = "['=', '!=', 'LIKE', 'ILIKE']";
const STRING_LIST = "['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN']";

describe('parseRunFilter: realistic filters', () => {
  test('an absent, empty or blank filter yields no clauses', () => {
    assert.deepEqual(parseRunFilter(undefined), []);
    assert.deepEqual(parseRunFilter(''), []);
    assert.deepEqual(parseRunFilter('  \n\t '), []);
  });

  test('a metric threshold and a param equality joined by a lower-case and parse to two clauses', () => {
    assert.deepEqual(parseRunFilter("metrics.accuracy > 0.8 and params.penalty = 'l2'"), [
      { entity: 'metric', key: 'accuracy', comparator: '>', value: 0.8 },
      { entity: 'param', key: 'penalty', comparator: '=', value: 'l2' },
    ]);
  });

  test('a run_id IN list on the attributes prefix yields a string array', () => {
    assert.deepEqual(parseRunFilter("attributes.run_id IN ('abc', 'def')"), [
      { entity: 'attribute', key: 'run_id', comparator: 'IN', value: ['abc', 'def'] },
    ]);
  });

  test('a dataset context filter yields a dataset clause on the context field', () => {
    assert.deepEqual(parseRunFilter("datasets.context = 'training'"), [
      { entity: 'dataset', key: 'context', comparator: '=', value: 'training' },
    ]);
  });

  test('three clauses with mixed-case AND keywords are all kept in order', () => {
    const clauses = parseRunFilter("metrics.rmse < 1 AND tags.team = 'ml' And status = 'FINISHED'");
    assert.deepEqual(
      clauses.map((c) => `${c.entity}:${c.key}`),
      ['metric:rmse', 'tag:team', 'attribute:status'],
    );
  });

  test('whitespace may appear anywhere between tokens, including none at all', () => {
    assert.deepEqual(parseRunFilter("  metrics.a>1\n\tAND   params.b='x'  AND run_id IN('r1','r2')  "), [
      { entity: 'metric', key: 'a', comparator: '>', value: 1 },
      { entity: 'param', key: 'b', comparator: '=', value: 'x' },
      { entity: 'attribute', key: 'run_id', comparator: 'IN', value: ['r1', 'r2'] },
    ]);
  });

  test('leading and trailing AND keywords are ignored like upstream ignores them', () => {
    assert.deepEqual(parseRunFilter("AND metrics.a = 1 AND"), [
      { entity: 'metric', key: 'a', comparator: '=', value: 1 },
    ]);
  });
});

describe('parseRunFilter: entity prefixes', () => {
  const aliases: Array<[string, string, string]> = [
    ['metric', 'metric', 'metric.m > 1'],
    ['metrics', 'metric', 'metrics.m > 1'],
    ['parameter', 'param', "parameter.m = 'x'"],
    ['parameters', 'param', "parameters.m = 'x'"],
    ['param', 'param', "param.m = 'x'"],
    ['params', 'param', "params.m = 'x'"],
    ['tag', 'tag', "tag.m = 'x'"],
    ['tags', 'tag', "tags.m = 'x'"],
    ['dataset', 'dataset', "dataset.name = 'x'"],
    ['datasets', 'dataset', "datasets.name = 'x'"],
  ];
  for (const [prefix, entity, filter] of aliases) {
    test(`the '${prefix}' prefix resolves to the ${entity} entity`, () => {
      const [clause] = parseRunFilter(filter);
      assert.equal(clause?.entity, entity);
    });
  }

  for (const prefix of ['attribute', 'attributes', 'attr', 'run']) {
    test(`the '${prefix}' prefix resolves to the attribute entity`, () => {
      assert.deepEqual(parseRunFilter(`${prefix}.status = 'RUNNING'`), [
        { entity: 'attribute', key: 'status', comparator: '=', value: 'RUNNING' },
      ]);
    });
  }

  test('an identifier without a prefix is an attribute', () => {
    assert.deepEqual(parseRunFilter("user_id = 'alice'"), [
      { entity: 'attribute', key: 'user_id', comparator: '=', value: 'alice' },
    ]);
  });

  test('a backtick-quoted prefix is accepted like a bare one', () => {
    assert.equal(parseRunFilter('`metrics`.a > 1')[0]?.entity, 'metric');
  });

  test('an unknown prefix is rejected with the list of valid entity types', () => {
    assertInvalid(
      () => parseRunFilter("foo.bar = 'x'"),
      "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']",
    );
  });

  test('entity prefixes are case-sensitive as upstream', () => {
    assertInvalid(() => parseRunFilter('METRICS.a > 1'), /^Invalid entity type 'METRICS'/);
  });
});

describe('parseRunFilter: keys and quoting', () => {
  test('a key is split from its prefix on the first dot only', () => {
    assert.deepEqual(parseRunFilter('metrics.a.b.c >= 2'), [
      { entity: 'metric', key: 'a.b.c', comparator: '>=', value: 2 },
    ]);
  });

  test('a backtick-quoted key may contain spaces', () => {
    assert.equal(parseRunFilter("params.`my param` = 'v'")[0]?.key, 'my param');
  });

  test('a double-quoted key may contain dots', () => {
    assert.equal(parseRunFilter(`tags."mlflow.user" = 'bob'`)[0]?.key, 'mlflow.user');
  });

  test('a backtick-quoted key may contain dots and hyphens', () => {
    assert.equal(parseRunFilter('metrics.`val-loss.epoch` < 0.1')[0]?.key, 'val-loss.epoch');
  });

  test('single- and double-quoted values are both strings', () => {
    assert.deepEqual(
      parseRunFilter(`params.a = 'x' AND params.b = "y"`).map((c) => c.value),
      ['x', 'y'],
    );
  });

  test('a quote is escaped by doubling it inside single or double quotes', () => {
    assert.deepEqual(
      parseRunFilter(`tags.a = 'it''s' AND tags.b = "say ""hi"""`).map((c) => c.value),
      ["it's", 'say "hi"'],
    );
  });

  test('a quote is escaped with a backslash inside single or double quotes', () => {
    assert.deepEqual(
      parseRunFilter(String.raw`tags.a = 'it\'s' AND tags.b = "say \"hi\""`).map((c) => c.value),
      ["it's", 'say "hi"'],
    );
  });

  test('the other quote character needs no escaping inside a string', () => {
    assert.deepEqual(
      parseRunFilter(`tags.a = "it's" AND tags.b = 'say "hi"'`).map((c) => c.value),
      ["it's", 'say "hi"'],
    );
  });

  test('an empty quoted string is a valid value', () => {
    assert.equal(parseRunFilter("tags.note = ''")[0]?.value, '');
  });

  test('LIKE wildcards are passed through untouched', () => {
    assert.deepEqual(parseRunFilter("params.model LIKE 'res_et%'"), [
      { entity: 'param', key: 'model', comparator: 'LIKE', value: 'res_et%' },
    ]);
  });
});

describe('parseRunFilter: numeric literals', () => {
  const literals: Array<[string, number]> = [
    ['0', 0],
    ['42', 42],
    ['-1', -1],
    ['0.75', 0.75],
    ['.5', 0.5],
    ['-0.5', -0.5],
    ['1e3', 1000],
    ['2.5E-3', 0.0025],
    ['-1.5e+2', -150],
  ];
  for (const [literal, value] of literals) {
    test(`the metric literal ${literal} is read as the number ${value}`, () => {
      assert.equal(parseRunFilter(`metrics.loss <= ${literal}`)[0]?.value, value);
    });
  }
});

describe('parseRunFilter: comparators', () => {
  for (const op of ['=', '!=', '<', '<=', '>', '>=']) {
    test(`a metric compared with '${op}' keeps that comparator`, () => {
      assert.deepEqual(parseRunFilter(`metrics.acc ${op} 0.5`), [
        { entity: 'metric', key: 'acc', comparator: op, value: 0.5 },
      ]);
    });
    test(`the numeric start_time attribute accepts '${op}'`, () => {
      assert.equal(parseRunFilter(`start_time ${op} 1700000000000`)[0]?.comparator, op);
    });
    test(`the numeric end_time attribute accepts '${op}'`, () => {
      assert.equal(parseRunFilter(`attributes.end_time ${op} 5`)[0]?.comparator, op);
    });
  }

  for (const op of ['=', '!=', 'LIKE', 'ILIKE']) {
    test(`a param compared with ${op} is accepted`, () => {
      assert.equal(parseRunFilter(`params.p ${op} 'v'`)[0]?.comparator, op);
    });
    test(`a tag compared with ${op} is accepted`, () => {
      assert.equal(parseRunFilter(`tags.t ${op} 'v'`)[0]?.comparator, op);
    });
    test(`a string attribute compared with ${op} is accepted`, () => {
      assert.equal(parseRunFilter(`artifact_uri ${op} 'v'`)[0]?.comparator, op);
    });
  }

  test('comparator keywords are case-insensitive and normalised to upper case', () => {
    assert.deepEqual(
      parseRunFilter("tags.a like 'x%' AND tags.b IlIkE 'y' AND run_id in ('r') AND run_id not   in ('s')").map(
        (c) => c.comparator,
      ),
      ['LIKE', 'ILIKE', 'IN', 'NOT IN'],
    );
  });

  test('run_id accepts NOT IN with a list of quoted strings', () => {
    assert.deepEqual(parseRunFilter(`run_id NOT IN ("a1", 'b2')`), [
      { entity: 'attribute', key: 'run_id', comparator: 'NOT IN', value: ['a1', 'b2'] },
    ]);
  });

  for (const op of ['=', '!=', 'LIKE', 'ILIKE']) {
    for (const key of ['name', 'digest', 'context']) {
      test(`a dataset ${key} compared with ${op} is accepted`, () => {
        assert.deepEqual(parseRunFilter(`dataset.${key} ${op} 'v'`), [
          { entity: 'dataset', key, comparator: op, value: 'v' },
        ]);
      });
    }
  }

  test('dataset fields accept IN and NOT IN lists', () => {
    assert.deepEqual(parseRunFilter("datasets.name IN ('Iris', 'wine') AND datasets.digest NOT IN ('d1')"), [
      { entity: 'dataset', key: 'name', comparator: 'IN', value: ['Iris', 'wine'] },
      { entity: 'dataset', key: 'digest', comparator: 'NOT IN', value: ['d1'] },
    ]);
  });

  test('a metric compared with LIKE is rejected with the numeric comparator list', () => {
    assertInvalid(() => parseRunFilter('metrics.a LIKE 1'), `Invalid comparator 'LIKE' not one of '${NUMERIC}'`);
  });

  test('a param compared with > is rejected with the string comparator list', () => {
    assertInvalid(() => parseRunFilter("params.a > 'x'"), `Invalid comparator '>' not one of '${STRING}'`);
  });

  test('a tag compared with <= is rejected with the string comparator list', () => {
    assertInvalid(() => parseRunFilter("tags.a <= 'x'"), `Invalid comparator '<=' not one of '${STRING}'`);
  });

  test('a string attribute compared with < is rejected with the string attribute comparator list', () => {
    assertInvalid(() => parseRunFilter("status < 'x'"), `Invalid comparator '<' not one of '${STRING_LIST}'`);
  });

  test('a numeric attribute compared with LIKE is rejected with the numeric comparator list', () => {
    assertInvalid(() => parseRunFilter('start_time LIKE 5'), `Invalid comparator 'LIKE' not one of '${NUMERIC}'`);
  });

  test('a dataset field compared with > is rejected with the dataset comparator list', () => {
    assertInvalid(() => parseRunFilter("dataset.name > 'x'"), `Invalid comparator '>' not one of '${STRING_LIST}'`);
  });

  test('an unknown operator such as == is rejected as an invalid comparator', () => {
    assertInvalid(() => parseRunFilter('metrics.a == 1'), `Invalid comparator '==' not one of '${NUMERIC}'`);
  });

  test('the SQL inequality <> is rejected as an invalid comparator', () => {
    assertInvalid(() => parseRunFilter("tags.a <> 'x'"), `Invalid comparator '<>' not one of '${STRING}'`);
  });

  test('comparators are checked after every clause value, as upstream orders its checks', () => {
    // Clause 1 has a bad comparator, clause 2 a bad value: the value error wins.
    assertInvalid(
      () => parseRunFilter("params.a > 'x' AND metrics.b = 'y'"),
      "Expected numeric value type for metric. Found 'y'",
    );
  });
});

describe('parseRunFilter: attributes', () => {
  for (const alias of ['created', 'Created']) {
    test(`the '${alias}' alias resolves to start_time`, () => {
      assert.deepEqual(parseRunFilter(`${alias} > 100`), [
        { entity: 'attribute', key: 'start_time', comparator: '>', value: 100 },
      ]);
    });
  }

  for (const alias of ['run name', 'Run name', 'Run Name']) {
    test(`the quoted '${alias}' alias resolves to run_name`, () => {
      assert.deepEqual(parseRunFilter(`attributes.\`${alias}\` = 'good-run'`), [
        { entity: 'attribute', key: 'run_name', comparator: '=', value: 'good-run' },
      ]);
      assert.equal(parseRunFilter(`"${alias}" LIKE 'good%'`)[0]?.key, 'run_name');
    });
  }

  for (const key of ['run_id', 'run_name', 'status', 'user_id', 'artifact_uri']) {
    test(`the string attribute ${key} is filterable`, () => {
      assert.deepEqual(parseRunFilter(`${key} != 'x'`), [{ entity: 'attribute', key, comparator: '!=', value: 'x' }]);
    });
  }

  test('run ids containing upper-case letters are dropped from an IN list as upstream does', () => {
    assert.deepEqual(parseRunFilter("run_id IN ('abc', 'ABC', 'aBc', 'a1')")[0]?.value, ['abc', 'a1']);
  });

  test('an unknown attribute key is rejected with the list of valid keys', () => {
    assertInvalid(() => parseRunFilter("foo = 'x'"), `Invalid attribute key 'foo' specified. Valid keys are '${RUN_KEYS}'`);
  });

  test('experiment_id and lifecycle_stage are not filterable attributes', () => {
    assertInvalid(() => parseRunFilter("experiment_id = '0'"), /^Invalid attribute key 'experiment_id' specified/);
    assertInvalid(() => parseRunFilter("attr.lifecycle_stage = 'active'"), /^Invalid attribute key 'lifecycle_stage'/);
  });

  test('the run name alias is case-sensitive beyond its three listed spellings', () => {
    assertInvalid(() => parseRunFilter("`RUN NAME` = 'x'"), /^Invalid attribute key 'RUN NAME' specified/);
  });

  test('an unquoted multi-word run name alias cannot be parsed as one identifier', () => {
    assertInvalid(() => parseRunFilter("run name = 'x'"), "Invalid clause(s) in filter string: 'run'");
  });
});

describe('parseRunFilter: value type errors', () => {
  test('a metric clause with a string value is rejected with MLflow\'s message', () => {
    assertInvalid(() => parseRunFilter("metrics.acc > '0.5'"), "Expected numeric value type for metric. Found '0.5'");
  });

  test('a metric clause with an unquoted word is rejected as non-numeric', () => {
    assertInvalid(() => parseRunFilter('metrics.acc > high'), 'Expected numeric value type for metric. Found high');
  });

  test('a metric clause with an IN list is rejected as non-numeric', () => {
    assertInvalid(() => parseRunFilter("metrics.acc IN ('1')"), "Expected numeric value type for metric. Found ('1')");
  });

  test('a param clause with an unquoted value is rejected as not quoted', () => {
    assertInvalid(
      () => parseRunFilter('params.penalty = l2'),
      'Parameter value is either not quoted or unidentified quote types used for string value l2. Use either single or double quotes.',
    );
  });

  test('a tag clause with a backtick-quoted value is rejected as not quoted', () => {
    assertInvalid(
      () => parseRunFilter('tags.team = `ml`'),
      'Parameter value is either not quoted or unidentified quote types used for string value `ml`. Use either single or double quotes.',
    );
  });

  test('a param clause with a number is rejected as needing a quoted string', () => {
    assertInvalid(
      () => parseRunFilter('params.lr = 0.1'),
      "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 0.1",
    );
  });

  test('a tag clause with a list is rejected as needing a quoted string', () => {
    assertInvalid(
      () => parseRunFilter("tags.t IN ('a')"),
      "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('a')",
    );
  });

  test('a string attribute with a number is rejected as needing a quoted string', () => {
    assertInvalid(() => parseRunFilter('status = 1'), 'Expected a quoted string value for attributes. Got value 1');
  });

  test('a string attribute with an unquoted word is rejected as not quoted', () => {
    assertInvalid(() => parseRunFilter('status = FINISHED'), /^Parameter value is either not quoted .* FINISHED\. Use/);
  });

  test('a numeric attribute with a quoted value is rejected as non-numeric', () => {
    assertInvalid(
      () => parseRunFilter("created > '2024'"),
      "Expected numeric value type for numeric attribute: created. Found '2024'",
    );
  });

  test('a list on an attribute other than run_id is rejected with MLflow\'s message', () => {
    assertInvalid(
      () => parseRunFilter("status IN ('FINISHED', 'FAILED')"),
      "Only the 'run_id' attribute supports comparison with a list of quoted string values.",
    );
  });

  test('a dataset field with a number is rejected as needing a quoted string', () => {
    assertInvalid(() => parseRunFilter('dataset.digest = 5'), 'Expected a quoted string value for dataset attributes. Got value 5');
  });

  test('an unknown dataset field is rejected with the valid dataset keys', () => {
    assertInvalid(
      () => parseRunFilter("dataset.source = 'x'"),
      "Invalid dataset key 'source' specified. Valid keys are '['name', 'digest', 'context']'",
    );
  });

  test('an empty IN list is rejected', () => {
    assertInvalid(
      () => parseRunFilter('run_id IN ()'),
      'While parsing a list in the query, expected a non-empty list of string values, but got empty list',
    );
  });

  test('an IN list holding a number is rejected as a list of the wrong type', () => {
    assertInvalid(
      () => parseRunFilter("run_id IN ('a', 1)"),
      "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: ('a', 1)",
    );
  });

  test('an IN list missing a comma is rejected as ill-formed', () => {
    assertInvalid(
      () => parseRunFilter("run_id IN ('a' 'b')"),
      'While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.',
    );
  });

  test('an IN list with a doubled comma is rejected as ill-formed', () => {
    assertInvalid(() => parseRunFilter("run_id IN ('a',, 'b')"), /got ill-formed list\.$/);
  });

  test('an IN list may end with one trailing comma, as a Python tuple may', () => {
    assert.deepEqual(parseRunFilter("run_id IN ('a',)")[0]?.value, ['a']);
  });
});

describe('parseRunFilter: structural errors', () => {
  test('OR is rejected and named as the invalid clause', () => {
    assertInvalid(() => parseRunFilter('metrics.a > 1 OR metrics.b < 2'), "Invalid clause(s) in filter string: 'OR'");
  });

  test('parentheses used for grouping are rejected as one invalid clause', () => {
    assertInvalid(
      () => parseRunFilter("(metrics.a > 1 AND params.b = 'x')"),
      "Invalid clause(s) in filter string: '(metrics.a > 1 AND params.b = 'x')'",
    );
  });

  test('a leading NOT is rejected while NOT IN is accepted', () => {
    assertInvalid(() => parseRunFilter('NOT metrics.a > 1'), "Invalid clause(s) in filter string: 'NOT'");
  });

  test('NOT LIKE is not a comparator and is rejected', () => {
    assertInvalid(
      () => parseRunFilter("tags.a NOT LIKE 'x'"),
      "Invalid clause(s) in filter string: 'tags.a', 'NOT', 'LIKE', ''x''",
    );
  });

  test('IS NULL is not supported', () => {
    assertInvalid(() => parseRunFilter('tags.a IS NULL'), "Invalid clause(s) in filter string: 'tags.a', 'IS', 'NULL'");
  });

  test('two comparisons without AND between them are rejected', () => {
    assertInvalid(() => parseRunFilter("metrics.a > 1 params.b = 'x'"), "Invalid clause(s) in filter string: 'params.b = 'x''");
  });

  test('a comparison missing its value is rejected', () => {
    assertInvalid(() => parseRunFilter('metrics.a >'), "Invalid clause(s) in filter string: 'metrics.a', '>'");
  });

  test('IN without a parenthesised list is rejected', () => {
    assertInvalid(() => parseRunFilter("run_id IN 'a'"), "Invalid clause(s) in filter string: 'run_id', 'IN', ''a''");
  });

  test('an unterminated string makes the whole filter unparseable', () => {
    assertInvalid(() => parseRunFilter("params.a = 'x"), "Invalid filter 'params.a = 'x'. Could not be parsed.");
  });

  test('semicolon-separated statements are rejected as multiple expressions', () => {
    assertInvalid(
      () => parseRunFilter('metrics.a > 1; metrics.b > 2'),
      "Search filter contained multiple expression 'metrics.a > 1; metrics.b > 2'. Provide AND-ed expression list.",
    );
  });
});

describe('parseRunOrderBy', () => {
  test('an absent or empty order_by yields no clauses', () => {
    assert.deepEqual(parseRunOrderBy(undefined), []);
    assert.deepEqual(parseRunOrderBy([]), []);
  });

  test('a metric ordering with DESC is descending', () => {
    assert.deepEqual(parseRunOrderBy(['metrics.rmse DESC']), [{ entity: 'metric', key: 'rmse', ascending: false }]);
  });

  test('an ordering without a direction is ascending', () => {
    assert.deepEqual(parseRunOrderBy(['params.lr']), [{ entity: 'param', key: 'lr', ascending: true }]);
  });

  test('direction words are case-insensitive', () => {
    assert.deepEqual(
      parseRunOrderBy(['tags.x asc', 'tags.y desc', 'tags.z Desc']).map((o) => o.ascending),
      [true, false, false],
    );
  });

  test('attribute orderings accept a prefix, no prefix and aliases', () => {
    assert.deepEqual(parseRunOrderBy(['attributes.start_time', 'end_time DESC', 'created', '`Run name` ASC', 'status']), [
      { entity: 'attribute', key: 'start_time', ascending: true },
      { entity: 'attribute', key: 'end_time', ascending: false },
      { entity: 'attribute', key: 'start_time', ascending: true },
      { entity: 'attribute', key: 'run_name', ascending: true },
      { entity: 'attribute', key: 'status', ascending: true },
    ]);
  });

  test('quoted keys with spaces and dots are accepted in order_by', () => {
    assert.deepEqual(parseRunOrderBy(['params.`my param` DESC', 'tags."mlflow.user"', 'metrics.a.b']), [
      { entity: 'param', key: 'my param', ascending: false },
      { entity: 'tag', key: 'mlflow.user', ascending: true },
      { entity: 'metric', key: 'a.b', ascending: true },
    ]);
  });

  test('an unknown direction is rejected as an invalid ordering key', () => {
    assertInvalid(() => parseRunOrderBy(['metrics.rmse DOWN']), "Invalid ordering key in order_by clause 'metrics.rmse DOWN'.");
  });

  test('extra tokens after the direction make the clause unparseable', () => {
    assertInvalid(() => parseRunOrderBy(['metrics.rmse DESC NULLS']), "Invalid order_by clause 'metrics.rmse DESC NULLS'. Could not be parsed.");
  });

  test('an empty order_by entry cannot be parsed', () => {
    assertInvalid(() => parseRunOrderBy(['']), "Invalid order_by clause ''. Could not be parsed.");
  });

  test('an order_by entry that does not start with an identifier cannot be parsed', () => {
    assertInvalid(() => parseRunOrderBy(["'start_time' DESC"]), "Invalid order_by clause ''start_time' DESC'. Could not be parsed.");
  });

  test('an unknown attribute in order_by is rejected with the valid keys', () => {
    assertInvalid(() => parseRunOrderBy(['experiment_id']), `Invalid attribute key 'experiment_id' specified. Valid keys are '${RUN_KEYS}'`);
  });

  test('an unknown entity prefix in order_by is rejected', () => {
    assertInvalid(() => parseRunOrderBy(['foo.bar']), /^Invalid entity type 'foo'/);
  });

  test('datasets cannot be ordered by', () => {
    assertInvalid(() => parseRunOrderBy(['datasets.name']), "Invalid order_by entity type 'dataset'");
  });
});
