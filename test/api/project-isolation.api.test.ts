import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';
import { runWithContext, systemContext, type ProjectRef } from '../../src/domain/request-context.ts';

/**
 * Projects keep their data apart whatever the credentials (these run with authentication off,
 * where everyone may use every project): an id or name of another project answers exactly as
 * one that does not exist, even when it is known; artifact paths of another project are
 * neither readable nor writable; the registry's frozen copies are read-only through the proxy.
 */

interface Call {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON shapes
  body: Record<string, any>;
  text: string;
  headers: Record<string, unknown>;
}

describe('project isolation', () => {
  let t: TestServer;
  let alpha: ProjectRef;
  let beta: ProjectRef;
  // What beta holds, by id: alpha guesses them all.
  const b = { experimentId: '', runId: '', modelId: '', runArtifactPath: '', versionStorage: '', webhookId: '' };

  async function call(project: string | null, method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT', path: string, fields?: unknown, headers: Record<string, string> = {}): Promise<Call> {
    const url = `${project ? `/projects/${project}` : ''}${path.startsWith('/') ? path : `/api/2.0/mlflow/${path}`}`;
    const response =
      method === 'GET'
        ? await t.inject({ method, url, query: (fields ?? {}) as Record<string, string>, headers })
        : method === 'PUT'
          ? await t.inject({ method, url, payload: String(fields ?? ''), headers: { 'content-type': 'application/octet-stream', ...headers } })
          : await t.inject({ method, url, payload: JSON.stringify(fields ?? {}), headers: { 'content-type': 'application/json', ...headers } });
    let body: Record<string, unknown> = {};
    try {
      body = response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {};
    } catch {
      body = { raw: response.body };
    }
    return { status: response.statusCode, body, text: response.body, headers: response.headers };
  }

  before(async () => {
    t = await startTestServer();
    const auth = t.server.services.auth!;
    const a = await auth.createProject({ name: 'alpha' });
    const bp = await auth.createProject({ name: 'beta' });
    alpha = { id: a.id, name: a.name };
    beta = { id: bp.id, name: bp.name };

    const experiment = await call('beta', 'POST', 'experiments/create', { name: 'shared-name' });
    assert.equal(experiment.status, 200, experiment.text);
    b.experimentId = experiment.body.experiment_id;
    const run = await call('beta', 'POST', 'runs/create', { experiment_id: b.experimentId });
    b.runId = run.body.run.info.run_id;
    await call('beta', 'POST', 'runs/log-batch', { run_id: b.runId, metrics: [{ key: 'acc', value: 0.9, timestamp: 1, step: 0 }], params: [{ key: 'lr', value: '0.1' }] });
    const artifactUri: string = run.body.run.info.artifact_uri;
    b.runArtifactPath = artifactUri.replace('mlflow-artifacts:/', '');
    const upload = await call('beta', 'PUT', `/api/2.0/mlflow-artifacts/artifacts/${b.runArtifactPath}/model/MLmodel`, 'flavors: {}');
    assert.equal(upload.status, 200, upload.text);
    const logged = await call('beta', 'POST', 'logged-models', { experiment_id: b.experimentId, name: 'lm' });
    b.modelId = logged.body.model.info.model_id;
    assert.equal((await call('beta', 'POST', 'registered-models/create', { name: 'shared-model' })).status, 200);
    const version = await call('beta', 'POST', 'model-versions/create', { name: 'shared-model', source: `runs:/${b.runId}/model`, run_id: b.runId });
    assert.equal(version.status, 200, version.text);
    const uri = await call('beta', 'GET', 'model-versions/get-download-uri', { name: 'shared-model', version: '1' });
    b.versionStorage = String(uri.body.artifact_uri).replace('mlflow-artifacts:/', '');
    await call('beta', 'POST', 'registered-models/alias', { name: 'shared-model', alias: 'production', version: '1' });
    const webhook = await call('beta', 'POST', 'webhooks', { name: 'hook', url: 'http://127.0.0.1:9/hook', events: [{ entity: 'model_version', action: 'created' }] });
    assert.equal(webhook.status, 200, webhook.text);
    b.webhookId = webhook.body.webhook.webhook_id;
  });

  after(async () => t?.close());

  it('gives new experiments of a project artifact locations under its own prefix', async () => {
    const experiment = await call('beta', 'GET', 'experiments/get', { experiment_id: b.experimentId });
    assert.equal(experiment.body.experiment.artifact_location, `mlflow-artifacts:/projects/${beta.id}/${b.experimentId}`);
    assert.ok(b.runArtifactPath.startsWith(`projects/${beta.id}/${b.experimentId}/`));
    assert.ok(b.versionStorage.startsWith(`projects/${beta.id}/registry/`), b.versionStorage);
    const inDefault = await call(null, 'POST', 'experiments/create', { name: 'default-one' });
    const defaultExperiment = await call(null, 'GET', 'experiments/get', { experiment_id: inDefault.body.experiment_id });
    assert.equal(defaultExperiment.body.experiment.artifact_location, `mlflow-artifacts:/${inDefault.body.experiment_id}`, 'the default project keeps its layout');
  });

  it('answers guessed experiment ids and names of another project as unknown (404)', async () => {
    const get = await call('alpha', 'GET', 'experiments/get', { experiment_id: b.experimentId });
    assert.equal(get.status, 404);
    assert.equal(get.body.message, `No Experiment with id=${b.experimentId} exists`);
    assert.equal((await call('alpha', 'GET', 'experiments/get-by-name', { experiment_name: 'shared-name' })).status, 404);
    assert.equal((await call('alpha', 'POST', 'experiments/delete', { experiment_id: b.experimentId })).status, 404);
    assert.equal((await call('alpha', 'POST', 'experiments/set-experiment-tag', { experiment_id: b.experimentId, key: 'k', value: 'v' })).status, 404);
    assert.equal((await call('alpha', 'POST', 'runs/create', { experiment_id: b.experimentId })).status, 404);
    const search = await call('alpha', 'POST', 'experiments/search', { max_results: 100 });
    assert.ok(!search.text.includes('shared-name'));
    // The same name may exist in both projects.
    assert.equal((await call('alpha', 'POST', 'experiments/create', { name: 'shared-name' })).status, 200);
  });

  it('answers guessed run ids of another project as unknown (404), for reads and writes alike', async () => {
    const message = `Run with id=${b.runId} not found`;
    for (const [method, path, fields] of [
      ['GET', 'runs/get', { run_id: b.runId }],
      ['POST', 'runs/log-batch', { run_id: b.runId, metrics: [{ key: 'x', value: 1, timestamp: 1, step: 0 }] }],
      ['POST', 'runs/set-tag', { run_id: b.runId, key: 'k', value: 'v' }],
      ['POST', 'runs/update', { run_id: b.runId, status: 'FINISHED' }],
      ['POST', 'runs/delete', { run_id: b.runId }],
      ['GET', 'metrics/get-history', { run_id: b.runId, metric_key: 'acc' }],
      ['GET', 'artifacts/list', { run_id: b.runId }],
    ] as const) {
      const response = await call('alpha', method, path, fields);
      assert.equal(response.status, 404, `${path}: ${response.text}`);
      assert.equal(response.body.message, message, path);
    }
    const search = await call('alpha', 'POST', 'runs/search', { experiment_ids: [b.experimentId] });
    assert.deepEqual(search.body.runs ?? [], [], 'searching another project’s experiment finds nothing');
    const untouched = await call('beta', 'GET', 'runs/get', { run_id: b.runId });
    assert.equal(untouched.body.run.info.status, 'RUNNING');
    assert.deepEqual(untouched.body.run.data.metrics.map((m: { key: string }) => m.key), ['acc']);
  });

  it('answers logged models, registered models, versions, aliases and webhooks of another project as unknown', async () => {
    assert.equal((await call('alpha', 'GET', `logged-models/${b.modelId}`)).status, 404);
    assert.equal((await call('alpha', 'DELETE', `logged-models/${b.modelId}`)).status, 404);
    assert.equal((await call('alpha', 'GET', 'registered-models/get', { name: 'shared-model' })).status, 404);
    assert.equal((await call('alpha', 'GET', 'model-versions/get', { name: 'shared-model', version: '1' })).status, 404);
    assert.equal((await call('alpha', 'GET', 'model-versions/get-download-uri', { name: 'shared-model', version: '1' })).status, 404);
    assert.equal((await call('alpha', 'GET', 'registered-models/alias', { name: 'shared-model', alias: 'production' })).status, 404);
    assert.equal((await call('alpha', 'POST', 'registered-models/alias', { name: 'shared-model', alias: 'production', version: '1' })).status, 404);
    assert.equal((await call('alpha', 'GET', `webhooks/${b.webhookId}`)).status, 404);
    assert.equal((await call('alpha', 'DELETE', `webhooks/${b.webhookId}`)).status, 404);
    const models = await call('alpha', 'GET', 'registered-models/search');
    assert.ok(!models.text.includes('shared-model'));
    const versions = await call('alpha', 'GET', 'model-versions/search', { filter: "name='shared-model'" });
    assert.ok(!versions.text.includes('shared-model'));
    const hooks = await call('alpha', 'GET', 'webhooks');
    assert.deepEqual(hooks.body, {});
    // The same model name may exist in both projects.
    assert.equal((await call('alpha', 'POST', 'registered-models/create', { name: 'shared-model' })).status, 200);
  });

  it('refuses to register another project’s files as a version', async () => {
    await call('alpha', 'POST', 'registered-models/create', { name: 'thief' });
    const byRun = await call('alpha', 'POST', 'model-versions/create', { name: 'thief', source: `runs:/${b.runId}/model` });
    assert.equal(byRun.status, 400);
    const byPath = await call('alpha', 'POST', 'model-versions/create', { name: 'thief', source: `mlflow-artifacts:/${b.runArtifactPath}/model` });
    assert.equal(byPath.status, 404);
    const byFrozen = await call('alpha', 'POST', 'model-versions/create', { name: 'thief', source: `mlflow-artifacts:/${b.versionStorage}` });
    assert.equal(byFrozen.status, 404);
    const byModelsUri = await call('alpha', 'POST', 'model-versions/create', { name: 'thief', source: 'models:/shared-model/1' });
    assert.notEqual(byModelsUri.status, 200, 'alpha’s shared-model has no version 1');
    const versions = await call('alpha', 'GET', 'model-versions/search', { filter: "name='thief'" });
    assert.deepEqual(versions.body.model_versions ?? [], []);
  });

  it('refuses artifact paths of another project: reads as missing, writes and deletes as forbidden', async () => {
    const file = `/api/2.0/mlflow-artifacts/artifacts/${b.runArtifactPath}/model/MLmodel`;
    assert.equal((await call('beta', 'GET', file)).status, 200, 'the owner reads it');
    for (const project of ['alpha', null]) {
      const read = await call(project, 'GET', file);
      assert.equal(read.status, 404, `${project}: ${read.text}`);
      assert.equal(read.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
      const list = await call(project, 'GET', '/api/2.0/mlflow-artifacts/artifacts', { path: `${b.runArtifactPath}/model` });
      assert.deepEqual(list.body, {}, `${project}: another project's folder lists as empty`);
      const write = await call(project, 'PUT', file, 'overwritten');
      assert.equal(write.status, 403, `${project}: ${write.text}`);
      assert.equal(write.body.error_code, 'PERMISSION_DENIED');
      const del = await call(project, 'DELETE', file);
      assert.equal(del.status, 403);
      const mpu = await call(project, 'POST', `/api/2.0/mlflow-artifacts/mpu/create/${b.runArtifactPath}`, { path: '/tmp/big.bin', num_parts: 1 });
      assert.equal(mpu.status, 403);
    }
    const stillThere = await call('beta', 'GET', file);
    assert.equal(stillThere.text, 'flavors: {}');
  });

  it('keeps the default project out of projects/ and other projects out of the root', async () => {
    const root = await call(null, 'GET', '/api/2.0/mlflow-artifacts/artifacts', { path: '' });
    assert.ok(!(root.body.files ?? []).some((f: { path: string }) => f.path === 'projects'), 'the other projects are not listed');
    const escape = await call(null, 'POST', 'experiments/create', { name: 'escape', artifact_location: `mlflow-artifacts:/projects/${beta.id}/${b.experimentId}` });
    assert.equal(escape.status, 403);
    const intoRegistry = await call('alpha', 'POST', 'experiments/create', { name: 'reg', artifact_location: `mlflow-artifacts:/projects/${alpha.id}/registry` });
    assert.equal(intoRegistry.status, 403);
    const external = await call('alpha', 'POST', 'experiments/create', { name: 'ext', artifact_location: 's3://bucket/alpha' });
    assert.equal(external.status, 200, 'locations the client writes itself are its business');
    const projectRoot = await call('beta', 'DELETE', `/api/2.0/mlflow-artifacts/artifacts/projects/${beta.id}`);
    assert.equal(projectRoot.status, 403, 'a project’s artifact root cannot be deleted as a whole');
  });

  it('serves registered versions’ frozen copies read-only through the proxy', async () => {
    const listing = await call('beta', 'GET', '/api/2.0/mlflow-artifacts/artifacts', { path: b.versionStorage });
    assert.deepEqual(listing.body.files.map((f: { path: string }) => f.path), ['MLmodel']);
    const read = await call('beta', 'GET', `/api/2.0/mlflow-artifacts/artifacts/${b.versionStorage}/MLmodel`);
    assert.equal(read.status, 200);
    const put = await call('beta', 'PUT', `/api/2.0/mlflow-artifacts/artifacts/${b.versionStorage}/MLmodel`, 'tampered');
    assert.equal(put.status, 403);
    assert.match(put.body.message, /read-only/);
    const del = await call('beta', 'DELETE', `/api/2.0/mlflow-artifacts/artifacts/${b.versionStorage}`);
    assert.equal(del.status, 403);
    const mpu = await call('beta', 'POST', `/api/2.0/mlflow-artifacts/mpu/create/${b.versionStorage}`, { path: 'x.bin', num_parts: 1 });
    assert.equal(mpu.status, 403);
    const newFile = await call('beta', 'PUT', `/api/2.0/mlflow-artifacts/artifacts/projects/${beta.id}/registry/new.txt`, 'x');
    assert.equal(newFile.status, 403, 'nothing new appears in the registry folder either');
    const defaultRegistry = await call(null, 'PUT', '/api/2.0/mlflow-artifacts/artifacts/registry/1/x/MLmodel', 'x');
    assert.equal(defaultRegistry.status, 403, 'the default project’s registry folder too');
    assert.equal((await call('beta', 'GET', `/api/2.0/mlflow-artifacts/artifacts/${b.versionStorage}/MLmodel`)).text, 'flavors: {}');
  });

  it('selects the project by /projects/<name>, GitLab’s /api/v4/projects/<id or name>/ml/mlflow, or X-MLFLOW-WORKSPACE', async () => {
    const viaPath = await call('beta', 'GET', 'experiments/get', { experiment_id: b.experimentId });
    assert.equal(viaPath.status, 200);
    for (const prefix of [`/api/v4/projects/${beta.id}/ml/mlflow`, '/api/v4/projects/beta/ml/mlflow']) {
      const response = await t.inject({ method: 'GET', url: `${prefix}/api/2.0/mlflow/experiments/get?experiment_id=${b.experimentId}` });
      assert.equal(response.statusCode, 200, `${prefix}: ${response.body}`);
    }
    const viaHeader = await call(null, 'GET', 'experiments/get', { experiment_id: b.experimentId }, { 'x-mlflow-workspace': 'beta' });
    assert.equal(viaHeader.status, 200);
    const conflict = await call('alpha', 'GET', 'experiments/get', { experiment_id: b.experimentId }, { 'x-mlflow-workspace': 'beta' });
    assert.equal(conflict.status, 400);
    const unknown = await call('nope', 'GET', 'experiments/search');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.message, "Project 'nope' does not exist or you are not a member of it.");
    const unknownId = await t.inject({ method: 'GET', url: '/api/v4/projects/999/ml/mlflow/api/2.0/mlflow/experiments/search' });
    assert.equal(unknownId.statusCode, 404);
    const bare = await call(null, 'GET', 'experiments/get', { experiment_id: b.experimentId });
    assert.equal(bare.status, 404, 'the bare URL is the default project');
  });

  it('maps experiment 0 (the client’s default) to the project’s own Default experiment', async () => {
    const run = await call('alpha', 'POST', 'runs/create', {});
    assert.equal(run.status, 200, run.text);
    const experimentId = run.body.run.info.experiment_id;
    assert.notEqual(experimentId, '0');
    assert.ok(String(run.body.run.info.artifact_uri).startsWith(`mlflow-artifacts:/projects/${alpha.id}/${experimentId}/`));
    const zero = await call('alpha', 'GET', 'experiments/get', { experiment_id: '0' });
    assert.equal(zero.body.experiment.name, 'Default');
    assert.equal(zero.body.experiment.experiment_id, experimentId);
    const again = await call('alpha', 'POST', 'runs/create', { experiment_id: '0' });
    assert.equal(again.body.run.info.experiment_id, experimentId);
    const defaultZero = await call(null, 'GET', 'experiments/get', { experiment_id: '0' });
    assert.equal(defaultZero.body.experiment.experiment_id, '0');
  });

  it('hands out multipart part URLs under the project’s prefix', async () => {
    const created = await call('beta', 'POST', `/api/2.0/mlflow-artifacts/mpu/create/${b.runArtifactPath}/big`, { path: '/tmp/weights.bin', num_parts: 1 });
    assert.equal(created.status, 200, created.text);
    const url = new URL(created.body.credentials[0].url);
    assert.ok(url.pathname.startsWith(`/projects/beta/api/2.0/mlflow-artifacts/mpu/upload-part/${b.runArtifactPath}/big/weights.bin`), url.pathname);
  });

  it('streams only the project’s own registry events', async () => {
    const stream = t.server.services.registryEvents!;
    const afterId = await stream.latestId();
    const seen: string[] = [];
    const subscription = runWithContext(systemContext({ project: alpha }), () =>
      stream.subscribe({ afterId, deliver: (events) => void seen.push(...events.map((e) => `${e.projectId}:${e.modelName}`)) }),
    );
    try {
      await call('beta', 'POST', 'registered-models/create', { name: 'beta-only' });
      await call('alpha', 'POST', 'registered-models/create', { name: 'alpha-only' });
      const deadline = Date.now() + 5000;
      while (!seen.includes(`${alpha.id}:alpha-only`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(seen, [`${alpha.id}:alpha-only`]);
    } finally {
      subscription.close();
    }
  });

  it('writes registry events with the project, and the web UI loads under the project prefix', async () => {
    const rows = await t.server.database.db
      .selectFrom('registry_events' as never)
      .select(['project_id' as never, 'model_name' as never])
      .execute();
    const projects = new Set((rows as Array<{ project_id: number; model_name: string }>).filter((r) => r.model_name === 'shared-model').map((r) => Number(r.project_id)));
    assert.deepEqual([...projects].sort(), [alpha.id, beta.id].sort());
    const page = await t.inject({ method: 'GET', url: '/projects/beta/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
  });
});
