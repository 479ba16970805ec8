import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';

/**
 * The routes are registered once, under /api/; /ajax-api/2.0 and /ajax-api/3.0 reach them through
 * the URL rewrite of src/http/ajax-alias.ts. The client must not be able to tell.
 */
describe('/ajax-api/ as an alias of /api/', () => {
  let t: TestServer;
  let runId: string;
  before(async () => {
    t = await startTestServer();
    const run = await t.call('POST', 'runs/create', { experiment_id: '0' });
    runId = run.body.run.info.run_id as string;
  });
  after(async () => t.close());

  test('the MLflow 2.0 and 3.0 APIs and the Trove API answer the same under /ajax-api/ as under /api/', async () => {
    for (const url of [
      '/api/2.0/mlflow/experiments/get?experiment_id=0',
      `/api/2.0/mlflow/runs/get?run_id=${runId}`,
      '/api/2.0/mlflow/runs/get?run_id=missing',
      `/api/2.0/mlflow-artifacts/artifacts?path=0/${runId}/artifacts`,
      '/api/3.0/mlflow/server-info',
      '/api/2.0/trove/project',
      '/api/2.0/trove/experiments/run-counts?experiment_ids=0',
    ]) {
      const direct = await t.inject({ method: 'GET', url });
      const viaAjax = await t.inject({ method: 'GET', url: url.replace('/api/', '/ajax-api/') });
      assert.equal(viaAjax.statusCode, direct.statusCode, url);
      assert.equal(viaAjax.body, direct.body, url);
      if (!url.includes('missing')) assert.notEqual(direct.statusCode, 404, url);
    }
    const created = await t.inject({ method: 'POST', url: '/ajax-api/2.0/mlflow/experiments/create', payload: { name: 'from the UI' } });
    assert.equal(created.statusCode, 200);
    const byName = await t.call('GET', 'experiments/get-by-name', { experiment_name: 'from the UI' });
    assert.equal(byName.body.experiment.experiment_id, JSON.parse(created.body).experiment_id);
  });

  test('a project prefix in front of /ajax-api/ still selects the project route', async () => {
    const direct = await t.inject({ method: 'GET', url: '/projects/default/api/2.0/mlflow/experiments/get?experiment_id=0' });
    const viaAjax = await t.inject({ method: 'GET', url: '/projects/default/ajax-api/2.0/mlflow/experiments/get?experiment_id=0' });
    assert.equal(direct.statusCode, 200);
    assert.equal(viaAjax.body, direct.body);
  });

  test('an unknown /ajax-api/ URL is a 404 naming the URL as the client sent it', async () => {
    const res = await t.inject({ method: 'POST', url: '/ajax-api/2.0/mlflow/no-such-thing?x=1' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(JSON.parse(res.body), { error_code: 'ENDPOINT_NOT_FOUND', message: 'No API endpoint POST /ajax-api/2.0/mlflow/no-such-thing.' });
  });

  test('the UI-only routes stay under /ajax-api/ and are not served under /api/', async () => {
    const promptlab = await t.inject({ method: 'POST', url: '/api/2.0/mlflow/runs/create-promptlab-run', payload: {} });
    assert.equal(promptlab.statusCode, 404);
    const upload = await t.inject({ method: 'POST', url: `/api/2.0/mlflow/upload-artifact?run_uuid=${runId}&path=a.txt`, payload: 'x' });
    assert.equal(upload.statusCode, 404);
    const files = await t.inject({ method: 'GET', url: '/api/2.0/mlflow/logged-models/m-1/artifacts/files?artifact_file_path=a' });
    assert.equal(files.statusCode, 404);

    const uploadViaAjax = await t.inject({
      method: 'POST',
      url: `/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${runId}&path=a.txt`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: 'x',
    });
    assert.equal(uploadViaAjax.statusCode, 200, uploadViaAjax.body);
    const promptlabViaAjax = await t.inject({ method: 'POST', url: '/ajax-api/2.0/mlflow/runs/create-promptlab-run', payload: [] });
    assert.equal(JSON.parse(promptlabViaAjax.body).error_code, 'INVALID_PARAMETER_VALUE');
  });

  test('request metrics label /ajax-api/ calls with the /ajax-api/ route pattern', async () => {
    const label = /trove_http_requests_total\{method="GET",route="\/ajax-api\/2\.0\/mlflow\/runs\/get",status="200"\} (\d+)/;
    const before = Number(label.exec((await t.inject({ method: 'GET', url: '/metrics' })).body)?.[1] ?? 0);
    await t.inject({ method: 'GET', url: `/ajax-api/2.0/mlflow/runs/get?run_id=${runId}` });
    const body = (await t.inject({ method: 'GET', url: '/metrics' })).body;
    assert.equal(Number(label.exec(body)?.[1]), before + 1);
    assert.equal(body.includes('route="/ajax/'), false);
  });
});
