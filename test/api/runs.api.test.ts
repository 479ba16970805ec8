import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './test-server.ts';

describe('runs API', () => {
  let t: TestServer;
  let experimentId: string;
  before(async () => {
    t = await startTestServer();
    experimentId = (await t.call('POST', 'experiments/create', { name: 'runs' })).body.experiment_id;
  });
  after(async () => {
    await t.close();
  });

  async function newRun(fields: Record<string, unknown> = {}): Promise<string> {
    const res = await t.call('POST', 'runs/create', { experiment_id: experimentId, ...fields });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.run.info.run_id as string;
  }

  test('a created run is RUNNING with a 32-hex id, equal run_uuid and a proxied artifact uri', async () => {
    const res = await t.call('POST', 'runs/create', {
      experiment_id: experimentId,
      start_time: 1700000000000,
      tags: [{ key: 'mlflow.user', value: 'alice' }],
    });
    const info = res.body.run.info;
    assert.match(info.run_id, /^[0-9a-f]{32}$/);
    assert.equal(info.run_uuid, info.run_id);
    assert.equal(info.status, 'RUNNING');
    assert.equal(info.start_time, 1700000000000);
    assert.equal(info.end_time, undefined);
    assert.equal(info.user_id, 'alice');
    assert.equal(info.artifact_uri, `mlflow-artifacts:/${experimentId}/${info.run_id}/artifacts`);
    assert.ok(info.run_name.length > 0, 'a random name is generated');
    assert.ok(res.body.run.data.tags.some((tag: { key: string; value: string }) => tag.key === 'mlflow.runName' && tag.value === info.run_name));
  });

  test('run_name and the mlflow.runName tag must agree when both are given', async () => {
    const res = await t.call('POST', 'runs/create', {
      experiment_id: experimentId,
      run_name: 'a',
      tags: [{ key: 'mlflow.runName', value: 'b' }],
    });
    assert.equal(res.status, 400);
    assert.match(res.body.message, /Both 'run_name' argument and 'mlflow.runName' tag are specified/);
  });

  test('a run without an experiment id goes to the Default experiment', async () => {
    const res = await t.call('POST', 'runs/create', {});
    assert.equal(res.body.run.info.experiment_id, '0');
  });

  test('an unknown run is RESOURCE_DOES_NOT_EXIST with MLflow message', async () => {
    const res = await t.call('GET', 'runs/get', { run_id: 'f'.repeat(32) });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Run with id=${'f'.repeat(32)} not found` });
  });

  test('updating a run sets status and end time, and renaming keeps the runName tag in step', async () => {
    const runId = await newRun({ run_name: 'before' });
    const res = await t.call('POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: 1700000001000, run_name: 'after' });
    assert.equal(res.status, 200);
    assert.equal(res.body.run_info.status, 'FINISHED');
    assert.equal(res.body.run_info.end_time, 1700000001000);
    assert.equal(res.body.run_info.run_name, 'after');
    const run = (await t.call('GET', 'runs/get', { run_id: runId })).body.run;
    assert.ok(run.data.tags.some((tag: { key: string; value: string }) => tag.key === 'mlflow.runName' && tag.value === 'after'));
    await t.call('POST', 'runs/set-tag', { run_id: runId, key: 'mlflow.runName', value: 'via-tag' });
    assert.equal((await t.call('GET', 'runs/get', { run_id: runId })).body.run.info.run_name, 'via-tag');
    const bad = await t.call('POST', 'runs/update', { run_id: runId, status: 'DONE' });
    assert.equal(bad.status, 400);
  });

  test('params are immutable: the same value again is fine, another value is rejected with MLflow message', async () => {
    const runId = await newRun();
    assert.equal((await t.call('POST', 'runs/log-parameter', { run_id: runId, key: 'lr', value: '0.1' })).status, 200);
    assert.equal((await t.call('POST', 'runs/log-parameter', { run_id: runId, key: 'lr', value: '0.1' })).status, 200);
    const changed = await t.call('POST', 'runs/log-parameter', { run_id: runId, key: 'lr', value: '0.2' });
    assert.equal(changed.status, 400);
    assert.equal(
      changed.body.message,
      `Changing param values is not allowed. Param with key='lr' was already logged with value='0.1' for run ID='${runId}'. Attempted logging new value '0.2'.`,
    );
  });

  test('metrics keep their whole history and the run shows the latest by step, then timestamp', async () => {
    const runId = await newRun();
    await t.call('POST', 'runs/log-metric', { run_id: runId, key: 'loss', value: 3, timestamp: 10, step: 0 });
    await t.call('POST', 'runs/log-metric', { run_id: runId, key: 'loss', value: 1, timestamp: 5, step: 2 });
    await t.call('POST', 'runs/log-metric', { run_id: runId, key: 'loss', value: 2, timestamp: 20, step: 1 });
    await t.call('POST', 'runs/log-metric', { run_id: runId, key: 'loss', value: 2, timestamp: 20, step: 1 });
    const run = (await t.call('GET', 'runs/get', { run_id: runId })).body.run;
    assert.deepEqual(run.data.metrics, [{ key: 'loss', value: 1, timestamp: 5, step: 2 }]);
    const history = await t.call('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss' });
    assert.deepEqual(
      history.body.metrics.map((m: { step: number; value: number }) => [m.step, m.value]),
      [[0, 3], [1, 2], [2, 1]],
      'history is ordered by step and an exact duplicate point is stored once',
    );
  });

  test('NaN and infinite metric values round-trip as protobuf strings', async () => {
    const runId = await newRun();
    await t.call('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [
        { key: 'nan', value: 'NaN', timestamp: 1, step: 0 },
        { key: 'inf', value: 'Infinity', timestamp: 1, step: 0 },
        { key: 'ninf', value: '-Infinity', timestamp: 1, step: 0 },
      ],
    });
    const metrics = (await t.call('GET', 'runs/get', { run_id: runId })).body.run.data.metrics as Array<{ key: string; value: unknown }>;
    const byKey = Object.fromEntries(metrics.map((m) => [m.key, m.value]));
    assert.deepEqual(byKey, { nan: 'NaN', inf: 'Infinity', ninf: '-Infinity' });
  });

  test('a JSON number beyond the double range is stored as infinity, not refused', async () => {
    const runId = await newRun();
    const res = await t.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/runs/log-metric',
      headers: { 'content-type': 'application/json' },
      payload: `{"run_id": "${runId}", "key": "huge", "value": 1e400, "timestamp": 1}`,
    });
    assert.equal(res.statusCode, 200, res.body);
    const run = (await t.call('GET', 'runs/get', { run_id: runId })).body.run;
    assert.equal(run.data.metrics[0].value, 'Infinity');
  });

  test('a metric needs a numeric value and an integer timestamp', async () => {
    const runId = await newRun();
    const missing = await t.call('POST', 'runs/log-metric', { run_id: runId, key: 'm', timestamp: 1 });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /Missing value for required parameter 'value'/);
    const boolValue = await t.call('POST', 'runs/log-metric', { run_id: runId, key: 'm', value: true, timestamp: 1 });
    assert.equal(boolValue.status, 400);
    const badName = await t.call('POST', 'runs/log-metric', { run_id: runId, key: 'bad*name', value: 1, timestamp: 1 });
    assert.equal(badName.status, 400);
    assert.match(badName.body.message, /Names may only contain/);
  });

  test('every metric name in a log-batch is checked, also one that follows a run of the same valid key', async () => {
    const runId = await newRun();
    const points = [0, 1, 2].map((step) => ({ key: 'loss', value: step, timestamp: 1, step }));
    const res = await t.call('POST', 'runs/log-batch', { run_id: runId, metrics: [...points, { key: '../loss', value: 3, timestamp: 1, step: 3 }, ...points] });
    assert.equal(res.status, 400);
    assert.match(res.body.message, /normalized and relative path/);
    const run = (await t.call('GET', 'runs/get', { run_id: runId })).body.run;
    assert.equal(run.data.metrics, undefined);
  });

  test('log-batch writes metrics, params and tags together', async () => {
    const runId = await newRun();
    const res = await t.call('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'acc', value: 0.9, timestamp: 1, step: 1 }],
      params: [{ key: 'C', value: '0.5' }],
      tags: [{ key: 'stage', value: 'dev' }],
    });
    assert.equal(res.status, 200);
    const run = (await t.call('GET', 'runs/get', { run_id: runId })).body.run;
    assert.deepEqual(run.data.params, [{ key: 'C', value: '0.5' }]);
    assert.equal(run.data.metrics[0].value, 0.9);
    assert.ok(run.data.tags.some((tag: { key: string }) => tag.key === 'stage'));
  });

  test('a rejected log-batch writes nothing at all', async () => {
    const runId = await newRun();
    await t.call('POST', 'runs/log-parameter', { run_id: runId, key: 'fixed', value: 'a' });
    const res = await t.call('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'acc', value: 0.9, timestamp: 1, step: 1 }],
      params: [{ key: 'other', value: 'x' }, { key: 'fixed', value: 'b' }],
      tags: [{ key: 'stage', value: 'dev' }],
    });
    assert.equal(res.status, 400);
    const run = (await t.call('GET', 'runs/get', { run_id: runId })).body.run;
    assert.equal(run.data.metrics, undefined);
    assert.deepEqual(run.data.params, [{ key: 'fixed', value: 'a' }]);
    assert.ok(!run.data.tags.some((tag: { key: string }) => tag.key === 'stage'));
  });

  test('log-batch limits are enforced: 1001 metrics, 101 params, 101 tags, oversize values', async () => {
    const runId = await newRun();
    const metrics = Array.from({ length: 1001 }, (_, i) => ({ key: 'm', value: i, timestamp: 1, step: i }));
    const tooMany = await t.call('POST', 'runs/log-batch', { run_id: runId, metrics });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.message, /at most 1000 metrics/);
    const params = Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'v' }));
    assert.equal((await t.call('POST', 'runs/log-batch', { run_id: runId, params })).status, 400);
    const tags = Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: 'v' }));
    assert.equal((await t.call('POST', 'runs/log-batch', { run_id: runId, tags })).status, 400);
    const longParam = await t.call('POST', 'runs/log-parameter', { run_id: runId, key: 'long', value: 'x'.repeat(6001) });
    assert.equal(longParam.status, 400);
    const longKey = await t.call('POST', 'runs/set-tag', { run_id: runId, key: 'k'.repeat(251), value: 'v' });
    assert.equal(longKey.status, 400);
    const run = (await t.call('GET', 'runs/get', { run_id: runId })).body.run;
    assert.equal(run.data.metrics, undefined);
    assert.equal(run.data.params, undefined);
  });

  test('deleting a tag removes it and an unknown tag is RESOURCE_DOES_NOT_EXIST', async () => {
    const runId = await newRun();
    await t.call('POST', 'runs/set-tag', { run_id: runId, key: 'gone', value: 'soon' });
    assert.equal((await t.call('POST', 'runs/delete-tag', { run_id: runId, key: 'gone' })).status, 200);
    const missing = await t.call('POST', 'runs/delete-tag', { run_id: runId, key: 'gone' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, `No tag with name: gone in run with id ${runId}`);
  });

  test('a deleted run refuses writes until it is restored', async () => {
    const runId = await newRun();
    await t.call('POST', 'runs/delete', { run_id: runId });
    const write = await t.call('POST', 'runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1 });
    assert.equal(write.status, 400);
    assert.equal(write.body.message, `The run ${runId} must be in the 'active' state. Current state is deleted.`);
    await t.call('POST', 'runs/restore', { run_id: runId });
    assert.equal((await t.call('POST', 'runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1 })).status, 200);
  });

  test('the deprecated run_uuid field is accepted in place of run_id', async () => {
    const runId = await newRun();
    assert.equal((await t.call('POST', 'runs/set-tag', { run_uuid: runId, key: 'legacy', value: 'yes' })).status, 200);
    assert.equal((await t.call('GET', 'runs/get', { run_uuid: runId })).status, 200);
  });

  test('dataset inputs and model inputs and outputs are recorded on the run', async () => {
    const runId = await newRun();
    const res = await t.call('POST', 'runs/log-inputs', {
      run_id: runId,
      datasets: [
        {
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
          dataset: { name: 'iris', digest: 'abc123', source_type: 'local', source: '{"uri": "/data"}', schema: '{}' },
        },
      ],
    });
    assert.equal(res.status, 200);
    await t.call('POST', 'runs/log-inputs', { run_id: runId, datasets: [{ dataset: { name: 'iris', digest: 'abc123', source_type: 'local', source: '{}' } }] });
    const model = await t.call('POST', 'logged-models', { experiment_id: experimentId, name: 'm', source_run_id: runId });
    const modelId = model.body.model.info.model_id;
    assert.equal((await t.call('POST', 'runs/outputs', { run_id: runId, models: [{ model_id: modelId, step: 3 }] })).status, 200);
    const run = (await t.call('GET', 'runs/get', { run_id: runId })).body.run;
    assert.equal(run.inputs.dataset_inputs.length, 1, 'the same dataset logged twice is one input');
    assert.equal(run.inputs.dataset_inputs[0].dataset.name, 'iris');
    assert.deepEqual(run.inputs.dataset_inputs[0].tags, [{ key: 'mlflow.data.context', value: 'training' }]);
    assert.deepEqual(run.outputs.model_outputs, [{ model_id: modelId, step: 3 }]);
    const datasets = await t.call('POST', '/ajax-api/2.0/mlflow/experiments/search-datasets', { experiment_ids: [experimentId] });
    assert.deepEqual(datasets.body.dataset_summaries, [{ experiment_id: experimentId, name: 'iris', digest: 'abc123', context: 'training' }]);
  });

  test('runs/get describes a run exactly as runs/search does, inputs and outputs included', async () => {
    // runs/get reads one run with its own statements (src/store/sql/sql-run-read.ts), search loads pages.
    const plain = await newRun({ run_name: 'plain', tags: [{ key: 'team', value: 'red' }] });
    const full = await newRun({ run_name: 'full' });
    for (const runId of [plain, full]) {
      const batch = { run_id: runId, params: [{ key: 'lr', value: '0.1' }, { key: 'a', value: 'x' }], metrics: [{ key: 'loss', value: 0.25, timestamp: 5, step: 2 }, { key: 'nan', value: 'NaN', timestamp: 5, step: 0 }] };
      assert.equal((await t.call('POST', 'runs/log-batch', batch)).status, 200);
    }
    const model = await t.call('POST', 'logged-models', { experiment_id: experimentId, name: 'm', source_run_id: full });
    const modelId = model.body.model.info.model_id;
    const inputs = {
      run_id: full,
      datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'eval' }], dataset: { name: 'd', digest: 'x1', source_type: 'local', source: '{}', profile: '{"rows": 3}' } }],
      models: [{ model_id: modelId }],
    };
    assert.equal((await t.call('POST', 'runs/log-inputs', inputs)).status, 200);
    assert.equal((await t.call('POST', 'runs/outputs', { run_id: full, models: [{ model_id: modelId, step: 1 }] })).status, 200);

    const search = await t.call('POST', 'runs/search', { experiment_ids: [experimentId], max_results: 1000 });
    assert.equal(search.status, 200, JSON.stringify(search.body));
    const searched = search.body.runs;
    for (const runId of [plain, full]) {
      const got = await t.call('GET', 'runs/get', { run_id: runId });
      assert.equal(got.status, 200);
      assert.deepEqual(got.body.run, searched.find((r: { info: { run_id: string } }) => r.info.run_id === runId));
    }
    const fullRun = (await t.call('GET', 'runs/get', { run_id: full })).body.run;
    assert.deepEqual(fullRun.inputs.model_inputs, [{ model_id: modelId }]);
    assert.deepEqual(fullRun.outputs.model_outputs, [{ model_id: modelId, step: 1 }]);
    assert.equal(fullRun.inputs.dataset_inputs[0].dataset.profile, '{"rows": 3}');
    const plainRun = (await t.call('GET', 'runs/get', { run_id: plain })).body.run;
    assert.deepEqual([plainRun.inputs, plainRun.outputs], [{}, {}]);
  });

  test('the legacy log-model call appends the model JSON to the run history tag', async () => {
    const runId = await newRun();
    const modelJson = JSON.stringify({ artifact_path: 'model', flavors: {}, utc_time_created: 'now', run_id: runId });
    assert.equal((await t.call('POST', 'runs/log-model', { run_id: runId, model_json: modelJson })).status, 200);
    assert.equal((await t.call('POST', 'runs/log-model', { run_id: runId, model_json: '{"x": 1}' })).status, 400);
    const run = (await t.call('GET', 'runs/get', { run_id: runId })).body.run;
    const history = run.data.tags.find((tag: { key: string }) => tag.key === 'mlflow.log-model.history');
    assert.equal(JSON.parse(history.value).length, 1);
  });
});
