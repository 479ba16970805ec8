import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './test-server.ts';

describe('logged models API (MLflow 3)', () => {
  let t: TestServer;
  let experimentId: string;
  let runId: string;
  before(async () => {
    t = await startTestServer();
    experimentId = (await t.call('POST', 'experiments/create', { name: 'models' })).body.experiment_id;
    runId = (await t.call('POST', 'runs/create', { experiment_id: experimentId })).body.run.info.run_id;
  });
  after(async () => {
    await t.close();
  });

  async function createModel(fields: Record<string, unknown> = {}) {
    const res = await t.call('POST', 'logged-models', { experiment_id: experimentId, ...fields });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.model;
  }

  test('a new logged model is PENDING with an m- id and an artifact uri under the experiment', async () => {
    const model = await createModel({
      name: 'model',
      source_run_id: runId,
      model_type: 'sklearn',
      params: [{ key: 'C', value: '0.5' }],
      tags: [{ key: 'mlflow.user', value: 'alice' }],
    });
    assert.match(model.info.model_id, /^m-[0-9a-f]{32}$/);
    assert.equal(model.info.status, 'LOGGED_MODEL_PENDING');
    assert.equal(model.info.artifact_uri, `mlflow-artifacts:/${experimentId}/models/${model.info.model_id}/artifacts`);
    assert.equal(model.info.source_run_id, runId);
    assert.equal(model.info.model_type, 'sklearn');
    assert.equal(model.info.creator_id, undefined, 'creator_id is numeric on the wire; a user name never goes there');
    assert.deepEqual(model.data.params, [{ key: 'C', value: '0.5' }]);
    assert.deepEqual(model.info.tags, [{ key: 'mlflow.user', value: 'alice' }]);
  });

  test('a model without a name gets a generated one', async () => {
    const model = await createModel();
    assert.ok(model.info.name.length > 0);
  });

  test('finalizing sets the status, and a bad status is INVALID_PARAMETER_VALUE', async () => {
    const model = await createModel({ name: 'finalize' });
    const id = model.info.model_id;
    const res = await t.call('PATCH', `/api/2.0/mlflow/logged-models/${id}`, { model_id: id, status: 'LOGGED_MODEL_READY' });
    assert.equal(res.status, 200);
    assert.equal(res.body.model.info.status, 'LOGGED_MODEL_READY');
    const bad = await t.call('PATCH', `/api/2.0/mlflow/logged-models/${id}`, { model_id: id, status: 'DONE' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error_code, 'INVALID_PARAMETER_VALUE');
  });

  test('tags are upserted through PATCH and removed through DELETE on the tag path', async () => {
    const model = await createModel({ name: 'tags', tags: [{ key: 'mlflow.model.isExternal', value: 'true' }] });
    const id = model.info.model_id;
    await t.call('PATCH', `/api/2.0/mlflow/logged-models/${id}/tags`, { tags: [{ key: 'stage', value: 'a' }] });
    await t.call('PATCH', `/api/2.0/mlflow/logged-models/${id}/tags`, { tags: [{ key: 'stage', value: 'b' }] });
    assert.equal((await t.call('DELETE', `/api/2.0/mlflow/logged-models/${id}/tags/mlflow.model.isExternal`)).status, 200);
    const got = await t.call('GET', `/api/2.0/mlflow/logged-models/${id}`);
    assert.deepEqual(got.body.model.info.tags, [{ key: 'stage', value: 'b' }]);
    const missing = await t.call('DELETE', `/api/2.0/mlflow/logged-models/${id}/tags/nope`);
    assert.equal(missing.status, 404);
  });

  test('registrations recorded by the client in mlflow.modelVersions are presented', async () => {
    const model = await createModel({ name: 'registered' });
    const id = model.info.model_id;
    await t.call('PATCH', `/api/2.0/mlflow/logged-models/${id}/tags`, {
      tags: [{ key: 'mlflow.modelVersions', value: JSON.stringify([{ name: 'churn', version: 1 }]) }],
    });
    const got = await t.call('GET', `/api/2.0/mlflow/logged-models/${id}`);
    assert.deepEqual(got.body.model.info.registrations, [{ name: 'churn', version: '1' }]);
  });

  test('params beyond the first hundred are added through the params endpoint', async () => {
    const model = await createModel({ name: 'params' });
    const id = model.info.model_id;
    const params = Array.from({ length: 100 }, (_, i) => ({ key: `p${i}`, value: String(i) }));
    assert.equal((await t.call('POST', `/api/2.0/mlflow/logged-models/${id}/params`, { model_id: id, params })).status, 200);
    const tooMany = [...params, { key: 'extra', value: 'x' }];
    assert.equal((await t.call('POST', `/api/2.0/mlflow/logged-models/${id}/params`, { model_id: id, params: tooMany })).status, 400);
    const got = await t.call('GET', `/api/2.0/mlflow/logged-models/${id}`);
    assert.equal(got.body.model.data.params.length, 100);
  });

  test('metrics logged with a model_id appear on the model', async () => {
    const model = await createModel({ name: 'metrics', source_run_id: runId });
    const id = model.info.model_id;
    await t.call('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'acc', value: 0.9, timestamp: 5, step: 0, model_id: id, dataset_name: 'test', dataset_digest: 'd1' }],
    });
    const got = await t.call('GET', `/api/2.0/mlflow/logged-models/${id}`);
    assert.deepEqual(got.body.model.data.metrics, [
      { key: 'acc', value: 0.9, timestamp: 5, step: 0, dataset_name: 'test', dataset_digest: 'd1', model_id: id, run_id: runId },
    ]);
  });

  test('search finds models by name and source run, orders by metric, and pages', async () => {
    const otherRun = (await t.call('POST', 'runs/create', { experiment_id: experimentId })).body.run.info.run_id;
    const ids: string[] = [];
    for (const [i, score] of [0.5, 0.9, 0.7].entries()) {
      const model = await createModel({ name: `search-${i}`, source_run_id: otherRun });
      ids.push(model.info.model_id);
      await t.call('POST', 'runs/log-metric', { run_id: otherRun, key: 'score', value: score, timestamp: 1, step: i, model_id: model.info.model_id });
    }
    const byName = await t.call('POST', 'logged-models/search', { experiment_ids: [experimentId], filter: "name = 'search-1'" });
    assert.deepEqual(byName.body.models.map((m: { info: { model_id: string } }) => m.info.model_id), [ids[1]]);
    const byRun = await t.call('POST', 'logged-models/search', {
      experiment_ids: [experimentId],
      filter: `source_run_id = '${otherRun}' and metrics.score > 0.6`,
      order_by: [{ field_name: 'metrics.score', ascending: false }],
    });
    assert.deepEqual(byRun.body.models.map((m: { info: { name: string } }) => m.info.name), ['search-1', 'search-2']);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await t.call('POST', 'logged-models/search', {
        experiment_ids: [experimentId],
        filter: `source_run_id = '${otherRun}'`,
        max_results: 2,
        page_token: token,
      });
      seen.push(...page.body.models.map((m: { info: { model_id: string } }) => m.info.model_id));
      token = page.body.next_page_token;
    } while (token);
    assert.deepEqual([...seen].sort(), [...ids].sort());
    const bad = await t.call('POST', 'logged-models/search', { experiment_ids: [experimentId], filter: 'name ==' });
    assert.equal(bad.status, 400);
  });

  test('a deleted model is gone from get and search', async () => {
    const model = await createModel({ name: 'deleted' });
    const id = model.info.model_id;
    assert.equal((await t.call('DELETE', `/api/2.0/mlflow/logged-models/${id}`)).status, 200);
    assert.equal((await t.call('GET', `/api/2.0/mlflow/logged-models/${id}`)).status, 404);
    assert.equal((await t.call('GET', `/api/2.0/mlflow/logged-models/${id}`, { allow_deleted: 'true' })).status, 200);
    const search = await t.call('POST', 'logged-models/search', { experiment_ids: [experimentId], filter: "name = 'deleted'" });
    assert.equal(search.body.models.length, 0);
  });

  test('an unknown model or experiment is RESOURCE_DOES_NOT_EXIST', async () => {
    const res = await t.call('GET', `/api/2.0/mlflow/logged-models/m-${'0'.repeat(32)}`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
    const noExperiment = await t.call('POST', 'logged-models', { experiment_id: '424242' });
    assert.equal(noExperiment.status, 404);
  });
});
