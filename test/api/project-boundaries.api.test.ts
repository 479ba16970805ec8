import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';

/** Findings of the cross-project campaign: URL forms, API-looking paths, disguised storage locations. */
describe('project boundaries', () => {
  let t: TestServer;
  let alphaId: number;
  let betaId: number;
  let root: string;

  const json = (method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}) =>
    t.inject({ method, url, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });

  before(async () => {
    t = await startTestServer();
    const auth = t.server.services.auth!;
    alphaId = (await auth.createProject({ name: 'alpha' })).id;
    betaId = (await auth.createProject({ name: 'beta' })).id;
    root = path.join(t.dataDir, 'artifacts');
  });
  after(async () => t.close());

  it('GitLab’s URL form with a contradicting X-MLFLOW-WORKSPACE header answers 400, as the project form does', async () => {
    const url = `/api/v4/projects/${alphaId}/ml/mlflow/api/2.0/mlflow/experiments/search?max_results=10`;
    const conflicting = await t.inject({ method: 'GET', url, headers: { 'x-mlflow-workspace': 'beta' } });
    assert.equal(conflicting.statusCode, 400, conflicting.body);
    assert.equal(conflicting.json().error_code, 'INVALID_PARAMETER_VALUE');
    const agreeing = await t.inject({ method: 'GET', url, headers: { 'x-mlflow-workspace': 'alpha' } });
    assert.equal(agreeing.statusCode, 200, agreeing.body);
    const projectForm = await t.inject({ method: 'GET', url: '/projects/alpha/api/2.0/mlflow/experiments/search?max_results=10', headers: { 'x-mlflow-workspace': 'beta' } });
    assert.equal(projectForm.statusCode, 400);
  });

  it('API-looking paths that match nothing answer JSON 404, never the web page', async () => {
    for (const url of [
      '/api/2.0/mlflow/no-such-endpoint',
      '/ajax-api/2.0/mlflow/no-such-endpoint',
      '//api/2.0/mlflow/no-such-endpoint',
      '/API/2.0/mlflow/experiments/search',
      `/api/v4/projects/${alphaId}/ml/mlflow/`,
      `/api/v4/projects/${alphaId}/ml/mlflow/experiments/1`,
      '/projects/alpha/api/2.0/nothing',
    ]) {
      const res = await t.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.match(String(res.headers['content-type']), /application\/json/, url);
      assert.equal(res.json().error_code, 'ENDPOINT_NOT_FOUND', url);
    }
  });

  it('an artifact location inside the server’s own storage but outside the caller’s project is refused, in file:// and absolute form', async () => {
    const foreign = [
      pathToFileURL(path.join(root, 'projects', String(alphaId), 'stolen')).href,
      path.join(root, 'projects', String(alphaId), 'stolen'),
      path.join(root, 'projects', String(betaId), '..', String(alphaId), 'x'),
      path.join(root, '0'), // the default project's area
      `file:${path.join(root, 'projects', String(alphaId))}`,
    ];
    for (const [i, location] of foreign.entries()) {
      const res = await json('POST', '/projects/beta/api/2.0/mlflow/experiments/create', { name: `steal-${i}`, artifact_location: location });
      assert.equal(res.statusCode, 403, `${location}: ${res.body}`);
      assert.equal(res.json().error_code, 'PERMISSION_DENIED');
    }
    const own = await json('POST', '/projects/beta/api/2.0/mlflow/experiments/create', {
      name: 'own-area',
      artifact_location: pathToFileURL(path.join(root, 'projects', String(betaId), 'mine')).href,
    });
    assert.equal(own.statusCode, 200, own.body);
    const elsewhere = await json('POST', '/projects/beta/api/2.0/mlflow/experiments/create', { name: 'client-storage', artifact_location: '/srv/team-share/exp' });
    assert.equal(elsewhere.statusCode, 200, 'the client’s own storage is not ours to judge');
  });

  it('a model version source inside another project’s storage is refused', async () => {
    assert.equal((await json('POST', '/projects/beta/api/2.0/mlflow/registered-models/create', { name: 'm' })).statusCode, 200);
    const source = pathToFileURL(path.join(root, 'projects', String(alphaId), '1', 'abc', 'artifacts', 'model')).href;
    const res = await json('POST', '/projects/beta/api/2.0/mlflow/model-versions/create', { name: 'm', source });
    assert.equal(res.statusCode, 404, res.body);
    // A local path of the project's own storage gets MLflow's local-path rule instead: it needs a
    // run_id whose artifact location contains it.
    const ownSource = pathToFileURL(path.join(root, 'projects', String(betaId), '1', 'abc', 'artifacts', 'model')).href;
    const own = await json('POST', '/projects/beta/api/2.0/mlflow/model-versions/create', { name: 'm', source: ownSource });
    assert.equal(own.statusCode, 400, own.body);
    assert.match(own.body, /To use a local path as a model version source/);
  });
});
