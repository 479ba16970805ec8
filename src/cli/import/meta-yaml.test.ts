import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMetaYaml } from './meta-yaml.ts';

test('a run meta.yaml as MLflow writes it is read with numbers, nulls and empty lists', () => {
  const meta = parseMetaYaml(
    [
      'artifact_uri: file:///tmp/mlruns/1/abc/artifacts',
      'end_time: 1700000000123',
      'entry_point_name: \'\'',
      'experiment_id: \'272675395948150691\'',
      'lifecycle_stage: active',
      'run_name: fit',
      'status: 3',
      'tags: []',
      'user_id: null',
      '',
    ].join('\n'),
  );
  assert.deepEqual(meta, {
    artifact_uri: 'file:///tmp/mlruns/1/abc/artifacts',
    end_time: 1700000000123,
    entry_point_name: '',
    experiment_id: '272675395948150691',
    lifecycle_stage: 'active',
    run_name: 'fit',
    status: 3,
    tags: [],
    user_id: null,
  });
});

test('long values folded onto continuation lines are joined back', () => {
  const meta = parseMetaYaml("description: a rather long description that PyYAML\n  wrapped onto the next line\nname: m\n");
  assert.equal(meta.description, 'a rather long description that PyYAML wrapped onto the next line');
  assert.equal(meta.name, 'm');
});

test('quoted values keep quotes, escapes and newlines', () => {
  const meta = parseMetaYaml(`a: 'it''s'\nb: "line1\\nline2 \\"q\\""\nc: "folded\n  \n  para"\n`);
  assert.equal(meta.a, "it's");
  assert.equal(meta.b, 'line1\nline2 "q"');
  assert.equal(meta.c, 'folded\npara');
});

test('a nested map (an input\'s tags, a model\'s aliases) becomes an object', () => {
  const meta = parseMetaYaml("aliases:\n  prod: '2'\n  champion: '1'\nname: m\ntags: {}\n");
  assert.deepEqual(meta.aliases, { prod: '2', champion: '1' });
  assert.deepEqual(meta.tags, {});
  assert.equal(meta.name, 'm');
});
