import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer, type RunningServices } from '../../src/server.ts';
import { closedPort, s3Env, S3_SKIP_MESSAGE, testS3, uniquePrefix, type TestS3 } from '../support/s3.ts';

/**
 * The artifact proxy on S3 (Swift + s3api), through the HTTP API: files stream in and out of the
 * bucket, and every S3 failure reaches the client as MLflow error JSON.
 */

const s3 = testS3();
const A = '/api/2.0/mlflow-artifacts';

async function serverOn(server: TestS3, prefix: string, dir: string, overrides: Record<string, string> = {}): Promise<RunningServices> {
  return createServer({
    backendStoreUri: `sqlite:///${path.join(dir, `${prefix}.db`)}`,
    artifactsDestination: `s3://${server.bucket}/${prefix}`,
    defaultArtifactRoot: 'mlflow-artifacts:/',
    artifactStoreEnv: s3Env(server, overrides),
  });
}

describe('the artifact proxy on S3', { skip: s3 === undefined ? S3_SKIP_MESSAGE : false }, () => {
  const server = s3 as TestS3;
  let dir: string;
  let trove: RunningServices;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-s3-proxy-'));
    trove = await serverOn(server, uniquePrefix('proxy'), dir);
  });

  after(async () => {
    await trove?.app.inject({ method: 'DELETE', url: `${A}/artifacts/0` });
    await trove?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('files are stored, listed and served back from the bucket', async () => {
    const put = await trove.app.inject({ method: 'PUT', url: `${A}/artifacts/0/run/artifacts/model/MLmodel`, payload: 'flavors: {}' });
    assert.equal(put.statusCode, 200, put.body);
    const listed = await trove.app.inject({ method: 'GET', url: `${A}/artifacts`, query: { path: '0/run/artifacts' } });
    assert.deepEqual(JSON.parse(listed.body), { files: [{ path: 'model', is_dir: true }] });
    const got = await trove.app.inject({ method: 'GET', url: `${A}/artifacts/0/run/artifacts/model/MLmodel` });
    assert.equal(got.statusCode, 200);
    assert.equal(got.body, 'flavors: {}');
    assert.equal(got.headers['content-length'], '11');
    const missing = await trove.app.inject({ method: 'GET', url: `${A}/artifacts/0/run/artifacts/nothing.txt` });
    assert.equal(missing.statusCode, 404);
    assert.equal(JSON.parse(missing.body).error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  test('a multipart upload through the proxy becomes one file', async () => {
    const created = await trove.app.inject({
      method: 'POST',
      url: `${A}/mpu/create/0/run/artifacts`,
      payload: { path: '/local/data.bin', num_parts: 2 },
    });
    assert.equal(created.statusCode, 200, created.body);
    const uploadId = (JSON.parse(created.body) as { upload_id: string }).upload_id;
    const etags: string[] = [];
    for (const [partNumber, body] of [[1, 'first-'], [2, 'second']] as const) {
      const part = await trove.app.inject({
        method: 'PUT',
        url: `${A}/mpu/upload-part/0/run/artifacts/data.bin`,
        query: { upload_id: uploadId, part_number: String(partNumber) },
        payload: body,
      });
      assert.equal(part.statusCode, 200, part.body);
      etags.push(String(part.headers.etag));
    }
    const completed = await trove.app.inject({
      method: 'POST',
      url: `${A}/mpu/complete/0/run/artifacts`,
      payload: { path: '/local/data.bin', upload_id: uploadId, parts: etags.map((etag, i) => ({ part_number: i + 1, etag })) },
    });
    assert.equal(completed.statusCode, 200, completed.body);
    const got = await trove.app.inject({ method: 'GET', url: `${A}/artifacts/0/run/artifacts/data.bin` });
    assert.equal(got.body, 'first-second');
  });

  test('refused credentials answer a 500 MLflow error that names the problem without the secret', async () => {
    const secret = 'definitely-not-the-secret';
    const impostor = await serverOn(server, uniquePrefix('impostor'), dir, { AWS_SECRET_ACCESS_KEY: secret });
    try {
      const put = await impostor.app.inject({ method: 'PUT', url: `${A}/artifacts/0/run/artifacts/x.txt`, payload: 'x' });
      assert.equal(put.statusCode, 500);
      const body = JSON.parse(put.body) as { error_code: string; message: string };
      assert.equal(body.error_code, 'INTERNAL_ERROR');
      assert.match(body.message, /refused the server's credentials/);
      assert.ok(!put.body.includes(secret));
    } finally {
      await impostor.close();
    }
  });

  test('an unreachable object store answers 503 TEMPORARILY_UNAVAILABLE, which clients retry', async () => {
    const port = await closedPort();
    const cut = await serverOn(server, uniquePrefix('cut'), dir, { MLFLOW_S3_ENDPOINT_URL: `http://127.0.0.1:${port}` });
    try {
      const listed = await cut.app.inject({ method: 'GET', url: `${A}/artifacts`, query: { path: '0' } });
      assert.equal(listed.statusCode, 503);
      assert.equal(JSON.parse(listed.body).error_code, 'TEMPORARILY_UNAVAILABLE');
    } finally {
      await cut.close();
    }
  });
});
