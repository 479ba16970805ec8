import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MlflowError } from '../errors.ts';
import {
  applyPromptRule,
  canonicalStage,
  isPromptTagged,
  parseVersion,
  validateAliasName,
  validateModelName,
  validateNewAliasName,
  validateRegistryMaxResults,
  validateTag,
  validateTagKey,
} from './validation.ts';
import { checkSourcePath, parseModelsUri, parseRunsUri, uriScheme } from './source-uri.ts';
import type { FilterClause } from '../search/types.ts';

function assertInvalid(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MlflowError, String(error));
    assert.equal(error.code, 'INVALID_PARAMETER_VALUE');
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

describe('validateModelName', () => {
  test('ordinary names, spaces and dots inside are fine', () => {
    for (const name of ['churn', 'Churn Model v2', 'a.b-c_d', 'm@x', 'ünïcode']) assert.equal(validateModelName(name), name);
  });

  test('missing, empty and blank names are a missing parameter', () => {
    for (const name of [undefined, null, '', '  ']) assertInvalid(() => validateModelName(name), /^Missing value for required parameter 'name'/);
    assertInvalid(() => validateModelName('', 'new_name'), /^Missing value for required parameter 'new_name'/);
  });

  test('slashes and colons would clash with models:/ URIs', () => {
    assertInvalid(() => validateModelName('a/b'), "Invalid model name 'a/b'. Names cannot contain '/' or ':'.");
    assertInvalid(() => validateModelName('a:b'), "Invalid model name 'a:b'. Names cannot contain '/' or ':'.");
  });

  test('names that resolve to other paths are refused with the resolved form', () => {
    assertInvalid(() => validateModelName('.'), /This name would resolve to '\.'$/);
    assertInvalid(() => validateModelName('..'), /This name would resolve to '\.\.'$/);
    assertInvalid(() => validateModelName('..hidden'), /^Invalid value "\.\.hidden" for parameter 'name' supplied: Names may be treated as files/);
  });

  test('names longer than 256 characters are refused', () => {
    assert.equal(validateModelName('x'.repeat(256)).length, 256);
    assertInvalid(() => validateModelName('x'.repeat(257)), "'name' exceeds the maximum length of 256 characters");
  });
});

describe('parseVersion', () => {
  test('integer strings and numbers are versions', () => {
    assert.equal(parseVersion('1'), 1);
    assert.equal(parseVersion(' 12 '), 12);
    assert.equal(parseVersion(7), 7);
    assert.equal(parseVersion('+3'), 3);
  });

  test('anything else is an MLflow integer error, and zero or negatives are not positive', () => {
    assertInvalid(() => parseVersion('abc'), "Parameter 'version' must be an integer, got 'abc'.");
    assertInvalid(() => parseVersion('1.0'), "Parameter 'version' must be an integer, got '1.0'.");
    assertInvalid(() => parseVersion('latest'), "Parameter 'version' must be an integer, got 'latest'.");
    assertInvalid(() => parseVersion('0'), "Parameter 'version' must be a positive integer, got '0'.");
    assertInvalid(() => parseVersion('-1'), "Parameter 'version' must be a positive integer, got '-1'.");
    assertInvalid(() => parseVersion('99999999999999999999'), /must be a positive integer/);
    assertInvalid(() => parseVersion(undefined), /^Missing value for required parameter 'version'/);
  });
});

describe('alias names', () => {
  test('word characters and dashes are valid, in any script', () => {
    for (const alias of ['prod', 'Champion_2', 'a-b', 'v1-candidate', 'vX', 'production', 'prüfung']) assert.equal(validateNewAliasName(alias), alias);
  });

  test('latest in any case and v<digits> are reserved for setting, but may be looked up', () => {
    assertInvalid(() => validateNewAliasName('latest'), "'latest' alias name (case insensitive) is reserved.");
    assertInvalid(() => validateNewAliasName('LATEST'), "'latest' alias name (case insensitive) is reserved.");
    assertInvalid(() => validateNewAliasName('v3'), "Version alias name 'v3' is reserved.");
    assertInvalid(() => validateNewAliasName('V10'), "Version alias name 'V10' is reserved.");
    assert.equal(validateAliasName('latest'), 'latest');
    assert.equal(validateAliasName('v3'), 'v3');
  });

  test('empty, oddly spelled and over-long aliases are refused', () => {
    assertInvalid(() => validateAliasName(''), 'Registered model alias name cannot be empty.');
    assertInvalid(() => validateAliasName('a b'), "Invalid alias name: 'a b'. Names may only contain alphanumerics, underscores (_), and dashes (-).");
    assertInvalid(() => validateAliasName('a/b'), /^Invalid alias name: 'a\/b'/);
    assertInvalid(() => validateAliasName('a'.repeat(256)), "'Registered model alias name' exceeds the maximum length of 255 characters");
  });
});

describe('registry tags', () => {
  test('keys follow MLflow name rules and the 250 limit; values may be up to 100000 characters', () => {
    assert.deepEqual(validateTag({ key: 'mlflow.prompt.is_prompt', value: 'true' }), { key: 'mlflow.prompt.is_prompt', value: 'true' });
    assert.equal(validateTag({ key: 'k', value: 'v'.repeat(100_000) }).value.length, 100_000);
    assertInvalid(() => validateTag({ key: 'k', value: 'v'.repeat(100_001) }), "'value' exceeds the maximum length of 100000 characters");
    assertInvalid(() => validateTagKey('k'.repeat(251)), "'key' exceeds the maximum length of 250 characters");
    assertInvalid(() => validateTagKey('a$b'), /^Invalid value "a\$b" for parameter 'key' supplied: Names may only contain/);
    assertInvalid(() => validateTagKey('a/../b'), /This name would resolve to 'b'$/);
    assertInvalid(() => validateTagKey(''), /^Missing value for required parameter 'key'/);
  });

  test('a model is a prompt only when its last prompt tag says true', () => {
    assert.equal(isPromptTagged([{ key: 'mlflow.prompt.is_prompt', value: 'TRUE' }]), true);
    assert.equal(isPromptTagged([{ key: 'mlflow.prompt.is_prompt', value: 'false' }]), false);
    assert.equal(isPromptTagged([]), false);
  });
});

describe('canonicalStage', () => {
  test('stages are matched case-insensitively and returned in MLflow spelling', () => {
    assert.equal(canonicalStage('production'), 'Production');
    assert.equal(canonicalStage('STAGING'), 'Staging');
    assert.equal(canonicalStage('none'), 'None');
    assert.equal(canonicalStage('archived'), 'Archived');
    assertInvalid(() => canonicalStage('Deleted_Internal'), 'Invalid Model Version stage: Deleted_Internal. Value must be one of None, Staging, Production, Archived.');
  });
});

describe('validateRegistryMaxResults', () => {
  test('bounds are 1 and the threshold, with MLflow messages', () => {
    validateRegistryMaxResults(1, 1000);
    validateRegistryMaxResults(1000, 1000);
    assertInvalid(() => validateRegistryMaxResults(1001, 1000), 'Invalid value for request parameter max_results. It must be at most 1000, but got value 1001');
    assertInvalid(() => validateRegistryMaxResults(0, 1000), 'Invalid value for max_results. It must be a positive integer, but got 0');
  });
});

describe('applyPromptRule', () => {
  const name: FilterClause = { entity: 'attribute', key: 'name', comparator: '=', value: 'm' };
  const prompt = (comparator: FilterClause['comparator'], value: string): FilterClause => ({
    entity: 'tag',
    key: 'mlflow.prompt.is_prompt',
    comparator,
    value,
  });

  test("the client's != 'true' clause becomes the prompt exclusion, so untagged models match", () => {
    assert.deepEqual(applyPromptRule([name, prompt('!=', 'true')]), { clauses: [name], excludePrompts: true });
    assert.deepEqual(applyPromptRule([prompt('=', 'false')]), { clauses: [], excludePrompts: true });
  });

  test('a search without the prompt tag excludes prompts too, as upstream', () => {
    assert.deepEqual(applyPromptRule([name]), { clauses: [name], excludePrompts: true });
  });

  test("= 'true' and != 'false' ask for prompts: clauses apply as written", () => {
    assert.deepEqual(applyPromptRule([prompt('=', 'True')]), { clauses: [prompt('=', 'True')], excludePrompts: false });
    assert.deepEqual(applyPromptRule([name, prompt('!=', 'false')]), { clauses: [name, prompt('!=', 'false')], excludePrompts: false });
  });
});

describe('model version sources', () => {
  test('schemes are read case-insensitively; drive letters and plain paths have none', () => {
    assert.equal(uriScheme('models:/m-1'), 'models');
    assert.equal(uriScheme('RUNS:/abc/model'), 'runs');
    assert.equal(uriScheme('mlflow-artifacts:/0/x'), 'mlflow-artifacts');
    assert.equal(uriScheme('C:\\models\\m'), '');
    assert.equal(uriScheme('/srv/models'), '');
  });

  test('models:/ URIs name a logged model, a version, latest, a stage or an alias', () => {
    assert.deepEqual(parseModelsUri(`models:/m-${'a'.repeat(32)}`), { kind: 'logged-model', modelId: `m-${'a'.repeat(32)}` });
    assert.deepEqual(parseModelsUri('models:/churn/3'), { kind: 'version', name: 'churn', version: 3 });
    assert.deepEqual(parseModelsUri('models:/churn/Latest'), { kind: 'latest', name: 'churn' });
    assert.deepEqual(parseModelsUri('models:/churn/Production'), { kind: 'stage', name: 'churn', stage: 'Production' });
    assert.deepEqual(parseModelsUri('models:/churn@champion'), { kind: 'alias', name: 'churn', alias: 'champion' });
    assertInvalid(() => parseModelsUri('models://other-registry/churn/1'), /Registered model sources must use the active model registry\.$/);
    assertInvalid(() => parseModelsUri('models:/a/b/c'), /The model_id request parameter must identify/);
  });

  test('runs:/ URIs give the run and the path inside it', () => {
    assert.deepEqual(parseRunsUri('runs:/abc/model'), { runId: 'abc', path: 'model' });
    assert.deepEqual(parseRunsUri('runs:/abc/a/b/'), { runId: 'abc', path: 'a/b' });
    assert.deepEqual(parseRunsUri('runs:/abc'), { runId: 'abc', path: '' });
    assertInvalid(() => parseRunsUri('runs:/'), /The run_id request parameter must identify/);
  });

  test('relative path references are refused, however they are encoded', () => {
    checkSourcePath('s3://bucket/a..b/model');
    checkSourcePath('mlflow-artifacts:/0/run/artifacts/model');
    for (const source of ['s3://b/../x', 'mlflow-artifacts:/0/%2E%2E/x', 'file:///a/%252e%252e/b', 'x\\..\\y', 'a/b%00']) {
      assertInvalid(() => checkSourcePath(source), /relative path references present/);
    }
  });
});
