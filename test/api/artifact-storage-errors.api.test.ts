import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';
import { toStoreError } from '../../src/store/artifacts/local-artifact-store.ts';
import { toStoreError as toS3StoreError } from '../../src/store/artifacts/s3-artifact-store.ts';
import { ArtifactService } from '../../src/domain/artifacts/artifact-service.ts';
import { ArtifactStoreError, type ArtifactStore } from '../../src/store/artifacts/artifact-store.ts';
import { MlflowError } from '../../src/domain/errors.ts';

const A = '/api/2.0/mlflow-artifacts/artifacts';
const LONG_NAME = 'n'.repeat(300);

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

describe('storage errors a client can cause answer 4xx, never 5xx', () => {
  let t: TestServer;
  let runId: string;
  before(async () => {
    t = await startTestServer();
    const run = await t.call('POST', 'runs/create', { experiment_id: '0' });
    runId = run.body.run.info.run_id;
  });
  after(async () => t.close());

  test('an artifact path component over 255 bytes is INVALID_PARAMETER_VALUE on PUT, GET and list', async () => {
    const put = await t.inject({ method: 'PUT', url: `${A}/0/${runId}/artifacts/${LONG_NAME}`, payload: 'x', headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(put.statusCode, 400, put.body);
    assert.equal(put.json().error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(put.json().message, /255 bytes/);
    const get = await t.inject({ method: 'GET', url: `${A}/0/${runId}/artifacts/${LONG_NAME}` });
    assert.equal(get.statusCode, 400, get.body);
    const list = await t.inject({ method: 'GET', url: A, query: { path: `0/${runId}/artifacts/${LONG_NAME}` } });
    assert.equal(list.statusCode, 400, list.body);
    const runList = await t.inject({ method: 'GET', url: '/api/2.0/mlflow/artifacts/list', query: { run_id: runId, path: LONG_NAME } });
    assert.equal(runList.statusCode, 400, runList.body);
    // Multi-byte names are measured in bytes, as the filesystem does: 100 × "é" is 200 bytes (fine), 150 × is 300.
    const accented = await t.inject({ method: 'PUT', url: `${A}/0/${runId}/artifacts/${encodeURIComponent('é'.repeat(150))}`, payload: 'x' });
    assert.equal(accented.statusCode, 400, accented.body);
  });

  test('a path too long (or too deep) for the storage is INVALID_PARAMETER_VALUE; a 255-byte name works', async () => {
    const deep = Array.from({ length: 300 }, () => 'abcd').join('/');
    const put = await t.inject({ method: 'PUT', url: `${A}/0/${runId}/artifacts/${deep}`, payload: 'x' });
    assert.equal(put.statusCode, 400, put.body);
    assert.match(put.json().message, /at most 1024 bytes/);
    const longest = 'm'.repeat(255);
    const ok = await t.inject({ method: 'PUT', url: `${A}/0/${runId}/artifacts/${longest}`, payload: 'fits' });
    assert.equal(ok.statusCode, 200, ok.body);
    const back = await t.inject({ method: 'GET', url: `${A}/0/${runId}/artifacts/${longest}` });
    assert.equal(back.body, 'fits');
  });

  test('nothing is left behind by refused writes', async () => {
    const tmp = path.join(t.dataDir, 'artifacts', '.trove', 'tmp');
    assert.deepEqual(fs.existsSync(tmp) ? fs.readdirSync(tmp) : [], []);
  });
});

describe('filesystem and S3 errors are converted by what they mean', () => {
  test('ENAMETOOLONG, EILSEQ and EINVAL are the client’s invalid path; ENOSPC and EDQUOT mean a full storage; EMFILE is transient', () => {
    assert.equal(toStoreError(errno('ENAMETOOLONG'), 'x').kind, 'invalid-path');
    assert.equal(toStoreError(errno('EILSEQ'), 'x').kind, 'invalid-path');
    assert.equal(toStoreError(errno('EINVAL'), 'x').kind, 'invalid-path');
    assert.equal(toStoreError(errno('ENOSPC'), 'x').kind, 'storage-full');
    assert.equal(toStoreError(errno('EDQUOT'), 'x').kind, 'storage-full');
    assert.equal(toStoreError(errno('EMFILE'), 'x').kind, 'unavailable');
    assert.equal(toStoreError(errno('EACCES'), 'x').kind, 'io', 'a permission problem is the server’s');
    assert.equal(toS3StoreError(Object.assign(new Error('k'), { name: 'KeyTooLongError', $metadata: { httpStatusCode: 400 } }), 'x').kind, 'invalid-path');
  });

  test('a full storage answers 503 with a clear message (the client may retry once space is freed)', async () => {
    const full = new ArtifactStoreError('storage-full', 'The artifact storage is full; nothing was written. Free space (or raise the quota) and retry.');
    const store = new Proxy({} as ArtifactStore, {
      get: () => async () => {
        throw full;
      },
    });
    const service = new ArtifactService(store);
    await assert.rejects(
      () => service.upload('0/r/artifacts/a.bin', Readable.from([Buffer.from('x')])),
      (error: unknown) => error instanceof MlflowError && error.status === 503 && /storage is full/.test(error.message),
    );
  });
});
