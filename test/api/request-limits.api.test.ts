import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';

describe('request size limits answer in MLflow’s error shape', () => {
  let t: TestServer;
  let base: string;
  before(async () => {
    t = await startTestServer();
    await t.server.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.server.app.server.address() as AddressInfo).port}`;
  });
  after(async () => t.close());

  test('a run_name over the mlflow.runName tag limit (8000) is refused on create and update, without echoing it', async () => {
    const huge = 'r'.repeat(1024 * 1024);
    const created = await t.call('POST', 'runs/create', { experiment_id: '0', run_name: huge });
    assert.equal(created.status, 400);
    assert.equal(created.body.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(created.body.message, /exceeded length limit of 8000/);
    assert.ok(created.body.message.length < 500, 'the message does not repeat the name');

    const ok = await t.call('POST', 'runs/create', { experiment_id: '0', run_name: 'n'.repeat(8000) });
    assert.equal(ok.status, 200);
    const runId = ok.body.run.info.run_id as string;
    const renamed = await t.call('POST', 'runs/update', { run_id: runId, run_name: 'n'.repeat(8001) });
    assert.equal(renamed.status, 400);
    const run = await t.call('GET', 'runs/get', { run_id: runId });
    assert.equal(run.body.run.info.run_name.length, 8000, 'unchanged');
  });

  test('a URL with a bad percent escape is INVALID_PARAMETER_VALUE, not Fastify’s FST_ERR_BAD_URL', async () => {
    for (const url of ['/api/2.0/mlflow/%zz', '/api/2.0/mlflow-artifacts/artifacts/0/%E0%A4%A']) {
      const res = await fetch(`${base}${url}`);
      assert.equal(res.status, 400);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.equal('code' in body, false);
    }
  });

  test('a URL over the header size limit is 431 with MLflow error JSON', async () => {
    const res = await fetch(`${base}/api/2.0/mlflow/experiments/get?experiment_id=${'9'.repeat(70_000)}`);
    assert.equal(res.status, 431);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.error_code, 'BAD_REQUEST');
    assert.match(String(body.message), /too large/);
  });
});
