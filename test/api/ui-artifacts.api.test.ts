import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';
import { startAuthServer, type AuthHarness, type Credential } from '../support/auth-harness.ts';

async function putArtifact(server: TestServer, path: string, body: string | Buffer): Promise<void> {
  const response = await server.inject({ method: 'PUT', url: `/api/2.0/mlflow-artifacts/artifacts/${path}`, payload: body });
  assert.equal(response.statusCode, 200, response.body);
}

describe('the MLflow UI artifact routes', () => {
  let server: TestServer;
  let experimentId: string;
  let runId: string;
  let runRoot: string;

  before(async () => {
    server = await startTestServer();
    experimentId = (await server.call('POST', 'experiments/create', { name: 'ui-artifacts' })).body.experiment_id;
    runId = (await server.call('POST', 'runs/create', { experiment_id: experimentId })).body.run.info.run_id;
    runRoot = `${experimentId}/${runId}/artifacts`;
    await putArtifact(server, `${runRoot}/MLproject`, 'name: demo');
    await putArtifact(server, `${runRoot}/lower/mlproject`, 'name: demo');
    await putArtifact(server, `${runRoot}/plot.png`, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    await putArtifact(server, `${runRoot}/page.html`, '<script>alert(1)</script>');
    await putArtifact(server, `${runRoot}/blob.weird-ext`, 'x');
    await putArtifact(server, `${runRoot}/${encodeURIComponent('résumé notes.txt')}`, 'accents');
  });
  after(async () => server.close());

  const getArtifact = (query: Record<string, string>, url = '/get-artifact') => server.inject({ method: 'GET', url, query });

  it('downloads a run file by run_id or run_uuid as an attachment with nosniff', async () => {
    for (const key of ['run_id', 'run_uuid']) {
      const response = await getArtifact({ [key]: runId, path: 'MLproject' });
      assert.equal(response.statusCode, 200);
      assert.equal(response.body, 'name: demo');
      assert.equal(response.headers['content-type'], 'text/plain');
      assert.equal(response.headers['content-disposition'], 'attachment; filename=MLproject');
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['content-length'], '10');
    }
  });

  it('chooses MIME types as MLflow: text for MLproject in any case, images as images, scriptable types as text, unknown as binary', async () => {
    const cases: Array<[string, string]> = [
      ['lower/mlproject', 'text/plain'],
      ['plot.png', 'image/png'],
      ['page.html', 'text/plain'],
      ['blob.weird-ext', 'application/octet-stream'],
    ];
    for (const [path, type] of cases) {
      const response = await getArtifact({ run_id: runId, path });
      assert.equal(response.statusCode, 200, path);
      assert.equal(response.headers['content-type'], type, path);
    }
  });

  it('names non-ASCII files with an ASCII fallback and an RFC 5987 filename*', async () => {
    const response = await getArtifact({ run_id: runId, path: 'résumé notes.txt' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-disposition'], `attachment; filename="resume notes.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20notes.txt`);
  });

  it('refuses paths that leave the artifact root before looking anything up, as MLflow', async () => {
    const invalid = { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path' };
    for (const path of ['../path', '/etc/passwd', 'a/../../b', '%2e%2e/x']) {
      const run = await getArtifact({ run_id: runId, path });
      assert.equal(run.statusCode, 400, path);
      assert.deepEqual(JSON.parse(run.body), invalid);
    }
    // The model does not exist: the path is judged first. The URL's doubled slash is what MLflow's own test sends.
    const version = await getArtifact({ name: 'model', version: '1', path: '../path' }, '//model-versions/get-artifact');
    assert.equal(version.statusCode, 400);
    assert.deepEqual(JSON.parse(version.body), invalid);
  });

  it('answers unknown runs and files with 404 and missing parameters with 400', async () => {
    const unknownRun = await getArtifact({ run_id: '0'.repeat(32), path: 'MLproject' });
    assert.equal(unknownRun.statusCode, 404);
    assert.equal(JSON.parse(unknownRun.body).error_code, 'RESOURCE_DOES_NOT_EXIST');
    const unknownFile = await getArtifact({ run_id: runId, path: 'nope.txt' });
    assert.equal(unknownFile.statusCode, 404);
    const noPath = await getArtifact({ run_id: runId });
    assert.equal(noPath.statusCode, 400);
    assert.match(JSON.parse(noPath.body).message, /'path'/);
    const noRun = await getArtifact({ path: 'MLproject' });
    assert.equal(noRun.statusCode, 400);
  });

  it('streams a large file whole', async () => {
    const big = Buffer.alloc(12 * 1024 * 1024, 7);
    await putArtifact(server, `${runRoot}/big.bin`, big);
    const response = await getArtifact({ run_id: runId, path: 'big.bin' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-length'], String(big.length));
    assert.ok(response.rawPayload.equals(big));
  });

  it('serves a registered model version’s files', async () => {
    await putArtifact(server, `${runRoot}/model/MLmodel`, 'flavors: {}');
    await server.call('POST', 'registered-models/create', { name: 'ui-model' });
    const created = await server.call('POST', 'model-versions/create', { name: 'ui-model', source: `runs:/${runId}/model`, run_id: runId });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const response = await getArtifact({ name: 'ui-model', version: '1', path: 'MLmodel' }, '/model-versions/get-artifact');
    assert.equal(response.statusCode, 200);
    assert.equal(response.body, 'flavors: {}');
    assert.equal(response.headers['content-type'], 'text/plain');
    assert.equal(response.headers['content-disposition'], 'attachment; filename=MLmodel');
    const missing = await getArtifact({ name: 'ui-model', version: '7', path: 'MLmodel' }, '/model-versions/get-artifact');
    assert.equal(missing.statusCode, 404);
  });

  it('serves runs whose artifact root is an http(s) URL of the proxy route, as upstream', async () => {
    const location = `http://trove.example:5000/api/2.0/mlflow-artifacts/artifacts/http-root`;
    const exp = await server.call('POST', 'experiments/create', { name: 'http-root', artifact_location: location });
    const run = await server.call('POST', 'runs/create', { experiment_id: exp.body.experiment_id });
    const id = run.body.run.info.run_id as string;
    assert.equal(run.body.run.info.artifact_uri, `${location}/${id}/artifacts`);
    await putArtifact(server, `http-root/${id}/artifacts/report.pdf`, '%PDF-1.4');
    const response = await getArtifact({ run_id: id, path: 'report.pdf' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/pdf');
    assert.equal(response.body, '%PDF-1.4');
  });

  it('answers a run whose artifacts this server does not store with a clear 400', async () => {
    const exp = await server.call('POST', 'experiments/create', { name: 's3-root', artifact_location: 's3://elsewhere/prefix' });
    const run = await server.call('POST', 'runs/create', { experiment_id: exp.body.experiment_id });
    const response = await getArtifact({ run_id: run.body.run.info.run_id, path: 'x.txt' });
    assert.equal(response.statusCode, 400);
    assert.match(JSON.parse(response.body).message, /stored at 's3:\/\/elsewhere\/prefix\/.*', which this server does not serve/);
  });

  describe('upload-artifact', () => {
    const upload = (query: Record<string, string>, payload?: string | Buffer | Readable, headers: Record<string, string> = {}) =>
      server.inject({ method: 'POST', url: '/ajax-api/2.0/mlflow/upload-artifact', query, headers, ...(payload !== undefined ? { payload } : {}) });

    it('rejects incomplete requests in MLflow’s order with its messages', async () => {
      const cases: Array<[Record<string, string>, string | undefined, string]> = [
        [{}, undefined, 'Request must specify run_uuid.'],
        [{ run_uuid: runId }, undefined, 'Request must specify path.'],
        [{ run_uuid: runId, path: '' }, undefined, 'Request must specify path.'],
        [{ run_uuid: runId, path: '../test.txt' }, undefined, 'Invalid path'],
        [{ run_uuid: runId, path: 'test.txt' }, undefined, 'Request must specify data.'],
        [{ run_uuid: runId, path: 'test.txt' }, '', 'Request must specify data.'],
      ];
      for (const [query, payload, message] of cases) {
        const response = await upload(query, payload);
        assert.equal(response.statusCode, 400, message);
        assert.deepEqual(JSON.parse(response.body), { error_code: 'INVALID_PARAMETER_VALUE', message });
      }
    });

    it('stores the raw body, of any content type, under the run’s artifacts', async () => {
      const response = await upload({ run_uuid: runId, path: 'uploads/notes.md' }, '# hello', { 'content-type': 'application/json' });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(JSON.parse(response.body), {});
      const back = await getArtifact({ run_uuid: runId, path: 'uploads/notes.md' });
      assert.equal(back.body, '# hello');
      const bare = await upload({ run_uuid: runId, path: 'bare.txt' }, 'hello world');
      assert.equal(bare.statusCode, 200);
      assert.equal((await getArtifact({ run_id: runId, path: 'bare.txt' })).body, 'hello world');
    });

    it('refuses bodies over 10 MB, declared or streamed', async () => {
      const tooBig = Buffer.alloc(10 * 1024 * 1024 + 1, 1);
      const declared = await upload({ run_uuid: runId, path: 'big.bin' }, tooBig);
      assert.equal(declared.statusCode, 400);
      assert.equal(JSON.parse(declared.body).message, 'Artifact size is too large. Max size is 10MB.');
      const streamed = await upload({ run_uuid: runId, path: 'streamed.bin' }, Readable.from([tooBig.subarray(0, 6_000_000), tooBig.subarray(6_000_000)]));
      assert.equal(streamed.statusCode, 400);
      const listing = await server.call('GET', 'artifacts/list', { run_id: runId });
      assert.ok(!listing.body.files.some((f: { path: string }) => f.path === 'streamed.bin'), 'nothing half-written is visible');
    });

    it('takes the run as run_id too, as MLflow 3.18 does', async () => {
      const response = await upload({ run_id: runId, path: 'by-run-id.txt' }, 'via run_id');
      assert.equal(response.statusCode, 200, response.body);
      assert.equal((await getArtifact({ run_id: runId, path: 'by-run-id.txt' })).body, 'via run_id');
    });

    it('answers an unknown run with 404', async () => {
      const response = await upload({ run_uuid: 'f'.repeat(32), path: 'x.txt' }, 'x');
      assert.equal(response.statusCode, 404);
    });
  });

  describe('create-promptlab-run', () => {
    const url = '/ajax-api/2.0/mlflow/runs/create-promptlab-run';
    const full = () => ({
      experiment_id: experimentId,
      run_name: 'my_run_name',
      prompt_template: 'Say {{ word }}',
      prompt_parameters: [{ key: 'word', value: 'hi' }],
      model_route: 'my_route',
      model_parameters: [{ key: 'temperature', value: 0.1 }],
      model_input: 'Say hi',
      model_output: 'hi',
      model_output_parameters: [{ key: 'latency', value: '100' }],
      mlflow_version: '3.18.0',
      user_id: 'username',
      start_time: 456,
    });

    it('names the first missing field, in MLflow’s order', async () => {
      const order = ['experiment_id', 'prompt_template', 'prompt_parameters', 'model_route', 'model_input', 'mlflow_version'];
      const body: Record<string, unknown> = {};
      const complete = full() as Record<string, unknown>;
      for (const field of order) {
        const response = await server.call('POST', url, body);
        assert.equal(response.status, 400, field);
        assert.deepEqual(response.body, { error_code: 'INVALID_PARAMETER_VALUE', message: `CreatePromptlabRun request must specify ${field}.` });
        body[field] = complete[field];
      }
      const emptyList = await server.call('POST', url, { ...complete, prompt_parameters: [] });
      assert.equal(emptyList.body.message, 'CreatePromptlabRun request must specify prompt_parameters.');
    });

    it('creates a finished run with the prompt’s params, tags, evaluation table and model', async () => {
      const response = await server.call('POST', url, full());
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const { run } = response.body;
      assert.equal(run.info.run_name, 'my_run_name');
      assert.equal(run.info.experiment_id, experimentId);
      assert.equal(run.info.user_id, 'username');
      assert.equal(run.info.status, 'FINISHED');
      assert.equal(run.info.start_time, 456);
      for (const param of [
        { key: 'model_route', value: 'my_route' },
        { key: 'prompt_template', value: 'Say {{ word }}' },
        { key: 'temperature', value: '0.1' },
      ]) {
        assert.ok(run.data.params.some((p: { key: string; value: string }) => p.key === param.key && p.value === param.value), param.key);
      }
      const tags = Object.fromEntries(run.data.tags.map((t: { key: string; value: string }) => [t.key, t.value]));
      assert.equal(tags['mlflow.loggedArtifacts'], '[{"path": "eval_results_table.json", "type": "table"}]');
      assert.equal(tags['mlflow.runSourceType'], 'PROMPT_ENGINEERING');
      assert.ok(tags['mlflow.log-model.history']?.includes('mlflow.prompt.promptlab_model'));
      const table = await getArtifact({ run_id: run.info.run_id, path: 'eval_results_table.json' });
      assert.deepEqual(JSON.parse(table.body), { columns: ['word', 'prompt', 'output', 'latency'], data: [['hi', 'Say hi', 'hi', '100']] });
      const mlmodel = await getArtifact({ run_id: run.info.run_id, path: 'model/MLmodel' });
      assert.equal(mlmodel.statusCode, 200);
      assert.match(mlmodel.body, /loader_module": "mlflow\.prompt\.promptlab_model"/);
      const parameters = await getArtifact({ run_id: run.info.run_id, path: 'model/parameters.yaml' });
      assert.match(parameters.body, /prompt_template: "Say \{\{ word \}\}"/);
    });

    it('answers an unknown experiment with 404 and creates nothing', async () => {
      const response = await server.call('POST', url, { ...full(), experiment_id: '123456' });
      assert.equal(response.status, 404);
    });
  });

  describe('logged model artifacts', () => {
    let modelId: string;
    before(async () => {
      const created = await server.call('POST', 'logged-models', { experiment_id: experimentId, name: 'lm' });
      modelId = created.body.model.info.model_id;
      const root = String(created.body.model.info.artifact_uri).replace(/^mlflow-artifacts:\/+/, '');
      await putArtifact(server, `${root}/MLmodel`, `model_id: ${modelId}`);
      await putArtifact(server, `${root}/code/predict.py`, 'print(1)');
    });

    it('lists a logged model’s folders under both API prefixes', async () => {
      for (const prefix of ['/api/2.0', '/ajax-api/2.0']) {
        const top = await server.call('GET', `${prefix}/mlflow/logged-models/${modelId}/artifacts/directories`);
        assert.equal(top.status, 200, prefix);
        assert.deepEqual(top.body.files, [
          { path: 'MLmodel', is_dir: false, file_size: `model_id: ${modelId}`.length },
          { path: 'code', is_dir: true },
        ]);
        assert.match(top.body.root_uri, /^mlflow-artifacts:/);
      }
      const sub = await server.call('GET', `/ajax-api/2.0/mlflow/logged-models/${modelId}/artifacts/directories`, { artifact_directory_path: 'code' });
      assert.deepEqual(sub.body.files, [{ path: 'code/predict.py', is_dir: false, file_size: 8 }]);
      const bad = await server.call('GET', `/ajax-api/2.0/mlflow/logged-models/${modelId}/artifacts/directories`, { artifact_directory_path: '../..' });
      assert.deepEqual(bad.body, { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path' });
    });

    it('downloads a logged model’s file, and needs artifact_file_path', async () => {
      const file = await server.inject({ method: 'GET', url: `/ajax-api/2.0/mlflow/logged-models/${modelId}/artifacts/files`, query: { artifact_file_path: 'MLmodel' } });
      assert.equal(file.statusCode, 200);
      assert.ok(file.body.includes(modelId));
      assert.equal(file.headers['content-type'], 'text/plain');
      const missing = await server.inject({ method: 'GET', url: `/ajax-api/2.0/mlflow/logged-models/${modelId}/artifacts/files` });
      assert.equal(missing.statusCode, 400);
      assert.deepEqual(JSON.parse(missing.body), { error_code: 'BAD_REQUEST', message: 'Request must include the "artifact_file_path" query parameter.' });
      const unknown = await server.inject({ method: 'GET', url: '/ajax-api/2.0/mlflow/logged-models/m-00000000000000000000000000000000/artifacts/files', query: { artifact_file_path: 'MLmodel' } });
      assert.equal(unknown.statusCode, 404);
    });
  });
});

describe('the MLflow UI artifact routes with authentication', () => {
  let harness: AuthHarness;
  let admin: Credential;
  let reporter: Credential;
  let stranger: Credential;
  let alphaRun: string;
  let betaRun: string;

  before(async () => {
    harness = await startAuthServer();
    const root = await harness.createUser('ua-admin', { admin: true });
    admin = { basic: [root.username, root.password] };
    const rep = await harness.createUser('ua-reporter');
    reporter = { basic: [rep.username, rep.password] };
    const other = await harness.createUser('ua-stranger');
    stranger = { basic: [other.username, other.password] };
    const alpha = await harness.createProject('alpha');
    await harness.createProject('beta');
    await harness.addMember(alpha, rep.username, 'reporter');
    for (const project of ['alpha', 'beta']) {
      const exp = await harness.request('POST', `/projects/${project}/api/2.0/mlflow/experiments/create`, { as: admin, body: { name: `ua-${project}` } });
      const run = await harness.request('POST', `/projects/${project}/api/2.0/mlflow/runs/create`, { as: admin, body: { experiment_id: exp.body.experiment_id } });
      const runId = run.body.run.info.run_id as string;
      const uploaded = await harness.request('POST', `/projects/${project}/ajax-api/2.0/mlflow/upload-artifact`, {
        as: admin,
        query: { run_uuid: runId, path: 'hello.txt' },
        body: `hello ${project}`,
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(uploaded.status, 200, uploaded.text);
      if (project === 'alpha') alphaRun = runId;
      else betaRun = runId;
    }
  });
  after(async () => harness.close());

  it('lets a reporter download but not upload', async () => {
    const download = await harness.request('GET', '/projects/alpha/get-artifact', { as: reporter, query: { run_id: alphaRun, path: 'hello.txt' } });
    assert.equal(download.status, 200);
    assert.equal(download.text, 'hello alpha');
    const upload = await harness.request('POST', '/projects/alpha/ajax-api/2.0/mlflow/upload-artifact', {
      as: reporter,
      query: { run_uuid: alphaRun, path: 'x.txt' },
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(upload.status, 403);
    assert.equal(upload.body.error_code, 'PERMISSION_DENIED');
  });

  it('keeps another project’s run files invisible and a stranger out', async () => {
    const other = await harness.request('GET', '/projects/alpha/get-artifact', { as: reporter, query: { run_id: betaRun, path: 'hello.txt' } });
    assert.equal(other.status, 404);
    const outsider = await harness.request('GET', '/projects/alpha/get-artifact', { as: stranger, query: { run_id: alphaRun, path: 'hello.txt' } });
    assert.equal(outsider.status, 404);
    assert.equal(outsider.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
    const anonymous = await harness.request('GET', '/projects/alpha/get-artifact', { query: { run_id: alphaRun, path: 'hello.txt' } });
    assert.equal(anonymous.status, 401);
  });
});
