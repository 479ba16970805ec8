import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type RunningServices } from '../../src/server.ts';
import type { RegistryEvent, RegistryEventSink } from '../../src/domain/registry/registry-events.ts';
import { startTestServer, type TestServer } from './test-server.ts';

const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
const PROMOTE = '/api/2.0/trove/registry/promote';
const CANDIDATES = '/api/2.0/trove/registry/candidates';

describe("GitLab's model experiments and the promote endpoint", () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.close();
  });

  async function upload(uri: string, relativePath: string, content: string): Promise<void> {
    const res = await t.inject({
      method: 'PUT',
      url: `${ARTIFACTS}/${uri.replace(/^mlflow-artifacts:\/+/, '')}/${relativePath}`,
      payload: content,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.statusCode, 200, res.body);
  }

  async function download(uri: string, relativePath: string): Promise<string> {
    const res = await t.inject({ method: 'GET', url: `${ARTIFACTS}/${uri.replace(/^mlflow-artifacts:\/+/, '')}/${relativePath}` });
    assert.equal(res.statusCode, 200, res.body);
    return res.body;
  }

  async function experimentByName(name: string): Promise<{ status: number; experiment?: { experiment_id: string; tags?: Array<{ key: string; value: string }> } }> {
    const res = await t.call('GET', 'experiments/get-by-name', { experiment_name: name });
    return { status: res.status, experiment: res.body.experiment };
  }

  async function newRun(experimentId: string, weights?: string): Promise<{ run_id: string; artifact_uri: string }> {
    const res = await t.call('POST', 'runs/create', { experiment_id: experimentId });
    const run = res.body.run.info;
    if (weights !== undefined) {
      await upload(run.artifact_uri, 'model/MLmodel', 'flavors: {}\n');
      await upload(run.artifact_uri, 'model/weights.bin', weights);
    }
    return run;
  }

  test('creating a model creates its [model] experiment, tagged so UIs can tell it apart', async () => {
    await t.call('POST', 'registered-models/create', { name: 'linked' });
    const { status, experiment } = await experimentByName('[model]linked');
    assert.equal(status, 200);
    const tags = Object.fromEntries((experiment?.tags ?? []).map((tag) => [tag.key, tag.value]));
    assert.equal(tags['trove.model_experiment'], 'linked');
    assert.match(tags['mlflow.note.content'] ?? '', /Candidate runs of registered model 'linked'/);
  });

  test('an existing experiment of that name is adopted, and a prompt gets no experiment', async () => {
    const created = await t.call('POST', 'experiments/create', { name: '[model]adopted' });
    await t.call('POST', 'registered-models/create', { name: 'adopted' });
    const { experiment } = await experimentByName('[model]adopted');
    assert.equal(experiment?.experiment_id, created.body.experiment_id);
    assert.ok(experiment?.tags?.some((tag) => tag.key === 'trove.model_experiment' && tag.value === 'adopted'));
    await t.call('POST', 'registered-models/create', { name: 'a-prompt', tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }] });
    assert.equal((await experimentByName('[model]a-prompt')).status, 404);
  });

  test('renaming a model renames its experiment', async () => {
    await t.call('POST', 'registered-models/create', { name: 'old-name' });
    const before = await experimentByName('[model]old-name');
    await t.call('POST', 'registered-models/rename', { name: 'old-name', new_name: 'new-name' });
    assert.equal((await experimentByName('[model]old-name')).status, 404);
    const after = await experimentByName('[model]new-name');
    assert.equal(after.experiment?.experiment_id, before.experiment?.experiment_id);
    assert.ok(after.experiment?.tags?.some((tag) => tag.key === 'trove.model_experiment' && tag.value === 'new-name'));
  });

  test("the model's candidates are its experiment's runs, with the versions promoted from each", async () => {
    await t.call('POST', 'registered-models/create', { name: 'candidates' });
    const experimentId = (await experimentByName('[model]candidates')).experiment!.experiment_id;
    const first = await newRun(experimentId, 'w1');
    const second = await newRun(experimentId, 'w2');
    await newRun((await t.call('POST', 'experiments/create', { name: 'elsewhere' })).body.experiment_id, 'w3');
    await t.call('POST', PROMOTE, { run_id: first.run_id, model_name: 'candidates' });
    const res = await t.call('GET', CANDIDATES, { name: 'candidates' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.experiment_id, experimentId);
    const runs = res.body.runs.map((r: { info: { run_id: string }; model_versions: string[] }) => [r.info.run_id, r.model_versions]);
    assert.deepEqual(runs, [
      [second.run_id, []],
      [first.run_id, ['1']],
    ]);
    assert.equal((await t.call('GET', CANDIDATES, { name: 'nope' })).status, 404);
  });

  test('promoting a run creates the next version from runs:/<run>/model, frozen, with alias and label', async () => {
    await t.call('POST', 'registered-models/create', { name: 'promoted' });
    const experimentId = (await experimentByName('[model]promoted')).experiment!.experiment_id;
    const run = await newRun(experimentId, 'promoted-weights');
    const res = await t.call('POST', PROMOTE, {
      run_id: run.run_id,
      model_name: 'promoted',
      description: 'from the UI',
      alias: 'champion',
      version_label: '1.0.0',
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const version = res.body.model_version;
    assert.equal(version.name, 'promoted');
    assert.equal(version.version, '1');
    assert.equal(version.source, `runs:/${run.run_id}/model`);
    assert.equal(version.run_id, run.run_id);
    assert.equal(version.status, 'READY');
    assert.equal(version.description, 'from the UI');
    assert.deepEqual(version.aliases, ['champion']);
    assert.deepEqual(version.tags, [{ key: 'trove.version_label', value: '1.0.0' }]);
    const uri = (await t.call('GET', 'model-versions/get-download-uri', { name: 'promoted', version: '1' })).body.artifact_uri;
    assert.equal(await download(uri, 'weights.bin'), 'promoted-weights');
    const byAlias = await t.call('GET', 'registered-models/alias', { name: 'promoted', alias: 'champion' });
    assert.equal(byAlias.body.model_version.version, '1');
    // Same label again: refused before anything is created.
    const again = await t.call('POST', PROMOTE, { run_id: run.run_id, model_name: 'promoted', version_label: '1.0.0' });
    assert.equal(again.status, 400);
    assert.equal(again.body.error_code, 'RESOURCE_ALREADY_EXISTS');
    const next = await t.call('POST', PROMOTE, { run_id: run.run_id, model_name: 'promoted' });
    assert.equal(next.body.model_version.version, '2');
  });

  test('a run whose model is an MLflow 3 logged model is promoted from the logged model files', async () => {
    await t.call('POST', 'registered-models/create', { name: 'from-logged' });
    const experimentId = (await experimentByName('[model]from-logged')).experiment!.experiment_id;
    const run = await newRun(experimentId);
    const logged = (await t.call('POST', 'logged-models', { experiment_id: experimentId, name: 'model', source_run_id: run.run_id })).body.model.info;
    await upload(logged.artifact_uri, 'MLmodel', 'flavors: {}\n');
    await upload(logged.artifact_uri, 'model.pkl', 'logged-model-bytes');
    const res = await t.call('POST', PROMOTE, { run_id: run.run_id, model_name: 'from-logged' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.model_version.source, `runs:/${run.run_id}/model`);
    assert.equal(res.body.model_version.model_id, logged.model_id);
    const uri = (await t.call('GET', 'model-versions/get-download-uri', { name: 'from-logged', version: '1' })).body.artifact_uri;
    assert.equal(await download(uri, 'model.pkl'), 'logged-model-bytes');
    // The logged model lists the registration, as after the MLflow client registers it.
    const model = (await t.call('GET', `/api/2.0/mlflow/logged-models/${logged.model_id}`)).body.model;
    assert.deepEqual(model.info.registrations, [{ name: 'from-logged', version: '1' }]);
  });

  test('create_model_if_missing creates the model and its experiment', async () => {
    const experimentId = (await t.call('POST', 'experiments/create', { name: 'plain' })).body.experiment_id;
    const run = await newRun(experimentId, 'w');
    const refused = await t.call('POST', PROMOTE, { run_id: run.run_id, model_name: 'brand-new' });
    assert.equal(refused.status, 404);
    assert.equal(refused.body.message, 'Registered Model with name=brand-new not found');
    const res = await t.call('POST', PROMOTE, { run_id: run.run_id, model_name: 'brand-new', create_model_if_missing: true, artifact_path: 'model/' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.model_version.version, '1');
    assert.equal((await experimentByName('[model]brand-new')).status, 200);
  });

  test('bad promotions are 4xx MLflow errors and create nothing', async () => {
    const experimentId = (await t.call('POST', 'experiments/create', { name: 'bad-promotions' })).body.experiment_id;
    const empty = await newRun(experimentId);
    const withModel = await newRun(experimentId, 'w');
    const cases: Array<[Record<string, unknown>, number, string | RegExp]> = [
      [{ run_id: 'f'.repeat(32), model_name: 'never' }, 404, `Run with id=${'f'.repeat(32)} not found`],
      [{ run_id: empty.run_id, model_name: 'never', create_model_if_missing: true }, 400, `Run '${empty.run_id}' has no artifacts at 'model' and no logged model named 'model'.`],
      [{ run_id: withModel.run_id, model_name: 'never', create_model_if_missing: true, alias: 'latest' }, 400, "'latest' alias name (case insensitive) is reserved."],
      [{ run_id: withModel.run_id, model_name: 'bad/name', create_model_if_missing: true }, 400, "Invalid model name 'bad/name'. Names cannot contain '/' or ':'."],
      [{ run_id: withModel.run_id, model_name: 'never', create_model_if_missing: true, artifact_path: '../x' }, 400, 'Invalid path'],
      [{ model_name: 'never' }, 400, /^Missing value for required parameter 'run_id'/],
    ];
    for (const [fields, status, message] of cases) {
      const res = await t.call('POST', PROMOTE, fields);
      assert.equal(res.status, status, JSON.stringify(fields));
      if (typeof message === 'string') assert.equal(res.body.message, message);
      else assert.match(res.body.message, message);
    }
    assert.equal((await t.call('GET', 'registered-models/get', { name: 'never' })).status, 404);
  });
});

describe('registry events', () => {
  let server: RunningServices;
  let dataDir: string;
  const published: RegistryEvent[][] = [];
  const sink: RegistryEventSink = {
    async publish(events, store) {
      assert.ok(store, 'the transaction store is handed to the sink');
      published.push(events);
    },
  };

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-registry-events-'));
    server = await createServer({
      backendStoreUri: `sqlite:///${path.join(dataDir, 'trove.db')}`,
      artifactsDestination: path.join(dataDir, 'artifacts'),
      defaultArtifactRoot: 'mlflow-artifacts:/',
      registryEvents: sink,
    });
  });
  after(async () => {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function call(method: 'POST' | 'DELETE' | 'PATCH', url: string, payload: Record<string, unknown>): Promise<void> {
    const res = await server.app.inject({ method, url: `/api/2.0/mlflow/${url}`, payload, headers: { 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 200, res.body);
  }

  function summary(): string[] {
    return published.flat().map((e) => `${e.entity}.${e.action} ${JSON.stringify(e.data)}`);
  }

  test('each committed change publishes MLflow webhook payloads, and failed requests publish nothing', async () => {
    await call('POST', 'registered-models/create', { name: 'evented', tags: [{ key: 'k', value: 'v' }], description: 'd' });
    await call('POST', 'model-versions/create', { name: 'evented', source: 's3://b/m', run_id: 'abc', tags: [{ key: 't', value: '1' }] });
    await call('POST', 'model-versions/set-tag', { name: 'evented', version: '1', key: 'validated', value: 'true' });
    await call('DELETE', 'model-versions/delete-tag', { name: 'evented', version: '1', key: 'validated' });
    await call('POST', 'registered-models/alias', { name: 'evented', alias: 'prod', version: '1' });
    await call('POST', 'model-versions/transition-stage', { name: 'evented', version: '1', stage: 'Staging', archive_existing_versions: false });
    await call('DELETE', 'model-versions/delete', { name: 'evented', version: '1' });
    const failed = await server.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/registered-models/alias',
      payload: { name: 'evented', alias: 'v1', version: '1' },
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(failed.statusCode, 400);
    assert.deepEqual(summary(), [
      'registered_model.created {"name":"evented","tags":{"k":"v"},"description":"d"}',
      'model_version.created {"name":"evented","version":"1","source":"s3://b/m","run_id":"abc","tags":{"t":"1"},"description":null}',
      'model_version_tag.set {"name":"evented","version":"1","key":"validated","value":"true"}',
      'model_version_tag.deleted {"name":"evented","version":"1","key":"validated"}',
      'model_version_alias.created {"name":"evented","alias":"prod","version":"1"}',
      'model_version.updated {"name":"evented","version":"1","current_stage":"Staging","previous_stage":"None"}',
      'model_version_alias.deleted {"name":"evented","alias":"prod"}',
      'model_version.deleted {"name":"evented","version":"1"}',
    ]);
    const all = published.flat();
    assert.ok(all.every((e) => e.name === 'evented' && typeof e.timestamp === 'number'));
  });

  test('a sink that fails rolls the change back', async () => {
    const failing: RegistryEventSink = {
      async publish() {
        throw new Error('outbox unavailable');
      },
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-registry-events-fail-'));
    const other = await createServer({
      backendStoreUri: `sqlite:///${path.join(dir, 'trove.db')}`,
      artifactsDestination: path.join(dir, 'artifacts'),
      defaultArtifactRoot: 'mlflow-artifacts:/',
      registryEvents: failing,
    });
    try {
      const res = await other.app.inject({
        method: 'POST',
        url: '/api/2.0/mlflow/registered-models/create',
        payload: { name: 'rolled-back' },
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.statusCode, 500);
      const got = await other.app.inject({ method: 'GET', url: '/api/2.0/mlflow/registered-models/get?name=rolled-back' });
      assert.equal(got.statusCode, 404);
    } finally {
      await other.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
