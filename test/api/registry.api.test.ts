import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './test-server.ts';

interface WireModel {
  name: string;
  latest_versions?: Array<{ version: string; current_stage: string }>;
  aliases?: Array<{ alias: string; version: string }>;
  tags?: Array<{ key: string; value: string }>;
}

const PROMPT_EXCLUSION = "tag.`mlflow.prompt.is_prompt` != 'true'";

describe('registered models API', () => {
  let t: TestServer;
  let source: string;

  before(async () => {
    t = await startTestServer();
    source = 's3://bucket/models/churn';
  });
  after(async () => {
    await t.close();
  });

  async function createModel(name: string, fields: Record<string, unknown> = {}): Promise<void> {
    const res = await t.call('POST', 'registered-models/create', { name, ...fields });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async function createVersion(name: string, fields: Record<string, unknown> = {}): Promise<string> {
    const res = await t.call('POST', 'model-versions/create', { name, source, ...fields });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.model_version.version as string;
  }

  async function modelNames(fields: Record<string, unknown>): Promise<string[]> {
    const res = await t.call('GET', 'registered-models/search', fields);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.registered_models ?? []).map((m: WireModel) => m.name);
  }

  test('a created model has its name, tags, description and timestamps, and no versions yet', async () => {
    const res = await t.call('POST', 'registered-models/create', {
      name: 'created',
      description: 'first model',
      tags: [{ key: 'team', value: 'risk' }, { key: 'empty' }],
    });
    assert.equal(res.status, 200);
    const model = res.body.registered_model;
    assert.equal(model.name, 'created');
    assert.equal(model.description, 'first model');
    assert.deepEqual(model.tags, [{ key: 'empty', value: '' }, { key: 'team', value: 'risk' }]);
    assert.equal(typeof model.creation_timestamp, 'number');
    assert.equal(model.last_updated_timestamp, model.creation_timestamp);
    assert.equal(model.latest_versions, undefined);
    assert.equal(model.aliases, undefined);
    const got = await t.call('GET', 'registered-models/get', { name: 'created' });
    assert.deepEqual(got.body.registered_model, model);
  });

  test('creating a model twice is RESOURCE_ALREADY_EXISTS with MLflow message, which the client swallows', async () => {
    await createModel('twice');
    const res = await t.call('POST', 'registered-models/create', { name: 'twice' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { error_code: 'RESOURCE_ALREADY_EXISTS', message: 'Registered Model (name=twice) already exists.' });
  });

  test('a prompt cannot take the name of a model', async () => {
    await createModel('taken');
    const res = await t.call('POST', 'registered-models/create', {
      name: 'taken',
      tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }],
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error_code, 'RESOURCE_ALREADY_EXISTS');
    assert.match(res.body.message, /^Tried to create a prompt with name 'taken', but the name is already taken by a registered model\./);
  });

  test('an unknown model is RESOURCE_DOES_NOT_EXIST with MLflow message', async () => {
    const res = await t.call('GET', 'registered-models/get', { name: 'nope' });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Registered Model with name=nope not found' });
  });

  test('invalid model names are rejected with MLflow messages and nothing is created', async () => {
    const cases: Array<[unknown, string]> = [
      [undefined, "Missing value for required parameter 'name'. See the API docs for more information about request parameters."],
      ['', "Missing value for required parameter 'name'. See the API docs for more information about request parameters."],
      ['   ', "Missing value for required parameter 'name'. See the API docs for more information about request parameters."],
      ['a/b', "Invalid model name 'a/b'. Names cannot contain '/' or ':'."],
      ['a:b', "Invalid model name 'a:b'. Names cannot contain '/' or ':'."],
      [
        '..x',
        "Invalid value \"..x\" for parameter 'name' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '..x'",
      ],
      ['x'.repeat(257), "'name' exceeds the maximum length of 256 characters"],
    ];
    for (const [name, message] of cases) {
      const res = await t.call('POST', 'registered-models/create', name === undefined ? {} : { name });
      assert.equal(res.status, 400, String(name));
      assert.deepEqual(res.body, { error_code: 'INVALID_PARAMETER_VALUE', message });
    }
    assert.deepEqual(await modelNames({ filter: "name LIKE 'a%'" }), []);
  });

  test('invalid tags are rejected with MLflow messages', async () => {
    const bad = await t.call('POST', 'registered-models/create', { name: 'badtag', tags: [{ key: 'a@b', value: 'v' }] });
    assert.equal(bad.status, 400);
    assert.equal(
      bad.body.message,
      'Invalid value "a@b" for parameter \'key\' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).',
    );
    const long = await t.call('POST', 'registered-models/create', { name: 'badtag', tags: [{ key: 'k'.repeat(251), value: 'v' }] });
    assert.equal(long.body.message, "'key' exceeds the maximum length of 250 characters");
    const longValue = await t.call('POST', 'registered-models/create', { name: 'badtag', tags: [{ key: 'k', value: 'v'.repeat(100_001) }] });
    assert.equal(longValue.body.message, "'value' exceeds the maximum length of 100000 characters");
    assert.equal((await t.call('GET', 'registered-models/get', { name: 'badtag' })).status, 404);
  });

  test('update sets the description and absent clears it', async () => {
    await createModel('described', { description: 'old' });
    const res = await t.call('PATCH', 'registered-models/update', { name: 'described', description: 'new' });
    assert.equal(res.status, 200);
    assert.equal(res.body.registered_model.description, 'new');
    assert.ok(res.body.registered_model.last_updated_timestamp >= res.body.registered_model.creation_timestamp);
    const cleared = await t.call('PATCH', 'registered-models/update', { name: 'described' });
    assert.equal(cleared.body.registered_model.description, undefined);
    assert.equal((await t.call('PATCH', 'registered-models/update', { name: 'nope', description: 'x' })).status, 404);
  });

  test('a rename moves versions, aliases and tags to the new name', async () => {
    await createModel('before-rename', { tags: [{ key: 'k', value: 'v' }] });
    await createVersion('before-rename');
    await createVersion('before-rename');
    await t.call('POST', 'registered-models/alias', { name: 'before-rename', alias: 'champion', version: '2' });
    const res = await t.call('POST', 'registered-models/rename', { name: 'before-rename', new_name: 'after-rename' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const model = res.body.registered_model as WireModel;
    assert.equal(model.name, 'after-rename');
    assert.deepEqual(model.tags, [{ key: 'k', value: 'v' }]);
    assert.deepEqual(model.aliases, [{ alias: 'champion', version: '2' }]);
    assert.equal((await t.call('GET', 'registered-models/get', { name: 'before-rename' })).status, 404);
    const version = await t.call('GET', 'model-versions/get', { name: 'after-rename', version: '2' });
    assert.equal(version.body.model_version.name, 'after-rename');
    assert.deepEqual(version.body.model_version.aliases, ['champion']);
    const byAlias = await t.call('GET', 'registered-models/alias', { name: 'after-rename', alias: 'champion' });
    assert.equal(byAlias.body.model_version.version, '2');
    // The next version continues the numbering.
    assert.equal(await createVersion('after-rename'), '3');
  });

  test('a rename onto an existing name is RESOURCE_ALREADY_EXISTS and changes nothing', async () => {
    await createModel('rename-a');
    await createModel('rename-b');
    const res = await t.call('POST', 'registered-models/rename', { name: 'rename-a', new_name: 'rename-b' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { error_code: 'RESOURCE_ALREADY_EXISTS', message: 'Registered Model (name=rename-b) already exists.' });
    assert.equal((await t.call('GET', 'registered-models/get', { name: 'rename-a' })).status, 200);
    const missing = await t.call('POST', 'registered-models/rename', { name: 'rename-a' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.message, "Missing value for required parameter 'new_name'. See the API docs for more information about request parameters.");
    const slash = await t.call('POST', 'registered-models/rename', { name: 'rename-a', new_name: 'x/y' });
    assert.equal(slash.body.message, "Invalid model name 'x/y'. Names cannot contain '/' or ':'.");
    assert.equal((await t.call('POST', 'registered-models/rename', { name: 'nope', new_name: 'z' })).status, 404);
  });

  test('deleting a model removes it with its versions, aliases and tags', async () => {
    await createModel('doomed', { tags: [{ key: 'k', value: 'v' }] });
    await createVersion('doomed');
    await t.call('POST', 'registered-models/alias', { name: 'doomed', alias: 'prod', version: '1' });
    const res = await t.call('DELETE', 'registered-models/delete', { name: 'doomed' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {});
    assert.equal((await t.call('GET', 'registered-models/get', { name: 'doomed' })).status, 404);
    const versions = await t.call('GET', 'model-versions/search', { filter: "name = 'doomed'" });
    assert.deepEqual(versions.body.model_versions ?? [], []);
    assert.equal((await t.call('DELETE', 'registered-models/delete', { name: 'doomed' })).status, 404);
    // The name is free again, and a new model starts at version 1.
    await createModel('doomed');
    assert.equal(await createVersion('doomed'), '1');
    const fresh = await t.call('GET', 'registered-models/get', { name: 'doomed' });
    assert.equal(fresh.body.registered_model.tags, undefined);
    assert.equal(fresh.body.registered_model.aliases, undefined);
  });

  test('model tags can be set, replaced and deleted; deleting a missing tag succeeds', async () => {
    await createModel('tagged');
    assert.equal((await t.call('POST', 'registered-models/set-tag', { name: 'tagged', key: 'k', value: 'v1' })).status, 200);
    await t.call('POST', 'registered-models/set-tag', { name: 'tagged', key: 'k', value: 'v2' });
    await t.call('POST', 'registered-models/set-tag', { name: 'tagged', key: 'novalue' });
    let model = (await t.call('GET', 'registered-models/get', { name: 'tagged' })).body.registered_model as WireModel;
    assert.deepEqual(model.tags, [{ key: 'k', value: 'v2' }, { key: 'novalue', value: '' }]);
    assert.equal((await t.call('DELETE', 'registered-models/delete-tag', { name: 'tagged', key: 'k' })).status, 200);
    assert.equal((await t.call('DELETE', 'registered-models/delete-tag', { name: 'tagged', key: 'k' })).status, 200);
    model = (await t.call('GET', 'registered-models/get', { name: 'tagged' })).body.registered_model as WireModel;
    assert.deepEqual(model.tags, [{ key: 'novalue', value: '' }]);
    assert.equal((await t.call('POST', 'registered-models/set-tag', { name: 'nope', key: 'k', value: 'v' })).status, 404);
    const noKey = await t.call('POST', 'registered-models/set-tag', { name: 'tagged', value: 'v' });
    assert.equal(noKey.status, 400);
    assert.match(noKey.body.message, /^Missing value for required parameter 'key'/);
  });

  describe('aliases', () => {
    before(async () => {
      await createModel('aliased');
      await createVersion('aliased');
      await createVersion('aliased');
    });

    test('an alias points at a version, can move, and shows on the model and the version', async () => {
      assert.equal((await t.call('POST', 'registered-models/alias', { name: 'aliased', alias: 'prod', version: '1' })).status, 200);
      let res = await t.call('GET', 'registered-models/alias', { name: 'aliased', alias: 'prod' });
      assert.equal(res.status, 200);
      assert.equal(res.body.model_version.version, '1');
      assert.deepEqual(res.body.model_version.aliases, ['prod']);
      await t.call('POST', 'registered-models/alias', { name: 'aliased', alias: 'prod', version: '2' });
      res = await t.call('GET', 'registered-models/alias', { name: 'aliased', alias: 'prod' });
      assert.equal(res.body.model_version.version, '2');
      const model = (await t.call('GET', 'registered-models/get', { name: 'aliased' })).body.registered_model as WireModel;
      assert.deepEqual(model.aliases, [{ alias: 'prod', version: '2' }]);
      assert.equal((await t.call('GET', 'model-versions/get', { name: 'aliased', version: '1' })).body.model_version.aliases, undefined);
    });

    test('a missing alias is 400 INVALID_PARAMETER_VALUE, not 404', async () => {
      const res = await t.call('GET', 'registered-models/alias', { name: 'aliased', alias: 'nope' });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { error_code: 'INVALID_PARAMETER_VALUE', message: 'Registered model alias nope not found.' });
    });

    test('the alias latest resolves to the highest version', async () => {
      const res = await t.call('GET', 'registered-models/alias', { name: 'aliased', alias: 'latest' });
      assert.equal(res.status, 200);
      assert.equal(res.body.model_version.version, '2');
    });

    test('reserved and malformed aliases are refused with MLflow messages', async () => {
      const cases: Array<[string, string]> = [
        ['latest', "'latest' alias name (case insensitive) is reserved."],
        ['LaTeSt', "'latest' alias name (case insensitive) is reserved."],
        ['v1', "Version alias name 'v1' is reserved."],
        ['V12', "Version alias name 'V12' is reserved."],
        ['has space', "Invalid alias name: 'has space'. Names may only contain alphanumerics, underscores (_), and dashes (-)."],
        ['a.b', "Invalid alias name: 'a.b'. Names may only contain alphanumerics, underscores (_), and dashes (-)."],
        ['a'.repeat(256), "'Registered model alias name' exceeds the maximum length of 255 characters"],
      ];
      for (const [alias, message] of cases) {
        const res = await t.call('POST', 'registered-models/alias', { name: 'aliased', alias, version: '1' });
        assert.equal(res.status, 400, alias);
        assert.deepEqual(res.body, { error_code: 'INVALID_PARAMETER_VALUE', message });
      }
      const empty = await t.call('POST', 'registered-models/alias', { name: 'aliased', alias: '', version: '1' });
      assert.equal(empty.body.message, 'Registered model alias name cannot be empty.');
      // v-prefixed words are fine; only v<digits> is reserved.
      assert.equal((await t.call('POST', 'registered-models/alias', { name: 'aliased', alias: 'v1-candidate', version: '1' })).status, 200);
      assert.equal((await t.call('POST', 'registered-models/alias', { name: 'aliased', alias: 'Champion_2', version: '1' })).status, 200);
    });

    test('an alias needs an existing model and version and an integer version', async () => {
      const noVersion = await t.call('POST', 'registered-models/alias', { name: 'aliased', alias: 'x', version: '99' });
      assert.equal(noVersion.status, 404);
      assert.deepEqual(noVersion.body, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Model Version (name=aliased, version=99) not found' });
      const badVersion = await t.call('POST', 'registered-models/alias', { name: 'aliased', alias: 'x', version: 'one' });
      assert.equal(badVersion.status, 400);
      assert.equal(badVersion.body.message, "Parameter 'version' must be an integer, got 'one'.");
      assert.equal((await t.call('POST', 'registered-models/alias', { name: 'nope', alias: 'x', version: '1' })).status, 404);
      assert.equal((await t.call('GET', 'registered-models/alias', { name: 'nope', alias: 'x' })).status, 404);
    });

    test('deleting an alias removes it; deleting a missing one succeeds', async () => {
      await t.call('POST', 'registered-models/alias', { name: 'aliased', alias: 'temp', version: '1' });
      assert.equal((await t.call('DELETE', 'registered-models/alias', { name: 'aliased', alias: 'temp' })).status, 200);
      assert.equal((await t.call('GET', 'registered-models/alias', { name: 'aliased', alias: 'temp' })).status, 400);
      assert.equal((await t.call('DELETE', 'registered-models/alias', { name: 'aliased', alias: 'temp' })).status, 200);
      assert.equal((await t.call('DELETE', 'registered-models/alias', { name: 'nope', alias: 'temp' })).status, 404);
    });
  });

  describe('get-latest-versions', () => {
    before(async () => {
      await createModel('staged');
      for (let i = 0; i < 5; i += 1) await createVersion('staged');
      await t.call('POST', 'model-versions/transition-stage', { name: 'staged', version: '1', stage: 'Production', archive_existing_versions: false });
      await t.call('POST', 'model-versions/transition-stage', { name: 'staged', version: '2', stage: 'production', archive_existing_versions: false });
      await t.call('POST', 'model-versions/transition-stage', { name: 'staged', version: '3', stage: 'Staging', archive_existing_versions: false });
    });

    function stageVersions(body: Record<string, unknown>): Array<[string, string]> {
      return ((body.model_versions ?? []) as Array<{ current_stage: string; version: string }>).map((v) => [v.current_stage, v.version]);
    }

    test('POST without stages returns the highest version of every stage, None included', async () => {
      const res = await t.call('POST', 'registered-models/get-latest-versions', { name: 'staged' });
      assert.equal(res.status, 200);
      assert.deepEqual(stageVersions(res.body), [['Production', '2'], ['Staging', '3'], ['None', '5']]);
    });

    test('requested stages are matched case-insensitively, and GET works too', async () => {
      const res = await t.call('POST', 'registered-models/get-latest-versions', { name: 'staged', stages: ['production', 'ARCHIVED'] });
      assert.deepEqual(stageVersions(res.body), [['Production', '2']]);
      const viaGet = await t.call('GET', 'registered-models/get-latest-versions', { name: 'staged', stages: 'Staging' });
      assert.equal(viaGet.status, 200);
      assert.deepEqual(stageVersions(viaGet.body), [['Staging', '3']]);
    });

    test('the model lists the same latest versions', async () => {
      const model = (await t.call('GET', 'registered-models/get', { name: 'staged' })).body.registered_model as WireModel;
      const latest = (model.latest_versions ?? []).map((v) => [v.current_stage, v.version]).sort();
      assert.deepEqual(latest, [['None', '5'], ['Production', '2'], ['Staging', '3']]);
    });

    test('an unknown stage or model is an error', async () => {
      const res = await t.call('POST', 'registered-models/get-latest-versions', { name: 'staged', stages: ['Prod'] });
      assert.equal(res.status, 400);
      assert.equal(res.body.message, 'Invalid Model Version stage: Prod. Value must be one of None, Staging, Production, Archived.');
      assert.equal((await t.call('POST', 'registered-models/get-latest-versions', { name: 'nope' })).status, 404);
    });
  });

  describe('search', () => {
    before(async () => {
      for (const name of ['search-alpha', 'search-beta', 'search-gamma', 'Search-Delta']) {
        await createModel(name, { tags: [{ key: 'group', value: name.slice(7) }] });
        // Distinct creation times, for the order_by test.
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
      await createModel('search-false-prompt', { tags: [{ key: 'mlflow.prompt.is_prompt', value: 'false' }] });
      await createModel('search-prompt', { tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }] });
    });

    test('the prompt exclusion the 3.x client appends matches models without the prompt tag', async () => {
      const names = await modelNames({ filter: `name LIKE 'search-%' AND ${PROMPT_EXCLUSION}` });
      assert.deepEqual(names, ['search-alpha', 'search-beta', 'search-false-prompt', 'search-gamma']);
      assert.deepEqual(
        await modelNames({ filter: "name LIKE 'search-%' AND tags.`mlflow.prompt.is_prompt` = 'false'" }),
        ['search-alpha', 'search-beta', 'search-false-prompt', 'search-gamma'],
      );
    });

    test('an unfiltered search lists every model but no prompt', async () => {
      const names = await modelNames({ filter: PROMPT_EXCLUSION });
      assert.ok(names.includes('search-alpha'));
      assert.ok(names.includes('created'));
      assert.ok(!names.includes('search-prompt'));
      assert.deepEqual(await modelNames({}), names);
    });

    test('searching for prompts returns only prompts', async () => {
      assert.deepEqual(await modelNames({ filter: "tags.`mlflow.prompt.is_prompt` = 'true'" }), ['search-prompt']);
    });

    test('name comparators: LIKE is case-sensitive, ILIKE is not, = and != are exact', async () => {
      assert.deepEqual(await modelNames({ filter: "name ILIKE 'search-%' AND name != 'search-false-prompt'" }), ['Search-Delta', 'search-alpha', 'search-beta', 'search-gamma']);
      assert.deepEqual(await modelNames({ filter: "name = 'search-beta'" }), ['search-beta']);
      assert.deepEqual(await modelNames({ filter: 'name = "search-beta"' }), ['search-beta']);
    });

    test('tag filters match on value, and a model without the tag never matches, even for !=', async () => {
      assert.deepEqual(await modelNames({ filter: "tags.group = 'beta'" }), ['search-beta']);
      assert.deepEqual(await modelNames({ filter: "tags.group != 'beta'" }), ['Search-Delta', 'search-alpha', 'search-gamma']);
      assert.deepEqual(await modelNames({ filter: "tag.group LIKE '%a'" }), ['Search-Delta', 'search-alpha', 'search-beta', 'search-gamma']);
    });

    test('order_by name DESC and timestamps work, with name as tie-breaker', async () => {
      assert.deepEqual(await modelNames({ filter: "name LIKE 'search-%'", order_by: ['name DESC'] }), [
        'search-gamma',
        'search-false-prompt',
        'search-beta',
        'search-alpha',
      ]);
      const byCreation = await modelNames({ filter: "tags.group LIKE '%'", order_by: ['creation_timestamp DESC'] });
      assert.deepEqual(byCreation, ['Search-Delta', 'search-gamma', 'search-beta', 'search-alpha']);
    });

    test('pages follow next_page_token until it is absent, without repeats', async () => {
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const res = await t.call('GET', 'registered-models/search', { filter: "name LIKE 'search-%'", max_results: 2, page_token: token });
        assert.equal(res.status, 200);
        seen.push(...res.body.registered_models.map((m: WireModel) => m.name));
        token = res.body.next_page_token;
        pages += 1;
      } while (token);
      assert.equal(pages, 2);
      assert.deepEqual(seen, ['search-alpha', 'search-beta', 'search-false-prompt', 'search-gamma']);
    });

    test('bad filters, order_by, tokens and max_results are 400 with MLflow messages', async () => {
      const cases: Array<[Record<string, unknown>, string | RegExp]> = [
        [{ filter: 'creation_timestamp > 1' }, "Invalid attribute key 'creation_timestamp' specified. Valid keys are '['name']'"],
        [{ filter: "name = 'a' OR name = 'b'" }, 'Invalid clause(s) in filter string: OR'],
        [{ filter: 'metrics.a > 1' }, "Invalid entity type 'metrics'. Valid entity types are ('attribute', 'tag', 'tags')"],
        [{ order_by: ['version_number'] }, /^Invalid attribute key 'version_number' specified/],
        [{ page_token: 'not a token!' }, 'Invalid page token, could not base64-decode'],
        [{ page_token: Buffer.from('nope').toString('base64') }, 'Invalid page token, decoded value=nope'],
        [{ max_results: 1001 }, 'Invalid value for request parameter max_results. It must be at most 1000, but got value 1001'],
        [{ max_results: 0 }, 'Invalid value for max_results. It must be a positive integer, but got 0'],
      ];
      for (const [fields, message] of cases) {
        const res = await t.call('GET', 'registered-models/search', fields);
        assert.equal(res.status, 400, JSON.stringify(fields));
        assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
        if (typeof message === 'string') assert.equal(res.body.message, message);
        else assert.match(res.body.message, message);
      }
    });
  });
});
