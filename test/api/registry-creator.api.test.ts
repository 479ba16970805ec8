import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startAuthServer, type AuthHarness } from '../support/auth-harness.ts';
import { startTestServer, type TestServer } from './test-server.ts';

const API = '/projects/alpha/api/2.0/mlflow';
const ARTIFACTS = '/projects/alpha/api/2.0/mlflow-artifacts/artifacts';

describe('the registry records who created a model and a version', () => {
  let h: AuthHarness;
  let password: string;

  before(async () => {
    h = await startAuthServer();
    password = (await h.createUser('alice')).password;
    await h.createProject('alpha', 'alice');
  });
  after(async () => h?.close());

  test('a signed-in user is the user_id of the model and the version they create', async () => {
    const as = { basic: ['alice', password] as [string, string] };
    const experiment = await h.request('POST', `${API}/experiments/create`, { as, body: { name: 'creator' } });
    assert.equal(experiment.status, 200, experiment.text);
    const run = await h.request('POST', `${API}/runs/create`, { as, body: { experiment_id: experiment.body.experiment_id } });
    const info = run.body.run.info as { run_id: string; artifact_uri: string };
    const upload = await h.inject({
      method: 'PUT',
      url: `${ARTIFACTS}/${info.artifact_uri.replace(/^mlflow-artifacts:\/+/, '')}/model/MLmodel`,
      payload: 'flavors: {}\n',
      headers: { 'content-type': 'application/octet-stream', authorization: `Basic ${Buffer.from(`alice:${password}`).toString('base64')}` },
    });
    assert.equal(upload.statusCode, 200, upload.body);

    const model = await h.request('POST', `${API}/registered-models/create`, { as, body: { name: 'made-by-alice' } });
    assert.equal(model.status, 200, model.text);
    assert.equal(model.body.registered_model.user_id, 'alice');
    const version = await h.request('POST', `${API}/model-versions/create`, { as, body: { name: 'made-by-alice', source: `runs:/${info.run_id}/model`, run_id: info.run_id } });
    assert.equal(version.status, 200, version.text);
    assert.equal(version.body.model_version.user_id, 'alice');
    const read = await h.request('GET', `${API}/model-versions/get`, { as, query: { name: 'made-by-alice', version: '1' } });
    assert.equal(read.body.model_version.user_id, 'alice');
  });
});

describe('without authentication', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => t?.close());

  test('models have no user_id, as on MLflow', async () => {
    const model = await t.call('POST', 'registered-models/create', { name: 'anonymous' });
    assert.equal(model.status, 200);
    assert.equal(model.body.registered_model.user_id, undefined);
  });
});
