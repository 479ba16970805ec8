import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './test-server.ts';

interface WireVersion {
  name: string;
  version: string;
  current_stage: string;
  source: string;
  run_id?: string;
  status: string;
  aliases?: string[];
  tags?: Array<{ key: string; value: string }>;
  model_id?: string;
  model_params?: Array<{ name: string; value: string }>;
  model_metrics?: Array<{ key: string; value: number; step: number }>;
}

const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';

describe('model versions API', () => {
  let t: TestServer;
  let experimentId: string;

  before(async () => {
    t = await startTestServer();
    experimentId = (await t.call('POST', 'experiments/create', { name: 'versions' })).body.experiment_id;
  });
  after(async () => {
    await t.close();
  });

  function proxyPath(uri: string): string {
    assert.match(uri, /^mlflow-artifacts:\//);
    return uri.replace(/^mlflow-artifacts:\/+/, '');
  }

  async function upload(uri: string, relativePath: string, content: string): Promise<void> {
    const res = await t.inject({
      method: 'PUT',
      url: `${ARTIFACTS}/${proxyPath(uri)}/${relativePath}`,
      payload: content,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.statusCode, 200, res.body);
  }

  async function download(uri: string, relativePath: string): Promise<{ status: number; body: string }> {
    const res = await t.inject({ method: 'GET', url: `${ARTIFACTS}/${proxyPath(uri)}/${relativePath}` });
    return { status: res.statusCode, body: res.body };
  }

  async function deleteArtifacts(uri: string): Promise<void> {
    const res = await t.inject({ method: 'DELETE', url: `${ARTIFACTS}/${proxyPath(uri)}` });
    assert.equal(res.statusCode, 200, res.body);
  }

  async function newRun(): Promise<{ run_id: string; artifact_uri: string }> {
    const res = await t.call('POST', 'runs/create', { experiment_id: experimentId });
    assert.equal(res.status, 200);
    return res.body.run.info;
  }

  /** A run with a model folder holding MLmodel and weights. */
  async function runWithModel(weights = 'weights-v1'): Promise<{ run_id: string; artifact_uri: string }> {
    const run = await newRun();
    await upload(run.artifact_uri, 'model/MLmodel', 'flavors: {}\n');
    await upload(run.artifact_uri, 'model/data/weights.bin', weights);
    return run;
  }

  async function createModel(name: string): Promise<void> {
    const res = await t.call('POST', 'registered-models/create', { name });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async function createVersion(fields: Record<string, unknown>): Promise<WireVersion> {
    const res = await t.call('POST', 'model-versions/create', fields);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.model_version as WireVersion;
  }

  async function downloadUri(name: string, version: string): Promise<string> {
    const res = await t.call('GET', 'model-versions/get-download-uri', { name, version });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.artifact_uri as string;
  }

  describe('sources and immutability', () => {
    before(async () => {
      await createModel('frozen');
    });

    test('a version is created READY in stage None with version "1"', async () => {
      const run = await runWithModel();
      const version = await createVersion({ name: 'frozen', source: `${run.artifact_uri}/model`, run_id: run.run_id, description: 'd' });
      assert.equal(version.version, '1');
      assert.equal(version.status, 'READY');
      assert.equal(version.current_stage, 'None');
      assert.equal(version.source, `${run.artifact_uri}/model`);
      assert.equal(version.run_id, run.run_id);
      assert.equal((version as unknown as { description: string }).description, 'd');
    });

    test('an mlflow-artifacts source is frozen: deleting the run files keeps the version downloadable', async () => {
      const run = await runWithModel('weights-frozen');
      const version = await createVersion({ name: 'frozen', source: `${run.artifact_uri}/model`, run_id: run.run_id });
      const uri = await downloadUri('frozen', version.version);
      assert.match(uri, /^mlflow-artifacts:\/registry\/\d+\/[0-9a-f]{32}$/);
      await deleteArtifacts(`${run.artifact_uri}/model`);
      assert.equal((await download(run.artifact_uri, 'model/data/weights.bin')).status, 404);
      assert.deepEqual(await download(uri, 'data/weights.bin'), { status: 200, body: 'weights-frozen' });
      assert.deepEqual(await download(uri, 'MLmodel'), { status: 200, body: 'flavors: {}\n' });
      const listing = await t.inject({ method: 'GET', url: `${ARTIFACTS}?path=${proxyPath(uri)}` });
      assert.deepEqual(JSON.parse(listing.body).files.map((f: { path: string }) => f.path).sort(), ['MLmodel', 'data']);
    });

    test('re-logging the run artifacts after registration does not change the registered version', async () => {
      const run = await runWithModel('original');
      const version = await createVersion({ name: 'frozen', source: `runs:/${run.run_id}/model` });
      await upload(run.artifact_uri, 'model/data/weights.bin', 'overwritten');
      const uri = await downloadUri('frozen', version.version);
      assert.equal((await download(uri, 'data/weights.bin')).body, 'original');
    });

    test('a runs:/ source resolves to the run artifacts and fills run_id', async () => {
      const run = await runWithModel('via-runs-uri');
      const version = await createVersion({ name: 'frozen', source: `runs:/${run.run_id}/model` });
      assert.equal(version.source, `runs:/${run.run_id}/model`);
      assert.equal(version.run_id, run.run_id);
      const uri = await downloadUri('frozen', version.version);
      assert.equal((await download(uri, 'data/weights.bin')).body, 'via-runs-uri');
      const mismatch = await t.call('POST', 'model-versions/create', { name: 'frozen', source: `runs:/${run.run_id}/model`, run_id: 'f'.repeat(32) });
      assert.equal(mismatch.status, 400);
      assert.equal(
        mismatch.body.message,
        `Invalid model version source: 'runs:/${run.run_id}/model'. The run_id request parameter must identify the resource that contains the source.`,
      );
      const unknown = await t.call('POST', 'model-versions/create', { name: 'frozen', source: `runs:/${'e'.repeat(32)}/model` });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.error_code, 'INVALID_PARAMETER_VALUE');
    });

    test('a models:/m-<id> source resolves to the logged model: run_id, model_id, params and metrics', async () => {
      const run = await newRun();
      const created = await t.call('POST', 'logged-models', {
        experiment_id: experimentId,
        name: 'model',
        source_run_id: run.run_id,
        params: [{ key: 'C', value: '0.5' }],
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const model = created.body.model.info;
      await t.call('POST', 'runs/log-metric', { run_id: run.run_id, key: 'accuracy', value: 0.9, timestamp: 1, step: 0, model_id: model.model_id });
      await upload(model.artifact_uri, 'MLmodel', 'flavors: {}\n');
      await upload(model.artifact_uri, 'model.pkl', 'pickled');
      await t.call('PATCH', `/api/2.0/mlflow/logged-models/${model.model_id}`, { model_id: model.model_id, status: 'LOGGED_MODEL_READY' });

      const version = await createVersion({ name: 'frozen', source: `models:/${model.model_id}`, model_id: model.model_id });
      assert.equal(version.source, `models:/${model.model_id}`);
      assert.equal(version.run_id, run.run_id);
      assert.equal(version.model_id, model.model_id);
      assert.deepEqual(version.model_params, [{ name: 'C', value: '0.5' }]);
      assert.equal(version.model_metrics?.[0]?.key, 'accuracy');
      assert.equal(version.model_metrics?.[0]?.value, 0.9);
      const uri = await downloadUri('frozen', version.version);
      assert.match(uri, /^mlflow-artifacts:\/registry\//);
      // Deleting the logged model's files (or the model) never reaches the version.
      await deleteArtifacts(model.artifact_uri);
      assert.equal((await download(uri, 'model.pkl')).body, 'pickled');
      // The client's own call sends no model_id; the source alone is enough.
      const again = await createVersion({ name: 'frozen', source: `models:/${model.model_id}` });
      assert.equal(again.model_id, model.model_id);
    });

    test('an unknown logged model in a models:/ source is a 400 naming model_id', async () => {
      const source = `models:/m-${'0'.repeat(32)}`;
      const res = await t.call('POST', 'model-versions/create', { name: 'frozen', source });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: `Invalid model version source: '${source}'. The model_id request parameter must identify the resource that contains the source.`,
      });
    });

    test('a models:/<name>/<version> source copies that version again', async () => {
      const run = await runWithModel('copied-from-version');
      const first = await createVersion({ name: 'frozen', source: `runs:/${run.run_id}/model` });
      await createModel('frozen-copy');
      const copy = await createVersion({ name: 'frozen-copy', source: `models:/frozen/${first.version}` });
      assert.equal(copy.source, `models:/frozen/${first.version}`);
      assert.equal(copy.run_id, run.run_id);
      const uri = await downloadUri('frozen-copy', copy.version);
      assert.notEqual(uri, await downloadUri('frozen', first.version));
      assert.equal((await download(uri, 'data/weights.bin')).body, 'copied-from-version');
      const missing = await t.call('POST', 'model-versions/create', { name: 'frozen-copy', source: 'models:/frozen/999' });
      assert.equal(missing.status, 404);
    });

    test('a runs:/ source for a run that does not exist is registered when run_id names the same run, and serves no files', async () => {
      const missingRun = 'a'.repeat(32);
      const version = await createVersion({ name: 'frozen', source: `runs:/${missingRun}/model`, run_id: missingRun });
      assert.equal(version.source, `runs:/${missingRun}/model`);
      assert.equal(version.run_id, missingRun);
      assert.equal(await downloadUri('frozen', version.version), `runs:/${missingRun}/model`);
      const withoutRunId = await t.call('POST', 'model-versions/create', { name: 'frozen', source: `runs:/${missingRun}/model` });
      assert.equal(withoutRunId.status, 400);
      const otherRun = await t.call('POST', 'model-versions/create', { name: 'frozen', source: `runs:/${missingRun}/model`, run_id: 'b'.repeat(32) });
      assert.equal(otherRun.status, 400);
      assert.match(otherRun.body.message, /The run_id request parameter must identify the resource that contains the source/);
    });

    test('a local path source needs a run_id whose local artifact location contains it', async () => {
      const localExperiment = (await t.call('POST', 'experiments/create', { name: 'local-artifacts', artifact_location: '/srv/trove-local-artifacts' })).body.experiment_id;
      const run = (await t.call('POST', 'runs/create', { experiment_id: localExperiment })).body.run.info;
      const inside = await createVersion({ name: 'frozen', source: `${run.artifact_uri}/model`, run_id: run.run_id });
      assert.equal(inside.source, `${run.artifact_uri}/model`);
      const asFileUri = await createVersion({ name: 'frozen', source: `file://${run.artifact_uri}/model`, run_id: run.run_id });
      assert.equal(asFileUri.run_id, run.run_id);
      const message = /To use a local path as a model version source, the run_id request parameter has to be specified/;
      for (const fields of [
        { source: `${run.artifact_uri}/model` },
        { source: '/tmp', run_id: run.run_id },
        { source: 'file:///srv/models/m' },
        { source: '/srv/models/m', run_id: (await newRun()).run_id },
      ]) {
        const res = await t.call('POST', 'model-versions/create', { name: 'frozen', ...fields });
        assert.equal(res.status, 400, JSON.stringify(fields));
        assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
        assert.match(res.body.message, message);
      }
    });

    test('sources outside the artifact proxy are stored and served as given', async () => {
      for (const source of ['s3://bucket/path/model', 'gs://b/m']) {
        const version = await createVersion({ name: 'frozen', source });
        assert.equal(version.source, source);
        assert.equal(await downloadUri('frozen', version.version), source);
      }
    });

    test('an mlflow-artifacts source with nothing behind it is referenced, not copied', async () => {
      const version = await createVersion({ name: 'frozen', source: 'mlflow-artifacts:/nothing/here' });
      assert.equal(await downloadUri('frozen', version.version), 'mlflow-artifacts:/nothing/here');
    });

    test('sources with relative path references are refused', async () => {
      for (const source of ['mlflow-artifacts:/0/../../etc', 's3://b/a/../../x', 'mlflow-artifacts:/0/%2e%2e/x', 'mlflow-artifacts:/0/%252e%252e/x']) {
        const res = await t.call('POST', 'model-versions/create', { name: 'frozen', source });
        assert.equal(res.status, 400, source);
        assert.match(res.body.message, /^Invalid model version source: .* an absolute path must be provided without relative path references present/);
      }
    });

    test('creating a version needs a model, a name and a source', async () => {
      const unknown = await t.call('POST', 'model-versions/create', { name: 'nope', source: 's3://x' });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.message, 'Registered Model with name=nope not found');
      const noSource = await t.call('POST', 'model-versions/create', { name: 'frozen' });
      assert.equal(noSource.status, 400);
      assert.equal(noSource.body.message, "Missing value for required parameter 'source'. See the API docs for more information about request parameters.");
      const badTag = await t.call('POST', 'model-versions/create', { name: 'frozen', source: 's3://x', tags: [{ key: '', value: 'v' }] });
      assert.equal(badTag.status, 400);
    });
  });

  describe('numbering, deletion and aliases', () => {
    before(async () => {
      await createModel('numbered');
    });

    test('version numbers are never reused after deletions', async () => {
      const v1 = await createVersion({ name: 'numbered', source: 's3://x/1' });
      const v2 = await createVersion({ name: 'numbered', source: 's3://x/2' });
      assert.deepEqual([v1.version, v2.version], ['1', '2']);
      assert.equal((await t.call('DELETE', 'model-versions/delete', { name: 'numbered', version: '2' })).status, 200);
      const v3 = await createVersion({ name: 'numbered', source: 's3://x/3' });
      assert.equal(v3.version, '3');
      await t.call('DELETE', 'model-versions/delete', { name: 'numbered', version: '3' });
      await t.call('DELETE', 'model-versions/delete', { name: 'numbered', version: '1' });
      const v4 = await createVersion({ name: 'numbered', source: 's3://x/4' });
      assert.equal(v4.version, '4');
    });

    test('a deleted version is gone from get, search, latest versions and download', async () => {
      const version = await createVersion({ name: 'numbered', source: 's3://x/gone' });
      await t.call('DELETE', 'model-versions/delete', { name: 'numbered', version: version.version });
      const got = await t.call('GET', 'model-versions/get', { name: 'numbered', version: version.version });
      assert.equal(got.status, 404);
      assert.deepEqual(got.body, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Model Version (name=numbered, version=${version.version}) not found` });
      assert.equal((await t.call('GET', 'model-versions/get-download-uri', { name: 'numbered', version: version.version })).status, 404);
      const search = await t.call('GET', 'model-versions/search', { filter: "name = 'numbered'" });
      assert.ok(!search.body.model_versions.some((v: WireVersion) => v.version === version.version));
      const latest = await t.call('POST', 'registered-models/get-latest-versions', { name: 'numbered' });
      assert.deepEqual(latest.body.model_versions.map((v: WireVersion) => v.version), ['4']);
      assert.equal((await t.call('DELETE', 'model-versions/delete', { name: 'numbered', version: version.version })).status, 404);
    });

    test('deleting a version drops its aliases and leaves the others', async () => {
      const a = await createVersion({ name: 'numbered', source: 's3://x/a' });
      const b = await createVersion({ name: 'numbered', source: 's3://x/b' });
      await t.call('POST', 'registered-models/alias', { name: 'numbered', alias: 'prod', version: a.version });
      await t.call('POST', 'registered-models/alias', { name: 'numbered', alias: 'shadow', version: a.version });
      await t.call('POST', 'registered-models/alias', { name: 'numbered', alias: 'next', version: b.version });
      await t.call('DELETE', 'model-versions/delete', { name: 'numbered', version: a.version });
      const missing = await t.call('GET', 'registered-models/alias', { name: 'numbered', alias: 'prod' });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.message, 'Registered model alias prod not found.');
      const model = (await t.call('GET', 'registered-models/get', { name: 'numbered' })).body.registered_model;
      assert.deepEqual(model.aliases, [{ alias: 'next', version: b.version }]);
    });

    test('deleting a version deletes its frozen copy', async () => {
      const run = await runWithModel('short-lived');
      const version = await createVersion({ name: 'numbered', source: `runs:/${run.run_id}/model` });
      const uri = await downloadUri('numbered', version.version);
      assert.equal((await download(uri, 'data/weights.bin')).status, 200);
      await t.call('DELETE', 'model-versions/delete', { name: 'numbered', version: version.version });
      assert.equal((await download(uri, 'data/weights.bin')).status, 404);
      // The run's own files are not the registry's to delete.
      assert.equal((await download(run.artifact_uri, 'model/data/weights.bin')).status, 200);
    });

    test('bad and unknown versions are rejected with MLflow messages', async () => {
      const cases: Array<[unknown, number, string]> = [
        ['abc', 400, "Parameter 'version' must be an integer, got 'abc'."],
        ['1.5', 400, "Parameter 'version' must be an integer, got '1.5'."],
        ['0', 400, "Parameter 'version' must be a positive integer, got '0'."],
        ['-3', 400, "Parameter 'version' must be a positive integer, got '-3'."],
        ['999', 404, 'Model Version (name=numbered, version=999) not found'],
      ];
      for (const [version, status, message] of cases) {
        const res = await t.call('GET', 'model-versions/get', { name: 'numbered', version });
        assert.equal(res.status, status, String(version));
        assert.equal(res.body.message, message);
      }
      const missing = await t.call('GET', 'model-versions/get', { name: 'numbered' });
      assert.equal(missing.status, 400);
      assert.match(missing.body.message, /^Missing value for required parameter 'version'/);
      assert.equal((await t.call('GET', 'model-versions/get', { name: 'nope', version: '1' })).status, 404);
    });
  });

  describe('updates, stages and tags', () => {
    before(async () => {
      await createModel('lifecycle');
      for (let i = 0; i < 4; i += 1) await createVersion({ name: 'lifecycle', source: `s3://x/${i}` });
    });

    test('update sets the description; absent clears it', async () => {
      const res = await t.call('PATCH', 'model-versions/update', { name: 'lifecycle', version: '1', description: 'good' });
      assert.equal(res.status, 200);
      assert.equal(res.body.model_version.description, 'good');
      const cleared = await t.call('PATCH', 'model-versions/update', { name: 'lifecycle', version: '1' });
      assert.equal(cleared.body.model_version.description, undefined);
    });

    test('transition-stage moves a version, and archive_existing_versions archives the others in that stage', async () => {
      let res = await t.call('POST', 'model-versions/transition-stage', { name: 'lifecycle', version: '1', stage: 'production', archive_existing_versions: false });
      assert.equal(res.status, 200);
      assert.equal(res.body.model_version.current_stage, 'Production');
      await t.call('POST', 'model-versions/transition-stage', { name: 'lifecycle', version: '2', stage: 'Production', archive_existing_versions: 'false' });
      res = await t.call('POST', 'model-versions/transition-stage', { name: 'lifecycle', version: '3', stage: 'PRODUCTION', archive_existing_versions: true });
      assert.equal(res.body.model_version.current_stage, 'Production');
      const stages = await Promise.all(
        ['1', '2', '3', '4'].map(async (v) => (await t.call('GET', 'model-versions/get', { name: 'lifecycle', version: v })).body.model_version.current_stage),
      );
      assert.deepEqual(stages, ['Archived', 'Archived', 'Production', 'None']);
    });

    test('unknown stages and archiving into a non-active stage are 400', async () => {
      const bad = await t.call('POST', 'model-versions/transition-stage', { name: 'lifecycle', version: '4', stage: 'Prod', archive_existing_versions: false });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.message, 'Invalid Model Version stage: Prod. Value must be one of None, Staging, Production, Archived.');
      const archive = await t.call('POST', 'model-versions/transition-stage', { name: 'lifecycle', version: '4', stage: 'Archived', archive_existing_versions: true });
      assert.equal(archive.status, 400);
      assert.equal(
        archive.body.message,
        "Model version transition cannot archive existing model versions because 'Archived' is not an Active stage. Valid stages are ['Staging', 'Production']",
      );
      const missing = await t.call('POST', 'model-versions/transition-stage', { name: 'lifecycle', version: '4' });
      assert.equal(missing.status, 400);
      assert.match(missing.body.message, /^Missing value for required parameter 'stage'/);
    });

    test('version tags can be set, replaced and deleted; deleting a missing tag succeeds', async () => {
      assert.equal((await t.call('POST', 'model-versions/set-tag', { name: 'lifecycle', version: '4', key: 'validated', value: 'true' })).status, 200);
      await t.call('POST', 'model-versions/set-tag', { name: 'lifecycle', version: '4', key: 'owner', value: 'a' });
      await t.call('POST', 'model-versions/set-tag', { name: 'lifecycle', version: '4', key: 'owner', value: 'b' });
      let version = (await t.call('GET', 'model-versions/get', { name: 'lifecycle', version: '4' })).body.model_version as WireVersion;
      assert.deepEqual(version.tags, [{ key: 'owner', value: 'b' }, { key: 'validated', value: 'true' }]);
      assert.equal((await t.call('DELETE', 'model-versions/delete-tag', { name: 'lifecycle', version: '4', key: 'owner' })).status, 200);
      assert.equal((await t.call('DELETE', 'model-versions/delete-tag', { name: 'lifecycle', version: '4', key: 'owner' })).status, 200);
      version = (await t.call('GET', 'model-versions/get', { name: 'lifecycle', version: '4' })).body.model_version as WireVersion;
      assert.deepEqual(version.tags, [{ key: 'validated', value: 'true' }]);
      assert.equal((await t.call('POST', 'model-versions/set-tag', { name: 'lifecycle', version: '99', key: 'k', value: 'v' })).status, 404);
      const badKey = await t.call('POST', 'model-versions/set-tag', { name: 'lifecycle', version: '4', key: '/abs', value: 'v' });
      assert.equal(badKey.status, 400);
      assert.match(badKey.body.message, /Names may be treated as files/);
    });

    test('a version label tag is free-form but unique among the live versions of a model', async () => {
      assert.equal((await t.call('POST', 'model-versions/set-tag', { name: 'lifecycle', version: '1', key: 'trove.version_label', value: '1.0.0' })).status, 200);
      // Setting the same label on the same version again is fine.
      assert.equal((await t.call('POST', 'model-versions/set-tag', { name: 'lifecycle', version: '1', key: 'trove.version_label', value: '1.0.0' })).status, 200);
      const clash = await t.call('POST', 'model-versions/set-tag', { name: 'lifecycle', version: '2', key: 'trove.version_label', value: '1.0.0' });
      assert.equal(clash.status, 400);
      assert.deepEqual(clash.body, {
        error_code: 'RESOURCE_ALREADY_EXISTS',
        message: "Version label '1.0.0' is already used by version 1 of registered model 'lifecycle'.",
      });
      const created = await t.call('POST', 'model-versions/create', { name: 'lifecycle', source: 's3://x/l', tags: [{ key: 'trove.version_label', value: '1.0.0' }] });
      assert.equal(created.status, 400);
      // The label never replaces the integer version.
      const labelled = (await t.call('GET', 'model-versions/get', { name: 'lifecycle', version: '1' })).body.model_version as WireVersion;
      assert.equal(labelled.version, '1');
    });
  });

  describe('search', () => {
    before(async () => {
      await createModel('many');
      for (let i = 1; i <= 11; i += 1) {
        const tags = i % 2 === 0 ? [{ key: 'validated', value: 'true' }] : [{ key: 'validated', value: 'false' }];
        await createVersion({ name: 'many', source: `s3://many/${i}`, run_id: i <= 2 ? `run${i}` : undefined, tags });
      }
      await createModel('many-prompt');
      await t.call('POST', 'registered-models/set-tag', { name: 'many-prompt', key: 'mlflow.prompt.is_prompt', value: 'true' });
      await createVersion({ name: 'many-prompt', source: 'dummy-source', tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }] });
    });

    async function versions(fields: Record<string, unknown>): Promise<string[]> {
      const res = await t.call('GET', 'model-versions/search', fields);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body.model_versions ?? []).map((v: WireVersion) => `${v.name}/${v.version}`);
    }

    test('the issue query: name and a tag', async () => {
      assert.deepEqual(await versions({ filter: "name = 'many' and tags.validated = 'true'", order_by: ['version_number'] }), [
        'many/2',
        'many/4',
        'many/6',
        'many/8',
        'many/10',
      ]);
    });

    test('version numbers compare and sort numerically', async () => {
      assert.deepEqual(await versions({ filter: "name = 'many' AND version_number > 9" }), ['many/11', 'many/10']);
      assert.deepEqual(await versions({ filter: "name = 'many' AND version_number >= '10'", order_by: ['version_number ASC'] }), ['many/10', 'many/11']);
      const all = await versions({ filter: "name = 'many'", order_by: ['version_number DESC'] });
      assert.deepEqual(all.slice(0, 3), ['many/11', 'many/10', 'many/9']);
    });

    test('run_id (also IN) and source_path filters', async () => {
      assert.deepEqual(await versions({ filter: "run_id = 'run1'" }), ['many/1']);
      assert.deepEqual(await versions({ filter: "run_id IN ('run1', 'run2')", order_by: ['version_number'] }), ['many/1', 'many/2']);
      assert.deepEqual(await versions({ filter: "source_path = 's3://many/3'" }), ['many/3']);
      assert.deepEqual(await versions({ filter: "source_path LIKE 's3://many/1%'", order_by: ['version_number'] }), ['many/1', 'many/10', 'many/11']);
    });

    test('the default order is last update first, then name, then version descending', async () => {
      await t.call('PATCH', 'model-versions/update', { name: 'many', version: '3', description: 'touched' });
      const all = await versions({ filter: "name = 'many'" });
      assert.equal(all[0], 'many/3');
    });

    test('prompt versions are left out unless prompts are asked for', async () => {
      assert.deepEqual(await versions({ filter: "name = 'many-prompt'" }), []);
      assert.deepEqual(await versions({ filter: "name = 'many-prompt' AND tags.`mlflow.prompt.is_prompt` = 'true'" }), ['many-prompt/1']);
      assert.equal((await versions({ filter: "tags.`mlflow.prompt.is_prompt` != 'true'" })).filter((v) => v.startsWith('many/')).length, 11);
    });

    test('pages of versions follow the token to the end', async () => {
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const res = await t.call('GET', 'model-versions/search', { filter: "name = 'many'", max_results: 4, page_token: token, order_by: ['version_number'] });
        seen.push(...res.body.model_versions.map((v: WireVersion) => v.version));
        token = res.body.next_page_token;
      } while (token);
      assert.deepEqual(seen, ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11']);
    });

    test('bad filters and limits are 400 with MLflow messages', async () => {
      const cases: Array<[Record<string, unknown>, string | RegExp]> = [
        [{ filter: "version_number = 'three'" }, "Expected numeric value type for numeric attribute: version_number. Found 'three'"],
        [{ filter: "stage = 'None'" }, /^Invalid attribute key 'stage' specified/],
        [{ filter: "name = 'a' or name = 'b'" }, 'Invalid clause(s) in filter string: or'],
        [{ order_by: ['run_id'] }, /^Invalid attribute key 'run_id' specified/],
        [{ max_results: 200_001 }, 'Invalid value for request parameter max_results. It must be at most 200000, but got value 200001'],
        [{ max_results: -1 }, 'Invalid value for max_results. It must be a positive integer, but got -1'],
        [{ page_token: '!!' }, 'Invalid page token, could not base64-decode'],
      ];
      for (const [fields, message] of cases) {
        const res = await t.call('GET', 'model-versions/search', fields);
        assert.equal(res.status, 400, JSON.stringify(fields));
        assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
        if (typeof message === 'string') assert.equal(res.body.message, message);
        else assert.match(res.body.message, message);
      }
    });
  });
});
