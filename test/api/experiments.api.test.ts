import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './test-server.ts';

describe('experiments API', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.close();
  });

  test('the Default experiment "0" exists in a new database', async () => {
    const res = await t.call('GET', 'experiments/get', { experiment_id: '0' });
    assert.equal(res.status, 200);
    assert.equal(res.body.experiment.experiment_id, '0');
    assert.equal(res.body.experiment.name, 'Default');
    assert.equal(res.body.experiment.artifact_location, 'mlflow-artifacts:/0');
    assert.equal(res.body.experiment.lifecycle_stage, 'active');
  });

  test('creating an experiment returns a sequential string id and an artifact location under the root', async () => {
    const res = await t.call('POST', 'experiments/create', { name: 'churn', tags: [{ key: 'team', value: 'ds' }] });
    assert.equal(res.status, 200);
    assert.match(res.body.experiment_id, /^\d+$/);
    const got = await t.call('GET', 'experiments/get', { experiment_id: res.body.experiment_id });
    assert.equal(got.body.experiment.name, 'churn');
    assert.equal(got.body.experiment.artifact_location, `mlflow-artifacts:/${res.body.experiment_id}`);
    assert.deepEqual(got.body.experiment.tags, [{ key: 'team', value: 'ds' }]);
    assert.equal(typeof got.body.experiment.creation_time, 'number');
  });

  test('an experiment can be found by name and an unknown name is RESOURCE_DOES_NOT_EXIST', async () => {
    await t.call('POST', 'experiments/create', { name: 'by-name' });
    const found = await t.call('GET', 'experiments/get-by-name', { experiment_name: 'by-name' });
    assert.equal(found.status, 200);
    assert.equal(found.body.experiment.name, 'by-name');
    const missing = await t.call('GET', 'experiments/get-by-name', { experiment_name: 'nope' });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Could not find experiment with name 'nope'" });
  });

  test('a duplicate experiment name is RESOURCE_ALREADY_EXISTS, even after the first is deleted', async () => {
    const first = await t.call('POST', 'experiments/create', { name: 'dup' });
    const second = await t.call('POST', 'experiments/create', { name: 'dup' });
    assert.equal(second.status, 400);
    assert.equal(second.body.error_code, 'RESOURCE_ALREADY_EXISTS');
    await t.call('POST', 'experiments/delete', { experiment_id: first.body.experiment_id });
    const third = await t.call('POST', 'experiments/create', { name: 'dup' });
    assert.equal(third.body.error_code, 'RESOURCE_ALREADY_EXISTS');
  });

  test('an empty or missing experiment name is INVALID_PARAMETER_VALUE', async () => {
    const missing = await t.call('POST', 'experiments/create', {});
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(missing.body.message, /Missing value for required parameter 'name'/);
    const empty = await t.call('POST', 'experiments/create', { name: '' });
    assert.equal(empty.status, 400);
    const wrongType = await t.call('POST', 'experiments/create', { name: ['x'] });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.body.message, /Invalid value .* for parameter 'name'/);
  });

  test('an unknown experiment id is RESOURCE_DOES_NOT_EXIST with MLflow message', async () => {
    const res = await t.call('GET', 'experiments/get', { experiment_id: '999999' });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'No Experiment with id=999999 exists' });
  });

  test('deleting an experiment deletes its runs and restoring brings both back', async () => {
    const { body } = await t.call('POST', 'experiments/create', { name: 'lifecycle' });
    const id = body.experiment_id as string;
    const run = await t.call('POST', 'runs/create', { experiment_id: id });
    const runId = run.body.run.info.run_id as string;
    assert.equal((await t.call('POST', 'experiments/delete', { experiment_id: id })).status, 200);
    assert.equal((await t.call('GET', 'experiments/get', { experiment_id: id })).body.experiment.lifecycle_stage, 'deleted');
    assert.equal((await t.call('GET', 'runs/get', { run_id: runId })).body.run.info.lifecycle_stage, 'deleted');
    const again = await t.call('POST', 'experiments/delete', { experiment_id: id });
    assert.equal(again.status, 404);
    const createInDeleted = await t.call('POST', 'runs/create', { experiment_id: id });
    assert.equal(createInDeleted.status, 400);
    assert.match(createInDeleted.body.message, /must be in the 'active' state/);
    assert.equal((await t.call('POST', 'experiments/restore', { experiment_id: id })).status, 200);
    assert.equal((await t.call('GET', 'runs/get', { run_id: runId })).body.run.info.lifecycle_stage, 'active');
    assert.equal((await t.call('POST', 'experiments/restore', { experiment_id: id })).status, 404);
  });

  test('renaming an experiment changes its name and refuses a taken name', async () => {
    const a = await t.call('POST', 'experiments/create', { name: 'rename-a' });
    await t.call('POST', 'experiments/create', { name: 'rename-b' });
    assert.equal((await t.call('POST', 'experiments/update', { experiment_id: a.body.experiment_id, new_name: 'rename-c' })).status, 200);
    assert.equal((await t.call('GET', 'experiments/get', { experiment_id: a.body.experiment_id })).body.experiment.name, 'rename-c');
    const clash = await t.call('POST', 'experiments/update', { experiment_id: a.body.experiment_id, new_name: 'rename-b' });
    assert.equal(clash.body.error_code, 'RESOURCE_ALREADY_EXISTS');
  });

  test('experiment tags can be set, overwritten and deleted', async () => {
    const { body } = await t.call('POST', 'experiments/create', { name: 'tags' });
    const id = body.experiment_id as string;
    await t.call('POST', 'experiments/set-experiment-tag', { experiment_id: id, key: 'k', value: 'v1' });
    await t.call('POST', 'experiments/set-experiment-tag', { experiment_id: id, key: 'k', value: 'v2' });
    assert.deepEqual((await t.call('GET', 'experiments/get', { experiment_id: id })).body.experiment.tags, [{ key: 'k', value: 'v2' }]);
    assert.equal((await t.call('POST', 'experiments/delete-experiment-tag', { experiment_id: id, key: 'k' })).status, 200);
    assert.equal((await t.call('GET', 'experiments/get', { experiment_id: id })).body.experiment.tags, undefined);
    const missing = await t.call('POST', 'experiments/delete-experiment-tag', { experiment_id: id, key: 'k' });
    assert.equal(missing.status, 404);
  });

  test('experiment search filters by name and tags, orders, and pages without repeats', async () => {
    for (let i = 0; i < 7; i++) {
      await t.call('POST', 'experiments/create', { name: `search-${i}`, tags: [{ key: 'parity', value: i % 2 === 0 ? 'even' : 'odd' }] });
    }
    const like = await t.call('POST', 'experiments/search', { filter: "name LIKE 'search-%'", max_results: 100 });
    assert.equal(like.body.experiments.length, 7);
    const tagged = await t.call('POST', 'experiments/search', { filter: "tags.parity = 'odd'", max_results: 100 });
    assert.deepEqual(tagged.body.experiments.map((e: { name: string }) => e.name).sort(), ['search-1', 'search-3', 'search-5']);
    const ordered = await t.call('POST', 'experiments/search', { filter: "name LIKE 'search-%'", order_by: ['name DESC'], max_results: 3 });
    assert.deepEqual(ordered.body.experiments.map((e: { name: string }) => e.name), ['search-6', 'search-5', 'search-4']);
    assert.ok(ordered.body.next_page_token);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await t.call('POST', 'experiments/search', { filter: "name LIKE 'search-%'", max_results: 2, page_token: token });
      seen.push(...page.body.experiments.map((e: { name: string }) => e.name));
      token = page.body.next_page_token;
      // An experiment created mid-paging must not shift later pages.
      if (seen.length === 2) await t.call('POST', 'experiments/create', { name: 'search-late' });
    } while (token);
    assert.equal(seen.length, 7);
    assert.equal(new Set(seen).size, 7);
  });

  test('experiment search honours view_type and rejects bad max_results, filters and tokens', async () => {
    const { body } = await t.call('POST', 'experiments/create', { name: 'gone' });
    await t.call('POST', 'experiments/delete', { experiment_id: body.experiment_id });
    const deleted = await t.call('POST', 'experiments/search', { view_type: 'DELETED_ONLY', max_results: 1000 });
    assert.ok(deleted.body.experiments.some((e: { name: string }) => e.name === 'gone'));
    const active = await t.call('POST', 'experiments/search', { max_results: 1000 });
    assert.ok(!active.body.experiments.some((e: { name: string }) => e.name === 'gone'));
    const tooMany = await t.call('POST', 'experiments/search', { max_results: 50001 });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.message, /at most 50000/);
    const badFilter = await t.call('POST', 'experiments/search', { filter: 'name = ' });
    assert.equal(badFilter.status, 400);
    assert.equal(badFilter.body.error_code, 'INVALID_PARAMETER_VALUE');
    const badToken = await t.call('POST', 'experiments/search', { page_token: '!!!' });
    assert.equal(badToken.status, 400);
    assert.match(badToken.body.message, /Invalid page token/);
  });

  test('experiment search also answers GET with query parameters', async () => {
    const res = await t.call('GET', 'experiments/search', { max_results: 5, view_type: 'ALL' });
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.body.experiments));
  });

  test('the same API is mounted under /ajax-api for the web UI', async () => {
    const res = await t.call('GET', '/ajax-api/2.0/mlflow/experiments/get', { experiment_id: '0' });
    assert.equal(res.status, 200);
    assert.equal(res.body.experiment.name, 'Default');
  });
});
