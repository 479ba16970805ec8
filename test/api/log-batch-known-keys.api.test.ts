import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';

/**
 * log-batch once its metric keys are known to the server (after their first batch): on PostgreSQL
 * the batch and its run's check are then one statement without a transaction
 * (src/store/sql/log-batch-postgres.ts), and whatever that statement does not write the checked
 * path answers. The answers and what is stored must be those of the checked path, on both databases.
 */
describe('log-batch with known metric keys', () => {
  let t: TestServer;
  let experimentId: string;
  const points = (steps: number[]) => steps.map((step) => ({ key: 'loss', value: step / 2, timestamp: 100 + step, step }));

  before(async () => {
    t = await startTestServer();
    experimentId = (await t.call('POST', 'experiments/create', { name: 'known-keys' })).body.experiment_id;
    const warm = await newRun();
    assert.equal((await t.call('POST', 'runs/log-batch', { run_id: warm, metrics: [...points([0]), { key: 'acc', value: 1, timestamp: 1, step: 0 }] })).status, 200);
  });

  after(async () => {
    await t.close();
  });

  async function newRun(): Promise<string> {
    const res = await t.call('POST', 'runs/create', { experiment_id: experimentId });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.run.info.run_id as string;
  }

  async function data(runId: string) {
    const run = (await t.call('GET', 'runs/get', { run_id: runId })).body.run;
    const history = (await t.call('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss' })).body.metrics ?? [];
    return { info: run.info, params: run.data.params ?? [], tags: (run.data.tags ?? []).filter((tag: { key: string }) => !tag.key.startsWith('mlflow.')), metrics: run.data.metrics ?? [], history };
  }

  test('a batch writes its metrics, params, tags and run name, and the latest value is the newest point', async () => {
    const runId = await newRun();
    const res = await t.call('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: points([3, 1, 2]),
      params: [{ key: 'lr', value: '0.1' }],
      tags: [{ key: 'stage', value: 'a' }, { key: 'mlflow.runName', value: 'renamed' }, { key: 'stage', value: 'b' }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const stored = await data(runId);
    assert.equal(stored.info.run_name, 'renamed');
    assert.deepEqual(stored.params, [{ key: 'lr', value: '0.1' }]);
    assert.deepEqual(stored.tags, [{ key: 'stage', value: 'b' }]);
    assert.deepEqual(stored.metrics, [{ key: 'loss', value: 1.5, timestamp: 103, step: 3 }]);
    assert.deepEqual(stored.history.map((m: { step: number }) => m.step), [1, 2, 3]);
  });

  test('a re-sent batch is accepted and stores each point once', async () => {
    const runId = await newRun();
    const batch = { run_id: runId, metrics: points([0, 1, 2]) };
    assert.equal((await t.call('POST', 'runs/log-batch', batch)).status, 200);
    assert.equal((await t.call('POST', 'runs/log-batch', { ...batch, metrics: points([1, 2, 3, 3]) })).status, 200);
    assert.deepEqual((await data(runId)).history.map((m: { step: number }) => m.step), [0, 1, 2, 3]);
  });

  test('a batch for an unknown run is refused as before and writes nothing', async () => {
    const runId = 'f'.repeat(32);
    const res = await t.call('POST', 'runs/log-batch', { run_id: runId, metrics: points([0]), params: [{ key: 'lr', value: '1' }] });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Run with id=${runId} not found` });
  });

  test('a batch for a deleted run is refused as before and writes nothing', async () => {
    const runId = await newRun();
    await t.call('POST', 'runs/delete', { run_id: runId });
    const res = await t.call('POST', 'runs/log-batch', { run_id: runId, metrics: points([0]), params: [{ key: 'lr', value: '1' }], tags: [{ key: 'stage', value: 'x' }] });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { error_code: 'INVALID_PARAMETER_VALUE', message: `The run ${runId} must be in the 'active' state. Current state is deleted.` });
    await t.call('POST', 'runs/restore', { run_id: runId });
    const stored = await data(runId);
    assert.deepEqual([stored.params, stored.tags, stored.metrics, stored.history], [[], [], [], []]);
  });

  test('a batch for a run of another project is answered as an unknown run and writes nothing', async () => {
    const project = await t.server.services.auth!.createProject({ name: 'elsewhere' });
    const runId = await newRun();
    const response = await t.inject({
      method: 'POST',
      url: `/projects/${project.name}/api/2.0/mlflow/runs/log-batch`,
      payload: JSON.stringify({ run_id: runId, metrics: points([0]), params: [{ key: 'lr', value: '1' }], tags: [{ key: 'stage', value: 'x' }] }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(response.statusCode, 404);
    assert.deepEqual(JSON.parse(response.body), { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Run with id=${runId} not found` });
    const stored = await data(runId);
    assert.deepEqual([stored.params, stored.tags, stored.metrics, stored.history], [[], [], [], []]);
  });

  test('a batch that changes a param is refused with MLflow\'s message and writes no metric, tag or other param', async () => {
    const runId = await newRun();
    assert.equal((await t.call('POST', 'runs/log-batch', { run_id: runId, params: [{ key: 'lr', value: '0.1' }] })).status, 200);
    const res = await t.call('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: points([0, 1]),
      params: [{ key: 'depth', value: '3' }, { key: 'lr', value: '0.2' }],
      tags: [{ key: 'stage', value: 'x' }, { key: 'mlflow.runName', value: 'never' }],
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      error_code: 'INVALID_PARAMETER_VALUE',
      message: `Changing param values is not allowed. Param with key='lr' was already logged with value='0.1' for run ID='${runId}'. Attempted logging new value '0.2'.`,
    });
    const stored = await data(runId);
    assert.deepEqual([stored.params, stored.tags, stored.metrics, stored.history], [[{ key: 'lr', value: '0.1' }], [], [], []]);
    assert.notEqual(stored.info.run_name, 'never');
  });
});
